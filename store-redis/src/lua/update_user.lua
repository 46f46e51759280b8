-- update_user: replace a user's record and move its index keys, all or nothing. The fields
-- only record_login changes (and created_at) are not sent and keep their stored values.
-- KEYS[1] user hash.
-- ARGV[1] prefix, ARGV[2] user id, ARGV[3..5] phone, email, username ('' = none),
-- ARGV[6] n, ARGV[7..6+n] the names of the replaced fields (cleared first, so an absent
-- optional value is removed), then field/value pairs of the replaced fields.
-- Returns 'ok', 'missing' or 'conflict:<phone|email|username>'.
local prefix, id = ARGV[1], ARGV[2]
local values = { ARGV[3], ARGV[4], ARGV[5] }
local n = tonumber(ARGV[6])
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
local taken = unique_conflict(prefix, id, values)
if taken then return 'conflict:' .. taken end
local old = redis.call('HMGET', KEYS[1], 'phone', 'email', 'username')
for i, field in ipairs(UNIQUE) do
  local before, after = old[i] or '', values[i]
  if before ~= '' and before ~= after then
    local stale = prefix .. field .. ':' .. before
    if redis.call('GET', stale) == id then redis.call('DEL', stale) end
  end
  if after ~= '' then redis.call('SET', prefix .. field .. ':' .. after, id) end
end
redis.call('HDEL', KEYS[1], unpack(ARGV, 7, 6 + n))
redis.call('HSET', KEYS[1], unpack(ARGV, 7 + n))
return 'ok'
