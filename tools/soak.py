#!/usr/bin/env python3
"""soak.py - `make soak`: the HTTP demo under 1,000 connections, then checked.

    soak.py DEMO [--sanitized]

One demo process on a free loopback port lives through four rounds:

  warm-up   wrk, SOAK_CONNS connections for SOAK_WARMUP_SECONDS [3]: the
            allocator's heap grows to what 1,000 connections need, once
  soak      the same for SOAK_SECONDS [20], with tools/soak.lua's mix of
            routes and a Connection: close every 500th request (so
            connections are also closed and accepted during the run).
            Then: no wrk error of any kind, descriptors back to exactly
            their starting count, memory within RSS_TOLERANCE of its
            after-warm-up value, nothing in the error log, p99 printed
  over      max_conns (1000, the default; the demo has no flag for it) held
            by wrk, and EXTRA more clients at once: each must get the 503
            and a close, the held ones must keep being served
  emfile    the server's RLIMIT_NOFILE lowered (prlimit) under its open
            descriptors plus EMFILE_ROOM, and wrk with more connections than
            that: accept fails with EMFILE, the server logs "backing off"
            once, keeps serving the ones it has, and takes the waiting ones
            when descriptors come back
then SIGTERM, and the exit status must be 0 within STOP_BOUND seconds.

Memory: a heap page counts in RSS only once something writes to it, and a
connection's 8 KiB buffers are mostly never written (a request is ~100
bytes).  So without help RSS creeps up round after round while the heap's
size stays put - measured: 13.9 -> 20.1 MB over eight rounds, VmData flat
at 20,256 kB - as each round's buffers land on other, untouched pages.  Not
a leak, but it would hide one.  The demo therefore runs with glibc's
malloc.perturb tunable, which makes malloc and free write every byte they
hand out or take back: the warm-up touches every page the peak needs, and
a later growth of RSS is memory that was not given back.  SOAK_PERTURB=0
runs without it (the RSS figure is then printed, not checked).  VmData, the
heap's size, is checked either way.  Under SAN=1 neither means anything
(ASan's quarantine and shadow memory), so they are printed only.

Skips (exit 0) without wrk.  Loopback only; the only processes signalled
are the demo and wrk this script started, by their PIDs.
"""
import os, re, resource, select, shutil, signal, socket, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
LUA = os.path.join(HERE, "soak.lua")

CONNS = int(os.environ.get("SOAK_CONNS", "1000"))
SECONDS = int(os.environ.get("SOAK_SECONDS", "20"))
WARMUP = int(os.environ.get("SOAK_WARMUP_SECONDS", "3"))
THREADS = int(os.environ.get("SOAK_THREADS", "2"))
PERTURB = os.environ.get("SOAK_PERTURB", "1") != "0"
MAX_CONNS = 1000        # http_config_default's max_conns, which the demo keeps
EXTRA = 500             # clients past max_conns in the "over" round
EMFILE_ROOM = 100       # connections the server can still open in "emfile"
RSS_TOLERANCE = 1024    # KiB, for RSS and for the heap's size.  Measured
                        # with malloc.perturb: 0-130 KiB of growth per run
                        # (the heap's top moving by a page or two).  A
                        # leak of 1 KiB per connection shows as 2.4 MiB in a
                        # 5 s run (tried on a scratch copy of the server), and
                        # a byte per request as 2 MiB in a 20 s one.
IDLE_TIMEOUT = 5        # s, the demo's idle_timeout_ms: the longest a
                        # connection the client left can stay open
STOP_BOUND = 7          # s: grace_ms (5 s) + 2; with no request in flight
                        # the stop should take milliseconds

checks = []


def check(name, ok, detail=""):
    checks.append((name, ok))
    print("soak: %s %s%s" % ("ok  " if ok else "FAIL", name, ": " + detail if detail else ""))


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "VmData", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def wait_fds(pid, want, bound):
    """Poll until the demo has `want` descriptors; the count and how long it took."""
    t0 = time.monotonic()
    n = nfds(pid)
    while n != want and time.monotonic() - t0 < bound:
        time.sleep(0.05)
        n = nfds(pid)
    return n, time.monotonic() - t0


