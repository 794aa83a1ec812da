/*
 * http.c - HTTP requests per second: the stage 6 demo server with each
 * selector backend beside nginx, node and asyncio, all loaded by wrk in the
 * same run.  Run from the repository root (make stage6 bench).
 *
 * wrk asks for GET /hello over 64, then 256 keep-alive connections, from one
 * thread, as fast as the answers come, and reports requests per second and
 * the latency distribution.  The servers, each a child process on 127.0.0.1
 * and a port we find free (bind port 0, read it, close it, pass it on):
 *
 *   ours-select, ours-poll, ours-epoll   ../examples/http_demo beside this
 *                 binary, `--host 127.0.0.1 --port P --quiet`, with
 *                 ASYNC_SELECTOR naming the backend
 *   nginx         /usr/sbin/nginx, one process (master_process off), a config
 *                 generated in a temporary directory beside this binary:
 *                 `location = /hello { return 200 "hello, world\n"; }`
 *   node          bench/http_node.js, node's http module
 *   asyncio       bench/http_asyncio.py, asyncio.Protocol and almost no
 *                 parsing: a fixed response for every head ending in \r\n\r\n
 *
 * A peer that is not installed is skipped with a word; without wrk the whole
 * benchmark is.  With two CPUs or more every server runs on one and wrk on
 * another (sched_setaffinity, what taskset does).  All servers are started
 * at once (an idle one costs nothing) and measured in turn, in ROUNDS rounds,
 * so a burst of load from another process spoils one round of each server
 * rather than every figure of one.  Each figure reported is its median over
 * the rounds that no other process disturbed (over all of them if every
 * one was), each figure on its own.  Each server first gets one unmeasured
 * warm-up run (node's JIT needs it).
 *
 * Besides requests/s and wrk's p50 and p99 latency:
 *   - the server's CPU time per request, user + system, from the utime and
 *     stime of /proc/<pid>/stat (of the server and any processes it forked)
 *     before and after each run (the median over the runs).  One wrk thread is
 *     often the bottleneck: then requests/s is wrk's ceiling for every fast
 *     server alike, and CPU per request is what still tells them apart;
 *   - "busy": CPU time over wall time for the server, for wrk (exact, from
 *     wait4's rusage) and for every other process on the two CPUs (from
 *     /proc/stat), to show who set the pace and whether something else ran.
 *     Network work the kernel does in softirq context may be charged to no
 *     process at all.
 *
 * Benchmarks print; they never fail because a figure is slow.  Every child
 * started here (servers and wrk) is killed by its PID, also on the error
 * paths and on Ctrl-C.
 *
 *   http [--only NAME,NAME...] [--seconds S] [--rounds R] [--quick] [--verbose]
 *
 * NAME is a server's name above, or `ours` for all three backends; S is
 * whole seconds per wrk run (wrk's own unit); --quick is one round of 1 s;
 * --verbose prints every run.  `make stage6 bench` passes no arguments, so
 * BENCH_ONLY, BENCH_SECONDS, BENCH_ROUNDS, BENCH_QUICK and BENCH_VERBOSE
 * say the same from the environment.
 */
#define _GNU_SOURCE /* sched_setaffinity, strcasestr, nftw */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#ifndef BENCH_DIR
#define BENCH_DIR "stage06_http/bench"
#endif

#define SECONDS 2         /* seconds per measured wrk run */
#define ROUNDS 5          /* rounds; the median of each figure is reported */
#define WARM_SECONDS 1    /* one unmeasured run per server first */
#define EXTRA 2           /* more tries for a cell other processes disturbed */
#define EXTRA_BUDGET_S 30 /* ... within this many seconds after the rounds */
#define START_S 20        /* how long a server may take to answer at all */
#define NGINX "/usr/sbin/nginx"

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

static int file_exists(const char *p) { return access(p, R_OK) == 0; }

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

/* pid was reaped: never signal that number again (it may be reused). */
static void child_forget(pid_t pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (children[i] == pid)
            children[i] = 0;
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
    child_forget(pid);
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
 * CPUs: servers on one, wrk on another
 * ====================================================================== */

static int cpu_server = -1, cpu_wrk = -1;

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
            else if (cpu_wrk < 0)
                cpu_wrk = c;
        }
    if (cpu_wrk < 0) {
        cpu_server = -1; /* one CPU: nothing to pin */
        return;
    }
    pin_to(cpu_wrk); /* this process mostly waits for wrk: beside it */
}

/* ======================================================================
 * CPU time: a process tree's from /proc/<pid>/stat, the machine's from
 * /proc/stat
 * ====================================================================== */

#define MAX_PROCS 8192
static struct proc { long pid, ppid; unsigned long ut, st; int in; } procs[MAX_PROCS];

/* utime + stime of `root` and all its descendants, in clock ticks, and the
 * utime part in *user; -1 if root is gone.  Processes that exited in between are lost, unless their
 * parent waited for them (then they are in its cutime, which we leave out:
 * an exited worker's time is not this run's anyway). */
