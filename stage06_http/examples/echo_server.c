/*
 * echo_server.c - the classic asyncio echo server: one task per connection.
 *
 * The accept loop spawns a task for each client into a task group, so one
 * bad connection cannot take the others down unnoticed, and stopping the
 * server (cancelling the loop) stops every connection with it.  Each
 * connection keeps a line buffer in its frame: a line may arrive in pieces,
 * and several lines may arrive in one recv.  In Python:
 *
 *     async def handle(reader, writer):
 *         print("connected:", writer.get_extra_info("peername"))
 *         writer.write(b"welcome ...\n> ")
 *         try:
 *             while line := await reader.readline():
 *                 writer.write(line + b"> ")
 *                 await writer.drain()
 *         except ConnectionError:
 *             pass
 *         finally:
 *             writer.close()
 *
 *     server = await asyncio.start_server(handle, "127.0.0.1", port)
 *     async with server:
 *         await server.serve_forever()
 *
 * With no arguments: a demo that starts the server on a free port, runs
 * three scripted clients against it in the same loop, and stops.  With a
 * port: serves 127.0.0.1:PORT until killed (try `nc 127.0.0.1 PORT`).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "group.h"
#include "loop.h"
#include "sock.h"

#define MAX_LINE 1024
#define WELCOME "welcome to the echo server: every line you send comes back\n"
#define PROMPT "> "
#define TOO_LONG "error: line too long, goodbye\n"

/* Print bytes as a C string literal, so '\n' and friends are visible; a
 * long one is cut short, so a client cannot flood the log. */
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

/* "127.0.0.1:54321": asyncio's writer.get_extra_info("peername"). */
static void peer_name(int fd, char *out, size_t n)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
        snprintf(out, n, "?");
        return;
    }
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in4->sin_addr, host, sizeof host);
        port = ntohs(in4->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    snprintf(out, n, "%s:%d", host, port);
}

/* The errors that mean "the client went away": Python's ConnectionError. */
static int peer_gone(int err)
{
    return err == -ECONNRESET || err == -EPIPE || err == -ECONNABORTED || err == -ETIMEDOUT;
}

/* Length of the first line in buf (through its '\n'), or 0 if none is complete. */
static size_t line_length(const char *buf, size_t n)
{
    const char *nl = memchr(buf, '\n', n);
    return nl ? (size_t)(nl - buf) + 1 : 0;
}

/* ---- the server ------------------------------------------------------- */

/* The conversation, written as if nothing could go wrong: errors are
 * raised out of it, and the session below decides what they mean. */
struct echo_lines {
    co_t co;
    int fd;
    unsigned id;
    char buf[MAX_LINE];           /* received, not yet echoed: the line buffer */
    size_t used, len;
    char out[MAX_LINE + sizeof PROMPT];
    int lines;
};

static int echo_lines(co_t *co)
{
    struct echo_lines *f = (struct echo_lines *)co;
    CO_BEGIN(co);
    AWAIT(sock_send_all(f->fd, WELCOME PROMPT, strlen(WELCOME PROMPT)));
    for (;;) {
        AWAIT(sock_recv(f->fd, f->buf + f->used, sizeof f->buf - f->used));
        if (CO_VALUE == 0)
            break; /* end of file: the client closed its side */
        printf("server: #%u recv ", f->id);
        put_quoted(f->buf + f->used, (size_t)CO_VALUE);
        putchar('\n');
        f->used += (size_t)CO_VALUE;
        /* Echo every complete line; a partial one waits for the next recv. */
        while ((f->len = line_length(f->buf, f->used)) > 0) {
            memcpy(f->out, f->buf, f->len);
            memcpy(f->out + f->len, PROMPT, strlen(PROMPT));
            AWAIT(sock_send_all(f->fd, f->out, f->len + strlen(PROMPT)));
            f->lines++;
            f->used -= f->len;
            memmove(f->buf, f->buf + f->len, f->used);
        }
        if (f->used == sizeof f->buf) { /* asyncio: LimitOverrunError */
            AWAIT(sock_send_all(f->fd, TOO_LONG, strlen(TOO_LONG)));
            CO_RETURN(f->lines);
        }
    }
    if (f->used > 0) /* a last line without its '\n': echo it as it is */
        AWAIT(sock_send_all(f->fd, f->buf, f->used));
    CO_RETURN(f->lines);
    CO_END;
}

/* One client: log, converse, close.  The socket is ours from the start. */
struct session {
    co_t co;
    int fd;
    unsigned id;
    char peer[INET6_ADDRSTRLEN + 8];
    struct echo_lines talk; /* the sub-coroutine's frame lives in ours */
    int err;
};

