/*
 * test_stage06_client.c - the HTTP/1.1 client (client.h) against a scripted
 * server, and against Python's http.server when python3 is installed.
 *
 * The scripted server is a task in the client's own loop, on a port the
 * kernel picks: for each step of its script it reads one request (head and
 * Content-Length body), records it byte for byte, and answers with canned
 * bytes - at once, or a byte at a time with a turn between bytes so the
 * client sees every possible split - then keeps the connection, closes it,
 * resets it, or says nothing at all.  A client that hangs up before the
 * next request is waited for on a new connection, which is how a reconnect
 * shows: the server counts its accepts.  So every test checks both sides
 * exactly: the request bytes the client sent, and what it made of the reply.
 *
 * The loop runs on the real clock (thread_run's name lookup needs real time,
 * see thread.h), except for the timeout tests, which use the virtual clock:
 * the server never answers, and the client's deadline passes at once, at
 * exactly its time.  Every run must leave the loop's log empty (no task left
 * behind, no scope left open) and no descriptor open.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "hparse.h"
#include "stage03_util.h"
#include "stage04_util.h"
#include "stage06_util.h"

#define N_OF(a) (sizeof a / sizeof a[0])
#define MAX_STEPS 12 /* steps of a script, and calls of a run */

/* ---- the scripted server ------------------------------------------------- */

enum {
    S_CLOSE = 1,  /* close the connection after the reply */
    S_RESET = 2,  /* ... with a reset (SO_LINGER 0) rather than a FIN */
    S_SILENT = 4, /* send nothing: wait until the client hangs up */
    S_BYTES = 8,  /* send the reply a byte at a time, a turn between bytes */
};

/* A script ends with a step whose reply is NULL. */
struct step {
    const char *reply;
    int flags;
};

/* What the server saw (outside the frames, which are freed). */
struct seen {
    int lfd;   /* the listening socket, -1 once closed */
    int port;
    int accepts, requests;
    char req[MAX_STEPS][512];
};

struct server {
    co_t co;
    const struct step *steps;
    struct seen *seen;
    int fd, i, err;
    char buf[2048];
    size_t used, len, need, off;
    char head[2048];
    struct hparse_req h;
};

static size_t head_end(const char *b, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i++)
        if (memcmp(b + i, "\r\n\r\n", 4) == 0)
            return i + 4;
    return 0;
}

/* Errors from the client's side of a connection end that connection; a
 * cancel (the test is over) ends the server.  It closes the listening
 * socket when it ends; whoever cancels it before it ever ran does. */
