/*
 * echo.c - echo round trips per second: our framework's echo server beside
 * asyncio's, node's and libuv's, all driven by the same load client in the
 * same run.  Run from the repository root (make stage3 bench).
 *
 * Each connection sends 64 bytes and waits for them to come back, over and
 * over; we count the round trips with 1, 64 and 512 connections at once.
 * The servers, each a child process listening on 127.0.0.1 (port 0: the
 * kernel picks one, and the server prints it):
 *
 *   ours-epoll, ours-select  this binary again as `echo --server epoll|select`:
 *                            sock_accept, then one task per connection doing
 *                            sock_recv / sock_send_all
 *   asyncio                  bench/echo_asyncio.py (protocols, not streams)
 *   node                     bench/echo_node.js (the net module)
 *   libuv                    bench/peers/echo_uv.c, compiled here at run time
 *                            when pkg-config finds libuv
 *
 * The load client is this process: raw non-blocking sockets and epoll, one
 * thread.  With two CPUs or more every server runs on one and the client on
 * another.  All servers are started at once (an idle one costs nothing) and
 * measured in turn, in ROUNDS rounds: a burst of load from some other
 * process on the machine then spoils one round of each server rather than
 * every figure of one server, and the best round is the one reported.
 *
 * Besides round trips per second:
 *   - the server's user and system CPU time per round trip, from the
 *     utime/stime of /proc/<pid>/stat summed over the rounds.  Those are
 *     sampled at the clock tick, so a small user share is only roughly known;
 *     and network work the kernel does in softirq context may be charged to
 *     no process at all (it shows in /proc/stat's softirq column);
 *   - "busy": CPU time over wall time, for the server, the client and every
 *     other process on the machine (from /proc/stat), to show who limited a
 *     figure and whether something else was running;
 *   - system calls per round trip, counted with perf's syscall tracepoints
 *     (which barely slow the server) or else strace -c (which slows it so
 *     much that it changes how many calls a round trip takes);
 *   - user-space instructions per round trip under callgrind (valgrind),
 *     exact where the tick-sampled user time is not: each C server is run
 *     twice, for a different number of round trips, and the difference in
 *     instructions is divided by the difference in round trips.
 *
 * Benchmarks print; they never fail because a figure is slow, and a peer
 * that is not installed is skipped with a word.  Every child started here is
 * killed by its PID, also on the error paths and on Ctrl-C.
 *
 *   echo [--only NAME,NAME...] [--seconds S] [--rounds R] [--quick]
 *   echo --server epoll|select|poll    just the framework's echo server
 *
 * --quick leaves out the syscall counts and callgrind.
 */
#define _GNU_SOURCE /* sched_setaffinity, pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "loop.h"
#include "sock.h"

#ifndef BENCH_DIR
#define BENCH_DIR "stage03_selectors/bench"
#endif

#define MSG 64          /* bytes per message */
#define WARM_S 0.2      /* seconds of load before each measurement */
#define MEASURE_S 0.5   /* seconds measured, per round */
#define ROUNDS 3        /* rounds; the best one is reported */
#define EXTRA 2         /* more tries for a cell other processes disturbed */
#define EXTRA_BUDGET_S 45 /* ... as long as the rounds have taken less */
#define COUNT_CONNS 64  /* connections for the syscall and callgrind runs */
#define COUNT_S 1.0     /* seconds of the syscall-counting run */

/* snprintf into a message buffer (truncating is fine); returns -1. */
__attribute__((format(printf, 3, 4))) static int say(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return -1;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* ======================================================================
 * The framework's echo server: `echo --server BACKEND`
 * ====================================================================== */

struct echo_conn { co_t co; int fd, err; char buf[4096]; };

static int echo_conn(co_t *co)
{
    struct echo_conn *f = (struct echo_conn *)co;
    CO_BEGIN(co);
    for (;;) {
        AWAIT_CATCH(sock_recv(f->fd, f->buf, sizeof f->buf), f->err);
        if (f->err || CO_VALUE == 0)
            break; /* a reset, or the client closed: either way, done */
        AWAIT_CATCH(sock_send_all(f->fd, f->buf, (size_t)CO_VALUE), f->err);
        if (f->err)
            break;
    }
    CO_FINALLY
    sock_close(f->fd);
    CO_END;
}

struct echo_server { co_t co; int lfd, err; task_t *t; };

static int echo_server(co_t *co)
{
    struct echo_server *f = (struct echo_server *)co;
    CO_BEGIN(co);
    for (;;) {
        AWAIT_CATCH(sock_accept(f->lfd), f->err);
        if (f->err)
            break;
        f->t = TASK_SPAWN(echo_conn, struct echo_conn, .fd = (int)CO_VALUE);
        if (f->t)
            task_detach(f->t);
        else
            sock_close((int)CO_VALUE);
    }
    CO_FINALLY
    sock_close(f->lfd);
    CO_END;
}

static int server_main(const char *backend)
{
    if (!sel_find(backend)) {
        fprintf(stderr, "echo --server: no selector called %s\n", backend);
        return 2;
    }
    int lfd = sock_listen("127.0.0.1", 0, 0);
    if (lfd < 0) {
        fprintf(stderr, "echo --server: listen: %s\n", strerror(-lfd));
        return 1;
    }
    printf("%d\n", sock_port(lfd)); /* the parent waits for this line */
    fflush(stdout);
    struct loop_opts opts = {.selector = backend};
    struct echo_server frame = {.lfd = lfd};
    int rc = loop_run_opts(&opts, echo_server, &frame, sizeof frame, NULL);
    if (rc)
        fprintf(stderr, "echo --server: loop_run: %s\n", task_strerror(rc));
    return rc ? 1 : 0;
}

/* ======================================================================
 * Children: every PID we start is recorded, and killed on every way out
 * ====================================================================== */

#define MAX_CHILDREN 16
static volatile pid_t children[MAX_CHILDREN];

static void child_add(pid_t pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (!children[i]) {
            children[i] = pid;
            return;
        }
}

/* Send `sig`, allow `grace` seconds, then SIGKILL; always reaped. */
static void child_stop(pid_t pid, int sig, double grace)
{
    if (pid <= 0)
        return;
    kill(pid, sig);
    int status;
    double until = bench_now_ns() + grace * 1e9;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (bench_now_ns() > until) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        sleep_s(0.005);
    }
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (children[i] == pid)
            children[i] = 0;
}

