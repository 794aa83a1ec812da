/*
 * sem.c - a count of free units and a queue of tasks that want one.
 */
#include "sem.h"

#include <errno.h>
#include <limits.h>

static void sem_describe(const task_t *t, FILE *out)
{
    const struct sem *s = t->wait_on;
    fprintf(out, "semaphore %p (%u free)", t->wait_on, s->value);
}

static const struct task_wait sem_wait_kind = {
    .what = "semaphore", .unpark = lot_unpark, .describe = sem_describe};

void sem_init(struct sem *s, unsigned value)
{
    lot_init(&s->waiters);
    s->value = value;
    s->bound = UINT_MAX;
}

void sem_init_bounded(struct sem *s, unsigned value)
{
    sem_init(s, value);
    s->bound = value;
}

unsigned sem_value(const struct sem *s) { return s->value; }

int sem_locked(const struct sem *s) { return s->value == 0; }

int sem_acquire(struct sem *s)
{
    task_t *t = task_current();
    if (!t)
        return task_done_now(0, TASK_ENOLOOP);
    /* Units are free only when nobody waits: release hands them over. */
    if (s->value > 0 && !task__cancel_due(t)) {
        s->value--;
        return task_done_now(0, 0);
    }
    return lot_park(&s->waiters, &sem_wait_kind, s);
}

int sem_try_acquire(struct sem *s)
{
    if (s->value == 0)
        return -EAGAIN;
    s->value--;
    return 0;
}

int sem_release(struct sem *s)
{
    /* A waiter means no unit is free: the released one goes to it. */
    if (lot_wake_first(&s->waiters, 0, 0))
        return 0;
    if (s->value >= s->bound)
        return -EOVERFLOW;
    s->value++;
    return 0;
}
