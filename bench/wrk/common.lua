-- Shared by every load script of scripts/bench.sh (loaded with dofile):
--   * `fixture`: the table the server wrote before listening (BENCH_FIXTURE): tokens, phones;
--   * `id` in each thread (0-based) and `nthreads`, to split the fixture between threads;
--   * `ok`: a per-thread count of completed operations that scripts increment;
--   * done(): prints one line `RESULT {json}` with wrk's own figures (latency in µs).

fixture = dofile(assert(os.getenv("BENCH_FIXTURE"), "BENCH_FIXTURE is not set"))
nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
ok = 0

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function done(summary, latency, requests)
   local completed = 0
   for _, thread in ipairs(threads) do
      completed = completed + (thread:get("ok") or 0)
   end
   local e = summary.errors
   local seconds = summary.duration / 1e6
   io.write(string.format(
      'RESULT {"requests":%d,"duration_us":%d,"rps":%.2f,"ok":%d,'
         .. '"p50_us":%.1f,"p90_us":%.1f,"p99_us":%.1f,"max_us":%.1f,"mean_us":%.1f,'
         .. '"non2xx":%d,"socket_errors":%d}\n',
      summary.requests, summary.duration, summary.requests / seconds, completed,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean,
      e.status, e.connect + e.read + e.write + e.timeout))
end
