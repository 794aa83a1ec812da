/*
 * stage06_script.c - the scripted clients and the harness that runs them
 * beside the server (stage06_script.h says how a test uses them).
 *
 * Each test runs http_serve on a port the kernel picks, beside one or more
 * scripted clients: raw sockets that connect, send exact bytes (at once,
 * a byte per send with a turn between, or a byte every so many ms), read a
 * given number of whole replies or bytes or everything up to the end of
 * the connection, sleep, half-close, reset, or call http_stop.  A client
 * records every byte it received, and after each step how many it had and
 * the loop's time, so a test can say which reply came when.
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
#include "stage06_script.h"

#define N_OF(a) (sizeof a / sizeof a[0])

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
unsigned sc_fail_task_id;

static int failing(co_t *co)
{
    struct plain *f = (struct plain *)co;
    CO_BEGIN(co);
    sc_fail_task_id = task_current()->id;
    http_text(f->h.res, 200, "half an answer, which must not be sent\n");
    CO_RAISE(-EIO);
    CO_END;
}

struct big {
    struct http_handler h;
    long kb, i;
    char kib[1024];
};

/* ?kb=N KiB (64 if absent), streamed a KiB per write: a reply far larger
 * than a socket buffer, so that the client can leave in the middle. */
static int big(co_t *co)
{
    struct big *f = (struct big *)co;
    char v[24];
    CO_BEGIN(co);
    f->kb = http_query(f->h.req, "kb", v, sizeof v) > 0 ? strtol(v, NULL, 10) : 64;
    memset(f->kib, 'x', sizeof f->kib);
    for (f->i = 0; f->i < f->kb; f->i++)
        AWAIT(http_write(f->h.res, f->kib, sizeof f->kib));
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

const struct http_route sc_routes[] = {
    HTTP_ROUTE("GET", "/hello", hello, struct plain),
    HTTP_ROUTE("POST", "/echo", echo, struct echo),
    HTTP_ROUTE("PUT", "/echo", echo, struct echo),
    HTTP_ROUTE("POST", "/drop", drop, struct plain),
    HTTP_ROUTE("GET", "/users/{id}", user, struct plain),
    HTTP_ROUTE("GET", "/stream", streamer, struct streamer),
    HTTP_ROUTE("GET", "/fail", failing, struct plain),
    HTTP_ROUTE("GET", "/slow", slow, struct slow),
    HTTP_ROUTE("GET", "/nocontent", no_content, struct streamer),
    HTTP_ROUTE("GET", "/big", big, struct big),
};
const size_t sc_nroutes = N_OF(sc_routes);

/* ===== the scripted clients =================================================== */

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
    const struct sc_act *acts;
    struct sc_out *out;
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
    struct sc_out *o = f->out;
    CO_BEGIN(co);
    f->fd = -1;
    client_init(&f->cl);
    scope_fail_after(&f->guard, SC_GUARD_MS);
    for (f->i = 0; f->i < SC_MAX_ACTS && ACT->op != C_END; f->i++) {
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
        } else if (ACT->op == C_EOF || ACT->op == C_RECV_N) {
            /* Everything until the server closes, or n more bytes of it. */
            f->n = sizeof o->got;
            if (ACT->op == C_RECV_N && o->len + (size_t)ACT->n < f->n)
                f->n = o->len + (size_t)ACT->n;
            while (o->len < f->n && !o->eof) {
                AWAIT_CATCH(sock_recv(f->fd, o->got + o->len, f->n - o->len), f->err);
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
        } else if (ACT->op == C_DRIP) {
            for (f->k = 0; ACT->s[f->k]; f->k++) {
                if (f->k)
                    AWAIT(sleep_ms((uint64_t)ACT->n));
                AWAIT_CATCH(sock_send_all(f->fd, ACT->s + f->k, 1), f->err);
                PASS_CANCEL(f->err);
                if (f->err) {
                    if (!o->send_err)
                        o->send_err = f->err;
                    break; /* the server has had enough */
                }
            }
        } else if (ACT->op == C_SHUT) {
            shutdown(f->fd, SHUT_WR);
        } else if (ACT->op == C_RESET) {
            /* Linger on, for zero seconds: close sends RST, not FIN, and
             * drops whatever we had not read. */
            setsockopt(f->fd, SOL_SOCKET, SO_LINGER, &(struct linger){.l_onoff = 1}, sizeof(struct linger));
            sock_close(f->fd);
            f->fd = -1;
        } else if (ACT->op == C_FN) {
            ACT->fn();
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


struct sc_fixture SC;

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
    f->serve.srv = &SC.srv;
    AWAIT_CO_CATCH(&f->serve.co, http_serve, f->err);
    SC.serve_err = f->err;
    SC.served = 1;
    SC.t_served = S4_MS;
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
    SC.listen_err = http_listen(&SC.srv, &SC.cfg);
    if (SC.listen_err)
        CO_RETURN(0);
    group_init(&f->server);
    group_init(&f->clients);
    f->started = 1;
    if (!GROUP_SPAWN(&f->server, serving, struct serving, .err = 0))
        CO_RAISE(-ENOMEM);
    for (f->i = 0; f->i < SC.nconns; f->i++)
        if (!GROUP_SPAWN(&f->clients, conn_script, struct conn_script, .acts = SC.scripts[f->i],
                         .out = &SC.out[f->i], .srv = &SC.srv))
            CO_RAISE(-ENOMEM);
    AWAIT(group_join(&f->clients, 0));
    CO_FINALLY
    if (f->started) {
        if (!f->clients.joined)
            AWAIT(group_join(&f->clients, CO_ERROR ? CO_ERROR : -ECANCELED));
        http_stop(&SC.srv); /* if no client did */
        AWAIT(group_join(&f->server, CO_ERROR));
    }
    CO_END;
}

/* Run the server with these clients, and check what every run must: the
 * loop ran clean, the server returned 0, no descriptor was left open, no
 * client hung, and (unless the test expects some) no error was logged. */
void sc_run(const struct sc_act *const *scripts, int n)
{
    ck_assert_int_le(n, SC_MAX_CONNS);
    SC.nconns = n;
    for (int i = 0; i < n; i++)
        SC.scripts[i] = scripts[i];
    FILE *af = open_memstream(&SC.access, &SC.alen);
    FILE *ef = open_memstream(&SC.errors, &SC.elen);
    ck_assert_ptr_nonnull(af);
    ck_assert_ptr_nonnull(ef);
    SC.cfg.access_log = af;
    SC.cfg.error_log = ef;
    struct loop_opts lo = {0};
    lo.virtual_clock = 1;
    int nfds = s3_nfds();
    int rc = run_opts(&lo, harness, &(struct harness){.started = 0}, sizeof(struct harness), NULL,
                      &SC.log);
    fclose(af);
    fclose(ef);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(SC.log, "");
    ck_assert_int_eq(SC.listen_err, 0);
    ck_assert_int_eq(SC.served, 1);
    ck_assert_int_eq(SC.serve_err, 0);
    ck_assert_int_eq(SC.srv.stats.conns, 0);
    ck_assert_int_eq(SC.srv.stats.active, 0);
    ck_assert_int_eq(s3_nfds(), nfds);
    for (int i = 0; i < n; i++)
        ck_assert_msg(SC.out[i].guard_err == 0, "client %d hung (step %d)", i, SC.out[i].steps);
    if (!SC.expect_errors)
        ck_assert_str_eq(SC.errors, "");
}

void sc_run1(const struct sc_act *script)
{
    sc_run(&script, 1);
}

void sc_setup(void)
{
    free(SC.access);
    free(SC.errors);
    free(SC.log);
    memset(&SC, 0, sizeof SC);
    http_config_default(&SC.cfg);
    SC.cfg.port = 0;
    SC.cfg.routes = sc_routes;
    SC.cfg.nroutes = sc_nroutes;
    sc_fail_task_id = 0;
}

/* A tcase with sc_setup and sc_teardown as its fixture, added to s. */
TCase *sc_case(Suite *s, const char *name)
{
    TCase *tc = new_case(s, name);
    tcase_add_checked_fixture(tc, sc_setup, sc_teardown);
    tcase_set_timeout(tc, 60);
    return tc;
}

void sc_teardown(void)
{
    free(SC.access);
    free(SC.errors);
    free(SC.log);
    SC.access = SC.errors = SC.log = NULL;
}

/* ===== what the replies must be ================================================ */

/* Strings built for a comparison: several may be alive at once. */
static char *scratch(void)
{
    static char ring[12][16384];
    static int next;
    return ring[next++ % 12];
}

const char *sc_fmt(const char *f, ...)
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
const char *sc_got_all(int i)
{
    return norm(SC.out[i].got, 0, SC.out[i].len);
}

const char *sc_got_step(int i, int k)
{
    return norm(SC.out[i].got, k ? SC.out[i].mark[k - 1] : 0, SC.out[i].mark[k]);
}



/* A reply with a Content-Length body, as http__head frames it; `fields`
 * come after Content-Length ("Connection: close\r\n", then the handler's). */
const char *sc_reply_t(int status, const char *type, const char *fields, const char *body)
{
    return sc_fmt("HTTP/1.1 %d %s\r\nServer: async-c\r\nDate: D\r\nContent-Type: %s\r\n"
               "Content-Length: %zu\r\n%s\r\n%s",
               status, http_reason(status), type, strlen(body), fields, body);
}

const char *sc_reply(int status, const char *fields, const char *body)
{
    return sc_reply_t(status, TEXT, fields, body);
}

/* The server's own answer to an error. */
const char *sc_error_reply(int status, const char *fields)
{
    char body[64];
    snprintf(body, sizeof body, "%d %s\n", status, http_reason(status));
    return sc_reply(status, fields, body);
}

/* The access log with each line's duration ("0.012ms") replaced by "T". */
const char *sc_access_log(void)
{
    char *b = scratch(), *o = b;
    const char *p = SC.access ? SC.access : "";
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
const char *sc_log_line(int i, const char *request, int status, unsigned long bytes)
{
    return sc_fmt("127.0.0.1:%d \"%s\" %d %lu T\n", SC.out[i].port, request, status, bytes);
}

/* The reply at the start of s, parsed: the fields every reply must have. */
void sc_check_fields(const char *s, int status)
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