static double tree_ticks(pid_t root, double *user)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < MAX_PROCS) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300], buf[1024];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        char *p = strrchr(buf, ')'); /* the command name may hold spaces */
        if (p && sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                        &procs[n].ppid, &procs[n].ut, &procs[n].st) == 3) {
            procs[n].pid = atol(e->d_name);
            procs[n].in = procs[n].pid == (long)root;
            n++;
        }
    }
    closedir(d);
    for (int changed = 1; changed;) { /* mark the children of the marked */
        changed = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n && !procs[i].in; j++)
                if (procs[j].in && procs[i].ppid == procs[j].pid)
                    procs[i].in = changed = 1;
    }
    double sum = -1;
    *user = 0;
    for (int i = 0; i < n; i++)
        if (procs[i].in) {
            sum = (sum < 0 ? 0 : sum) + (double)(procs[i].ut + procs[i].st);
            *user += (double)procs[i].ut;
        }
    return sum;
}

/* Ticks the server's and wrk's CPUs (every CPU when not pinned) spent
 * running processes, user + nice + system. */
static double machine_busy_ticks(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    char want1[16] = "cpu", want2[16] = "cpu";
    if (cpu_server >= 0) {
        snprintf(want1, sizeof want1, "cpu%d", cpu_server);
        snprintf(want2, sizeof want2, "cpu%d", cpu_wrk);
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

/* ======================================================================
 * The servers: where they are, starting one, asking it for /hello
 * ====================================================================== */

enum { S_SELECT, S_POLL, S_EPOLL, S_NGINX, S_NODE, S_ASYNCIO, NSERVERS };

struct server {
    const char *name;
    const char *selector; /* ours: the ASYNC_SELECTOR value */
    char why[400];        /* why it is skipped, when it is */
    int ok, port;
    pid_t pid;
    int head_bytes, body_bytes; /* of its answer to GET /hello */
    char body[64];              /* the body itself, if that short */
};

static char exe_dir[1024];   /* where this binary is: build/stage6/bench */
static char bench_dir[1200]; /* where the peer scripts are */
static char tmp_dir[1200];   /* nginx's config and the servers' logs */
static char demo[1200];      /* build/<variant>/stage6/examples/http_demo */

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
    char stage[PATH_MAX]; /* build/[variant/]stage6, as an absolute path */
    say(demo, sizeof demo, "%s/..", exe_dir);
    if (realpath(demo, stage))
        say(demo, sizeof demo, "%s/examples/http_demo", stage);
    else
        say(demo, sizeof demo, "%s/../examples/http_demo", exe_dir);

    /* BENCH_DIR is relative to the repository root, the working directory
     * under make; else look from build/[variant/]stage6/bench up to it. */
    const char *up[] = {NULL, "/../../..", "/../../../.."};
    for (size_t i = 0; i < sizeof up / sizeof *up; i++) {
        char p[1400];
        if (!up[i])
            snprintf(bench_dir, sizeof bench_dir, "%s", BENCH_DIR);
        else
            say(bench_dir, sizeof bench_dir, "%s%s/%s", exe_dir, up[i], BENCH_DIR);
        say(p, sizeof p, "%s/http_asyncio.py", bench_dir);
        if (file_exists(p))
            return;
    }
    snprintf(bench_dir, sizeof bench_dir, "%s", BENCH_DIR);
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb, (void)type, (void)ftw;
    remove(path);
    return 0;
}

static void remove_tmp_dir(void) /* at exit; after Ctrl-C it stays in build/ */
{
    if (tmp_dir[0])
        nftw(tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A port nobody listens on now: the kernel's pick for port 0. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* nginx's whole config, listening on `port`, every path in tmp_dir. */
static int write_nginx_conf(const char *conf, int port)
{
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    fprintf(f,
            "# written by bench/http.c for one run\n"
            "worker_processes 1;\n"
            "master_process off;  # one process, the one we started\n"
            "daemon off;\n"
            "pid %s/nginx.pid;\n"
            "error_log %s/nginx-error.log warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            "    access_log off;\n"
            "    keepalive_requests 1000000;  # the default 1000 would reconnect\n"
            "    keepalive_timeout 60s;\n"
            "    client_body_temp_path %s/body;\n"
            "    proxy_temp_path %s/proxy;\n"
            "    fastcgi_temp_path %s/fastcgi;\n"
            "    uwsgi_temp_path %s/uwsgi;\n"
            "    scgi_temp_path %s/scgi;\n"
            "    server {\n"
            "        listen 127.0.0.1:%d backlog=1024;\n"
            "        location = /hello {\n"
            "            default_type text/plain;\n"
            "            return 200 \"hello, world\\n\";\n"
            "        }\n"
            "    }\n"
            "}\n",
            tmp_dir, tmp_dir, tmp_dir, tmp_dir, tmp_dir, tmp_dir, tmp_dir, port);
    return fclose(f) == 0 ? 0 : -1;
}

/* The last non-empty line of a file, for saying why a server failed. */
static void last_line(const char *file, char *out, size_t outlen)
{
    FILE *f = fopen(file, "r");
    char line[300];
    out[0] = '\0';
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0])
            snprintf(out, outlen, "%s", line);
    }
    if (f)
        fclose(f);
}

/* GET /hello on a fresh connection.  1: a 200 answer, whose head and body
 * sizes are stored in s; 0: nobody listens yet; -1: a wrong answer. */
