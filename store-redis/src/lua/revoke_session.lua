-- revoke_session (compare-and-set): active -> revoked, and out of the user's set.
-- KEYS[1] session key. ARGV[1] prefix, ARGV[2] session id, ARGV[3] time, ARGV[4] reason.
-- Returns 1 when it was active, else 0.
local s = read_session(KEYS[1])
if not s or s.status ~= 'active' then return 0 end
s.status = 'revoked'
s.revoked_at = ARGV[3]
s.revoke_reason = ARGV[4]
write_session(KEYS[1], s)
if s.user_id then redis.call('SREM', ARGV[1] .. 'user-sessions:' .. s.user_id, ARGV[2]) end
return 1
