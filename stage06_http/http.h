/*
 * http.h - an HTTP/1.1 server: one task per connection, handlers that are
 * coroutines.
 *
 * What Python spreads over asyncio.start_server and a web framework:
 *
 *     async def hello(request):                    static int hello(co_t *co)
 *         return web.Response(text="hi\n")         {   struct hello *f = ...;
 *                                                      CO_BEGIN(co);
 *     app.router.add_get("/hello", hello)             http_text(f->h.res, 200, "hi\n");
 *     web.run_app(app, port=8080)                      CO_END;
 *                                                  }
 *                                                  HTTP_ROUTE("GET", "/hello", hello, struct hello)
 *
 * A handler's frame starts with a struct http_handler (which starts with the
 * co_t), so the connection can fill in the request and response before it
 * awaits the handler.  A handler may await anything: read the body as it
 * arrives (http_read), sleep, take a lock, call another server (client.h).
 * It answers by filling in the response (http_text, http_header, http_body),
 * which the connection sends when it returns - or by streaming the body
 * with http_write, sent chunked.
 *
 * The connection task does the rest: reads and parses requests (hparse.h)
 * through a stream (stream.h), finds the route, runs the handler, frames
 * the response, keeps the connection alive or closes it, enforces every
 * limit and timeout of struct http_config, and logs each request.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "group.h"
#include "hparse.h"
#include "list.h"
#include "scope.h"
#include "stream.h"

/* Every limit and timeout, in one place.  http_config_default() fills in
 * the values in brackets. */
struct http_config {
    const char *host;           /* the address to listen on [127.0.0.1] */
    int port;                   /* [8080]; 0: a free port (http_port) */
    int backlog;                /* listen(2)'s backlog [0: the system's maximum] */
    int reuse_port;             /* SO_REUSEPORT, so several processes can
                                   share the port (--workers) [0] */
    size_t max_request_line;    /* longer: 414 URI Too Long [4096] */
    size_t max_head;            /* request line + headers; more: 431 [8192] */
    int max_headers;            /* header fields; more: 431 [64] */
    uint64_t max_body;          /* request body bytes; more: 413 [1 MiB] */
    int max_conns;              /* open connections; more are answered 503
                                   and closed [1000] */
    uint64_t head_timeout_ms;   /* for a whole request head, from its first
                                   byte (or from accept); else 408, or a
                                   quiet close if no byte came [10000] */
    uint64_t idle_timeout_ms;   /* between requests on a kept-alive
                                   connection; then closed quietly [5000] */
    uint64_t body_timeout_ms;   /* with no body bytes arriving; else 408 [10000] */
    uint64_t send_timeout_ms;   /* for sending one response [30000] */
    uint64_t grace_ms;          /* on shutdown, for requests in flight [5000] */
    FILE *access_log;           /* one line per request; NULL: none [stdout] */
    FILE *error_log;            /* handler failures and the like [stderr] */
    const char *server_name;    /* the Server field ["async-c"] */
    int handle_signals;         /* SIGINT and SIGTERM stop the server
                                   gracefully, from http_listen on [0] */
    const struct http_route *routes; /* the routes, in order of precedence */
    size_t nroutes;
};

void http_config_default(struct http_config *cfg);

/* ---- routes ----------------------------------------------------------- */

/* "GET" + "/users/{id}": a {name} segment matches any one non-empty path
 * segment, and http_param(req, "name") gives it to the handler, decoded.
 * A GET route answers HEAD too. */
struct http_route {
    const char *method;
    const char *pattern;
    co_fn fn;
    size_t frame_size;          /* the handler's frame, which begins with
                                   struct http_handler */
};
#define HTTP_ROUTE(method, pattern, fn, type) {(method), (pattern), (fn), sizeof(type)}

/* ---- what a handler sees ------------------------------------------------ */

struct http_server;
struct http_conn;

#define HTTP_MAX_PARAMS 8

/* A growable byte buffer (the response body, the connection's output). */
struct http_buf {
    char *p;
    size_t len, cap;
};

