/*
 * scope.h - cancel scopes with deadlines: timeouts for any await.
 *
 * trio's move_on_after / fail_after in C.  Opening a scope starts a timer;
 * if the deadline passes while the scope is open, the task is cancelled at
 * the await it is stopped at - whatever that await is: a recv, a sleep, a
 * join, a lock in stage 5.  Closing the scope turns that cancellation into
 * the scope's answer:
 *
 *     scope_fail_after(&f->sc, 500);               // asyncio.timeout(0.5)
 *     AWAIT(sock_recv(f->fd, f->buf, sizeof f->buf));
 *     ...
 *   CO_FINALLY
 *     CO_ERROR = scope_close(&f->sc, CO_ERROR);    // -ECANCELED -> -ETIMEDOUT
 *
 * Why trio's scopes rather than asyncio's wait_for: the cancellation is
 * level-triggered.  Once the deadline has passed, *every* await inside the
 * scope fails with -ECANCELED until the scope is closed, so code that
 * catches one error and carries on (easy to write in C with AWAIT_CATCH)
 * cannot outlive its deadline.  And scopes nest:
 *
 *   - the scope whose deadline passes first cancels the work inside it;
 *   - a cancellation from outside the scope (task_cancel, a group, an outer
 *     scope that also expired) is never turned into this scope's timeout:
 *     scope_close hands -ECANCELED on, for the outer owner to see.
 *
 * Every scope must be closed, on every path: close it in CO_FINALLY.  A task
 * that finishes with scopes still open has them closed for it (and a
 * warning printed), so their timers never outlive the frame they live in.
 */
#ifndef SCOPE_H
#define SCOPE_H

#include <stdint.h>

#include "timer.h"

struct task;

enum scope_kind {
    SCOPE_FAIL,    /* fail_after: a caught cancellation becomes -ETIMEDOUT */
    SCOPE_MOVE_ON, /* move_on_after: it becomes 0, and the work is skipped */
};

struct scope {
    struct timer timer;   /* in the loop's heap while open with a deadline */
    struct task *task;    /* the task whose awaits it bounds */
    struct scope *outer;  /* the next scope out in that task, or NULL */
    uint16_t cancel_reqs; /* the task's count of cancel requests at open */
    uint8_t kind;         /* enum scope_kind */
    uint8_t open;
    uint8_t expired;      /* the deadline passed while it was open */
    uint8_t caught;       /* trio's cancelled_caught: closing it turned a
                             cancellation into its timeout */
};

/* Open `s` in the running task with a deadline `ms` from now (0: already
 * passed - the next await is cancelled).  The forms ending in _at take an
 * absolute deadline on the loop's clock (loop_time_ns); UINT64_MAX means
 * none.  Returns 0, -EBUSY if s is already open, -ENOMEM, or TASK_ENOLOOP. */
int scope_fail_after(struct scope *s, uint64_t ms);
int scope_move_on_after(struct scope *s, uint64_t ms);
int scope_open_at(struct scope *s, enum scope_kind kind, uint64_t deadline_ns);

/* Close `s`, and return what the code inside it should report given that
 * it ended with `err`: -ETIMEDOUT (fail) or 0 (move on) for a cancellation
 * this scope caused, `err` itself otherwise.  Closing a closed scope returns
 * err unchanged, so CO_FINALLY can always call it.  Scopes close innermost
 * first; closing an outer one closes those inside it too. */
int scope_close(struct scope *s, int err);

/* Move the deadline to `ms` from now (an idle timeout restarted by each new
 * line, say).  A scope that has already expired stays expired, as in trio.
 * Returns 0, -EINVAL if s is not open, or -ENOMEM. */
int scope_reset(struct scope *s, uint64_t ms);

/* Used by the task layer: is an open scope of this chain expired? */
int scope__cancelled(const struct scope *innermost);
/* Close every scope a finishing task left open. */
void scope__close_all(struct task *t);

#endif
