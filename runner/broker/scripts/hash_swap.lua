--[[
  hash_swap: set a hash field only while it still holds the value the caller read (a compare-and-set), so that a
  read-modify-write of a JSON record never writes back over a change (or a deletion) made in between.

  KEYS[1]  the hash
  ARGV[1]  the field
  ARGV[2]  the value the caller read
  ARGV[3]  the new value

  Returns 1 when set, 0 when the field no longer holds ARGV[2] (changed or deleted: nothing written).
]]
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0
