-- Shared by every script (prepended at compile time).
--
-- Timestamps are stored as "<unix seconds>.<nanoseconds>" (seconds floored, nanoseconds
-- zero-padded to 9 digits) and compared exactly here, as a (seconds, nanoseconds) pair:
-- a Lua number holds both parts exactly, but not their combination in nanoseconds.
local function ts_parts(ts)
  if type(ts) ~= 'string' then return nil end
  local s, n = string.match(ts, '^(%-?%d+)%.(%d+)$')
  if not s then return nil end
  return tonumber(s), tonumber(n)
end

-- a <= b for two stored timestamps; nil when either is malformed.
local function ts_le(a, b)
  local as, an = ts_parts(a)
  local bs, bn = ts_parts(b)
  if not as or not bs then return nil end
  return as < bs or (as == bs and an <= bn)
end

-- Redis' own clock in milliseconds (scripts may read it: effects are replicated, not scripts).
local function redis_now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- PEXPIREAT for a record that stops mattering at `target_ms`: kept until
-- max(target, now) + margin, so a record whose logical expiry already passed on Redis' clock is
-- still readable for `margin`. Returns the absolute deadline in milliseconds.
local function expire_after(key, target_ms, margin_ms)
  local at = math.max(tonumber(target_ms), redis_now_ms()) + tonumber(margin_ms)
  redis.call('PEXPIREAT', key, string.format('%.0f', at))
  return at
end

-- Moves the key's expiry to `at_ms` unless it already lives longer (PEXPIREAT ... GT needs
-- Redis 7; this works on 6).
local function extend_expiry(key, at_ms)
  local ttl = redis.call('PTTL', key)
  if ttl == -1 or (ttl >= 0 and redis_now_ms() + ttl < at_ms) then
    redis.call('PEXPIREAT', key, string.format('%.0f', at_ms))
  end
end

-- Sessions are JSON objects of strings in plain string keys (see codec.rs for why). Decoding
-- raises on malformed JSON, which fails the script before it writes anything.
local function read_session(key)
  local raw = redis.call('GET', key)
  if not raw then return nil end
  return cjson.decode(raw)
end

local function write_session(key, session)
  redis.call('SET', key, cjson.encode(session), 'KEEPTTL')
end

local UNIQUE = { 'phone', 'email', 'username' }

-- The unique field a user would collide on: a value whose index key names another user that
-- still exists. nil when all are free. `values` holds phone, email, username ('' = none).
local function unique_conflict(prefix, id, values)
  for i, field in ipairs(UNIQUE) do
    local value = values[i]
    if value ~= '' then
      local owner = redis.call('GET', prefix .. field .. ':' .. value)
      if owner and owner ~= id and redis.call('EXISTS', prefix .. 'user:' .. owner) == 1 then
        return field
      end
    end
  end
  return nil
end
