-- create_user: insert a user and claim its phone/email/username index keys, all or nothing.
-- KEYS[1] user hash.
-- ARGV[1] prefix, ARGV[2] user id, ARGV[3..5] phone, email, username ('' = none),
-- ARGV[6..] field/value pairs of the record.
-- Returns 'ok' or 'conflict:<id|phone|email|username>'.
local prefix, id = ARGV[1], ARGV[2]
local values = { ARGV[3], ARGV[4], ARGV[5] }
if redis.call('EXISTS', KEYS[1]) == 1 then return 'conflict:id' end
local taken = unique_conflict(prefix, id, values)
if taken then return 'conflict:' .. taken end
for i, field in ipairs(UNIQUE) do
  if values[i] ~= '' then redis.call('SET', prefix .. field .. ':' .. values[i], id) end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
return 'ok'
