/*
 * selectors.c - select vs poll vs epoll: what idle connections cost the one
 * connection that is busy.  Run from the repository root (make stage3 bench).
 *
 * The loop (this process) runs one echo task per connection.  N connections
 * are idle - their tasks sit parked in sock_recv, so the selector watches
 * them - and one is busy: a client process sends it 64 bytes, waits for the
 * echo, and times each round trip.  Every round trip costs the loop one
 * selector call, and select() and poll() hand the kernel every watched
 * descriptor on every call (and we scan them all for the ready ones), so
 * their round trip grows with N: the O(n) curve.  epoll's interest list
 * lives in the kernel, and a call costs O(ready).
 *
 * The client - a child process, on another CPU when there are two - holds
 * the other end of every connection, so the loop's process holds N + 1
 * sockets and a few more descriptors: with N = 1000 that stays below select's
 * FD_SETSIZE (1024).  Each (backend, N) is measured ROUNDS times with a
 * fresh loop (loop_opts.selector) and fresh connections; the table shows the
 * median round trip of the best round.
 *
 * Benchmarks print; they never fail because a figure is slow.
 */
#define _GNU_SOURCE /* sched_setaffinity */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "loop.h"
#include "sock.h"

#define MSG 64
#define WARM_S 0.2
#define MEASURE_S 0.7
#define ROUNDS 2
#define MAX_SAMPLES (1 << 20)

static const int idle_counts[] = {10, 100, 500, 1000};
#define NIDLE 4
static const char *const backends[] = {"select", "poll", "epoll"};
#define NBACK 3

/* ---- the loop side: one echo task per connection ------------------------ */

static uint64_t echoes, polls_at_end; /* what the loop did, for the report */

struct echo { co_t co; int fd, err; char buf[256]; };

static int echo(co_t *co)
{
    struct echo *f = (struct echo *)co;
    CO_BEGIN(co);
    for (;;) {
        AWAIT_CATCH(sock_recv(f->fd, f->buf, sizeof f->buf), f->err);
        if (f->err || CO_VALUE == 0)
            break;
        AWAIT_CATCH(sock_send_all(f->fd, f->buf, (size_t)CO_VALUE), f->err);
        if (f->err)
            break;
        echoes++;
    }
    CO_FINALLY
    if (f->err)
        fprintf(stderr, "selectors: echo task: %s\n", task_strerror(f->err));
    polls_at_end = loop_current()->io.polls;
    sock_close(f->fd);
    CO_END;
}

/* Accept n connections, one echo task each; the loop ends when the client
 * has closed them all. */
struct acceptor { co_t co; int lfd, n, i, err; task_t *t; };

static int acceptor(co_t *co)
{
    struct acceptor *f = (struct acceptor *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->n; f->i++) {
        AWAIT_CATCH(sock_accept(f->lfd), f->err);
        if (f->err) {
            fprintf(stderr, "selectors: accept: %s\n", task_strerror(f->err));
            break;
        }
        f->t = TASK_SPAWN(echo, struct echo, .fd = (int)CO_VALUE);
        if (f->t)
            task_detach(f->t);
        else
            sock_close((int)CO_VALUE);
    }
    CO_END;
}

/* ---- the client: n idle connections and one busy one -------------------- */

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One blocking round trip; 0 or -1. */
static int round_trip(int fd, const char *msg, char *buf)
{
    if (send(fd, msg, MSG, MSG_NOSIGNAL) != MSG)
        return -1;
    for (int got = 0; got < MSG;) {
        ssize_t n = recv(fd, buf + got, (size_t)(MSG - got), 0);
        if (n <= 0)
            return -1;
        got += (int)n;
    }
    return memcmp(buf, msg, MSG) == 0 ? 0 : -1;
}

/* In the child: connect, tell the parent how many ("C k"), do the round
 * trips, report ("R count median_us p10_us p90_us" or "E why"), exit - which
 * closes every connection and so ends the loop. */
