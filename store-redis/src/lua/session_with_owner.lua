-- session_with_owner: a session and what a request needs of its user, in one round trip (the
-- per-request check of `authenticate`).
-- KEYS[1] session key. ARGV[1] prefix.
-- Returns {} when there is no session; {session JSON} when its user is gone; otherwise
-- {session JSON, user id, status, roles}.
local raw = redis.call('GET', KEYS[1])
if not raw then return {} end
local user_id = cjson.decode(raw)['user_id']
if type(user_id) ~= 'string' then return { raw } end
local owner = redis.call('HMGET', ARGV[1] .. 'user:' .. user_id, 'id', 'status', 'roles')
if not owner[1] then return { raw } end
return { raw, owner[1], owner[2] or '', owner[3] or '' }
