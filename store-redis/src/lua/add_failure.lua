-- add_failure (atomic increment of a consecutive-failure count that expires). The expiry is
-- compared with the caller's `at`, not Redis' clock; the TTL only reclaims memory.
-- KEYS[1] failures hash. ARGV[1] at, ARGV[2] expires_at, ARGV[3] expires_at (ms),
-- ARGV[4] TTL margin (ms). Returns { count, last_at, expires_at }, all as text.
-- A string under the key is a count from before counts expired (a plain INCR counter with no
-- expiry, which this version never reads): it counts as absent and is replaced.
local function corrupt(field)
  return redis.error_reply('ERR corrupt record in redis at ' .. KEYS[1] .. ': field `' .. field .. '` is malformed')
end
local count = 1
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'hash' then
  local f = redis.call('HMGET', KEYS[1], 'count', 'expires_at')
  local n = f[1] and string.match(f[1], '^%d+$') and tonumber(f[1])
  if not n or n > 4294967295 then return corrupt('count') end
  local expired = ts_le(f[2], ARGV[1])
  if expired == nil then return corrupt('expires_at') end
  if not expired then count = math.min(n + 1, 4294967295) end
elseif kind == 'string' then
  redis.call('DEL', KEYS[1])
elseif kind ~= 'none' then
  return redis.error_reply('ERR corrupt record in redis at ' .. KEYS[1] .. ': a ' .. kind .. ', not a failure count')
end
local text = string.format('%d', count)
redis.call('HSET', KEYS[1], 'count', text, 'last_at', ARGV[1], 'expires_at', ARGV[2])
expire_after(KEYS[1], ARGV[3], ARGV[4])
return { text, ARGV[1], ARGV[2] }