def http_get(port, path, timeout=2.0):
    """One request on a fresh connection: (status, body), or (None, error)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"GET %s HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n" % path.encode())
            data = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
    except OSError as e:
        return None, str(e)
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", data)
    return (int(m.group(1)) if m else None), data.partition(b"\r\n\r\n")[2].decode(errors="replace")


def wrk_start(port, conns, seconds, *script_args):
    cmd = ["wrk", "-t%d" % THREADS, "-c%d" % conns, "-d%ds" % seconds, "--latency",
           "-s", LUA, "http://127.0.0.1:%d/" % port]
    if script_args:
        cmd += ["--"] + list(script_args)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    p.seconds = seconds
    return p


def wrk_finish(p):
    """wrk's SOAK line as a dict of ints (empty if missing), and its output."""
    try:
        out, _ = p.communicate(timeout=p.seconds + 15)
    except subprocess.TimeoutExpired:
        p.kill()            # our own child, by its PID
        out, _ = p.communicate()
        out += "\n(wrk did not finish in time and was killed)"
    m = re.search(r"^SOAK (.*)$", out, re.M)
    fig = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))} if m else {}
    return fig, out


def wrk(port, conns, seconds, *script_args):
    return wrk_finish(wrk_start(port, conns, seconds, *script_args))


def peak_fds(pid, p):
    """The most descriptors the demo had while wrk p ran."""
    peak = 0
    while p.poll() is None:
        peak = max(peak, nfds(pid))
        time.sleep(0.05)
    return peak


def errors_of(fig):
    return {k: fig.get(k, -1) for k in ("connect", "read", "write", "timeout", "status")}


class Demo:
    def __init__(self, path):
        env = dict(os.environ)
        if PERTURB:
            tun = env.get("GLIBC_TUNABLES", "")
            env["GLIBC_TUNABLES"] = (tun + ":" if tun else "") + "glibc.malloc.perturb=165"
        self.err = tempfile.TemporaryFile("w+")
        self.seen = 0
        self.p = subprocess.Popen([path, "--port", "0", "--quiet"], stdout=subprocess.PIPE,
                                  stderr=self.err, env=env, text=True)
        self.pid = self.p.pid
        r, _, _ = select.select([self.p.stdout], [], [], 5)
        line = self.p.stdout.readline() if r else ""
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if not m:
            self.kill()
            sys.exit("soak: the demo did not say its port within 5 s (it printed %r)" % line)
        self.port = int(m.group(1))

    def new_errors(self):
        """The error log's lines since the last call."""
        self.err.seek(0)
        lines = self.err.read().splitlines()
        new, self.seen = lines[self.seen:], len(lines)
        return new

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def over_limit(port, n):
    """n clients at once while max_conns are held: how many read the 503.

    Half of them send a request first, as a real client would; refuse()
    answers at accept and closes without reading it, and closing over
    unread bytes makes the kernel send a reset: those may see the 503 end
    in ECONNRESET rather than EOF (counted apart).  The other half send
    nothing, so theirs must end in a plain EOF."""
    socks, got503, reset, other = [], 0, 0, []
    try:
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=3)
            if i % 2:
                s.sendall(b"GET /hello HTTP/1.1\r\nHost: soak\r\n\r\n")
            socks.append(s)
        for i, s in enumerate(socks):
            data, err = b"", None
            try:
                while True:
                    b = s.recv(4096)
                    if not b:
                        break
                    data += b
            except OSError as e:
                err = e
            reset_after = i % 2 and isinstance(err, ConnectionResetError)
            if data.startswith(b"HTTP/1.1 503 ") and (err is None or reset_after):
                got503 += 1
                reset += err is not None
            else:
                other.append((data[:40], str(err)))
    finally:
        for s in socks:
            s.close()
    return got503, reset, other