static void kill_children(void)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (children[i] > 0)
            kill(children[i], SIGKILL);
}

static void on_fatal_signal(int sig)
{
    kill_children(); /* async-signal-safe: kill(2) only */
    signal(sig, SIG_DFL);
    raise(sig);
}

/* ======================================================================
 * CPUs: servers on one, the client on another
 * ====================================================================== */

static int cpu_server = -1, cpu_client = -1;

static void pin_to(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)sched_setaffinity(0, sizeof set, &set);
}

static void pick_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) < 0)
        return;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set)) {
            if (cpu_server < 0)
                cpu_server = c;
            else if (cpu_client < 0)
                cpu_client = c;
        }
    if (cpu_client < 0) {
        cpu_server = -1; /* one CPU: nothing to pin */
        return;
    }
    pin_to(cpu_client);
}

/* ======================================================================
 * Starting a server, and reading CPU times
 * ====================================================================== */

struct server {
    const char *name;
    char *argv[6];
    char why[300]; /* why it is skipped, when it is */
    int ok, port;
    pid_t pid;
};

/* One 64-byte round trip on a fresh connection, with timeouts: is it up? */
static int probe(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char out[MSG], in[MSG];
    memset(out, 'p', sizeof out);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
             send(fd, out, sizeof out, MSG_NOSIGNAL) == (ssize_t)sizeof out;
    size_t got = 0;
    while (ok && got < sizeof in) {
        ssize_t n = recv(fd, in + got, sizeof in - got, 0);
        if (n <= 0)
            ok = 0;
        else
            got += (size_t)n;
    }
    close(fd);
    return ok && memcmp(in, out, sizeof in) == 0 ? 0 : -1;
}

/* Run argv (prefixed by `pre`, e.g. valgrind) on the server CPU, its stderr
 * to `errfile` if not NULL; wait for the port line and one echo.  Returns
 * the PID and *port, or -1 with `why` filled in. */
static pid_t spawn_server(char *const pre[], char *const argv[], const char *errfile, int *port,
                          char *why, size_t whylen)
{
    char *args[16];
    int n = 0;
    for (int i = 0; pre && pre[i] && n < 8; i++)
        args[n++] = pre[i];
    for (int i = 0; argv[i] && n < 15; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return say(why, whylen, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return say(why, whylen, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* if we are killed outright */
        pin_to(cpu_server);
        dup2(p[1], STDOUT_FILENO);
        if (errfile) {
            int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0)
                dup2(fd, STDERR_FILENO);
        }
        execvp(args[0], args);
        _exit(127);
    }
    child_add(pid);
    close(p[1]);
    char line[64];
    size_t len = 0;
    double deadline = bench_now_ns() + 20e9; /* node, python, valgrind starting cold */
    while (len < sizeof line - 1 && !memchr(line, '\n', len)) {
        int left = (int)((deadline - bench_now_ns()) / 1e6);
        struct pollfd pf = {.fd = p[0], .events = POLLIN};
        if (left <= 0 || poll(&pf, 1, left) <= 0)
            break;
        ssize_t got = read(p[0], line + len, sizeof line - 1 - len);
        if (got <= 0)
            break;
        len += (size_t)got;
    }
    close(p[0]);
    line[len] = '\0';
    *port = atoi(line);
    if (*port <= 0 || *port > 65535) {
        child_stop(pid, SIGTERM, 2);
        return say(why, whylen, "did not start (no port line from `%s`)", args[0]);
    }
    if (probe(*port) < 0) {
        child_stop(pid, SIGTERM, 2);
        return say(why, whylen, "started but did not echo");
    }
    return pid;
}

/* utime and stime of a process (all its threads), in clock ticks. */
static int proc_cpu(pid_t pid, unsigned long *ut, unsigned long *st)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", ut, st) != 2)
        return -1;
    return 0;
}

/* Ticks the server's and the client's CPUs (every CPU when not pinned)
 * spent running processes, user + nice + system, from /proc/stat: minus
 * the server's and the client's own, what other processes took from them. */
static double machine_busy_ticks(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    char want1[16] = "cpu", want2[16] = "cpu";
    if (cpu_server >= 0) {
        snprintf(want1, sizeof want1, "cpu%d", cpu_server);
        snprintf(want2, sizeof want2, "cpu%d", cpu_client);
    }
    char line[512], name[16];
    double sum = 0;
    unsigned long long user, nice, sys;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%15s %llu %llu %llu", name, &user, &nice, &sys) == 4 &&
            (strcmp(name, want1) == 0 || (cpu_server >= 0 && strcmp(name, want2) == 0)))
            sum += (double)(user + nice + sys);
    fclose(f);
    return sum;
}

static double cpu_self_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ======================================================================
 * The load client
 * ====================================================================== */

struct result {
    int ok;
    char err[160];
    long rts;             /* round trips in the measured interval */
    double secs;
    double user_s, sys_s; /* the server's CPU time in it */
    double client_s;      /* ours */
    double other_s;       /* every other process's */
};

/* Called when the measured interval begins and ends (the counting runs). */
struct hooks {
    void (*begin)(void *ctx);
    void (*end)(void *ctx);
    void *ctx;
};

struct lconn { int fd, got; long left; char buf[MSG]; };

static char pattern[MSG];

static int send_msg(struct lconn *c)
{
    return send(c->fd, pattern, MSG, MSG_NOSIGNAL) == MSG ? 0 : -1;
}

/* Open n connections: blocking connects, then non-blocking, no Nagle. */
static int load_connect(int port, struct lconn *c, int n, int ep, int *opened, struct result *res)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    for (; *opened < n; ++*opened) {
        struct lconn *k = &c[*opened];
        k->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (k->fd < 0)
            return say(res->err, sizeof res->err, "socket: %s", strerror(errno));
        if (connect(k->fd, (struct sockaddr *)&a, sizeof a) < 0) {
            ++*opened;
            return say(res->err, sizeof res->err, "connect #%d: %s", *opened, strerror(errno));
        }
        setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(k->fd, F_SETFL, fcntl(k->fd, F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)*opened};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, k->fd, &ev) < 0) {
            ++*opened;
            return say(res->err, sizeof res->err, "epoll_ctl: %s", strerror(errno));
        }
    }
    return 0;
}

