/*
 * stream.h - a buffered reader over a socket: asyncio's StreamReader.
 *
 * A protocol parser wants "the next line" or "the next 200 bytes", but recv
 * hands out whatever has arrived: half a line, or three requests at once.
 * A stream keeps the bytes received and not yet used in a buffer, so that
 * the parser and the code after it (a request handler reading the body)
 * share one view of the connection and nothing read ahead is lost.
 *
 *     buf:  [ consumed | unread: start..end | free space: end..cap ]
 *
 * stream_fill() is the only operation that waits; the rest are plain calls
 * on what is buffered, or small coroutines built on stream_fill():
 *
 *     struct stream_read rd;                        (in the caller's frame)
 *     stream_until(&f->rd, &f->s, "\n", 1024);      its arguments, then
 *     AWAIT_CO(&f->rd.co, stream_read_until);       await it
 *     size_t n = CO_VALUE;         the line is stream_data(&f->s)[0..n)
 *     stream_consume(&f->s, n);
 */
#ifndef STREAM_H
#define STREAM_H

#include <stddef.h>

#include "co.h"

struct stream {
    int fd;
    char *buf;
    size_t cap;
    size_t start, end; /* the unread bytes are buf[start..end) */
    int eof;           /* the peer has closed its side */
};

/* A stream over fd with a buffer of cap bytes (the longest line or head it
 * can hold).  Returns 0 or -ENOMEM.  The stream does not own fd. */
int stream_init(struct stream *s, int fd, size_t cap);
void stream_fini(struct stream *s);

/* The unread bytes, and how many there are. */
char *stream_data(const struct stream *s);
size_t stream_len(const struct stream *s);

/* Mark n unread bytes as used (n <= stream_len). */
void stream_consume(struct stream *s, size_t n);

/* Operation to AWAIT: receive more bytes into the free space, first moving
 * the unread bytes to the front if that makes room.  The value is how many
 * arrived, 0 at end of file (and s->eof is set); -ENOBUFS when the buffer is
 * full of unread bytes.  Cancelled, it has received nothing. */
int stream_fill(struct stream *s);

/* ---- sub-coroutines to AWAIT_CO --------------------------------------- */

/* Their frame: fill it with stream_until() or stream_exact(), then await the
 * matching function.  (Two steps, not one macro: AWAIT_CO evaluates its
 * first argument more than once, so it must have no side effects.) */
struct stream_read {
    co_t co;
    struct stream *s;
    const char *delim; /* read_until: what ends the piece */
    size_t n;          /* read_until: the most to accept; read_exact: how many */
    size_t scanned;    /* read_until: unread bytes already searched */
};

/* Until `delim` is among the unread bytes, at most `max` bytes into them.
 * The value is the length through the delimiter (the bytes stay unread:
 * look at them, then stream_consume them).  -EMSGSIZE when `max` bytes
 * arrived without it, -ECONNRESET when the peer closed first. */
int stream_read_until(co_t *co);
void stream_until(struct stream_read *rd, struct stream *s, const char *delim, size_t max);

/* Until at least n bytes are unread (n <= the buffer's size).  The value is
 * n; -ECONNRESET when the peer closed first, -EMSGSIZE when n cannot fit. */
int stream_read_exact(co_t *co);
void stream_exact(struct stream_read *rd, struct stream *s, size_t n);

#endif