static int server(co_t *co)
{
    struct server *f = (struct server *)co;
    CO_BEGIN(co);
    f->fd = -1;
    for (f->i = 0; f->steps[f->i].reply; f->i++) {
        for (;;) { /* the next request, on a new connection if need be */
            if (f->fd < 0) {
                AWAIT(sock_accept(f->seen->lfd));
                f->fd = (int)CO_VALUE;
                f->seen->accepts++;
                f->used = 0;
            }
            f->err = 0;
            while (!f->err && (f->len = head_end(f->buf, f->used)) == 0 && f->used < sizeof f->buf) {
                AWAIT_CATCH(sock_recv(f->fd, f->buf + f->used, sizeof f->buf - f->used), f->err);
                if (!f->err && CO_VALUE == 0)
                    f->err = -ECONNRESET;
                if (!f->err)
                    f->used += (size_t)CO_VALUE;
            }
            if (f->err == -ECANCELED)
                CO_RAISE(f->err);
            if (f->len)
                break;
            sock_close(f->fd); /* the client hung up: wait for its next connection */
            f->fd = -1;
        }
        memcpy(f->head, f->buf, f->len);
        f->need = f->len;
        if (hparse_request(f->head, f->len, HPARSE_MAX_HEADERS, &f->h) == 0 &&
            f->h.body == HPARSE_BODY_LENGTH)
            f->need += f->h.content_length;
        while (!f->err && f->used < f->need && f->used < sizeof f->buf) {
            AWAIT_CATCH(sock_recv(f->fd, f->buf + f->used, sizeof f->buf - f->used), f->err);
            if (!f->err && CO_VALUE == 0)
                f->err = -ECONNRESET;
            if (!f->err)
                f->used += (size_t)CO_VALUE;
        }
        if (f->err == -ECANCELED)
            CO_RAISE(f->err);
        if (f->need > f->used)
            f->need = f->used;
        snprintf(f->seen->req[f->i], sizeof f->seen->req[0], "%.*s", (int)f->need, f->buf);
        f->seen->requests++;
        f->used -= f->need;
        memmove(f->buf, f->buf + f->need, f->used);

        if (f->steps[f->i].flags & S_SILENT) {
            do
                AWAIT_CATCH(sock_recv(f->fd, f->buf, sizeof f->buf), f->err);
            while (!f->err && CO_VALUE > 0);
            if (f->err == -ECANCELED)
                CO_RAISE(f->err);
        } else if (f->steps[f->i].flags & S_BYTES) {
            for (f->off = 0; !f->err && f->steps[f->i].reply[f->off]; f->off++) {
                AWAIT_CATCH(sock_send_all(f->fd, f->steps[f->i].reply + f->off, 1), f->err);
                AWAIT(task_yield());
            }
        } else {
            AWAIT_CATCH(sock_send_all(f->fd, f->steps[f->i].reply, strlen(f->steps[f->i].reply)),
                        f->err);
        }
        if (f->err == -ECANCELED)
            CO_RAISE(f->err);
        if (f->steps[f->i].flags & S_RESET) {
            struct linger lg = {1, 0};
            setsockopt(f->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        if (f->err || (f->steps[f->i].flags & (S_CLOSE | S_RESET | S_SILENT))) {
            sock_close(f->fd);
            f->fd = -1;
        }
    }
    CO_FINALLY
    if (f->fd >= 0)
        sock_close(f->fd);
    sock_close(f->seen->lfd); /* so that a client coming back is refused */
    f->seen->lfd = -1;
    CO_END;
}

/* ---- the client side: a list of calls on one client ---------------------- */

struct call {
    const char *method;
    const char *target; /* appended to http://HOST:PORT; a whole URL if it has "://" */
    const char *const *headers;
    const char *data;   /* NULL: no body */
};

/* One call's outcome.  Header values are "-" when absent; the body is
 * "(null)" when the request left none (after an error). */
struct got {
    int err, status, reused, retried;
    int rq_status;       /* what the frame says: must be `status` */
    char body[512];
    size_t body_len;
    char ctype[64], clen[32], link[64];
};

struct opts {
    uint64_t timeout_ms; /* 0: the client's default */
    uint64_t max_body;
    size_t max_head;
    const char *host;    /* in the URLs; NULL: 127.0.0.1 */
    const char *listen;  /* the server's address; NULL: 127.0.0.1 */
    uint64_t cancel_ms;  /* the calls run in a move_on_after scope of this */
    int virtual_clock;
};

struct outcome {
    struct seen seen;
    struct got got[MAX_STEPS];
    unsigned connects, requests;
    int fd_after;            /* the client's fd after the last call */
    unsigned long long ms;   /* the loop's time then */
    char addrs[256];         /* the last call's addresses, joined by ',' */
};

struct runner {
    co_t co;
    const struct step *steps;
    const struct call *calls;
    int ncalls;
    const struct opts *o;
    struct outcome *out;
    int i, err;
    group_t g;
    struct client c;
    struct client_request rq;
    struct scope outer;
    char url[256];
};

static void copy_header(char *out, size_t n, const struct client_request *rq, const char *name)
{
    const char *v = client_header(rq, name);
    snprintf(out, n, "%s", v ? v : "-");
}

static void record(struct got *g, const struct client_request *rq, int err, intptr_t val)
{
    g->err = err;
    g->status = err ? 0 : (int)val;
    g->rq_status = rq->status;
    g->reused = rq->reused;
    g->retried = rq->retried;
    g->body_len = rq->body_len;
    snprintf(g->body, sizeof g->body, "%s", rq->body ? rq->body : "(null)");
    copy_header(g->ctype, sizeof g->ctype, rq, "content-type");
    copy_header(g->clen, sizeof g->clen, rq, "Content-Length");
    copy_header(g->link, sizeof g->link, rq, "Link");
}

static int runner(co_t *co)
{
    struct runner *f = (struct runner *)co;
    const struct call *k;
    CO_BEGIN(co);
    group_init(&f->g);
    client_init(&f->c);
    if (f->o->timeout_ms)
        f->c.timeout_ms = f->o->timeout_ms;
    if (f->o->max_body)
        f->c.max_body = f->o->max_body;
    if (f->o->max_head)
        f->c.max_head = f->o->max_head;
    f->out->seen.lfd = sock_listen(f->o->listen ? f->o->listen : "127.0.0.1", 0, 0);
    if (f->out->seen.lfd < 0)
        CO_RAISE(f->out->seen.lfd);
    f->out->seen.port = sock_port(f->out->seen.lfd);
    if (!GROUP_SPAWN(&f->g, server, struct server, .steps = f->steps, .seen = &f->out->seen))
        CO_RAISE(-ENOMEM);
    if (f->o->cancel_ms)
        scope_move_on_after(&f->outer, f->o->cancel_ms);
    for (f->i = 0; f->i < f->ncalls; f->i++) {
        k = &f->calls[f->i];
        if (strstr(k->target, "://"))
            snprintf(f->url, sizeof f->url, "%s", k->target);
        else
            snprintf(f->url, sizeof f->url, "http://%s:%d%s", f->o->host ? f->o->host : "127.0.0.1",
                     f->out->seen.port, k->target);
        client_req(&f->rq, &f->c, k->method, f->url, k->headers, k->data,
                   k->data ? strlen(k->data) : 0);
        AWAIT_CO_CATCH(&f->rq.co, client_request, f->err);
        record(&f->out->got[f->i], &f->rq, f->err, CO_VALUE);
    }
    f->out->ms = S4_MS;
    f->out->connects = f->c.connects;
    f->out->requests = f->c.requests;
    f->out->fd_after = f->c.fd;
    for (int i = 0; i < f->rq.open.naddrs; i++) {
        size_t n = strlen(f->out->addrs);
        snprintf(f->out->addrs + n, sizeof f->out->addrs - n, "%s%s", n ? "," : "", f->rq.open.addrs[i]);
    }
    CO_FINALLY
    CO_ERROR = scope_close(&f->outer, CO_ERROR); /* before the join, which it would cancel */
    client_request_fini(&f->rq);
    client_request_fini(&f->rq); /* twice: must be harmless */
    client_close(&f->c);
    group_cancel(&f->g);
    AWAIT(group_join(&f->g, CO_ERROR));
    if (f->out->seen.lfd >= 0)
        sock_close(f->out->seen.lfd);
    CO_END;
}

/* Run the calls, asserting nothing (so that a test can clean up first). */
static int run_quietly(const struct step *steps, const struct call *calls, int ncalls,
                       const struct opts *o, struct outcome *out, char **log, int *nfds_before)
{
    static const struct opts none;
    memset(out, 0, sizeof *out);
    if (ncalls > MAX_STEPS)
        return -E2BIG;
    struct loop_opts lo = {0};
    lo.virtual_clock = o ? o->virtual_clock : 0;
    *nfds_before = s3_nfds();
    return run_opts(&lo, runner,
                    &(struct runner){.steps = steps, .calls = calls, .ncalls = ncalls,
                                     .o = o ? o : &none, .out = out},
                    sizeof(struct runner), NULL, log);
}

static void check_run(int rc, char *log, int nfds_before, const struct outcome *out, int ncalls)
{
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(log, "");
    free(log);
    ck_assert_int_eq(s3_nfds(), nfds_before); /* every socket closed, the thread pool's pipe too */
    for (int i = 0; i < ncalls; i++)
        ck_assert_int_eq(out->got[i].rq_status, out->got[i].status);
}

static void run(const struct step *steps, const struct call *calls, int ncalls,
                const struct opts *o, struct outcome *out)
{
    char *log = NULL;
    int nfds;
    int rc = run_quietly(steps, calls, ncalls, o, out, &log, &nfds);
    check_run(rc, log, nfds, out, ncalls);
}

/* The request head the client must send for a GET-like call. */
static const char *plain(const char *method, const char *target, int port)
{
    return s4_str("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: async-c\r\n\r\n", method,
                  target, port);
}

static const struct step none_steps[] = {{NULL, 0}};

/* ===== replies by their framing ============================================ */

START_TEST(content_length_reply)
{
    static const struct step steps[] = {
        {"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n", 0},
        {NULL, 0}};
    static const struct call calls[] = {{"GET", "/hello?x=1#frag", NULL, NULL}};
    struct outcome o;
    run(steps, calls, 1, NULL, &o);
    ck_assert_int_eq(o.got[0].err, 0);
    ck_assert_int_eq(o.got[0].status, 200);
    ck_assert_str_eq(o.got[0].body, "hello\n");
    ck_assert_uint_eq(o.got[0].body_len, 6);
    ck_assert_str_eq(o.got[0].ctype, "text/plain");
    ck_assert_str_eq(o.got[0].clen, "6");
    ck_assert_int_eq(o.got[0].reused, 0);
    ck_assert_str_eq(o.seen.req[0], plain("GET", "/hello?x=1", o.seen.port));
    ck_assert_int_eq(o.seen.accepts, 1);
    ck_assert_uint_eq(o.connects, 1);
    ck_assert_uint_eq(o.requests, 1);
    ck_assert_int_ge(o.fd_after, 0); /* kept alive */
}
END_TEST

#define CHUNKED_REPLY                                                          \
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"                   \
    "5\r\nhello\r\n2;note=x\r\n, \r\n5\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n"

START_TEST(chunked_reply_any_split)
{
    /* A byte at a time, then at once, on one connection: the end of the
     * body is found exactly, so the next reply is read from the right byte. */
    static const struct step steps[] = {{CHUNKED_REPLY, S_BYTES}, {CHUNKED_REPLY, 0}, {NULL, 0}};
    static const struct call calls[] = {{"GET", "/a", NULL, NULL}, {"GET", "/b", NULL, NULL}};
    struct outcome o;
    run(steps, calls, 2, NULL, &o);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(o.got[i].err, 0);
        ck_assert_int_eq(o.got[i].status, 200);
        ck_assert_str_eq(o.got[i].body, "hello, world");
        ck_assert_uint_eq(o.got[i].body_len, 12);
        ck_assert_int_eq(o.got[i].reused, i);
    }
    ck_assert_int_eq(o.seen.accepts, 1);
    ck_assert_uint_eq(o.connects, 1);
}
END_TEST

START_TEST(until_close_reply)
{
    /* No length: the body ends with the connection, which is then gone; an
     * HTTP/1.0 reply without keep-alive is not kept either. */
    static const struct step steps[] = {
        {"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it, until the end", S_CLOSE},
        {"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 0},
        {NULL, 0}};
    static const struct call calls[] = {{"GET", "/a", NULL, NULL}, {"GET", "/b", NULL, NULL}};
    struct outcome o;
    run(steps, calls, 2, NULL, &o);
    ck_assert_int_eq(o.got[0].err, 0);
    ck_assert_str_eq(o.got[0].body, "all of it, until the end");
    ck_assert_int_eq(o.got[1].err, 0);
    ck_assert_str_eq(o.got[1].body, "ok");
    ck_assert_int_eq(o.got[1].reused, 0);
    ck_assert_int_eq(o.seen.accepts, 2);
    ck_assert_uint_eq(o.connects, 2);
    ck_assert_int_eq(o.fd_after, -1);
}
END_TEST

START_TEST(head_has_no_body)
{
    /* The Content-Length of a HEAD reply describes the GET's body: the
     * client must not wait for 1234 bytes, and the connection stays usable. */
    static const struct step steps[] = {{"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", 0},
                                        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0},
                                        {NULL, 0}};
    static const struct call calls[] = {{"HEAD", "/", NULL, NULL}, {"GET", "/", NULL, NULL}};
    struct outcome o;
    run(steps, calls, 2, NULL, &o);
    ck_assert_int_eq(o.got[0].err, 0);
    ck_assert_int_eq(o.got[0].status, 200);
    ck_assert_str_eq(o.got[0].body, "");
    ck_assert_uint_eq(o.got[0].body_len, 0);
    ck_assert_str_eq(o.got[0].clen, "1234");
    ck_assert_str_eq(o.seen.req[0], plain("HEAD", "/", o.seen.port));
    ck_assert_int_eq(o.got[1].err, 0);
    ck_assert_str_eq(o.got[1].body, "ok");
    ck_assert_int_eq(o.got[1].reused, 1);
    ck_assert_int_eq(o.seen.accepts, 1);
}
END_TEST

START_TEST(interim_replies_skipped)
{
    static const struct step steps[] = {
        {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
         "HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone",
         S_BYTES},
        {"HTTP/1.1 204 No Content\r\n\r\n", 0},
        {NULL, 0}};
    static const struct call calls[] = {{"PUT", "/x", NULL, "data"}, {"GET", "/y", NULL, NULL}};
    struct outcome o;
    run(steps, calls, 2, NULL, &o);
    ck_assert_int_eq(o.got[0].err, 0);
    ck_assert_int_eq(o.got[0].status, 201);
    ck_assert_str_eq(o.got[0].body, "done");
    ck_assert_str_eq(o.got[0].link, "-"); /* the headers are the final reply's */
    ck_assert_int_eq(o.got[1].err, 0);
    ck_assert_int_eq(o.got[1].status, 204);
    ck_assert_str_eq(o.got[1].body, "");
    ck_assert_int_eq(o.got[1].reused, 1);
    ck_assert_int_eq(o.seen.accepts, 1);
}
END_TEST

/* ===== keep-alive ============================================================ */

START_TEST(keep_alive_reuses_one_connection)
{
    static const char *const test_hdr[] = {"X-Test", "yes", NULL};
    static const char *const agent[] = {"User-Agent", "tester/1", NULL};
    static const struct step steps[] = {{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1", 0},
                                        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2", 0},
                                        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n3", 0},
                                        {NULL, 0}};
    static const struct call calls[] = {{"GET", "/1", NULL, NULL},
                                        {"POST", "/2", test_hdr, "hello"},
                                        {"DELETE", "/3", agent, NULL}};
    struct outcome o;
    run(steps, calls, 3, NULL, &o);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(o.got[i].err, 0);
        ck_assert_int_eq(o.got[i].status, 200);
        ck_assert_int_eq(o.got[i].body[0], '1' + i);
        ck_assert_int_eq(o.got[i].reused, i > 0);
    }
    ck_assert_int_eq(o.seen.accepts, 1);
    ck_assert_uint_eq(o.connects, 1);
    ck_assert_uint_eq(o.requests, 3);
    ck_assert_str_eq(o.seen.req[0], plain("GET", "/1", o.seen.port));
    ck_assert_str_eq(o.seen.req[1],
                     s4_str("POST /2 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: async-c\r\n"
                            "X-Test: yes\r\nContent-Length: 5\r\n\r\nhello",
                            o.seen.port));
    ck_assert_str_eq(o.seen.req[2], s4_str("DELETE /3 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                                           "User-Agent: tester/1\r\n\r\n",
                                           o.seen.port));
}
END_TEST

START_TEST(connection_not_kept_when_unsafe)
{
    /* Bytes after the reply that nobody asked for, and a request that said
     * Connection: close - neither connection may carry the next request. */
    static const char *const close_hdr[] = {"Connection", "close", NULL};
    static const struct step steps[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\n", 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb", 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc", 0},
        {NULL, 0}};
    static const struct call calls[] = {{"GET", "/a", NULL, NULL},
                                        {"GET", "/b", close_hdr, NULL},
                                        {"GET", "/c", NULL, NULL}};
    struct outcome o;
    run(steps, calls, 3, NULL, &o);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(o.got[i].err, 0);
        ck_assert_int_eq(o.got[i].body[0], 'a' + i);
        ck_assert_int_eq(o.got[i].reused, 0);
    }
    ck_assert_int_eq(o.seen.accepts, 3);
    ck_assert_str_eq(o.seen.req[1], s4_str("GET /b HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                                           "User-Agent: async-c\r\nConnection: close\r\n\r\n",
                                           o.seen.port));
}
END_TEST

