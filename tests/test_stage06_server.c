/*
 * test_stage06_server.c - the HTTP/1.1 server (http.h) over loopback, in
 * the test's own loop.
 *
 * Each test runs http_serve on a port the kernel picks, beside one or more
 * scripted clients: raw sockets that connect, send exact bytes (at once,
 * or a byte per send with a turn between), read a given number of whole
 * replies or everything up to the end of the connection, sleep, or call
 * http_stop.  A client records every byte it received, and after each step
 * how many it had and the loop's time, so a test can say which reply came
 * when.  Replies are compared byte for byte, with only the Date value
 * replaced by "D" (after checking its form); access-log lines likewise,
 * with only the duration replaced by "T".
 *
 * Everything runs on the virtual clock: when every task waits, time jumps
 * to the next deadline, so a 408 after head_timeout_ms or an idle close
 * happens at exactly its time and takes no real time.  Loopback delivers
 * bytes and connections at once, so no jump ever overtakes a byte in
 * flight.  Every run must leave the loop's log empty (no task or scope
 * left behind), no descriptor open, and http_serve returning 0 after its
 * http_stop (which the harness calls when the clients are done, if no
 * client did).
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "client.h"
#include "hparse.h"
#include "http.h"
#include "sleep.h"
#include "sock.h"
#include "stage03_util.h"
#include "stage04_util.h"
#include "stage06_util.h"

#define N_OF(a) (sizeof a / sizeof a[0])
#define MAX_CONNS 4      /* scripted clients in one run */
#define MAX_ACTS 24      /* steps of one script */
#define GUARD_MS 600000  /* a client stuck this long (virtual) is a hang */

/* ===== the routes ============================================================= */

struct plain {
    struct http_handler h;
};

static int hello(co_t *co)
{
    struct plain *f = (struct plain *)co;
    CO_BEGIN(co);
    http_text(f->h.res, 200, "hello\n");
    CO_END;
}

struct echo {
    struct http_handler h;
    struct http_read rd;
};

/* The body back, with the request's Content-Type if it had one. */
static int echo(co_t *co)
{
    struct echo *f = (struct echo *)co;
    const char *type;
    CO_BEGIN(co);
    http_reading(&f->rd, f->h.req);
    AWAIT_CO(&f->rd.co, http_read_all);
    type = http_header_in(f->h.req, "Content-Type");
    http_respond(f->h.res, 200, type ? type : "text/plain; charset=utf-8", f->h.req->body.p,
                 f->h.req->body.len);
    CO_END;
}

/* Answers without looking at the body: the server must skip it. */
static int drop(co_t *co)
{
    struct plain *f = (struct plain *)co;
    CO_BEGIN(co);
    http_text(f->h.res, 200, "dropped\n");
    CO_END;
}

static int user(co_t *co)
{
    struct plain *f = (struct plain *)co;
    char x[32];
    CO_BEGIN(co);
    if (http_query(f->h.req, "x", x, sizeof x) < 0)
        strcpy(x, "-");
    http_text(f->h.res, 200, "id=%s x=%s\n", http_param(f->h.req, "id"), x);
    CO_END;
}

struct streamer {
    struct http_handler h;
    int i;
};

static int streamer(co_t *co)
{
    static const char *const pieces[] = {"one\n", "two\n", "three\n"};
    struct streamer *f = (struct streamer *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < 3; f->i++)
        AWAIT(http_write(f->h.res, pieces[f->i], strlen(pieces[f->i])));
    CO_END;
}

/* 204 No Content, with a body anyway (buffered, or ?stream=1 streamed):
 * the server must drop it, or the client would read it as the next reply. */
static int no_content(co_t *co)
{
    struct streamer *f = (struct streamer *)co;
    char v[4];
    CO_BEGIN(co);
    if (http_query(f->h.req, "stream", v, sizeof v) > 0) {
        f->h.res->status = 204;
        AWAIT(http_write(f->h.res, "stray\n", 6));
        CO_RETURN(0);
    }
    http_text(f->h.res, 204, "stray\n");
    CO_END;
}

/* The task that ran the failing handler, to find in the error log. */
static unsigned fail_task_id;

static int failing(co_t *co)
{
    struct plain *f = (struct plain *)co;
    CO_BEGIN(co);
    fail_task_id = task_current()->id;
    http_text(f->h.res, 200, "half an answer, which must not be sent\n");
    CO_RAISE(-EIO);
    CO_END;
}

struct slow {
    struct http_handler h;
    long ms;
};

/* Sleeps ?ms=N (1000 if absent), then answers. */
static int slow(co_t *co)
{
    struct slow *f = (struct slow *)co;
    char v[24];
    CO_BEGIN(co);
    f->ms = http_query(f->h.req, "ms", v, sizeof v) > 0 ? strtol(v, NULL, 10) : 1000;
    AWAIT(sleep_ms((uint64_t)f->ms));
    http_text(f->h.res, 200, "slept %ld\n", f->ms);
    CO_END;
}

static const struct http_route routes[] = {
    HTTP_ROUTE("GET", "/hello", hello, struct plain),
    HTTP_ROUTE("POST", "/echo", echo, struct echo),
    HTTP_ROUTE("PUT", "/echo", echo, struct echo),
    HTTP_ROUTE("POST", "/drop", drop, struct plain),
    HTTP_ROUTE("GET", "/users/{id}", user, struct plain),
    HTTP_ROUTE("GET", "/stream", streamer, struct streamer),
    HTTP_ROUTE("GET", "/fail", failing, struct plain),
    HTTP_ROUTE("GET", "/slow", slow, struct slow),
    HTTP_ROUTE("GET", "/nocontent", no_content, struct streamer),
};

/* ===== the scripted clients =================================================== */

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
};

struct act {
    int op;
    const char *s;
    long n;
    const char *t, *d;
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
#define END {.op = C_END}

/* What one client saw (outside the frames, which are freed). */
struct conn_out {
    char got[16384];
    size_t len;
    size_t mark[MAX_ACTS];            /* len after each step */
    unsigned long long t[MAX_ACTS];   /* the loop's time after each step, ms */
    int steps;                        /* steps done */
    int connect_err, send_err, recv_err;
    int eof;                          /* the server closed */
    int guard_err;                    /* the client hung */
    int port;                         /* its local port: the access log's */
};

/* The length of the whole reply at the start of buf, or 0 if it has not
 * all arrived.  A reply that does not parse counts as whole, so that the
 * test sees it rather than waits for more. */
static size_t one_reply(const char *buf, size_t len, int to_head)
{
    static char head[16384];
    static struct hparse_resp r;
    struct hparse_scan sc = {0};
    size_t hl = hparse_scan_head(&sc, buf, len);
    if (hl == 0)
        return 0;
    memcpy(head, buf, hl);
    if (hparse_response(head, hl, HPARSE_MAX_HEADERS, to_head, &r) < 0)
        return hl;
    if (r.body == HPARSE_BODY_NONE)
        return hl;
    if (r.body == HPARSE_BODY_LENGTH)
        return len - hl >= r.content_length ? hl + (size_t)r.content_length : 0;
    if (r.body == HPARSE_BODY_CHUNKED) {
        struct hparse_chunked ch = {0};
        size_t pos = hl;
        while (pos < len) {
            size_t used = 0, dlen = 0;
            const char *data = NULL;
            int k = hparse_chunked(&ch, buf + pos, len - pos, &used, &data, &dlen);
            if (k < 0)
                return len;
            pos += used;
            if (k == 1)
                return pos;
            if (used == 0)
                break;
        }
    }
    return 0; /* until close: C_EOF reads those */
}

static int local_port(int fd)
{
    struct sockaddr_in a;
    socklen_t n = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &n) < 0)
        return -1;
    return ntohs(a.sin_port);
}

