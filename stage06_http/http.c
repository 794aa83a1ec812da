/*
 * http.c - the server: an accept loop, and one task per connection.
 *
 * A connection's task is a loop over requests:
 *
 *     wait for a head    the stream fills until hparse_scan_head finds the
 *                        blank line, under a deadline (a cancel scope):
 *                        idle_timeout_ms before a kept-alive request's
 *                        first byte, head_timeout_ms for the rest of it
 *     parse it           hparse_request, on a copy of the head
 *     route it           404, 405, or the handler, awaited in a frame the
 *                        connection allocated once
 *     answer             the response framed into the output buffer and
 *                        sent - or kept back while more pipelined requests
 *                        are already buffered, to go out in one send
 *     what is left       a body the handler did not read is read and
 *                        dropped, so the next request starts at a request
 *
 * Nothing the client sends is trusted: every length is checked against a
 * limit of struct http_config before it is believed, and a request that
 * cannot be framed without guessing ends the connection after its error.
 *
 * The connection's task never fails: whatever goes wrong on one connection
 * ends that connection (logged), and never the group the server keeps its
 * connections in, which would cancel the others.  Only cancellation passes
 * through, as it must.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http.h"
#include "loop.h"
#include "sig.h"
#include "sleep.h"
#include "sock.h"

void http_config_default(struct http_config *cfg)
{
    *cfg = (struct http_config){
        .host = "127.0.0.1",
        .port = 8080,
        .max_request_line = 4096,
        .max_head = 8192,
        .max_headers = 64,
        .max_body = 1024 * 1024,
        .max_conns = 1000,
        .head_timeout_ms = 10000,
        .idle_timeout_ms = 5000,
        .body_timeout_ms = 10000,
        .send_timeout_ms = 30000,
        .grace_ms = 5000,
        .access_log = stdout,
        .error_log = stderr,
        .server_name = "async-c",
    };
}

/* ---- the request body ------------------------------------------------------ */

static const char CONTINUE[] = "HTTP/1.1 100 Continue\r\n\r\n";

void http_reading(struct http_read *rd, struct http_req *req)
{
    *rd = (struct http_read){.req = req};
}

const char *http_piece(const struct http_req *req)
{
    return stream_data(&req->conn->in);
}

/* The next piece of the body among the bytes already buffered: its length,
 * 0 if none is there yet, or an error.  Sets req->body_done at the end. */
static int buffered_piece(struct http_req *req)
{
    struct stream *in = &req->conn->in;
    size_t have = stream_len(in);
    if (req->h.body == HPARSE_BODY_LENGTH) {
        size_t n = have < req->body_left ? have : (size_t)req->body_left;
        req->body_left -= n;
        req->body_done = req->body_left == 0;
        req->piece = n;
        return (int)n;
    }
    /* Chunked: step the decoder over the buffer.  It reports at most one
     * stretch of data per call; framing bytes before it are dropped here,
     * so that the piece starts where stream_data() does. */
    while (have > 0) {
        size_t used = 0, dlen = 0;
        const char *data = NULL;
        int r = hparse_chunked(&req->chunked, stream_data(in), have, &used, &data, &dlen);
        if (r < 0)
            return r;
        if (dlen > 0) {
            /* The piece is handed out where it lies: drop the framing in
             * front of it now, and what the decoder consumed after it
             * together with the piece. */
            size_t before = (size_t)(data - stream_data(in));
            stream_consume(in, before);
            req->piece = dlen;
            req->piece_skip = used - before - dlen;
            req->body_done = r == 1;
            return (int)dlen;
        }
        stream_consume(in, used);
        have = stream_len(in);
        if (r == 1) {
            req->body_done = 1;
            return 0;
        }
    }
    return 0;
}

/* http_read and http_read_all are one body: read_all keeps going,
 * gathering the pieces, until the end. */
