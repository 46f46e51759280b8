-- POST /api/auth/refresh, rotating token chains: each thread holds its share of the fixture's
-- refresh tokens in a pool; a request takes one out, its answer puts the next one back, so
-- every chain is used by one connection at a time and always with its newest token. `ok`
-- counts rotations.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

wrk.headers["Content-Type"] = "application/json"
local pool = {}

function init(args)
   for i = (id or 0) + 1, #fixture.refresh_tokens, nthreads do
      table.insert(pool, fixture.refresh_tokens[i])
   end
end

function request()
   -- An empty pool (only after failed rotations) sends a token that cannot work: a 401.
   local token = table.remove(pool, 1) or "exhausted"
   return wrk.format("POST", "/api/auth/refresh", nil, '{"refresh_token":"' .. token .. '"}')
end

function response(status, headers, body)
   if status == 200 then
      local token = body:match('"refresh_token":"([^"]+)"')
      if token then
         table.insert(pool, token)
         ok = ok + 1
      end
   end
end