struct http_req {
    struct hparse_req h;        /* method, path, query, headers, framing */
    const char *method;         /* h.method, or "GET" for a HEAD request */
    struct http_conn *conn;
    struct http_server *srv;
    int nparams;
    const char *param_name[HTTP_MAX_PARAMS]; /* into the route's pattern */
    size_t param_len[HTTP_MAX_PARAMS];
    char *param_val[HTTP_MAX_PARAMS];        /* decoded, into params[] */
    char params[256];
    /* The body, as it arrives (http_read). */
    uint64_t body_left;         /* Content-Length bytes not yet read */
    uint64_t body_read;         /* bytes handed to the handler so far */
    struct hparse_chunked chunked;
    int body_done;
    size_t piece;               /* bytes of the stream the last read handed
                                   out, consumed at the next */
    size_t piece_skip;          /* chunk framing after them, likewise */
    struct http_buf body;       /* http_read_all's copy */
    uint64_t started_ns;        /* the clock (loop__now) when the head was
                                   read: the log's duration */
};

struct http_res {
    int status;                 /* [200] */
    const char *content_type;   /* [text/plain; charset=utf-8] */
    struct http_buf headers;    /* extra header lines, "Name: value\r\n" */
    struct http_buf body;       /* the body, unless streamed */
    int head_only;              /* the request was HEAD: send no body */
    int close;                  /* send Connection: close, then close */
    int streaming;              /* http_write sent the head: chunked */
    int failed;                 /* a builder call ran out of memory */
    uint64_t sent;              /* body bytes sent (streamed), for the log */
    struct http_conn *conn;
};

/* The head of every handler's frame. */
struct http_handler {
    co_t co;
    struct http_req *req;
    struct http_res *res;
};

/* A path parameter ("id" of /users/{id}), or NULL. */
const char *http_param(const struct http_req *req, const char *name);

/* The first query parameter `name`, percent-decoded into out (NUL-
 * terminated, at most n bytes with the NUL).  Returns its length, -ENOENT
 * when absent, -ENAMETOOLONG when it does not fit, -EINVAL when it is not
 * valid percent-encoding. */
int http_query(const struct http_req *req, const char *name, char *out, size_t n);

/* A request header, or NULL (case-insensitive name). */
const char *http_header_in(const struct http_req *req, const char *name);

/* ---- reading the body ---------------------------------------------------- */

/* The frame of http_read / http_read_all, a member of the handler's frame;
 * fill it with http_reading() before each await. */
struct http_read {
    co_t co;
    struct http_req *req;
    struct scope timeout;
};
void http_reading(struct http_read *rd, struct http_req *req);

/* The next piece of the body as it arrived: the value is its length (0 at
 * the end of the body), the bytes are at http_piece(req), valid until the
 * next read.  Sends 100 Continue first if the client asked for it.
 * Errors: HTTP_ETOOLARGE past max_body, -ETIMEDOUT after body_timeout_ms
 * without a byte, HPARSE_ECHUNK for bad chunked framing, -ECONNRESET when
 * the client hangs up early. */
int http_read(co_t *co);
const char *http_piece(const struct http_req *req);

/* The whole body, gathered into req->body (its value is the length). */
int http_read_all(co_t *co);

/* ---- answering ------------------------------------------------------------- */

/* Plain calls that fill in the response; each returns 0 or -ENOMEM (and
 * then the client gets a 500), -EINVAL for a CR or LF in a header (which
 * would let a value forge headers: response splitting). */
