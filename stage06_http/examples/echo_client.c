/*
 * echo_client.c - one connection, two tasks: a writer and a reader.
 *
 * A socket is two independent streams, so nothing forces "send, then wait
 * for the answer": here one task sends lines while another prints whatever
 * comes back, both on the same descriptor (the loop allows one reader and
 * one writer per descriptor).  When the sender is done it shuts down only
 * its own direction (SHUT_WR): the server reads end of file, finishes, and
 * closes, and that is how the receiver learns that nothing more will come.
 * In Python:
 *
 *     reader, writer = await asyncio.open_connection(host, port)
 *     async def send():
 *         for i in range(1, 6):
 *             writer.write(f"line {i} of 5\n".encode())
 *             await writer.drain()
 *         writer.write_eof()
 *     async def receive():
 *         while line := await reader.readline():
 *             print(line)
 *     await asyncio.gather(send(), receive())
 *     writer.close()
 *
 * With no arguments it starts a tiny echo server of its own in the same loop
 * and talks to that; `echo_client [HOST] PORT` talks to a running server,
 * such as `echo_server PORT`.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "group.h"
#include "loop.h"
#include "sock.h"

#define NLINES 5

static void put_quoted(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
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

/* The writer: NLINES lines, then "no more from me". */
struct sender {
    co_t co;
    int fd, i, err;
    char line[32];
    size_t len;
};

static int sender(co_t *co)
{
    struct sender *f = (struct sender *)co;
    CO_BEGIN(co);
    for (f->i = 1; f->i <= NLINES; f->i++) {
        f->len = (size_t)snprintf(f->line, sizeof f->line, "line %d of %d\n", f->i, NLINES);
        printf("sender:   ");
        put_quoted(f->line, f->len);
        putchar('\n');
        AWAIT(sock_send_all(f->fd, f->line, f->len));
        AWAIT(task_yield()); /* a turn for the others, so the output interleaves */
    }
    printf("sender:   done, shutting down the write side\n");
    f->err = sock_shutdown(f->fd, SHUT_WR); /* the peer reads end of file */
    if (f->err < 0)
        CO_RAISE(f->err);
    CO_RETURN(NLINES);
    CO_END;
}

/* The reader: print each line that comes back, until end of file. */
struct receiver {
    co_t co;
    int fd;
    char buf[512];
    size_t used, len, total;
};

static int receiver(co_t *co)
{
    struct receiver *f = (struct receiver *)co;
    CO_BEGIN(co);
    for (;;) {
        AWAIT(sock_recv(f->fd, f->buf + f->used, sizeof f->buf - f->used));
        if (CO_VALUE == 0)
            break;
        f->used += (size_t)CO_VALUE;
        f->total += (size_t)CO_VALUE;
        /* Whole lines only (or a full buffer); a partial one waits for more. */
        for (;;) {
            const char *nl = memchr(f->buf, '\n', f->used);
            f->len = nl ? (size_t)(nl - f->buf) + 1 : f->used == sizeof f->buf ? f->used : 0;
            if (f->len == 0)
                break;
            printf("receiver: ");
            put_quoted(f->buf, f->len);
            putchar('\n');
            f->used -= f->len;
            memmove(f->buf, f->buf + f->len, f->used);
        }
    }
    if (f->used > 0) { /* what came after the last '\n' (a prompt, say) */
        printf("receiver: ");
        put_quoted(f->buf, f->used);
        putchar('\n');
    }
    printf("receiver: end of file\n");
    CO_RETURN(f->total);
    CO_END;
}

/* The demo's server: one connection, echoed until end of file, then closed. */
struct tiny_server {
    co_t co;
    int lfd, fd;
    char buf[512];
};

static int tiny_server(co_t *co)
{
    struct tiny_server *f = (struct tiny_server *)co;
    CO_BEGIN(co);
    f->fd = -1;
    AWAIT(sock_accept(f->lfd));
    f->fd = (int)CO_VALUE;
    for (;;) {
        AWAIT(sock_recv(f->fd, f->buf, sizeof f->buf));
        if (CO_VALUE == 0)
            break;
        AWAIT(sock_send_all(f->fd, f->buf, (size_t)CO_VALUE));
    }
    printf("server:   end of file, closing\n");
    CO_FINALLY
    if (f->fd >= 0)
        sock_close(f->fd);
    sock_close(f->lfd);
    CO_END;
}

struct main_frame {
    co_t co;
    const char *host;
    int port, lfd, fd;
    group_t g;          /* the demo's server */
    group_t both;       /* sender and receiver, gathered */
    task_t *tasks[2];
    intptr_t results[2];
};

static int main_task(co_t *co)
{
    struct main_frame *f = (struct main_frame *)co;
    CO_BEGIN(co);
    f->fd = -1;
    group_init(&f->g);
    if (!f->port) { /* the demo: a server of our own on a free port */
        f->lfd = sock_listen(f->host, 0, 0);
        if (f->lfd < 0)
            CO_RAISE(f->lfd);
        f->port = sock_port(f->lfd);
        if (!GROUP_SPAWN(&f->g, tiny_server, struct tiny_server, .lfd = f->lfd)) {
            sock_close(f->lfd);
            CO_RAISE(-ENOMEM);
        }
    }
    AWAIT(sock_connect(f->host, f->port));
    f->fd = (int)CO_VALUE;
    printf("main:     connected to %s:%d\n", f->host, f->port);
    f->tasks[0] = TASK_SPAWN(sender, struct sender, .fd = f->fd);
    f->tasks[1] = TASK_SPAWN(receiver, struct receiver, .fd = f->fd);
    AWAIT(group_gather(&f->both, f->tasks, 2, f->results));
    printf("main:     sent %ld lines, received %ld bytes\n", (long)f->results[0],
           (long)f->results[1]);
    CO_FINALLY
    if (f->fd >= 0)
        sock_close(f->fd);
    AWAIT(group_join(&f->g, CO_ERROR));
    CO_END;
}

int main(int argc, char **argv)
{
    const char *host = argc == 3 ? argv[1] : "127.0.0.1";
    long port = argc > 1 ? strtol(argv[argc - 1], NULL, 10) : 0;
    if (argc > 3 || (argc > 1 && (port < 1 || port > 65535))) {
        fprintf(stderr, "usage: %s [[HOST] PORT]   (no PORT: a self-contained demo)\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rc = LOOP_RUN(NULL, main_task, struct main_frame, .host = host, .port = (int)port);
    if (rc)
        printf("loop_run returned %d (%s)\n", rc, task_strerror(rc));
    return rc == 0 ? 0 : 1;
}
