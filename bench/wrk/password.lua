-- POST /api/auth/login with the password account's email and password (argon2id verify on
-- every request). `ok` counts successful logins.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = fixture.password_login_body

function response(status, headers, body)
   if status == 200 then
      ok = ok + 1
   end
end