struct conn_script {
    co_t co;
    const struct act *acts;
    struct conn_out *out;
    struct http_server *srv;
    int fd, i, err;
    long k, replies;
    size_t parsed, n;
    struct scope guard;
    struct client cl;
    struct client_request rq;
    char url[128];
};

#define ACT (&f->acts[f->i])

/* After an AWAIT_CATCH: a cancel (the guard) must end the script. */
#define PASS_CANCEL(err)                                                       \
    do {                                                                       \
        if ((err) == -ECANCELED)                                               \
            CO_RAISE(err);                                                     \
    } while (0)

static int conn_script(co_t *co)
{
    struct conn_script *f = (struct conn_script *)co;
    struct conn_out *o = f->out;
    CO_BEGIN(co);
    f->fd = -1;
    client_init(&f->cl);
    scope_fail_after(&f->guard, GUARD_MS);
    for (f->i = 0; f->i < MAX_ACTS && ACT->op != C_END; f->i++) {
        if (ACT->op == C_CONNECT) {
            if (f->fd >= 0)
                sock_close(f->fd);
            f->fd = -1;
            o->eof = 0;
            f->parsed = o->len;
            AWAIT_CATCH(sock_connect("127.0.0.1", f->srv->port), f->err);
            PASS_CANCEL(f->err);
            if (f->err) {
                o->connect_err = f->err;
                break;
            }
            f->fd = (int)CO_VALUE;
            o->port = local_port(f->fd);
        } else if (ACT->op == C_SEND) {
            AWAIT_CATCH(sock_send_all(f->fd, ACT->s, strlen(ACT->s)), f->err);
            PASS_CANCEL(f->err);
            if (f->err && !o->send_err)
                o->send_err = f->err;
        } else if (ACT->op == C_BYTES) {
            for (f->k = 0; ACT->s[f->k]; f->k++) {
                AWAIT_CATCH(sock_send_all(f->fd, ACT->s + f->k, 1), f->err);
                PASS_CANCEL(f->err);
                if (f->err && !o->send_err)
                    o->send_err = f->err;
                AWAIT(task_yield());
            }
        } else if (ACT->op == C_RECV) {
            for (f->replies = 0;;) {
                while (f->replies < ACT->n &&
                       (f->n = one_reply(o->got + f->parsed, o->len - f->parsed,
                                         ACT->s != NULL)) > 0) {
                    f->parsed += f->n;
                    f->replies++;
                }
                if (f->replies >= ACT->n || o->eof || o->len == sizeof o->got)
                    break;
                AWAIT_CATCH(sock_recv(f->fd, o->got + o->len, sizeof o->got - o->len), f->err);
                PASS_CANCEL(f->err);
                if (f->err || CO_VALUE == 0) {
                    o->eof = 1;
                    o->recv_err = f->err;
                    break;
                }
                o->len += (size_t)CO_VALUE;
            }
        } else if (ACT->op == C_EOF) {
            while (!o->eof && o->len < sizeof o->got) {
                AWAIT_CATCH(sock_recv(f->fd, o->got + o->len, sizeof o->got - o->len), f->err);
                PASS_CANCEL(f->err);
                if (f->err || CO_VALUE == 0) {
                    o->eof = 1;
                    o->recv_err = f->err;
                } else {
                    o->len += (size_t)CO_VALUE;
                }
            }
            f->parsed = o->len;
        } else if (ACT->op == C_SLEEP) {
            AWAIT(sleep_ms((uint64_t)ACT->n));
        } else if (ACT->op == C_STOP) {
            http_stop(f->srv);
        } else if (ACT->op == C_CLOSE) {
            sock_close(f->fd);
            f->fd = -1;
        } else if (ACT->op == C_CALL) {
            snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d%s", f->srv->port, ACT->t);
            client_req(&f->rq, &f->cl, ACT->s, f->url, NULL, ACT->d, ACT->d ? strlen(ACT->d) : 0);
            AWAIT_CO_CATCH(&f->rq.co, client_request, f->err);
            PASS_CANCEL(f->err);
            if (f->err)
                snprintf(o->got + o->len, sizeof o->got - o->len, "error %d\n", f->err);
            else
                snprintf(o->got + o->len, sizeof o->got - o->len, "%d %d %d %s\n", f->rq.status,
                         f->rq.reused, f->rq.retried, f->rq.body);
            o->len += strlen(o->got + o->len);
        }
        o->mark[f->i] = o->len;
        o->t[f->i] = S4_MS;
        o->steps = f->i + 1;
    }
    CO_FINALLY
    CO_ERROR = scope_close(&f->guard, CO_ERROR);
    if (CO_ERROR)
        o->guard_err = CO_ERROR;
    CO_ERROR = 0;
    if (f->fd >= 0)
        sock_close(f->fd);
    client_request_fini(&f->rq);
    client_close(&f->cl);
    CO_END;
}

/* ===== the harness ============================================================ */

/* One run: the server's configuration and state, and what came out. */
struct fixture {
    struct http_config cfg;
    struct http_server srv;
    const struct act *scripts[MAX_CONNS];
    int nconns;
    struct conn_out out[MAX_CONNS];
    int listen_err, served, serve_err;
    unsigned long long t_served;      /* when http_serve returned, ms */
    int expect_errors;                /* the error log may have lines */
    char *access, *errors, *log;      /* the logs' text */
    size_t alen, elen;
};

static struct fixture F;

/* Runs http_serve, and notes how and when it ended. */
struct serving {
    co_t co;
    struct http_serve serve;
    int err;
};

static int serving(co_t *co)
{
    struct serving *f = (struct serving *)co;
    CO_BEGIN(co);
    f->serve.srv = &F.srv;
    AWAIT_CO_CATCH(&f->serve.co, http_serve, f->err);
    F.serve_err = f->err;
    F.served = 1;
    F.t_served = S4_MS;
    CO_END;
}

struct harness {
    co_t co;
    int started, i;
    group_t server, clients;
};