static int probe(struct server *s, char *why, size_t whylen)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return say(why, whylen, "socket: %s", strerror(errno));
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return 0;
    }
    static const char req[] = "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    char buf[8192];
    size_t got = 0;
    long head = -1, body = -1; /* lengths, once known */
    int rc = send(fd, req, sizeof req - 1, MSG_NOSIGNAL) == (ssize_t)sizeof req - 1 ? 1 : -1;
    while (rc > 0 && (head < 0 || (long)got < head + body)) {
        ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (n <= 0) {
            rc = say(why, whylen, "GET /hello: %s", n == 0 ? "closed before a whole answer"
                                                            : strerror(errno));
            break;
        }
        got += (size_t)n;
        buf[got] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (head < 0 && end) {
            head = end + 4 - buf;
            *end = '\0'; /* search the head only */
            char *cl = strcasestr(buf, "\r\nContent-Length:");
            body = cl ? atol(cl + 17) : 0;
            *end = '\r';
            if (strncmp(buf, "HTTP/1.1 200", 12) != 0 && strncmp(buf, "HTTP/1.0 200", 12) != 0)
                rc = say(why, whylen, "GET /hello answered \"%.*s\"", (int)strcspn(buf, "\r\n"),
                         buf);
        }
        if (got >= sizeof buf - 1 && (head < 0 || (long)got < head + body))
            rc = say(why, whylen, "GET /hello: an answer over %zu bytes", sizeof buf - 1);
    }
    close(fd);
    if (rc > 0) {
        s->head_bytes = (int)head;
        s->body_bytes = (int)body;
        snprintf(s->body, sizeof s->body, "%.*s", (int)body, buf + head);
    }
    return rc;
}

/* Fill argv for s listening on `port` (nginx: write its config too). */
static int server_argv(const struct server *s, int port, char *portbuf, char *conf, char *errlog,
                       char *script, char *argv[])
{
    sprintf(portbuf, "%d", port);
    int n = 0;
    if (s->selector) {
        argv[n++] = demo;
        argv[n++] = "--host";
        argv[n++] = "127.0.0.1";
        argv[n++] = "--port";
        argv[n++] = portbuf;
        argv[n++] = "--quiet";
    } else if (strcmp(s->name, "nginx") == 0) {
        say(conf, 1400, "%s/nginx.conf", tmp_dir);
        say(errlog, 1400, "%s/nginx-error.log", tmp_dir);
        if (write_nginx_conf(conf, port) < 0)
            return -1;
        argv[n++] = NGINX;
        argv[n++] = "-p";
        argv[n++] = tmp_dir;
        argv[n++] = "-c";
        argv[n++] = conf;
        argv[n++] = "-e"; /* the log of its start, before it reads conf */
        argv[n++] = errlog;
    } else if (strcmp(s->name, "node") == 0) {
        say(script, 1400, "%s/http_node.js", bench_dir);
        argv[n++] = "node";
        argv[n++] = script;
        argv[n++] = portbuf;
    } else {
        say(script, 1400, "%s/http_asyncio.py", bench_dir);
        argv[n++] = "python3";
        argv[n++] = script;
        argv[n++] = portbuf;
    }
    argv[n] = NULL;
    return 0;
}

/* Start s on the server CPU, its output to a log in tmp_dir, and wait until
 * it answers GET /hello.  A server that exits at once (the port taken in
 * the meantime?) is tried again on another port. */
static void start_server(struct server *s)
{
    char logfile[1400], last[300];
    say(logfile, sizeof logfile, "%s/%s.log", tmp_dir, s->name);
    for (int attempt = 0; attempt < 3; attempt++) {
        char portbuf[16], conf[1400], errlog[1400], script[1400], *argv[12];
        int port = free_port();
        if (port < 0 || server_argv(s, port, portbuf, conf, errlog, script, argv) < 0) {
            say(s->why, sizeof s->why, "no free port, or cannot write to %s", tmp_dir);
            return;
        }
        pid_t pid = fork();
        if (pid < 0) {
            say(s->why, sizeof s->why, "fork: %s", strerror(errno));
            return;
        }
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL); /* if we are killed outright */
            pin_to(cpu_server);
            if (s->selector)
                setenv("ASYNC_SELECTOR", s->selector, 1);
            int in = open("/dev/null", O_RDONLY), out = open(logfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (in >= 0)
                dup2(in, STDIN_FILENO);
            if (out >= 0) {
                dup2(out, STDOUT_FILENO);
                dup2(out, STDERR_FILENO);
            }
            execvp(argv[0], argv);
            fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
            _exit(127);
        }
        child_add(pid);
        s->port = port;
        double deadline = bench_now_ns() + START_S * 1e9;
        int status, exited = 0, r = 0;
        while (bench_now_ns() < deadline) {
            if (waitpid(pid, &status, WNOHANG) == pid) {
                child_forget(pid);
                exited = 1;
                break;
            }
            if ((r = probe(s, s->why, sizeof s->why)) != 0)
                break;
            sleep_s(0.02);
        }
        if (r > 0) {
            s->pid = pid;
            s->ok = 1;
            s->why[0] = '\0';
            return;
        }
        if (!exited)
            child_stop(pid, SIGTERM, 2);
        last_line(logfile, last, sizeof last);
        if (r < 0)
            return; /* it answered, wrongly: why says how */
        if (!exited) {
            say(s->why, sizeof s->why, "did not answer on port %d within %d s%s%s", port,
                START_S, last[0] ? ": " : "", last);
            return;
        }
        say(s->why, sizeof s->why, "exited at start%s%s", last[0] ? ": " : "", last);
    }
}

