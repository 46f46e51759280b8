-- record_login: login_count += 1, current login -> last login, (at, ip) -> current login.
-- KEYS[1] user hash. ARGV[1] time, ARGV[2] ip ('' = none). Returns 1, or 0 when no such user.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local current = redis.call('HMGET', KEYS[1], 'current_login_at', 'current_login_ip')
local function put(field, value)
  if value and value ~= '' then
    redis.call('HSET', KEYS[1], field, value)
  else
    redis.call('HDEL', KEYS[1], field)
  end
end
put('last_login_at', current[1])
put('last_login_ip', current[2])
put('current_login_at', ARGV[1])
put('current_login_ip', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'login_count', 1)
return 1