static void client(int port, int nidle, int out)
{
    int *fds = malloc((size_t)(nidle + 1) * sizeof *fds);
    float *us = malloc(MAX_SAMPLES * sizeof *us);
    int k = 0;
    while (fds && us && k <= nidle && (fds[k] = connect_to(port)) >= 0)
        k++;
    dprintf(out, "C %d\n", k);
    if (k <= nidle) {
        dprintf(out, "E connect #%d: %s\n", k + 1, strerror(errno));
        _exit(1);
    }
    int busy = fds[nidle], one = 1;
    struct timeval tv = {5, 0};
    setsockopt(busy, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(busy, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char msg[MSG], buf[MSG];
    memset(msg, 's', sizeof msg);
    double t = bench_now_ns(), end = t + WARM_S * 1e9;
    while (t < end) {
        if (round_trip(busy, msg, buf) < 0) {
            dprintf(out, "E warm-up round trip: %s\n", strerror(errno));
            _exit(1);
        }
        t = bench_now_ns();
    }
    long n = 0;
    for (end = t + MEASURE_S * 1e9; t < end && n < MAX_SAMPLES;) {
        if (round_trip(busy, msg, buf) < 0) {
            dprintf(out, "E round trip: %s\n", strerror(errno));
            _exit(1);
        }
        double t1 = bench_now_ns();
        us[n++] = (float)((t1 - t) / 1e3);
        t = t1;
    }
    qsort(us, (size_t)n, sizeof *us, cmp_float);
    dprintf(out, "R %ld %.3f %.3f %.3f\n", n, us[n / 2], us[n / 10], us[n * 9 / 10]);
    _exit(0);
}

/* ---- one measurement ----------------------------------------------------- */

static int cpu_loop = -1, cpu_client = -1;

static void pin_to(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)sched_setaffinity(0, sizeof set, &set);
}

static volatile pid_t child; /* killed on Ctrl-C and by the watchdog */

static void on_signal(int sig)
{
    if (child > 0)
        kill(child, SIGKILL);
    if (sig == SIGALRM) {
        static const char msg[] = "selectors: a measurement hung for 60 s; giving up\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
        _exit(1);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

struct cellres {
    int ok;
    char err[200];
    long n;
    double median, p10, p90, polls_per_rt;
};

/* Read one line from fd within `ms` milliseconds. */
static int read_line(int fd, char *buf, size_t len, int ms)
{
    size_t got = 0;
    while (got < len - 1) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, ms) <= 0)
            break;
        char c;
        if (read(fd, &c, 1) != 1)
            break;
        if (c == '\n') {
            buf[got] = '\0';
            return 0;
        }
        buf[got++] = c;
    }
    buf[got] = '\0';
    return -1;
}

static void measure(const char *backend, int nidle, struct cellres *res)
{
    memset(res, 0, sizeof *res);
    int lfd = sock_listen("127.0.0.1", 0, 0);
    if (lfd < 0) {
        snprintf(res->err, sizeof res->err, "listen: %s", strerror(-lfd));
        return;
    }
    int port = sock_port(lfd);
    int p[2];
    if (pipe(p) < 0) {
        snprintf(res->err, sizeof res->err, "pipe: %s", strerror(errno));
        close(lfd);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* if we are killed outright */
        close(lfd);
        close(p[0]);
        pin_to(cpu_client);
        client(port, nidle, p[1]);
    }
    close(p[1]);
    if (pid < 0) {
        snprintf(res->err, sizeof res->err, "fork: %s", strerror(errno));
        close(p[0]);
        close(lfd);
        return;
    }
    child = pid;
    char line[160];
    int k = 0;
    if (read_line(p[0], line, sizeof line, 30000) < 0 || sscanf(line, "C %d", &k) != 1 ||
        k != nidle + 1) {
        read_line(p[0], line, sizeof line, 1000);
        snprintf(res->err, sizeof res->err, "client: %s", line[0] == 'E' ? line + 2 : "no connections");
        kill(pid, SIGKILL);
    } else {
        echoes = polls_at_end = 0;
        struct loop_opts opts = {.selector = backend};
        struct acceptor frame = {.lfd = lfd, .n = k};
        alarm(60); /* the loop ends when the client closes; if it never does */
        int rc = loop_run_opts(&opts, acceptor, &frame, sizeof frame, NULL);
        alarm(0);
        if (rc)
            snprintf(res->err, sizeof res->err, "loop_run: %s", task_strerror(rc));
        else if (read_line(p[0], line, sizeof line, 10000) < 0 || line[0] != 'R')
            snprintf(res->err, sizeof res->err, "client: %s", line[0] == 'E' ? line + 2 : "no result");
        else if (sscanf(line, "R %ld %lf %lf %lf", &res->n, &res->median, &res->p10, &res->p90) == 4)
            res->ok = 1;
        if (res->ok && echoes)
            res->polls_per_rt = (double)polls_at_end / (double)echoes;
    }
    int status;
    waitpid(pid, &status, 0);
    child = 0;
    close(p[0]);
    close(lfd);
}

