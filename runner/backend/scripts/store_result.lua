--[[
  store_result: write a task's state like Celery's Redis backend (SETEX + PUBLISH of the same JSON on the
  channel of the same name), but never overwrite a SUCCESS already stored (Celery checks with a GET first;
  here the check and the write are one atomic step).

  KEYS[1]  celery-task-meta-<task id>
  ARGV[1]  result JSON
  ARGV[2]  expiry in seconds (0: keep for ever)

  Returns 1 when stored, 0 when a SUCCESS was already there.
]]
local current = redis.call('GET', KEYS[1])
if current then
  local ok, meta = pcall(cjson.decode, current)
  if ok and type(meta) == 'table' and meta.status == 'SUCCESS' then return 0 end
end
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  redis.call('SETEX', KEYS[1], ttl, ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
