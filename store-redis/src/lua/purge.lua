-- purge_expired for one batch of keys of one kind (found by SCAN): deletes those whose
-- expiry is <= now. Anything of another type, or without a readable expiry, is left alone,
-- except a failure count from before counts expired (a string, see add_failure.lua): it has
-- no expiry, is never read again, and goes.
-- KEYS: candidate keys. ARGV[1] prefix, ARGV[2] 'challenge' | 'email-token' | 'session' |
-- 'counter' | 'failures', ARGV[3] now.
-- Returns how many were deleted.
local prefix, kind, now = ARGV[1], ARGV[2], ARGV[3]
local session_id_start = string.len(prefix .. 'session:') + 1
local deleted = 0
for _, key in ipairs(KEYS) do
  local t = redis.call('TYPE', key)['ok']
  if kind == 'session' and t == 'string' then
    local ok, s = pcall(cjson.decode, redis.call('GET', key))
    if ok and type(s) == 'table' and ts_le(s.expires_at, now) then
      if type(s.user_id) == 'string' then
        redis.call('SREM', prefix .. 'user-sessions:' .. s.user_id, string.sub(key, session_id_start))
      end
      deleted = deleted + redis.call('DEL', key)
    end
  elseif kind == 'failures' and t == 'string' then
    deleted = deleted + redis.call('DEL', key)
  elseif kind ~= 'session' and t == 'hash' then
    local field = 'expires_at'
    if kind == 'counter' then field = 'resets_at' end
    if ts_le(redis.call('HGET', key, field), now) then
      deleted = deleted + redis.call('DEL', key)
    end
  end
end
return deleted