/* A message arrived on k, or part of one: when it is whole, check it, count
 * a round trip and send the next (unless k's quota is used up).  Returns 1
 * for a round trip, 0 for a part, -1 on an error. */
static int on_readable(struct lconn *k, struct result *res)
{
    ssize_t r = recv(k->fd, k->buf + k->got, (size_t)(MSG - k->got), 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (r <= 0)
        return say(res->err, sizeof res->err, "recv: %s",
                   r == 0 ? "the server closed a connection" : strerror(errno));
    k->got += (int)r;
    if (k->got < MSG)
        return 0;
    if (memcmp(k->buf, pattern, MSG) != 0)
        return say(res->err, sizeof res->err, "the echo differs from what was sent");
    k->got = 0;
    if (k->left > 0 && --k->left == 0)
        return 1;
    if (send_msg(k) < 0)
        return say(res->err, sizeof res->err, "send: %s", strerror(errno));
    return 1;
}

/* Where the measured interval starts or ends. */
struct mark { long rts; double t, client, machine; unsigned long ut, st; };

static int take_mark(struct mark *m, long rts, pid_t server, struct result *res)
{
    m->rts = rts;
    m->client = cpu_self_s();
    m->machine = machine_busy_ticks();
    m->t = bench_now_ns();
    if (proc_cpu(server, &m->ut, &m->st) < 0)
        return say(res->err, sizeof res->err, "cannot read /proc/%ld/stat", (long)server);
    return 0;
}

/* Keep every connection busy: warm up, then measure (measure_s > 0), or
 * run until `total` round trips are done (measure_s == 0, quota mode).
 * *measuring says whether the begin hook has run. */
static int load_run(struct lconn *c, int n, int ep, struct epoll_event *evs, pid_t server,
                    double warm_s, double measure_s, long total, const struct hooks *h,
                    int *measuring, struct result *res)
{
    for (int i = 0; i < n; i++)
        if (send_msg(&c[i]) < 0)
            return say(res->err, sizeof res->err, "send: %s", strerror(errno));
    struct mark m0 = {0}, m1 = {0};
    long rts = 0;
    double now = bench_now_ns(), progress = now;
    double phase_end = now + warm_s * 1e9;
    for (;;) {
        int ready = epoll_wait(ep, evs, n, 100);
        if (ready < 0 && errno != EINTR)
            return say(res->err, sizeof res->err, "epoll_wait: %s", strerror(errno));
        for (int i = 0; i < ready; i++) {
            int r = on_readable(&c[evs[i].data.u32], res);
            if (r < 0)
                return -1;
            rts += r;
        }
        now = bench_now_ns();
        if (ready > 0)
            progress = now;
        else if (now - progress > 5e9)
            return say(res->err, sizeof res->err, "stalled: no echo for 5 s");
        if (measure_s <= 0) { /* quota mode */
            if (rts < total)
                continue;
            res->rts = rts;
            res->ok = 1;
            return 0;
        }
        if (now < phase_end)
            continue;
        if (!*measuring) {
            if (h && h->begin)
                h->begin(h->ctx);
            *measuring = 1;
            if (take_mark(&m0, rts, server, res) < 0)
                return -1;
            phase_end = m0.t + measure_s * 1e9;
            continue;
        }
        if (take_mark(&m1, rts, server, res) < 0)
            return -1;
        double tck = (double)sysconf(_SC_CLK_TCK);
        res->rts = m1.rts - m0.rts;
        res->secs = (m1.t - m0.t) / 1e9;
        res->client_s = m1.client - m0.client;
        res->user_s = (double)(m1.ut - m0.ut) / tck;
        res->sys_s = (double)(m1.st - m0.st) / tck;
        res->other_s = (m1.machine - m0.machine) / tck - res->user_s - res->sys_s - res->client_s;
        if (res->other_s < 0)
            res->other_s = 0;
        res->ok = 1;
        return 0;
    }
}

/* One measurement: nconn connections, warm-up, measure_s measured.  With
 * measure_s == 0, each connection does `quota` round trips instead. */
static void load(int port, int nconn, pid_t server, double warm_s, double measure_s, long quota,
                 const struct hooks *h, struct result *res)
{
    memset(res, 0, sizeof *res);
    struct lconn *c = calloc((size_t)nconn, sizeof *c);
    struct epoll_event *evs = calloc((size_t)nconn, sizeof *evs);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int opened = 0, measuring = 0;
    if (!c || !evs || ep < 0) {
        say(res->err, sizeof res->err, "out of memory or descriptors");
    } else if (load_connect(port, c, nconn, ep, &opened, res) == 0) {
        for (int i = 0; i < nconn; i++)
            c[i].left = measure_s > 0 ? -1 : quota;
        load_run(c, nconn, ep, evs, server, warm_s, measure_s, quota * nconn, h, &measuring,
                 res);
    }
    if (res->ok && measure_s <= 0) {
        sleep_s(0.5); /* quota mode: let the server finish its last round trips */
        if (h && h->end)
            h->end(h->ctx); /* and stop it before it sees the connections close */
    } else if (measuring && h && h->end) {
        h->end(h->ctx);
    }
    for (int i = 0; i < opened; i++)
        close(c[i].fd);
    if (ep >= 0)
        close(ep);
    free(c);
    free(evs);
}

/* ======================================================================
 * Finding the peers
 * ====================================================================== */

static char exe_dir[1024];   /* where this binary is: build/stage3/bench */
static char bench_dir[1200]; /* where the peer scripts are */

static int file_exists(const char *p) { return access(p, R_OK) == 0; }

static void find_dirs(const char *argv0)
{
    char self[1024];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len > 0)
        self[len] = '\0';
    else
        snprintf(self, sizeof self, "%s", argv0);
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(self, sizeof self, ".");
    snprintf(exe_dir, sizeof exe_dir, "%s", self);

    /* BENCH_DIR is relative to the repository root, the working directory
     * under make; else look from build/[variant/]stageN/bench up to it. */
    const char *up[] = {NULL, "/../../..", "/../../../.."};
    for (size_t i = 0; i < sizeof up / sizeof *up; i++) {
        char p[1400];
        if (!up[i])
            snprintf(bench_dir, sizeof bench_dir, "%s", BENCH_DIR);
        else
            say(bench_dir, sizeof bench_dir, "%s%s/%s", exe_dir, up[i], BENCH_DIR);
        say(p, sizeof p, "%s/echo_asyncio.py", bench_dir);
        if (file_exists(p))
            return;
    }
    snprintf(bench_dir, sizeof bench_dir, "%s", BENCH_DIR);
}

