/*
 * test_stage05.c - synchronisation primitives on the one park/wake
 * mechanism, and thread_run.
 *
 * Every loop runs on the virtual clock, so timeouts are exact and take no
 * real time; nothing sleeps for real.  As in the stages before, assertions
 * come after loop_run() returns: the coroutines record what they saw in the
 * event log (ev()), whose order is the behaviour under test.
 *
 * The suite is built here from one file per topic:
 *     test_stage05_event.c   Event: set/clear, FIFO wake of every waiter,
 *                            cancelled waiters, a due cancellation
 *     test_stage05_lock.c    Lock: FIFO hand-off without barging, ownership
 *                            errors, cancelled and timed-out acquires, the
 *                            lock handed then cancelled, lock_enter/exit
 *     test_stage05_sem.c     Semaphore and BoundedSemaphore
 *     test_stage05_cond.c    Condition: wait/notify, wait morphing, a
 *                            cancelled wait returns holding the lock, a
 *                            notification is passed on, not lost
 *     test_stage05_queue.c   Queue, LifoQueue, PriorityQueue: order, back-
 *                            pressure, nowait, join, cancellation without
 *                            loss, ring growth, fini
 *     test_stage05_stress.c  a seeded random mix of puts, gets and cancels
 *                            checked for conservation of items
 *     test_stage05_thread.c  thread_run: other thread, loop not blocked,
 *                            cancellation waits for the function, no thread
 *                            or descriptor outlives the loop
 *     test_stage05_examples.c  the stage's demos
 *     test_stage05_model.c   a model-based fuzz: seeded random programs of
 *                            sleeps, timeouts, locks, bounded queues,
 *                            spawn/join/cancel, checked against a model of
 *                            every task, lock and queue at every step
 * and stage05_util.h/.c hold what they share.
 */
#include <check.h>

#include "stage05_util.h"

Suite *stage05_suite(void)
{
    Suite *s = suite_create("stage05");
    stage05_add_event(s);
    stage05_add_lock(s);
    stage05_add_sem(s);
    stage05_add_cond(s);
    stage05_add_queue(s);
    stage05_add_stress(s);
    stage05_add_thread(s);
    stage05_add_examples(s);
    stage05_add_model(s);
    return s;
}
