/*
 * stage02_util.h - what the stage-2 test files share.
 *
 * The event log (ev(), evlog), a gate for tasks to park on (G), running a
 * program with the loop's log captured in a memory stream (RUN(), run_opts,
 * cap_open/cap_close), new_case() with the fixture every tcase uses, and the
 * coroutines used by more than one file.  Defined in stage02_util.c, except
 * hog_main (see below).
 */
#ifndef STAGE02_UTIL_H
#define STAGE02_UTIL_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>

#include "group.h"
#include "loop.h"

/* ---- the suite, one function per file ------------------------------------ */

Suite *stage02_suite(void);             /* test_stage02.c */
void stage02_add_loop(Suite *s);        /* test_stage02_loop.c */
void stage02_add_groups(Suite *s);      /* test_stage02_groups.c */
void stage02_add_seeing(Suite *s);      /* test_stage02_seeing.c */
void stage02_add_regressions(Suite *s); /* test_stage02_regressions.c */
void stage02_add_model(Suite *s);       /* test_stage02_model.c */

/* A tcase named `name`, with the fixture that empties evlog and G, added
 * to s. */
TCase *new_case(Suite *s, const char *name);

/* ---- the event log ------------------------------------------------------ */

extern char evlog[4096];

void ev(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- a wait of the tests' own: a gate tasks park on ------------------- */

struct gate {
    struct list waiters; /* parked tasks, through task.link */
    int n;
};

extern struct gate G; /* the tests' one gate, emptied before each test */

int gate_pass(struct gate *g);
/* Wake the first task parked on the gate; 0 if there was none. */
int gate_open_one(struct gate *g, intptr_t value, int err);

/* ---- running a program with the loop's log captured --------------------- */

struct capture {
    FILE *f;
    char *buf;
    size_t len;
};

FILE *cap_open(struct capture *c);
/* Close the stream and return what was written to it (the caller frees it). */
char *cap_close(struct capture *c);

int run_opts(struct loop_opts *o, co_fn fn, const void *frame, size_t size,
             intptr_t *result, char **log);
int run_logged(co_fn fn, const void *frame, size_t size, intptr_t *result, char **log);

/* RUN(&result, &log, fn, struct frame, .field = value...), as LOOP_RUN. */
#define RUN(result, log, ...) RUN_(result, log, __VA_ARGS__, )
#define RUN_(result, log, fn, type, ...)                                       \
    run_logged((fn), &(type){.co = {0}, __VA_ARGS__}, sizeof(type), (result), (log))

int count_of(const char *hay, const char *needle);

/* 1 under valgrind.  It keeps descriptors of its own above the soft
 * RLIMIT_NOFILE and applies the limit itself, in its own way, so a test
 * that lowers the limit to make a call fail means nothing there (the
 * other builds run it). */
int under_valgrind(void);

/* ---- coroutines many tests share ---------------------------------------- */

/* Returns v (or raises err) after `yields` turns. */
struct ret {
    co_t co;
    intptr_t v;
    int err;
    int yields;
    int i;
};

int ret_fn(co_t *co);

/* Logs "<name><turn>" at each of its turns, "<name>.end" when done, and
 * "<name>.fin<err>" when it ends with an error. */
struct stepper {
    co_t co;
    const char *name;
    int turns;
    intptr_t value;
    int err;
    int i;
};

int stepper(co_t *co);

/* Parks on the gate G ("<name>.park"); returns the value it is woken with,
 * or, with catch_it, catches the error and returns `ret`. */
struct sleeper {
    co_t co;
    const char *name;
    int catch_it;
    intptr_t ret;
    int err;
};

int sleeper(co_t *co);

/* A ticker runs once per iteration ("|"): it is always ready. */
struct ticker { co_t co; int ticks; int i; };
int ticker(co_t *co);

/* Joins target; returns its value + 1. */
struct joiner { co_t co; task_t *target; };
int joiner(co_t *co);

/* A child that turns its cancellation into an error of its own. */
struct grumpy { co_t co; int err; };
int grumpy(co_t *co);

/* ---- the model-based fuzzers' seeds ------------------------------------ */

/* test_stage02_model.c and test_stage05_model.c: a seed, mixed by
 * model_seed (splitmix64), starts a xorshift64* generator (model_next),
 * so one seed is one run on every machine.  model_below is 0..n-1. */
uint64_t model_next(uint64_t *s);
unsigned model_below(uint64_t *s, unsigned n);
uint64_t model_seed(uint64_t z);
/* The number in environment variable `name` (MODEL_SEEDS, ...), dflt when
 * unset or empty; anything but a number >= min is refused aloud. */
uint64_t model_env(const char *name, uint64_t dflt, uint64_t min);
/* Run seeds first..end-1 of stage `stage`'s model: run(seed, &log) returns
 * NULL or the seed's first violation, and the loop's log (freed here,
 * after show(log) if show is not NULL).  Fails the test naming the first
 * failing seed, the command that replays it, and the other failing seeds.
 * Built with AddressSanitizer, it then asks LeakSanitizer whether those
 * seeds left anything allocated, and fails naming them if so. */
void model_run_seeds(int stage, uint64_t first, uint64_t end,
                     const char *(*run)(uint64_t seed, char **log), void (*show)(const char *log));

/* ---- the slow-step warning ---------------------------------------------- */

/* A loop_opts clock: ctx is a uint64_t[2], and every read of the clock
 * advances ctx[0] by ctx[1] and returns it. */
uint64_t fake_clock(void *ctx);

/* Joins a task that runs two steps; defined in test_stage02_seeing.c, whose
 * slow-step tests check that the warning names hog's file (their own
 * __FILE__) and line. */
struct hog_main { co_t co; };
int hog_main(co_t *co);

#endif
