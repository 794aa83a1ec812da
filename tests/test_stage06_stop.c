/*
 * test_stage06_stop.c - SIGTERM under load: the demo server (examples/
 * http_demo.c) as a process, stopped while it has work in flight.
 *
 * test_stage06_server.c checks http_stop inside one loop, on the virtual
 * clock.  This is the same promise kept by the program an operator runs:
 * the signal reaches the loop through its signal handling, the listener
 * closes, and the process exits 0 only after the requests it had accepted
 * are answered.  Twenty connections are open when the signal comes:
 *
 *     slow    8  GET /sleep?ms=SLOW_MS sent, the handler asleep: each gets
 *                its whole 200, with Connection: close, then EOF
 *     half    4  a request line sent, not the rest of the head: a request
 *                has begun, so it is waited for; the rest is sent after
 *                the signal and answered 200, with Connection: close
 *     idle    4  one request answered, kept alive, nothing since: closed
 *                at the stop, with no bytes, while the slow ones still run
 *     silent  4  connected, not a byte sent (a browser's preconnect): the
 *                same
 *
 * and a connect after the stop is refused (ECONNREFUSED): http_stop closes
 * the listening socket, so the kernel answers for it.  The demo must then
 * exit 0 within STOP_BOUND_MS of the signal, its error log holding the one
 * line the signal prints.
 *
 * The demo is a separate process, so the waits are in real time: about
 * SLOW_MS in all, each bounded.  A failed check first kills the demo
 * (EXPECT), so it never outlives the test.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stage02_util.h"
#include "stage05_util.h"
#include "stage06_util.h"

#ifndef EXAMPLES_DIR
#error "build with -DEXAMPLES_DIR='\"build/stage6/examples\"'"
#endif

enum { N_SLOW = 8, N_HALF = 4, N_IDLE = 4, N_SILENT = 4 };
enum { N_ALL = N_SLOW + N_HALF + N_IDLE + N_SILENT };
#define SLOW_MS 600
#define SLOW_TEXT "600" /* SLOW_MS, in the request and its answer */
#define STOP_BOUND_MS 2000 /* SLOW_MS and a margin; grace_ms is 5000 */

static const char GET_HELLO[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
static const char HALF_LINE[] = "GET /hello HTTP/1.1\r\n";
static const char HALF_REST[] = "Host: x\r\n\r\n";
static const char SLOW_GET[] = "GET /sleep?ms=" SLOW_TEXT " HTTP/1.1\r\nHost: x\r\n\r\n";
static const char SIGNAL_LINE[] = "http: signal 15: stopping (again to stop now)\n";

/* ---- the demo, a child process ----------------------------------------------- */

/* What one of its pipes has said so far. */
struct said {
    int fd;
    size_t len;
    char text[16384];
};

static pid_t demo_pid = -1;

static void demo_kill(void)
{
    if (demo_pid > 0) {
        kill(demo_pid, SIGKILL);
        waitpid(demo_pid, NULL, 0);
        demo_pid = -1;
    }
}

#define EXPECT(cond, ...)                                                                      \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            demo_kill();                                                                       \
            ck_abort_msg(__VA_ARGS__);                                                         \
        }                                                                                      \
    } while (0)

/* Read what the pipe has until `want` is in it, for up to ms: 1 if it is. */
static int read_until(struct said *s, const char *want, long ms)
{
    long long end = s6_now_ms() + ms;
    while (!strstr(s->text, want)) {
        long left = (long)(end - s6_now_ms());
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return 0;
        ssize_t n = read(s->fd, s->text + s->len, sizeof s->text - 1 - s->len);
        if (n <= 0)
            return 0;
        s->len += (size_t)n;
        s->text[s->len] = '\0';
    }
    return 1;
}

/* The rest, once the demo has exited: up to EOF. */
static void drain(struct said *s)
{
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    ssize_t n = 1;
    while (n > 0 && s->len < sizeof s->text - 1 && poll(&p, 1, 1000) > 0 &&
           (n = read(s->fd, s->text + s->len, sizeof s->text - 1 - s->len)) > 0) {
        s->len += (size_t)n;
        s->text[s->len] = '\0';
    }
}

/* Start http_demo --port 0, its stdout and stderr into out and err; its
 * port, once it says it serves (up to 10 s: the sanitizers slow the start). */
static int demo_start(struct said *out, struct said *err)
{
    int o[2], e[2];
    s5_pipe(o);
    s5_pipe(e);
    ck_assert_int_gt(o[0], 2); /* 0..2 are open: the dup2s cannot clash */
    const char *const argv[] = {EXAMPLES_DIR "/http_demo", "--port", "0", NULL};
    int rc = s6_spawn(argv, o[1], e[1], &demo_pid);
    close(o[1]);
    close(e[1]);
    ck_assert_msg(rc == 0, "cannot run %s: %s", argv[0], strerror(rc));
    *out = (struct said){.fd = o[0]};
    *err = (struct said){.fd = e[0]};
    static const char serving[] = "serving on http://127.0.0.1:";
    EXPECT(read_until(out, "/  (Ctrl-C stops)\n", 10000), "http_demo did not start: '%s' '%s'",
           out->text, err->text);
    return atoi(strstr(out->text, serving) + strlen(serving));
}