int http_header(struct http_res *res, const char *name, const char *value);
int http_body(struct http_res *res, const void *data, size_t len);
int http_printf(struct http_res *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Status, Content-Type and body in one call; http_text sets text/plain. */
int http_respond(struct http_res *res, int status, const char *content_type,
                 const void *body, size_t len);
int http_text(struct http_res *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Operation to AWAIT: stream len bytes of the body now.  The first call
 * sends the head (so set the status and headers first); HTTP/1.1 clients
 * get the body chunked, HTTP/1.0 ones get it raw with Connection: close. */
int http_write(struct http_res *res, const void *data, size_t len);

const char *http_reason(int status);

/* Errors of this module. */
enum {
    HTTP_ETOOLARGE = -1301,     /* the request body passed max_body: 413 */
};

/* ---- the server ------------------------------------------------------------ */

struct http_stats {
    uint64_t requests;          /* answered */
    uint64_t accepted;          /* connections */
    uint64_t refused;           /* connections answered 503 */
    uint64_t errors;            /* 4xx and 5xx answers */
    uint64_t bytes_out;         /* body bytes sent */
    int conns;                  /* open now */
    int active;                 /* requests being handled now */
};

struct http_server {
    struct http_config cfg;
    int lfd;
    int port;
    int stopping;               /* http_stop was called */
    size_t max_frame;           /* the largest handler frame */
    struct list conns;          /* every open connection */
    group_t tasks;              /* the connections' tasks */
    struct http_stats stats;
    char date[40];              /* the Date field, formatted once a second */
    int64_t date_sec;
};

/* Listen: a plain call, so that the caller knows the port (and any error)
 * before serving.  With handle_signals, SIGINT and SIGTERM are taken from
 * here on, and given back when http_serve returns.  Returns 0 or -errno.
 * cfg is copied. */
int http_listen(struct http_server *srv, const struct http_config *cfg);
int http_port(const struct http_server *srv);

/* The server as a coroutine to await or spawn, with srv listening:
 * accepts until http_stop, then lets the requests in flight finish (for up
 * to grace_ms), closes idle connections and returns 0. */
struct http_serve {
    co_t co;
    struct http_server *srv;
    int fd, err;
    unsigned backoff;           /* accepts refused for lack of descriptors */
    group_t signals;            /* the task waiting for SIGINT/SIGTERM */
    struct scope grace;
};
int http_serve(co_t *co);

/* Begin a graceful shutdown (what SIGTERM does): stop accepting, close the
 * idle connections, let the others finish their request.  A plain call. */
void http_stop(struct http_server *srv);

/* --workers N: fork n processes that each run `run(arg)` (each should
 * listen with reuse_port and serve), pass SIGINT and SIGTERM on to them,
 * and wait for them all.  Returns 0 when every worker exited 0. */
int http_workers(int n, int (*run)(void *arg), void *arg);

/* ---- inside the module ------------------------------------------------------ */

/* The connection task's frame.  A handler reaches it only through its
 * request and response. */
struct http_conn {
    co_t co;
    struct http_server *srv;
    int fd;
    task_t *task;
    struct list link;           /* in srv->conns */
    int idle;                   /* between requests: closed at shutdown */
    uint64_t nreq;
    struct stream in;
    struct http_buf out;        /* responses not yet sent (pipelining) */
    char *head;                 /* a copy of the request head, parsed in
                                   place (the stream reuses its buffer) */
    struct hparse_scan scan;
    size_t head_len;
    struct scope timeout;
    struct http_req req;
    struct http_res res;
    const struct http_route *route;
    struct http_handler *frame; /* the handlers' frame, srv->max_frame bytes */
    int err, status, keep;
    char allow[64];
    char peer[56];
    struct http_requests {      /* the request loop, awaited by the task */
        co_t co;
        struct http_conn *c;
    } requests, step;           /* step: one stage of a request (its head,
                                   its handler), awaited by the loop */
    union {                     /* what the request loop awaits, one at a time */
        struct http_read rd;
        struct http_flush {
            co_t co;
            struct http_conn *c;
            struct scope timeout;
        } flush;
    } sub;
};

int http__put(struct http_buf *b, const void *p, size_t n);
void http__buf_free(struct http_buf *b);
/* 1xx, 204 and 304: answers that never have a body (RFC 9110 6.4.1), so
 * whatever body a handler gave one is not sent - it would be read as the
 * start of the next response. */
int http__no_body(int status);
/* Append the response head to c->out: chunked, or with Content-Length len. */
int http__head(struct http_conn *c, int chunked, uint64_t len);
const struct http_route *http__route(const struct http_config *cfg, struct http_req *req,
                                     int *status, char *allow, size_t allow_cap);
/* Send c->out, within send_timeout_ms; a sub-coroutine on sub.flush. */
int http__flush(co_t *co);

#endif
