/*
 * client.c - an HTTP/1.1 client over one kept-alive connection.
 *
 * A request is one coroutine, written top to bottom as a blocking client
 * would be: connect if needed, send, read the head, read the body.  Every
 * await in it is bounded by one cancel scope, so a single timeout covers the
 * name lookup, the connect, a server that stops sending halfway through a
 * body and one that sends 1xx replies forever, without a timer per step.
 *
 * The reply is read through the client's stream: a read may bring the end of
 * the head and the start of the body at once, and what the stream has read
 * ahead belongs to the body.  The head is copied out of the stream into a
 * buffer the request owns, because the stream's buffer is reused for the
 * body, and the parsed fields (which point into the head) must outlive it.
 *
 * The parser decides the body's framing and whether the connection may be
 * kept (hparse.h); this file only adds the client's own rule: a connection
 * with bytes left over after the reply is not reused, since a server sends
 * nothing unasked and those bytes would be read as the next reply.
 */
#include "client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sock.h"
#include "task.h"
#include "thread.h"

#define TIMEOUT_MS 30000
#define MAX_BODY (16u << 20)
#define MAX_HEAD 16384

const char *client_strerror(int err)
{
    switch (err) {
    case CLIENT_ENONAME: return "host name not found";
    case CLIENT_ERESOLVE: return "host name lookup failed";
    case CLIENT_EHEAD: return "reply head larger than the client's max_head";
    case CLIENT_ETOOBIG: return "reply body larger than the client's max_body";
    default:
        if (err <= HPARSE_EBAD && err > HPARSE_EBAD - 100)
            return hparse_strerror(err);
        return task_strerror(err);
    }
}

/* ---- characters ---------------------------------------------------------- */