static int harness(co_t *co)
{
    struct harness *f = (struct harness *)co;
    CO_BEGIN(co);
    F.listen_err = http_listen(&F.srv, &F.cfg);
    if (F.listen_err)
        CO_RETURN(0);
    group_init(&f->server);
    group_init(&f->clients);
    f->started = 1;
    if (!GROUP_SPAWN(&f->server, serving, struct serving, .err = 0))
        CO_RAISE(-ENOMEM);
    for (f->i = 0; f->i < F.nconns; f->i++)
        if (!GROUP_SPAWN(&f->clients, conn_script, struct conn_script, .acts = F.scripts[f->i],
                         .out = &F.out[f->i], .srv = &F.srv))
            CO_RAISE(-ENOMEM);
    AWAIT(group_join(&f->clients, 0));
    CO_FINALLY
    if (f->started) {
        if (!f->clients.joined)
            AWAIT(group_join(&f->clients, CO_ERROR ? CO_ERROR : -ECANCELED));
        http_stop(&F.srv); /* if no client did */
        AWAIT(group_join(&f->server, CO_ERROR));
    }
    CO_END;
}

/* Run the server with these clients, and check what every run must: the
 * loop ran clean, the server returned 0, no descriptor was left open, no
 * client hung, and (unless the test expects some) no error was logged. */
static void run_scripts(const struct act *const *scripts, int n)
{
    ck_assert_int_le(n, MAX_CONNS);
    F.nconns = n;
    for (int i = 0; i < n; i++)
        F.scripts[i] = scripts[i];
    FILE *af = open_memstream(&F.access, &F.alen);
    FILE *ef = open_memstream(&F.errors, &F.elen);
    ck_assert_ptr_nonnull(af);
    ck_assert_ptr_nonnull(ef);
    F.cfg.access_log = af;
    F.cfg.error_log = ef;
    struct loop_opts lo = {0};
    lo.virtual_clock = 1;
    int nfds = s3_nfds();
    int rc = run_opts(&lo, harness, &(struct harness){.started = 0}, sizeof(struct harness), NULL,
                      &F.log);
    fclose(af);
    fclose(ef);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(F.log, "");
    ck_assert_int_eq(F.listen_err, 0);
    ck_assert_int_eq(F.served, 1);
    ck_assert_int_eq(F.serve_err, 0);
    ck_assert_int_eq(F.srv.stats.conns, 0);
    ck_assert_int_eq(F.srv.stats.active, 0);
    ck_assert_int_eq(s3_nfds(), nfds);
    for (int i = 0; i < n; i++)
        ck_assert_msg(F.out[i].guard_err == 0, "client %d hung (step %d)", i, F.out[i].steps);
    if (!F.expect_errors)
        ck_assert_str_eq(F.errors, "");
}

static void run1(const struct act *script)
{
    run_scripts(&script, 1);
}

static void setup(void)
{
    free(F.access);
    free(F.errors);
    free(F.log);
    memset(&F, 0, sizeof F);
    http_config_default(&F.cfg);
    F.cfg.port = 0;
    F.cfg.routes = routes;
    F.cfg.nroutes = N_OF(routes);
    fail_task_id = 0;
}

static void teardown(void)
{
    free(F.access);
    free(F.errors);
    free(F.log);
    F.access = F.errors = F.log = NULL;
}

/* ===== what the replies must be ================================================ */

/* Strings built for a comparison: several may be alive at once. */
static char *scratch(void)
{
    static char ring[12][16384];
    static int next;
    return ring[next++ % 12];
}

static const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static const char *fmt(const char *f, ...)
{
    char *b = scratch();
    va_list ap;
    va_start(ap, f);
    vsnprintf(b, 16384, f, ap);
    va_end(ap);
    return b;
}

/* Is s an IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT"? */
static int is_fixdate(const char *s)
{
    static const char form[] = "Aaa, 00 Aaa 0000 00:00:00 GMT";
    for (size_t i = 0; i < sizeof form - 1; i++) {
        char c = s[i], want = form[i];
        int ok = want == 'A' ? c >= 'A' && c <= 'Z'
                 : want == 'a' ? c >= 'a' && c <= 'z'
                 : want == '0' ? c >= '0' && c <= '9'
                               : c == want;
        if (!ok)
            return 0;
    }
    return s[sizeof form - 1] == '\r' || s[sizeof form - 1] == '\0';
}

