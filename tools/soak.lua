-- soak.lua - wrk's script for tools/soak.py: a mix of the demo's routes,
-- and one line of figures at the end for the Python side to read.
--
-- Mostly /hello (the cheapest answer, so the server spends its time on
-- connections, not handlers), with a path parameter, a POST body that is
-- read and echoed, and a short /sleep that parks the task on a timer.
-- Every CLOSE_EVERY-th request asks for Connection: close, so connections
-- are also closed and accepted again during the run: a descriptor or a
-- connection's memory that is not given back then shows up afterwards.
-- Not more often than that: the server closes first, so each one leaves
-- a TIME_WAIT behind on loopback, and tens of thousands would run out of
-- ports.  With the argument "keep" (wrk ... -- keep) none asks: the
-- connections stay open for the whole run, so exactly -c of them are held.

local CLOSE_EVERY = 500
local reqs = {}
local closing = {}
local n = 0

local function add(method, path, headers, body)
    local h = headers or {}
    reqs[#reqs + 1] = wrk.format(method, path, h, body)
    local hc = {}
    for k, v in pairs(h) do hc[k] = v end
    hc["Connection"] = "close"
    closing[#closing + 1] = wrk.format(method, path, hc, body)
end

function init(args)
    if args[1] == "keep" then CLOSE_EVERY = 0 end
    for _ = 1, 6 do add("GET", "/hello") end
    add("GET", "/users/42")
    add("POST", "/echo", {["Content-Type"] = "text/plain"}, "soak body\n")
    add("GET", "/sleep?ms=2")
end

function request()
    n = n + 1
    local i = n % #reqs + 1
    if CLOSE_EVERY > 0 and n % CLOSE_EVERY == 0 then
        return closing[i]
    end
    return reqs[i]
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "SOAK requests=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d " ..
        "p50_us=%d p99_us=%d max_us=%d\n",
        summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
        latency:percentile(50.0), latency:percentile(99.0), latency.max))
end
