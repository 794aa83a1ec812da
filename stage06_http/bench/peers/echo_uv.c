/*
 * echo_uv.c - the libuv peer of bench/echo.c: an echo server in plain C on
 * libuv's loop, written the fast way:
 *
 *   - one buffer per connection, handed to every read (no malloc per read);
 *   - uv_try_write first: on loopback the whole message nearly always goes
 *     out at once, with no write request; only a partial write copies the
 *     rest into a uv_write request.
 *
 * Not built by the Makefile (it needs libuv): bench/echo.c compiles it at run
 * time with `cc -O2 ... $(pkg-config --cflags --libs libuv)` when libuv is
 * installed.  Listens on 127.0.0.1, a port the kernel picks, and prints that
 * port on one line once it accepts.  Runs until killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct conn {
    uv_tcp_t tcp; /* first: the handle's address is the connection's */
    char buf[65536];
};

struct wreq {
    uv_write_t req;
    uv_buf_t buf; /* a copy of what try_write could not send */
};

static void on_close(uv_handle_t *h) { free(h); }

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct conn *c = (struct conn *)h;
    *buf = uv_buf_init(c->buf, sizeof c->buf);
}

static void on_write(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    if (status < 0 && !uv_is_closing((uv_handle_t *)req->handle))
        uv_close((uv_handle_t *)req->handle, on_close);
    free(w->buf.base);
    free(w);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    if (nread < 0) {
        if (!uv_is_closing((uv_handle_t *)s))
            uv_close((uv_handle_t *)s, on_close);
        return;
    }
    if (nread == 0)
        return;
    uv_buf_t b = uv_buf_init(buf->base, (unsigned)nread);
    int sent = uv_try_write(s, &b, 1);
    if (sent == nread)
        return;
    if (sent < 0 && sent != UV_EAGAIN) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    size_t done = sent > 0 ? (size_t)sent : 0;
    struct wreq *w = malloc(sizeof *w);
    char *copy = malloc((size_t)nread - done);
    if (!w || !copy) {
        free(w);
        free(copy);
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    memcpy(copy, buf->base + done, (size_t)nread - done);
    w->buf = uv_buf_init(copy, (unsigned)((size_t)nread - done));
    if (uv_write(&w->req, s, &w->buf, 1, on_write) < 0) {
        free(copy);
        free(w);
        uv_close((uv_handle_t *)s, on_close);
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    struct conn *c = malloc(sizeof *c);
    if (!c)
        return;
    uv_tcp_init(server->loop, &c->tcp);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        uv_close((uv_handle_t *)&c->tcp, on_close);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int main(void)
{
    uv_loop_t *loop = uv_default_loop();
    uv_tcp_t server;
    struct sockaddr_in addr;
    uv_tcp_init(loop, &server);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    int r = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&server, 1024, on_connection);
    if (r < 0) {
        fprintf(stderr, "echo_uv: %s\n", uv_strerror(r));
        return 1;
    }
    struct sockaddr_in bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &len);
    printf("%d\n", ntohs(bound.sin_port));
    fflush(stdout);
    return uv_run(loop, UV_RUN_DEFAULT);
}
