--[[
  store_result: write a task's state like Celery's Redis backend (SETEX + PUBLISH of the same JSON on the
  channel of the same name), but never overwrite a SUCCESS already stored (Celery checks with a GET first;
  here the check and the write are one atomic step).

  KEYS[1]  celery-task-meta-<task id>
  ARGV[1]  result JSON
  ARGV[2]  expiry in seconds (0: keep for ever)

  Returns 1 when stored, 0 when a SUCCESS was already there.
  Uses lib/results.lua.
]]
if is_success(redis.call('GET', KEYS[1])) then return 0 end
set_result(KEYS[1], tonumber(ARGV[2]), ARGV[1])
return 1
