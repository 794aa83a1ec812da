/*
 * test_stage03.c - selectors, tasks parked on descriptors, and sockets.
 *
 * Every test that runs the loop runs three times, once per selector backend
 * (select, poll, epoll: check's loop tests, `_i` indexing s3_backends[]),
 * since the loop must behave the same on each.  As in stage 2, assertions
 * come after loop_run() returns: the coroutines record what they saw in
 * frames or structs of the test, so a failing check never leaves a loop
 * half-run behind (the suite also runs without fork under valgrind).
 *
 * Only loopback TCP (127.0.0.1, port 0 then sock_port) and AF_UNIX
 * socketpairs are used; counts are bounded and nothing sleeps or times
 * anything.
 *
 * The suite is built here from one file per topic:
 *     test_stage03_selector.c  the backends driven directly, sel_find,
 *                              sel_timeout_ms
 *     test_stage03_sock.c      sockets: echo with many clients, partial
 *                              writes, resets, half-close, connect/listen
 *                              errors, a cancelled connect, descriptor leaks
 *     test_stage03_loop.c      the loop's side: cancellation, -EBUSY,
 *                              sock_close waking waiters, fairness and the
 *                              I/O budget, short reads, when the loop ends,
 *                              the task dump, io_wait and argument errors,
 *                              EINTR
 * and stage03_util.h/.c hold what they share.
 */
#include <check.h>

#include "stage03_util.h"

Suite *stage03_suite(void)
{
    Suite *s = suite_create("stage03");
    stage03_add_selector(s);
    stage03_add_sock(s);
    stage03_add_loop(s);
    return s;
}
