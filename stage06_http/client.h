/*
 * client.h - an HTTP/1.1 client: Python's http.client.HTTPConnection.
 *
 * A `struct client` is one connection, opened on the first request and kept
 * open for the next one when the server allows it (keep-alive), so several
 * requests to one server pay for one TCP handshake.  Each request is a
 * sub-coroutine whose frame lives in the caller's frame, filled in by a
 * plain call and then awaited:
 *
 *     conn = http.client.HTTPConnection("127.0.0.1", 8080, timeout=30)
 *     conn.request("GET", "/hello")               client_req(&f->rq, &f->c, "GET",
 *     r = conn.getresponse()                          "http://127.0.0.1:8080/hello",
 *     print(r.status, r.read())                       NULL, NULL, 0);
 *                                                 AWAIT_CO(&f->rq.co, client_request);
 *                                                 printf("%d %s\n", (int)CO_VALUE, f->rq.body);
 *                                                 ...
 *                                               CO_FINALLY
 *                                                 client_request_fini(&f->rq);
 *                                                 client_close(&f->c);
 *
 * What a request does, every step bounded by the client's timeout (a cancel
 * scope around the whole request, scope.h): parse the URL, resolve a host
 * name on a worker thread (thread_run: getaddrinfo blocks), connect, send the
 * head and the body, read the reply's head through the client's stream
 * (stream.h) and parse it (hparse.h), skip interim 1xx replies, read the body
 * by its framing (Content-Length, chunked, or until the server closes), and
 * decide whether the connection may carry the next request.
 *
 * One request at a time per client; any error closes the connection, since
 * what is left on it is unknown.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "co.h"
#include "hparse.h"
#include "scope.h"
#include "stream.h"

/* Errors of this module (beside -errno, HPARSE_E* for a malformed reply,
 * and -ETIMEDOUT when the client's timeout passes). */
enum {
    CLIENT_ENONAME = -1401,  /* the host name does not resolve */
    CLIENT_ERESOLVE = -1402, /* the name lookup itself failed (try again) */
    CLIENT_EHEAD = -1403,    /* the reply's head is larger than max_head */
    CLIENT_ETOOBIG = -1404,  /* the reply's body is larger than max_body */
};

/* "host name not found", ..., or task_strerror's text for other codes. */
const char *client_strerror(int err);

#define CLIENT_HOST_MAX 256 /* a DNS name is at most 253 characters */

/* ---- URLs -------------------------------------------------------------- */

/* http://host[:port][/path][?query][#fragment], split.  The fragment is
 * never sent; an IPv6 literal is written in brackets (http://[::1]:8080/). */
struct client_url {
    char host[CLIENT_HOST_MAX]; /* lower case; an IPv6 literal unbracketed */
    int port;                   /* [80] */
    int ipv6;                   /* host is an IPv6 literal */
    const char *target;         /* "/path?query", pointing into the URL */
    size_t target_len;          /* 0: the target is "/" */
};

/* Returns 0, -EPROTONOSUPPORT for https and other schemes, or -EINVAL for
 * anything that is not such a URL (user info, a bad port, a space or a
 * control character anywhere). */
int client_parse_url(const char *url, struct client_url *u);

/* ---- the connection ------------------------------------------------------ */

struct client {
    int fd;                     /* -1 when not connected */
    char host[CLIENT_HOST_MAX]; /* what fd is connected to */
    int port;
    struct stream in;           /* the replies, read ahead */
    int reusable;               /* the last reply left fd fit for another */
    int busy;                   /* a request is running on it */
    /* Settings: client_init() sets the values in brackets. */
    uint64_t timeout_ms;        /* each whole request; 0: none [30000] */
    uint64_t max_body;          /* reply body bytes [16 MiB] */
    size_t max_head;            /* reply head bytes, with any 1xx; also the
                                   stream's size, fixed at the first request
                                   after client_init or client_close [16384] */
    const char *user_agent;     /* unless the request sets one ["async-c"] */
    /* Counters, for the curious and for the tests. */
    unsigned connects;          /* connections opened */
    unsigned requests;          /* replies received */
};

/* Plain calls.  client_close closes the connection and frees the buffer; the
 * client may be used again afterwards (it reconnects). */
void client_init(struct client *c);
void client_close(struct client *c);

/* ---- a request ---------------------------------------------------------- */

#define CLIENT_MAX_ADDRS 8

/* The frame of the connecting step (internal: a member of the request's). */
struct client_open {
    co_t co;
    struct client *c;
    const char *host;
    int port;
    int naddrs, i, err, gai;
    char addrs[CLIENT_MAX_ADDRS][46]; /* numeric, as sock_connect wants */
};

/* The frame of client_request: its arguments, its state, and afterwards the
 * reply. */
struct client_request {
    co_t co;
    /* Arguments (client_req).  They must stay valid until the request ends. */
    struct client *c;
    const char *method;
    const char *url;
    const char *const *headers; /* {"Name", "value", ..., NULL} or NULL */
    const void *data;           /* the request body, or NULL */
    size_t data_len;
    /* The reply, once client_request has returned its status.  resp points
     * into head, which the request owns: both stay valid until the next
     * client_req or client_request_fini. */
    int status;
    struct hparse_resp resp;
    char *head;
    char *body;                 /* malloc'd, NUL-terminated ("" if none) */
    size_t body_len;
    int reused;                 /* it went over a connection kept alive */
    int retried;                /* a kept-alive connection had been closed
                                   by the server: sent again on a new one */
    /* State. */
    struct client_url u;
    struct client_open open;
    struct scope timeout;
    struct hparse_scan scan;
    struct hparse_chunked chunked;
    char *out;                  /* the request head, as sent */
    size_t out_len, head_len, head_total, body_cap;
    int err, owns_client, close_after;
};

/* Fill in the frame for one request (a plain call: AWAIT_CO evaluates its
 * arguments more than once).  It frees what a previous request left in the
 * frame, so the frame must start zeroed (as every frame does) or have been
 * through client_request_fini. */
void client_req(struct client_request *rq, struct client *c, const char *method,
                const char *url, const char *const *headers, const void *data,
                size_t data_len);

/* Sub-coroutine to AWAIT_CO: the value is the status code.  Errors: those of
 * client_parse_url; -EINVAL for a bad method or header (a CR or LF in one
 * would let it forge others), or Host, Content-Length or Transfer-Encoding
 * among them (the client writes those); -EBUSY if the client is in use;
 * CLIENT_E*; -ECONNREFUSED and the other errors of sock_connect;
 * -ECONNRESET when the server closes or resets the connection before the
 * reply is complete; HPARSE_E* for a malformed reply; -ETIMEDOUT;
 * -ECANCELED (always passed on). */
int client_request(co_t *co);

/* A reply header (ASCII case-insensitive name), or NULL. */
const char *client_header(const struct client_request *rq, const char *name);

/* Free the reply (head and body).  Safe on every path: after an error, on a
 * frame never used (zeroed), and twice. */
void client_request_fini(struct client_request *rq);

#endif