static int read_body(co_t *co, int all)
{
    struct http_read *f = (struct http_read *)co;
    struct http_req *req = f->req;
    struct http_conn *c = req->conn;
    int n;
    CO_BEGIN(co);
    if (all)
        req->body.len = 0;
    if (req->h.expect_continue && !req->body_done) {
        /* Asked to confirm before the client sends the body: now is when
         * someone wants it (RFC 9110 section 10.1.1). */
        req->h.expect_continue = 0;
        if (http__put(&c->out, CONTINUE, sizeof CONTINUE - 1) < 0)
            CO_RAISE(-ENOMEM);
        AWAIT(sock_send_all(c->fd, c->out.p, c->out.len));
        c->out.len = 0;
    }
    scope_fail_after(&f->timeout, c->srv->cfg.body_timeout_ms);
    do {
        stream_consume(&c->in, req->piece + req->piece_skip); /* used up */
        req->piece = req->piece_skip = 0;
        while ((n = buffered_piece(req)) == 0 && !req->body_done) {
            AWAIT(stream_fill(&c->in));
            if (CO_VALUE == 0)
                CO_RAISE(-ECONNRESET); /* the client hung up before the end */
            scope_reset(&f->timeout, c->srv->cfg.body_timeout_ms); /* progress */
        }
        if (n < 0)
            CO_RAISE(n);
        req->body_read += req->piece;
        if (req->body_read > c->srv->cfg.max_body)
            CO_RAISE(HTTP_ETOOLARGE);
        if (all && http__put(&req->body, stream_data(&c->in), req->piece) < 0)
            CO_RAISE(-ENOMEM);
    } while (all && !req->body_done);
    if (all) {
        stream_consume(&c->in, req->piece + req->piece_skip);
        req->piece = req->piece_skip = 0;
        /* NUL-terminated for convenience, not counted. */
        if (http__put(&req->body, "", 1) < 0)
            CO_RAISE(-ENOMEM);
        req->body.len--;
    }
    CO_RETURN(all ? req->body.len : req->piece);
    CO_FINALLY
    CO_ERROR = scope_close(&f->timeout, CO_ERROR);
    CO_END;
}

int http_read(co_t *co)
{
    return read_body(co, 0);
}

int http_read_all(co_t *co)
{
    return read_body(co, 1);
}

/* ---- one connection ------------------------------------------------------------ */

/* The errors that mean "the client went away": nothing to log. */
static int peer_gone(int err)
{
    return err == -ECONNRESET || err == -EPIPE || err == -ECONNABORTED || err == -ETIMEDOUT;
}

/* The client's own fault (a bad or oversized body, found after the answer
 * went out): the connection ends, and the log stays quiet, or any client
 * could fill it. */
static int peer_fault(int err)
{
    return (err <= HPARSE_EBAD && err >= HPARSE_ECHUNK) || err == HTTP_ETOOLARGE;
}

/* Errors by name, this module's and the parser's among them. */
static const char *err_text(int err)
{
    if (err <= HPARSE_EBAD && err >= HPARSE_ECHUNK)
        return hparse_strerror(err);
    if (err == HTTP_ETOOLARGE)
        return "request body too large";
    return task_strerror(err);
}

static void peer_name(int fd, char *out, size_t n)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
        ss.ss_family = AF_UNSPEC;
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof host);
        port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof host);
        port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    snprintf(out, n, "%s:%d", host, port);
}

/* A fresh response for the next request. */
static void reset_res(struct http_conn *c, int head_only)
{
    struct http_res *res = &c->res;
    res->status = 200;
    res->content_type = "text/plain; charset=utf-8";
    res->headers.len = 0;
    res->body.len = 0;
    res->head_only = head_only;
    res->close = 0;
    res->streaming = 0;
    res->failed = 0;
    res->sent = 0;
    res->conn = c;
}

/* The server's own answer: an error page, and for 405 the Allow field. */
static void answer(struct http_conn *c, int status)
{
    struct http_res *res = &c->res;
    res->headers.len = 0;
    if (status == 405 && c->allow[0])
        http_header(res, "Allow", c->allow);
    http_text(res, status, "%d %s\n", status, http_reason(status));
    /* After an error in the framing itself we cannot tell where the next
     * request would begin: the connection ends with this answer. */
    if (status != 404 && status != 405)
        res->close = 1;
}

/* Frame the finished response into c->out. */
static int frame(struct http_conn *c)
{
    struct http_res *res = &c->res;
    if (res->streaming) {
        c->out.len = 0; /* the last http_write's send has finished */
        if (c->req.h.minor >= 1 && !res->head_only && !http__no_body(res->status))
            return http__put(&c->out, "0\r\n\r\n", 5);
        return 0;
    }
    if (http__no_body(res->status))
        res->body.len = 0; /* not sent, and not counted as sent */
    int r = http__head(c, 0, res->body.len);
    if (!r && !res->head_only)
        r = http__put(&c->out, res->body.p, res->body.len);
    return r;
}

