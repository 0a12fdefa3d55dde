--[[
  beat_claim: claim one due tick of a periodic task unless it is paused (compare-and-set of its last run time),
  so that two schedulers, or one restarting, never send the same tick twice, and no scheduler sends a tick of a
  schedule paused at any moment before the claim.

  KEYS[1]  hash of last run times (schedule name -> due time, ms since the epoch)
  KEYS[2]  hash of paused schedules (schedule name -> when it was paused, ms)
  KEYS[3]  hash of anchors (schedule name -> the time its ticks are counted from, ms)
  ARGV[1]  schedule name
  ARGV[2]  the last run time the caller read ('' when there was none)
  ARGV[3]  the due time it claims (ms); on first sight, the time the schedule starts counting from
  ARGV[4]  '1' on first sight: ARGV[3] is an anchor, not a run (recorded in KEYS[3] too), else '0'

  Returns 1 when claimed (the last run time is now ARGV[3]), 0 when someone else moved it first, -1 when the
  schedule is paused (nothing changed).
]]
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  return -1
end
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (current or '') ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
end
return 1