/* ---- main ---------------------------------------------------------------- */

int main(void)
{
    unsetenv("ASYNC_TRACE");
    unsetenv("ASYNC_DEBUG");
    unsetenv("ASYNC_SLOW_MS");
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGALRM, on_signal);
    signal(SIGPIPE, SIG_IGN);

    /* Descriptors: the client holds N + 1 of them, and so does the loop. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);

    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &set)) {
                if (cpu_loop < 0)
                    cpu_loop = c;
                else if (cpu_client < 0)
                    cpu_client = c;
            }
    if (cpu_client < 0)
        cpu_loop = -1;
    pin_to(cpu_loop);

    printf("selectors: one busy connection doing %d-byte round trips while N idle ones\n"
           "are watched too; the loop (this process) ", MSG);
    if (cpu_loop >= 0)
        printf("on CPU %d, the client on CPU %d.\n", cpu_loop, cpu_client);
    else
        printf("and the client share one CPU.\n");
    printf("Best of %d rounds of %.1f s each; descriptor limit %ld, FD_SETSIZE %d.\n",
           ROUNDS, MEASURE_S, (long)rl.rlim_cur, FD_SETSIZE);

    struct cellres best[NIDLE][NBACK];
    memset(best, 0, sizeof best);
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < NIDLE; i++)
            for (int b = 0; b < NBACK; b++) {
                struct cellres *c = &best[i][b];
                int n = idle_counts[i];
                /* The loop's descriptors: those open now (the lowest free one
                 * tells), the listener, a pipe, epoll's own, N + 1 sockets. */
                int lowest = dup(0);
                if (lowest >= 0)
                    close(lowest);
                long need = (long)lowest + n + 4;
                if ((rlim_t)(2 * n + 16) > rl.rlim_cur) {
                    snprintf(c->err, sizeof c->err, "needs %d descriptors, the limit is %ld",
                             2 * n + 16, (long)rl.rlim_cur);
                    continue;
                }
                if (strcmp(backends[b], "select") == 0 && need > FD_SETSIZE) {
                    snprintf(c->err, sizeof c->err, "descriptors would pass FD_SETSIZE");
                    continue;
                }
                struct cellres m;
                measure(backends[b], n, &m);
                if (!m.ok) {
                    if (!c->ok)
                        *c = m;
                    continue;
                }
                if (!c->ok || m.median < c->median)
                    *c = m;
            }

    printf("\nround trip of the busy connection, median microseconds (10th-90th percentile):\n");
    printf("%8s |", "idle N");
    for (int b = 0; b < NBACK; b++)
        printf(" %21s |", backends[b]);
    printf("\n");
    for (int i = 0; i < NIDLE; i++) {
        printf("%8d |", idle_counts[i]);
        for (int b = 0; b < NBACK; b++) {
            const struct cellres *c = &best[i][b];
            if (c->ok)
                printf(" %7.1f (%5.1f-%6.1f) |", c->median, c->p10, c->p90);
            else
                printf(" %21s |", "-");
        }
        printf("\n");
    }
    for (int i = 0; i < NIDLE; i++)
        for (int b = 0; b < NBACK; b++)
            if (!best[i][b].ok)
                printf("%s with %d idle: %s\n", backends[b], idle_counts[i], best[i][b].err);

    printf("\ncost of one more idle connection, from N=%d to N=%d (the slope):\n",
           idle_counts[0], idle_counts[NIDLE - 1]);
    for (int b = 0; b < NBACK; b++) {
        const struct cellres *lo = &best[0][b], *hi = &best[NIDLE - 1][b];
        if (lo->ok && hi->ok)
            printf("  %-6s %6.1f ns per idle connection per round trip (%.1f -> %.1f us)\n",
                   backends[b],
                   (hi->median - lo->median) * 1e3 / (idle_counts[NIDLE - 1] - idle_counts[0]),
                   lo->median, hi->median);
    }
    double ppr = 0;
    int nppr = 0;
    for (int i = 0; i < NIDLE; i++)
        for (int b = 0; b < NBACK; b++)
            if (best[i][b].ok && best[i][b].polls_per_rt > 0) {
                ppr += best[i][b].polls_per_rt;
                nppr++;
            }
    if (nppr)
        printf("selector calls per round trip, averaged over the cells: %.2f\n", ppr / nppr);
    return 0;
}
