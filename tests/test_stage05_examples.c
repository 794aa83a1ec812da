/*
 * test_stage05_examples.c - the stage's demos, run as programs.
 *
 * Each demo is run from EXAMPLES_DIR (the Makefile builds them before the
 * tests) with --virtual-clock, which makes its output exact: time starts at
 * 0 and jumps to each deadline, so the printed times are the deadlines
 * themselves.  Its stdout and stderr go to one pipe, and the whole text is
 * compared with what the demo must print; a warning from the loop on stderr
 * is a difference like any other.  So a change of behaviour - the lock
 * handed out of order, an item lost or doubled by the queue, a different
 * total time - fails here with the first line that differs.
 *
 * blocking_call runs a real thread for real time, which the virtual clock
 * cannot make exact (its ticker ticks as fast as the loop turns meanwhile).
 * Its lines are compared without their time stamps, and the two tick counts
 * are checked for what they show: at least one tick while the call ran on a
 * worker thread, none while it blocked the loop.
 *
 * The demos run with the environment minus ASYNC_TRACE, ASYNC_DEBUG and
 * ASYNC_SLOW_MS, which would add output (blocking_call's direct call is a
 * slow step on purpose).
 */
#include <check.h>
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stage05_util.h"

#ifndef EXAMPLES_DIR
#error "build with -DEXAMPLES_DIR='\"build/stage5/examples\"'"
#endif

/* Run EXAMPLES_DIR/name --virtual-clock (s5_run_program). */
static struct s5_output run_example(const char *name)
{
    const char *const args[] = {"--virtual-clock", NULL};
    return s5_run_program(EXAMPLES_DIR, name, args);
}

static void check_exact(const char *name, const char *want)
{
    struct s5_output o = run_example(name);
    s5_assert_exit_0(name, &o);
    s5_assert_same_text(name, o.text, want);
    free(o.text);
}

/* ---- the deterministic four ------------------------------------------------- */

START_TEST(example_event_wait)
{
    check_exact("event_wait",
                "    0 ms  main    waiter started; sleeping 1 s before setting the event\n"
                "    0 ms  waiter  waiting for it ...\n"
                " 1000 ms  main    event_set()\n"
                " 1000 ms  waiter  ... got it!\n"
                " 1000 ms  main    joined the waiter\n"
                " 1000 ms  main    event_wait() on a set event returned at once\n");
}
END_TEST

/* Fair hand-off: A releases at 100 ms and asks again at once, but B has
 * waited since 0 ms and gets it; the rounds alternate A B A B. */
START_TEST(example_lock_order)
{
    check_exact("lock_order",
                "    0 ms  A  wants the lock (round 1)\n"
                "    0 ms  A  has it, after waiting 0 ms\n"
                "    0 ms  B  wants the lock (round 1)\n"
                "   50 ms  A  halfway, still holding it\n"
                "  100 ms  A  done, releasing it\n"
                "  100 ms  A  wants the lock (round 2)\n"
                "  100 ms  B  has it, after waiting 100 ms\n"
                "  150 ms  B  halfway, still holding it\n"
                "  200 ms  B  done, releasing it\n"
                "  200 ms  B  wants the lock (round 2)\n"
                "  200 ms  A  has it, after waiting 100 ms\n"
                "  250 ms  A  halfway, still holding it\n"
                "  300 ms  A  done, releasing it\n"
                "  300 ms  B  has it, after waiting 100 ms\n"
                "  350 ms  B  halfway, still holding it\n"
                "  400 ms  B  done, releasing it\n"
                "  400 ms  both done; the lock is free\n");
}
END_TEST

/* The twenty durations of the fixed seed, in the order the workers finish
 * them: each worker takes the next job in FIFO order as soon as it is free
 * (worked out independently of the library: the schedule is a simple
 * three-machine simulation).  They add up to 9.430 s. */
START_TEST(example_queue_workers)
{
    check_exact("queue_workers",
                "   63 ms  worker-1 has slept for 0.063 s\n"
                "  236 ms  worker-1 has slept for 0.173 s\n"
                "  301 ms  worker-2 has slept for 0.301 s\n"
                "  417 ms  worker-0 has slept for 0.417 s\n"
                "  743 ms  worker-2 has slept for 0.442 s\n"
                "  840 ms  worker-1 has slept for 0.604 s\n"
                "  864 ms  worker-0 has slept for 0.447 s\n"
                "  894 ms  worker-2 has slept for 0.151 s\n"
                " 1246 ms  worker-2 has slept for 0.352 s\n"
                " 1376 ms  worker-0 has slept for 0.512 s\n"
                " 1501 ms  worker-1 has slept for 0.661 s\n"
                " 1874 ms  worker-0 has slept for 0.498 s\n"
                " 2085 ms  worker-2 has slept for 0.839 s\n"
                " 2401 ms  worker-2 has slept for 0.316 s\n"
                " 2496 ms  worker-1 has slept for 0.995 s\n"
                " 2798 ms  worker-2 has slept for 0.397 s\n"
                " 2810 ms  worker-0 has slept for 0.936 s\n"
                " 2951 ms  worker-2 has slept for 0.153 s\n"
                " 3195 ms  worker-1 has slept for 0.699 s\n"
                " 3284 ms  worker-0 has slept for 0.474 s\n"
                "====\n"
                "3 workers cancelled; 0 items left in the queue\n"
                "3 workers slept in parallel for 3.284 s\n"
                "total expected sleep time: 9.430 s\n");
}
END_TEST

