-- wrk script for flood.sh: every request is a new visitor (no cookie) at GET /, so every request creates an
-- anonymous session.
request = function()
  return wrk.format("GET", "/")
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("FLOOD requests=%d non2xx=%d socket=%d p99_ms=%.1f\n",
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout, latency:percentile(99) / 1000))
end