/* ======================================================================
 * One wrk run, and what it printed
 * ====================================================================== */

struct run {
    int ok;
    char err[200];
    double rps, p50_ms, p99_ms;
    long requests, non2xx, sock_errors;
    double wall_s;  /* the measured interval: wrk's whole life */
    double srv_s;   /* the server's CPU time in it, user + system */
    double usr_s;   /* ... the user part */
    double wrk_s;   /* wrk's (exact: its rusage) */
    double other_s; /* every other process's on the two CPUs */
};

static double to_ms(double v, const char *unit)
{
    if (strcmp(unit, "us") == 0)
        return v / 1e3;
    if (strcmp(unit, "ms") == 0)
        return v;
    if (strcmp(unit, "s") == 0)
        return v * 1e3;
    if (strcmp(unit, "m") == 0)
        return v * 60e3;
    return -1;
}

/* wrk's report: "Requests/sec:", "N requests in", the "50%" and "99%" lines
 * of --latency, "Socket errors:" and "Non-2xx or 3xx responses:". */
static void parse_wrk(char *text, struct run *r)
{
    r->p50_ms = r->p99_ms = -1;
    r->rps = -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        int pct;
        double v;
        char unit[4];
        long c, rd, wr, to;
        if (sscanf(line, " %d%% %lf%3s", &pct, &v, unit) == 3) {
            if (pct == 50)
                r->p50_ms = to_ms(v, unit);
            else if (pct == 99)
                r->p99_ms = to_ms(v, unit);
        } else if (sscanf(line, " Requests/sec: %lf", &v) == 1) {
            r->rps = v;
        } else if (sscanf(line, " %ld requests in", &c) == 1) {
            r->requests = c;
        } else if (sscanf(line, " Socket errors: connect %ld, read %ld, write %ld, timeout %ld",
                          &c, &rd, &wr, &to) == 4) {
            r->sock_errors = c + rd + wr + to;
        } else if (sscanf(line, " Non-2xx or 3xx responses: %ld", &c) == 1) {
            r->non2xx = c;
        } else if (!r->err[0] && line[0] != ' ' && strncmp(line, "Running", 7) != 0 &&
                   strncmp(line, "Transfer/sec", 12) != 0) {
            say(r->err, sizeof r->err, "wrk: %s", line); /* its complaint, if any */
        }
    }
}

/* wrk -t1 against s with `conns` connections for `seconds`, on wrk's CPU;
 * the server's CPU time and the machine's are taken around it. */
static void run_wrk(const struct server *s, int conns, int seconds, struct run *r)
{
    memset(r, 0, sizeof *r);
    char c_arg[32], d_arg[32], url[64];
    snprintf(c_arg, sizeof c_arg, "-c%d", conns);
    snprintf(d_arg, sizeof d_arg, "-d%ds", seconds);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hello", s->port);
    char *argv[] = {"wrk", "-t1", c_arg, d_arg, "--latency", "--timeout", "2s", url, NULL};
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        say(r->err, sizeof r->err, "pipe: %s", strerror(errno));
        return;
    }
    double tck = (double)sysconf(_SC_CLK_TCK);
    double usr0, usr1;
    double srv0 = tree_ticks(s->pid, &usr0), mach0 = machine_busy_ticks(), t0 = bench_now_ns();
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        say(r->err, sizeof r->err, "fork: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        pin_to(cpu_wrk);
        dup2(p[1], STDOUT_FILENO);
        dup2(p[1], STDERR_FILENO);
        execvp(argv[0], argv);
        _exit(127);
    }
    child_add(pid);
    close(p[1]);
    char out[8192];
    size_t len = 0;
    double deadline = t0 + (seconds + 15) * 1e9; /* wrk stops itself at `seconds` */
    for (;;) {
        int left = (int)((deadline - bench_now_ns()) / 1e6);
        struct pollfd pf = {.fd = p[0], .events = POLLIN};
        if (left <= 0 || poll(&pf, 1, left) <= 0) {
            say(r->err, sizeof r->err, "wrk did not finish in %d s", seconds + 15);
            break;
        }
        ssize_t got = read(p[0], out + len, sizeof out - 1 - len);
        if (got <= 0 || (len += (size_t)got) == sizeof out - 1)
            break;
    }
    close(p[0]);
    out[len] = '\0';
    kill(pid, SIGKILL); /* it has exited, unless it hung: not yet reaped */
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    child_forget(pid);
    double t1 = bench_now_ns(), srv1 = tree_ticks(s->pid, &usr1), mach1 = machine_busy_ticks();
    if (r->err[0])
        return;
    parse_wrk(out, r);
    if (srv0 < 0 || srv1 < 0) {
        say(r->err, sizeof r->err, "the server exited");
        return;
    }
    if (r->rps < 0 || r->requests <= 0 || r->p50_ms < 0 || r->p99_ms < 0) {
        if (!r->err[0])
            say(r->err, sizeof r->err, "no figures in wrk's output");
        return;
    }
    if (r->non2xx > 0) {
        say(r->err, sizeof r->err, "%ld answers were not 2xx", r->non2xx);
        return;
    }
    r->err[0] = '\0';
    r->wall_s = (t1 - t0) / 1e9;
    r->srv_s = (srv1 - srv0) / tck;
    r->usr_s = (usr1 - usr0) / tck;
    r->wrk_s = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    r->other_s = (mach1 - mach0) / tck - r->srv_s - r->wrk_s;
    if (r->other_s < 0)
        r->other_s = 0;
    r->ok = 1;
}

