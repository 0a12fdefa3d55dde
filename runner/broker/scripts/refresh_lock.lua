--[[
  refresh_lock: extend a lock's TTL only if we still hold it (compare-and-refresh).

  KEYS[1]  lock key
  ARGV[1]  our token
  ARGV[2]  new TTL in milliseconds

  Returns 1 when refreshed, 0 when the lock had expired or belongs to someone else.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
