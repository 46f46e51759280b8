-- claim_challenge_attempt (compare-and-set).
-- KEYS[1] challenge hash. ARGV[1] max attempts.
-- Returns the new attempt count, or nil when missing, consumed or out of attempts.
local c = redis.call('HMGET', KEYS[1], 'attempts', 'consumed_at')
if not c[1] or c[2] then return false end
local attempts = tonumber(c[1])
if not attempts then return redis.error_reply('ERR corrupt record in redis at ' .. KEYS[1] .. ': field `attempts` is malformed') end
if attempts >= tonumber(ARGV[1]) then return false end
return redis.call('HINCRBY', KEYS[1], 'attempts', 1)
