/*
 * lot.h - a parking lot: a FIFO of parked tasks (trio's ParkingLot).
 *
 * Every primitive of this stage - Event, Lock, Semaphore, Condition, Queue -
 * is "a few counters and one or more lots".  A task that must wait parks
 * itself in a lot with task_park (the stage-2 mechanism; nothing new in the
 * loop), linked through its `link` member, which a parked task does not
 * otherwise use.  Whoever changes the counters later wakes the first task
 * of the lot, or all of them, with a value or an error.
 *
 * A lot is first come, first served.  That is what makes the primitives
 * fair: a lock is handed to the task that waited longest, never grabbed by
 * one that just arrived.
 *
 * Cancellation needs nothing here: the default cancel of a parked task wakes
 * it with -ECANCELED, and waking calls the wait's `unpark`, lot_unpark,
 * which takes the task out of its lot.  A cancelled waiter never stays behind
 * to be woken in vain.
 *
 * Like everything of the loop's, lots and the primitives built on them
 * belong to the loop's thread: another thread must not touch them.  To get
 * a result back from a thread, use thread_run (thread.h).
 */
#ifndef LOT_H
#define LOT_H

#include <stdint.h>

#include "list.h"
#include "task.h"

struct lot {
    struct list tasks; /* parked tasks, first come first, through task.link */
};

void lot_init(struct lot *lot);
int lot_empty(const struct lot *lot);
/* The task that has waited longest, or NULL. */
task_t *lot_first(const struct lot *lot);

/* Park the running task at the back of `lot`, as kind `w` (whose unpark must
 * be lot_unpark, or call it) waiting on `on`.  Returns what task_park
 * returns: TASK_OP_PARKED, or TASK_OP_NOW with a pending cancellation
 * delivered instead, in which case the task is in no lot. */
int lot_park(struct lot *lot, const struct task_wait *w, void *on);

/* A task_wait.unpark for every kind of wait parked in a lot. */
void lot_unpark(task_t *t);

/* Wake the first task, or every task, with `value` / `err`.  Returns how
 * many were woken. */
int lot_wake_first(struct lot *lot, intptr_t value, int err);
int lot_wake_all(struct lot *lot, intptr_t value, int err);

/* Move the parked task t, still parked, to the back of `to`, now waiting as
 * kind `w` on `on` (trio's repark).  A Condition uses it to move a notified
 * task straight into its lock's queue instead of waking it just to wait
 * again ("wait morphing"). */
void lot_move(task_t *t, struct lot *to, const struct task_wait *w, void *on);

#endif
