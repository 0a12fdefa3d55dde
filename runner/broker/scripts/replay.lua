--[[
  replay: take one record out of the dead-letter list and publish its message again, in one step, so a record is
  never both replayed and kept, nor removed without being replayed.

  KEYS[1]  dead-letter list
  KEYS[2]  destination queue list (for the message's priority)
  ARGV[1]  the record, exactly as stored
  ARGV[2]  the message to publish

  Returns 1 when replayed, 0 when the record was no longer there (replayed or discarded by someone else).
]]
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[2])
return 1
