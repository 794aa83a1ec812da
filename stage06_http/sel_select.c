/*
 * sel_select.c - the select(2) backend: the oldest readiness API, and the
 * easiest to read.
 *
 * An fd_set is a bitmap of FD_SETSIZE bits (1024 on Linux).  select() takes
 * the sets of descriptors to watch, overwrites them with the ready ones, and
 * both the kernel and we then scan every bit up to the highest descriptor:
 * the cost of one call grows with the largest descriptor, not with how many
 * are ready.  That is the O(n) the chapter measures.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/select.h>

#include "selector.h"

struct selector {
    fd_set watched; /* every registered descriptor */
    fd_set rd, wr;  /* the interest sets; select() gets copies */
    int maxfd;      /* highest registered descriptor, -1 when none */
};

static int sel_open(struct selector **out)
{
    struct selector *s = malloc(sizeof *s);
    if (!s)
        return -ENOMEM;
    FD_ZERO(&s->watched);
    FD_ZERO(&s->rd);
    FD_ZERO(&s->wr);
    s->maxfd = -1;
    *out = s;
    return 0;
}

static void sel_close(struct selector *s) { free(s); }

/* FD_SET with a descriptor >= FD_SETSIZE writes past the end of the bitmap:
 * undefined behaviour that corrupts whatever follows.  Refuse it instead. */
static int out_of_range(int fd) { return fd < 0 || fd >= FD_SETSIZE; }

static void set_events(struct selector *s, int fd, unsigned events)
{
    if (events & SEL_READ)
        FD_SET(fd, &s->rd);
    else
        FD_CLR(fd, &s->rd);
    if (events & SEL_WRITE)
        FD_SET(fd, &s->wr);
    else
        FD_CLR(fd, &s->wr);
}

static int sel_add(struct selector *s, int fd, unsigned events)
{
    if (out_of_range(fd))
        return fd < 0 ? -EBADF : -ERANGE;
    if (FD_ISSET(fd, &s->watched))
        return -EEXIST;
    /* select() says EBADF only for numbers inside the descriptor table and
     * silently ignores the rest, so a wait on one would never end. */
    if (fcntl(fd, F_GETFD) < 0)
        return -errno;
    FD_SET(fd, &s->watched);
    set_events(s, fd, events);
    if (fd > s->maxfd)
        s->maxfd = fd;
    return 0;
}

static int sel_mod(struct selector *s, int fd, unsigned events)
{
    if (out_of_range(fd) || !FD_ISSET(fd, &s->watched))
        return -ENOENT;
    set_events(s, fd, events);
    return 0;
}

static int sel_del(struct selector *s, int fd)
{
    if (out_of_range(fd) || !FD_ISSET(fd, &s->watched))
        return -ENOENT;
    FD_CLR(fd, &s->watched);
    set_events(s, fd, 0);
    while (s->maxfd >= 0 && !FD_ISSET(s->maxfd, &s->watched))
        s->maxfd--;
    return 0;
}

static int sel_wait(struct selector *s, int64_t timeout_ns, struct sel_event *ready, int max)
{
    /* select() overwrites its sets with the answer, so it gets copies and
     * the interest sets survive for the next call. */
    fd_set rd = s->rd, wr = s->wr;
    struct timeval tv, *tvp = NULL;
    if (timeout_ns >= 0) {
        /* Round up (see sel_timeout_ms), without overflowing near INT64_MAX. */
        int64_t us = timeout_ns / 1000 + (timeout_ns % 1000 != 0);
        tv.tv_sec = (time_t)(us / 1000000);
        tv.tv_usec = (suseconds_t)(us % 1000000);
        tvp = &tv;
    }
    int n = select(s->maxfd + 1, &rd, &wr, NULL, tvp);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    int got = 0;
    for (int fd = 0; fd <= s->maxfd && got < n && got < max; fd++) {
        unsigned ev = (FD_ISSET(fd, &rd) ? SEL_READ : 0u) | (FD_ISSET(fd, &wr) ? SEL_WRITE : 0u);
        if (ev)
            ready[got++] = (struct sel_event){.fd = fd, .events = ev};
    }
    return got;
}

const struct sel_ops sel_select_ops = {
    .name = "select", .open = sel_open, .close = sel_close, .add = sel_add,
    .mod = sel_mod, .del = sel_del, .wait = sel_wait,
};