static int session(co_t *co)
{
    struct session *f = (struct session *)co;
    CO_BEGIN(co);
    peer_name(f->fd, f->peer, sizeof f->peer);
    printf("server: #%u connected: %s\n", f->id, f->peer);
    f->talk.fd = f->fd;
    f->talk.id = f->id;
    f->talk.used = 0;
    f->talk.lines = 0;
    AWAIT_CO_CATCH(&f->talk.co, echo_lines, f->err);
    if (f->err && !peer_gone(f->err))
        CO_RAISE(f->err); /* -ECANCELED above all: never swallow a cancel */
    if (f->err)
        printf("server: #%u lost %s: %s\n", f->id, f->peer, strerror(-f->err));
    else
        printf("server: #%u disconnected: %s (lines echoed: %ld)\n", f->id, f->peer,
               (long)CO_VALUE);
    CO_FINALLY
    sock_close(f->fd);
    if (CO_ERROR == -ECANCELED)
        printf("server: #%u cancelled, closed %s\n", f->id, f->peer);
    CO_END;
}

/* The accept loop.  It owns the listening socket and the group of sessions. */
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
        if (!GROUP_SPAWN(&f->conns, session, struct session, .fd = f->fd, .id = ++f->nconns))
            sock_close(f->fd); /* out of memory: refuse this one */
    }
    CO_FINALLY
    sock_close(f->lfd); /* no new clients while the old ones finish */
    AWAIT(group_join(&f->conns, CO_ERROR)); /* cancelled: so are they */
    CO_END;
}

/* ---- the demo's scripted clients --------------------------------------- */

/* Where "> " ends in buf, or 0: asyncio's reader.readuntil(b"> "). */
static size_t prompt_end(const char *buf, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (buf[i] == '>' && buf[i + 1] == ' ')
            return i + 2;
    return 0;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Connect, read the welcome, send each chunk in one send_all and read the
 * replies its lines bring (a chunk without '\n' brings none), close. */
struct client {
    co_t co;
    const char *name;
    int port;
    const char *const *chunks; /* NULL-terminated */
    int fd, i, replies;
    char buf[256];
    size_t used, len;
};

static int client(co_t *co)
{
    struct client *f = (struct client *)co;
    CO_BEGIN(co);
    f->fd = -1;
    AWAIT(sock_connect("127.0.0.1", f->port));
    f->fd = (int)CO_VALUE;
    for (f->replies = 1 /* the welcome */, f->i = 0;; f->i++) {
        while (f->replies > 0) {
            while ((f->len = prompt_end(f->buf, f->used)) == 0) {
                if (f->used == sizeof f->buf)
                    CO_RAISE(-EMSGSIZE);
                AWAIT(sock_recv(f->fd, f->buf + f->used, sizeof f->buf - f->used));
                if (CO_VALUE == 0)
                    CO_RAISE(-ECONNRESET); /* the server hung up on us */
                f->used += (size_t)CO_VALUE;
            }
            printf("%s: got back ", f->name);
            put_quoted(f->buf, f->len);
            putchar('\n');
            f->used -= f->len;
            memmove(f->buf, f->buf + f->len, f->used);
            f->replies--;
        }
        if (!f->chunks[f->i])
            break;
        printf("%s: send ", f->name);
        put_quoted(f->chunks[f->i], strlen(f->chunks[f->i]));
        putchar('\n');
        AWAIT(sock_send_all(f->fd, f->chunks[f->i], strlen(f->chunks[f->i])));
        f->replies = count_lines(f->chunks[f->i]);
        if (f->replies == 0)
            AWAIT(task_yield()); /* let the server receive this piece alone */
    }
    printf("%s: closing\n", f->name);
    CO_FINALLY
    if (f->fd >= 0)
        sock_close(f->fd);
    CO_END;
}

static const char *const alice[] = {"hello\n", "how are you?\n", NULL};
static const char *const bob[] = {"this line arrives ", "in two pieces\n", "bye\n", NULL};
static const char *const carol[] = {"two lines\nin one send\n", NULL};

/* ---- main: `async with server:` ---------------------------------------- */

struct main_frame {
    co_t co;
    int port, lfd;
    int demo;
    group_t srv;           /* the server task's group: its `async with` */
    group_t gather;
    task_t *clients[3];
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
    printf("server: listening on 127.0.0.1:%d\n", f->port);
    if (!f->demo)
        CO_RETURN(0); /* serve forever: the join below never ends */
    f->clients[0] = TASK_SPAWN(client, struct client, .name = "alice", .port = f->port, .chunks = alice);
    f->clients[1] = TASK_SPAWN(client, struct client, .name = "bob  ", .port = f->port, .chunks = bob);
    f->clients[2] = TASK_SPAWN(client, struct client, .name = "carol", .port = f->port, .chunks = carol);
    AWAIT(group_gather(&f->gather, f->clients, 3, NULL));
    printf("main: all clients done, stopping the server\n");
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
    setvbuf(stdout, NULL, _IOLBF, 0); /* a log: each line as it happens */
    int rc = LOOP_RUN(NULL, main_task, struct main_frame, .port = (int)port, .demo = argc == 1);
    if (rc)
        printf("loop_run returned %d (%s)\n", rc, task_strerror(rc));
    return rc == 0 ? 0 : 1;
}
