/*
 * stage05_util.h - what the stage-5 test files share.
 *
 * Every loop these tests run uses the virtual clock (stage 4's s4_run):
 * time starts at 0 and jumps to the next deadline whenever nothing can run,
 * so a timeout of a second takes no real time and every time a test sees is
 * exact.  Nothing here sleeps for real.  The thread_run tests make a worker
 * block on a read(2) of a pipe that a task of the loop writes to, so the
 * order of events proves who was running while the worker blocked.
 *
 * The stage-2..4 helpers are linked in too (ev(), evlog, s4_case(), ...);
 * names defined here start with s5_ so the files never clash.  Errors are
 * logged by name (s5_err) so the expected logs do not depend on errno
 * values.
 */
#ifndef STAGE05_UTIL_H
#define STAGE05_UTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "cond.h"
#include "event.h"
#include "group.h"
#include "lock.h"
#include "loop.h"
#include "lot.h"
#include "queue.h"
#include "scope.h"
#include "sem.h"
#include "sleep.h"
#include "stage04_util.h"
#include "thread.h"

/* ---- the suite, one function per file ------------------------------------ */

Suite *stage05_suite(void);            /* test_stage05.c */
void stage05_add_event(Suite *s);      /* test_stage05_event.c */
void stage05_add_lock(Suite *s);       /* test_stage05_lock.c */
void stage05_add_sem(Suite *s);        /* test_stage05_sem.c */
void stage05_add_cond(Suite *s);       /* test_stage05_cond.c */
void stage05_add_queue(Suite *s);      /* test_stage05_queue.c */
void stage05_add_stress(Suite *s);     /* test_stage05_stress.c */
void stage05_add_thread(Suite *s);     /* test_stage05_thread.c */
void stage05_add_examples(Suite *s);   /* test_stage05_examples.c */
void stage05_add_model(Suite *s);      /* test_stage05_model.c */

/* A tcase named `name` with the stage-2 fixture (evlog emptied) and a
 * generous timeout, added to s. */
TCase *s5_case(Suite *s, const char *name);

/* ---- running the loop ----------------------------------------------------- */

/* S5_RUN(&result, &log, fn, struct frame, .field = value...): loop_run on
 * the virtual clock with the loop's log captured into *log (free it). */
#define S5_RUN(result, log, ...) S4_RUN(result, log, __VA_ARGS__)

/* The loop's time in ms, as an unsigned long long for ev("%llu"). */
#define S5_MS S4_MS

/* An error code by name: "ok" for 0, "ECANCELED", "ETIMEDOUT", ... (a
 * number for anything else).  Static strings: safe to keep. */
const char *s5_err(int err);

/* ---- looking inside a parking lot ------------------------------------------ */

size_t s5_lot_len(const struct lot *lot);
/* The i-th task of the lot (0: the one that waited longest), or NULL. */
task_t *s5_lot_at(const struct lot *lot, size_t i);

/* Name a task just spawned (for s5_lot_names and the loop's messages);
 * returns t. */
task_t *s5_named(task_t *t, const char *name);

/* The names of the lot's tasks, first come first, joined by ',' ("" when
 * empty), in one of four static buffers used in turn (so up to four can be
 * in one ev() call). */
const char *s5_lot_names(const struct lot *lot);

/* ---- the process ---------------------------------------------------------- */

/* Entries of a directory such as /proc/self/task or /proc/self/fd, not
 * counting "." and ".." (-1 if it cannot be read). */
int s5_count_dir(const char *path);

/* A blocking pipe (asserts); both ends close-on-exec. */
void s5_pipe(int fds[2]);

/* What a program wrote (stdout and stderr on one pipe, NUL-terminated: free
 * text) and how it ended (waitpid's status). */
struct s5_output {
    char *text;
    size_t len;
    int status;
};
/* Run dir/name with args (NULL-terminated, at most 14) in the environment
 * minus ASYNC_TRACE, ASYNC_DEBUG and ASYNC_SLOW_MS, which add output; wait
 * for it to end. */
struct s5_output s5_run_program(const char *dir, const char *name, const char *const args[]);
/* The environment without ASYNC_TRACE, ASYNC_DEBUG and ASYNC_SLOW_MS, the
 * variables that make the loop say more: for a program a test runs
 * (calloc'd array of environ's strings; free the array only). */
char **s5_quiet_environ(void);
/* Assert it exited 0, printing its output if not. */
void s5_assert_exit_0(const char *name, const struct s5_output *o);
/* Compare line by line, so a failure names the first line that differs. */
void s5_assert_same_text(const char *name, const char *got, const char *want);

/* ---- a seeded PRNG (xorshift64*): the same run for the same seed ---------- */

uint32_t s5_rand(uint64_t *state);
/* 0 .. n-1 */
uint32_t s5_below(uint64_t *state, uint32_t n);

#endif