def main():
    demo_path = sys.argv[1]
    sanitized = "--sanitized" in sys.argv[2:]
    if not shutil.which("wrk"):
        print("soak: skipped: wrk is not installed (apt-get install -y wrk)")
        return 0
    if CONNS > MAX_CONNS:
        sys.exit("soak: SOAK_CONNS=%d is over the demo's max_conns (%d): the rest would be "
                 "answered 503, which the soak round counts as errors; the over round tests that"
                 % (CONNS, MAX_CONNS))
    # wrk's connections, EXTRA held here, and the demo's max_conns (its
    # limit is inherited) must all fit.
    need = CONNS + EXTRA + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            sys.exit("soak: RLIMIT_NOFILE's hard limit is %d, under the %d descriptors "
                     "%d connections need" % (hard, need, CONNS))
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
        print("soak: raised RLIMIT_NOFILE from %d to %d" % (soft, need))

    d = Demo(demo_path)
    try:
        return rounds(d, sanitized)
    finally:
        d.kill()


def rounds(d, sanitized):
    pid, port = d.pid, d.port
    mem0 = proc_status(pid)
    # The count is taken once a request has been answered: the demo says
    # where it serves before http_serve starts, and only then does the
    # server open the pipe it receives SIGINT and SIGTERM on.  The /stats
    # connection is closed by then (the server closes before we see EOF).
    _, stats = http_get(port, "/stats")
    fd0 = nfds(pid)
    sel = re.search(r'"selector":"(\w+)"', stats)
    print("soak: demo PID %d on 127.0.0.1:%d, selector %s, %d descriptors, %s" % (
        pid, port, sel.group(1) if sel else "?", fd0,
        "sanitizers: memory figures not checked" if sanitized else
        "malloc.perturb on" if PERTURB else "malloc.perturb off"))

    # ---- warm-up
    fig, out = wrk(port, CONNS, WARMUP)
    n, _ = wait_fds(pid, fd0, IDLE_TIMEOUT + 2)
    memw = proc_status(pid)
    check("warm-up: wrk ran and the connections closed", bool(fig) and n == fd0,
          "%d requests, descriptors %d -> %d" % (fig.get("requests", 0), fd0, n))
    if not fig:
        print(out)

    # ---- soak
    fig, out = wrk(port, CONNS, SECONDS)
    n, took = wait_fds(pid, fd0, IDLE_TIMEOUT + 2)
    mems = proc_status(pid)
    errs = errors_of(fig)
    check("soak: no socket error, no non-2xx answer", bool(fig) and not any(errs.values()),
          " ".join("%s %d" % kv for kv in errs.items()))
    if not fig:
        print(out)
    check("soak: descriptors back to their start", n == fd0,
          "%d -> %d, %.2f s after wrk ended" % (fd0, n, took))
    grew = mems["VmData"] - memw["VmData"]
    rss = mems["VmRSS"] - memw["VmRSS"]
    memline = ("RSS %d -> %d -> %d KiB, heap (VmData) %d -> %d -> %d KiB "
               "(start -> after warm-up -> after soak)" % (
                   mem0["VmRSS"], memw["VmRSS"], mems["VmRSS"],
                   mem0["VmData"], memw["VmData"], mems["VmData"]))
    if sanitized:
        print("soak: not checked (SAN=1): " + memline)
    else:
        check("soak: heap within %d KiB of its after-warm-up size" % RSS_TOLERANCE,
              grew <= RSS_TOLERANCE, memline)
        if PERTURB:
            check("soak: RSS within %d KiB of its after-warm-up value" % RSS_TOLERANCE,
                  rss <= RSS_TOLERANCE, "grew %d KiB" % rss)
        else:
            print("soak: RSS not checked (SOAK_PERTURB=0): grew %d KiB" % rss)
    new = d.new_errors()
    check("soak: nothing in the error log", not new, "; ".join(new[:3]))
    soak = fig

    # ---- over: max_conns held, EXTRA more refused
    w = wrk_start(port, MAX_CONNS, 4, "keep")
    held, _ = wait_fds(pid, fd0 + MAX_CONNS, 3)
    got503, reset, other = (over_limit(port, EXTRA) if held == fd0 + MAX_CONNS
                            else (0, 0, ["not held"]))
    fig, out = wrk_finish(w)
    n, _ = wait_fds(pid, fd0, IDLE_TIMEOUT + 2)
    check("over: %d held, each of %d more answered 503 and closed" % (MAX_CONNS, EXTRA),
          held == fd0 + MAX_CONNS and got503 == EXTRA,
          "%d descriptors held, %d of %d got the 503 (%d of them then a reset)%s" % (
              held, got503, EXTRA, reset, "; others: %r" % other[:3] if other else ""))
    errs = errors_of(fig)
    check("over: the held connections served without error", bool(fig) and
          fig.get("requests", 0) > 0 and not any(errs.values()),
          "%d requests, %s" % (fig.get("requests", 0),
                               " ".join("%s %d" % kv for kv in errs.items())))
    check("over: descriptors back to their start", n == fd0, "%d -> %d" % (fd0, n))
    new = d.new_errors()
    check("over: nothing in the error log", not new, "; ".join(new[:3]))

    # ---- emfile: fewer descriptors than clients
    lim = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    room = fd0 + EMFILE_ROOM
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (room, lim[1]))
    w = wrk_start(port, 3 * EMFILE_ROOM, 3, "keep")
    peak = peak_fds(pid, w)
    fig, out = wrk_finish(w)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, lim)
    n, _ = wait_fds(pid, fd0, IDLE_TIMEOUT + 2)
    new = d.new_errors()
    backoff = [l for l in new if re.fullmatch(r"http: accept: Too many open files: backing off", l)]
    check("emfile: served up to the limit, accept backed off, no other log line",
          fig.get("requests", 0) > 0 and peak == room and backoff and len(backoff) == len(new),
          "%d requests, %d clients, RLIMIT_NOFILE %d, at most %d descriptors open; log: %r" % (
              fig.get("requests", 0), 3 * EMFILE_ROOM, room, peak, new[:3]))
    check("emfile: descriptors back to their start", n == fd0, "%d -> %d" % (fd0, n))
    code, _ = http_get(port, "/hello")
    check("emfile: still answers afterwards", code == 200, "GET /hello: %s" % code)
    _, stats = http_get(port, "/stats")
    wait_fds(pid, fd0, 2)

    # ---- stop
    os.kill(pid, signal.SIGTERM)
    t0 = time.monotonic()
    try:
        rc = d.p.wait(timeout=STOP_BOUND)
    except subprocess.TimeoutExpired:
        rc = None
    took = time.monotonic() - t0
    check("SIGTERM: exit status 0 within %d s" % STOP_BOUND, rc == 0,
          "status %s after %.2f s" % (rc, took))
    new = [l for l in d.new_errors() if not l.startswith("http: signal 15: stopping")]
    check("SIGTERM: nothing else in the error log", not new, "; ".join(new[:3]))

    acc = re.search(r'"accepted":(\d+),"refused":(\d+)', stats)
    print()
    print("soak: %d connections, %d s: %d requests, %d errors, "
          "p50 %.2f ms, p99 %.2f ms, max %.2f ms" % (
        CONNS, SECONDS, soak.get("requests", 0), sum(max(0, v) for v in errors_of(soak).values()),
        soak.get("p50_us", 0) / 1000, soak.get("p99_us", 0) / 1000, soak.get("max_us", 0) / 1000))
    print("soak: RSS %d -> %d KiB after warm-up (%d at start), heap %d -> %d KiB, fds %d -> %d" % (
        memw["VmRSS"], mems["VmRSS"], mem0["VmRSS"], memw["VmData"], mems["VmData"], fd0, n))
    if acc:
        print("soak: the demo accepted %s connections and refused %s (503) in all" % acc.groups())
    failed = [name for name, ok in checks if not ok]
    print("soak: %s" % ("%d of %d checks failed" % (len(failed), len(checks)) if failed
                        else "all %d checks passed" % len(checks)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
