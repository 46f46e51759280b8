-- The whole SMS login: POST /api/auth/login {"phone"} (202 with a challenge), then
-- POST /api/auth/verify_sms with the challenge and the test number's fixed code (200 with a
-- token pair). wrk asks for a connection's next request right after handing over its
-- answer, so a challenge queued by a 202 is verified next on the same connection. `ok`
-- counts completed logins. Threads take turns over the fixture's phones.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

wrk.headers["Content-Type"] = "application/json"
local pending = {}
local next_phone = 0

function init(args)
   next_phone = id or 0
end

function request()
   local challenge = table.remove(pending)
   if challenge then
      return wrk.format("POST", "/api/auth/verify_sms", nil,
         '{"challenge_id":"' .. challenge .. '","code":"' .. fixture.code .. '"}')
   end
   local phone = fixture.phones[next_phone % #fixture.phones + 1]
   next_phone = next_phone + nthreads
   return wrk.format("POST", "/api/auth/login", nil, '{"phone":"' .. phone .. '"}')
end

function response(status, headers, body)
   if status == 202 then
      local challenge = body:match('"challenge_id":"([^"]+)"')
      if challenge then
         table.insert(pending, challenge)
      end
   elseif status == 200 then
      ok = ok + 1
   end
end