static void log_request(struct http_conn *c)
{
    struct http_server *srv = c->srv;
    if (!srv->cfg.access_log)
        return;
    uint64_t bytes = c->res.streaming ? c->res.sent : c->res.head_only ? 0 : c->res.body.len;
    /* The clock itself, not the loop's time: that is read once per
     * iteration, and most requests take less than one. */
    uint64_t us = (loop__now(loop_current()) - c->req.started_ns) / 1000;
    fprintf(srv->cfg.access_log, "%s \"%s %s%s%s HTTP/1.%d\" %d %llu %llu.%03llums\n", c->peer,
            c->req.h.method ? c->req.h.method : "-", c->req.h.path ? c->req.h.path : "-",
            c->req.h.query && *c->req.h.query ? "?" : "", c->req.h.query ? c->req.h.query : "",
            c->req.h.minor, c->res.status, (unsigned long long)bytes,
            (unsigned long long)(us / 1000), (unsigned long long)(us % 1000));
}

#define FLUSH(c)                                                               \
    do {                                                                       \
        (c)->sub.flush = (struct http_flush){.c = (c)};                        \
        AWAIT_CO(&(c)->sub.flush.co, http__flush);                             \
    } while (0)

/* Wait for the next request's head.  Sets c->head_len (0: the client
 * closed between requests) or c->status (an error to answer with). */
static int read_head(co_t *co)
{
    struct http_requests *f = (struct http_requests *)co;
    struct http_conn *c = f->c;
    const struct http_config *cfg = &c->srv->cfg;
    size_t len;
    CO_BEGIN(co);
    c->scan = (struct hparse_scan){0};
    c->status = 0;
    c->err = 0;
    scope_fail_after(&c->timeout, c->idle ? cfg->idle_timeout_ms : cfg->head_timeout_ms);
    while ((c->head_len = hparse_scan_head(&c->scan, stream_data(&c->in), stream_len(&c->in))) == 0) {
        len = stream_len(&c->in);
        if (c->scan.line_len == 0 && len > cfg->max_request_line)
            CO_RETURN(c->status = 414);
        if (len >= cfg->max_head)
            CO_RETURN(c->status = 431);
        if (c->out.len > 0) /* answers to pipelined requests: send before waiting */
            FLUSH(c);
        AWAIT_CATCH(stream_fill(&c->in), c->err);
        if (c->err)
            break;
        if (CO_VALUE == 0) { /* the client closed */
            if (stream_len(&c->in) > 0)
                c->status = 400; /* in the middle of a head */
            break;
        }
        if (c->idle) { /* the first byte: now the head has its own deadline */
            c->idle = 0;
            scope_reset(&c->timeout, cfg->head_timeout_ms);
        }
    }
    CO_FINALLY
    c->err = scope_close(&c->timeout, c->err ? c->err : CO_ERROR);
    /* A head that began and did not end in time is answered 408.  A
     * connection that never sent a byte is closed quietly, as an idle one
     * is: it may be a browser's preconnect that found no use, and a 408
     * would only fill the log with requests nobody made. */
    if (c->err == -ETIMEDOUT && !c->head_len && stream_len(&c->in) > 0)
        c->status = 408;
    if (c->err == -ETIMEDOUT || peer_gone(c->err))
        c->err = 0;      /* closed quietly (or after the 408) */
    CO_ERROR = c->err;
    CO_END;
}

