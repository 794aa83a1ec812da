/*
 * hello_http.c - "Hello, World!" over HTTP, in the fewest lines that work.
 *
 * The same accept loop as echo_server.c; each connection reads until the
 * blank line that ends the request head ("\r\n\r\n"), in a buffer of 8 KiB,
 * answers and closes:
 *
 *     HTTP/1.1 200 OK
 *     Content-Type: text/plain
 *     Content-Length: 14
 *     Connection: close
 *
 *     Hello, World!
 *
 * (431 when the head does not fit, 400 when it is not a request line or the
 * client stops before the blank line.)  In Python, the same toy:
 *
 *     async def handle(reader, writer):
 *         head = await reader.readuntil(b"\r\n\r\n")   # limit=8192
 *         writer.write(b"HTTP/1.1 200 OK\r\n...\r\n\r\nHello, World!\n")
 *         await writer.drain()
 *         writer.close()
 *
 * Now count what it ignores: the method and the path (every request gets the
 * same page, POST and DELETE included); request bodies, so a Content-Length
 * or chunked body is left unread, and closing with unread data makes the
 * kernel send a reset that may destroy our answer in flight; keep-alive and
 * pipelining (one request per connection, however the client asked); header
 * parsing (folded or malformed lines, Host, Expect: 100-continue); partial
 * lines in general, since it only looks for the blank line (a client that
 * ends lines with a bare "\n", as `nc` without -C does, is never answered);
 * and time: a client that connects and sends nothing, or one byte a minute,
 * or never reads the answer, holds its task and socket forever.  Enough slow
 * clients and the server runs out of descriptors without ever being busy.
 * This is the moment it is clear why stage 4 brings timeouts and stage 6 a
 * real protocol layer: streams with buffered reads, limits, and a parser.
 *
 * With no arguments: a demo that serves on a free port and fetches the page
 * once from a client task in the same loop.  With a port: serves
 * 127.0.0.1:PORT until killed (try `curl -v http://127.0.0.1:PORT/`).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group.h"
#include "loop.h"
#include "sock.h"

#define MAX_HEAD 8192
#define BODY "Hello, World!\n"

static void put_quoted(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        if (i == 80) {
            printf("\"... (%zu bytes)", n);
            return;
        }
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\r')
            fputs("\\r", stdout);
        else if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static int peer_gone(int err)
{
    return err == -ECONNRESET || err == -EPIPE || err == -ECONNABORTED || err == -ETIMEDOUT;
}

/* Where "\r\n\r\n" ends in buf, or 0.  `from` is where new bytes begin:
 * the end may straddle two recvs, so look a little before it. */
static size_t head_end(const char *buf, size_t n, size_t from)
{
    for (size_t i = from > 3 ? from - 3 : 0; i + 4 <= n; i++)
        if (memcmp(buf + i, "\r\n\r\n", 4) == 0)
            return i + 4;
    return 0;
}

/* How many bytes of buf come before the first `c` (all n if none). */
static size_t strcspn_n(const char *buf, size_t n, char c)
{
    const char *p = memchr(buf, c, n);
    return p ? (size_t)(p - buf) : n;
}

/* "METHOD TARGET HTTP/x.y": three words, the last one naming HTTP. */
static int is_request_line(const char *s, size_t n)
{
    size_t spaces = 0, last = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != ' ')
            continue;
        if (i == 0 || s[i - 1] == ' ')
            return 0; /* an empty word */
        spaces++;
        last = i + 1;
    }
    return spaces == 2 && n - last > 5 && memcmp(s + last, "HTTP/", 5) == 0;
}

/* The page, or an error page with an empty body. */
static int build_reply(char *out, size_t n, int status)
{
    const char *reason = status == 200   ? "OK"
                         : status == 431 ? "Request Header Fields Too Large"
                                         : "Bad Request";
    const char *body = status == 200 ? BODY : "";
    return snprintf(out, n,
                    "HTTP/1.1 %d %s\r\n"
                    "Content-Type: text/plain\r\n"
                    "Content-Length: %zu\r\n"
                    "Connection: close\r\n"
                    "\r\n"
                    "%s",
                    status, reason, strlen(body), body);
}

/* One connection: read the head, answer, close. */
struct http_conn {
    co_t co;
    int fd;
    unsigned id;
    char buf[MAX_HEAD];
    size_t used, from, end, line;
    int status, err;
    char reply[256];
    int len;
};

