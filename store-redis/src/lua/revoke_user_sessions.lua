-- revoke_user_sessions: every active session in the user's set but one, in one step, so none
-- of them can rotate afterwards. Members that are gone or no longer active leave the set.
-- KEYS[1] user's session set. ARGV[1] prefix, ARGV[2] user id, ARGV[3] session to keep
-- ('' = none), ARGV[4] time, ARGV[5] reason. Returns how many were revoked.
local revoked = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if id ~= ARGV[3] then
    local key = ARGV[1] .. 'session:' .. id
    local s = read_session(key)
    if s and s.status == 'active' and s.user_id == ARGV[2] then
      s.status = 'revoked'
      s.revoked_at = ARGV[4]
      s.revoke_reason = ARGV[5]
      write_session(key, s)
      revoked = revoked + 1
    end
    redis.call('SREM', KEYS[1], id)
  end
end
return revoked
