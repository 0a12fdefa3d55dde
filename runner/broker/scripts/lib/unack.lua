--[[
  lib/unack: forget delivery tags as unacked, as Broker.ack does (kombu's `unacked_index` and `unacked`, and
  Radish's owner record), for the scripts that end a message (finish, dead_letter, restore). The gateway
  (scripts.ts) puts this before each of them.

  unack(unacked, unacked_index, owners, tags)  tags: a non-empty list of delivery tags
]]
local function unack(unacked, unacked_index, owners, tags)
  redis.call('ZREM', unacked_index, unpack(tags))
  redis.call('HDEL', unacked, unpack(tags))
  redis.call('HDEL', owners, unpack(tags))
end
