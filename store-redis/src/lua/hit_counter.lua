-- hit_counter (atomic increment of a fixed window). The window end is compared with the
-- caller's `now`, not Redis' clock; the TTL only reclaims memory.
-- KEYS[1] counter hash. ARGV[1] window end, ARGV[2] now, ARGV[3] window end (ms),
-- ARGV[4] TTL margin (ms). Returns { count, resets_at }.
local c = redis.call('HMGET', KEYS[1], 'count', 'resets_at')
if c[1] and c[2] then
  local ended = ts_le(c[2], ARGV[2])
  if ended == nil then return redis.error_reply('ERR corrupt record in redis at ' .. KEYS[1] .. ': field `resets_at` is malformed') end
  if not ended then
    return { redis.call('HINCRBY', KEYS[1], 'count', 1), c[2] }
  end
end
redis.call('HSET', KEYS[1], 'count', 1, 'resets_at', ARGV[1])
expire_after(KEYS[1], ARGV[3], ARGV[4])
return { 1, ARGV[1] }