/* ---- the clients ------------------------------------------------------------------ */

/* A connection to the demo (reads time out after 3 s), or -errno. */
static int dial(int port)
{
    int fd = s6_dial(port);
    if (fd < 0)
        return fd;
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void say(int fd, const char *text)
{
    size_t len = strlen(text);
    EXPECT(send(fd, text, len, MSG_NOSIGNAL) == (ssize_t)len, "send: %s", strerror(errno));
}

/* Everything until EOF (or until `upto` is in it), into buf: its length,
 * or -errno (-EAGAIN: 3 s without a byte). */
static long hear(int fd, char *buf, size_t cap, const char *upto)
{
    size_t n = 0;
    buf[0] = '\0';
    while (!(upto && strstr(buf, upto))) {
        ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        n += (size_t)r;
        buf[n] = '\0';
        EXPECT(n < cap - 1, "more than %zu bytes: %s", cap, buf);
    }
    return (long)n;
}

/* Has anything (a byte or EOF) arrived on fd? */
static int arrived(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

/* /stats' value of "name" (on a connection of its own, which it counts). */
static long stat_of(const char *json, const char *name)
{
    char key[32];
    snprintf(key, sizeof key, "\"%s\":", name);
    const char *p = strstr(json, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* A whole 200 that closes: head, Connection: close, the body, then EOF. */
static void expect_last_reply(const char *who, int i, int fd, const char *body)
{
    char buf[1024], tail[64];
    long n = hear(fd, buf, sizeof buf, NULL);
    snprintf(tail, sizeof tail, "\r\nContent-Length: %zu\r\n", strlen(body));
    EXPECT(n > 0 && strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0 && strstr(buf, tail) &&
               strstr(buf, "\r\nConnection: close\r\n") && strstr(buf, "\r\n\r\n") &&
               strcmp(strstr(buf, "\r\n\r\n") + 4, body) == 0,
           "%s %d: not a whole 200 '%s' then EOF (%ld: %s): '%s'", who, i, body, n,
           n < 0 ? strerror((int)-n) : "", buf);
}

/* ---- the test ----------------------------------------------------------------------- */

START_TEST(sigterm_under_load)
{
    struct said out, err;
    int port = demo_start(&out, &err);
    int slow[N_SLOW], half[N_HALF], idle[N_IDLE], silent[N_SILENT];
    char buf[2048];

    for (int i = 0; i < N_SILENT; i++)
        EXPECT((silent[i] = dial(port)) >= 0, "connect: %s", strerror(-silent[i]));
    for (int i = 0; i < N_HALF; i++) {
        EXPECT((half[i] = dial(port)) >= 0, "connect: %s", strerror(-half[i]));
        say(half[i], HALF_LINE);
    }
    for (int i = 0; i < N_IDLE; i++) {
        EXPECT((idle[i] = dial(port)) >= 0, "connect: %s", strerror(-idle[i]));
        say(idle[i], GET_HELLO);
        long n = hear(idle[i], buf, sizeof buf, "\r\n\r\nhello, world\n");
        EXPECT(n > 0 && strstr(buf, "\r\n\r\nhello, world\n") && !strstr(buf, "close"),
               "idle %d: its first answer: '%s'", i, buf);
    }
    long long sent = s6_now_ms();
    for (int i = 0; i < N_SLOW; i++) {
        EXPECT((slow[i] = dial(port)) >= 0, "connect: %s", strerror(-slow[i]));
        say(slow[i], SLOW_GET);
    }

    /* Wait until the server has them all: every connection open, every
     * slow handler asleep (the /stats connection counts itself in both).
     * Its answer also means the loop has read the half heads, which were
     * sent before it connected. */
    long conns = -1, active = -1;
    for (long long end = s6_now_ms() + 2000; s6_now_ms() < end;) {
        int fd = dial(port);
        EXPECT(fd >= 0, "connect for /stats: %s", strerror(-fd));
        say(fd, "GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        EXPECT(hear(fd, buf, sizeof buf, NULL) > 0, "no /stats answer");
        close(fd);
        conns = stat_of(buf, "conns");
        active = stat_of(buf, "active");
        if (conns == N_ALL + 1 && active == N_SLOW + 1)
            break;
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    EXPECT(conns == N_ALL + 1 && active == N_SLOW + 1,
           "the server has %ld connections, %ld active: %s", conns, active, buf);
    for (int i = 0; i < N_SLOW; i++)
        EXPECT(!arrived(slow[i]), "slow %d answered or closed before the stop", i);

    ck_assert_int_eq(kill(demo_pid, SIGTERM), 0);
    long long term = s6_now_ms();
    EXPECT(read_until(&err, SIGNAL_LINE, 1000), "no stop line within 1 s: '%s'", err.text);

    /* The line is printed just before http_stop closes the listener, so a
     * connect may still slip in between: retry, briefly. */
    int refused = 0, tries = 0;
    for (; tries < 50 && !refused; tries++) {
        int fd = dial(port);
        if (fd >= 0) {
            close(fd);
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
        refused = fd == -ECONNREFUSED;
    }
    EXPECT(refused, "a connect after the stop was not refused (%d tries)", tries);

    /* Nothing in flight on the idle and silent ones: closed at the stop,
     * without a byte, while the slow ones are still asleep. */
    for (int i = 0; i < N_IDLE + N_SILENT; i++) {
        int fd = i < N_IDLE ? idle[i] : silent[i - N_IDLE];
        long n = hear(fd, buf, sizeof buf, NULL);
        EXPECT(n == 0, "%s %d: %ld bytes, not a close: '%s'", i < N_IDLE ? "idle" : "silent", i, n,
               n < 0 ? strerror((int)-n) : buf);
        close(fd);
    }
    long long closed = s6_now_ms();
    EXPECT(closed - sent < SLOW_MS, "the idle connections closed %lld ms after the slow requests "
                                    "were sent, not at the stop", closed - sent);
    for (int i = 0; i < N_SLOW; i++)
        EXPECT(!arrived(slow[i]), "slow %d answered or closed before its handler woke: "
                                  "the stop did not wait for it", i);

    /* A head that had begun is waited for, and answered. */
    for (int i = 0; i < N_HALF; i++) {
        say(half[i], HALF_REST);
        expect_last_reply("half", i, half[i], "hello, world\n");
        close(half[i]);
    }
    for (int i = 0; i < N_SLOW; i++) {
        expect_last_reply("slow", i, slow[i], "slept " SLOW_TEXT " ms\n");
        close(slow[i]);
    }

    int status = 0;
    pid_t r = 0;
    while ((r = waitpid(demo_pid, &status, WNOHANG)) == 0 && s6_now_ms() - term < STOP_BOUND_MS) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    EXPECT(r == demo_pid, "http_demo still running %d ms after SIGTERM", STOP_BOUND_MS);
    demo_pid = -1;
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "http_demo: status %#x", status);

    /* Its last words: the access log (every request, answered 200), then
     * "stopped"; the error log, only the signal's line. */
    drain(&out);
    drain(&err);
    ck_assert_msg(count_of(out.text, "\"GET /sleep?ms=" SLOW_TEXT " HTTP/1.1\" 200 13 ") == N_SLOW,
                  "%s", out.text);
    ck_assert_msg(count_of(out.text, "\"GET /hello HTTP/1.1\" 200 13 ") == N_IDLE + N_HALF, "%s",
                  out.text);
    ck_assert_msg(strstr(out.text, "\nstopped\n") != NULL, "%s", out.text);
    ck_assert_str_eq(err.text, SIGNAL_LINE);
    close(out.fd);
    close(err.fd);
}
END_TEST

/* The demo says where it serves before its accept loop runs.  A SIGTERM
 * sent the moment that line is read must stop it the same graceful way:
 * once the signals were only taken in http_serve's first step, just after
 * the line, so most of these tries killed the demo by the signal's
 * default action instead (exit by signal 15, no "stopped"). */
START_TEST(sigterm_as_soon_as_it_serves)
{
    for (int i = 0; i < 50; i++) { /* each try takes a few ms */
        struct said out, err;
        demo_start(&out, &err);
        long long term = s6_now_ms();
        EXPECT(kill(demo_pid, SIGTERM) == 0, "kill: %s", strerror(errno));
        int status = 0;
        pid_t r = 0;
        while ((r = waitpid(demo_pid, &status, WNOHANG)) == 0 &&
               s6_now_ms() - term < STOP_BOUND_MS) {
            struct timespec ts = {0, 1000000L};
            nanosleep(&ts, NULL);
        }
        EXPECT(r == demo_pid, "try %d: http_demo still running %d ms after SIGTERM", i,
               STOP_BOUND_MS);
        demo_pid = -1;
        drain(&out);
        drain(&err);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "try %d: http_demo: status %#x (%s)", i, status,
                      WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exited");
        ck_assert_msg(strstr(out.text, "\nstopped\n") != NULL, "try %d: %s", i, out.text);
        ck_assert_str_eq(err.text, SIGNAL_LINE);
        close(out.fd);
        close(err.fd);
    }
}
END_TEST

void stage06_stop_tcases(Suite *s)
{
    TCase *tc = tcase_create("stop_sigterm");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, sigterm_under_load);
    tcase_add_test(tc, sigterm_as_soon_as_it_serves);
    suite_add_tcase(s, tc);
}