static int newer(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_mtime >= sb.st_mtime;
}

/* Compile peers/echo_uv.c into the build directory when libuv is there. */
static int build_libuv(char *out, size_t outlen, char *why, size_t whylen)
{
    char src[1400];
    say(src, sizeof src, "%s/peers/echo_uv.c", bench_dir);
    say(out, outlen, "%s/echo_uv", exe_dir);
    if (!bench_have("pkg-config") || system("pkg-config --exists libuv") != 0)
        return say(why, whylen, "not installed (apt-get install libuv1-dev)");
    if (!file_exists(src))
        return say(why, whylen, "%s not found", src);
    if (newer(out, src) && access(out, X_OK) == 0)
        return 0;
    char cmd[3200];
    say(cmd, sizeof cmd, "cc -O2 -o '%s' '%s' $(pkg-config --cflags --libs libuv) 2>&1", out, src);
    FILE *p = popen(cmd, "r");
    if (!p)
        return say(why, whylen, "cannot run cc");
    char line[256], first[256] = "";
    while (fgets(line, sizeof line, p))
        if (!first[0])
            snprintf(first, sizeof first, "%s", line);
    if (pclose(p) != 0) {
        first[strcspn(first, "\n")] = '\0';
        return say(why, whylen, "failed to compile %s: %s", src, first);
    }
    return 0;
}

/* ======================================================================
 * System calls per round trip: perf's tracepoints, or strace
 * ====================================================================== */

static const char *tracing_dir(void)
{
    if (access("/sys/kernel/tracing/events/syscalls", R_OK) == 0)
        return "/sys/kernel/tracing/events/syscalls";
    if (access("/sys/kernel/debug/tracing/events/syscalls", R_OK) == 0)
        return "/sys/kernel/debug/tracing/events/syscalls";
    return NULL;
}

static int have_tracepoint(const char *name)
{
    const char *dir = tracing_dir();
    char p[256];
    if (!dir)
        return 0;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

/* The calls an event loop makes per round trip; those the kernel lacks a
 * tracepoint for are left out. */
static const char *const counted[] = {
    "read", "write", "recvfrom", "sendto", "readv", "writev", "recvmsg", "sendmsg",
    "epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl", "select", "pselect6",
    "poll", "ppoll", "futex", "accept4", "getpid", "clock_gettime"};
/* ... and how many of these failed with EAGAIN (filtered exit events). */
static const char *const eagain[] = {"read", "recvfrom"};

static int use_perf(void)
{
    return bench_have("perf") && have_tracepoint("sys_enter_read") &&
           system("perf stat -e raw_syscalls:sys_enter -- true >/dev/null 2>&1") == 0;
}

struct tracer {
    int perf;        /* 1: perf stat, 0: strace -c */
    pid_t server, pid;
    char out[1400];
    int attached;
};

static int traced(pid_t pid) /* strace: is a tracer attached to pid? */
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long tracer = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "TracerPid: %ld", &tracer) == 1)
            break;
    fclose(f);
    return tracer != 0;
}

static void tracer_begin(void *ctx)
{
    struct tracer *t = ctx;
    char pidbuf[32];
    snprintf(pidbuf, sizeof pidbuf, "%ld", (long)t->server);
    char *args[80];
    char evs[(sizeof counted / sizeof *counted + 4)][64];
    int n = 0, ne = 0;
    if (t->perf) {
        args[n++] = "perf";
        args[n++] = "stat";
        args[n++] = "-x,";
        args[n++] = "-o";
        args[n++] = t->out;
        args[n++] = "-e";
        args[n++] = "raw_syscalls:sys_enter";
        for (size_t i = 0; i < sizeof counted / sizeof *counted; i++) {
            char tp[48];
            snprintf(tp, sizeof tp, "sys_enter_%s", counted[i]);
            if (!have_tracepoint(tp))
                continue;
            say(evs[ne], sizeof evs[ne], "syscalls:%s", tp);
            args[n++] = "-e";
            args[n++] = evs[ne++];
        }
        for (size_t i = 0; i < sizeof eagain / sizeof *eagain; i++) {
            char tp[48];
            snprintf(tp, sizeof tp, "sys_exit_%s", eagain[i]);
            if (!have_tracepoint(tp))
                continue;
            say(evs[ne], sizeof evs[ne], "syscalls:%s", tp);
            args[n++] = "-e";
            args[n++] = evs[ne++];
            args[n++] = "--filter";
            args[n++] = "ret == -11";
        }
        args[n++] = "-p";
        args[n++] = pidbuf;
    } else {
        args[n++] = "strace";
        args[n++] = "-c";
        args[n++] = "-f";
        args[n++] = "-o";
        args[n++] = t->out;
        args[n++] = "-p";
        args[n++] = pidbuf;
    }
    args[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* if we are killed outright */
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, STDERR_FILENO); /* "attached" / "detached" chatter */
        execvp(args[0], args);
        _exit(127);
    }
    if (pid < 0)
        return;
    child_add(pid);
    t->pid = pid;
    if (t->perf) {
        sleep_s(0.5); /* perf has no "attached" to look for: give it time */
        t->attached = waitpid(pid, &(int){0}, WNOHANG) == 0;
        if (!t->attached)
            t->pid = 0; /* it exited already: reaped */
        return;
    }
    for (int i = 0; i < 300 && !traced(t->server); i++) /* up to 3 s */
        sleep_s(0.01);
    t->attached = traced(t->server);
    sleep_s(0.1); /* the other threads */
}

