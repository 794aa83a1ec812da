/*
 * selector.h - "which of these descriptors can I use now?", three ways.
 *
 * Python's `selectors` module in C: register a descriptor with the events
 * you care about, then select() blocks until some are ready (or a timeout
 * passes) and returns the ready list.  The loop asks nothing else of the
 * kernel, so the backend is swappable:
 *
 *     select(2)  sel_select.c  the one the chapter teaches; O(n) per call and
 *                              limited to descriptors below FD_SETSIZE
 *     poll(2)    sel_poll.c    no descriptor limit, still O(n) per call
 *     epoll(7)   sel_epoll.c   Linux; the kernel keeps the interest list,
 *                              so a call costs O(ready), not O(registered)
 *
 * Each backend is one struct of functions (Python's SelectSelector,
 * PollSelector, EpollSelector); `make SELECTOR=poll` picks the default (like
 * Python's DefaultSelector) and ASYNC_SELECTOR=poll overrides it at run time.
 *
 * Interest is level-triggered: a readable descriptor stays in the ready list
 * on every call until it has been read dry or unregistered.
 */
#ifndef SELECTOR_H
#define SELECTOR_H

#include <stdint.h>

enum { SEL_READ = 1, SEL_WRITE = 2 };

/* One entry of the ready list. */
struct sel_event {
    int fd;
    unsigned events; /* SEL_READ | SEL_WRITE; an error or hang-up counts as
                        both, so whoever waits finds out by trying */
};

struct selector; /* each backend defines its own */

struct sel_ops {
    const char *name;
    int (*open)(struct selector **out);
    void (*close)(struct selector *s);
    /* Start watching fd for `events`; -EEXIST if already watched, -ERANGE
     * if this backend cannot watch a descriptor that large. */
    int (*add)(struct selector *s, int fd, unsigned events);
    /* Change the events of a watched fd (-ENOENT if not watched). */
    int (*mod)(struct selector *s, int fd, unsigned events);
    /* Stop watching fd (-ENOENT if not watched). */
    int (*del)(struct selector *s, int fd);
    /* Wait up to timeout_ns (-1: forever, 0: just look) and fill `ready`
     * with at most `max` events.  Returns how many, 0 on timeout or when a
     * signal interrupted the wait, or -errno. */
    int (*wait)(struct selector *s, int64_t timeout_ns, struct sel_event *ready, int max);
};

extern const struct sel_ops sel_select_ops;
extern const struct sel_ops sel_poll_ops;
#ifdef __linux__
extern const struct sel_ops sel_epoll_ops;
#endif

/* The backend called `name` ("select", "poll", "epoll"), or NULL.  NULL or
 * "" names the default: ASYNC_SELECTOR if set, else the build's choice. */
const struct sel_ops *sel_find(const char *name);

/* Round a timeout up to whole milliseconds (poll and epoll count in ms):
 * rounding down would wake the loop just before a deadline, to find nothing
 * due and spin.  -1 stays -1; anything beyond INT_MAX ms is capped. */
int sel_timeout_ms(int64_t timeout_ns);

#endif
