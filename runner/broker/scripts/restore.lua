--[[
  restore: put one unacked message back at the consuming end of its queue and forget it as unacked,
  as kombu's restore_by_tag does (RPUSH, so it is delivered next).

  KEYS[1]  unacked
  KEYS[2]  unacked_index
  KEYS[3]  destination list
  KEYS[4]  owners (Radish's tag -> worker hash)
  ARGV[1]  delivery tag
  ARGV[2]  message to push (marked redelivered)
  ARGV[3]  the `unacked` value the caller read, or "" to skip the check (own messages)

  Returns 1 when restored, 0 when the tag was gone or changed meanwhile (someone else acked or restored it).
  Uses lib/unack.lua.
]]
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then
  redis.call('HDEL', KEYS[4], ARGV[1])
  return 0
end
if ARGV[3] ~= '' and current ~= ARGV[3] then return 0 end
unack(KEYS[1], KEYS[2], KEYS[4], { ARGV[1] })
redis.call('RPUSH', KEYS[3], ARGV[2])
return 1
