--[[
  dead_letter: move a reserved message to the dead-letter list, with its death record, and ack it, in one step
  so it is never lost nor left for redelivery.

  KEYS[1]  unacked
  KEYS[2]  unacked_index
  KEYS[3]  dead-letter list
  KEYS[4]  owners (Radish's tag -> worker hash)
  ARGV[1]  delivery tag
  ARGV[2]  dead-letter record (JSON)
  ARGV[3]  dead-letter list max length

  Returns the number of records dropped from the old end to keep the bound (0 normally).
  Uses lib/unack.lua.
]]
redis.call('LPUSH', KEYS[3], ARGV[2])
unack(KEYS[1], KEYS[2], KEYS[4], { ARGV[1] })
local max = tonumber(ARGV[3])
local over = redis.call('LLEN', KEYS[3]) - max
if over > 0 then
  redis.call('LTRIM', KEYS[3], 0, max - 1)
  return over
end
return 0
