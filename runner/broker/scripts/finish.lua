--[[
  finish: end many tasks that ran, in one step: store each one's result as store_result does (SETEX + PUBLISH of
  the same JSON, never replacing a stored SUCCESS), then ack each one's message as Broker.ack does (kombu's
  `unacked` and `unacked_index`, and Radish's owner record). The result is stored before the ack, in the same
  atomic step, so no crash can leave a task acked without its result. One call ends a whole batch of tasks: a
  worker at full drain pays one round-trip for tens of tasks, not four per task.

  KEYS[1]     unacked           (hash: tag -> JSON [message, exchange, routing_key])
  KEYS[2]     unacked_index     (zset: tag -> delivery time)
  KEYS[3]     owners            (hash: tag -> worker name)
  KEYS[4..]   celery-task-meta-<id> of each task that has a result to store, in the order of ARGV's tasks
  ARGV[1]     result expiry in seconds (0: keep for ever)
  ARGV[2..]   per task, two values: its delivery tag ('' when acked already), its result JSON ('' to store none)

  Returns the number of results stored (a SUCCESS already there is kept and not counted).
  Uses lib/results.lua and lib/unack.lua.
]]
local ttl = tonumber(ARGV[1])
local stored = 0
local nkeys = #KEYS - 3
if nkeys > 0 then
  local current = redis.call('MGET', unpack(KEYS, 4))
  local k = 0
  for i = 2, #ARGV, 2 do
    local result = ARGV[i + 1]
    if result ~= '' then
      k = k + 1
      if not is_success(current[k]) then
        set_result(KEYS[3 + k], ttl, result)
        stored = stored + 1
      end
    end
  end
end
local tags = {}
for i = 2, #ARGV, 2 do
  if ARGV[i] ~= '' then tags[#tags + 1] = ARGV[i] end
end
if #tags > 0 then unack(KEYS[1], KEYS[2], KEYS[3], tags) end
return stored
