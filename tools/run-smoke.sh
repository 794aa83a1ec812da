#!/bin/sh
# CI's check of the README's main command: `make run` starts the newest
# stage's demo, the HTTP server.  It serves until stopped, so: start it on a
# free port, wait for the URL it prints, fetch a few pages, then stop it the
# way a user does (SIGINT, Ctrl-C) and require a clean exit 0 from make.
# Only the processes this script starts are signalled, by PID.
out=$(mktemp) || exit 1
HTTP_PORT=0 make --no-print-directory run > "$out" 2>&1 &
make_pid=$!
fail() {
    echo "run-smoke: $*"; echo "run-smoke: the demo's output:"; sed 's/^/    /' "$out"
    kill "$make_pid" 2>/dev/null; wait "$make_pid" 2>/dev/null; rm -f "$out"; exit 1
}
url=""
i=0
while [ $i -lt 600 ]; do   # the build comes first: up to 60 s
    url=$(sed -n 's|^serving on \(http://[^ ]*\).*|\1|p' "$out")
    [ -n "$url" ] && break
    kill -0 "$make_pid" 2>/dev/null || fail "make run ended before serving"
    sleep 0.1; i=$((i + 1))
done
[ -n "$url" ] || fail "no URL printed within 60 s"
demo_pid=$(ps -o pid= --ppid "$make_pid" | tr -d ' ' | head -n 1)
[ -n "$demo_pid" ] || fail "cannot find the demo's PID (a child of make, PID $make_pid)"

python3 - "$url" <<'PY' || fail "a page did not answer as it should"
import json, sys, urllib.request
base = sys.argv[1].rstrip("/")
def get(path, data=None, headers={}):
    req = urllib.request.Request(base + path, data=data, headers=headers)
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.headers.get("Content-Type"), r.read()
s, t, b = get("/hello"); assert (s, b) == (200, b"hello, world\n"), (s, b)
s, t, b = get("/"); assert s == 200 and t.startswith("text/html") and b'id="tasks"' in b, (s, t)
s, t, b = get("/echo", b"ping", {"Content-Type": "text/x-test"})
assert (s, t, b) == (200, "text/x-test", b"ping"), (s, t, b)
s, t, b = get("/stats"); st = json.loads(b)
assert st["requests"] == 3 and st["tasks"] >= 2, st
print("run-smoke: /hello, /, /echo and /stats answered;", "stats:", st["requests"], "requests,",
      st["tasks"], "tasks")
PY
kill -INT "$demo_pid"
wait "$make_pid"; rc=$?
[ $rc -eq 0 ] || fail "make run exited $rc after SIGINT (want 0: a graceful stop)"
grep -q '^stopped$' "$out" || fail "the demo did not say it stopped"
echo "run-smoke: make run served $url and stopped cleanly on SIGINT"
rm -f "$out"