static int http_conn(co_t *co)
{
    struct http_conn *f = (struct http_conn *)co;
    CO_BEGIN(co);
    f->status = 200;
    while (f->end == 0) {
        if (f->used == sizeof f->buf) {
            f->status = 431; /* no blank line in the first 8 KiB */
            break;
        }
        AWAIT_CATCH(sock_recv(f->fd, f->buf + f->used, sizeof f->buf - f->used), f->err);
        if (f->err || CO_VALUE == 0)
            break;
        f->from = f->used;
        f->used += (size_t)CO_VALUE;
        f->end = head_end(f->buf, f->used, f->from);
    }
    if (f->err && !peer_gone(f->err))
        CO_RAISE(f->err); /* -ECANCELED above all: never swallow a cancel */
    if (f->err || f->used == 0) {
        printf("server: #%u closed without a request\n", f->id);
        CO_RETURN(0);
    }
    /* The request line is the head's first line, without its "\r\n". */
    f->line = strcspn_n(f->buf, strcspn_n(f->buf, f->used, '\n'), '\r');
    if (f->status == 200 && (f->end == 0 || !is_request_line(f->buf, f->line)))
        f->status = 400; /* not HTTP, or end of file before the blank line */
    printf("server: #%u request line ", f->id);
    put_quoted(f->buf, f->line);
    printf(" -> %d\n", f->status);
    f->len = build_reply(f->reply, sizeof f->reply, f->status);
    AWAIT_CATCH(sock_send_all(f->fd, f->reply, (size_t)f->len), f->err);
    if (f->err && !peer_gone(f->err))
        CO_RAISE(f->err);
    CO_RETURN(f->status);
    CO_FINALLY
    sock_close(f->fd);
    CO_END;
}

/* The accept loop, as in echo_server.c. */
struct server {
    co_t co;
    int lfd, fd;
    unsigned nconns;
    group_t conns;
};

static int server(co_t *co)
{
    struct server *f = (struct server *)co;
    CO_BEGIN(co);
    group_init(&f->conns);
    for (;;) {
        AWAIT(sock_accept(f->lfd));
        f->fd = (int)CO_VALUE;
        if (!GROUP_SPAWN(&f->conns, http_conn, struct http_conn, .fd = f->fd, .id = ++f->nconns))
            sock_close(f->fd);
    }
    CO_FINALLY
    sock_close(f->lfd);
    AWAIT(group_join(&f->conns, CO_ERROR));
    CO_END;
}

/* The demo's client: curl in thirty lines.  Connection: close means the
 * response ends when the server closes, so read until end of file. */
struct fetch {
    co_t co;
    int port, fd;
    char req[128];
    char buf[1024];
    size_t used, len, i;
};

static int fetch(co_t *co)
{
    struct fetch *f = (struct fetch *)co;
    CO_BEGIN(co);
    f->fd = -1;
    AWAIT(sock_connect("127.0.0.1", f->port));
    f->fd = (int)CO_VALUE;
    f->len = (size_t)snprintf(f->req, sizeof f->req,
                              "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: hello_http\r\n\r\n",
                              f->port);
    printf("client: sending a GET (%zu bytes)\n", f->len);
    AWAIT(sock_send_all(f->fd, f->req, f->len));
    do {
        if (f->used == sizeof f->buf)
            CO_RAISE(-EMSGSIZE);
        AWAIT(sock_recv(f->fd, f->buf + f->used, sizeof f->buf - f->used));
        f->used += (size_t)CO_VALUE;
    } while (CO_VALUE > 0);
    printf("client: the raw response, %zu bytes, line by line:\n", f->used);
    for (f->i = 0; f->i < f->used; f->i += f->len) {
        const char *nl = memchr(f->buf + f->i, '\n', f->used - f->i);
        f->len = nl ? (size_t)(nl - f->buf) + 1 - f->i : f->used - f->i;
        printf("    ");
        put_quoted(f->buf + f->i, f->len);
        putchar('\n');
    }
    CO_FINALLY
    if (f->fd >= 0)
        sock_close(f->fd);
    CO_END;
}

struct main_frame {
    co_t co;
    int port, lfd;
    int demo;
    group_t srv;
    task_t *t;
};

static int main_task(co_t *co)
{
    struct main_frame *f = (struct main_frame *)co;
    CO_BEGIN(co);
    group_init(&f->srv);
    f->lfd = sock_listen("127.0.0.1", f->port, 0);
    if (f->lfd < 0)
        CO_RAISE(f->lfd);
    f->port = sock_port(f->lfd);
    if (!GROUP_SPAWN(&f->srv, server, struct server, .lfd = f->lfd)) {
        sock_close(f->lfd);
        CO_RAISE(-ENOMEM);
    }
    printf("server: listening on http://127.0.0.1:%d/\n", f->port);
    if (!f->demo)
        CO_RETURN(0); /* serve forever: the join below never ends */
    f->t = TASK_SPAWN(fetch, struct fetch, .port = f->port);
    AWAIT(task_join(f->t));
    printf("main: fetched, stopping the server\n");
    group_cancel(&f->srv);
    CO_FINALLY
    AWAIT(group_join(&f->srv, CO_ERROR));
    CO_END;
}

int main(int argc, char **argv)
{
    long port = 0;
    if (argc > 2 || (argc == 2 && ((port = strtol(argv[1], NULL, 10)) < 1 || port > 65535))) {
        fprintf(stderr, "usage: %s [PORT]   (no PORT: a self-contained demo)\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rc = LOOP_RUN(NULL, main_task, struct main_frame, .port = (int)port, .demo = argc == 1);
    if (rc)
        printf("loop_run returned %d (%s)\n", rc, task_strerror(rc));
    return rc == 0 ? 0 : 1;
}
