/*
 * lock.h - asyncio.Lock, with trio's ownership: only the holder releases.
 *
 *     AWAIT(lock_acquire(&lk));      // await lk.acquire()
 *     ...                            // at most one task runs here
 *     lock_release(&lk);             // lk.release()
 *
 * Fair: release hands the lock straight to the task that has waited
 * longest (it wakes already holding it), so a task that releases and at
 * once acquires again queues behind the waiters instead of barging back in.
 *
 * `async with lock:` is a guard in the frame, entered with an await and
 * exited in CO_FINALLY, which runs on every path out (an error, a
 * cancellation, a return):
 *
 *     AWAIT(lock_enter(&lk, &f->held));
 *     ...
 *   CO_FINALLY
 *     lock_exit(&f->held);           // releases only if lock_enter got it
 */
#ifndef LOCK_H
#define LOCK_H

#include "lot.h"

struct lock {
    struct lot waiters;
    uint32_t owner; /* the holder's task id, 0 when free.  An id, not a
                       pointer: a task that ends still holding the lock
                       leaves nothing dangling behind. */
};

/* How a task waits in a lock's queue.  When the lock is handed to it, it
 * wakes with error `err`: 0 for an acquire; -ECANCELED for a Condition wait
 * that was cancelled and must hold the lock again before it may say so. */
struct lock_wait {
    struct task_wait task; /* first: a parked task's wait points here */
    int err;
};

void lock_init(struct lock *l);

/* Operation to AWAIT: 0 once the running task holds the lock.  Errors:
 * -ECANCELED (it does not hold it), -EDEADLK (it already did: the lock is
 * not reentrant). */
int lock_acquire(struct lock *l);

/* Take the lock only if that needs no wait: 0, or -EAGAIN if it is held,
 * -EDEADLK if the running task holds it. */
int lock_try_acquire(struct lock *l);

/* Release: 0, or -EPERM if the running task does not hold it. */
int lock_release(struct lock *l);

int lock_locked(const struct lock *l);
/* Does the running task hold l? */
int lock_held(const struct lock *l);

/* The scoped form.  lock_enter is lock_acquire that also records the lock
 * in `g` once the running task holds it; lock_exit releases it if so, and
 * forgets it, so calling it twice, or after a failed enter, is harmless. */
struct lock_guard {
    struct lock *lock;
};
int lock_enter(struct lock *l, struct lock_guard *g);
void lock_exit(struct lock_guard *g);

/* Used by cond.c: park the running task in l's queue as kind `w`. */
int lock__park(struct lock *l, const struct lock_wait *w, void *on);
/* Used by cond.c: hand l to its first waiter (waking it), or leave it free. */
void lock__pass(struct lock *l);

#endif
