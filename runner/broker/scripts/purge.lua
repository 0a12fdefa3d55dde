--[[
  purge: delete every waiting message of one queue, all priority lists at once.

  KEYS[1..n]  the queue's priority lists

  Returns how many messages were deleted.
]]
local n = 0
for _, key in ipairs(KEYS) do
  n = n + redis.call('LLEN', key)
end
redis.call('DEL', unpack(KEYS))
return n
