-- consume_challenge / consume_email_token (compare-and-set): set consumed_at once.
-- KEYS[1] record hash. ARGV[1] time.
-- Returns 1 for the first caller, 0 when already consumed or missing.
local c = redis.call('HMGET', KEYS[1], 'expires_at', 'consumed_at')
if not c[1] or c[2] then return 0 end
redis.call('HSET', KEYS[1], 'consumed_at', ARGV[1])
return 1
