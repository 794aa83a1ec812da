/*
 * stream.c - a buffered reader over a socket.
 *
 * stream_fill is a socket operation of its own, written the way sock.c
 * writes sock_recv (try now, park if it would block, the loop retries), so
 * that the bytes land straight in the stream's buffer and the buffer's end
 * moves only when they have: a cancelled fill has changed nothing.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "io.h"
#include "stream.h"

int stream_init(struct stream *s, int fd, size_t cap)
{
    *s = (struct stream){.fd = fd, .cap = cap};
    s->buf = malloc(cap ? cap : 1);
    return s->buf ? 0 : -ENOMEM;
}

void stream_fini(struct stream *s)
{
    free(s->buf);
    s->buf = NULL;
    s->cap = s->start = s->end = 0;
}

char *stream_data(const struct stream *s)
{
    return s->buf + s->start;
}

size_t stream_len(const struct stream *s)
{
    return s->end - s->start;
}

void stream_consume(struct stream *s, size_t n)
{
    s->start += n < stream_len(s) ? n : stream_len(s);
    if (s->start == s->end) /* empty: the next fill starts at the front */
        s->start = s->end = 0;
}

static int fill_try(int fd, struct io_waiter *w, intptr_t *val)
{
    struct stream *s = w->buf;
    size_t room = s->cap - s->end;
    ssize_t n;
    do
        n = recv(fd, s->buf + s->end, room, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    w->drained = n > 0 && (size_t)n < room; /* see sock.c's recv_try */
    s->end += (size_t)n;
    if (n == 0)
        s->eof = 1;
    *val = (intptr_t)n;
    return 0;
}

int stream_fill(struct stream *s)
{
    if (s->start > 0 && s->end == s->cap) { /* make room at the end */
        memmove(s->buf, s->buf + s->start, stream_len(s));
        s->end -= s->start;
        s->start = 0;
    }
    if (s->end == s->cap)
        return task_done_now(0, -ENOBUFS);
    struct io_waiter w = {.try_op = fill_try, .what = "stream fill", .buf = s};
    return io__start(s->fd, SEL_READ, &w);
}

void stream_until(struct stream_read *rd, struct stream *s, const char *delim, size_t max)
{
    *rd = (struct stream_read){.s = s, .delim = delim, .n = max};
}

void stream_exact(struct stream_read *rd, struct stream *s, size_t n)
{
    *rd = (struct stream_read){.s = s, .n = n};
}

/* Where delim ends in buf[0..len), searching from `from`, or 0. */
static size_t find_end(const char *buf, size_t len, size_t from, const char *delim)
{
    size_t d = strlen(delim);
    for (size_t i = from; d && i + d <= len; i++)
        if (buf[i] == delim[0] && memcmp(buf + i, delim, d) == 0)
            return i + d;
    return 0;
}

int stream_read_until(co_t *co)
{
    struct stream_read *f = (struct stream_read *)co;
    size_t end, len, d;
    CO_BEGIN(co);
    for (;;) {
        /* C locals do not survive the await below: recompute them. */
        d = strlen(f->delim);
        len = stream_len(f->s);
        end = find_end(stream_data(f->s), len, f->scanned, f->delim);
        if (end > 0 && end <= f->n)
            CO_RETURN(end);
        if (end > 0 || len >= f->n)
            CO_RAISE(-EMSGSIZE);
        /* Resume the search where a delimiter split across two fills
         * could begin. */
        f->scanned = len >= d ? len - d + 1 : 0;
        AWAIT(stream_fill(f->s));
        if (CO_VALUE == 0)
            CO_RAISE(-ECONNRESET);
    }
    CO_END;
}

int stream_read_exact(co_t *co)
{
    struct stream_read *f = (struct stream_read *)co;
    CO_BEGIN(co);
    if (f->n > f->s->cap)
        CO_RAISE(-EMSGSIZE);
    while (stream_len(f->s) < f->n) {
        AWAIT(stream_fill(f->s));
        if (CO_VALUE == 0)
            CO_RAISE(-ECONNRESET);
    }
    CO_RETURN(f->n);
    CO_END;
}
