--[[
  beat_claim: claim one due tick of a periodic task (compare-and-set of its last run time), so that two
  schedulers, or one restarting, never send the same tick twice.

  KEYS[1]  hash of last run times (schedule name -> due time, ms since the epoch)
  ARGV[1]  schedule name
  ARGV[2]  the last run time the caller read ('' when there was none)
  ARGV[3]  the due time it claims (ms)

  Returns 1 when claimed (the last run time is now ARGV[3]), 0 when someone else moved it first.
]]
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (current or '') ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
