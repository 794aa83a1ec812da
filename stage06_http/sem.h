/*
 * sem.h - asyncio.Semaphore and BoundedSemaphore.
 *
 * A counter of free units: acquire takes one, waiting while there are
 * none; release gives one back.  Like the lock it is fair - a released unit
 * goes straight to the task that has waited longest - and a semaphore of
 * one unit is a lock without an owner (anyone may release it).
 *
 * A bounded semaphore refuses a release that would take it above its
 * initial value: in asyncio that is a ValueError, here -EOVERFLOW.  It turns
 * "released twice" from a silent leak of capacity into an error.
 */
#ifndef SEM_H
#define SEM_H

#include "lot.h"

struct sem {
    struct lot waiters;
    unsigned value; /* free units */
    unsigned bound; /* the most there may be (UINT_MAX when not bounded) */
};

void sem_init(struct sem *s, unsigned value);
void sem_init_bounded(struct sem *s, unsigned value);

/* Operation to AWAIT: 0 once the running task has a unit.  Errors:
 * -ECANCELED (it has none). */
int sem_acquire(struct sem *s);
/* Take a unit only if that needs no wait: 0, or -EAGAIN. */
int sem_try_acquire(struct sem *s);
/* Give a unit back: 0, or -EOVERFLOW past the bound. */
int sem_release(struct sem *s);

unsigned sem_value(const struct sem *s);
/* asyncio's locked(): would an acquire wait? */
int sem_locked(const struct sem *s);

#endif