/* got[from..to) with each well-formed Date value replaced by "D". */
static const char *norm(const char *got, size_t from, size_t to)
{
    char *b = scratch(), *o = b;
    const char *p = got + from, *end = got + to;
    while (p < end && o < b + 16383) {
        if (end - p >= 7 + 29 + 1 && memcmp(p, "\nDate: ", 7) == 0 && is_fixdate(p + 7)) {
            memcpy(o, "\nDate: D", 8);
            o += 8;
            p += 7 + 29;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return b;
}

/* Everything client i received, and what it received in step k. */
static const char *got_all(int i)
{
    return norm(F.out[i].got, 0, F.out[i].len);
}

static const char *got_step(int i, int k)
{
    return norm(F.out[i].got, k ? F.out[i].mark[k - 1] : 0, F.out[i].mark[k]);
}

#define TEXT "text/plain; charset=utf-8"

/* A reply with a Content-Length body, as http__head frames it; `fields`
 * come after Content-Length ("Connection: close\r\n", then the handler's). */
static const char *reply_t(int status, const char *type, const char *fields, const char *body)
{
    return fmt("HTTP/1.1 %d %s\r\nServer: async-c\r\nDate: D\r\nContent-Type: %s\r\n"
               "Content-Length: %zu\r\n%s\r\n%s",
               status, http_reason(status), type, strlen(body), fields, body);
}

static const char *reply(int status, const char *fields, const char *body)
{
    return reply_t(status, TEXT, fields, body);
}

/* The server's own answer to an error. */
static const char *error_reply(int status, const char *fields)
{
    char body[64];
    snprintf(body, sizeof body, "%d %s\n", status, http_reason(status));
    return reply(status, fields, body);
}

#define CLOSE_F "Connection: close\r\n"

static const char *const HELLO = "HTTP/1.1 200 OK\r\nServer: async-c\r\nDate: D\r\n"
                                 "Content-Type: text/plain; charset=utf-8\r\n"
                                 "Content-Length: 6\r\n\r\nhello\n";

/* The access log with each line's duration ("0.012ms") replaced by "T". */
static const char *access_log(void)
{
    char *b = scratch(), *o = b;
    const char *p = F.access ? F.access : "";
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        const char *sp = p + n;
        while (sp > p && sp[-1] != ' ')
            sp--;
        /* digits, '.', three digits, "ms" */
        const char *q = sp;
        while (q < p + n && *q >= '0' && *q <= '9')
            q++;
        int ok = q > sp && p + n - q == 6 && q[0] == '.' && q[1] >= '0' && q[1] <= '9' &&
                 q[2] >= '0' && q[2] <= '9' && q[3] >= '0' && q[3] <= '9' && q[4] == 'm' &&
                 q[5] == 's';
        size_t keep = ok ? (size_t)(sp - p) : n;
        if (o + keep + 3 >= b + 16384)
            break;
        memcpy(o, p, keep);
        o += keep;
        if (ok)
            *o++ = 'T';
        *o++ = '\n';
        p += n + (nl != NULL);
    }
    *o = '\0';
    return b;
}

/* One access-log line as log_request writes it, for client i. */
static const char *log_line(int i, const char *request, int status, unsigned long bytes)
{
    return fmt("127.0.0.1:%d \"%s\" %d %lu T\n", F.out[i].port, request, status, bytes);
}

/* The reply at the start of s, parsed: the fields every reply must have. */
static void check_fields(const char *s, int status)
{
    char head[4096];
    struct hparse_scan sc = {0};
    static struct hparse_resp r;
    size_t hl = hparse_scan_head(&sc, s, strlen(s));
    ck_assert_uint_gt(hl, 0);
    ck_assert_uint_lt(hl, sizeof head);
    memcpy(head, s, hl);
    ck_assert_int_eq(hparse_response(head, hl, HPARSE_MAX_HEADERS, 0, &r), 0);
    ck_assert_int_eq(r.status, status);
    ck_assert_int_eq(r.minor, 1);
    ck_assert_ptr_nonnull(hparse_get(r.headers, r.nheaders, "Date"));
    ck_assert_msg(is_fixdate(hparse_get(r.headers, r.nheaders, "Date")), "Date: %s", hparse_get(r.headers, r.nheaders, "Date"));
    ck_assert_str_eq(hparse_get(r.headers, r.nheaders, "Server"), "async-c");
    ck_assert_ptr_nonnull(hparse_get(r.headers, r.nheaders, "Content-Type"));
    ck_assert_msg(hparse_get(r.headers, r.nheaders, "Content-Length") ||
                      r.body == HPARSE_BODY_CHUNKED,
                  "neither Content-Length nor chunked");
}

#define GET_HELLO "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"

/* ===== keep-alive and closing ================================================== */

START_TEST(get_hello)
{
    static const struct act c[] = {CONNECT, SEND(GET_HELLO), RECV(1), CLOSE, END};
    run1(c);
    ck_assert_str_eq(got_all(0), HELLO);
    check_fields(F.out[0].got, 200);
    ck_assert_int_eq(F.out[0].eof, 0);
    ck_assert_str_eq(access_log(), log_line(0, "GET /hello HTTP/1.1", 200, 6));
    ck_assert_uint_eq(F.srv.stats.requests, 1);
    ck_assert_uint_eq(F.srv.stats.accepted, 1);
    ck_assert_uint_eq(F.srv.stats.errors, 0);
    ck_assert_uint_eq(F.srv.stats.bytes_out, 6);
    ck_assert_uint_eq(F.srv.stats.refused, 0);
}
END_TEST

START_TEST(head_has_no_body)
{
    /* The HEAD reply's Content-Length is the GET's; had a body followed,
     * the GET's reply would not start right after the head. */
    static const struct act c[] = {
        CONNECT, SEND("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n"), RECV_HEAD,
        SEND(GET_HELLO), RECV(1), CLOSE, END};
    run1(c);
    ck_assert_str_eq(got_step(0, 2), "HTTP/1.1 200 OK\r\nServer: async-c\r\nDate: D\r\n"
                                     "Content-Type: text/plain; charset=utf-8\r\n"
                                     "Content-Length: 6\r\n\r\n");
    ck_assert_str_eq(got_step(0, 4), HELLO);
    ck_assert_str_eq(access_log(), fmt("%s%s", log_line(0, "HEAD /hello HTTP/1.1", 200, 0),
                                       log_line(0, "GET /hello HTTP/1.1", 200, 6)));
    ck_assert_uint_eq(F.srv.stats.requests, 2);
    ck_assert_uint_eq(F.srv.stats.bytes_out, 6); /* body bytes sent: the GET's only */
}
END_TEST

START_TEST(no_content_has_no_body)
{
    /* Pipelined: a stray body after either 204 would come before HELLO. */
    static const struct act c[] = {
        CONNECT,
        SEND("GET /nocontent HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /nocontent?stream=1 HTTP/1.1\r\nHost: x\r\n\r\n" GET_HELLO),
        RECV(3), CLOSE, END};
    run1(c);
    ck_assert_str_eq(got_all(0),
                     fmt("%s%s%s", "HTTP/1.1 204 No Content\r\nServer: async-c\r\nDate: D\r\n\r\n",
                         "HTTP/1.1 204 No Content\r\nServer: async-c\r\nDate: D\r\n\r\n", HELLO));
    ck_assert_str_eq(access_log(),
                     fmt("%s%s%s", log_line(0, "GET /nocontent HTTP/1.1", 204, 0),
                         log_line(0, "GET /nocontent?stream=1 HTTP/1.1", 204, 0),
                         log_line(0, "GET /hello HTTP/1.1", 200, 6)));
    ck_assert_uint_eq(F.srv.stats.bytes_out, 6);
}
END_TEST

START_TEST(keep_alive_two_requests)
{
    static const struct act c[] = {CONNECT, SEND(GET_HELLO), RECV(1),
                                   SEND("GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\n"), RECV(1),
                                   CLOSE, END};
    run1(c);
    ck_assert_str_eq(got_step(0, 2), HELLO);
    ck_assert_str_eq(got_step(0, 4), reply(200, "", "id=1 x=-\n"));
    ck_assert_int_eq(F.out[0].eof, 0);
    ck_assert_uint_eq(F.srv.stats.accepted, 1);
    ck_assert_uint_eq(F.srv.stats.requests, 2);
}
END_TEST

START_TEST(http10_closes)
{
    static const struct act c[] = {CONNECT, SEND("GET /hello HTTP/1.0\r\n\r\n"), UNTIL_EOF, END};
    run1(c);
    ck_assert_str_eq(got_all(0), reply(200, CLOSE_F, "hello\n"));
    ck_assert_int_eq(F.out[0].eof, 1);
    ck_assert_int_eq(F.out[0].recv_err, 0);
    ck_assert_str_eq(access_log(), log_line(0, "GET /hello HTTP/1.0", 200, 6));
}
END_TEST

START_TEST(http10_keep_alive)
{
    static const struct act c[] = {
        CONNECT, SEND("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), RECV(1),
        SEND("GET /users/2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), RECV(1), CLOSE, END};
    run1(c);
    ck_assert_str_eq(got_step(0, 2), reply(200, "Connection: keep-alive\r\n", "hello\n"));
    ck_assert_str_eq(got_step(0, 4), reply(200, "Connection: keep-alive\r\n", "id=2 x=-\n"));
    ck_assert_int_eq(F.out[0].eof, 0);
    ck_assert_uint_eq(F.srv.stats.accepted, 1);
}
END_TEST

START_TEST(connection_close_honoured)
{
    static const struct act c[] = {
        CONNECT, SEND("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), UNTIL_EOF,
        END};
    run1(c);
    ck_assert_str_eq(got_all(0), reply(200, CLOSE_F, "hello\n"));
    ck_assert_int_eq(F.out[0].eof, 1);
    ck_assert_int_eq(F.out[0].recv_err, 0);
    ck_assert_uint_eq(F.out[0].t[2], 0); /* at once: no linger after a 200 */
}
END_TEST

/* ===== pipelining and splits =================================================== */

START_TEST(pipelined_three)
{
    static const struct act c[] = {
        CONNECT,
        SEND(GET_HELLO "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                       "GET /users/3 HTTP/1.1\r\nHost: x\r\n\r\n"),
        RECV(3), CLOSE, END};
    run1(c);
    ck_assert_str_eq(got_all(0), fmt("%s%s%s", HELLO, reply(200, "", "abc"),
                                     reply(200, "", "id=3 x=-\n")));
    ck_assert_uint_eq(F.srv.stats.requests, 3);
    ck_assert_uint_eq(F.srv.stats.bytes_out, 6 + 3 + 9);
}
END_TEST

START_TEST(byte_split_request)
{
    /* Every split of a head and of a chunked body. */
    static const struct act c[] = {
        CONNECT, BYTES(GET_HELLO), RECV(1),
        BYTES("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              "3;a=b\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n"),
        RECV(1), CLOSE, END};
    run1(c);
    ck_assert_str_eq(got_step(0, 2), HELLO);
    ck_assert_str_eq(got_step(0, 4), reply(200, "", "abcde"));
}
END_TEST

/* ===== bodies ================================================================== */

START_TEST(echo_content_length)
{
    static const struct act c[] = {
        CONNECT,
        SEND("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: 11\r\n\r\n{\"a\": [1]}\n"),
        RECV(1), CLOSE, END};
    run1(c);
    ck_assert_str_eq(got_all(0), reply_t(200, "application/json", "", "{\"a\": [1]}\n"));
    ck_assert_str_eq(access_log(), log_line(0, "POST /echo HTTP/1.1", 200, 11));
}
END_TEST

START_TEST(echo_chunked)
{
    static const struct act c[] = {
        CONNECT,
        SEND("PUT /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\nX-Two: 2\r\n\r\n"
             GET_HELLO),
        RECV(2), CLOSE, END};
    run1(c);
    /* The trailers are consumed: the next request starts right after them. */
    ck_assert_str_eq(got_all(0), fmt("%s%s", reply(200, "", "hello world"), HELLO));
}
END_TEST

START_TEST(expect_continue)
{
    static const struct act c[] = {
        CONNECT,
        SEND("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"),
        RECV(1), SEND("body"), RECV(1), SEND(GET_HELLO), RECV(1), CLOSE, END};
    run1(c);
    ck_assert_str_eq(got_step(0, 2), "HTTP/1.1 100 Continue\r\n\r\n");
    ck_assert_str_eq(got_step(0, 4), reply(200, "", "body"));
    ck_assert_str_eq(got_step(0, 6), HELLO);
    ck_assert_uint_eq(F.srv.stats.requests, 2); /* the 100 is not an answer */
}
END_TEST

START_TEST(skipped_body)
{
    /* A handler that ignores the body: the server reads past it, so the
     * next request is found where it begins. */
    static const struct act c[] = {
        CONNECT,
        SEND("POST /drop HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nxxxxx" GET_HELLO
             "POST /drop HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "2\r\nGE\r\n0\r\n\r\n" GET_HELLO),
        RECV(4), CLOSE, END};
    run1(c);
    ck_assert_str_eq(got_all(0), fmt("%s%s%s%s", reply(200, "", "dropped\n"), HELLO,
                                     reply(200, "", "dropped\n"), HELLO));
}
END_TEST

/* The body the handler skipped turns out to be bad after the answer went
 * out: the connection ends (where the next request begins is unknown), and
 * quietly, since it was the client's fault (run1 checks the error log is
 * empty). */
START_TEST(skipped_body_goes_bad)
{
    static const struct act c[] = {
        CONNECT,
        SEND("POST /drop HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "zz\r\n" GET_HELLO),
        UNTIL_EOF, END};
    run1(c);
    ck_assert_str_eq(got_all(0), reply(200, "", "dropped\n"));
    ck_assert_uint_eq(F.srv.stats.requests, 1);
}
END_TEST

START_TEST(body_too_large)
{
    /* Refused from its Content-Length, before a byte is read - so no 100
     * Continue either; and chunked, once the pieces pass max_body. */
    static const struct act a[] = {
        CONNECT,
        SEND("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n"),
        UNTIL_EOF, END};
    static const struct act b[] = {
        CONNECT,
        SEND("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "6\r\n012345\r\n5\r\n6789a\r\n0\r\n\r\n"),
        UNTIL_EOF, END};
    static const struct act *const both[] = {a, b};
    F.cfg.max_body = 10;
    run_scripts(both, 2);
    ck_assert_str_eq(got_all(0), error_reply(413, CLOSE_F));
    ck_assert_str_eq(got_all(1), error_reply(413, CLOSE_F));
    ck_assert_int_eq(F.out[0].eof, 1);
    ck_assert_int_eq(F.out[1].eof, 1);
    ck_assert_uint_eq(F.srv.stats.errors, 2);
}
END_TEST

START_TEST(body_at_max_body)
{
    static const struct act c[] = {
        CONNECT,
        SEND("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"
             "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "6\r\n012345\r\n4\r\n6789\r\n0\r\n\r\n"),
        RECV(2), CLOSE, END};
    F.cfg.max_body = 10;
    run1(c);
    ck_assert_str_eq(got_all(0), fmt("%s%s", reply(200, "", "0123456789"),
                                     reply(200, "", "0123456789")));
}
END_TEST

START_TEST(streamed_reply)
{
    static const struct act c[] = {
        CONNECT, SEND("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"), RECV(1),
        SEND("HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n"), RECV_HEAD, CLOSE, END};
    static const struct act raw[] = {SLEEP(10), CONNECT, SEND("GET /stream HTTP/1.0\r\n\r\n"),
                                     UNTIL_EOF, END};
    static const struct act *const both[] = {c, raw};
    run_scripts(both, 2);
    static const char head[] = "HTTP/1.1 200 OK\r\nServer: async-c\r\nDate: D\r\n"
                               "Content-Type: text/plain; charset=utf-8\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n";
    ck_assert_str_eq(got_step(0, 2),
                     fmt("%s4\r\none\n\r\n4\r\ntwo\n\r\n6\r\nthree\n\r\n0\r\n\r\n", head));
    check_fields(F.out[0].got, 200);
    ck_assert_str_eq(got_step(0, 4), head);
    /* HTTP/1.0 knows no chunks: the body as it is, ended by the close. */
    ck_assert_str_eq(got_all(1), "HTTP/1.1 200 OK\r\nServer: async-c\r\nDate: D\r\n"
                                 "Content-Type: text/plain; charset=utf-8\r\n"
                                 "Connection: close\r\n\r\none\ntwo\nthree\n");
    ck_assert_int_eq(F.out[1].eof, 1);
    ck_assert_uint_eq(F.srv.stats.bytes_out, 14 + 14);
    ck_assert_str_eq(access_log(), fmt("%s%s%s", log_line(0, "GET /stream HTTP/1.1", 200, 14),
                                       log_line(0, "HEAD /stream HTTP/1.1", 200, 0),
                                       log_line(1, "GET /stream HTTP/1.0", 200, 14)));
}
END_TEST

/* ===== errors ================================================================== */

/* A request answered with an error, and then the connection closed. */
static const struct bad_case {
    const char *name, *request;
    int status;
} bad_cases[] = {
    {"malformed request line", "GARBAGE\r\n\r\n", 400},
    {"no version", "GET /hello\r\nHost: x\r\n\r\n", 400},
    {"HTTP/1.1 without Host", "GET /hello HTTP/1.1\r\n\r\n", 400},
    {"Content-Length and Transfer-Encoding",
     "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0\r\n\r\n", 400},
    {"differing Content-Lengths",
     "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
    {"bad chunk size",
     "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
     400},
    {"chunked not the final coding: no way to find the end",
     "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
    {"a coding we cannot decode",
     "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
    {"unknown expectation", "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", 417},
    {"HTTP/2.0", "GET /hello HTTP/2.0\r\nHost: x\r\n\r\n", 505},
    {"HTTP/3.0", "GET /hello HTTP/3.0\r\nHost: x\r\n\r\n", 505},
    {"HTTP/3 (no minor: not a version at all)", "GET /hello HTTP/3\r\nHost: x\r\n\r\n", 400},
    {"request line over max_request_line",
     "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
    {"request line over max_request_line, unfinished",
     "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 414},
    {"more fields than max_headers",
     "GET /hello HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 431},
    {"head over max_head",
     "GET /hello HTTP/1.1\r\nHost: x\r\nX-Long: "
     "0123456789012345678901234567890123456789012345678901234567890123456789"
     "0123456789012345678901234567890123456789012345678901234567890123456789"
     "0123456789012345678901234567890123456789012345678901234567890123456789", 431},
    {"a bad escape in a path parameter", "GET /users/a%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
};

START_TEST(error_status)
{
    const struct bad_case *k = &bad_cases[_i];
    const struct act c[] = {CONNECT, SEND(k->request), UNTIL_EOF, END};
    F.cfg.max_request_line = 64;
    F.cfg.max_head = 200;
    F.cfg.max_headers = 4;
    run1(c);
    ck_assert_msg(strcmp(got_all(0), error_reply(k->status, CLOSE_F)) == 0, "%s: got %s",
                  k->name, got_all(0));
    check_fields(F.out[0].got, k->status);
    ck_assert_int_eq(F.out[0].eof, 1);
    ck_assert_uint_eq(F.srv.stats.requests, 1);
    ck_assert_uint_eq(F.srv.stats.errors, 1);
    /* The server stops reading, then lingers until the client closes:
     * which it does at once, on the end of the reply. */
    ck_assert_uint_eq(F.out[0].t[2], 0);
}
END_TEST

START_TEST(not_found_keeps_connection)
{
    static const struct act c[] = {CONNECT, SEND("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"),
                                   RECV(1), SEND(GET_HELLO), RECV(1), CLOSE, END};
    run1(c);
    ck_assert_str_eq(got_step(0, 2), error_reply(404, ""));
    check_fields(F.out[0].got, 404);
    ck_assert_str_eq(got_step(0, 4), HELLO);
    ck_assert_uint_eq(F.srv.stats.errors, 1);
    ck_assert_uint_eq(F.srv.stats.requests, 2);
}
END_TEST

START_TEST(method_not_allowed)
{
    static const struct act c[] = {
        CONNECT,
        SEND("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n"
             "POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi" GET_HELLO),
        RECV(3), CLOSE, END};
    run1(c);
    ck_assert_str_eq(got_all(0), fmt("%s%s%s", error_reply(405, "Allow: POST, PUT\r\n"),
                                     error_reply(405, "Allow: GET, HEAD\r\n"), HELLO));
}
END_TEST

START_TEST(handler_failure)
{
    static const struct act c[] = {CONNECT, SEND("GET /fail HTTP/1.1\r\nHost: x\r\n\r\n"),
                                   UNTIL_EOF, END};
    F.expect_errors = 1;
    run1(c);
    /* Not the half-built answer: a 500, and the connection closed. */
    ck_assert_str_eq(got_all(0), error_reply(500, CLOSE_F));
    ck_assert_uint_ne(fail_task_id, 0);
    ck_assert_str_eq(F.errors, fmt("http: GET /fail: handler /fail failed in task "
                                   "'conn_task#%u': %s\n",
                                   fail_task_id, strerror(EIO)));
    ck_assert_str_eq(access_log(), log_line(0, "GET /fail HTTP/1.1", 500, 26));
    ck_assert_uint_eq(F.srv.stats.errors, 1);
}
END_TEST

START_TEST(over_max_conns)
{
    /* One connection held open; the second is answered 503 and closed
     * without a task; once the first has gone, a third is served. */
    static const struct act a[] = {CONNECT, SEND(GET_HELLO), RECV(1), SLEEP(200), CLOSE, END};
    static const struct act b[] = {SLEEP(100), CONNECT, UNTIL_EOF, SLEEP(200), CONNECT,
                                   SEND(GET_HELLO), RECV(1), END};
    static const struct act *const both[] = {a, b};
    F.cfg.max_conns = 1;
    run_scripts(both, 2);
    ck_assert_str_eq(got_all(0), HELLO);
    ck_assert_str_eq(got_step(1, 2), "HTTP/1.1 503 Service Unavailable\r\n"
                                     "Content-Type: text/plain\r\nContent-Length: 24\r\n"
                                     "Retry-After: 1\r\nConnection: close\r\n\r\n"
                                     "503 Service Unavailable\n");
    ck_assert_uint_eq(F.out[1].t[2], 100);
    ck_assert_str_eq(got_step(1, 6), HELLO);
    ck_assert_uint_eq(F.srv.stats.refused, 1);
    ck_assert_uint_eq(F.srv.stats.accepted, 3);
    ck_assert_uint_eq(F.srv.stats.requests, 2); /* the 503 is not a request */
}
END_TEST

/* ===== timeouts, on the virtual clock =========================================== */

START_TEST(head_timeout_partial)
{
    static const struct act c[] = {CONNECT, SEND("GET /hello HTTP/1.1\r\nHo"), UNTIL_EOF, END};
    F.cfg.head_timeout_ms = 3000;
    run1(c);
    ck_assert_str_eq(got_all(0), error_reply(408, CLOSE_F));
    ck_assert_uint_eq(F.out[0].t[2], 3000);
    ck_assert_uint_eq(F.srv.stats.requests, 1);
    ck_assert_uint_eq(F.srv.stats.errors, 1);
    ck_assert_str_eq(access_log(), log_line(0, "- - HTTP/1.1", 408, 20));
}
END_TEST

START_TEST(head_timeout_from_first_byte)
{
    /* Kept alive: idle until the next head's first byte (at 1000), and
     * from then on head_timeout_ms for the rest of it. */
    static const struct act c[] = {CONNECT, SEND(GET_HELLO), RECV(1), SLEEP(1000),
                                   SEND("GET /hel"), UNTIL_EOF, END};
    F.cfg.head_timeout_ms = 3000;
    F.cfg.idle_timeout_ms = 2000;
    run1(c);
    ck_assert_str_eq(got_step(0, 2), HELLO);
    ck_assert_str_eq(got_step(0, 5), error_reply(408, CLOSE_F));
    ck_assert_uint_eq(F.out[0].t[5], 4000);
}
END_TEST

START_TEST(head_timeout_from_accept)
{
    /* Nothing sent at all: the first head's deadline counts from accept,
     * and the close is quiet - no request began, so there is nothing to
     * answer 408 to and nothing to log (a browser's unused preconnect). */
    static const struct act c[] = {CONNECT, UNTIL_EOF, END};
    F.cfg.head_timeout_ms = 2500;
    F.cfg.idle_timeout_ms = 100; /* not this one: no request was ever kept alive */
    run1(c);
    ck_assert_str_eq(got_all(0), "");
    ck_assert_uint_eq(F.out[0].t[1], 2500);
    ck_assert_uint_eq(F.srv.stats.errors, 0);
    ck_assert_uint_eq(F.srv.stats.requests, 0);
    ck_assert_str_eq(access_log(), "");
}
END_TEST

START_TEST(idle_close)
{
    static const struct act c[] = {CONNECT, SEND(GET_HELLO), RECV(1), UNTIL_EOF, END};
    F.cfg.idle_timeout_ms = 2000;
    run1(c);
    /* Closed quietly: nothing after the reply. */
    ck_assert_str_eq(got_all(0), HELLO);
    ck_assert_uint_eq(F.out[0].mark[3], F.out[0].mark[2]);
    ck_assert_int_eq(F.out[0].eof, 1);
    ck_assert_int_eq(F.out[0].recv_err, 0);
    ck_assert_uint_eq(F.out[0].t[3], 2000);
    ck_assert_uint_eq(F.srv.stats.requests, 1);
    ck_assert_uint_eq(F.srv.stats.errors, 0);
}
END_TEST

START_TEST(body_timeout)
{
    static const struct act c[] = {
        CONNECT, SEND("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf"),
        SLEEP(1500), SEND("f"), UNTIL_EOF, END};
    F.cfg.body_timeout_ms = 2000;
    run1(c);
    /* Each byte restarts the wait: 1500 + 2000. */
    ck_assert_str_eq(got_all(0), error_reply(408, CLOSE_F));
    ck_assert_uint_eq(F.out[0].t[4], 3500);
}
END_TEST

/* ===== the access log ========================================================== */

START_TEST(access_log_lines)
{
    static const struct act c[] = {
        CONNECT,
        SEND(GET_HELLO "GET /users/7?x=1&y=%41 HTTP/1.1\r\nHost: x\r\n\r\n"
                       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                       "GET /nope?q HTTP/1.1\r\nHost: x\r\n\r\n"
                       "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n"),
        RECV(4), RECV_HEAD, CLOSE, END};
    static const struct act later[] = {SLEEP(10), CONNECT, SEND("GET /hello HTTP/1.0\r\n\r\n"),
                                       UNTIL_EOF, END};
    static const struct act *const both[] = {c, later};
    run_scripts(both, 2);
    ck_assert_str_eq(access_log(),
                     fmt("%s%s%s%s%s%s", log_line(0, "GET /hello HTTP/1.1", 200, 6),
                         log_line(0, "GET /users/7?x=1&y=%41 HTTP/1.1", 200, 9),
                         log_line(0, "POST /echo HTTP/1.1", 200, 5),
                         log_line(0, "GET /nope?q HTTP/1.1", 404, 14),
                         log_line(0, "HEAD /hello HTTP/1.1", 200, 0),
                         log_line(1, "GET /hello HTTP/1.0", 200, 6)));
    ck_assert_int_ne(F.out[0].port, F.out[1].port);
}
END_TEST

/* ===== graceful shutdown =========================================================== */

START_TEST(graceful_stop)
{
    /* a: a request in flight at the stop, which completes, and the
     * connection with it; b: idle, closed at the stop; c: stops the server,
     * then finds it no longer listening. */
    static const struct act a[] = {CONNECT, SEND("GET /slow?ms=500 HTTP/1.1\r\nHost: x\r\n\r\n"),
                                   UNTIL_EOF, END};
    static const struct act b[] = {CONNECT, SEND(GET_HELLO), RECV(1), UNTIL_EOF, END};
    static const struct act c[] = {SLEEP(100), STOP, CONNECT, END};
    static const struct act *const all[] = {a, b, c};
    run_scripts(all, 3);
    ck_assert_str_eq(got_all(0), reply(200, CLOSE_F, "slept 500\n"));
    ck_assert_int_eq(F.out[0].eof, 1);
    ck_assert_uint_eq(F.out[0].t[2], 500);
    ck_assert_str_eq(got_all(1), HELLO);
    ck_assert_int_eq(F.out[1].eof, 1);
    ck_assert_uint_eq(F.out[1].t[3], 100);
    ck_assert_int_eq(F.out[2].connect_err, -ECONNREFUSED);
    ck_assert_uint_eq(F.t_served, 500);
    ck_assert_uint_eq(F.srv.stats.requests, 2);
    ck_assert_uint_eq(F.srv.stats.accepted, 2);
}
END_TEST

START_TEST(grace_cut_off)
{
    /* A handler still asleep when grace_ms has passed is cancelled: its
     * client gets no answer, only the close, and the server returns 0. */
    static const struct act a[] = {CONNECT, SEND("GET /slow?ms=10000 HTTP/1.1\r\nHost: x\r\n\r\n"),
                                   UNTIL_EOF, END};
    static const struct act c[] = {SLEEP(100), STOP, END};
    static const struct act *const both[] = {a, c};
    F.cfg.grace_ms = 1000;
    run_scripts(both, 2);
    ck_assert_str_eq(got_all(0), "");
    ck_assert_int_eq(F.out[0].eof, 1);
    ck_assert_uint_eq(F.out[0].t[2], 1100);
    ck_assert_uint_eq(F.t_served, 1100);
    ck_assert_str_eq(access_log(), "");
    ck_assert_uint_eq(F.srv.stats.requests, 0);
}
END_TEST

START_TEST(stop_closes_silent_connection)
{
    /* Connected, not a byte sent (a browser's preconnect): nothing is in
     * flight there, so the stop closes it at once, with no answer, rather
     * than wait grace_ms for it; one half-way through a head is waited for. */
    static const struct act d[] = {CONNECT, UNTIL_EOF, END};
    static const struct act h[] = {CONNECT, SEND("GET /hello HTTP/1.1\r\n"), SLEEP(200),
                                   SEND("Host: x\r\n\r\n"), UNTIL_EOF, END};
    static const struct act c[] = {SLEEP(100), STOP, END};
    static const struct act *const all[] = {d, h, c};
    run_scripts(all, 3);
    ck_assert_str_eq(got_all(0), "");
    ck_assert_int_eq(F.out[0].eof, 1);
    ck_assert_uint_eq(F.out[0].t[1], 100);
    ck_assert_str_eq(got_all(1), reply(200, CLOSE_F, "hello\n"));
    ck_assert_uint_eq(F.out[1].t[4], 200);
    ck_assert_uint_eq(F.t_served, 200);
    ck_assert_uint_eq(F.srv.stats.requests, 1);
}
END_TEST

/* ===== stats, parameters, the query ================================================ */

START_TEST(params_and_query)
{
    static const struct act c[] = {
        CONNECT,
        SEND("GET /users/42?x=1 HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /users/a%20b?y=2&x=1+2%21 HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /users/ HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /users/1/2 HTTP/1.1\r\nHost: x\r\n\r\n"),
        RECV(4), CLOSE, END};
    run1(c);
    ck_assert_str_eq(got_all(0), fmt("%s%s%s%s", reply(200, "", "id=42 x=1\n"),
                                     reply(200, "", "id=a b x=1 2!\n"), error_reply(404, ""),
                                     error_reply(404, "")));
}
END_TEST

START_TEST(stats_add_up)
{
    static const struct act a[] = {
        CONNECT, SEND(GET_HELLO "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"), RECV(2),
        SEND("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"), RECV(1), CLOSE, END};
    static const struct act b[] = {SLEEP(10), CONNECT, SEND("BAD\r\n\r\n"), UNTIL_EOF, END};
    static const struct act *const both[] = {a, b};
    run_scripts(both, 2);
    ck_assert_uint_eq(F.srv.stats.accepted, 2);
    ck_assert_uint_eq(F.srv.stats.requests, 4);
    ck_assert_uint_eq(F.srv.stats.errors, 2);
    ck_assert_uint_eq(F.srv.stats.refused, 0);
    ck_assert_uint_eq(F.srv.stats.bytes_out, 6 + 14 + 14 + 16);
}
END_TEST

/* ===== the project's client against the server ===================================== */

START_TEST(with_the_client)
{
    /* The client keeps the connection; after the server's idle close it
     * finds it closed and sends the GET again on a new one. */
    static const struct act c[] = {
        CALL("GET", "/hello", NULL),       CALL("POST", "/echo", "posted"),
        CALL("GET", "/users/5?x=y", NULL), CALL("HEAD", "/hello", NULL),
        CALL("GET", "/nope", NULL),        SLEEP(1500),
        CALL("GET", "/hello", NULL),       CALL("GET", "/stream", NULL),
        END};
    F.cfg.idle_timeout_ms = 1000;
    run1(c);
    ck_assert_str_eq(F.out[0].got, "200 0 0 hello\n\n"
                                   "200 1 0 posted\n"
                                   "200 1 0 id=5 x=y\n\n"
                                   "200 1 0 \n"
                                   "404 1 0 404 Not Found\n\n"
                                   "200 0 1 hello\n\n"
                                   "200 1 0 one\ntwo\nthree\n\n");
    ck_assert_uint_eq(F.srv.stats.accepted, 2);
    ck_assert_uint_eq(F.srv.stats.requests, 7);
}
END_TEST

/* ===== the tcases ================================================================= */

static TCase *server_case(Suite *s, const char *name)
{
    TCase *tc = new_case(s, name);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    return tc;
}

void stage06_server_tcases(Suite *s)
{
    TCase *tc = server_case(s, "server_keep_alive");
    tcase_add_test(tc, get_hello);
    tcase_add_test(tc, head_has_no_body);
    tcase_add_test(tc, no_content_has_no_body);
    tcase_add_test(tc, keep_alive_two_requests);
    tcase_add_test(tc, http10_closes);
    tcase_add_test(tc, http10_keep_alive);
    tcase_add_test(tc, connection_close_honoured);

    tc = server_case(s, "server_pipelining");
    tcase_add_test(tc, pipelined_three);
    tcase_add_test(tc, byte_split_request);

    tc = server_case(s, "server_bodies");
    tcase_add_test(tc, echo_content_length);
    tcase_add_test(tc, echo_chunked);
    tcase_add_test(tc, expect_continue);
    tcase_add_test(tc, skipped_body);
    tcase_add_test(tc, skipped_body_goes_bad);
    tcase_add_test(tc, body_too_large);
    tcase_add_test(tc, body_at_max_body);
    tcase_add_test(tc, streamed_reply);

    tc = server_case(s, "server_errors");
    tcase_add_loop_test(tc, error_status, 0, (int)N_OF(bad_cases));
    tcase_add_test(tc, not_found_keeps_connection);
    tcase_add_test(tc, method_not_allowed);
    tcase_add_test(tc, handler_failure);
    tcase_add_test(tc, over_max_conns);

    tc = server_case(s, "server_timeouts");
    tcase_add_test(tc, head_timeout_partial);
    tcase_add_test(tc, head_timeout_from_first_byte);
    tcase_add_test(tc, head_timeout_from_accept);
    tcase_add_test(tc, idle_close);
    tcase_add_test(tc, body_timeout);

    tc = server_case(s, "server_log");
    tcase_add_test(tc, access_log_lines);

    tc = server_case(s, "server_shutdown");
    tcase_add_test(tc, graceful_stop);
    tcase_add_test(tc, grace_cut_off);
    tcase_add_test(tc, stop_closes_silent_connection);

    tc = server_case(s, "server_stats");
    tcase_add_test(tc, params_and_query);
    tcase_add_test(tc, stats_add_up);

    tc = server_case(s, "server_with_client");
    tcase_add_test(tc, with_the_client);
}