/* Run the route's handler, or answer for it. */
static int handle(co_t *co)
{
    struct http_requests *f = (struct http_requests *)co;
    struct http_conn *c = f->c;
    struct http_server *srv = c->srv;
    CO_BEGIN(co);
    c->route = http__route(&srv->cfg, &c->req, &c->status, c->allow, sizeof c->allow);
    if (!c->route) {
        answer(c, c->status);
        CO_RETURN(0);
    }
    memset(c->frame, 0, srv->max_frame);
    c->frame->req = &c->req;
    c->frame->res = &c->res;
    srv->stats.active++;
    AWAIT_CO_CATCH(&c->frame->co, c->route->fn, c->err);
    srv->stats.active--;
    if (c->err == -ECANCELED)
        CO_RAISE(c->err); /* never swallowed: the shutdown's grace is over */
    if (c->err == HTTP_ETOOLARGE || c->err == -ETIMEDOUT || c->err == HPARSE_ECHUNK) {
        c->status = c->err == HTTP_ETOOLARGE ? 413 : c->err == -ETIMEDOUT ? 408 : 400;
    } else if (c->err && !peer_gone(c->err)) {
        fprintf(srv->cfg.error_log, "http: %s %s: handler %s failed in task '%s#%u': %s\n",
                c->req.h.method, c->req.h.path, c->route->pattern, task_current()->name,
                (unsigned)task_current()->id, err_text(c->err));
        c->status = 500;
    } else if (c->err) {
        CO_RAISE(c->err); /* the client is gone: nobody to answer */
    } else if (c->res.failed) {
        /* The handler did its part; there was no memory to write it down. */
        fprintf(srv->cfg.error_log, "http: %s %s: handler %s's response: %s\n",
                c->req.h.method, c->req.h.path, c->route->pattern, strerror(ENOMEM));
        c->status = 500;
    }
    if (c->status && c->res.streaming)
        CO_RAISE(c->err ? c->err : -ENOMEM); /* half a body sent: only a close says so */
    if (c->status)
        answer(c, c->status);
    CO_END;
}

/* Close in a way that lets the client read our last answer: stop sending,
 * then read and drop what it still sends for a moment.  Closing with
 * unread bytes would make the kernel answer with a reset, which can
 * destroy the answer before the client has read it. */
static int linger(co_t *co)
{
    struct http_requests *f = (struct http_requests *)co;
    struct http_conn *c = f->c;
    CO_BEGIN(co);
    sock_shutdown(c->fd, SHUT_WR);
    scope_move_on_after(&c->timeout, 1000);
    for (c->keep = 0; c->keep < 16; c->keep++) {
        stream_consume(&c->in, stream_len(&c->in));
        AWAIT(stream_fill(&c->in));
        if (CO_VALUE == 0)
            break;
    }
    CO_FINALLY
    scope_close(&c->timeout, CO_ERROR);
    CO_ERROR = 0; /* whatever happened, the connection is over */
    CO_END;
}

static int requests(co_t *co)
{
    struct http_requests *f = (struct http_requests *)co;
    struct http_conn *c = f->c;
    struct http_server *srv = c->srv;
    int r;
    CO_BEGIN(co);
    for (;;) {
        c->idle = c->nreq > 0 && stream_len(&c->in) == 0;
        if (c->idle && srv->stopping)
            break;
        c->step.c = c;
        AWAIT_CO(&c->step.co, read_head);
        if (!c->head_len && !c->status)
            break; /* closed, or timed out while idle */
        c->req.started_ns = loop__now(loop_current());
        c->req.h.method = c->req.h.path = c->req.h.query = NULL;
        c->req.h.minor = 1;
        c->req.nparams = 0;
        c->req.piece = c->req.piece_skip = 0;
        c->req.body_read = 0;
        c->req.chunked = (struct hparse_chunked){0};
        c->req.body_done = 1; /* until a head says there is a body */
        c->allow[0] = '\0';
        reset_res(c, 0);
        if (!c->status) {
            memcpy(c->head, stream_data(&c->in), c->head_len);
            stream_consume(&c->in, c->head_len);
            r = hparse_request(c->head, c->head_len, srv->cfg.max_headers, &c->req.h);
            if (r < 0)
                c->status = hparse_status(r);
            else if (c->scan.line_len > srv->cfg.max_request_line)
                c->status = 414;
        }
        if (!c->status) {
            c->res.head_only = strcmp(c->req.h.method, "HEAD") == 0;
            c->req.method = c->res.head_only ? "GET" : c->req.h.method;
            c->req.body_done = c->req.h.body == HPARSE_BODY_NONE ||
                               (c->req.h.body == HPARSE_BODY_LENGTH && c->req.h.content_length == 0);
            c->req.body_left = c->req.h.body == HPARSE_BODY_LENGTH ? c->req.h.content_length : 0;
            if (c->req.h.body == HPARSE_BODY_LENGTH && c->req.h.content_length > srv->cfg.max_body)
                c->status = 413; /* refused before a byte of it is read */
        }
        if (c->status) {
            answer(c, c->status);
        } else {
            c->step.c = c;
            AWAIT_CO(&c->step.co, handle);
        }
        /* Can the next request follow on this connection? */
        if (!c->req.h.method || !c->req.h.keep_alive || srv->stopping ||
            (!c->req.body_done && c->req.h.expect_continue))
            c->res.close = 1;
        if (frame(c) < 0)
            CO_RAISE(-ENOMEM);
        srv->stats.requests++;
        srv->stats.errors += c->res.status >= 400;
        /* Body bytes sent, as the log counts them: none for a HEAD. */
        srv->stats.bytes_out += c->res.streaming   ? c->res.sent
                                : c->res.head_only ? 0
                                                   : c->res.body.len;
        log_request(c);
        c->nreq++;
        if (c->res.close) {
            FLUSH(c);
            if (c->res.status >= 400) {
                c->step.c = c;
                AWAIT_CO(&c->step.co, linger);
            }
            break;
        }
        if (!c->req.body_done) {
            /* The handler left some of the body: read past it (it counts
             * against max_body all the same), after sending the answer. */
            FLUSH(c);
            while (!c->req.body_done) {
                http_reading(&c->sub.rd, &c->req);
                AWAIT_CO(&c->sub.rd.co, http_read);
            }
            stream_consume(&c->in, c->req.piece + c->req.piece_skip);
        }
        /* Send now, unless the next request is already here: then its
         * answer goes out with this one, in one send. */
        if (stream_len(&c->in) == 0 || c->out.len >= 65536)
            FLUSH(c);
    }
    CO_END;
}

