-- wrk script: pre-signed Twilio SMS webhooks, each sent once.
-- Thread i of T sends lines i, i+T, i+2T ... of $BENCH_REQUESTS ("signature<TAB>form body" per line). When a
-- thread has had an answer to each of its lines it stops and touches $BENCH_DONE.<i>; the bench then ends wrk
-- with SIGINT. A connection that finds no line left to send waits (delay()) until the thread stops instead of
-- sending anything else: wrk times every answer on a connection into the histogram that done() reads, and the
-- GET /healthz polls those connections used to send were counted in the intake percentiles (against a server
-- answering webhooks in 20 ms, 100 webhooks came out as 570 to 730 answers, p50 1.4 ms). So no line is sent twice,
-- nothing but the lines is sent, and wrk's duration is the time the requests took. With $BENCH_REPEAT=1 a thread
-- cycles through its lines for wrk's whole duration instead (the `bare` ceiling, where answers do not depend on the
-- body), and no delay() is defined: wrk then sends each next request at once, without a timer per request.
local threads = {}
local counter = 0
-- How long a connection with nothing left to send waits, in ms: longer than any run (wrk ends first).
local IDLE_MS = 24 * 3600 * 1000

function setup(thread)
   thread:set("id", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

function init(args)
   local path = os.getenv("BENCH_REQUESTS")
   local nthreads = tonumber(os.getenv("BENCH_THREADS"))
   repeat_mode = os.getenv("BENCH_REPEAT") == "1"
   done_path = os.getenv("BENCH_DONE") .. "." .. id
   reqs = {}
   local n = 0
   for line in io.lines(path) do
      if n % nthreads == id then
         local sig, body = line:match("^([^\t]*)\t(.*)$")
         reqs[#reqs + 1] = wrk.format("POST", nil, {
            ["Content-Type"] = "application/x-www-form-urlencoded",
            ["X-Twilio-Signature"] = sig,
         }, body)
      end
      n = n + 1
   end
   health = wrk.format("GET", "/healthz")
   -- wrk calls request() once on thread 0's state to inspect it, without sending: give that call a dummy
   idx = (id == 0) and -1 or 0
   claimed = 0
   ok = 0
   bad = 0
   extra = 0
   finished = false
   if repeat_mode then
      delay = nil -- wrk asks whether delay() exists once init() has run on thread 0
   end
end

-- wrk calls delay() before each request of a connection, then request() once the delay is over. A line is
-- claimed here, not in request(): connections whose zero delays end in the same turn of wrk's loop would all
-- see the last line unclaimed, and all but one of them be handed a /healthz poll.
function delay()
   if claimed < #reqs then
      claimed = claimed + 1
      return 0
   end
   return IDLE_MS
end

function request()
   idx = idx + 1
   if idx < 1 then
      return health
   end
   if idx > #reqs then
      if repeat_mode then
         idx = 1
      else
         extra = extra + 1 -- only on a connection wrk reopened after an error: it asks no delay() then
         return health
      end
   end
   return reqs[idx]
end

function response(status, headers, body)
   -- A /healthz poll (see request()) is no webhook's answer: every server the bench loads answers it {"status": "ok"}
   if status == 200 and body:sub(1, 1) == "{" and body:find('"ok"', 1, true) then
      return
   end
   if status == 200 and body:find("<Message>", 1, true) then
      ok = ok + 1
   else
      bad = bad + 1
   end
   if not repeat_mode and not finished and ok + bad >= #reqs then
      finished = true
      local f = io.open(done_path, "w")
      f:close()
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local ok_total, bad_total, extra_total = 0, 0, 0
   for _, t in ipairs(threads) do
      ok_total = ok_total + t:get("ok")
      bad_total = bad_total + t:get("bad")
      extra_total = extra_total + t:get("extra")
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"ok":%d,"bad":%d,"extra":%d,' ..
      '"p50_us":%d,"p99_us":%d,"max_us":%d,"errors":%d}\n',
      summary.requests, summary.duration, ok_total, bad_total, extra_total,
      latency:percentile(50), latency:percentile(99), latency.max,
      e.connect + e.read + e.write + e.status + e.timeout))
end
