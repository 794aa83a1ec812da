/*
 * test_stage06_faults.c - the server when its clients misbehave or its
 * resources run out, on the virtual clock, against scripted clients
 * (stage06_script.h).
 *
 * A server that answers well-formed requests is the easy half.  These are
 * the clients a server on the internet meets every day: one that sends its
 * head a byte a second to hold a connection open (slowloris), one that
 * resets in the middle of a request or of a long reply, one that closes
 * its half after asking, one that vanishes in the middle of its body; and
 * the day the process runs out of descriptors.  Every run must end as a
 * clean run does (sc_run checks it: no task left, no descriptor open, the
 * server returning 0), while the other clients are served on time, and
 * the error log says only what an operator needs to know: a peer's fault
 * is not the server's error.
 *
 * Allocation failure is in test_stage06_alloc.c; SIGTERM under load in
 * test_stage06_stop.c.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "loop.h"
#include "stage02_util.h"
#include "stage06_script.h"
#include "stage06_util.h"

#define BIG_GET "GET /big?kb=4096 HTTP/1.1\r\nHost: x\r\n\r\n"

/* ===== slowloris ================================================================ */

START_TEST(slowloris_cut_at_head_timeout)
{
    /* Three clients send their heads a byte at a time, slowly: each byte
     * would keep a per-read timeout from ever firing, so the server's is
     * a deadline for the whole head, counted from its first byte.  They
     * stop sending before it (a byte racing the timer would make the test
     * depend on the order of two events at one virtual instant), and the
     * 408 must come at exactly head_timeout_ms.  Meanwhile a fourth client
     * is served at once, twice. */
    static const struct sc_act a[] = {CONNECT, DRIP("GET /hello", 1000), UNTIL_EOF, END};
    static const struct sc_act b[] = {CONNECT, DRIP("GET /hello HTTP/1.1\r\nHost: x\r\nX-Pad: y", 200),
                                      UNTIL_EOF, END};
    static const struct sc_act c[] = {CONNECT, SEND("GET /hello HTTP/1.1\r\n"), SLEEP(500),
                                      DRIP("Host: x\r\nX-Pad:", 500), UNTIL_EOF, END};
    static const struct sc_act d[] = {CONNECT, SLEEP(2500), SEND(GET_HELLO), RECV(1), SLEEP(3000),
                                      SEND(GET_HELLO), RECV(1), CLOSE, END};
    const struct sc_act *const all[] = {a, b, c, d};
    SC.cfg.head_timeout_ms = 10000;
    sc_run(all, 4);
    static const int eof_step[3] = {2, 2, 4};
    for (int i = 0; i < 3; i++) {
        ck_assert_str_eq(sc_got_all(i), sc_error_reply(408, CLOSE_F));
        ck_assert_int_eq(SC.out[i].eof, 1);
        ck_assert_uint_eq(SC.out[i].t[eof_step[i]], 10000);
    }
    ck_assert_str_eq(sc_got_step(3, 3), HELLO);
    ck_assert_uint_eq(SC.out[3].t[3], 2500);
    ck_assert_str_eq(sc_got_step(3, 6), HELLO);
    ck_assert_uint_eq(SC.out[3].t[6], 5500);
    ck_assert_uint_eq(SC.srv.stats.requests, 5);
    ck_assert_uint_eq(SC.srv.stats.errors, 3);
}
END_TEST

/* ===== resets, half-closes, vanishing clients ==================================== */

/* Was SIGPIPE's action the default (kill the process) during the run?
 * Every test here writes to peers that have gone, so each asks for the
 * default first: if the server ever let a write raise SIGPIPE, the test
 * process would die of it instead of passing. */
