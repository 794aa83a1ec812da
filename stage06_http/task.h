/*
 * task.h - tasks: a generator driven by the event loop.
 *
 * A task is a generator (co.h) plus what the loop needs to drive it: a name,
 * a state, and the one suspension mechanism every later stage reuses:
 *
 *     park   the running task records what it waits on and yields to the loop;
 *     wake   something later hands it a value or an error and makes it ready.
 *
 * Join, task groups, sockets (stage 3), timers (stage 4), locks and queues
 * (stage 5) are all "park here, wake me later"; the loop itself only knows
 * how to run ready tasks.  Cancellation is a wake with -ECANCELED.
 *
 * An async function is written with co.h's macros and awaits with AWAIT
 * (a leaf operation such as task_join) or AWAIT_CO (a sub-coroutine, whose
 * frame lives inside the caller's: awaiting allocates nothing).
 */
#ifndef TASK_H
#define TASK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "co.h"
#include "list.h"
#include "timer.h"

typedef struct task task_t;
struct group;
struct scope;

enum task_state {
    TASK_READY,     /* in the ready queue: runs in this or the next iteration */
    TASK_RUNNING,   /* the one task the loop is running now */
    TASK_PARKED,    /* waiting to be woken (asyncio would say "pending") */
    TASK_DONE,      /* finished with a value or an error */
    TASK_CANCELLED, /* finished with -ECANCELED */
};

/* What a parked task waits on: one static description per kind of wait. */
struct task_wait {
    const char *what;                /* "join", "group", ... for the task dump */
    void (*unpark)(task_t *t);       /* take t off whatever it is parked on */
    void (*cancel)(task_t *t);       /* optional: replaces the default cancel,
                                        which wakes t with -ECANCELED */
    void (*describe)(const task_t *t, FILE *out); /* optional detail for the dump */
};

struct task {
    co_t *co;                     /* the top frame (allocated after the task) */
    struct list link;             /* in the ready queue, or on a wait list */
    struct list all;              /* in the loop's list of every task */
    struct list sibling;          /* in its group's list of children */
    struct list groups;           /* the task groups it owns that are open */
    const char *name;
    const struct task_wait *wait; /* when PARKED: on what */
    void *wait_on;                /* ... and which one */
    task_t *joiner;               /* the task parked in task_join on this one */
    struct group *group;          /* the group that owns this task, if any */
    struct group *cancel_group;   /* a pending cancel raised by this group of
                                     its own (NULL: one from outside) */
    struct scope *scope;          /* its innermost open cancel scope */
    struct timer timer;           /* the deadline of its sleep (sleep.h) */
    uint32_t id;
    uint32_t slot;                /* its index in its group (gather results) */
    uint32_t cancels;             /* task_cancel calls from outside (wraps) */
    uint8_t state;                /* enum task_state */
    uint8_t flags;                /* TASK_F_* */
    uint16_t cancel_reqs;         /* every cancel request, from anywhere
                                     (wraps): scopes compare it */
};

enum {
    TASK_F_WOKEN = 1,          /* READY because an operation completed */
    TASK_F_CANCEL_PENDING = 2, /* deliver -ECANCELED at the next park */
    TASK_F_HANDLE_GONE = 4,    /* joined or detached: free once done */
    TASK_F_RETRIEVED = 8,      /* its result reached someone */
    TASK_F_FREE_LATER = 16,    /* freed when the groups it owns are over */
    TASK_F_CANCELLING = 32,    /* -ECANCELED is on its way in: cancel no more */
};

/* What an awaitable operation returns: it parked the current task (TASK_OP_PARKED), or it
 * completed at once through task_done_now(). */
enum { TASK_OP_NOW = 0, TASK_OP_PARKED = 1 };

/* Errors of the task layer (below errno's range, beside co.h's). */
enum {
    TASK_EBADYIELD = -1101, /* a task yielded without parking (a bare CO_YIELD) */
    TASK_ENOLOOP = -1102,   /* a task operation used outside a running loop */
};

/* ---- awaiting ---------------------------------------------------------- */

#define TASK__AWAIT(op, errp)                                                  \
    do {                                                                       \
        if (task__await(co__, (op)) == TASK_OP_PARKED) {                       \
            co__->line = __LINE__;                                             \
            return CO_YIELDED;                                                 \
        case __LINE__:;                                                        \
        }                                                                      \
        CO__RESUMED(errp);                                                     \
    } while (0)

