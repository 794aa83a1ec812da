/*
 * io.c - parking tasks on descriptors, and waking them when the selector
 * says an operation can finish.
 */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"

/* Operations that complete at once never pass through the loop, so a task
 * reading a fast stream could run forever and starve everyone else (asyncio
 * has this problem).  After this many immediate completions in one step,
 * the next operation parks on the selector even though it could finish:
 * the loop wakes it at the next poll, after the other ready tasks have run.
 * Tokio calls this a cooperative budget. */
#define IO_BUDGET 64

static struct io *io_of_loop(void)
{
    struct loop *l = loop_current();
    return l ? &l->io : NULL;
}

int io_init(struct io *io, const char *backend)
{
    memset(io, 0, sizeof *io);
    io->ops = sel_find(backend);
    if (!io->ops)
        return -ENOSYS;
    return io->ops->open(&io->sel);
}

void io_fini(struct io *io)
{
    for (int i = 0; i < io->nfds; i++)
        free(io->fds[i]);
    free(io->fds);
    free(io->ready);
    if (io->sel)
        io->ops->close(io->sel);
    memset(io, 0, sizeof *io);
}

static struct io_fd *fd_entry(struct io *io, int fd, int create)
{
    if (fd < io->nfds && io->fds[fd])
        return io->fds[fd];
    if (!create)
        return NULL;
    if (fd >= io->nfds) {
        int want = io->nfds ? io->nfds : 64;
        while (want <= fd) /* descriptors may pass 2^30: never overflow */
            want = want <= INT_MAX / 2 ? want * 2 : fd + 1;
        struct io_fd **p = realloc(io->fds, (size_t)want * sizeof *p);
        if (!p)
            return NULL;
        memset(p + io->nfds, 0, (size_t)(want - io->nfds) * sizeof *p);
        io->fds = p;
        io->nfds = want;
    }
    struct io_fd *f = calloc(1, sizeof *f);
    if (f)
        f->fd = fd;
    io->fds[fd] = f;
    return f;
}

static unsigned wanted(const struct io_fd *f)
{
    return (f->rd.task ? SEL_READ : 0u) | (f->wr.task ? SEL_WRITE : 0u);
}

/* Make the selector watch exactly `events` on f.  A descriptor closed behind
 * our back may have left the kernel's interest list (epoll forgets closed
 * descriptors) or be new under an old number, so "already there" and "not
 * there" are each answered with the other call. */
static int watch(struct io *io, struct io_fd *f, unsigned events)
{
    if (events == f->registered)
        return 0;
    int r;
    if (!events) {
        r = io->ops->del(io->sel, f->fd);
        io->nregistered--;
        f->registered = 0;
        return r == -ENOENT || r == -EBADF ? 0 : r;
    }
    if (!f->registered) {
        r = io->ops->add(io->sel, f->fd, events);
        if (r == -EEXIST)
            r = io->ops->mod(io->sel, f->fd, events);
        if (r == 0)
            io->nregistered++;
    } else {
        r = io->ops->mod(io->sel, f->fd, events);
        if (r == -ENOENT)
            r = io->ops->add(io->sel, f->fd, events);
    }
    if (r == 0)
        f->registered = events;
    return r;
}

/* ---- the kind of wait ------------------------------------------------- */

static void io_unpark(task_t *t)
{
    struct io_waiter *w = t->wait_on;
    if (w->task == t) {
        w->task = NULL;
        io_of_loop()->nwaiting--;
    }
}

/* Cancelling takes the task off the descriptor at once and stops watching
 * the descriptor for it, so a cancelled recv leaves nothing behind. */
static void io_cancel(task_t *t)
{
    struct io *io = io_of_loop();
    struct io_waiter *w = t->wait_on;
    int fd = w->fd, owns = w->owns_fd;
    task_wake(t, 0, -ECANCELED); /* io_unpark frees the slot */
    struct io_fd *f = fd_entry(io, fd, 0);
    if (f)
        watch(io, f, wanted(f));
    if (owns)
        close(fd);
}

