-- session_with_owner: a session and what a request needs of its user, in one round trip (the
-- per-request check of `authenticate` when the token names no user, i.e. opaque tokens; a JWT
-- names its user and the store reads it beside the session without Lua. Kept lean: no JSON
-- decoding here, the caller decodes the session strictly and checks that the user it names
-- is the one returned).
-- KEYS[1] session key. ARGV[1] prefix.
-- Returns {} when there is no session; {session JSON} when its user is gone; otherwise
-- {session JSON, user id, status, roles}.
local raw = redis.call('GET', KEYS[1])
if not raw then return {} end
-- Written by serde_json: the key appears once, unescaped; a UUID needs no escaping.
local user_id = string.match(raw, '"user_id":"([%x%-]+)"')
if not user_id then return { raw } end
local owner = redis.call('HMGET', ARGV[1] .. 'user:' .. user_id, 'id', 'status', 'roles')
if not owner[1] then return { raw } end
return { raw, owner[1], owner[2] or '', owner[3] or '' }