static void sigpipe_default(void)
{
    struct sigaction sa;
    ck_assert(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
    ck_assert_int_eq(sigaction(SIGPIPE, NULL, &sa), 0);
    ck_assert(sa.sa_handler == SIG_DFL);
}

START_TEST(reset_mid_head)
{
    static const struct sc_act a[] = {CONNECT, SEND("GET /hello HTTP/1.1\r\nHo"), SLEEP(10), RESET, END};
    static const struct sc_act b[] = {CONNECT, SLEEP(20), SEND(GET_HELLO), RECV(1), CLOSE, END};
    const struct sc_act *const all[] = {a, b};
    sigpipe_default();
    sc_run(all, 2);
    ck_assert_str_eq(sc_got_all(0), "");
    ck_assert_str_eq(sc_got_all(1), HELLO);
    ck_assert_uint_eq(SC.srv.stats.accepted, 2);
    ck_assert_uint_eq(SC.srv.stats.requests, 1);
    ck_assert_uint_eq(SC.srv.stats.errors, 0);
}
END_TEST

START_TEST(reset_mid_body)
{
    /* The handler is reading the body when the RST comes: its read fails,
     * and with nobody to answer, the request ends without a reply. */
    static const struct sc_act a[] = {
        CONNECT, SEND("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789"),
        SLEEP(10), RESET, END};
    static const struct sc_act b[] = {CONNECT, SLEEP(20), SEND(GET_HELLO), RECV(1), CLOSE, END};
    const struct sc_act *const all[] = {a, b};
    sigpipe_default();
    sc_run(all, 2);
    ck_assert_str_eq(sc_got_all(1), HELLO);
    ck_assert_uint_eq(SC.srv.stats.accepted, 2);
}
END_TEST

START_TEST(reset_mid_reply)
{
    /* 4 MiB streamed, far more than the socket buffers hold, so the
     * handler is blocked in http_write when the client resets after its
     * first KiB; the write fails instead of raising SIGPIPE, the handler
     * ends, and the next client does not wait. */
    static const struct sc_act a[] = {CONNECT, SEND(BIG_GET), RECV_N(1024), RESET, END};
    static const struct sc_act b[] = {CONNECT, SLEEP(20), SEND(GET_HELLO), RECV(1), CLOSE, END};
    const struct sc_act *const all[] = {a, b};
    sigpipe_default();
    sc_run(all, 2);
    ck_assert_uint_ge(SC.out[0].len, 1024);
    ck_assert(strncmp(SC.out[0].got, "HTTP/1.1 200 OK\r\n", 17) == 0);
    ck_assert_str_eq(sc_got_all(1), HELLO);
    ck_assert_uint_eq(SC.out[1].t[3], 20);
    ck_assert_uint_lt(SC.srv.stats.bytes_out, 4096 * 1024);
}
END_TEST

START_TEST(close_mid_reply)
{
    /* The same with an orderly close: the server learns only when a write
     * is refused (EPIPE, or ECONNRESET once our kernel has answered its
     * data with an RST). */
    static const struct sc_act a[] = {CONNECT, SEND(BIG_GET), RECV_N(1024), CLOSE, END};
    const struct sc_act *const all[] = {a};
    sigpipe_default();
    sc_run(all, 1);
    ck_assert_uint_ge(SC.out[0].len, 1024);
    ck_assert_uint_lt(SC.srv.stats.bytes_out, 4096 * 1024);
}
END_TEST

START_TEST(gone_before_reply)
{
    /* The client asks for 4 MiB and closes at once, with nothing unread,
     * so its kernel sends a FIN, and an RST only when the reply's first
     * bytes come.  The write after that is the one that raises SIGPIPE,
     * unless the server asked for EPIPE instead (sock.c, MSG_NOSIGNAL). */
    static const struct sc_act a[] = {CONNECT, SEND(BIG_GET), CLOSE, END};
    static const struct sc_act b[] = {CONNECT, SLEEP(20), SEND(GET_HELLO), RECV(1), CLOSE, END};
    const struct sc_act *const all[] = {a, b};
    sigpipe_default();
    sc_run(all, 2);
    ck_assert_str_eq(sc_got_all(1), HELLO);
    ck_assert_uint_lt(SC.srv.stats.bytes_out, 4096 * 1024);
}
END_TEST

START_TEST(half_close_after_request)
{
    /* "Here are my requests, and that is all": a client may shut its
     * sending half and still read.  The server answers every request it
     * was sent (pipelined, here), then closes. */
    static const struct sc_act c[] = {CONNECT, SEND(GET_HELLO GET_HELLO), SHUT, UNTIL_EOF, END};
    sc_run1(c);
    ck_assert_str_eq(sc_got_all(0), sc_fmt("%s%s", HELLO, HELLO));
    ck_assert_int_eq(SC.out[0].eof, 1);
    ck_assert_uint_eq(SC.srv.stats.requests, 2);
}
END_TEST

START_TEST(half_close_mid_body)
{
    /* The body's end never comes: the server reads the end of the stream
     * where the body should be.  RFC 9112 section 8 lets it answer or not;
     * ours treats it as a client that hung up (http.c, read_body): no
     * answer, no log line, the connection closed.  The test pins that. */
    static const struct sc_act c[] = {
        CONNECT, SEND("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"), SHUT,
        UNTIL_EOF, END};
    sc_run1(c);
    ck_assert_str_eq(sc_got_all(0), "");
    ck_assert_int_eq(SC.out[0].eof, 1);
    ck_assert_int_eq(SC.out[0].recv_err, 0); /* a FIN, not an RST */
    ck_assert_str_eq(sc_access_log(), "");
}
END_TEST

START_TEST(vanish_mid_chunked_body)
{
    /* A chunked upload whose sender goes away between chunks. */
    static const struct sc_act a[] = {
        CONNECT,
        SEND("PUT /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"),
        SLEEP(100), SEND("3\r\nab"), SLEEP(100), CLOSE, END};
    static const struct sc_act b[] = {CONNECT, SLEEP(150), SEND(GET_HELLO), RECV(1), CLOSE, END};
    const struct sc_act *const all[] = {a, b};
    sigpipe_default();
    sc_run(all, 2);
    ck_assert_str_eq(sc_got_all(1), HELLO);
    ck_assert_uint_eq(SC.out[1].t[3], 150);
}
END_TEST

/* ===== out of descriptors ========================================================== */

/* The test takes every free descriptor below a lowered RLIMIT_NOFILE, so
 * that the server's accept fails with EMFILE, then gives them back. */
static struct rlimit saved_limit;
static int hogs[4096], nhogs;
static uint64_t steps_at_hog, steps_at_unhog;

static void hog_all(void)
{
    /* The limit goes a little above the highest descriptor open now, so
     * that there is something to take even when nothing below it is free
     * (how many holes there are depends on what the test was started
     * with).  The copies are of a descriptor of our own: stdin may be
     * closed. */
    int base = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(base, 0);
    int top = -1;
    for (int fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            top = fd;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved_limit), 0);
    struct rlimit low = saved_limit;
    low.rlim_cur = (rlim_t)top + 1 + 8;
    ck_assert_uint_le(low.rlim_cur, saved_limit.rlim_max);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    hogs[nhogs++] = base;
    int fd;
    while ((fd = dup(base)) >= 0) {
        ck_assert_int_lt(nhogs, (int)(sizeof hogs / sizeof hogs[0]));
        hogs[nhogs++] = fd;
    }
    ck_assert_int_eq(errno, EMFILE);
    steps_at_hog = loop_current()->steps;
}

