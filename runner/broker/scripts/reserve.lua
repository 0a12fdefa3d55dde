--[[
  reserve: take up to ARGV[2] messages from the queue lists, in the order given, and record each one in
  kombu's `unacked` hash and `unacked_index` zset, exactly as a kombu consumer does after BRPOP, but in one
  round-trip and atomically (a crash between pop and record cannot lose a message).

  A message kombu could not restore (not a JSON object, or without properties.delivery_tag) is never put in
  `unacked` (it would break restore for every Python worker); it goes to the dead-letter list with the reason.

  KEYS[1]     unacked           (hash: tag -> JSON [message, exchange, routing_key])
  KEYS[2]     unacked_index     (zset: tag -> delivery time)
  KEYS[3]     dead-letter list
  KEYS[4]     owners            (hash: tag -> worker name; Radish's own, for recovery from dead workers)
  KEYS[5..n]  queue lists, in consume order
  ARGV[1]     now, unix seconds (float)
  ARGV[2]     how many messages at most
  ARGV[3]     worker name (owner of what it takes; named in dead-letter records)
  ARGV[4]     dead-letter list max length
  ARGV[5]     a message already popped by BRPOP, or ""
  ARGV[6]     index (1-based, into KEYS[5..n]) of the list it came from
  ARGV[7..]   queue name of each list in KEYS[5..n]

  Returns a flat list: {list index, delivery tag, message, ...}; a dead-lettered message has tag "".
]]
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local out = {}

-- JSON is UTF-8. A message that is not would reach the worker with its bad bytes replaced (clients decode replies
-- as UTF-8), and could no longer be kept byte for byte: dead-letter it here. Each valid sequence is replaced by an
-- ASCII byte (so that no removal joins two fragments into a new sequence); any byte >= 0x80 left is invalid.
local function is_utf8(s)
  if not string.find(s, '[\128-\255]') then return true end
  s = string.gsub(s, '[\194-\223][\128-\191]', 'x')
  s = string.gsub(s, '\224[\160-\191][\128-\191]', 'x')
  s = string.gsub(s, '[\225-\236\238\239][\128-\191][\128-\191]', 'x')
  s = string.gsub(s, '\237[\128-\159][\128-\191]', 'x')
  s = string.gsub(s, '\240[\144-\191][\128-\191][\128-\191]', 'x')
  s = string.gsub(s, '[\241-\243][\128-\191][\128-\191][\128-\191]', 'x')
  s = string.gsub(s, '\244[\128-\143][\128-\191][\128-\191]', 'x')
  return not string.find(s, '[\128-\255]')
end

-- The records of what is taken are written in a few variadic calls (not three calls per message): each
-- redis.call costs about a microsecond of its own. Flushed every FLUSH_EVERY messages to stay within unpack's limit.
local FLUSH_EVERY = 1000
local index_args, owner_args, unacked_args = {}, {}, {}
local pending = 0

local function flush()
  if pending == 0 then return end
  redis.call('ZADD', KEYS[2], unpack(index_args))
  redis.call('HSET', KEYS[4], unpack(owner_args))
  redis.call('HSET', KEYS[1], unpack(unacked_args))
  index_args, owner_args, unacked_args = {}, {}, {}
  pending = 0
end

local function record(index, message)
  local ok, decoded = false, nil
  local utf8 = is_utf8(message)
  if utf8 then ok, decoded = pcall(cjson.decode, message) end
  local props = ok and type(decoded) == 'table' and decoded.properties
  local tag = type(props) == 'table' and props.delivery_tag
  if type(tag) ~= 'string' or tag == '' then
    local reason = (not utf8 and 'message is not valid UTF-8') or (ok and 'message has no properties.delivery_tag') or 'message is not valid JSON'
    redis.call('LPUSH', KEYS[3], cjson.encode({reason = reason, queue = ARGV[6 + index], worker = ARGV[3],
      time = now, raw = message}))
    redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[4]) - 1)
    out[#out + 1] = index
    out[#out + 1] = ''
    out[#out + 1] = message
    return
  end
  local info = type(props.delivery_info) == 'table' and props.delivery_info or {}
  local exchange = type(info.exchange) == 'string' and info.exchange or ''
  local routing_key = type(info.routing_key) == 'string' and info.routing_key or ARGV[6 + index]
  local n = #index_args
  -- The score as the caller wrote it (a string): no float formatting per message.
  index_args[n + 1] = ARGV[1]
  index_args[n + 2] = tag
  owner_args[n + 1] = tag
  owner_args[n + 2] = ARGV[3]
  unacked_args[n + 1] = tag
  unacked_args[n + 2] = '[' .. message .. ', ' .. cjson.encode(exchange) .. ', ' .. cjson.encode(routing_key) .. ']'
  pending = pending + 1
  if pending >= FLUSH_EVERY then flush() end
  out[#out + 1] = index
  out[#out + 1] = tag
  out[#out + 1] = message
end

local taken = 0
if ARGV[5] ~= '' then
  record(tonumber(ARGV[6]), ARGV[5])
  taken = 1
end
for i = 5, #KEYS do
  if taken >= limit then break end
  -- RPOP with a count (Redis 6.2): the whole share of this list in one call, oldest first, as single RPOPs would.
  local messages = redis.call('RPOP', KEYS[i], limit - taken)
  if messages then
    for _, message in ipairs(messages) do
      record(i - 4, message)
    end
    taken = taken + #messages
  end
end
flush()
return out