static void tracer_end(void *ctx)
{
    struct tracer *t = ctx;
    if (t->pid > 0)
        child_stop(t->pid, SIGINT, 5); /* both write their counts on SIGINT */
    t->pid = 0;
}

struct count { char name[48]; double calls, failed; };

/* Read the counts: perf's CSV, or strace -c's table.  Returns the total. */
static double read_counts(const struct tracer *t, struct count *rows, int *nrows, int max)
{
    FILE *f = fopen(t->out, "r");
    double total = -1;
    *nrows = 0;
    if (!f)
        return -1;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (t->perf) {
            char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
            if (!c2 || line[0] < '0' || line[0] > '9')
                continue;
            double v = atof(line);
            char *ev = c2 + 1;
            ev[strcspn(ev, ",\n")] = '\0';
            if (strcmp(ev, "raw_syscalls:sys_enter") == 0) {
                total = v;
            } else if (strncmp(ev, "syscalls:sys_exit_", 18) == 0) {
                for (int i = 0; i < *nrows; i++)
                    if (strcmp(rows[i].name, ev + 18) == 0)
                        rows[i].failed = v;
            } else if (strncmp(ev, "syscalls:sys_enter_", 19) == 0 && *nrows < max) {
                snprintf(rows[*nrows].name, sizeof rows[*nrows].name, "%s", ev + 19);
                rows[*nrows].calls = v;
                rows[(*nrows)++].failed = 0;
            }
            continue;
        }
        char *tok[8];
        int nt = 0;
        for (char *s = strtok(line, " \t\n"); s && nt < 8; s = strtok(NULL, " \t\n"))
            tok[nt++] = s;
        if (nt < 5 || tok[0][0] < '0' || tok[0][0] > '9')
            continue; /* the header, the rules */
        if (strcmp(tok[nt - 1], "total") == 0) {
            total = atof(tok[3]);
        } else if (*nrows < max) {
            snprintf(rows[*nrows].name, sizeof rows[*nrows].name, "%s", tok[nt - 1]);
            rows[*nrows].calls = atof(tok[3]);
            rows[(*nrows)++].failed = nt >= 6 ? atof(tok[4]) : 0; /* any error */
        }
    }
    fclose(f);
    return total;
}

/* Count s's system calls over COUNT_S seconds of load; print them per round
 * trip.  Returns the EAGAIN reads per round trip (perf only), or -1. */
static double count_syscalls(const struct server *s, int perf)
{
    struct tracer t = {.perf = perf, .server = s->pid};
    say(t.out, sizeof t.out, "%s/echo_syscalls_%s.txt", exe_dir, s->name);
    unlink(t.out);
    struct hooks h = {tracer_begin, tracer_end, &t};
    struct result r;
    load(s->port, COUNT_CONNS, s->pid, 0.2, COUNT_S, 0, &h, &r);
    struct count rows[32];
    int nrows = 0;
    double total = read_counts(&t, rows, &nrows, 32);
    unlink(t.out);
    if (!t.attached) {
        printf("  %-12s %s could not attach\n", s->name, perf ? "perf" : "strace");
        return -1;
    }
    if (!r.ok) {
        printf("  %-12s %s\n", s->name, r.err);
        return -1;
    }
    if (total <= 0 || r.rts <= 0) {
        printf("  %-12s no counts\n", s->name);
        return -1;
    }
    double rts = (double)r.rts, again = 0;
    printf("  %-12s %5.2f per round trip:", s->name, total / rts);
    for (int shown = 0;; shown++) { /* the busiest first */
        int best = -1;
        for (int i = 0; i < nrows; i++)
            if (rows[i].calls / rts >= 0.005 && (best < 0 || rows[i].calls > rows[best].calls))
                best = i;
        if (best < 0)
            break;
        printf("%s %s %.2f", shown ? "," : "", rows[best].name, rows[best].calls / rts);
        if (rows[best].failed / rts >= 0.005)
            printf(" (%.2f %s)", rows[best].failed / rts, perf ? "EAGAIN" : "failed");
        again += rows[best].failed / rts;
        rows[best].calls = -1;
    }
    printf("\n");
    return perf ? again : -1;
}

/* What a recv that fails with EAGAIN costs: a connected loopback TCP
 * socket with nothing to read, asked 40,000 times, best of 5.  Nanoseconds,
 * or -1. */
static double failed_recv_ns(void)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int c = -1, s = -1;
    double ns = -1;
    if (lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(lfd, 1) == 0 &&
        getsockname(lfd, (struct sockaddr *)&a, &len) == 0 &&
        (c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0 &&
        connect(c, (struct sockaddr *)&a, sizeof a) == 0 && (s = accept(lfd, NULL, NULL)) >= 0) {
        const int n = 40000;
        char buf[MSG];
        for (int rep = 0; rep < 5; rep++) { /* the least disturbed of 5 */
            int failed = 0;
            double t0 = bench_now_ns();
            for (int i = 0; i < n; i++)
                failed += recv(s, buf, sizeof buf, MSG_DONTWAIT) < 0 && errno == EAGAIN;
            double t = (bench_now_ns() - t0) / n;
            if (failed == n && (ns < 0 || t < ns))
                ns = t;
        }
    }
    if (s >= 0)
        close(s);
    if (c >= 0)
        close(c);
    if (lfd >= 0)
        close(lfd);
    return ns;
}

/* ======================================================================
 * User-space instructions per round trip, under callgrind
 * ====================================================================== */

static void stop_server(void *ctx)
{
    pid_t *pid = ctx;
    if (*pid > 0)
        child_stop(*pid, SIGTERM, 10); /* callgrind prints its total as it exits */
    *pid = 0;
}

/* Instructions of s's whole run, serving COUNT_CONNS connections that do
 * `quota` round trips each; -1 if that failed. */