/* One descriptor free: enough for the client's socket, not for the
 * server's end of it. */
static void free_one(void)
{
    ck_assert_int_gt(nhogs, 0);
    close(hogs[--nhogs]);
}

static void unhog(void)
{
    steps_at_unhog = loop_current()->steps;
    while (nhogs > 0)
        close(hogs[--nhogs]);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved_limit), 0);
}

START_TEST(emfile_backs_off_and_recovers)
{
    /* A is served, then takes every descriptor.  B connects at 100 (the
     * kernel completes the handshake; the connection waits in the
     * backlog) and the server's accept fails: it must back off rather than
     * retry at once, which would spin and stop the clock.  A is still
     * served on the connection it has at 200, closes at 300, which frees
     * two descriptors, and B is served at the next retry, within 50 ms. */
    static const struct sc_act a[] = {CONNECT, SEND(GET_HELLO), RECV(1), FN(hog_all), FN(free_one),
                                      SLEEP(200), SEND(GET_HELLO), RECV(1), SLEEP(100), CLOSE,
                                      SLEEP(100), FN(unhog), END};
    static const struct sc_act b[] = {SLEEP(100), CONNECT, SEND(GET_HELLO), RECV(1), CLOSE, END};
    const struct sc_act *const all[] = {a, b};
    if (under_valgrind()) {
        fprintf(stderr, "emfile_backs_off_and_recovers: skipped under valgrind\n");
        return;
    }
    nhogs = 0;
    SC.expect_errors = 1;
    sc_run(all, 2);
    ck_assert_int_eq(nhogs, 0);
    ck_assert_int_eq(SC.out[1].connect_err, 0);
    ck_assert_str_eq(sc_got_step(0, 2), HELLO);
    ck_assert_str_eq(sc_got_step(0, 7), HELLO);
    ck_assert_uint_eq(SC.out[0].t[7], 200);
    ck_assert_str_eq(sc_got_all(1), HELLO);
    ck_assert_uint_ge(SC.out[1].t[3], 300);
    ck_assert_uint_le(SC.out[1].t[3], 350);
    /* Out of descriptors for 200 ms, retried every 50: a handful of
     * failed accepts and the clients' own steps, not thousands. */
    ck_assert_uint_lt(steps_at_unhog - steps_at_hog, 100);
    /* One line per spell without descriptors.  There may be two: Linux's
     * accept takes a descriptor before it looks for a connection, so the
     * accept after B's fails again if B took the last one (whether it did
     * depends on which of two things at 300 runs first). */
    const char *line = sc_fmt("http: accept: %s: backing off\n", strerror(EMFILE));
    size_t n = strlen(line);
    ck_assert_msg(strlen(SC.errors) == n || strlen(SC.errors) == 2 * n, "%s", SC.errors);
    ck_assert(strncmp(SC.errors, line, n) == 0 && strcmp(SC.errors + strlen(SC.errors) - n, line) == 0);
    ck_assert_uint_eq(SC.srv.stats.accepted, 2);
    ck_assert_uint_eq(SC.srv.stats.requests, 3);
}
END_TEST

