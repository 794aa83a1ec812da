/*
 * test_stage04.c - timers, sleep, cancel scopes and the virtual clock.
 *
 * Every loop runs on the virtual clock (loop_opts.virtual_clock): time
 * starts at 0 and jumps to the next deadline when nothing can run, so the
 * times the tests compare are exact, and an hour-long sleep takes no real
 * time.  The few tests that need time to pass while a task stays ready use
 * a fake clock that advances at every read.  Nothing sleeps for real and no
 * assertion looks at the wall clock.  As in stages 2 and 3, assertions come
 * after loop_run() returns: the coroutines record what they saw in the
 * event log (ev()) or in structs of the test.
 *
 * The suite is built here from one file per topic:
 *     test_stage04_heap.c   the timer heap driven directly (no loop): a
 *                           model-checked random walk, sorting, FIFO among
 *                           equal deadlines, misuse; timer_start/stop
 *     test_stage04_sleep.c  sleep_ms / sleep_until, the loop's clock,
 *                           cancelling a sleep
 *     test_stage04_scope.c  cancel scopes: fail_after, move_on_after,
 *                           nesting, level triggering, outside cancels,
 *                           joins, sockets and groups inside scopes, reset
 *     test_stage04_loop.c   the loop: deadlock detection with timers, the
 *                           virtual clock's jumps, timers beside a stream
 *                           of ready tasks, 10,000 sleepers, a task woken
 *                           by I/O in the iteration its scope expires
 * and stage04_util.h/.c hold what they share.
 */
#include <check.h>

#include "stage04_util.h"

Suite *stage04_suite(void)
{
    Suite *s = suite_create("stage04");
    stage04_add_heap(s);
    stage04_add_sleep(s);
    stage04_add_scope(s);
    stage04_add_loop(s);
    return s;
}
