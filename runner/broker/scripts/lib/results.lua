--[[
  lib/results: Celery's Redis backend write, for the scripts that store results (store_result, finish). The
  gateway (scripts.ts) puts this before each of them.

  is_success(raw)           whether a stored result value is a SUCCESS (which is never replaced)
  set_result(key, ttl, raw) SETEX (SET when ttl is 0) and PUBLISH of the same JSON on the key's channel
]]
local function is_success(raw)
  if not raw then return false end
  local ok, meta = pcall(cjson.decode, raw)
  return ok and type(meta) == 'table' and meta.status == 'SUCCESS'
end

local function set_result(key, ttl, raw)
  if ttl > 0 then
    redis.call('SETEX', key, ttl, raw)
  else
    redis.call('SET', key, raw)
  end
  redis.call('PUBLISH', key, raw)
end