static double callgrind_run(const struct server *s, long quota, char *why, size_t whylen)
{
    char errfile[1400];
    say(errfile, sizeof errfile, "%s/echo_callgrind_%s.txt", exe_dir, s->name);
    char *pre[] = {"valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", NULL};
    int port;
    pid_t pid = spawn_server(pre, s->argv, errfile, &port, why, whylen);
    if (pid < 0)
        return -1;
    struct result r;
    struct hooks h = {NULL, stop_server, &pid};
    load(port, COUNT_CONNS, pid, 0, 0, quota, &h, &r);
    stop_server(&pid); /* if load failed before its end hook */
    double total = -1;
    FILE *f = fopen(errfile, "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        char *at = strstr(line, "Collected :");
        if (!at)
            continue;
        double x = 0; /* "1,234,567": skip the commas */
        for (char *c = at + strlen("Collected :"); *c && *c != '\n'; c++)
            if (*c >= '0' && *c <= '9')
                x = x * 10 + (*c - '0');
        total = x;
    }
    if (f)
        fclose(f);
    unlink(errfile);
    if (!r.ok)
        return say(why, whylen, "%s", r.err);
    if (total < 0)
        return say(why, whylen, "callgrind reported no total");
    return total;
}

static double callgrind_per_rt(const struct server *s, char *why, size_t whylen)
{
    const long q1 = 100, q2 = 500;
    double a = callgrind_run(s, q1, why, whylen);
    double b = a < 0 ? -1 : callgrind_run(s, q2, why, whylen);
    if (a < 0 || b < 0)
        return -1;
    return (b - a) / (double)(COUNT_CONNS * (q2 - q1));
}

/* ======================================================================
 * Measuring and printing
 * ====================================================================== */

static const int conns[] = {1, 64, 512};
#define NCONNS 3
enum { S_EPOLL, S_SELECT, S_ASYNCIO, S_NODE, S_UV, NSERVERS };

/* One server at one connection count, over the rounds. */
struct cell {
    int n;              /* rounds that succeeded */
    struct result best; /* the round with the most round trips per second */
    long rts;           /* sums over the rounds that succeeded */
    double user_s, sys_s;
    char err[160];
};

static struct cell cells[NSERVERS][NCONNS];
static const struct server *servers_of; /* the array cells[] is indexed like */

static double rate(const struct result *r) { return r->ok && r->secs > 0 ? (double)r->rts / r->secs : 0; }
static double crate(const struct cell *c) { return c->n ? rate(&c->best) : 0; }
static double user_us(const struct cell *c) { return c->rts ? c->user_s / (double)c->rts * 1e6 : 0; }
static double sys_us(const struct cell *c) { return c->rts ? c->sys_s / (double)c->rts * 1e6 : 0; }
static double cpu_us(const struct cell *c) { return user_us(c) + sys_us(c); }

/* Did other processes take more than a tenth of a CPU in c's best round? */
static double other_pct(const struct cell *c) { return c->n ? c->best.other_s / c->best.secs * 100 : 0; }
static int disturbed(const struct cell *c) { return other_pct(c) > 10; }

static void print_rate(double x)
{
    if (x >= 1e6)
        printf(" %7.2fM", x / 1e6);
    else
        printf(" %7.1fk", x / 1e3);
}

static const char *met(int ok) { return ok ? "met" : "NOT met"; }

/* Is `name` one of the comma-separated names in `list`? */
static int listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        p += len + (p[len] == ',');
    }
    return 0;
}

/* One more measurement of server s at conns[k], into its cell. */
static void measure_cell(const struct server *sv, int k, double measure_s)
{
    struct result res;
    struct cell *c = &cells[sv - servers_of][k];
    load(sv->port, conns[k], sv->pid, WARM_S, measure_s, 0, NULL, &res);
    if (!res.ok) {
        snprintf(c->err, sizeof c->err, "%s", res.err);
        return;
    }
    if (!c->n || rate(&res) > rate(&c->best))
        c->best = res;
    c->n++;
    c->rts += res.rts;
    c->user_s += res.user_s;
    c->sys_s += res.sys_s;
}

static void print_tables(const struct server *servers, int rounds, double measure_s)
{
    printf("\n%-12s|%s|%s|%s\n", "", "        1 connection       ", "       64 connections      ",
           "      512 connections      ");
    printf("%-12s|", "server");
    for (int k = 0; k < NCONNS; k++)
        printf("    rt/s  usr us  sys us|");
    printf("\n");
    for (int s = 0; s < NSERVERS; s++) {
        printf("%-12s|", servers[s].name);
        if (!servers[s].ok) {
            printf(" skipped: %s\n", servers[s].why);
            continue;
        }
        for (int k = 0; k < NCONNS; k++) {
            const struct cell *c = &cells[s][k];
            if (!c->n) {
                printf(" %23s|", "failed");
                continue;
            }
            print_rate(crate(c));
            printf("  %6.2f  %6.2f|", user_us(c), sys_us(c));
        }
        printf("\n");
    }
    printf("rt/s: round trips per second, the best of %d rounds of %.1f s (or of repeats).\n"
           "usr/sys us: the server's user and system CPU microseconds per round trip over\n"
           "all its rounds, from /proc/<pid>/stat in %ld Hz ticks.  Their sum is the\n"
           "process's exact run time; the split is sampled at the tick, so a small user\n"
           "share is rough (callgrind below counts it exactly).\n\n",
           rounds, measure_s, sysconf(_SC_CLK_TCK));

    printf("%-12s|", "busy %");
    for (int k = 0; k < NCONNS; k++)
        printf(" %3d conn: srv  cli  other|", conns[k]);
    printf("\n");
    for (int s = 0; s < NSERVERS; s++) {
        if (!servers[s].ok)
            continue;
        printf("%-12s|", servers[s].name);
        for (int k = 0; k < NCONNS; k++) {
            const struct result *r = &cells[s][k].best;
            if (cells[s][k].n)
                printf("           %4.0f %4.0f %5.0f  |", (r->user_s + r->sys_s) / r->secs * 100,
                       r->client_s / r->secs * 100, r->other_s / r->secs * 100);
            else
                printf(" %24s |", "-");
        }
        printf("\n");
    }
    printf("CPU time over wall time in the best round, 100 = one CPU: the server, the load\n"
           "client, and all other processes on the machine.  A client near 100 with the\n"
           "server below means the client set the pace; a large `other` means something\n"
           "else was running.\n\n");

    printf("ours / each peer: round trips/s (>1: ours is faster), and the server's CPU\n"
           "time per round trip, user + system (<1: ours uses less):\n");
    printf("%-12s|", "");
    for (int k = 0; k < NCONNS; k++)
        printf("  %3d conn rt/s | %3d conn CPU  |", conns[k], conns[k]);
    printf("\n%-12s|", "");
    for (int k = 0; k < NCONNS; k++)
        printf("  epoll  select |  epoll  select |");
    printf("\n");
    for (int p = S_ASYNCIO; p < NSERVERS; p++) {
        printf("vs %-9s|", servers[p].name);
        if (!servers[p].ok) {
            printf(" not measured\n");
            continue;
        }
        for (int k = 0; k < NCONNS; k++) {
            const struct cell *pe = &cells[p][k];
            for (int o = S_EPOLL; o <= S_SELECT; o++) {
                const struct cell *ou = &cells[o][k];
                if (servers[o].ok && ou->n && pe->n)
                    printf(" %6.2fx", crate(ou) / crate(pe));
                else
                    printf(" %7s", "-");
            }
            printf(" |");
            for (int o = S_EPOLL; o <= S_SELECT; o++) {
                const struct cell *ou = &cells[o][k];
                if (servers[o].ok && ou->n && pe->n && cpu_us(pe) > 0)
                    printf(" %6.2fx", cpu_us(ou) / cpu_us(pe));
                else
                    printf(" %7s", "-");
            }
            printf(" |");
        }
        printf("\n");
    }
}

