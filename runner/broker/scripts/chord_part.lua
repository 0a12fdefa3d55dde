--[[
  chord_part: record that one chord header member ended, as Celery's Redis backend does in its
  on_chord_part_return pipeline (ZADD, ZCOUNT, GET .t, GET .s, EXPIRE), and, when this member completes the
  set, read the whole set in the same atomic step, so that exactly one of the members ending at once sees it
  complete.

  One difference from Celery: an earlier record of the same task at the same index (a redelivered task that
  ran again, maybe with another result) is replaced rather than added, so it cannot push the count past the
  chord size, where the chord would never complete.

  KEYS[1]  celery-taskset-meta-<group id>.j  (ZSET of '[1, "<task id>", "<state>", <result>]' by group_index)
  KEYS[2]  celery-taskset-meta-<group id>.t  (extra members added by Task.add_to_chord / replace; may be absent)
  KEYS[3]  celery-taskset-meta-<group id>.s  (chord size, set by the client; may be absent)
  ARGV[1]  member JSON
  ARGV[2]  score: the group_index, or '+inf' when the message has none (Celery's choice)
  ARGV[3]  task id
  ARGV[4]  expiry of the three keys in seconds (0: none)

  Returns {count, size, counter, members...}: the members (in score order) only when count equals
  size + counter; size and counter are nil when their keys are absent (size as stored, maybe not a number).
]]
if ARGV[2] ~= '+inf' then
  for _, old in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], ARGV[2])) do
    local ok, rec = pcall(cjson.decode, old)
    if ok and type(rec) == 'table' and rec[2] == ARGV[3] then redis.call('ZREM', KEYS[1], old) end
  end
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local count = redis.call('ZCOUNT', KEYS[1], '-inf', '+inf')
local counter = redis.call('GET', KEYS[2])
local size = redis.call('GET', KEYS[3])
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('EXPIRE', KEYS[3], ttl)
end
local reply = {count, size, counter}
local total = tonumber(size)
if total ~= nil and count == total + (tonumber(counter) or 0) then
  for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do reply[#reply + 1] = member end
end
return reply