START_TEST(closed_keep_alive_reconnects)
{
    /* The reply says keep-alive, then the server closes anyway (an idle
     * timeout): the GET is sent again on a new connection. */
    static const struct step steps[] = {{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", S_CLOSE},
                                        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb", 0},
                                        {NULL, 0}};
    static const struct call calls[] = {{"GET", "/a", NULL, NULL}, {"GET", "/b", NULL, NULL}};
    struct outcome o;
    run(steps, calls, 2, NULL, &o);
    ck_assert_int_eq(o.got[0].err, 0);
    ck_assert_int_eq(o.got[1].err, 0);
    ck_assert_str_eq(o.got[1].body, "b");
    ck_assert_int_eq(o.got[1].retried, 1);
    ck_assert_int_eq(o.got[1].reused, 0);
    ck_assert_int_eq(o.seen.accepts, 2);
    ck_assert_uint_eq(o.connects, 2);
    ck_assert_int_eq(o.seen.requests, 2);
    ck_assert_str_eq(o.seen.req[1], plain("GET", "/b", o.seen.port));
}
END_TEST

START_TEST(closed_keep_alive_post_not_retried)
{
    static const struct step steps[] = {{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", S_CLOSE},
                                        {NULL, 0}};
    static const struct call calls[] = {{"GET", "/a", NULL, NULL}, {"POST", "/b", NULL, NULL}};
    struct outcome o;
    run(steps, calls, 2, NULL, &o);
    ck_assert_int_eq(o.got[0].err, 0);
    ck_assert_int_eq(o.got[1].err, -ECONNRESET);
    ck_assert_int_eq(o.got[1].retried, 0);
    ck_assert_str_eq(o.got[1].body, "(null)");
    ck_assert_int_eq(o.seen.accepts, 1);
    ck_assert_uint_eq(o.connects, 1);
    ck_assert_int_eq(o.fd_after, -1);
}
END_TEST

/* ===== failures ============================================================== */

START_TEST(connection_refused)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", s3_dead_port());
    const struct call calls[] = {{"GET", url, NULL, NULL}};
    struct outcome o;
    run(none_steps, calls, 1, NULL, &o);
    ck_assert_int_eq(o.got[0].err, -ECONNREFUSED);
    ck_assert_int_eq(o.got[0].status, 0);
    ck_assert_uint_eq(o.connects, 0);
    ck_assert_int_eq(o.fd_after, -1);
    ck_assert_str_eq(o.addrs, "127.0.0.1"); /* numeric: no lookup */
}
END_TEST

/* One reply that must fail, and how. */
static const struct bad {
    const char *name, *reply;
    int flags;
    uint64_t max_body;
    size_t max_head;
    int err;
} bad[] = {
    {"reset mid-body", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", S_RESET, 0, 0, -ECONNRESET},
    {"closed mid-body", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", S_CLOSE, 0, 0, -ECONNRESET},
    {"closed mid-chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", S_CLOSE, 0, 0, -ECONNRESET},
    {"closed mid-head", "HTTP/1.1 200 OK\r\nContent-Le", S_CLOSE, 0, 0, -ECONNRESET},
    {"closed at once", "", S_CLOSE, 0, 0, -ECONNRESET},
    {"not a status line", "garbage\r\n\r\n", 0, 0, 0, HPARSE_EBAD},
    {"bad status code", "HTTP/1.1 2x0 OK\r\n\r\n", S_BYTES, 0, 0, HPARSE_EBAD},
    {"HTTP/2", "HTTP/2.0 200 OK\r\n\r\n", 0, 0, 0, HPARSE_EVERSION},
    {"differing lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 0, 0, 0, HPARSE_EFRAMING},
    {"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, 0, 0, HPARSE_ECHUNK},
    {"length over max_body", "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n01234567890", 0, 10, 0, CLIENT_ETOOBIG},
    {"chunks over max_body", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n5\r\n67890\r\n0\r\n\r\n", S_BYTES, 10, 0, CLIENT_ETOOBIG},
    {"until close over max_body", "HTTP/1.1 200 OK\r\n\r\n01234567890", S_CLOSE | S_BYTES, 10, 0, CLIENT_ETOOBIG},
    {"head over max_head", "HTTP/1.1 200 OK\r\nX-Long: 0123456789012345678901234567890123456789"
     "0123456789012345678901234567890123456789\r\nContent-Length: 0\r\n\r\n", 0, 0, 64, CLIENT_EHEAD},
    {"1xx heads over max_head", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 0, 64, CLIENT_EHEAD},
};

START_TEST(bad_reply)
{
    const struct bad *b = &bad[_i];
    const struct step steps[] = {{b->reply, b->flags}, {NULL, 0}};
    static const struct call calls[] = {{"GET", "/", NULL, NULL}};
    const struct opts opts = {.max_body = b->max_body, .max_head = b->max_head};
    struct outcome o;
    run(steps, calls, 1, &opts, &o);
    ck_assert_msg(o.got[0].err == b->err, "%s: %d (%s), expected %d", b->name, o.got[0].err,
                  client_strerror(o.got[0].err), b->err);
    ck_assert_int_eq(o.got[0].status, 0);
    ck_assert_str_eq(o.got[0].body, "(null)");
    ck_assert_str_eq(o.got[0].ctype, "-");
    ck_assert_int_eq(o.fd_after, -1); /* an error closes the connection */
}
END_TEST

START_TEST(body_at_max_body)
{
    static const struct step steps[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", 0},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n", 0},
        {NULL, 0}};
    static const struct call calls[] = {{"GET", "/", NULL, NULL}, {"GET", "/", NULL, NULL}};
    const struct opts opts = {.max_body = 10};
    struct outcome o;
    run(steps, calls, 2, &opts, &o);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(o.got[i].err, 0);
        ck_assert_str_eq(o.got[i].body, "0123456789");
    }
}
END_TEST

/* ===== timeouts and cancellation (virtual clock) ============================= */

START_TEST(timeout_when_server_is_silent)
{
    static const struct step steps[] = {{"", S_SILENT}, {NULL, 0}};
    static const struct call calls[] = {{"GET", "/", NULL, NULL}};
    const struct opts opts = {.timeout_ms = 5000, .virtual_clock = 1};
    struct outcome o;
    run(steps, calls, 1, &opts, &o);
    ck_assert_int_eq(o.got[0].err, -ETIMEDOUT);
    ck_assert_uint_eq(o.ms, 5000);
    ck_assert_int_eq(o.fd_after, -1);
    ck_assert_str_eq(o.got[0].body, "(null)");
}
END_TEST

START_TEST(cancel_from_outside_is_not_a_timeout)
{
    /* An outer scope expires first: the request sees -ECANCELED, which its
     * own scope hands on (it did not cause it) and the outer one catches. */
    static const struct step steps[] = {{"", S_SILENT}, {NULL, 0}};
    static const struct call calls[] = {{"GET", "/", NULL, NULL}};
    const struct opts opts = {.timeout_ms = 5000, .cancel_ms = 1000, .virtual_clock = 1};
    struct outcome o;
    run(steps, calls, 1, &opts, &o);
    ck_assert_int_eq(o.got[0].err, -ECANCELED);
    ck_assert_uint_eq(o.ms, 1000);
    ck_assert_int_eq(o.fd_after, -1);
}
END_TEST

/* ===== one request at a time ================================================== */

/* One request on a shared client, from a task of its own. */
struct user {
    co_t co;
    struct client *c;
    const char *url;
    int *err;
    int *reused;
    struct client_request rq;
};

static int user(co_t *co)
{
    struct user *f = (struct user *)co;
    CO_BEGIN(co);
    client_req(&f->rq, f->c, "GET", f->url, NULL, NULL, 0);
    AWAIT_CO_CATCH(&f->rq.co, client_request, *f->err);
    *f->reused = f->rq.reused;
    CO_FINALLY
    client_request_fini(&f->rq);
    CO_END;
}

struct busy_main {
    co_t co;
    int *errs, *reused;
    struct seen *seen;
    int i;
    char url[64];
    struct client c;
    group_t srv, users, later;
};

static int busy_main(co_t *co)
{
    struct busy_main *f = (struct busy_main *)co;
    static const struct step steps[] = {{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA", S_BYTES},
                                        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nC", 0},
                                        {NULL, 0}};
    CO_BEGIN(co);
    group_init(&f->srv);
    client_init(&f->c);
    f->seen->lfd = sock_listen("127.0.0.1", 0, 0);
    ck_assert_int_ge(f->seen->lfd, 0);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d/", sock_port(f->seen->lfd));
    ck_assert_ptr_nonnull(GROUP_SPAWN(&f->srv, server, struct server, .steps = steps,
                                      .seen = f->seen));
    /* The second user comes while the first one's request is on the
     * connection (the server has it, and answers a byte a turn). */
    group_init(&f->users);
    ck_assert_ptr_nonnull(GROUP_SPAWN(&f->users, user, struct user, .c = &f->c, .url = f->url,
                                      .err = &f->errs[0], .reused = &f->reused[0]));
    for (f->i = 0; f->seen->requests == 0 && f->i < 10000; f->i++)
        AWAIT(task_yield());
    ck_assert_int_eq(f->seen->requests, 1);
    ck_assert_ptr_nonnull(GROUP_SPAWN(&f->users, user, struct user, .c = &f->c, .url = f->url,
                                      .err = &f->errs[1], .reused = &f->reused[1]));
    AWAIT(group_join(&f->users, 0));
    /* The refused one left the connection alone: the next request uses it. */
    group_init(&f->later);
    ck_assert_ptr_nonnull(GROUP_SPAWN(&f->later, user, struct user, .c = &f->c, .url = f->url,
                                      .err = &f->errs[2], .reused = &f->reused[2]));
    AWAIT(group_join(&f->later, 0));
    CO_FINALLY
    client_close(&f->c);
    group_cancel(&f->srv);
    AWAIT(group_join(&f->srv, CO_ERROR));
    if (f->seen->lfd >= 0)
        sock_close(f->seen->lfd);
    CO_END;
}

START_TEST(one_request_at_a_time)
{
    int errs[3] = {1, 1, 1}, reused[3] = {-1, -1, -1};
    struct seen seen = {0};
    struct loop_opts lo = {0};
    char *log = NULL;
    int nfds = s3_nfds();
    ck_assert_int_eq(run_opts(&lo, busy_main,
                              &(struct busy_main){.errs = errs, .reused = reused, .seen = &seen},
                              sizeof(struct busy_main), NULL, &log),
                     0);
    ck_assert_str_eq(log, "");
    free(log);
    ck_assert_int_eq(errs[0], 0);
    ck_assert_int_eq(errs[1], -EBUSY);
    ck_assert_int_eq(errs[2], 0);
    ck_assert_int_eq(reused[0], 0);
    ck_assert_int_eq(reused[2], 1);
    ck_assert_int_eq(seen.accepts, 1);
    ck_assert_int_eq(seen.requests, 2);
    ck_assert_int_eq(s3_nfds(), nfds);
}
END_TEST

/* ===== names and URLs ========================================================= */

START_TEST(hostname_resolved_on_a_thread)
{
    static const struct step steps[] = {{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0},
                                        {NULL, 0}};
    static const struct call calls[] = {{"GET", "/", NULL, NULL}};
    const struct opts opts = {.host = "localhost"};
    struct outcome o;
    run(steps, calls, 1, &opts, &o);
    ck_assert_int_eq(o.got[0].err, 0);
    ck_assert_str_eq(o.got[0].body, "ok");
    /* getaddrinfo ran: its addresses are there, 127.0.0.1 among them. */
    ck_assert_msg(strstr(o.addrs, "127.0.0.1") != NULL, "addresses: %s", o.addrs);
    ck_assert_str_eq(o.seen.req[0], s4_str("GET / HTTP/1.1\r\nHost: localhost:%d\r\n"
                                           "User-Agent: async-c\r\n\r\n",
                                           o.seen.port));
}
END_TEST

START_TEST(ipv6_literal)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {0};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    if (!ok) {
        printf("skipped ipv6_literal: no IPv6 loopback here\n");
        return;
    }
    static const struct step steps[] = {{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nv6", 0},
                                        {NULL, 0}};
    static const struct call calls[] = {{"GET", "/six", NULL, NULL}};
    const struct opts opts = {.host = "[::1]", .listen = "::1"};
    struct outcome o;
    run(steps, calls, 1, &opts, &o);
    ck_assert_int_eq(o.got[0].err, 0);
    ck_assert_str_eq(o.got[0].body, "v6");
    ck_assert_str_eq(o.addrs, "::1");
    ck_assert_str_eq(o.seen.req[0], s4_str("GET /six HTTP/1.1\r\nHost: [::1]:%d\r\n"
                                           "User-Agent: async-c\r\n\r\n",
                                           o.seen.port));
}
END_TEST

START_TEST(unknown_hostname)
{
    static const struct call calls[] = {{"GET", "http://no-such-host.invalid/", NULL, NULL}};
    struct outcome o;
    run(none_steps, calls, 1, NULL, &o);
    /* .invalid never resolves (RFC 6761); a host with no resolver at all
     * may fail the lookup itself instead. */
    if (o.got[0].err == CLIENT_ERESOLVE)
        printf("note: no resolver here: the lookup failed rather than found no name\n");
    else
        ck_assert_int_eq(o.got[0].err, CLIENT_ENONAME);
    ck_assert_uint_eq(o.connects, 0);
    ck_assert_str_eq(client_strerror(CLIENT_ENONAME), "host name not found");
}
END_TEST

static const struct url_case {
    const char *url;
    int err;
    const char *host;
    int port, ipv6;
    const char *target;
} urls[] = {
    {"http://127.0.0.1:8080/hello", 0, "127.0.0.1", 8080, 0, "/hello"},
    {"HTTP://Example.COM", 0, "example.com", 80, 0, ""},
    {"http://[::1]:81/a?b=1#frag", 0, "::1", 81, 1, "/a?b=1"},
    {"http://h?q=1", 0, "h", 80, 0, "?q=1"},
    {"http://h:/x", 0, "h", 80, 0, "/x"},
    {"http://a-b.c_d:65535", 0, "a-b.c_d", 65535, 0, ""},
    {"https://example.com/", -EPROTONOSUPPORT, "", 80, 0, NULL},
    {"ftp://example.com/", -EPROTONOSUPPORT, "", 80, 0, NULL},
    {"", -EINVAL, "", 80, 0, NULL},
    {"example.com/x", -EINVAL, "", 80, 0, NULL},
    {"://h/", -EINVAL, "", 80, 0, NULL},
    {"1http://h/", -EINVAL, "", 80, 0, NULL},
    {"http://", -EINVAL, "", 80, 0, NULL},
    {"http:///x", -EINVAL, "", 80, 0, NULL},
    {"http://h:0/", -EINVAL, "", 80, 0, NULL},
    {"http://h:65536/", -EINVAL, "", 80, 0, NULL},
    {"http://h:8x/", -EINVAL, "", 80, 0, NULL},
    {"http://user@h/", -EINVAL, "", 80, 0, NULL},
    {"http://[::1/", -EINVAL, "", 80, 0, NULL},
    {"http://[zz]/", -EINVAL, "", 80, 0, NULL},
    {"http://[::1]x/", -EINVAL, "", 80, 0, NULL},
    {"http://h/a b", -EINVAL, "", 80, 0, NULL},
    {"http://h/\r\nX-Evil: 1", -EINVAL, "", 80, 0, NULL},
    {"http://h/\x80", -EINVAL, "", 80, 0, NULL},
    {"http://h%41/", -EINVAL, "", 80, 0, NULL},
};

START_TEST(url_parsing)
{
    const struct url_case *k = &urls[_i];
    struct client_url u;
    int r = client_parse_url(k->url, &u);
    ck_assert_msg(r == k->err, "%s: %d, expected %d", k->url, r, k->err);
    if (r == 0) {
        ck_assert_str_eq(u.host, k->host);
        ck_assert_int_eq(u.port, k->port);
        ck_assert_int_eq(u.ipv6, k->ipv6);
        ck_assert_uint_eq(u.target_len, strlen(k->target));
        ck_assert_int_eq(memcmp(u.target, k->target, u.target_len), 0);
    }
}
END_TEST

START_TEST(url_edge_cases)
{
    struct client_url u;
    char host[300];
    memset(host, 'a', sizeof host);
    memcpy(host, "http://", 7);
    host[sizeof host - 1] = '\0'; /* a 292-character host */
    ck_assert_int_eq(client_parse_url(host, &u), -EINVAL);
    ck_assert_int_eq(client_parse_url(NULL, &u), -EINVAL);
}
END_TEST

/* Requests refused before anything is sent: nothing reaches the server. */
START_TEST(bad_requests_refused)
{
    static const char *const crlf[] = {"X-A", "1\r\nX-B: 2", NULL};
    static const char *const lf[] = {"X-A", "1\nX-B: 2", NULL};
    static const char *const host[] = {"Host", "elsewhere", NULL};
    static const char *const clen[] = {"content-length", "3", NULL};
    static const char *const te[] = {"Transfer-Encoding", "chunked", NULL};
    static const char *const name[] = {"Bad Name", "v", NULL};
    static const char *const noval[] = {"X-A", NULL};
    static const struct call calls[] = {
        {"GE T", "/", NULL, NULL},      {"", "/", NULL, NULL},
        {"GET", "/", crlf, NULL},       {"GET", "/", lf, NULL},
        {"GET", "/", host, NULL},       {"POST", "/", clen, "abc"},
        {"POST", "/", te, "abc"},       {"GET", "/", name, NULL},
        {"GET", "/", noval, NULL},      {"GET", "https://127.0.0.1/", NULL, NULL},
    };
    static const int want[] = {-EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL,
                               -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EPROTONOSUPPORT};
    struct outcome o;
    run(none_steps, calls, (int)N_OF(calls), NULL, &o);
    for (size_t i = 0; i < N_OF(calls); i++)
        ck_assert_msg(o.got[i].err == want[i], "call %zu: %d", i, o.got[i].err);
    ck_assert_int_eq(o.seen.accepts, 0);
    ck_assert_uint_eq(o.connects, 0);
}
END_TEST

START_TEST(error_texts)
{
    ck_assert_str_eq(client_strerror(CLIENT_ERESOLVE), "host name lookup failed");
    ck_assert_str_eq(client_strerror(CLIENT_EHEAD), "reply head larger than the client's max_head");
    ck_assert_str_eq(client_strerror(CLIENT_ETOOBIG), "reply body larger than the client's max_body");
    ck_assert_str_eq(client_strerror(HPARSE_EFRAMING), hparse_strerror(HPARSE_EFRAMING));
    ck_assert_str_eq(client_strerror(-ECONNREFUSED), strerror(ECONNREFUSED));
    ck_assert_str_eq(client_strerror(TASK_ENOLOOP), task_strerror(TASK_ENOLOOP));
    struct client_request rq;
    memset(&rq, 0, sizeof rq);
    client_request_fini(&rq); /* a frame never used */
    client_request_fini(&rq);
    ck_assert_ptr_null(rq.body);
    ck_assert_ptr_null(client_header(&rq, "Content-Length"));
}
END_TEST

/* ===== interop: Python's http.server ========================================== */

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Connect with a plain blocking socket: is the server up yet? */
static int can_connect(int port)
{
    int fd = s6_dial(port);
    if (fd >= 0)
        close(fd);
    return fd >= 0;
}

/* SIGTERM, then SIGKILL if it has not gone within 2 s; always reaped. */
static void stop_child(pid_t pid)
{
    kill(pid, SIGTERM);
    for (int i = 0; i < 40; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        nap_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

extern char **environ;

START_TEST(python_http_server)
{
    char py[512];
    if (!s6_find_in_path("python3", py, sizeof py)) {
        printf("skipped python_http_server: python3 is not installed\n");
        return;
    }
    char dir[] = "/tmp/client_test_XXXXXX", file[64], portstr[16];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/hello.txt", dir);
    FILE *fp = fopen(file, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("hello from python\n", fp);
    fclose(fp);
    int port = s3_dead_port();
    snprintf(portstr, sizeof portstr, "%d", port);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    char *argv[] = {py, "-m", "http.server", "--bind", "127.0.0.1", "--directory", dir, portstr, NULL};
    pid_t pid;
    int sp = posix_spawn(&pid, py, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    ck_assert_int_eq(sp, 0);
    int up = 0;
    for (int i = 0; i < 200 && !(up = can_connect(port)); i++) /* 10 s at most */
        nap_ms(50);

    char u1[64], u2[64];
    snprintf(u1, sizeof u1, "http://127.0.0.1:%d/hello.txt", port);
    snprintf(u2, sizeof u2, "http://127.0.0.1:%d/missing.txt", port);
    const struct call calls[] = {{"GET", u1, NULL, NULL}, {"HEAD", u1, NULL, NULL},
                                 {"GET", u2, NULL, NULL}, {"GET", u1, NULL, NULL}};
    struct outcome o;
    char *log = NULL;
    int nfds = 0, rc = 0;
    if (up)
        rc = run_quietly(none_steps, calls, 4, NULL, &o, &log, &nfds);
    stop_child(pid); /* before any assertion, which would end the test */
    unlink(file);
    rmdir(dir);
    ck_assert_msg(up, "python3 -m http.server did not start on port %d", port);
    check_run(rc, log, nfds, &o, 4);
    ck_assert_int_eq(o.got[0].err, 0);
    ck_assert_int_eq(o.got[0].status, 200);
    ck_assert_str_eq(o.got[0].body, "hello from python\n");
    ck_assert_str_eq(o.got[0].clen, "18");
    ck_assert_str_eq(o.got[0].ctype, "text/plain");
    ck_assert_int_eq(o.got[1].err, 0);
    ck_assert_int_eq(o.got[1].status, 200);
    ck_assert_str_eq(o.got[1].body, "");
    ck_assert_str_eq(o.got[1].clen, "18");
    ck_assert_int_eq(o.got[2].err, 0);
    ck_assert_int_eq(o.got[2].status, 404);
    ck_assert_int_eq(o.got[3].err, 0);
    ck_assert_str_eq(o.got[3].body, "hello from python\n");
}
END_TEST

/* ===== the tcases ============================================================= */

static TCase *client_case(Suite *s, const char *name)
{
    TCase *tc = new_case(s, name);
    tcase_set_timeout(tc, 60);
    return tc;
}

void stage06_client_tcases(Suite *s)
{
    TCase *tc = client_case(s, "client_framing");
    tcase_add_test(tc, content_length_reply);
    tcase_add_test(tc, chunked_reply_any_split);
    tcase_add_test(tc, until_close_reply);
    tcase_add_test(tc, head_has_no_body);
    tcase_add_test(tc, interim_replies_skipped);
    tcase_add_test(tc, body_at_max_body);

    tc = client_case(s, "client_keep_alive");
    tcase_add_test(tc, keep_alive_reuses_one_connection);
    tcase_add_test(tc, connection_not_kept_when_unsafe);
    tcase_add_test(tc, one_request_at_a_time);
    tcase_add_test(tc, closed_keep_alive_reconnects);
    tcase_add_test(tc, closed_keep_alive_post_not_retried);

    tc = client_case(s, "client_errors");
    tcase_add_test(tc, connection_refused);
    tcase_add_loop_test(tc, bad_reply, 0, (int)N_OF(bad));
    tcase_add_test(tc, timeout_when_server_is_silent);
    tcase_add_test(tc, cancel_from_outside_is_not_a_timeout);
    tcase_add_test(tc, bad_requests_refused);
    tcase_add_test(tc, error_texts);

    tc = client_case(s, "client_names");
    tcase_add_test(tc, hostname_resolved_on_a_thread);
    tcase_add_test(tc, ipv6_literal);
    tcase_add_test(tc, unknown_hostname);
    tcase_add_loop_test(tc, url_parsing, 0, (int)N_OF(urls));
    tcase_add_test(tc, url_edge_cases);

    tc = client_case(s, "client_interop");
    tcase_add_test(tc, python_http_server);
}
