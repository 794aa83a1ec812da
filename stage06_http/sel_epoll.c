/*
 * sel_epoll.c - the epoll(7) backend (Linux).
 *
 * The difference that matters: the interest list lives in the kernel.
 * epoll_ctl() changes it one descriptor at a time, and epoll_wait() returns
 * only the ready ones, so a call costs O(ready) however many descriptors are
 * registered.  10,000 idle connections cost nothing per iteration.
 */
#ifdef __linux__
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "selector.h"

struct selector {
    int epfd;
    struct epoll_event *buf; /* where epoll_wait writes the ready list */
    int cap;
};

static int sel_open(struct selector **out)
{
    struct selector *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0) {
        int err = errno;
        free(s);
        return -err;
    }
    *out = s;
    return 0;
}

static void sel_close(struct selector *s)
{
    close(s->epfd);
    free(s->buf);
    free(s);
}

static int ctl(struct selector *s, int op, int fd, unsigned events)
{
    struct epoll_event ev = {0};
    ev.events = ((events & SEL_READ) ? EPOLLIN : 0u) | ((events & SEL_WRITE) ? EPOLLOUT : 0u);
    ev.data.fd = fd;
    return epoll_ctl(s->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

static int sel_add(struct selector *s, int fd, unsigned events)
{
    return ctl(s, EPOLL_CTL_ADD, fd, events);
}

static int sel_mod(struct selector *s, int fd, unsigned events)
{
    return ctl(s, EPOLL_CTL_MOD, fd, events);
}

static int sel_del(struct selector *s, int fd)
{
    return ctl(s, EPOLL_CTL_DEL, fd, 0);
}

static int sel_wait(struct selector *s, int64_t timeout_ns, struct sel_event *ready, int max)
{
    if (max > s->cap) {
        struct epoll_event *p = realloc(s->buf, (size_t)max * sizeof *p);
        if (!p)
            return -ENOMEM;
        s->buf = p;
        s->cap = max;
    }
    int n = epoll_wait(s->epfd, s->buf, max, sel_timeout_ms(timeout_ns));
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        uint32_t e = s->buf[i].events;
        unsigned ev = 0;
        if (e & (EPOLLIN | EPOLLHUP | EPOLLERR))
            ev |= SEL_READ;
        if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            ev |= SEL_WRITE;
        ready[i] = (struct sel_event){.fd = s->buf[i].data.fd, .events = ev};
    }
    return n;
}

const struct sel_ops sel_epoll_ops = {
    .name = "epoll", .open = sel_open, .close = sel_close, .add = sel_add,
    .mod = sel_mod, .del = sel_del, .wait = sel_wait,
};
#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int sel_epoll_unavailable;
#endif
