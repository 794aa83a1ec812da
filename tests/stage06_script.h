/*
 * stage06_script.h - scripted clients against the stage-6 server, in the
 * test's own loop, for test_stage06_server.c and test_stage06_faults.c.
 *
 * A test writes each client as a script of steps (CONNECT, SEND, RECV(1),
 * SLEEP(ms), RESET, ...; the step macros are the scripts' vocabulary, so
 * they carry no prefix, like check's START_TEST), runs the server beside up
 * to SC_MAX_CONNS of them with sc_run, and then compares what each received
 * (SC.out[i], normalised by sc_got_all and sc_got_step) with the replies
 * it expected (sc_reply, sc_error_reply).  sc_run itself checks what every
 * run must: see its comment in stage06_script.c.  Everything runs on the
 * virtual clock.
 *
 * The server's routes (sc_routes, in stage06_script.c):
 *     GET /hello            "hello\n"
 *     POST, PUT /echo       the body back
 *     POST /drop            answers without reading the body
 *     GET /users/{id}       "id=ID x=X" (?x=X)
 *     GET /stream           three pieces, streamed (chunked)
 *     GET /big?kb=N         N KiB (64 if absent), streamed a KiB a write
 *     GET /fail             raises -EIO after a buffered answer: a 500
 *     GET /slow?ms=N        sleeps N ms (1000 if absent), then answers
 *     GET /nocontent        204 with a body the server must drop
 */
#ifndef STAGE06_SCRIPT_H
#define STAGE06_SCRIPT_H

#include <check.h>
#include <stddef.h>

#include "http.h"

#define SC_MAX_CONNS 4      /* scripted clients in one run */
#define SC_MAX_ACTS 24      /* steps of one script */
#define SC_GUARD_MS 600000  /* a client stuck this long (virtual) is a hang */

enum {
    C_END,
    C_CONNECT, /* to the server; a failure ends the script (connect_err) */
    C_SEND,    /* s, in one send */
    C_BYTES,   /* s, a byte per send, with a turn between */
    C_RECV,    /* until n more whole replies are in (s "HEAD": to a HEAD) */
    C_EOF,     /* until the server closes */
    C_SLEEP,   /* n ms */
    C_STOP,    /* http_stop */
    C_CLOSE,   /* close our socket */
    C_CALL,    /* method s, target t, body d (or NULL), with the project's
                  client (one per script): appends "<status> <reused>
                  <retried> <body>" or "error <err>" and a newline to got */
    C_DRIP,    /* s, a byte every n ms: a slowloris */
    C_SHUT,    /* shutdown(SHUT_WR): our half of the connection is done */
    C_RESET,   /* close with SO_LINGER 0, so the server gets an RST */
    C_RECV_N,  /* until n more bytes are in (or the server closes) */
    C_FN,      /* fn(): the test's own step, in the loop's thread */
};

struct sc_act {
    int op;
    const char *s;
    long n;
    const char *t, *d;
    void (*fn)(void);
};

#define CONNECT {.op = C_CONNECT}
#define SEND(str) {.op = C_SEND, .s = (str)}
#define BYTES(str) {.op = C_BYTES, .s = (str)}
#define RECV(k) {.op = C_RECV, .n = (k)}
#define RECV_HEAD {.op = C_RECV, .s = "HEAD", .n = 1}
#define UNTIL_EOF {.op = C_EOF}
#define SLEEP(ms) {.op = C_SLEEP, .n = (ms)}
#define STOP {.op = C_STOP}
#define CLOSE {.op = C_CLOSE}
#define CALL(method, target, data) {.op = C_CALL, .s = (method), .t = (target), .d = (data)}
#define DRIP(str, ms) {.op = C_DRIP, .s = (str), .n = (ms)}
#define SHUT {.op = C_SHUT}
#define RESET {.op = C_RESET}
#define RECV_N(k) {.op = C_RECV_N, .n = (k)}
#define FN(f) {.op = C_FN, .fn = (f)}
#define END {.op = C_END}

/* What one client saw (outside the frames, which are freed). */
struct sc_out {
    char got[16384];
    size_t len;
    size_t mark[SC_MAX_ACTS];            /* len after each step */
    unsigned long long t[SC_MAX_ACTS];   /* the loop's time after each step, ms */
    int steps;                        /* steps done */
    int connect_err, send_err, recv_err;
    int eof;                          /* the server closed */
    int guard_err;                    /* the client hung */
    int port;                         /* its local port: the access log's */
};

/* One run: the server's configuration and state, and what came out. */
struct sc_fixture {
    struct http_config cfg;
    struct http_server srv;
    const struct sc_act *scripts[SC_MAX_CONNS];
    int nconns;
    struct sc_out out[SC_MAX_CONNS];
    int listen_err, served, serve_err;
    unsigned long long t_served;      /* when http_serve returned, ms */
    int expect_errors;                /* the error log may have lines */
    char *access, *errors, *log;      /* the logs' text */
    size_t alen, elen;
};

extern struct sc_fixture SC;       /* this test's run */
extern const struct http_route sc_routes[]; /* the routes above */
extern const size_t sc_nroutes;
extern unsigned sc_fail_task_id;   /* the task that ran GET /fail */

/* The checked fixture: a fresh SC with the routes above and http's
 * defaults (port 0: the kernel picks). */
void sc_setup(void);
void sc_teardown(void);
/* A tcase with that fixture and a timeout for the slow builds, added to s. */
TCase *sc_case(Suite *s, const char *name);

/* Run the server with these clients (n <= SC_MAX_CONNS), and check what every
 * run must. */
void sc_run(const struct sc_act *const *scripts, int n);
void sc_run1(const struct sc_act *script);

/* ---- what the replies must be ---------------------------------------------- */

#define TEXT "text/plain; charset=utf-8"
#define CLOSE_F "Connection: close\r\n"
#define GET_HELLO "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
#define HELLO                                                                  \
    "HTTP/1.1 200 OK\r\nServer: async-c\r\nDate: D\r\n"                        \
    "Content-Type: text/plain; charset=utf-8\r\n"                              \
    "Content-Length: 6\r\n\r\nhello\n"

/* Strings built for a comparison live in a ring of 12, so several may be
 * alive at once (sc_fmt, and everything below that returns one). */
const char *sc_fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
/* Everything client i received, and what it received in step k, with each
 * Date value replaced by "D" (after checking its form). */
const char *sc_got_all(int i);
const char *sc_got_step(int i, int k);
/* A reply with a Content-Length body, as the server frames it; `fields`
 * come after Content-Length ("Connection: close\r\n", then the handler's). */
const char *sc_reply_t(int status, const char *type, const char *fields, const char *body);
const char *sc_reply(int status, const char *fields, const char *body);
/* The server's own answer to an error. */
const char *sc_error_reply(int status, const char *fields);
/* The access log with each line's duration replaced by "T", and one line
 * as the server writes it for client i. */
const char *sc_access_log(void);
const char *sc_log_line(int i, const char *request, int status, unsigned long bytes);
/* The reply at the start of s has the fields every reply must. */
void sc_check_fields(const char *s, int status);

#endif
