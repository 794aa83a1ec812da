/*
 * idle_echo.c - an echo server that hangs up on connections idle too long.
 *
 * Each connection is a task whose every recv sits in a cancel scope:
 *
 *     async def handle(reader, writer):
 *         while True:
 *             try:
 *                 async with asyncio.timeout(IDLE):   # trio.fail_after(IDLE)
 *                     line = await reader.read(512)
 *             except TimeoutError:
 *                 writer.write(b"idle too long, bye\n"); break
 *             if not line: break
 *             writer.write(line); await writer.drain()
 *         writer.close()
 *
 * The scope's timer is one more entry in the loop's heap; when it fires, the
 * recv the task is parked in is cancelled (consuming no data), and closing
 * the scope turns that -ECANCELED into -ETIMEDOUT.  Only the recv is
 * bounded here; a peer that never reads could stall sock_send_all, and the
 * cure is the same: a scope around the send.
 *
 *   idle_echo               demo: a server with a 300 ms limit on a port the
 *                           kernel picks, and two clients in the same loop -
 *                           a chatty one that stays under the limit, and a
 *                           quiet one that gets dropped; then the server
 *                           is stopped and the program ends (~0.4 s).
 *   idle_echo PORT SECONDS  serve on 127.0.0.1:PORT until killed; try
 *                           `nc 127.0.0.1 PORT` and stop typing.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group.h"
#include "loop.h"
#include "scope.h"
#include "sleep.h"
#include "sock.h"

#define T (unsigned long long)loop_time_ms()

static const char bye[] = "idle too long, bye\n";

/* ---- the server ---------------------------------------------------------- */

struct conn {
    co_t co;
    int fd, id;
    uint64_t idle_ms;
    struct scope sc;
    char buf[512];
    size_t n;
    int err;
};

static int conn(co_t *co)
{
    struct conn *f = (struct conn *)co;
    CO_BEGIN(co);
    printf("%5llu ms  server: conn %d connected\n", T, f->id);
    for (;;) {
        scope_fail_after(&f->sc, f->idle_ms);
        AWAIT_CATCH(sock_recv(f->fd, f->buf, sizeof f->buf), f->err);
        f->n = (size_t)CO_VALUE;
        f->err = scope_close(&f->sc, f->err); /* -ECANCELED -> -ETIMEDOUT */
        if (f->err == -ETIMEDOUT) {
            printf("%5llu ms  server: conn %d idle for %llu ms, dropping it\n", T, f->id,
                   (unsigned long long)f->idle_ms);
            AWAIT(sock_send_all(f->fd, bye, sizeof bye - 1));
            break;
        }
        if (f->err)
            CO_RAISE(f->err); /* a reset, or a cancel from outside */
        if (f->n == 0) {
            printf("%5llu ms  server: conn %d closed by the client\n", T, f->id);
            break;
        }
        AWAIT(sock_send_all(f->fd, f->buf, f->n));
    }
    CO_FINALLY
    CO_ERROR = scope_close(&f->sc, CO_ERROR); /* open if a recv failed otherwise */
    sock_close(f->fd);
    if (CO_ERROR)
        printf("%5llu ms  server: conn %d ended: %s\n", T, f->id, task_strerror(CO_ERROR));
    CO_END;
}

/* Accept until cancelled; one task per connection, all in the server's group,
 * so stopping the server stops them too. */
struct server { co_t co; int lfd; uint64_t idle_ms; group_t g; int fd, nconn; };

