/*
 * test_stage02.c - tasks, the event loop, cancellation and task groups.
 *
 * Most tests run a small program through the loop and record what happened
 * in an event log (ev()), then compare the whole log with the one expected:
 * the order of events is the loop's contract (FIFO, fairness, when a woken
 * task runs, where a cancellation lands).  Assertions are made after
 * loop_run() returns, so a failing one never leaves a loop half-run behind
 * (the suite also runs without fork under valgrind).
 *
 * The loop's log (reports, warnings, the deadlock dump) goes to a memory
 * stream, so each test can check it too, usually that it is empty.
 *
 * The "regressions" case holds one test per core bug this suite found.
 *
 * The suite is built here from one file per topic:
 *     test_stage02_loop.c         loop_run, scheduling, join, cancel, await_co
 *     test_stage02_groups.c       group, gather
 *     test_stage02_seeing.c       reports, trace, misc
 *     test_stage02_regressions.c  regressions
 *     test_stage02_model.c        model (a model-based fuzz of the scheduler)
 * and stage02_util.h/.c hold what they share: ev() and evlog, the gate G,
 * RUN() and the log capture, new_case(), and the shared coroutines.
 */
#include <check.h>

#include "stage02_util.h"

Suite *stage02_suite(void)
{
    Suite *s = suite_create("stage02");
    stage02_add_loop(s);
    stage02_add_groups(s);
    stage02_add_seeing(s);
    stage02_add_regressions(s);
    stage02_add_model(s);
    return s;
}