static int conn_task(co_t *co)
{
    struct http_conn *c = (struct http_conn *)co;
    struct http_server *srv = c->srv;
    int one = 1;
    CO_BEGIN(co);
    c->task = task_current();
    list_append(&srv->conns, &c->link);
    srv->stats.conns++;
    peer_name(c->fd, c->peer, sizeof c->peer);
    c->req.conn = c;
    c->req.srv = srv;
    if (stream_init(&c->in, c->fd, srv->cfg.max_head) < 0 ||
        !(c->head = malloc(srv->cfg.max_head)) || !(c->frame = calloc(1, srv->max_frame)))
        CO_RAISE(-ENOMEM);
    /* Each answer leaves in one send; waiting for more to fill a segment
     * (Nagle's algorithm) would only delay it. */
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->requests.c = c;
    AWAIT_CO(&c->requests.co, requests);
    CO_FINALLY
    if (CO_ERROR && CO_ERROR != -ECANCELED && !peer_gone(CO_ERROR) && !peer_fault(CO_ERROR))
        fprintf(srv->cfg.error_log, "http: connection %s: %s\n", c->peer, err_text(CO_ERROR));
    if (CO_ERROR != -ECANCELED)
        CO_ERROR = 0; /* one connection's trouble is not the server's */
    sock_close(c->fd);
    stream_fini(&c->in);
    free(c->head);
    free(c->frame);
    http__buf_free(&c->out);
    http__buf_free(&c->req.body);
    http__buf_free(&c->res.headers);
    http__buf_free(&c->res.body);
    list_remove(&c->link);
    srv->stats.conns--;
    CO_END;
}

/* ---- the server ---------------------------------------------------------------- */

int http_listen(struct http_server *srv, const struct http_config *cfg)
{
    memset(srv, 0, sizeof *srv);
    srv->cfg = *cfg;
    srv->lfd = -1;
    list_init(&srv->conns);
    if (cfg->max_request_line == 0 || cfg->max_head < cfg->max_request_line ||
        cfg->max_headers <= 0 || cfg->max_headers > HPARSE_MAX_HEADERS || cfg->max_conns <= 0 ||
        !cfg->server_name || !cfg->error_log)
        return -EINVAL;
    srv->max_frame = sizeof(struct http_handler);
    for (size_t i = 0; i < cfg->nroutes; i++) {
        if (cfg->routes[i].frame_size < sizeof(struct http_handler) || !cfg->routes[i].fn)
            return -EINVAL;
        if (cfg->routes[i].frame_size > srv->max_frame)
            srv->max_frame = cfg->routes[i].frame_size;
    }
    int fd = cfg->reuse_port ? sock_listen_shared(cfg->host, cfg->port, cfg->backlog)
                             : sock_listen(cfg->host, cfg->port, cfg->backlog);
    if (fd < 0)
        return fd;
    /* Here, not in http_serve: once the caller can print the port, someone
     * can send SIGTERM, and it must already mean "stop", not "die".  One
     * that comes before http_serve waits in sig.c's pipe; http_serve gives
     * the signals back when it returns. */
    if (cfg->handle_signals) {
        int r = sig_watch(SIGINT);
        if (r == 0)
            r = sig_watch(SIGTERM);
        if (r < 0) {
            sig_unwatch_all();
            close(fd);
            return r;
        }
    }
    srv->lfd = fd;
    srv->port = sock_port(fd);
    return 0;
}