/* met / NOT met, unless another process disturbed one of the two figures. */
static const char *verdict(int ok, const struct cell *a, const struct cell *b)
{
    return disturbed(a) || disturbed(b) ? "not judged" : met(ok);
}

static void print_targets(const struct server *servers, double insn_epoll, double insn_uv)
{
    printf("\ntargets (from the issue), against libuv measured above:\n");
    const struct cell *e64 = &cells[S_EPOLL][1], *e512 = &cells[S_EPOLL][2];
    const struct cell *s64 = &cells[S_SELECT][1];
    const struct cell *u64 = &cells[S_UV][1], *u512 = &cells[S_UV][2];
    if (!servers[S_UV].ok) {
        printf("  not checked: libuv %s\n", servers[S_UV].why);
        return;
    }
    if (!servers[S_EPOLL].ok || !servers[S_SELECT].ok) {
        printf("  not checked: needs ours-epoll, ours-select and libuv\n");
        return;
    }
    if (e64->n && u64->n)
        printf("  epoll rt/s >= libuv's at 64 connections:          %s (%.2fx)\n",
               verdict(crate(e64) >= crate(u64), e64, u64), crate(e64) / crate(u64));
    if (e512->n && u512->n)
        printf("  epoll rt/s >= libuv's at 512 connections:         %s (%.2fx)\n",
               verdict(crate(e512) >= crate(u512), e512, u512), crate(e512) / crate(u512));
    if (insn_epoll > 0 && insn_uv > 0)
        printf("  epoll user CPU/rt <= libuv's (callgrind, %d conn): %s (%.0f vs %.0f "
               "instructions)\n",
               COUNT_CONNS, met(insn_epoll <= insn_uv), insn_epoll, insn_uv);
    for (int k = 1; k < NCONNS; k++)
        if (cells[S_EPOLL][k].n && cells[S_UV][k].n)
            printf("  epoll user CPU/rt <= libuv's (ticks, %3d conn):    %s (%.2f vs %.2f us)\n",
                   conns[k],
                   verdict(user_us(&cells[S_EPOLL][k]) <= user_us(&cells[S_UV][k]),
                           &cells[S_EPOLL][k], &cells[S_UV][k]),
                   user_us(&cells[S_EPOLL][k]), user_us(&cells[S_UV][k]));
    if (s64->n && u64->n)
        printf("  select rt/s >= 0.8x libuv's at 64 connections:    %s (%.2fx)\n",
               verdict(crate(s64) >= 0.8 * crate(u64), s64, u64), crate(s64) / crate(u64));
    int busy = 0;
    for (int s = 0; s < NSERVERS; s++)
        for (int k = 0; k < NCONNS; k++)
            busy |= servers[s].ok && disturbed(&cells[s][k]);
    if (busy)
        printf("  (\"not judged\": other processes took over 10%% of a CPU during one of the\n"
               "  two figures even in its best round; rerun on a quiet machine.)\n");
}

