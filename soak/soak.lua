-- wrk script for soak.sh: returning visitors from a pool of session cookies per thread, plus 1% new visitors
-- (no cookie) and 2% logouts, so sessions are created, updated and deleted all the time.
local pool = {}
local POOL_SIZE = 200
local n = 0
local slot = 0

request = function()
  n = n + 1
  if #pool < POOL_SIZE or n % 100 == 0 then
    return wrk.format("GET", "/")
  end
  slot = (slot % #pool) + 1
  local path = (n % 50 == 0) and "/logout" or "/"
  return wrk.format("GET", path, { ["Cookie"] = "session_id=" .. pool[slot] })
end

response = function(status, headers, body)
  local cookie = headers["Set-Cookie"] or headers["set-cookie"]
  if cookie then
    local value = cookie:match("session_id=([^;]*)")
    if value and value ~= "" then
      if #pool < POOL_SIZE then
        table.insert(pool, value)
      elseif slot > 0 then
        pool[slot] = value
      end
    end
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("SOAK requests=%d non2xx=%d connect=%d read=%d write=%d timeout=%d p99_ms=%.1f\n",
    summary.requests, e.status, e.connect, e.read, e.write, e.timeout, latency:percentile(99) / 1000))
end