int http_port(const struct http_server *srv)
{
    return srv->port;
}

void http_stop(struct http_server *srv)
{
    if (srv->stopping)
        return;
    srv->stopping = 1;
    if (srv->lfd >= 0) {
        sock_close(srv->lfd); /* wakes the accept with -EBADF */
        srv->lfd = -1;
    }
    for (struct list *p = srv->conns.next; p != &srv->conns; p = p->next) {
        struct http_conn *c = list_entry(p, struct http_conn, link);
        /* Idle between requests, or still waiting for the first byte of
         * its first one (a browser's preconnect): no request to finish,
         * and it would hold the shutdown for all of grace_ms. */
        if (c->idle || (c->nreq == 0 && c->scan.pos == 0 && stream_len(&c->in) == 0))
            task_cancel(c->task);
    }
}

/* Over max_conns: say so at once, without a task.  What the client has
 * sent already is read and dropped first: closing with unread bytes makes
 * the kernel send a reset, which can destroy the 503 before the client
 * reads it.  (Bytes that come later still meet a reset; linger() is the
 * whole cure, and it needs a task.) */
static void refuse(struct http_server *srv, int fd)
{
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
                               "Content-Type: text/plain\r\nContent-Length: 24\r\n"
                               "Retry-After: 1\r\nConnection: close\r\n\r\n"
                               "503 Service Unavailable\n";
    (void)!send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    char sink[4096];
    for (int i = 0; i < 16 && recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; i++)
        continue;
    sock_close(fd);
    srv->stats.refused++;
}

struct on_signal {
    co_t co;
    struct http_server *srv;
};

/* SIGINT or SIGTERM: a graceful stop; a second one: stop now. */
static int on_signal(co_t *co)
{
    struct on_signal *f = (struct on_signal *)co;
    CO_BEGIN(co);
    AWAIT(sig_wait());
    fprintf(f->srv->cfg.error_log, "http: signal %d: stopping (again to stop now)\n", (int)CO_VALUE);
    http_stop(f->srv);
    AWAIT(sig_wait());
    fprintf(f->srv->cfg.error_log, "http: signal %d: stopping now\n", (int)CO_VALUE);
    group_cancel(&f->srv->tasks);
    CO_END;
}

