--[[
  beat_resume: un-pause a schedule and count its next tick from now, in one step, so that no scheduler sees it
  unpaused while its next tick is still counted from its last run (which would send the ticks missed while paused).

  KEYS[1]  hash of paused schedules (schedule name -> when it was paused, ms)
  KEYS[2]  hash of anchors (schedule name -> the time its ticks are counted from, ms)
  KEYS[3]  hash of last run times (schedule name -> due time, ms)
  ARGV[1]  schedule name
  ARGV[2]  now (ms)

  Returns 1 when it was paused (and is now resumed), 0 when it was not paused (nothing changed).
  A schedule that never ran (its last run is its anchor) keeps saying so: its last run moves with the anchor (a
  scheduler that read the old one fails its compare-and-set and reads again).
]]
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
local last = redis.call('HGET', KEYS[3], ARGV[1])
if last and last == redis.call('HGET', KEYS[2], ARGV[1]) then
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