static int lower(int ch) { return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch; }
static int is_alnum(int ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* ASCII case-insensitive equality: locale-free, as HTTP's names are. */
static int ieq(const char *a, const char *b)
{
    while (*a && lower((unsigned char)*a) == lower((unsigned char)*b))
        a++, b++;
    return *a == *b;
}

/* RFC 9110 5.6.2: the characters of a method or a field name. */
static int is_token(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!is_alnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
            return 0;
    return 1;
}

/* A field value: no control character but HTAB.  A CR or LF above all would
 * end the field early and let the rest of the value forge fields of its own. */
static int value_ok(const char *s)
{
    if (!s)
        return 0;
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
            return 0;
    return 1;
}

/* ---- URLs ---------------------------------------------------------------- */

int client_parse_url(const char *url, struct client_url *u)
{
    memset(u, 0, sizeof *u);
    u->port = 80;
    if (!url)
        return -EINVAL;
    /* Printable ASCII only, and no space: what goes into the request line
     * must not be able to end it.  (Callers percent-encode the rest.) */
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return -EINVAL;
    const char *sep = strstr(url, "://");
    if (!sep || sep == url || lower((unsigned char)url[0]) < 'a' || lower((unsigned char)url[0]) > 'z')
        return -EINVAL;
    for (const char *p = url; p < sep; p++)
        if (!is_alnum((unsigned char)*p) && *p != '+' && *p != '-' && *p != '.')
            return -EINVAL;
    if (sep - url != 4 || lower(url[0]) != 'h' || lower(url[1]) != 't' ||
        lower(url[2]) != 't' || lower(url[3]) != 'p')
        return -EPROTONOSUPPORT; /* https needs TLS, which this course has not */
    const char *a = sep + 3, *end = a + strcspn(a, "/?#"), *h = a, *colon;
    size_t hlen;
    if (memchr(a, '@', (size_t)(end - a)))
        return -EINVAL; /* user info: never sent in clear by this client */
    if (*a == '[') {
        const char *rb = memchr(a, ']', (size_t)(end - a));
        if (!rb)
            return -EINVAL;
        h = a + 1;
        hlen = (size_t)(rb - h);
        colon = rb + 1 < end ? rb + 1 : NULL;
        if (colon && *colon != ':')
            return -EINVAL;
        u->ipv6 = 1;
    } else {
        colon = memchr(a, ':', (size_t)(end - a));
        hlen = (size_t)((colon ? colon : end) - a);
        for (size_t i = 0; i < hlen; i++)
            if (!is_alnum((unsigned char)a[i]) && !strchr("-._", a[i]))
                return -EINVAL;
    }
    if (hlen == 0 || hlen >= sizeof u->host)
        return -EINVAL;
    for (size_t i = 0; i < hlen; i++)
        u->host[i] = (char)lower((unsigned char)h[i]);
    unsigned char probe[sizeof(struct in6_addr)];
    if (u->ipv6 && inet_pton(AF_INET6, u->host, probe) != 1)
        return -EINVAL;
    if (colon && colon + 1 < end) { /* "host:" alone means the default port */
        long port = 0;
        for (const char *p = colon + 1; p < end; p++) {
            if (*p < '0' || *p > '9' || (port = port * 10 + (*p - '0')) > 65535)
                return -EINVAL;
        }
        if (port == 0)
            return -EINVAL;
        u->port = (int)port;
    }
    u->target = end;
    u->target_len = strcspn(end, "#"); /* the fragment is the client's own */
    return 0;
}

/* ---- the connection ------------------------------------------------------ */

void client_init(struct client *c)
{
    *c = (struct client){.fd = -1, .timeout_ms = TIMEOUT_MS, .max_body = MAX_BODY,
                         .max_head = MAX_HEAD, .user_agent = "async-c"};
    c->in.fd = -1;
}

/* Forget the connection (its state is unknown, or the server ends it); the
 * stream's buffer is kept for the next one. */
static void drop(struct client *c)
{
    if (c->fd >= 0)
        sock_close(c->fd);
    c->fd = c->in.fd = -1;
    c->reusable = 0;
    c->in.start = c->in.end = 0;
    c->in.eof = 0;
}

void client_close(struct client *c)
{
    drop(c);
    stream_fini(&c->in);
}

/* ---- connecting ---------------------------------------------------------- */

/* On a worker thread (getaddrinfo blocks, for as long as DNS takes): every
 * address of the name, as numeric strings for sock_connect.  It writes only
 * into the frame, which thread_run keeps alive until this returns. */
static int resolve(void *arg)
{
    struct client_open *f = arg;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    f->gai = getaddrinfo(f->host, NULL, &hints, &res);
    if (f->gai != 0) {
#ifdef EAI_NODATA
        if (f->gai == EAI_NODATA)
            return CLIENT_ENONAME;
#endif
        return f->gai == EAI_NONAME ? CLIENT_ENONAME : CLIENT_ERESOLVE;
    }
    f->naddrs = 0;
    for (const struct addrinfo *ai = res; ai && f->naddrs < CLIENT_MAX_ADDRS; ai = ai->ai_next) {
        const void *a = NULL;
        if (ai->ai_family == AF_INET)
            a = &((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr;
        else if (ai->ai_family == AF_INET6)
            a = &((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_addr;
        if (a && inet_ntop(ai->ai_family, a, f->addrs[f->naddrs], sizeof f->addrs[0]))
            f->naddrs++;
    }
    freeaddrinfo(res);
    return f->naddrs ? 0 : CLIENT_ENONAME;
}

/* Resolve if need be, then connect to each address in turn: "localhost" may
 * give ::1 first to a server that listens on 127.0.0.1 alone.  The value is
 * the socket; the error is the last address's. */
static int client_open(co_t *co)
{
    struct client_open *f = (struct client_open *)co;
    unsigned char probe[sizeof(struct in6_addr)];
    CO_BEGIN(co);
    if (inet_pton(AF_INET, f->host, probe) == 1 || inet_pton(AF_INET6, f->host, probe) == 1) {
        snprintf(f->addrs[0], sizeof f->addrs[0], "%s", f->host);
        f->naddrs = 1;
    } else {
        AWAIT(thread_run(resolve, f));
    }
    for (f->i = 0; f->i < f->naddrs; f->i++) {
        AWAIT_CATCH(sock_connect(f->addrs[f->i], f->port), f->err);
        if (f->err == 0)
            CO_RETURN(CO_VALUE);
        if (f->err == -ECANCELED)
            CO_RAISE(f->err); /* a timeout or a cancel: no next address */
    }
    CO_RAISE(f->err);
    CO_END;
}

/* ---- the request's head -------------------------------------------------- */

struct out {
    char *p;
    size_t len, cap;
    int err;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->err)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *p = realloc(o->p, cap);
        if (!p) {
            o->err = -ENOMEM;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

/* Each string in turn, up to a NULL. */
static void put_all(struct out *o, ...)
{
    va_list ap;
    va_start(ap, o);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
        put(o, s, strlen(s));
    va_end(ap);
}

/* RFC 9110 9.2.2: the methods a client may send twice without changing what
 * once would.  Only these are retried when a kept-alive connection turns out
 * to have been closed: a POST the server did see must not happen twice. */
static int idempotent(const char *m)
{
    static const char *const safe[] = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"};
    for (size_t i = 0; i < sizeof safe / sizeof safe[0]; i++)
        if (strcmp(m, safe[i]) == 0)
            return 1;
    return 0;
}

static int build_head(struct client_request *rq)
{
    struct out o = {0};
    char port[16] = "", len[32];
    int agent = 0;
    const char *m = rq->method;
    if (!is_token(m) || (!rq->data && rq->data_len) ||
        (rq->c->user_agent && !value_ok(rq->c->user_agent)))
        return -EINVAL;
    for (const char *const *h = rq->headers; h && h[0]; h += 2) {
        if (!is_token(h[0]) || !value_ok(h[1]) || ieq(h[0], "Host") ||
            ieq(h[0], "Content-Length") || ieq(h[0], "Transfer-Encoding"))
            return -EINVAL;
        agent |= ieq(h[0], "User-Agent");
        rq->close_after |= ieq(h[0], "Connection") && ieq(h[1], "close");
    }
    put_all(&o, m, rq->u.target_len && rq->u.target[0] == '/' ? " " : " /", NULL);
    put(&o, rq->u.target, rq->u.target_len);
    if (rq->u.port != 80)
        snprintf(port, sizeof port, ":%d", rq->u.port);
    put_all(&o, " HTTP/1.1\r\nHost: ", rq->u.ipv6 ? "[" : "", rq->u.host, rq->u.ipv6 ? "]" : "",
            port, "\r\n", NULL);
    if (!agent && rq->c->user_agent)
        put_all(&o, "User-Agent: ", rq->c->user_agent, "\r\n", NULL);
    for (const char *const *h = rq->headers; h && h[0]; h += 2)
        put_all(&o, h[0], ": ", h[1], "\r\n", NULL);
    /* RFC 9110 8.6: a body's length, and 0 for the methods that expect one,
     * so that the server does not wait for a body that is not coming. */
    if (rq->data || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0) {
        snprintf(len, sizeof len, "%zu", rq->data_len);
        put_all(&o, "Content-Length: ", len, "\r\n", NULL);
    }
    put_all(&o, "\r\n", NULL);
    if (o.err) {
        free(o.p);
        return o.err;
    }
    rq->out = o.p;
    rq->out_len = o.len;
    return 0;
}

/* ---- the reply's body ---------------------------------------------------- */

/* Room for `more` bytes and the NUL after them, within max_body. */
static int reserve(struct client_request *rq, uint64_t more)
{
    if (more > rq->c->max_body - rq->body_len || more > SIZE_MAX / 2 - rq->body_len)
        return CLIENT_ETOOBIG;
    size_t need = rq->body_len + (size_t)more + 1;
    if (need <= rq->body_cap)
        return 0;
    size_t cap = rq->body_cap ? rq->body_cap : 1024;
    while (cap < need)
        cap *= 2;
    char *b = realloc(rq->body, cap);
    if (!b)
        return -ENOMEM;
    rq->body = b;
    rq->body_cap = cap;
    return 0;
}

static int append(struct client_request *rq, const char *p, size_t n)
{
    int r = reserve(rq, n);
    if (r == 0) {
        memcpy(rq->body + rq->body_len, p, n);
        rq->body_len += n;
        rq->body[rq->body_len] = '\0';
    }
    return r;
}

/* ---- the request --------------------------------------------------------- */

void client_req(struct client_request *rq, struct client *c, const char *method,
                const char *url, const char *const *headers, const void *data,
                size_t data_len)
{
    client_request_fini(rq);
    *rq = (struct client_request){.c = c, .method = method, .url = url, .headers = headers,
                                  .data = data, .data_len = data_len};
}

int client_request(co_t *co)
{
    struct client_request *f = (struct client_request *)co;
    struct client *c = f->c; /* recomputed at each resume, like all locals */
    const char *data;
    char *h;
    size_t n, used;
    int r, e;
    CO_BEGIN(co);
    if (c->busy)
        CO_RAISE(-EBUSY);
    c->busy = f->owns_client = 1;
    r = client_parse_url(f->url, &f->u);
    if (r == 0)
        r = build_head(f);
    if (r == 0 && c->timeout_ms)
        r = scope_fail_after(&f->timeout, c->timeout_ms);
    if (r == 0 && !c->in.buf)
        r = stream_init(&c->in, -1, c->max_head);
    if (r < 0)
        CO_RAISE(r);
    if (c->fd >= 0 && !(c->reusable && c->port == f->u.port && strcmp(c->host, f->u.host) == 0))
        drop(c);

    /* Send, and wait for the first byte of the reply.  A kept-alive
     * connection may have been closed by the server while it sat idle; we
     * learn that only now, from the send (EPIPE) or from the reply (end of
     * file, or a reset).  Nothing of the reply arrived, so the server did
     * not answer this request: an idempotent one is sent once more, on a
     * new connection, as browsers, curl and urllib3 do. */
    for (;;) {
        f->reused = c->fd >= 0;
        if (c->fd < 0) {
            f->open = (struct client_open){.c = c, .host = f->u.host, .port = f->u.port};
            AWAIT_CO(&f->open.co, client_open);
            c->fd = c->in.fd = (int)CO_VALUE; /* drop() emptied the stream */
            memcpy(c->host, f->u.host, sizeof c->host);
            c->port = f->u.port;
            c->connects++;
        }
        c->reusable = 0; /* until this reply says otherwise */
        AWAIT_CATCH(sock_send_all(c->fd, f->out, f->out_len), f->err);
        if (!f->err && f->data_len)
            AWAIT_CATCH(sock_send_all(c->fd, f->data, f->data_len), f->err);
        while (!f->err && stream_len(&c->in) == 0) {
            AWAIT_CATCH(stream_fill(&c->in), f->err);
            if (!f->err && CO_VALUE == 0)
                f->err = -ECONNRESET; /* closed without a word */
        }
        if (!f->err)
            break;
        if (f->err == -EPIPE)
            f->err = -ECONNRESET; /* one name for "the server hung up" */
        if (!f->reused || !idempotent(f->method) || f->err != -ECONNRESET)
            CO_RAISE(f->err); /* -ECANCELED above all: never retried */
        drop(c);
        f->retried = 1;
    }

    /* The head, and the heads before it while they are interim (1xx: 100
     * Continue, 103 Early Hints), within max_head in all.  101 Switching
     * Protocols is final: the connection now speaks something else. */
    for (;;) {
        f->scan = (struct hparse_scan){0};
        while ((f->head_len = hparse_scan_head(&f->scan, stream_data(&c->in),
                                               stream_len(&c->in))) == 0) {
            if (stream_len(&c->in) >= c->in.cap || f->head_total + stream_len(&c->in) > c->max_head)
                CO_RAISE(CLIENT_EHEAD);
            AWAIT(stream_fill(&c->in));
            if (CO_VALUE == 0)
                CO_RAISE(-ECONNRESET);
        }
        f->head_total += f->head_len;
        if (f->head_total > c->max_head)
            CO_RAISE(CLIENT_EHEAD);
        /* Parsed in a copy the request owns: the body overwrites the stream. */
        if (!(h = realloc(f->head, f->head_len + 1)))
            CO_RAISE(-ENOMEM);
        f->head = memcpy(h, stream_data(&c->in), f->head_len);
        f->head[f->head_len] = '\0';
        stream_consume(&c->in, f->head_len);
        r = hparse_response(f->head, f->head_len, HPARSE_MAX_HEADERS,
                            strcmp(f->method, "HEAD") == 0, &f->resp);
        if (r < 0)
            CO_RAISE(r);
        if (f->resp.status >= 200 || f->resp.status == 101)
            break;
    }

    /* The body, by the framing the head chose. */
    f->body_len = 0;
    r = reserve(f, f->resp.body == HPARSE_BODY_LENGTH ? f->resp.content_length : 0);
    if (r < 0)
        CO_RAISE(r);
    f->body[0] = '\0';
    if (f->resp.body == HPARSE_BODY_LENGTH) {
        while (f->body_len < f->resp.content_length) {
            if (stream_len(&c->in) == 0) {
                AWAIT(stream_fill(&c->in));
                if (CO_VALUE == 0)
                    CO_RAISE(-ECONNRESET); /* fewer bytes than promised */
            }
            n = stream_len(&c->in);
            if (n > f->resp.content_length - f->body_len)
                n = (size_t)(f->resp.content_length - f->body_len);
            (void)append(f, stream_data(&c->in), n); /* reserved above: cannot fail */
            stream_consume(&c->in, n);
        }
    } else if (f->resp.body == HPARSE_BODY_CHUNKED) {
        f->chunked = (struct hparse_chunked){0};
        for (;;) {
            r = hparse_chunked(&f->chunked, stream_data(&c->in), stream_len(&c->in), &used,
                               &data, &n);
            if (r >= 0 && n > 0 && (e = append(f, data, n)) < 0)
                r = e;
            stream_consume(&c->in, used);
            if (r < 0)
                CO_RAISE(r);
            if (r == 1)
                break;
            if (stream_len(&c->in) == 0) {
                AWAIT(stream_fill(&c->in));
                if (CO_VALUE == 0)
                    CO_RAISE(-ECONNRESET); /* before the last chunk */
            }
        }
    } else if (f->resp.body == HPARSE_BODY_UNTIL_CLOSE) {
        for (;;) {
            r = append(f, stream_data(&c->in), stream_len(&c->in));
            if (r < 0)
                CO_RAISE(r);
            stream_consume(&c->in, stream_len(&c->in));
            AWAIT(stream_fill(&c->in));
            if (CO_VALUE == 0)
                break; /* the end of the body is the end of the connection */
        }
    }
    f->status = f->resp.status;
    c->requests++;
    c->reusable = f->resp.keep_alive && !f->close_after && f->status != 101 &&
                  stream_len(&c->in) == 0 && !c->in.eof;
    if (!c->reusable)
        drop(c);
    CO_RETURN(f->status);
    CO_FINALLY
    free(f->out);
    f->out = NULL;
    if (CO_ERROR && f->owns_client)
        drop(c); /* halfway through a reply: nothing more on it can be trusted */
    if (CO_ERROR)
        client_request_fini(f); /* no half-read reply is left to look at */
    if (f->owns_client)
        c->busy = 0;
    f->owns_client = 0;
    CO_ERROR = scope_close(&f->timeout, CO_ERROR);
    CO_END;
}

const char *client_header(const struct client_request *rq, const char *name)
{
    return rq->head ? hparse_get(rq->resp.headers, rq->resp.nheaders, name) : NULL;
}

void client_request_fini(struct client_request *rq)
{
    free(rq->head);
    free(rq->body);
    free(rq->out);
    rq->head = rq->body = rq->out = NULL;
    rq->body_len = rq->body_cap = rq->out_len = 0;
    rq->resp.nheaders = 0;
    rq->status = 0;
}