/* ======================================================================
 * Measuring and printing
 * ====================================================================== */

static const int conns[] = {64, 256};
#define NCONNS 2
#define MAX_RUNS 32 /* per cell: the rounds and the extra tries */

/* A cell's figures: each the median over its runs (see summarize). */
struct figures {
    double rps, p50_ms, p99_ms;
    double cpu_us, usr_us;            /* the server's CPU time per request */
    double srv_pct, wrk_pct, oth_pct; /* busy: CPU time over wall time */
    double rps_lo, rps_hi;            /* the spread of the runs the medians are of */
    int of, quiet;                    /* how many runs; how many undisturbed */
};

/* One server at one connection count, over the rounds. */
struct cell {
    int n; /* runs that succeeded, in runs[] */
    struct run runs[MAX_RUNS];
    struct figures m;
    long sock_errors;
    char err[200];
};

static struct cell cells[NSERVERS][NCONNS];
static int verbose; /* print every run as it ends */

/* Did other processes take more than a tenth of a CPU during r?  Then the
 * server or wrk may have waited for a CPU, and r's figures are not its own. */
static int run_disturbed(const struct run *r) { return r->other_s > 0.10 * r->wall_s; }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n-1] (sorts v); the mean of the middle two for even n. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The medians over the cell's undisturbed runs, or over all of them when
 * every one was disturbed.  Each figure's median is taken on its own: a
 * median round would tie p99 to whichever run had the median rate, and
 * rounds differ in p99 more than in rate. */
static void summarize(struct cell *c)
{
    struct figures *m = &c->m;
    memset(m, 0, sizeof *m);
    const struct run *use[MAX_RUNS];
    int n = 0;
    for (int i = 0; i < c->n; i++)
        if (!run_disturbed(&c->runs[i]))
            use[n++] = &c->runs[i];
    m->quiet = n;
    if (n == 0)
        for (int i = 0; i < c->n; i++)
            use[n++] = &c->runs[i];
    m->of = n;
    if (n == 0)
        return;
    double v[9][MAX_RUNS];
    for (int i = 0; i < n; i++) {
        const struct run *r = use[i];
        double req = (double)r->requests;
        v[0][i] = r->rps;
        v[1][i] = r->p50_ms;
        v[2][i] = r->p99_ms;
        v[3][i] = r->srv_s / req * 1e6;
        v[4][i] = r->usr_s / req * 1e6;
        v[5][i] = r->srv_s / r->wall_s * 100;
        v[6][i] = r->wrk_s / r->wall_s * 100;
        v[7][i] = r->other_s / r->wall_s * 100;
    }
    m->rps = median(v[0], n); /* sorted now: v[0][0] and v[0][n-1] are the extremes */
    m->rps_lo = v[0][0];
    m->rps_hi = v[0][n - 1];
    m->p50_ms = median(v[1], n);
    m->p99_ms = median(v[2], n);
    m->cpu_us = median(v[3], n);
    m->usr_us = median(v[4], n);
    m->srv_pct = median(v[5], n);
    m->wrk_pct = median(v[6], n);
    m->oth_pct = median(v[7], n);
}

/* No undisturbed run at all: the figures may be another process's doing. */
static int disturbed(const struct cell *c) { return c->n && c->m.quiet == 0; }

static void measure_cell(const struct server *servers, int s, int k, int seconds)
{
    struct run r;
    struct cell *c = &cells[s][k];
    if (c->n == MAX_RUNS)
        return;
    run_wrk(&servers[s], conns[k], seconds, &r);
    if (!r.ok) {
        snprintf(c->err, sizeof c->err, "%s", r.err);
        return;
    }
    c->runs[c->n++] = r;
    c->sock_errors += r.sock_errors;
    summarize(c);
    if (verbose)
        printf("  %-11s %3d conn: %7.1fk req/s  p50 %5.2f  p99 %5.2f ms  %5.2f us/req  "
               "busy %3.0f/%3.0f/%3.0f%s\n",
               servers[s].name, conns[k], r.rps / 1e3, r.p50_ms, r.p99_ms,
               r.srv_s / (double)r.requests * 1e6, r.srv_s / r.wall_s * 100,
               r.wrk_s / r.wall_s * 100, r.other_s / r.wall_s * 100,
               run_disturbed(&r) ? "  (disturbed)" : "");
}

static void print_rate(double x)
{
    if (x >= 1e6)
        printf(" %7.2fM", x / 1e6);
    else
        printf(" %7.1fk", x / 1e3);
}

/* a / b as " 1.23x", or "-" when either is not there. */
static void print_ratio(int ok, double a, double b)
{
    if (ok && a > 0 && b > 0)
        printf(" %6.2fx", a / b);
    else
        printf(" %7s", "-");
}

static const int peers[] = {S_NGINX, S_NODE, S_ASYNCIO};
#define NPEERS 3

