-- failures: the fields of a consecutive-failure count in one step, whatever the key holds.
-- Whether the count has expired is decided by the caller, with its own clock.
-- KEYS[1] failures hash.
-- Returns { count, last_at, expires_at } (false = missing field), or {} when there is no count
-- or only one from before counts expired (a string, see add_failure.lua), which counts as
-- absent.
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'hash' then return redis.call('HMGET', KEYS[1], 'count', 'last_at', 'expires_at') end
if kind == 'none' or kind == 'string' then return {} end
return redis.error_reply('ERR corrupt record in redis at ' .. KEYS[1] .. ': a ' .. kind .. ', not a failure count')