int http_serve(co_t *co)
{
    struct http_serve *f = (struct http_serve *)co;
    struct http_server *srv = f->srv;
    CO_BEGIN(co);
    group_init(&srv->tasks);
    group_init(&f->signals);
    if (srv->cfg.handle_signals &&
        !GROUP_SPAWN(&f->signals, on_signal, struct on_signal, .srv = srv))
        CO_RAISE(-ENOMEM);
    while (!srv->stopping) {
        AWAIT_CATCH(sock_accept(srv->lfd), f->err);
        if (f->err == -EMFILE || f->err == -ENFILE || f->err == -ENOBUFS || f->err == -ENOMEM) {
            /* Out of descriptors or memory: the pending connection stays in
             * the backlog.  Retrying at once would spin; wait for some of
             * ours to close. */
            if (!f->backoff++)
                fprintf(srv->cfg.error_log, "http: accept: %s: backing off\n", strerror(-f->err));
            AWAIT(sleep_ms(50));
            continue;
        }
        if (srv->stopping)
            break;
        if (f->err == -ECONNABORTED || f->err == -EPROTO || f->err == -EPERM || f->err == -EINTR)
            continue; /* that client gave up before we took it */
        if (f->err)
            CO_RAISE(f->err);
        f->backoff = 0;
        f->fd = (int)CO_VALUE;
        srv->stats.accepted++;
        if (srv->stats.conns >= srv->cfg.max_conns) {
            refuse(srv, f->fd);
        } else if (!GROUP_SPAWN(&srv->tasks, conn_task, struct http_conn, .srv = srv,
                                .fd = f->fd)) {
            fprintf(srv->cfg.error_log, "http: no task for a connection: %s: answered 503\n",
                    strerror(errno));
            refuse(srv, f->fd);
        }
    }
    /* Stopping: the requests in flight get grace_ms, then are cancelled. */
    scope_move_on_after(&f->grace, srv->cfg.grace_ms);
    AWAIT_CATCH(group_join(&srv->tasks, 0), f->err);
    f->err = scope_close(&f->grace, f->err);
    if (f->err)
        CO_RAISE(f->err);
    CO_FINALLY
    CO_ERROR = scope_close(&f->grace, CO_ERROR);
    if (!srv->tasks.joined)
        AWAIT_CATCH(group_join(&srv->tasks, CO_ERROR ? CO_ERROR : -ECANCELED), f->err);
    group_cancel(&f->signals);
    AWAIT_CATCH(group_join(&f->signals, -ECANCELED), f->err);
    if (srv->lfd >= 0) {
        sock_close(srv->lfd);
        srv->lfd = -1;
    }
    if (srv->cfg.handle_signals)
        sig_unwatch_all();
    CO_END;
}

/* ---- --workers ---------------------------------------------------------------- */

/* The parent does nothing but wait, so it waits for signals the simple way:
 * SIGINT, SIGTERM and SIGCHLD blocked, and taken one at a time with
 * sigwaitinfo - no handler, and no window in which a signal that arrives
 * just before the wait is lost.  SIGCHLD gets a handler that does nothing,
 * because a signal whose action is to be ignored may be discarded even
 * while blocked.  Each worker runs in a process group of its own, so a
 * Ctrl-C at the terminal reaches only the parent, which passes it on once:
 * otherwise every worker would get it twice (from the terminal and from
 * the parent), and the second means "stop now". */
static void on_child(int signo)
{
    (void)signo;
}

static void reap(pid_t *pids, int started, int *left, int *failed)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        for (int i = 0; i < started; i++)
            if (pids[i] == pid) {
                pids[i] = -1;
                (*left)--;
                *failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
            }
}

int http_workers(int n, int (*run)(void *arg), void *arg)
{
    enum { MAX_WORKERS = 64 };
    pid_t pids[MAX_WORKERS];
    if (n < 1 || n > MAX_WORKERS)
        return -EINVAL;
    sigset_t set, old_mask;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    struct sigaction sa, old_chld;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_child;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, &old_chld);
    sigprocmask(SIG_BLOCK, &set, &old_mask);
    int started = 0, failed = 0;
    for (; started < n; started++) {
        fflush(NULL); /* or the children would print the parent's buffers */
        pid_t pid = fork();
        if (pid < 0) {
            failed = 1;
            break;
        }
        if (pid == 0) {
            setpgid(0, 0);
            sigaction(SIGCHLD, &old_chld, NULL);
            sigprocmask(SIG_SETMASK, &old_mask, NULL);
            int rc = run(arg);
            fflush(NULL);
            _exit(rc == 0 ? 0 : 1);
        }
        setpgid(pid, pid); /* as well: whichever runs first, it is done */
        pids[started] = pid;
    }
    if (failed) /* a partial set of workers is not what was asked for */
        for (int i = 0; i < started; i++)
            kill(pids[i], SIGTERM);
    int left = started, forwarded = 0;
    reap(pids, started, &left, &failed);
    while (left > 0) {
        siginfo_t si;
        int signo = sigwaitinfo(&set, &si);
        if (signo == SIGCHLD) {
            reap(pids, started, &left, &failed);
        } else if ((signo == SIGINT || signo == SIGTERM) && forwarded < 2) {
            for (int i = 0; i < started; i++) /* the second time: stop now */
                if (pids[i] > 0)
                    kill(pids[i], signo);
            forwarded++;
        }
    }
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    sigaction(SIGCHLD, &old_chld, NULL);
    return failed ? -ECHILD : 0;
}