static void io_describe(const task_t *t, FILE *out)
{
    const struct io_waiter *w = t->wait_on;
    if (w)
        fprintf(out, "%s on fd %d", w->what, w->fd);
}

static const struct task_wait io_wait_kind = {
    .what = "io", .unpark = io_unpark, .cancel = io_cancel, .describe = io_describe};

/* ---- starting an operation ------------------------------------------- */

int io__park(int fd, unsigned dir, const struct io_waiter *w)
{
    struct io *io = io_of_loop();
    task_t *t = task_current();
    if (!io || !t)
        return task_done_now(0, TASK_ENOLOOP);
    if (fd < 0 || (dir != SEL_READ && dir != SEL_WRITE))
        return task_done_now(0, fd < 0 ? -EBADF : -EINVAL);
    struct io_fd *f = fd_entry(io, fd, 1);
    if (!f)
        return task_done_now(0, -ENOMEM);
    struct io_waiter *slot = dir == SEL_READ ? &f->rd : &f->wr;
    if (slot->task)
        return task_done_now(0, -EBUSY);
    /* Register first: if the selector refuses this descriptor (select's
     * FD_SETSIZE, epoll and a regular file) the task must not park at all. */
    int r = watch(io, f, f->registered | dir);
    if (r < 0)
        return task_done_now(0, r);
    r = task_park(&io_wait_kind, slot);
    if (r != TASK_OP_PARKED) { /* a pending cancellation, delivered instead */
        watch(io, f, wanted(f)); /* so take back the registration */
        return r;
    }
    *slot = *w;
    slot->task = t;
    slot->fd = fd;
    io->nwaiting++;
    return TASK_OP_PARKED;
}

int io__start(int fd, unsigned dir, const struct io_waiter *w)
{
    struct io *io = io_of_loop();
    task_t *t = task_current();
    if (!io || !t)
        return task_done_now(0, TASK_ENOLOOP);
    /* A pending cancellation is delivered before the system call, so a
     * cancelled recv consumes no data and a cancelled send sends none. */
    if (task__cancel_due(t))
        return task_park(&io_wait_kind, NULL);
    struct io_fd *f = fd >= 0 ? fd_entry(io, fd, 0) : NULL;
    if (f && (dir == SEL_READ ? f->rd.task : f->wr.task))
        return task_done_now(0, -EBUSY);
    /* The last read came back short and the selector has not reported new
     * data since: trying again would only earn EAGAIN, one wasted system
     * call per request in a request/response protocol.  The selector still
     * watches the descriptor, so parking loses nothing.  (libuv does the
     * same.)  And past the budget, park even if the call could finish. */
    if ((f && (f->drained & f->registered & dir)) || io->streak >= IO_BUDGET)
        return io__park(fd, dir, w);
    struct io_waiter now = *w;
    intptr_t val = 0;
    int r = fd < 0 ? -EBADF : now.try_op(fd, &now, &val);
    if (r != -EAGAIN) {
        io->streak++;
        if (f && now.drained)
            f->drained |= dir;
        return task_done_now(r ? 0 : val, r);
    }
    return io__park(fd, dir, &now); /* keeps now.done: a partial send */
}

/* ---- waking ---------------------------------------------------------- */

static int wait_try(int fd, struct io_waiter *w, intptr_t *val)
{
    (void)w;
    /* poll reports a descriptor closed behind our back as ready (POLLNVAL);
     * waiting for it must end in an error, not in "ready". */
    if (fcntl(fd, F_GETFD) < 0)
        return -errno;
    *val = 0; /* retry fills in the events that were ready */
    return 0;
}

int io_wait(int fd, unsigned events)
{
    struct io_waiter w = {.try_op = wait_try, .what = events == SEL_WRITE ? "wait writable" : "wait readable"};
    if (events != SEL_READ && events != SEL_WRITE)
        return task_done_now(0, -EINVAL);
    return io__park(fd, events, &w);
}

