-- wrk script for the session benchmarks: one cookie jar per wrk thread, and correctness checks.
--
-- Run wrk with as many threads as connections (-t8 -c8): wrk's Lua state belongs to a thread and does not say
-- which of a thread's connections a response came on, so one connection per thread is what makes the jar (and
-- the check) per connection. Requests on one connection are sequential (no pipelining with a request()
-- function), so every request carries the cookie of the previous response.
--
-- Environment:
--   MODE=counter  every request is GET /counter; each answer must be the previous one + 1 (the first one: 1)
--   MODE=read     the first request of a thread is GET /counter (one write), then GET /read, which must answer
--                 the number that write returned
--   CHECK=0       count no stale reads (for the server without sessions)
--   SESSIONS_OUT  file to which done() writes one line per thread: "<answers to /counter> <Cookie header>",
--                 read back by http.sh to count writes the store lost
--
-- done() prints one line "RESULT key=value ..." that http.sh parses.

local mode = os.getenv("MODE") or "counter"
local check = os.getenv("CHECK") ~= "0"
local sessions_out = os.getenv("SESSIONS_OUT")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  jar = {}            -- cookie name -> value
  cookie_header = ""  -- jar as a Cookie header, kept for done()
  last = nil          -- number of the last answer to /counter (what /read must return)
  pending = nil       -- path of the request in flight
  stale = 0           -- answers that broke the rule of the mode
  non2xx = 0
  counted = 0         -- 2xx answers to /counter (= increments the server acknowledged)
end

local function rebuild_header()
  local parts = {}
  for name, value in pairs(jar) do
    table.insert(parts, name .. "=" .. value)
  end
  table.sort(parts)
  cookie_header = table.concat(parts, "; ")
end

local function take_cookie(set_cookie)
  local name, value = string.match(set_cookie, "^%s*([^=;%s]+)=([^;]*)")
  if name == nil then
    return
  end
  local lower = string.lower(set_cookie)
  if value == "" or string.find(lower, "max%-age=0") or string.find(lower, "max%-age=%-") then
    jar[name] = nil
  else
    jar[name] = value
  end
  rebuild_header()
end

function request()
  if mode == "counter" or last == nil then
    pending = "/counter"
  else
    pending = "/read"
  end
  local headers = {}
  if cookie_header ~= "" then
    headers["Cookie"] = cookie_header
  end
  return wrk.format("GET", pending, headers)
end

function response(status, headers, body)
  for name, value in pairs(headers) do
    if string.lower(name) == "set-cookie" then
      take_cookie(value)
    end
  end
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    return
  end
  local n = tonumber(body)
  if pending == "/counter" then
    counted = counted + 1
    if check and n ~= (last or 0) + 1 then
      stale = stale + 1
    end
    last = n
  elseif check and n ~= last then
    stale = stale + 1
  end
end

function done(summary, latency, requests)
  local stale_total, non2xx_total, counted_total = 0, 0, 0
  local out = sessions_out and io.open(sessions_out, "w")
  for _, thread in ipairs(threads) do
    stale_total = stale_total + thread:get("stale")
    non2xx_total = non2xx_total + thread:get("non2xx")
    counted_total = counted_total + thread:get("counted")
    if out then
      out:write(string.format("%d %s\n", thread:get("counted"), thread:get("cookie_header")))
    end
  end
  if out then
    out:close()
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  print(string.format("RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p99_us=%d max_us=%d stale=%d "
    .. "non2xx=%d connect=%d read=%d write=%d timeout=%d status=%d counted=%d",
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50), latency:percentile(99),
    latency.max, stale_total, non2xx_total, e.connect, e.read, e.write, e.timeout, e.status, counted_total))
end