/* Await a leaf operation (task_join, task_yield, ...).  Afterwards CO_VALUE
 * is its result; an error ends this coroutine through CO_FINALLY, like an
 * exception.  AWAIT_CATCH stores the error in `err` (0 if none) instead. */
#define AWAIT(op) TASK__AWAIT(op, (int *)0)
#define AWAIT_CATCH(op, err) TASK__AWAIT(op, &(err))

/* Await a sub-coroutine: `sub` is the header of its frame (a member of this
 * frame, with its arguments filled in), `fn` its body.  Its parks pass
 * through us to the loop; its return value becomes CO_VALUE. */
#define AWAIT_CO(sub, fn) CO_YIELD_FROM(sub, fn)
#define AWAIT_CO_CATCH(sub, fn, err) CO_YIELD_FROM_CATCH(sub, fn, err)

/* ---- spawning ---------------------------------------------------------- */

/* Start a task running `fn` on a copy of `frame` (`size` bytes, its first
 * member a co_t).  It is scheduled, not run: it starts at the loop's next
 * turn.  The returned handle is valid until it is joined or detached.
 * Returns NULL when out of memory or outside a loop. */
task_t *task_spawn(co_fn fn, const void *frame, size_t size, const char *name);

/* Python's create_task(fn(a=1, b=2)) in C: TASK_SPAWN(fn, struct fn_frame,
 * .a = 1, .b = 2).  The task is named after the function. */
#define TASK_SPAWN(fn, ...) TASK__SPAWN(fn, __VA_ARGS__, )
#define TASK__SPAWN(fn, type, ...)                                             \
    task_spawn((fn), &(type){.co = {0}, __VA_ARGS__}, sizeof(type), #fn)

/* ---- operations to AWAIT ----------------------------------------------- */

/* Wait for `t` to finish; its value becomes CO_VALUE, its error is raised.
 * One joiner per task.  The handle is released once the result is handed
 * over.  Errors: -EDEADLK (joining yourself), -EBUSY (already joined). */
int task_join(task_t *t);

/* Let every other ready task run first (asyncio.sleep(0)). */
int task_yield(void);

/* ---- other calls ------------------------------------------------------- */

/* Request cancellation.  A parked task is woken with -ECANCELED at once; a
 * running or just-woken one gets it at its next park; a task that has not
 * started never runs.  A finished task is left alone (returns 0). */
int task_cancel(task_t *t);

/* Give up the handle: the task is freed when it finishes, and an error it
 * finishes with is reported then, since nobody can collect it. */
void task_detach(task_t *t);

task_t *task_current(void);
const char *task_state_name(int state);
const char *task_strerror(int err);

/* Print every task of the running loop: state, what it waits on, and its
 * await chain (function and file:line of each suspended frame). */
void task_dump(FILE *out);
void task_dump_one(const task_t *t, FILE *out);

/* ---- the suspension mechanism, for writing new kinds of wait ------------ */

/* Park the running task on `on`, described by `w`.  Returns TASK_OP_PARKED, or,
 * when a cancellation is pending, delivers it instead (returns TASK_OP_NOW with
 * -ECANCELED as the result) and parks nothing: check before linking the task
 * anywhere. */
int task_park(const struct task_wait *w, void *on);

/* Wake a parked task with a value or an error (negative): take it off what
 * it waits on and queue it.  Returns -EINVAL if it is not parked. */
int task_wake(task_t *t, intptr_t value, int err);

/* Complete the current operation without parking: return this from an op. */
int task_done_now(intptr_t value, int err);

/* Used by the macros, the loop, groups and scopes. */
int task__await(co_t *co, int op);
void task__cancel(task_t *t, struct group *by);
/* Deliver -ECANCELED at the await t is stopped at, if it is stopped at one
 * (parked, or yielded); returns 1 if it did. */
int task__interrupt(task_t *t);
/* Would t's next await be cancelled?  (An operation that can complete at
 * once asks first, so that a cancelled recv consumes no data.) */
int task__cancel_due(const task_t *t);
/* task_park that an expired cancel scope does not refuse: for a group's
 * owner, which must wait for its children whatever happens. */
int task__park_shielded(const struct task_wait *w, void *on);
void task__finish(task_t *t, int r);
void task__free(task_t *t);
void task__report_lost(const task_t *t);

#endif
