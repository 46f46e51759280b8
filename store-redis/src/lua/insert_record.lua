-- insert_challenge / insert_email_token: create the hash unless the key is taken, with its TTL.
-- KEYS[1] record hash. ARGV[1] expiry (ms), ARGV[2] TTL margin (ms), ARGV[3..] pairs.
-- Returns 1, or 0 when the key exists.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
expire_after(KEYS[1], ARGV[1], ARGV[2])
return 1
