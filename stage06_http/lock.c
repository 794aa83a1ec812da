/*
 * lock.c - an owner and a queue of tasks that want to be it.
 */
#include "lock.h"

#include <errno.h>

static void lock_describe(const task_t *t, FILE *out)
{
    const struct lock *l = t->wait_on;
    fprintf(out, "lock %p held by task #%u", t->wait_on, (unsigned)l->owner);
}

static const struct lock_wait lock_wait_kind = {
    .task = {.what = "lock", .unpark = lot_unpark, .describe = lock_describe}};

void lock_init(struct lock *l)
{
    lot_init(&l->waiters);
    l->owner = 0;
}

int lock_locked(const struct lock *l) { return l->owner != 0; }

int lock_held(const struct lock *l)
{
    task_t *t = task_current();
    return t && l->owner == t->id;
}

int lock__park(struct lock *l, const struct lock_wait *w, void *on)
{
    return lot_park(&l->waiters, &w->task, on);
}

int lock_acquire(struct lock *l)
{
    task_t *t = task_current();
    if (!t)
        return task_done_now(0, TASK_ENOLOOP);
    if (l->owner == t->id)
        return task_done_now(0, -EDEADLK);
    /* Free, and no cancellation due: take it without waiting.  (A free
     * lock has no waiters: release hands it over whenever there are.) */
    if (!l->owner && !task__cancel_due(t)) {
        l->owner = t->id;
        return task_done_now(0, 0);
    }
    return lock__park(l, &lock_wait_kind, l);
}

int lock_try_acquire(struct lock *l)
{
    task_t *t = task_current();
    if (!t)
        return TASK_ENOLOOP;
    if (l->owner)
        return l->owner == t->id ? -EDEADLK : -EAGAIN;
    l->owner = t->id;
    return 0;
}

/* Hand the lock to the first waiter, already holding it, or free it. */
void lock__pass(struct lock *l)
{
    task_t *next = lot_first(&l->waiters);
    l->owner = next ? next->id : 0;
    if (next) {
        const struct lock_wait *w = (const struct lock_wait *)(const void *)next->wait;
        task_wake(next, 0, w->err);
    }
}

int lock_release(struct lock *l)
{
    if (!lock_held(l))
        return -EPERM;
    lock__pass(l);
    return 0;
}

int lock_enter(struct lock *l, struct lock_guard *g)
{
    task_t *t = task_current();
    g->lock = NULL;
    if (lock_held(l)) /* by an outer scope: not ours to release */
        return task_done_now(0, -EDEADLK);
    int r = lock_acquire(l);
    /* Recorded when it holds the lock now, or may once woken.  A parked
     * enter that ends cancelled never held it; lock_exit sees that from the
     * owner. */
    if (t && (r == TASK_OP_PARKED || lock_held(l)))
        g->lock = l;
    return r;
}

void lock_exit(struct lock_guard *g)
{
    struct lock *l = g->lock;
    g->lock = NULL;
    if (l && lock_held(l))
        lock__pass(l);
}
