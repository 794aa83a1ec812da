/*
 * cond.c - a lot of waiters whose wake-up is a place in a lock's queue.
 *
 * A task in cond_wait is in one of three waits:
 *   waiting    in c->waiters, until notified or cancelled;
 *   notified   in the lock's queue; wakes holding the lock, result 0;
 *   cancelled  in the lock's queue; wakes holding the lock, -ECANCELED.
 * The last two are lock waits (struct lock_wait) with a different `err`, so
 * the lock needs to know nothing about conditions.
 */
#include "cond.h"

#include <errno.h>
#include <limits.h>

static void cond_describe(const task_t *t, FILE *out)
{
    const struct cond *c = t->wait_on;
    fprintf(out, "condition %p (lock %p)", t->wait_on, (const void *)c->lock);
}

static void cancel_waiting(task_t *t);
static void cancel_notified(task_t *t);
static void cancel_again(task_t *t) { (void)t; /* -ECANCELED is on its way */ }

static const struct task_wait waiting = {
    .what = "condition", .unpark = lot_unpark, .cancel = cancel_waiting,
    .describe = cond_describe};
static const struct lock_wait notified = {
    .task = {.what = "condition: lock again", .unpark = lot_unpark,
             .cancel = cancel_notified, .describe = cond_describe},
    .err = 0};
static const struct lock_wait cancelled = {
    .task = {.what = "condition: lock again (cancelled)", .unpark = lot_unpark,
             .cancel = cancel_again, .describe = cond_describe},
    .err = -ECANCELED};

void cond_init(struct cond *c, struct lock *lock)
{
    lot_init(&c->waiters);
    c->lock = lock;
}

/* Cancelled before any notify: it must still get the lock back before
 * cond_wait may return, so it queues for the lock, to wake with the error. */
static void cancel_waiting(task_t *t)
{
    struct cond *c = t->wait_on;
    lot_move(t, &c->lock->waiters, &cancelled.task, c);
    if (!c->lock->owner)
        lock__pass(c->lock); /* free: it is the only waiter, and gets it */
}

/* Cancelled after a notify, before it had the lock: the notification goes
 * to the next waiter (or it would be lost: asyncio's gh-112202), and
 * this task keeps its place in the lock's queue, now to wake with the error. */
static void cancel_notified(task_t *t)
{
    struct cond *c = t->wait_on;
    t->wait = &cancelled.task; /* same lot, same place: only the outcome changes */
    task_t *next = lot_first(&c->waiters);
    if (next)
        lot_move(next, &c->lock->waiters, &notified.task, c);
}

int cond_wait(struct cond *c)
{
    task_t *t = task_current();
    if (!t)
        return task_done_now(0, TASK_ENOLOOP);
    if (!lock_held(c->lock))
        return task_done_now(0, -EPERM);
    /* Park first: a refused park (a cancellation due) returns with the lock
     * still held, as promised.  Only a parked task lets the lock go. */
    int r = lot_park(&c->waiters, &waiting, c);
    if (r == TASK_OP_PARKED)
        lock__pass(c->lock);
    return r;
}

int cond_notify(struct cond *c, unsigned n)
{
    if (!lock_held(c->lock))
        return -EPERM;
    int moved = 0;
    task_t *w;
    while ((unsigned)moved < n && moved < INT_MAX && (w = lot_first(&c->waiters)) != NULL) {
        lot_move(w, &c->lock->waiters, &notified.task, c);
        moved++;
    }
    return moved;
}

int cond_notify_all(struct cond *c) { return cond_notify(c, UINT_MAX); }
