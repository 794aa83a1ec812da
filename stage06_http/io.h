/*
 * io.h - tasks waiting for descriptors: the loop's side of the selector.
 *
 * Every socket operation is written the same way, the way asyncio's
 * sock_recv is:
 *
 *     1. try the system call at once (the descriptor is non-blocking);
 *     2. if it would block (EAGAIN), park the task on the descriptor and
 *        register interest with the selector;
 *     3. when the selector reports the descriptor ready, the loop tries the
 *        call again on the task's behalf, and wakes the task with its result
 *        (or stays parked if the readiness was spurious).
 *
 * So a task is woken only with a finished result, and waiting for a socket
 * is the same park/wake as waiting for a join.  One task at a time may wait
 * to read a descriptor and one to write it: a second gets -EBUSY, rather
 * than one of the two silently never waking.
 */
#ifndef IO_H
#define IO_H

#include <stddef.h>
#include <stdint.h>

#include "selector.h"
#include "task.h"

struct io_waiter;

/* Try the operation once.  Returns 0 when it finished (its result in *val,
 * or a negative error), -EAGAIN when it would still block. */
typedef int (*io_try_fn)(int fd, struct io_waiter *w, intptr_t *val);

/* One parked operation: the task and what to retry for it. */
struct io_waiter {
    task_t *task;     /* NULL when nobody waits */
    io_try_fn try_op;
    const char *what; /* "recv", "accept", ... for the task dump */
    int fd;
    int owns_fd;      /* close fd if the operation fails or is cancelled
                         (sock_connect's new socket) */
    int drained;      /* set by a try that found the descriptor empty for
                         now (a short read): see io_fd.drained */
    void *buf;        /* the operation's arguments and progress */
    size_t len, done;
};

/* What the loop knows about one descriptor. */
struct io_fd {
    int fd;
    unsigned registered;     /* the events the selector watches now */
    unsigned drained;        /* directions a try left empty (a short read):
                                the next operation parks without trying,
                                until the selector reports them ready */
    struct io_waiter rd, wr; /* who waits to read, who waits to write */
};

struct io {
    const struct sel_ops *ops;
    struct selector *sel;
    struct io_fd **fds;      /* fds[fd], allocated on first use (a parked
                                task points into it, so it never moves) */
    int nfds;
    size_t nwaiting;         /* tasks parked on descriptors */
    size_t nregistered;      /* descriptors the selector watches */
    struct sel_event *ready; /* the ready list, reused every poll */
    int maxready;
    uint32_t streak;         /* operations that completed at once in this
                                step; see io__start */
    uint64_t polls;          /* selector calls, for statistics */
};

/* ---- operations to AWAIT ----------------------------------------------- */

/* Wait until fd is readable (SEL_READ) or writable (SEL_WRITE): trio's
 * wait_readable / wait_writable.  Its value is the events that are ready. */
int io_wait(int fd, unsigned events);

/* ---- for writing new operations (sock.c is written with these) ---------- */

/* Start an operation on fd in direction `dir` (SEL_READ or SEL_WRITE): try
 * it at once, and park the current task if it would block.  Returns what an
 * awaitable operation returns (TASK_OP_NOW or TASK_OP_PARKED). */
int io__start(int fd, unsigned dir, const struct io_waiter *w);

/* The second half of io__start alone: park without trying first (for an
 * operation that has just made its own first attempt, like connect). */
int io__park(int fd, unsigned dir, const struct io_waiter *w);

/* The descriptor is going away: wake anyone waiting on it with -EBADF and
 * stop watching it.  Call before close(2) (sock_close does). */
void io_forget(int fd);

/* ---- for the loop ---------------------------------------------------------- */

int io_init(struct io *io, const char *backend);
void io_fini(struct io *io);

/* Poll the selector once and wake the tasks whose operations finished.
 * timeout_ns: -1 waits until something is ready, 0 only looks. */
void io_poll(struct io *io, int64_t timeout_ns);

#endif
