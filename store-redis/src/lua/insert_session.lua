-- insert_session: create the session unless the id is taken, with its TTL; an active session
-- also joins its user's set, whose TTL is extended to outlive it.
-- KEYS[1] session key, KEYS[2] user's session set.
-- ARGV[1] expiry (ms), ARGV[2] TTL margin (ms), ARGV[3] session id, ARGV[4] '1' if active,
-- ARGV[5] the session as JSON. Returns 1, or 0 when the key exists.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[5])
local at = expire_after(KEYS[1], ARGV[1], ARGV[2])
if ARGV[4] == '1' then
  redis.call('SADD', KEYS[2], ARGV[3])
  extend_expiry(KEYS[2], at)
end
return 1