static int server(co_t *co)
{
    struct server *f = (struct server *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    for (;;) {
        AWAIT(sock_accept(f->lfd));
        f->fd = (int)CO_VALUE;
        if (!GROUP_SPAWN(&f->g, conn, struct conn, .fd = f->fd, .id = ++f->nconn,
                         .idle_ms = f->idle_ms))
            sock_close(f->fd); /* out of memory: turn this one away */
    }
    CO_FINALLY
    sock_close(f->lfd); /* before the join: an error it raises skips the rest */
    AWAIT(group_join(&f->g, CO_ERROR));
    CO_END;
}

/* ---- the demo's clients ------------------------------------------------- */

/* Read up to a newline (or end of file, or a full buffer); the value is the
 * length, the line is NUL-terminated. */
struct recv_line { co_t co; int fd; char buf[128]; size_t len; };

static int recv_line(co_t *co)
{
    struct recv_line *f = (struct recv_line *)co;
    CO_BEGIN(co);
    f->len = 0;
    while (f->len < sizeof f->buf - 1 && (f->len == 0 || f->buf[f->len - 1] != '\n')) {
        AWAIT(sock_recv(f->fd, f->buf + f->len, sizeof f->buf - 1 - f->len));
        if (CO_VALUE == 0)
            break;
        f->len += (size_t)CO_VALUE;
    }
    f->buf[f->len] = '\0';
    if (f->len && f->buf[f->len - 1] == '\n')
        f->buf[f->len - 1] = '\0'; /* for printing */
    CO_RETURN(f->len);
    CO_END;
}

/* Sends each line, reads its echo, pauses `pause_ms`; after the last line
 * it hangs up, or with `wait_for_bye` stays silent until the server does. */
struct client {
    co_t co;
    const char *name;
    int port;
    const char *const *lines;
    uint64_t pause_ms;
    int wait_for_bye;
    int fd, i;
    struct recv_line rl;
};

static int client(co_t *co)
{
    struct client *f = (struct client *)co;
    CO_BEGIN(co);
    f->fd = -1;
    AWAIT(sock_connect("127.0.0.1", f->port));
    f->fd = (int)CO_VALUE;
    for (f->i = 0; f->lines[f->i]; f->i++) {
        if (f->i > 0)
            AWAIT(sleep_ms(f->pause_ms));
        AWAIT(sock_send_all(f->fd, f->lines[f->i], strlen(f->lines[f->i])));
        f->rl.fd = f->fd;
        AWAIT_CO(&f->rl.co, recv_line);
        printf("%5llu ms  %s: echo \"%s\"\n", T, f->name, f->rl.buf);
    }
    if (f->wait_for_bye) {
        printf("%5llu ms  %s: going quiet\n", T, f->name);
        for (;;) {
            f->rl.fd = f->fd;
            AWAIT_CO(&f->rl.co, recv_line);
            if (CO_VALUE == 0)
                break;
            printf("%5llu ms  %s: server says \"%s\"\n", T, f->name, f->rl.buf);
        }
        printf("%5llu ms  %s: server hung up\n", T, f->name);
    } else {
        printf("%5llu ms  %s: leaving\n", T, f->name);
    }
    CO_FINALLY
    if (f->fd >= 0)
        sock_close(f->fd);
    CO_END;
}

static const char *const chatty_lines[] = {"hello\n", "still here\n", "bye for now\n", NULL};
static const char *const quiet_lines[] = {"hi\n", NULL};

struct demo { co_t co; int lfd; task_t *server; group_t clients; int err; };

static int demo(co_t *co)
{
    struct demo *f = (struct demo *)co;
    CO_BEGIN(co);
    f->server = TASK_SPAWN(server, struct server, .lfd = f->lfd, .idle_ms = 300);
    printf("%5llu ms  server on 127.0.0.1:%d, idle limit 300 ms\n", T, sock_port(f->lfd));
    group_init(&f->clients);
    GROUP_SPAWN(&f->clients, client, struct client, .name = "chatty", .port = sock_port(f->lfd),
                .lines = chatty_lines, .pause_ms = 200);
    GROUP_SPAWN(&f->clients, client, struct client, .name = "quiet ", .port = sock_port(f->lfd),
                .lines = quiet_lines, .wait_for_bye = 1);
    CO_FINALLY
    AWAIT_CATCH(group_join(&f->clients, CO_ERROR), f->err); /* both clients done */
    if (f->err && !CO_ERROR)
        CO_ERROR = f->err;
    printf("%5llu ms  stopping the server\n", T);
    task_cancel(f->server);
    AWAIT_CATCH(task_join(f->server), f->err); /* -ECANCELED: what we asked for */
    if (f->err != -ECANCELED && !CO_ERROR)
        CO_ERROR = f->err;
    CO_END;
}

/* ---- serving for real ----------------------------------------------------- */

struct serve { co_t co; int lfd; uint64_t idle_ms; };

static int serve(co_t *co)
{
    struct serve *f = (struct serve *)co;
    CO_BEGIN(co);
    /* The first look at the loop's clock: from here it counts from 0. */
    printf("%5llu ms  serving on 127.0.0.1:%d, idle limit %llu ms\n", T, sock_port(f->lfd),
           (unsigned long long)f->idle_ms);
    AWAIT(task_join(TASK_SPAWN(server, struct server, .lfd = f->lfd, .idle_ms = f->idle_ms)));
    CO_END;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* each log line as it happens */
    if (argc != 1 && argc != 3) {
        fprintf(stderr, "usage: %s [PORT SECONDS]\n", argv[0]);
        return 2;
    }
    int port = argc == 3 ? atoi(argv[1]) : 0;
    double secs = argc == 3 ? atof(argv[2]) : 0;
    if (argc == 3 && (port <= 0 || port > 65535 || !(secs > 0 && secs < 86400))) {
        fprintf(stderr, "%s: want a port 1..65535 and an idle limit in seconds\n", argv[0]);
        return 2;
    }
    int lfd = sock_listen("127.0.0.1", port, 0);
    if (lfd < 0) {
        fprintf(stderr, "%s: listen: %s\n", argv[0], strerror(-lfd));
        return 1;
    }
    int rc = argc == 3 ? LOOP_RUN(NULL, serve, struct serve, .lfd = lfd,
                                  .idle_ms = (uint64_t)(secs * 1000 + 0.5))
                       : LOOP_RUN(NULL, demo, struct demo, .lfd = lfd);
    if (rc)
        fprintf(stderr, "%s: %s\n", argv[0], task_strerror(rc));
    return rc == 0 ? 0 : 1;
}