static void print_tables(const struct server *servers, int rounds, int seconds)
{
    printf("\n%-12s|", "");
    for (int k = 0; k < NCONNS; k++)
        printf("              %3d connections             |", conns[k]);
    printf("\n%-12s|", "server");
    for (int k = 0; k < NCONNS; k++)
        printf("    req/s  p50 ms  p99 ms  CPU us  of usr |");
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
                printf(" %40s |", "failed");
                continue;
            }
            print_rate(c->m.rps);
            printf(" %7.2f %7.2f %7.2f %7.2f |", c->m.p50_ms, c->m.p99_ms, c->m.cpu_us,
                   c->m.usr_us);
        }
        printf("\n");
    }
    printf("Each figure is its median over %d round(s) of %d s (wrk -t1, keep-alive, GET\n"
           "/hello), the servers measured in turn in every round; rounds that other\n"
           "processes disturbed are left out while any is not (see \"runs\" below).\n"
           "p50/p99: wrk's latency percentiles.  CPU us: the server's user + system CPU\n"
           "microseconds per request, from /proc/<pid>/stat (%ld Hz ticks) before and\n"
           "after each run; usr: the user part of it, sampled at the tick.  The system\n"
           "part is mostly loopback TCP, much the same for every server.\n\n",
           rounds, seconds, sysconf(_SC_CLK_TCK));

    printf("%-12s|", "busy %");
    for (int k = 0; k < NCONNS; k++)
        printf(" %3d conn: srv  wrk other  runs  req/s spread |", conns[k]);
    printf("\n");
    for (int s = 0; s < NSERVERS; s++) {
        if (!servers[s].ok)
            continue;
        printf("%-12s|", servers[s].name);
        for (int k = 0; k < NCONNS; k++) {
            const struct cell *c = &cells[s][k];
            if (c->n)
                printf("           %4.0f %4.0f %5.0f %2d/%-2d %6.1f-%-6.1fk |", c->m.srv_pct,
                       c->m.wrk_pct, c->m.oth_pct, c->m.quiet, c->n, c->m.rps_lo / 1e3,
                       c->m.rps_hi / 1e3);
            else
                printf(" %45s |", "-");
        }
        printf("\n");
    }
    printf("CPU time over wall time (medians), 100 = one CPU: the server, wrk's one thread\n"
           "(exact, from its rusage) and all other processes on the two CPUs; runs: the\n"
           "undisturbed ones (others under 10%% of a CPU) of those that succeeded; the\n"
           "spread of req/s over the runs the medians are of.  wrk near 100 with the\n"
           "server below it means wrk set the pace: then req/s is wrk's ceiling, and CPU\n"
           "us per request is the figure that still compares the servers.\n");

    for (int k = 0; k < NCONNS; k++) {
        char title[2][40];
        snprintf(title[0], sizeof title[0], "req/s, %d connections", conns[k]);
        snprintf(title[1], sizeof title[1], "CPU/request, %d connections", conns[k]);
        printf("\n%-12s| %-27s| %-27s|\n%-12s|", "ratios", title[0], title[1], "");
        for (int g = 0; g < 2; g++)
            printf("%8s%8s%8s    |", "/nginx", "/node", "/asyncio");
        printf("\n");
        for (int s = 0; s < NSERVERS; s++) {
            if (!servers[s].ok)
                continue;
            printf("%-12s|", servers[s].name);
            const struct cell *c = &cells[s][k];
            for (int g = 0; g < 2; g++) {
                for (int p = 0; p < NPEERS; p++) {
                    const struct cell *pc = &cells[peers[p]][k];
                    int ok = c->n && pc->n && servers[peers[p]].ok;
                    if (g == 0)
                        print_ratio(ok, c->m.rps, pc->m.rps);
                    else
                        print_ratio(ok, c->m.cpu_us, pc->m.cpu_us);
                }
                printf("    |");
            }
            printf("\n");
        }
    }
    printf("req/s: >1 is faster than the peer; CPU/request: <1 uses less CPU per request.\n");
}

/* met / NOT met; marked when another process disturbed every run of one of
 * the two figures. */
static const char *verdict(int ok, const struct cell *a, const struct cell *b)
{
    if (disturbed(a) || disturbed(b))
        return ok ? "met (noisy)" : "NOT met (noisy)";
    return ok ? "met" : "NOT met";
}