/* Back-pressure: from 100 ms on the producer's puts wait for the consumer,
 * and land every 100 ms (120, 220, ... 520) with the queue full. */
START_TEST(example_producer_consumer)
{
    check_exact("producer_consumer",
                "   20 ms  producer  put 1 (queue 0/3)\n"
                "   20 ms  consumer  took 1 (queue 0/3)\n"
                "   40 ms  producer  put 2 (queue 1/3)\n"
                "   60 ms  producer  put 3 (queue 2/3)\n"
                "   80 ms  producer  put 4 (queue 3/3)\n"
                "  100 ms  producer  queue full (3/3): put(5) waits\n"
                "  120 ms  consumer  took 2 (queue 3/3)\n"
                "  120 ms  producer  put 5 after waiting 20 ms (queue 3/3)\n"
                "  140 ms  producer  queue full (3/3): put(6) waits\n"
                "  220 ms  consumer  took 3 (queue 3/3)\n"
                "  220 ms  producer  put 6 after waiting 80 ms (queue 3/3)\n"
                "  240 ms  producer  queue full (3/3): put(7) waits\n"
                "  320 ms  consumer  took 4 (queue 3/3)\n"
                "  320 ms  producer  put 7 after waiting 80 ms (queue 3/3)\n"
                "  340 ms  producer  queue full (3/3): put(8) waits\n"
                "  420 ms  consumer  took 5 (queue 3/3)\n"
                "  420 ms  producer  put 8 after waiting 80 ms (queue 3/3)\n"
                "  420 ms  producer  queue full (3/3): put(the end marker) waits\n"
                "  520 ms  consumer  took 6 (queue 3/3)\n"
                "  520 ms  producer  put the end marker after waiting 100 ms (queue 3/3)\n"
                "  620 ms  consumer  took 7 (queue 2/3)\n"
                "  720 ms  consumer  took 8 (queue 1/3)\n"
                "  820 ms  consumer  got the end marker after 8 items\n"
                "  820 ms  8 items through a queue of 3: paced by the consumer "
                "(100 ms each), not the producer (20 ms)\n");
}
END_TEST

/* ---- blocking_call: the lines and their order, and the two counts ----------- */

#define ON_THREAD "          ticks while slow_read ran on a thread: "
#define IN_TASK "          ticks while slow_read blocked the loop: "

/* Each line without its time stamp ("%5llu ms  "), and with the count of
 * ticks on a thread checked (>= 1) and replaced by "N". */
static char *normalise_blocking(const char *text, unsigned long *on_thread)
{
    char *out = malloc(strlen(text) + 1);
    ck_assert_ptr_nonnull(out);
    char *o = out;
    *on_thread = 0;
    for (const char *l = text; *l;) {
        size_t n = strcspn(l, "\n");
        const char *end = l + n;
        const char *s = l;
        while (s < end && *s == ' ')
            s++;
        const char *d = s;
        while (d < end && *d >= '0' && *d <= '9')
            d++;
        if (d > s && end - d >= 5 && memcmp(d, " ms  ", 5) == 0)
            l = d + 5; /* a time stamp: drop it */
        if ((size_t)(end - l) > strlen(ON_THREAD) &&
            memcmp(l, ON_THREAD, strlen(ON_THREAD)) == 0) {
            *on_thread = strtoul(l + strlen(ON_THREAD), NULL, 10);
            o += sprintf(o, "%sN", ON_THREAD);
        } else {
            memcpy(o, l, (size_t)(end - l));
            o += end - l;
        }
        if (*end == '\n')
            *o++ = '\n';
        l = end + (*end == '\n');
    }
    *o = '\0';
    return out;
}

START_TEST(example_blocking_call)
{
    struct s5_output o = run_example("blocking_call");
    s5_assert_exit_0("blocking_call", &o);
    unsigned long on_thread;
    char *lines = normalise_blocking(o.text, &on_thread);
    s5_assert_same_text("blocking_call (time stamps removed)", lines,
                     "main    ticker started: a tick every 50 ms\n"
                     "          (virtual clock: the ticks are counted, not printed)\n"
                     "main    slow_read() on a worker thread: await thread_run(slow_read, &req)\n"
                     "main    thread_run returned 4096\n"
                     ON_THREAD "N\n"
                     "main    slow_read() called directly, in the task\n"
                     "main    slow_read returned 4096\n"
                     IN_TASK "0\n"
                     "main    back at an await: the loop turns again\n"
                     "main    cancelling the ticker\n");
    ck_assert_msg(on_thread >= 1,
                  "blocking_call: the ticker never ticked while the call ran on a "
                  "worker thread; output:\n%s", o.text);
    free(lines);
    free(o.text);
}
END_TEST

void stage05_add_examples(Suite *s)
{
    TCase *tc = tcase_create("examples");
    tcase_set_timeout(tc, 60); /* blocking_call takes 0.6 s of real time */
    tcase_add_test(tc, example_event_wait);
    tcase_add_test(tc, example_lock_order);
    tcase_add_test(tc, example_queue_workers);
    tcase_add_test(tc, example_producer_consumer);
    tcase_add_test(tc, example_blocking_call);
    suite_add_tcase(s, tc);
}
