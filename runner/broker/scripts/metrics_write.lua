--[[
  metrics_write: add one batch of a worker's metrics history (runner/worker/metrics-history.ts) exactly once. The
  batch's token is set (NX, expiring) in the same atomic step as its increments, so a batch sent again after a lost
  reply (Redis applied it, the worker never heard) is a no-op rather than a double count.

  KEYS[1]     the batch's token key (Keys.metricsBatch); not set when there is no minute hash (a claim alone)
  KEYS[2]     the current minute's queues hash (the sample claim), or any key when ARGV[3] is ''
  KEYS[3..n]  the minute hashes the batch adds to
  ARGV[1]     seconds the token is kept (the batch is not sent again after that)
  ARGV[2]     seconds a minute hash lives
  ARGV[3]     the worker's name to claim the minute's queue sample with (HSETNX of ARGV[4]), or '' for no claim
  ARGV[4]     the claim's field
  ARGV[5..]   for each of KEYS[3..n] in order: its number of fields, then that many field, increment pairs

  Returns {applied, claimed}: applied 1 when the increments were added now, 0 when this batch was added before (or
  there was none);
  claimed 1 when this call set the claim.
]]
local applied = 0
if #KEYS > 2 and redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  applied = 1
  local at = 5
  for k = 3, #KEYS do
    local n = tonumber(ARGV[at])
    at = at + 1
    for _ = 1, n do
      redis.call('HINCRBY', KEYS[k], ARGV[at], ARGV[at + 1])
      at = at + 2
    end
    redis.call('EXPIRE', KEYS[k], ARGV[2])
  end
end
local claimed = 0
if ARGV[3] ~= '' then
  claimed = redis.call('HSETNX', KEYS[2], ARGV[4], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return {applied, claimed}
