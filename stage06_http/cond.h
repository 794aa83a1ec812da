/*
 * cond.h - asyncio.Condition: wait, with a lock held, until told to look.
 *
 *     AWAIT(lock_enter(&lk, &f->held));
 *     COND_WAIT_FOR(&cv, q->n > 0);     // await cv.wait_for(lambda: q.n > 0)
 *     ... take from q ...
 *   CO_FINALLY
 *     lock_exit(&f->held);
 *
 * cond_wait releases the lock, parks, and returns holding the lock again -
 * on every path, a cancellation included, so the caller's cleanup may rely
 * on holding it.  Being woken says only "look again": the caller rechecks
 * its predicate, which COND_WAIT_FOR does.
 *
 * A notified task is not woken to queue for the lock: notify moves it,
 * still parked, into the lock's queue (trio's repark), and it wakes once it
 * holds the lock.  notify_all wakes nobody at once and the waiters then run
 * one by one, instead of all waking to fight over the lock.
 */
#ifndef COND_H
#define COND_H

#include "lock.h"

struct cond {
    struct lot waiters;
    struct lock *lock;
};

/* Bind c to `lock`, which must outlive it (asyncio.Condition(lock)). */
void cond_init(struct cond *c, struct lock *lock);

/* Operation to AWAIT, holding c's lock: release it, wait for a notify,
 * hold it again.  0 when notified; -ECANCELED, holding the lock, when
 * cancelled; -EPERM (nothing waited, nothing released) if the running task
 * does not hold the lock.  A task notified and then cancelled before it had
 * the lock back passes its notification to the next waiter, so a notify(1)
 * is never lost to a cancellation. */
int cond_wait(struct cond *c);

/* Wake up to n waiters (they run once each has the lock).  Holding the
 * lock: returns how many were notified; -EPERM otherwise. */
int cond_notify(struct cond *c, unsigned n);
int cond_notify_all(struct cond *c);

/* await cond.wait_for(predicate): wait until `pred`, a C expression read
 * again after every wake, is true.  One per source line, like AWAIT. */
#define COND_WAIT_FOR(c, pred)                                                 \
    while (!(pred))                                                            \
    AWAIT(cond_wait(c))

#endif
