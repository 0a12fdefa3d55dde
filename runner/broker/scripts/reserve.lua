--[[
  reserve: take up to ARGV[2] messages from the queue lists, in the order given, and record each one in
  kombu's `unacked` hash and `unacked_index` zset, exactly as a kombu consumer does after BRPOP, but in one
  round-trip and atomically (a crash between pop and record cannot lose a message).

  A message without a properties.delivery_tag kombu could restore by is never put in `unacked`; it goes to the
  dead-letter list with the reason. The tag and the delivery_info are read from the message's last bytes when they
  end as kombu and Radish write every message (`..."delivery_info": {"exchange": "", "routing_key": "celery"}, ...
  "delivery_tag": "<tag>"}}`): a match on the tail costs a fraction of a microsecond, where decoding the whole
  message cost about 4 us, a third of a reserve. Any other message is decoded here in full, as before, and one that
  is not JSON is dead-lettered here.
  What is not checked here, the worker checks on the reply, before anything else, and dead-letters at once (acked
  in the same step, so it leaves `unacked`): that the whole message is JSON (one with a well-formed tail is read by
  the worker's decoder, which fails it as 'message is not valid JSON'), and that it is UTF-8 (a pattern scan cost
  about 10 us per message in Lua). If the worker died first, its recovery puts the message back for another worker
  to do so, or dead-letters an `unacked` entry that is not JSON (it never reaches kombu's restore).

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
-- The delivery time kombu's restore compares with its visibility timeout, in whole seconds rounded up (so a
-- message never looks older than it is): a zset small enough to be a listpack parses a float score at every
-- comparison of every insert, an integer one costs nothing to compare (a third of a reserve's cost, measured).
local score = tostring(math.ceil(now))
local limit = tonumber(ARGV[2])
local out = {}

-- The records of what is taken are written in a few variadic calls (not three calls per message): each
-- redis.call costs about a microsecond of its own. Flushed every FLUSH_EVERY messages to stay within unpack's limit.
local FLUSH_EVERY = 1000
local index_args, owner_args, unacked_args = {}, {}, {}
local pending = 0
-- The end of an unacked entry (`, "exchange", "routing_key"]`), encoded once per pair: a batch's messages share it.
local suffixes = {}

local function flush()
  if pending == 0 then return end
  redis.call('ZADD', KEYS[2], unpack(index_args))
  redis.call('HSET', KEYS[4], unpack(owner_args))
  redis.call('HSET', KEYS[1], unpack(unacked_args))
  index_args, owner_args, unacked_args = {}, {}, {}
  pending = 0
end

-- The tail every kombu and Radish message ends with (Python's spaces optional): the delivery_info's exchange and
-- routing key, then anything without braces (priority, body_encoding), then the delivery tag, closing properties
-- and the message. Strings with escapes do not match (the message is then decoded in full). It is matched where a
-- plain search finds its first key in the last TAIL bytes (a plain search is a third of the cost of a pattern's).
local TAIL = 400
local TAIL_KEY = '"delivery_info":'
local TAIL_PATTERN = '^"delivery_info": ?{"exchange": ?"([^"\\]*)", ?"routing_key": ?"([^"\\]*)"}[^{}]*, ?"delivery_tag": ?"([^"\\]+)"}}$'

-- The delivery tag and delivery_info (exchange, routing key) of a message: from its tail when it has kombu's, else
-- decoded in full. For a message without a usable tag: nil for those three, and the reason.
local function delivery_of(message)
  local at = string.find(message, TAIL_KEY, math.max(1, #message - TAIL), true)
  if at then
    local exchange, routing_key, tag = string.match(message, TAIL_PATTERN, at)
    if tag then return tag, exchange, routing_key end
  end
  local ok, decoded = pcall(cjson.decode, message)
  local props = ok and type(decoded) == 'table' and decoded.properties
  local tag = type(props) == 'table' and props.delivery_tag
  if type(tag) ~= 'string' or tag == '' then
    return nil, nil, nil, ok and 'message has no properties.delivery_tag' or 'message is not valid JSON'
  end
  local info = type(props.delivery_info) == 'table' and props.delivery_info or {}
  return tag, type(info.exchange) == 'string' and info.exchange or nil, type(info.routing_key) == 'string' and info.routing_key or nil
end

local function record(index, message)
  local tag, exchange, routing_key, reason = delivery_of(message)
  if not tag then
    redis.call('LPUSH', KEYS[3], cjson.encode({reason = reason, queue = ARGV[6 + index], worker = ARGV[3],
      time = now, raw = message}))
    redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[4]) - 1)
    out[#out + 1] = index
    out[#out + 1] = ''
    out[#out + 1] = message
    return
  end
  exchange = exchange or ''
  routing_key = routing_key or ARGV[6 + index]
  local n = #index_args
  index_args[n + 1] = score
  index_args[n + 2] = tag
  owner_args[n + 1] = tag
  owner_args[n + 2] = ARGV[3]
  unacked_args[n + 1] = tag
  local suffix_key = exchange .. '\0' .. routing_key
  local suffix = suffixes[suffix_key]
  if not suffix then
    suffix = ', ' .. cjson.encode(exchange) .. ', ' .. cjson.encode(routing_key) .. ']'
    suffixes[suffix_key] = suffix
  end
  unacked_args[n + 2] = '[' .. message .. suffix
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