/* Try a parked operation again; wake its task if it finished. */
static void retry(struct io *io, struct io_fd *f, struct io_waiter *w, unsigned events)
{
    intptr_t val = 0;
    w->drained = 0;
    int r = w->try_op(f->fd, w, &val);
    if (r == -EAGAIN)
        return; /* readiness can be spurious: stay parked */
    if (w->drained)
        f->drained |= events & (w == &f->rd ? SEL_READ : SEL_WRITE);
    if (w->try_op == wait_try)
        val = (intptr_t)events;
    int owns = w->owns_fd && r < 0;
    task_wake(w->task, r ? 0 : val, r);
    if (owns) {
        watch(io, f, wanted(f));
        close(f->fd);
    }
}

void io_forget(int fd)
{
    struct io *io = io_of_loop();
    struct io_fd *f = io && fd >= 0 ? fd_entry(io, fd, 0) : NULL;
    if (!f)
        return;
    if (f->rd.task)
        task_wake(f->rd.task, 0, -EBADF);
    if (f->wr.task)
        task_wake(f->wr.task, 0, -EBADF);
    watch(io, f, 0);
    f->drained = 0;
}

static void dispatch(struct io *io, struct sel_event ev)
{
    struct io_fd *f = fd_entry(io, ev.fd, 0);
    if (!f)
        return;
    unsigned waited = wanted(f);
    f->drained &= ~ev.events; /* there is something to read again */
    if ((ev.events & SEL_READ) && f->rd.task)
        retry(io, f, &f->rd, ev.events);
    if ((ev.events & SEL_WRITE) && f->wr.task)
        retry(io, f, &f->wr, ev.events);
    /* Readiness nobody waited for: stop watching that direction.  A reader
     * that was just woken keeps its registration - it will most likely read
     * again and park again, and that costs no system call this way.  A
     * woken writer does not: a socket is writable nearly always, and would
     * wake the loop for nothing. */
    unsigned keep = f->registered & ~(ev.events & ~waited);
    if ((waited & SEL_WRITE) && !f->wr.task)
        keep &= ~(unsigned)SEL_WRITE;
    watch(io, f, keep | wanted(f));
}

/* select(2) fails with EBADF when any descriptor in its sets was closed
 * without io_forget: find those and wake their waiters with the error. */
static void purge_closed(struct io *io)
{
    for (int fd = 0; fd < io->nfds; fd++)
        if (io->fds[fd] && io->fds[fd]->registered && fcntl(fd, F_GETFD) < 0 && errno == EBADF)
            io_forget(fd);
}

void io_poll(struct io *io, int64_t timeout_ns)
{
    if (timeout_ns == 0 && io->nregistered == 0)
        return; /* nothing to look at: save the system call */
    size_t want = io->nregistered < 64 ? 64 : io->nregistered > 4096 ? 4096 : io->nregistered;
    if ((size_t)io->maxready < want) {
        struct sel_event *p = realloc(io->ready, want * sizeof *p);
        if (p) {
            io->ready = p;
            io->maxready = (int)want;
        }
    }
    if (!io->ready)
        return;
    io->polls++;
    int n = io->ops->wait(io->sel, timeout_ns, io->ready, io->maxready);
    if (n == -EBADF) {
        purge_closed(io);
        return;
    }
    if (n < 0) {
        /* Not expected from a healthy selector; every waiter hears of it
         * rather than the loop spinning or hanging silently. */
        struct loop *l = loop_current();
        fprintf(l->opts.log, "async: %s selector failed: %s\n", io->ops->name, strerror(-n));
        for (int fd = 0; fd < io->nfds; fd++) {
            struct io_fd *f = io->fds[fd];
            int owns = 0;
            if (f && f->rd.task) {
                owns |= f->rd.owns_fd;
                task_wake(f->rd.task, 0, n);
            }
            if (f && f->wr.task) {
                owns |= f->wr.owns_fd;
                task_wake(f->wr.task, 0, n);
            }
            if (owns) { /* a connect in progress: its socket dies with it, as in retry */
                watch(io, f, wanted(f));
                close(fd);
            }
        }
        return;
    }
    for (int i = 0; i < n; i++)
        dispatch(io, io->ready[i]);
}
