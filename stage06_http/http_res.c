/*
 * http_res.c - building a response, and framing it on the wire.
 *
 * A handler fills in a struct http_res with plain calls; nothing is sent
 * until it returns, so the connection can still replace a half-built answer
 * with a 500 when the handler fails.  Then the head is written in front of
 * the body into the connection's output buffer, and both go out in one
 * send - one system call per response, or one per batch of pipelined ones.
 * A handler that streams (http_write) sends the head with its first piece
 * and frames each piece as a chunk.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "sock.h"

/* Append n bytes (p NULL: only make room for them). */
int http__put(struct http_buf *b, const void *p, size_t n)
{
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2)
                return -ENOMEM;
            cap *= 2;
        }
        char *q = realloc(b->p, cap);
        if (!q)
            return -ENOMEM;
        b->p = q;
        b->cap = cap;
    }
    if (p && n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

static int put_str(struct http_buf *b, const char *s)
{
    return http__put(b, s, strlen(s));
}

/* Decimal digits without printf: this runs for every response. */
static int put_uint(struct http_buf *b, uint64_t v)
{
    char d[24];
    size_t i = sizeof d;
    do
        d[--i] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    return http__put(b, d + i, sizeof d - i);
}

void http__buf_free(struct http_buf *b)
{
    free(b->p);
    *b = (struct http_buf){0};
}

const char *http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return status < 200 ? "Informational" : status < 300 ? "Success"
                  : status < 400 ? "Redirection" : status < 500 ? "Client Error" : "Server Error";
    }
}

/* ---- the handler's calls -------------------------------------------------- */

static int fail(struct http_res *res, int err)
{
    if (err == -ENOMEM)
        res->failed = 1;
    return err;
}

/* A CR or LF would end the field early and start another: whoever controls
 * the value could add headers, or a whole second response. */
static int field_ok(const char *s, int name)
{
    if (name && !*s)
        return 0;
    for (; *s; s++)
        if (*s == '\r' || *s == '\n' || (name && (*s == ':' || *s == ' ' || *s == '\t')))
            return 0;
    return 1;
}

int http_header(struct http_res *res, const char *name, const char *value)
{
    if (!field_ok(name, 1) || !field_ok(value, 0))
        return -EINVAL;
    if (res->streaming)
        return -EALREADY; /* the head has gone */
    int r = put_str(&res->headers, name);
    if (!r)
        r = http__put(&res->headers, ": ", 2);
    if (!r)
        r = put_str(&res->headers, value);
    if (!r)
        r = http__put(&res->headers, "\r\n", 2);
    return fail(res, r);
}

int http_body(struct http_res *res, const void *data, size_t len)
{
    return fail(res, http__put(&res->body, data, len));
}

/* fmt is a printf format whose arguments come as a va_list: said so, clang's
 * -Wformat-nonliteral accepts handing it on to vsnprintf (the callers'
 * formats are checked at http_printf and http_text, see http.h). */
static int vprint(struct http_res *res, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static int vprint(struct http_res *res, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap); /* how long, then room for it */
    int r = n < 0 ? -EINVAL : http__put(&res->body, NULL, (size_t)n + 1);
    if (!r) {
        res->body.len -= (size_t)n + 1;
        vsnprintf(res->body.p + res->body.len, (size_t)n + 1, fmt, again);
        res->body.len += (size_t)n;
    }
    va_end(again);
    return fail(res, r);
}

int http_printf(struct http_res *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vprint(res, fmt, ap);
    va_end(ap);
    return r;
}

int http_respond(struct http_res *res, int status, const char *content_type,
                 const void *body, size_t len)
{
    res->status = status;
    res->content_type = content_type;
    res->body.len = 0;
    return http_body(res, body, len);
}

int http_text(struct http_res *res, int status, const char *fmt, ...)
{
    res->status = status;
    res->content_type = "text/plain; charset=utf-8";
    res->body.len = 0;
    va_list ap;
    va_start(ap, fmt);
    int r = vprint(res, fmt, ap);
    va_end(ap);
    return r;
}

/* ---- framing ---------------------------------------------------------------- */

/* RFC 9110's IMF-fixdate, formatted at most once a second. */
static const char *date_now(struct http_server *srv)
{
    time_t now = time(NULL);
    if ((int64_t)now != srv->date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(srv->date, sizeof srv->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        srv->date_sec = (int64_t)now;
    }
    return srv->date;
}

int http__no_body(int status)
{
    return status < 200 || status == 204 || status == 304;
}

int http__head(struct http_conn *c, int chunked, uint64_t len)
{
    struct http_res *res = &c->res;
    struct http_buf *b = &c->out;
    int r = put_str(b, "HTTP/1.1 ");
    r |= put_uint(b, (uint64_t)res->status);
    r |= http__put(b, " ", 1);
    r |= put_str(b, http_reason(res->status));
    r |= put_str(b, "\r\nServer: ");
    r |= put_str(b, c->srv->cfg.server_name);
    r |= put_str(b, "\r\nDate: ");
    r |= put_str(b, date_now(c->srv));
    r |= put_str(b, "\r\n");
    if (!http__no_body(res->status)) {
        r |= put_str(b, "Content-Type: ");
        r |= put_str(b, res->content_type);
        if (chunked) {
            r |= put_str(b, "\r\nTransfer-Encoding: chunked\r\n");
        } else if (len != UINT64_MAX) {
            r |= put_str(b, "\r\nContent-Length: ");
            r |= put_uint(b, len);
            r |= put_str(b, "\r\n");
        } else {
            r |= put_str(b, "\r\n"); /* HTTP/1.0 streaming: the close ends it */
        }
    }
    if (res->close)
        r |= put_str(b, "Connection: close\r\n");
    else if (c->req.h.minor == 0)
        r |= put_str(b, "Connection: keep-alive\r\n");
    r |= http__put(b, res->headers.p, res->headers.len);
    r |= http__put(b, "\r\n", 2);
    return r ? -ENOMEM : 0;
}

int http_write(struct http_res *res, const void *data, size_t len)
{
    struct http_conn *c = res->conn;
    int chunked = c->req.h.minor >= 1;
    if (!res->streaming) {
        if (!chunked)
            res->close = 1; /* HTTP/1.0 knows no chunks: the close ends the body */
        if (http__head(c, chunked, UINT64_MAX) < 0)
            return task_done_now(0, -ENOMEM);
        res->streaming = 1;
    } else {
        c->out.len = 0; /* the last write's send has finished */
    }
    if (!res->head_only && !http__no_body(res->status) && len > 0) {
        char size[20];
        int n = snprintf(size, sizeof size, "%zx\r\n", len);
        int r = 0;
        if (chunked)
            r |= http__put(&c->out, size, (size_t)n);
        r |= http__put(&c->out, data, len);
        if (chunked)
            r |= http__put(&c->out, "\r\n", 2);
        if (r)
            return task_done_now(0, -ENOMEM);
        res->sent += len;
    }
    return sock_send_all(c->fd, c->out.p, c->out.len);
}

int http__flush(co_t *co)
{
    struct http_flush *f = (struct http_flush *)co;
    CO_BEGIN(co);
    if (f->c->out.len == 0)
        CO_RETURN(0);
    scope_fail_after(&f->timeout, f->c->srv->cfg.send_timeout_ms);
    AWAIT(sock_send_all(f->c->fd, f->c->out.p, f->c->out.len));
    f->c->out.len = 0;
    CO_FINALLY
    CO_ERROR = scope_close(&f->timeout, CO_ERROR);
    CO_END;
}
