-- GET with the fixture's access token: the same request bytes for /bench/plain, /bench/raw
-- and /bench/guarded (the unguarded route ignores the header).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

wrk.headers["Authorization"] = "Bearer " .. fixture.access_token
