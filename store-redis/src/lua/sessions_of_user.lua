-- sessions_of_user: id, JSON, id, JSON, ... of the sessions in the user's set. Members whose
-- session expired (TTL) leave the set.
-- KEYS[1] user's session set. ARGV[1] prefix.
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local raw = redis.call('GET', ARGV[1] .. 'session:' .. id)
  if raw then
    out[#out + 1] = id
    out[#out + 1] = raw
  else
    redis.call('SREM', KEYS[1], id)
  end
end
return out
