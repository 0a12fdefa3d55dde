--[[
  history_record: merge a batch of task events into the task history in one atomic step, so that two monitors
  recording the same events at once neither lose nor double anything. Every merge is idempotent and independent
  of arrival order: an event already kept is skipped, and each field (and the state) keeps the value of the
  latest event that carried it, "latest" being a total order on (worker event over client event, timestamp,
  Celery's state precedence, sender hostname).

  No number the record keeps goes through cjson (which keeps 14 significant digits): timestamps travel and are
  stored as text, and field values as JSON text, decoded by history.ts. Only ranks (0..8) are Lua numbers.

  KEYS[1]  history zset: task id -> timestamp of its latest event (newest first pages, trimming)
  KEYS[2]  records hash: task id -> record JSON (below)
  KEYS[3]  index hash: task id -> "<state>\t<name as JSON text>" (small, for filtered pages)
  ARGV[1]  max tasks kept; beyond, the tasks whose latest event is oldest are dropped
  ARGV[2]  max events kept per task; beyond, the oldest are dropped (fields and state still count them)
  ARGV[3]  max child ids kept per task
  ARGV[4..] one event patch each, JSON:
           {"id": task id, "ts": timestamp text, "ty": event type, "h": sender hostname,
            "r": state rank (absent when the event does not change the state), "s": state name,
            "f": {"<field>": "<value as JSON text>", ...}, "e": "<event as JSON text>",
            "p": parent id (only on a child's sent/received event)}

  Record JSON: {"id": id, "s": [ts, rank, host, state], "f": {"<field>": [ts, rank, host, json]},
                "ev": [[ts, type, host, json], ...] (oldest first), "c": [child ids], "u": latest timestamp text}
  (cjson writes an empty list as {}: the reader accepts both.)

  Returns {added, id1, record1, id2, record2, ...}: how many events were new, then every record the batch
  touched (the tasks and the parents it added children to) as stored.
]]
local maxTasks = tonumber(ARGV[1])
local maxEvents = tonumber(ARGV[2])
local maxChildren = tonumber(ARGV[3])

local cache = {}   -- id -> decoded record (false: known to be absent)
local order = {}   -- ids in the order first touched, for the reply
local dirty = {}   -- id -> true when it must be written back

local function load(id)
  local rec = cache[id]
  if rec == nil then
    local raw = redis.call('HGET', KEYS[2], id)
    if raw then
      rec = cjson.decode(raw)
      order[#order + 1] = id
    else
      rec = false
    end
    cache[id] = rec
  end
  return rec
end

-- Is the event (ts, rank, host) later than the stamp {ts, rank, host, ...}? Worker events (rank > 0) beat the
-- client's task-sent whatever the clocks say; then timestamp; then precedence; then hostname, for a total order.
local function later(ts, rank, host, stamp)
  local w, sw = rank > 0 and 1 or 0, stamp[2] > 0 and 1 or 0
  if w ~= sw then return w > sw end
  local t, st = tonumber(ts), tonumber(stamp[1])
  if t ~= st then return t > st end
  if rank ~= stamp[2] then return rank > stamp[2] end
  return host > stamp[3]
end

-- Events are kept sorted by (timestamp, type, host), so that the one dropped at the cap is always the least in
-- that order, and a duplicate of a dropped event is dropped again rather than pushing out another.
local function before(a, b)
  local ta, tb = tonumber(a[1]), tonumber(b[1])
  if ta ~= tb then return ta < tb end
  if a[2] ~= b[2] then return a[2] < b[2] end
  return a[3] < b[3]
end

local added = 0
for i = 4, #ARGV do
  local p = cjson.decode(ARGV[i])
  local rec = load(p.id)
  local rank = p.r
  if rec == false and rank ~= nil then
    rec = { id = p.id, f = {}, ev = {}, c = {}, u = p.ts }
    cache[p.id] = rec
    order[#order + 1] = p.id
  end
  -- An event of a type without a state (a custom one) only joins a task already recorded.
  if rec then
    local ev = rec.ev
    local seen = false
    for j = #ev, 1, -1 do
      local e = ev[j]
      if e[1] == p.ts and e[2] == p.ty and e[3] == p.h then
        seen = true
        break
      end
    end
    if not seen then
      local entry = { p.ts, p.ty, p.h, p.e }
      local at = #ev + 1
      while at > 1 and before(entry, ev[at - 1]) do at = at - 1 end
      table.insert(ev, at, entry)
      local kept = true
      while #ev > maxEvents do
        if table.remove(ev, 1) == entry then kept = false end
      end
      if kept then added = added + 1 end
      if rank ~= nil then
        if rec.s == nil or later(p.ts, rank, p.h, rec.s) then rec.s = { p.ts, rank, p.h, p.s } end
        for field, json in pairs(p.f) do
          local cur = rec.f[field]
          if cur == nil or later(p.ts, rank, p.h, cur) then rec.f[field] = { p.ts, rank, p.h, json } end
        end
      end
      if tonumber(p.ts) > tonumber(rec.u) then rec.u = p.ts end
      dirty[p.id] = true
    end
    if p.p and p.p ~= p.id then
      local parent = load(p.p)
      if parent then
        local c = parent.c
        local known = false
        for j = 1, #c do
          if c[j] == p.id then known = true break end
        end
        if not known and #c < maxChildren then
          c[#c + 1] = p.id
          dirty[p.p] = true
        end
      end
    end
  end
end

local reply = { added }
for _, id in ipairs(order) do
  local rec = cache[id]
  local json = cjson.encode(rec)
  if dirty[id] then
    redis.call('HSET', KEYS[2], id, json)
    redis.call('ZADD', KEYS[1], rec.u, id)
    local name = rec.f.name
    redis.call('HSET', KEYS[3], id, rec.s[4] .. '\t' .. (name and name[4] or ''))
  end
  reply[#reply + 1] = id
  reply[#reply + 1] = json
end

local over = redis.call('ZCARD', KEYS[1]) - maxTasks
while over > 0 do
  local ids = redis.call('ZRANGE', KEYS[1], 0, math.min(over, 1000) - 1)
  redis.call('ZREM', KEYS[1], unpack(ids))
  redis.call('HDEL', KEYS[2], unpack(ids))
  redis.call('HDEL', KEYS[3], unpack(ids))
  over = over - #ids
end

return reply