/* ===== over max_conns ================================================================ */

/* A client that is refused after its request has arrived.  The server
 * answers 503 without a task and closes; closing a socket with unread
 * bytes makes the kernel send a reset instead of a FIN, and a reset can
 * destroy the 503 before the client has read it.  So the refusal reads
 * what has arrived first.  The client is raw and blocking, in plain steps:
 * its request is in the server's queue before the server accepts it. */
static int raw_fd = -1, raw_eof, raw_err;
static char raw_got[512];
static size_t raw_len;

static void raw_connect_and_ask(void)
{
    raw_fd = s6_dial(http_port(&SC.srv));
    ck_assert_int_ge(raw_fd, 0);
    ck_assert_int_eq(send(raw_fd, GET_HELLO, strlen(GET_HELLO), MSG_NOSIGNAL),
                     (ssize_t)strlen(GET_HELLO));
}

static void raw_read_all(void)
{
    for (;;) {
        ssize_t n = recv(raw_fd, raw_got + raw_len, sizeof raw_got - 1 - raw_len, MSG_DONTWAIT);
        if (n > 0) {
            raw_len += (size_t)n;
            continue;
        }
        raw_eof = n == 0;
        raw_err = n < 0 ? errno : 0;
        break;
    }
    raw_got[raw_len] = '\0';
    close(raw_fd);
    raw_fd = -1;
}

START_TEST(refused_after_asking_reads_its_503)
{
    static const struct sc_act a[] = {CONNECT, SEND(GET_HELLO), RECV(1), SLEEP(300), CLOSE, END};
    static const struct sc_act b[] = {SLEEP(100), FN(raw_connect_and_ask), SLEEP(100),
                                      FN(raw_read_all), END};
    const struct sc_act *const all[] = {a, b};
    raw_len = 0;
    raw_eof = raw_err = 0;
    SC.cfg.max_conns = 1;
    sc_run(all, 2);
    ck_assert_str_eq(raw_got, "HTTP/1.1 503 Service Unavailable\r\n"
                              "Content-Type: text/plain\r\nContent-Length: 24\r\n"
                              "Retry-After: 1\r\nConnection: close\r\n\r\n"
                              "503 Service Unavailable\n");
    ck_assert_msg(raw_eof && raw_err == 0, "after the 503: %s", strerror(raw_err));
    ck_assert_uint_eq(SC.srv.stats.refused, 1);
}
END_TEST

/* ===== the tcases ================================================================== */

void stage06_faults_tcases(Suite *s)
{
    TCase *tc = sc_case(s, "faults_slowloris");
    tcase_add_test(tc, slowloris_cut_at_head_timeout);

    tc = sc_case(s, "faults_peers");
    tcase_add_test(tc, reset_mid_head);
    tcase_add_test(tc, reset_mid_body);
    tcase_add_test(tc, reset_mid_reply);
    tcase_add_test(tc, close_mid_reply);
    tcase_add_test(tc, gone_before_reply);
    tcase_add_test(tc, half_close_after_request);
    tcase_add_test(tc, half_close_mid_body);
    tcase_add_test(tc, vanish_mid_chunked_body);

    tc = sc_case(s, "faults_descriptors");
    tcase_add_test(tc, emfile_backs_off_and_recovers);
    tcase_add_test(tc, refused_after_asking_reads_its_503);
}
