/*
 * stage04_util.h - what the stage-4 test files share.
 *
 * Every loop these tests run uses the virtual clock (loop_opts.virtual_clock
 * = 1): time starts at 0 and jumps to the next deadline whenever nothing
 * can run, so a sleep of an hour takes no real time and every time a test
 * sees is exact.  The few tests that need time to pass while tasks keep
 * running use a fake clock instead (stage 2's fake_clock: it advances by a
 * fixed step at every read), which is just as deterministic.  Nothing here
 * ever sleeps for real or looks at the wall clock.
 *
 * The stage-2 and stage-3 helpers are linked in too (ev(), evlog, new_case(),
 * run_opts(), ...); names defined here start with s4_ so the files never
 * clash.
 */
#ifndef STAGE04_UTIL_H
#define STAGE04_UTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "group.h"
#include "loop.h"
#include "scope.h"
#include "sleep.h"
#include "sock.h"
#include "stage02_util.h"
#include "timer.h"

/* ---- the suite, one function per file ------------------------------------ */

Suite *stage04_suite(void);          /* test_stage04.c */
void stage04_add_heap(Suite *s);     /* test_stage04_heap.c */
void stage04_add_sleep(Suite *s);    /* test_stage04_sleep.c */
void stage04_add_scope(Suite *s);    /* test_stage04_scope.c */
void stage04_add_loop(Suite *s);     /* test_stage04_loop.c */

/* A tcase named `name` with stage 2's fixture (evlog emptied) and a timeout
 * generous enough for the sanitizers and valgrind, added to s. */
TCase *s4_case(Suite *s, const char *name);

/* ---- running the loop ----------------------------------------------------- */

/* loop_run_opts on the virtual clock with the loop's log captured; *log
 * receives what was written to it (the caller frees it). */
int s4_run(co_fn fn, const void *frame, size_t size, intptr_t *result, char **log);

/* S4_RUN(&result, &log, fn, struct frame, .field = value...) */
#define S4_RUN(result, log, ...) S4_RUN_(result, log, __VA_ARGS__, )
#define S4_RUN_(result, log, fn, type, ...)                                    \
    s4_run((fn), &(type){.co = {0}, __VA_ARGS__}, sizeof(type), (result), (log))

/* The same on a fake clock that advances by step_ns at every read (and is
 * not virtual): for tests where time must pass while tasks stay ready.  Such
 * a test must keep some task ready until its last deadline has passed: with
 * nothing ready the loop would wait in the selector until the deadline, for
 * real. */
int s4_run_stepping(uint64_t step_ns, co_fn fn, const void *frame, size_t size,
                    intptr_t *result, char **log);

/* The loop's time in ms, as an unsigned long long for ev("%llu"). */
#define S4_MS ((unsigned long long)loop_time_ms())

/* printf into a static buffer (one at a time): expected event logs that
 * contain errno values, which differ between systems. */
const char *s4_str(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ck_assert for hot loops: check records every assertion that passes (a
 * write(2) each), which a check run thousands of times per test would pay
 * for dearly, under valgrind above all.  This one says nothing unless it
 * fails. */
#define S4_REQUIRE(cond, ...)                                                  \
    do {                                                                       \
        if (!(cond))                                                           \
            ck_abort_msg(__VA_ARGS__);                                         \
    } while (0)

/* Pending timers in the running loop's heap. */
uint32_t s4_ntimers(void);

/* ---- descriptors ---------------------------------------------------------- */

/* A non-blocking AF_UNIX stream socketpair (asserts). */
void s4_socketpair(int sv[2]);
void s4_close_pair(int sv[2]);

/* ---- coroutines many tests share ---------------------------------------- */

/* Sleeps `ms`, logs "<name>@<time>" when it wakes and returns `ms`; an
 * error ends it, logged as "<name>.fin<err>@<time>" by its CO_FINALLY. */
struct s4_nap {
    co_t co;
    const char *name;
    uint64_t ms;
};
int s4_nap(co_t *co);

/* Yields until t is parked, at most `max` times; returns 1 if it is. */
struct s4_until_parked {
    co_t co;
    task_t *t;
    int max;
    int i;
};
int s4_until_parked(co_t *co);

#endif
