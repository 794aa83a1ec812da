/*
 * sel_poll.c - the poll(2) backend.
 *
 * poll() takes an array of {fd, events} instead of bitmaps, so it has no
 * FD_SETSIZE ceiling, but the kernel still walks the whole array on every
 * call and so do we: O(registered) per call, like select.  To add, change
 * and remove in O(1) we keep, per descriptor, its slot in the array, and
 * remove by moving the last slot into the hole.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>

#include "selector.h"

struct selector {
    struct pollfd *fds; /* the array poll() gets, dense */
    int n, cap;
    int *slot;          /* slot[fd]: its index in fds, or -1 */
    int nslot;
};

static int sel_open(struct selector **out)
{
    struct selector *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    *out = s;
    return 0;
}

static void sel_close(struct selector *s)
{
    free(s->fds);
    free(s->slot);
    free(s);
}

static short to_poll(unsigned events)
{
    return (short)(((events & SEL_READ) ? POLLIN : 0) | ((events & SEL_WRITE) ? POLLOUT : 0));
}

static int slot_of(const struct selector *s, int fd)
{
    return fd >= 0 && fd < s->nslot ? s->slot[fd] : -1;
}

/* Make room for one more descriptor `fd`: both arrays grow by doubling. */
static int reserve(struct selector *s, int fd)
{
    if (fd >= s->nslot) {
        int want = s->nslot ? s->nslot : 64;
        while (want <= fd) /* descriptors may pass 2^30: never overflow */
            want = want <= INT_MAX / 2 ? want * 2 : fd + 1;
        int *p = realloc(s->slot, (size_t)want * sizeof *p);
        if (!p)
            return -ENOMEM;
        for (int i = s->nslot; i < want; i++)
            p[i] = -1;
        s->slot = p;
        s->nslot = want;
    }
    if (s->n == s->cap) {
        int want = s->cap ? s->cap * 2 : 64;
        struct pollfd *p = realloc(s->fds, (size_t)want * sizeof *p);
        if (!p)
            return -ENOMEM;
        s->fds = p;
        s->cap = want;
    }
    return 0;
}

static int sel_add(struct selector *s, int fd, unsigned events)
{
    if (fd < 0 || fd == INT_MAX) /* no descriptor is INT_MAX; reserve needs fd + 1 */
        return -EBADF;
    if (slot_of(s, fd) >= 0)
        return -EEXIST;
    int r = reserve(s, fd);
    if (r < 0)
        return r;
    s->fds[s->n] = (struct pollfd){.fd = fd, .events = to_poll(events)};
    s->slot[fd] = s->n++;
    return 0;
}

static int sel_mod(struct selector *s, int fd, unsigned events)
{
    int i = slot_of(s, fd);
    if (i < 0)
        return -ENOENT;
    s->fds[i].events = to_poll(events);
    return 0;
}

static int sel_del(struct selector *s, int fd)
{
    int i = slot_of(s, fd);
    if (i < 0)
        return -ENOENT;
    s->fds[i] = s->fds[--s->n];
    s->slot[s->fds[i].fd] = i;
    s->slot[fd] = -1;
    return 0;
}

static int sel_wait(struct selector *s, int64_t timeout_ns, struct sel_event *ready, int max)
{
    int n = poll(s->fds, (nfds_t)s->n, sel_timeout_ms(timeout_ns));
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    int got = 0;
    for (int i = 0; i < s->n && got < n && got < max; i++) {
        short re = s->fds[i].revents;
        if (!re)
            continue;
        unsigned ev = 0;
        if (re & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
            ev |= SEL_READ;
        if (re & (POLLOUT | POLLHUP | POLLERR | POLLNVAL))
            ev |= SEL_WRITE;
        ready[got++] = (struct sel_event){.fd = s->fds[i].fd, .events = ev};
    }
    return got;
}

const struct sel_ops sel_poll_ops = {
    .name = "poll", .open = sel_open, .close = sel_close, .add = sel_add,
    .mod = sel_mod, .del = sel_del, .wait = sel_wait,
};