int main(int argc, char **argv)
{
    unsetenv("ASYNC_TRACE"); /* the figures are for the plain loop */
    unsetenv("ASYNC_DEBUG");
    unsetenv("ASYNC_SLOW_MS");
    if (argc == 3 && strcmp(argv[1], "--server") == 0)
        return server_main(argv[2]);
    const char *only = NULL;
    int quick = 0, rounds = ROUNDS;
    double measure_s = MEASURE_S;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            measure_s = atof(argv[++i]);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else {
            fprintf(stderr,
                    "usage: %s [--only NAME,NAME...] [--seconds S] [--rounds R] [--quick]\n"
                    "       %s --server epoll|poll|select\n",
                    argv[0], argv[0]);
            return 2;
        }
    }
    if (measure_s <= 0 || rounds <= 0) {
        fprintf(stderr, "echo: --seconds and --rounds must be positive\n");
        return 2;
    }

    atexit(kill_children);
    signal(SIGINT, on_fatal_signal);
    signal(SIGTERM, on_fatal_signal);
    signal(SIGHUP, on_fatal_signal);
    signal(SIGPIPE, SIG_IGN);
    memset(pattern, 'e', sizeof pattern);
    memcpy(pattern, "echo bench: 64 bytes out, 64 bytes back", 40);
    find_dirs(argv[0]);
    pick_cpus();

    char self[1100], py[1400], js[1400], uv[1400];
    say(self, sizeof self, "%s/echo", exe_dir);
    say(py, sizeof py, "%s/echo_asyncio.py", bench_dir);
    say(js, sizeof js, "%s/echo_node.js", bench_dir);
    struct server servers[NSERVERS] = {
        [S_EPOLL] = {.name = "ours-epoll", .argv = {self, "--server", "epoll", NULL}},
        [S_SELECT] = {.name = "ours-select", .argv = {self, "--server", "select", NULL}},
        [S_ASYNCIO] = {.name = "asyncio", .argv = {"python3", py, NULL}},
        [S_NODE] = {.name = "node", .argv = {"node", js, NULL}},
        [S_UV] = {.name = "libuv", .argv = {uv, NULL}},
    };
    if (!bench_have("python3"))
        say(servers[S_ASYNCIO].why, sizeof servers[S_ASYNCIO].why, "python3 not found");
    else if (!file_exists(py))
        say(servers[S_ASYNCIO].why, sizeof servers[S_ASYNCIO].why, "%s not found", py);
    if (!bench_have("node"))
        say(servers[S_NODE].why, sizeof servers[S_NODE].why, "node not found");
    else if (!file_exists(js))
        say(servers[S_NODE].why, sizeof servers[S_NODE].why, "%s not found", js);
    servers_of = servers;
    for (int s = 0; s < NSERVERS; s++)
        if (only && !listed(only, servers[s].name))
            say(servers[s].why, sizeof servers[s].why, "not selected (--only)");
    if (!servers[S_UV].why[0])
        build_libuv(uv, sizeof uv, servers[S_UV].why, sizeof servers[S_UV].why);

    printf("echo: %d-byte messages; each connection sends one and waits for its echo.\n", MSG);
    if (cpu_server >= 0)
        printf("Servers pinned to CPU %d, the load client (this process) to CPU %d.\n",
               cpu_server, cpu_client);
    else
        printf("One CPU: servers and client share it.\n");
    printf("asyncio's server uses protocols (data_received -> transport.write), not streams.\n");
    for (int s = 0; s < NSERVERS; s++) {
        if (servers[s].why[0])
            continue;
        servers[s].pid = spawn_server(NULL, servers[s].argv, NULL, &servers[s].port,
                                      servers[s].why, sizeof servers[s].why);
        servers[s].ok = servers[s].pid > 0;
    }

    /* Round r measures every server at every connection count once.  Then,
     * while the time allows, a cell whose best round another process
     * disturbed gets up to EXTRA more tries. */
    double t_start = bench_now_ns();
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < NCONNS; k++)
            for (int s = 0; s < NSERVERS; s++)
                if (servers[s].ok)
                    measure_cell(&servers[s], k, measure_s);
    int retried = 0;
    for (int extra = 0; extra < EXTRA; extra++)
        for (int k = 0; k < NCONNS; k++)
            for (int s = 0; s < NSERVERS; s++)
                if (servers[s].ok && disturbed(&cells[s][k]) &&
                    bench_now_ns() - t_start < EXTRA_BUDGET_S * 1e9) {
                    measure_cell(&servers[s], k, measure_s);
                    retried++;
                }
    if (retried)
        printf("(other processes were busy: %d measurements were repeated)\n", retried);
    for (int s = 0; s < NSERVERS; s++)
        for (int k = 0; k < NCONNS; k++)
            if (servers[s].ok && cells[s][k].err[0])
                printf("%s, %d connections: %d measurement(s) succeeded; the last error: %s\n",
                       servers[s].name, conns[k], cells[s][k].n, cells[s][k].err);
    print_tables(servers, rounds, measure_s);

    double insn[NSERVERS] = {0};
    double again_ours = -1, again_uv = -1;
    if (quick) {
        printf("\n(--quick: no system call counts, no callgrind)\n");
    } else {
        int perf = use_perf();
        printf("\nsystem calls per round trip, %d connections, %.1f s, counted by %s:\n",
               COUNT_CONNS, COUNT_S,
               perf ? "perf stat on the syscall tracepoints"
                    : "strace -c -f (it slows the server: the mix shifts)");
        if (!perf && !bench_have("strace"))
            printf("  neither perf (with tracepoints) nor strace found: skipped\n");
        else
            for (int s = 0; s < NSERVERS; s++) {
                if (!servers[s].ok)
                    continue;
                double a = count_syscalls(&servers[s], perf);
                if (s == S_EPOLL)
                    again_ours = a;
                if (s == S_UV)
                    again_uv = a;
            }
    }
    for (int s = 0; s < NSERVERS; s++) {
        child_stop(servers[s].pid, SIGTERM, 2);
        servers[s].pid = 0;
    }

    if (!quick) {
        printf("\nuser-space instructions per round trip (callgrind, %d connections):\n",
               COUNT_CONNS);
        if (!bench_have("valgrind")) {
            printf("  valgrind not found: skipped\n");
        } else {
            const int cg[] = {S_EPOLL, S_SELECT, S_UV};
            for (size_t i = 0; i < sizeof cg / sizeof *cg; i++) {
                int s = cg[i];
                char why[300] = "";
                if (!servers[s].ok) {
                    printf("  %-12s not measured\n", servers[s].name);
                    continue;
                }
                insn[s] = callgrind_per_rt(&servers[s], why, sizeof why);
                if (insn[s] > 0)
                    printf("  %-12s %7.0f\n", servers[s].name, insn[s]);
                else
                    printf("  %-12s failed: %s\n", servers[s].name, why);
            }
            printf("  (asyncio and node are left out: an interpreter and a JIT under valgrind\n"
                   "  take too long; their tick-sampled user time above is 5-10x ours anyway.)\n");
        }
    }

    print_targets(servers, insn[S_EPOLL], insn[S_UV]);
    if (again_ours >= 0.5 && again_uv >= 0 && again_uv < 0.1) {
        printf("\nwhere ours loses to libuv: %.2f recv per round trip fails with EAGAIN (libuv:\n"
               "%.2f).  io__start tries a recv before parking, and in request/response traffic\n"
               "the next request is never there yet right after the reply went out; libuv does\n"
               "not read again after a short read until epoll reports the socket readable.\n",
               again_ours, again_uv);
        double ns = failed_recv_ns();
        const struct cell *u64 = &cells[S_UV][1];
        if (ns > 0 && u64->n && cpu_us(u64) > 0)
            printf("A failing recv costs %.0f ns on this machine: %.0f%% of libuv's %.2f us of\n"
                   "server CPU per round trip at 64 connections.\n",
                   ns, ns * again_ours / 1e3 / cpu_us(u64) * 100, cpu_us(u64));
    }
    return 0;
}
