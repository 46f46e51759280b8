-- rotate_refresh (compare-and-set): only an active session still at the expected generation.
-- KEYS[1] session key. ARGV[1] expected generation, ARGV[2] next generation,
-- ARGV[3] next hash, ARGV[4] next issued_at, ARGV[5] now. Returns 1 when rotated, else 0.
local s = read_session(KEYS[1])
if not s or s.status ~= 'active' or s.refresh_generation ~= ARGV[1] then return 0 end
s.refresh_generation = ARGV[2]
s.refresh_hash = ARGV[3]
s.refresh_issued_at = ARGV[4]
s.last_used_at = ARGV[5]
write_session(KEYS[1], s)
return 1
