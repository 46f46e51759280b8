-- user_by_phone / _email / _username in one round trip: index key -> user id -> user hash.
-- KEYS[1] index key. ARGV[1] prefix, ARGV[2] field name, ARGV[3] value.
-- Returns the user's HGETALL, or an empty array when there is no such user (or the index key
-- is stale: its user is gone or no longer has this value).
local id = redis.call('GET', KEYS[1])
if not id then return {} end
local key = ARGV[1] .. 'user:' .. id
if redis.call('HGET', key, ARGV[2]) ~= ARGV[3] then return {} end
return redis.call('HGETALL', key)