static void print_targets(const struct server *servers)
{
    printf("\ntargets (from the issue; its machine measured nginx about 116k req/s, asyncio\n"
           "about 77k, node about 33k at 64 connections), against the peers measured above:\n");
    if (!servers[S_EPOLL].ok || !servers[S_NGINX].ok) {
        printf("  not checked: needs ours-epoll and nginx (%s)\n",
               !servers[S_EPOLL].ok ? servers[S_EPOLL].why : servers[S_NGINX].why);
        return;
    }
    int any = 0, noisy = 0;
    for (int k = 0; k < NCONNS; k++) {
        const struct cell *e = &cells[S_EPOLL][k], *ng = &cells[S_NGINX][k];
        const struct cell *nd = &cells[S_NODE][k], *sel = &cells[S_SELECT][k];
        if (!e->n || !ng->n)
            continue;
        any = 1;
        printf("  %3d conn: epoll req/s >= nginx's:        %-16s (%.2fx)\n", conns[k],
               verdict(e->m.rps >= ng->m.rps, e, ng), e->m.rps / ng->m.rps);
        printf("  %3d conn: epoll p99 <= nginx's:          %-16s (%.2f vs %.2f ms)\n", conns[k],
               verdict(e->m.p99_ms <= ng->m.p99_ms, e, ng), e->m.p99_ms, ng->m.p99_ms);
        printf("  %3d conn: epoll CPU/request <= nginx's:  %-16s (%.2f vs %.2f us)\n", conns[k],
               verdict(e->m.cpu_us <= ng->m.cpu_us, e, ng), e->m.cpu_us, ng->m.cpu_us);
        noisy |= disturbed(e) || disturbed(ng);
        if (k == 0 && servers[S_SELECT].ok && sel->n) {
            printf("  %3d conn: select req/s >= 0.8x nginx's:  %-16s (%.2fx)\n", conns[k],
                   verdict(sel->m.rps >= 0.8 * ng->m.rps, sel, ng), sel->m.rps / ng->m.rps);
            noisy |= disturbed(sel);
        }
        if (servers[S_NODE].ok && nd->n) {
            printf("  %3d conn: epoll req/s >= 3x node's:      %-16s (%.2fx)\n", conns[k],
                   verdict(e->m.rps >= 3 * nd->m.rps, e, nd), e->m.rps / nd->m.rps);
            noisy |= disturbed(nd);
        }
        if (ng->m.wrk_pct > 90)
            printf("  %3d conn: (wrk's thread was %.0f%% busy against nginx: req/s near that is\n"
                   "            wrk's ceiling; CPU/request compares the servers.)\n",
                   conns[k], ng->m.wrk_pct);
    }
    if (!any)
        printf("  not checked: ours-epoll or nginx has no figures\n");
    if (noisy)
        printf("  (noisy: other processes took over 10%% of a CPU in every run of a figure;\n"
               "  rerun on a quieter machine.)\n");
}

/* The whole number in environment variable `name`: -1 when it is unset or
 * empty, 0 (which callers reject) when it is not a positive number. */
static int env_count(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return -1;
    char *end;
    long n = strtol(v, &end, 10);
    return *end || n <= 0 || n > 1000 ? 0 : (int)n;
}

/* Is `name` in the comma-separated `list`?  `ours` stands for ours-*. */
static int listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if ((len == n && strncmp(p, name, n) == 0) ||
            (len == 4 && strncmp(p, "ours", 4) == 0 && strncmp(name, "ours-", 5) == 0))
            return 1;
        p += len + (p[len] == ',');
    }
    return 0;
}

