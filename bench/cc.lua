-- wrk script: client_credentials token requests (BODY and BASIC from the environment). Answers
-- other than 2xx/3xx are counted by wrk itself (summary.errors.status), so a fast error is never
-- mistaken for a token. (No response() callback: defining one makes wrk build a Lua table per
-- response, which costs more than the servers measured here.)
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC")

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d seconds=%.3f rate=%.1f not_ok=%d p99_us=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    e.status + e.connect + e.read + e.write + e.timeout, latency:percentile(99)))
end