int main(int argc, char **argv)
{
    unsetenv("ASYNC_TRACE"); /* the figures are for the plain loop */
    unsetenv("ASYNC_DEBUG");
    unsetenv("ASYNC_SLOW_MS");
    /* The environment first, since make passes no arguments; the command
     * line overrides it. */
    const char *only = getenv("BENCH_ONLY");
    const char *q = getenv("BENCH_QUICK");
    int seconds = env_count("BENCH_SECONDS"), rounds = env_count("BENCH_ROUNDS");
    int quick = q && *q && strcmp(q, "0") != 0;
    const char *vb = getenv("BENCH_VERBOSE");
    verbose = vb && *vb && strcmp(vb, "0") != 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--verbose") == 0)
            verbose = 1;
        else {
            fprintf(stderr, "usage: %s [--only NAME,NAME...] [--seconds S] [--rounds R] [--quick]\n"
                            "       [--verbose]\n"
                            "NAME: ours (all three), ours-select, ours-poll, ours-epoll, nginx,\n"
                            "node, asyncio; S: whole seconds per wrk run\n",
                    argv[0]);
            return 2;
        }
    }
    if (seconds < 0)
        seconds = quick ? 1 : SECONDS;
    if (rounds < 0)
        rounds = quick ? 1 : ROUNDS;
    if (seconds <= 0 || rounds <= 0 || rounds > MAX_RUNS - EXTRA) {
        fprintf(stderr, "http: seconds (--seconds, BENCH_SECONDS) must be a positive whole\n"
                        "number, rounds (--rounds, BENCH_ROUNDS) one from 1 to %d\n",
                MAX_RUNS - EXTRA);
        return 2;
    }
    if (!bench_have("wrk")) {
        printf("http: wrk not found (apt-get install wrk): skipped\n");
        return 0;
    }

    atexit(remove_tmp_dir); /* runs after kill_children: registered first */
    atexit(kill_children);
    signal(SIGINT, on_fatal_signal);
    signal(SIGTERM, on_fatal_signal);
    signal(SIGHUP, on_fatal_signal);
    signal(SIGPIPE, SIG_IGN);
    find_dirs(argv[0]);
    pick_cpus();
    say(tmp_dir, sizeof tmp_dir, "%s/http_run.XXXXXX", exe_dir);
    if (!mkdtemp(tmp_dir)) {
        printf("http: cannot make a directory in %s: %s\n", exe_dir, strerror(errno));
        tmp_dir[0] = '\0';
        return 1;
    }

    struct server servers[NSERVERS] = {
        [S_SELECT] = {.name = "ours-select", .selector = "select"},
        [S_POLL] = {.name = "ours-poll", .selector = "poll"},
        [S_EPOLL] = {.name = "ours-epoll", .selector = "epoll"},
        [S_NGINX] = {.name = "nginx"},
        [S_NODE] = {.name = "node"},
        [S_ASYNCIO] = {.name = "asyncio"},
    };
    char js[1400], py[1400];
    say(js, sizeof js, "%s/http_node.js", bench_dir);
    say(py, sizeof py, "%s/http_asyncio.py", bench_dir);
    for (int s = S_SELECT; s <= S_EPOLL; s++)
        if (access(demo, X_OK) != 0)
            say(servers[s].why, sizeof servers[s].why, "%s not found (make stage6 builds it)",
                demo);
    if (access(NGINX, X_OK) != 0)
        say(servers[S_NGINX].why, sizeof servers[S_NGINX].why,
            "%s not found (apt-get install nginx)", NGINX);
    if (!bench_have("node"))
        say(servers[S_NODE].why, sizeof servers[S_NODE].why, "node not found");
    else if (!file_exists(js))
        say(servers[S_NODE].why, sizeof servers[S_NODE].why, "%s not found", js);
    if (!bench_have("python3"))
        say(servers[S_ASYNCIO].why, sizeof servers[S_ASYNCIO].why, "python3 not found");
    else if (!file_exists(py))
        say(servers[S_ASYNCIO].why, sizeof servers[S_ASYNCIO].why, "%s not found", py);
    for (int s = 0; s < NSERVERS; s++)
        if (only && !listed(only, servers[s].name))
            say(servers[s].why, sizeof servers[s].why, "not selected (--only)");

    printf("http: wrk -t1 against GET /hello, %d and %d keep-alive connections.\n", conns[0],
           conns[1]);
    if (cpu_server >= 0)
        printf("Servers pinned to CPU %d, wrk to CPU %d.\n", cpu_server, cpu_wrk);
    else
        printf("One CPU: servers and wrk share it.\n");
    int nok = 0;
    for (int s = 0; s < NSERVERS; s++) {
        if (servers[s].why[0])
            continue;
        start_server(&servers[s]);
        nok += servers[s].ok;
    }
    printf("answers to GET /hello (head + body bytes):");
    for (int s = 0; s < NSERVERS; s++)
        if (servers[s].ok)
            printf(" %s %d+%d", servers[s].name, servers[s].head_bytes, servers[s].body_bytes);
    printf("\n");
    for (int s = 0, first = -1; s < NSERVERS; s++) /* the same work for each? */
        if (servers[s].ok && first < 0)
            first = s;
        else if (servers[s].ok && (servers[s].body_bytes != servers[first].body_bytes ||
                                   strcmp(servers[s].body, servers[first].body) != 0))
            printf("note: %s's body differs from %s's: \"%s\" vs \"%s\"\n", servers[s].name,
                   servers[first].name, servers[s].body, servers[first].body);
    if (nok) {
        double est = nok * (WARM_SECONDS + (double)rounds * NCONNS * seconds) * 1.05;
        printf("measuring %d servers: %d round(s) x %d connection counts x %d s, about %.0f s\n",
               nok, rounds, NCONNS, seconds, est);
    }
    fflush(stdout);

    /* A warm-up run each; then round r measures every server at every
     * connection count once.  Then, for at most EXTRA_BUDGET_S more, a cell
     * most of whose runs another process disturbed gets up to EXTRA more. */
    for (int s = 0; s < NSERVERS; s++)
        if (servers[s].ok) {
            struct run r;
            run_wrk(&servers[s], conns[0], WARM_SECONDS, &r);
        }
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < NCONNS; k++)
            for (int s = 0; s < NSERVERS; s++)
                if (servers[s].ok)
                    measure_cell(servers, s, k, seconds);
    int retried = 0;
    double extra_until = bench_now_ns() + EXTRA_BUDGET_S * 1e9;
    for (int extra = 0; extra < EXTRA && !quick; extra++)
        for (int k = 0; k < NCONNS; k++)
            for (int s = 0; s < NSERVERS; s++) {
                const struct cell *c = &cells[s][k];
                if (servers[s].ok && c->n && 2 * c->m.quiet < c->n + 1 &&
                    bench_now_ns() + seconds * 1e9 < extra_until) {
                    measure_cell(servers, s, k, seconds);
                    retried++;
                }
            }
    for (int s = 0; s < NSERVERS; s++) {
        child_stop(servers[s].pid, SIGTERM, 2);
        servers[s].pid = 0;
    }
    if (retried)
        printf("(other processes were busy: %d measurements were repeated)\n", retried);
    for (int s = 0; s < NSERVERS; s++)
        for (int k = 0; k < NCONNS; k++) {
            const struct cell *c = &cells[s][k];
            if (servers[s].ok && c->err[0])
                printf("%s, %d connections: %d run(s) succeeded; the last error: %s\n",
                       servers[s].name, conns[k], c->n, c->err);
            if (servers[s].ok && c->sock_errors)
                printf("%s, %d connections: wrk counted %ld socket errors (connect, read, "
                       "write, timeout)\n",
                       servers[s].name, conns[k], c->sock_errors);
        }
    print_tables(servers, rounds, seconds);
    print_targets(servers);
    return 0;
}
