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
 */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "group.h"
#include "loop.h"

Suite *stage02_suite(void);

/* ---- the event log ------------------------------------------------------ */

static char evlog[4096];

static void ev(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ev(const char *fmt, ...)
{
    size_t n = strlen(evlog);
    if (n > 0 && n + 1 < sizeof evlog)
        evlog[n++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(evlog + n, sizeof evlog - n, fmt, ap);
    va_end(ap);
}

/* ---- a wait of the tests' own: a gate tasks park on ------------------- */

struct gate {
    struct list waiters; /* parked tasks, through task.link */
    int n;
};

static struct gate G; /* the tests' one gate, emptied before each test */

static void gate_unpark(task_t *t)
{
    list_remove(&t->link);
    ((struct gate *)t->wait_on)->n--;
}

static void gate_describe(const task_t *t, FILE *out)
{
    fprintf(out, "with %d waiter(s)", ((const struct gate *)t->wait_on)->n);
}

static const struct task_wait gate_wait = {
    .what = "gate", .unpark = gate_unpark, .describe = gate_describe};

static int gate_pass(struct gate *g)
{
    int r = task_park(&gate_wait, g);
    if (r == TASK_OP_PARKED) {
        list_append(&g->waiters, &task_current()->link);
        g->n++;
    }
    return r;
}

/* Wake the first task parked on the gate; 0 if there was none. */
static int gate_open_one(struct gate *g, intptr_t value, int err)
{
    if (list_empty(&g->waiters))
        return 0;
    return task_wake(list_entry(g->waiters.next, task_t, link), value, err) == 0;
}

/* ---- running a program with the loop's log captured --------------------- */

struct capture {
    FILE *f;
    char *buf;
    size_t len;
};

static FILE *cap_open(struct capture *c)
{
    c->buf = NULL;
    c->len = 0;
    c->f = open_memstream(&c->buf, &c->len);
    ck_assert_ptr_nonnull(c->f);
    return c->f;
}

/* Close the stream and return what was written to it (the caller frees it). */
static char *cap_close(struct capture *c)
{
    fclose(c->f);
    return c->buf;
}

static int run_opts(struct loop_opts *o, co_fn fn, const void *frame, size_t size,
                    intptr_t *result, char **log)
{
    struct capture c;
    o->log = cap_open(&c);
    int rc = loop_run_opts(o, fn, frame, size, result);
    *log = cap_close(&c);
    return rc;
}

static int run_logged(co_fn fn, const void *frame, size_t size, intptr_t *result, char **log)
{
    struct loop_opts o = {0};
    return run_opts(&o, fn, frame, size, result, log);
}

/* RUN(&result, &log, fn, struct frame, .field = value...), as LOOP_RUN. */
#define RUN(result, log, ...) RUN_(result, log, __VA_ARGS__, )
#define RUN_(result, log, fn, type, ...)                                       \
    run_logged((fn), &(type){.co = {0}, __VA_ARGS__}, sizeof(type), (result), (log))

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void setup(void)
{
    evlog[0] = '\0';
    list_init(&G.waiters);
    G.n = 0;
    /* The environment must not change what the loop does in these tests. */
    unsetenv("ASYNC_TRACE");
    unsetenv("ASYNC_DEBUG");
    unsetenv("ASYNC_SLOW_MS");
}

static void teardown(void) {}

/* ---- coroutines many tests share ---------------------------------------- */

/* Returns v (or raises err) after `yields` turns. */
struct ret {
    co_t co;
    intptr_t v;
    int err;
    int yields;
    int i;
};

static int ret_fn(co_t *co)
{
    struct ret *f = (struct ret *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->yields; f->i++)
        AWAIT(task_yield());
    if (f->err)
        CO_RAISE(f->err);
    CO_RETURN(f->v);
    CO_END;
}

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

static int stepper(co_t *co)
{
    struct stepper *f = (struct stepper *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->turns; f->i++) {
        ev("%s%d", f->name, f->i);
        AWAIT(task_yield());
    }
    ev("%s.end", f->name);
    if (f->err)
        CO_RAISE(f->err);
    CO_RETURN(f->value);
    CO_FINALLY
    if (CO_ERROR)
        ev("%s.fin%d", f->name, CO_ERROR);
    CO_END;
}

/* Parks on the gate G ("<name>.park"); returns the value it is woken with,
 * or, with catch_it, catches the error and returns `ret`. */
struct sleeper {
    co_t co;
    const char *name;
    int catch_it;
    intptr_t ret;
    int err;
};

static int sleeper(co_t *co)
{
    struct sleeper *f = (struct sleeper *)co;
    CO_BEGIN(co);
    ev("%s.park", f->name);
    if (f->catch_it) {
        AWAIT_CATCH(gate_pass(&G), f->err);
        ev("%s.caught%d", f->name, f->err);
        CO_RETURN(f->ret);
    }
    AWAIT(gate_pass(&G));
    ev("%s.woke%ld", f->name, (long)CO_VALUE);
    CO_RETURN(CO_VALUE);
    CO_FINALLY
    if (CO_ERROR)
        ev("%s.fin%d", f->name, CO_ERROR);
    CO_END;
}

/* ===== loop_run ========================================================= */

START_TEST(loop_run_returns_main_value)
{
    intptr_t r = -1;
    int rc = LOOP_RUN(&r, ret_fn, struct ret, .v = 42, .yields = 2);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(r, 42);
}
END_TEST

START_TEST(loop_run_returns_main_error)
{
    intptr_t r = -1;
    char *log;
    int rc = RUN(&r, &log, ret_fn, struct ret, .err = -EIO, .yields = 1);
    ck_assert_int_eq(rc, -EIO);
    ck_assert_int_eq(r, -1); /* untouched on error */
    ck_assert_str_eq(log, ""); /* main's error reached loop_run: not "lost" */
    free(log);
}
END_TEST

struct after_main { co_t co; };
static int after_main(co_t *co)
{
    CO_BEGIN(co);
    task_detach(TASK_SPAWN(stepper, struct stepper, .name = "d", .turns = 2));
    ev("main.end");
    CO_RETURN(5);
    CO_END;
}

START_TEST(loop_runs_until_every_task_ends)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, after_main, struct after_main), 0);
    ck_assert_int_eq(r, 5);
    ck_assert_str_eq(evlog, "main.end d0 d1 d.end");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct nested { co_t co; int rc; };
static int nested(co_t *co)
{
    struct nested *f = (struct nested *)co;
    CO_BEGIN(co);
    f->rc = LOOP_RUN(NULL, ret_fn, struct ret, .v = 1);
    CO_RETURN(f->rc);
    CO_END;
}

START_TEST(nested_loop_run_is_ebusy)
{
    intptr_t r = 0;
    ck_assert_int_eq(LOOP_RUN(&r, nested, struct nested), 0);
    ck_assert_int_eq(r, -EBUSY);
    /* and the outer loop is gone afterwards: a new one runs */
    ck_assert_int_eq(LOOP_RUN(&r, ret_fn, struct ret, .v = 3), 0);
    ck_assert_int_eq(r, 3);
}
END_TEST

struct self_cancel { co_t co; };
static int self_cancel(co_t *co)
{
    CO_BEGIN(co);
    task_cancel(task_current());
    AWAIT(task_yield());
    CO_RETURN(1);
    CO_END;
}

START_TEST(loop_run_main_cancelled)
{
    intptr_t r = -1;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, self_cancel, struct self_cancel), -ECANCELED);
    ck_assert_int_eq(r, -1);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== spawning, order, fairness ======================================== */

struct fifo { co_t co; task_t *t[3]; uint32_t id[3]; int i; };
static int fifo(co_t *co)
{
    struct fifo *f = (struct fifo *)co;
    CO_BEGIN(co);
    f->t[0] = TASK_SPAWN(stepper, struct stepper, .name = "a", .turns = 2);
    f->t[1] = TASK_SPAWN(stepper, struct stepper, .name = "b", .turns = 2);
    f->t[2] = TASK_SPAWN(stepper, struct stepper, .name = "c", .turns = 2);
    for (f->i = 0; f->i < 3; f->i++)
        f->id[f->i] = f->t[f->i]->id;
    ev("main"); /* spawned tasks start at the next turn, not now */
    for (f->i = 0; f->i < 3; f->i++)
        AWAIT(task_join(f->t[f->i]));
    CO_RETURN(f->id[0] * 100 + f->id[1] * 10 + f->id[2]);
    CO_END;
}

START_TEST(spawn_runs_next_turn_in_fifo_order)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, fifo, struct fifo), 0);
    ck_assert_str_eq(evlog, "main a0 b0 c0 a1 b1 c1 a.end b.end c.end");
    ck_assert_int_eq(r, 234); /* main is #1, then ids in spawn order */
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct spinner { co_t co; const int *stop; int spins; };
static int spinner(co_t *co)
{
    struct spinner *f = (struct spinner *)co;
    CO_BEGIN(co);
    while (!*f->stop) {
        f->spins++;
        AWAIT(task_yield());
    }
    CO_RETURN(f->spins);
    CO_END;
}

struct stopper { co_t co; int *stop; int turns; int i; };
static int stopper(co_t *co)
{
    struct stopper *f = (struct stopper *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->turns; f->i++)
        AWAIT(task_yield());
    *f->stop = 1;
    CO_END;
}

struct fair { co_t co; int stop; task_t *spin, *stopper; };
static int fair(co_t *co)
{
    struct fair *f = (struct fair *)co;
    CO_BEGIN(co);
    f->spin = TASK_SPAWN(spinner, struct spinner, .stop = &f->stop);
    f->stopper = TASK_SPAWN(stopper, struct stopper, .stop = &f->stop, .turns = 5);
    AWAIT(task_join(f->stopper));
    AWAIT(task_join(f->spin));
    CO_RETURN(CO_VALUE);
    CO_END;
}

START_TEST(fairness_spinner_does_not_starve_others)
{
    /* The spinner yields forever until the other task stops it: one turn
     * each per iteration, so it spins exactly once per turn of the other. */
    intptr_t spins = 0;
    ck_assert_int_eq(LOOP_RUN(&spins, fair, struct fair), 0);
    ck_assert_int_eq(spins, 6);
}
END_TEST

/* A ticker runs once per iteration ("|"): it is always ready. */
struct ticker { co_t co; int ticks; int i; };
static int ticker(co_t *co)
{
    struct ticker *f = (struct ticker *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->ticks; f->i++) {
        ev("|");
        AWAIT(task_yield());
    }
    CO_END;
}

struct waiter { co_t co; task_t **target; };
static int waiter(co_t *co)
{
    struct waiter *f = (struct waiter *)co;
    CO_BEGIN(co);
    ev("A.join");
    AWAIT(task_join(*f->target));
    ev("A.got%ld", (long)CO_VALUE);
    CO_END;
}

struct quick { co_t co; };
static int quick(co_t *co)
{
    CO_BEGIN(co);
    ev("B");
    CO_RETURN(7);
    CO_END;
}

struct twice { co_t co; };
static int twice(co_t *co)
{
    CO_BEGIN(co);
    ev("C");
    AWAIT(task_yield());
    ev("C2");
    CO_END;
}

struct readied { co_t co; task_t *tick, *a, *b, *c; };
static int readied(co_t *co)
{
    struct readied *f = (struct readied *)co;
    CO_BEGIN(co);
    f->tick = TASK_SPAWN(ticker, struct ticker, .ticks = 4);
    f->a = TASK_SPAWN(waiter, struct waiter, .target = &f->b);
    f->b = TASK_SPAWN(quick, struct quick);
    f->c = TASK_SPAWN(twice, struct twice);
    AWAIT(task_join(f->a));
    AWAIT(task_join(f->c));
    AWAIT(task_join(f->tick));
    CO_END;
}

START_TEST(task_woken_during_iteration_runs_in_next)
{
    /* B's end wakes A in the middle of an iteration.  A must not run at
     * once, nor before C, which was ready when the iteration began: it
     * runs after C and after the ticker's next "|", in the next one. */
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, readied, struct readied), 0);
    ck_assert_str_eq(evlog, "| A.join B C | A.got7 C2 | |");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct yielder { co_t co; task_t *b; };
static int yielder(co_t *co)
{
    struct yielder *f = (struct yielder *)co;
    CO_BEGIN(co);
    f->b = TASK_SPAWN(stepper, struct stepper, .name = "b", .turns = 2);
    AWAIT(task_join(TASK_SPAWN(ret_fn, struct ret, .v = 5))); /* CO_VALUE is 5 */
    ev("m0=%ld", (long)CO_VALUE);
    AWAIT(task_yield());
    ev("m1=%ld", (long)CO_VALUE); /* a yield resumes with 0, not a stale value */
    AWAIT(task_join(f->b));
    CO_END;
}

START_TEST(yield_lets_others_run_and_gives_zero)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, yielder, struct yielder), 0);
    ck_assert_str_eq(evlog, "b0 b1 m0=5 b.end m1=0");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== join ============================================================= */

struct join_value { co_t co; task_t *t; };
static int join_value(co_t *co)
{
    struct join_value *f = (struct join_value *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(ret_fn, struct ret, .v = 7, .yields = 2);
    AWAIT(task_join(f->t));
    CO_RETURN(CO_VALUE * 2);
    CO_END;
}

START_TEST(join_returns_value)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, join_value, struct join_value), 0);
    ck_assert_int_eq(r, 14);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct join_raise { co_t co; };
static int join_raise(co_t *co)
{
    CO_BEGIN(co);
    AWAIT(task_join(TASK_SPAWN(ret_fn, struct ret, .err = -EIO, .yields = 1)));
    ev("not reached");
    CO_FINALLY
    ev("main.fin%d", CO_ERROR);
    CO_END;
}

START_TEST(join_raises_child_error)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, join_raise, struct join_raise), -EIO);
    ck_assert_str_eq(evlog, "main.fin-5");
    ck_assert_str_eq(log, ""); /* the join retrieved it */
    free(log);
}
END_TEST

struct join_catch { co_t co; int err, err2; intptr_t v2; };
static int join_catch(co_t *co)
{
    struct join_catch *f = (struct join_catch *)co;
    CO_BEGIN(co);
    f->err2 = 99;
    AWAIT_CATCH(task_join(TASK_SPAWN(ret_fn, struct ret, .err = -EIO, .yields = 1)), f->err);
    AWAIT_CATCH(task_join(TASK_SPAWN(ret_fn, struct ret, .v = 3)), f->err2);
    f->v2 = CO_VALUE;
    CO_RETURN(f->err * 1000 + f->err2 * 100 + f->v2);
    CO_END;
}

START_TEST(join_catch_gets_error_then_zero)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, join_catch, struct join_catch), 0);
    ck_assert_int_eq(r, -EIO * 1000 + 0 * 100 + 3);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

static struct {
    int state, op;
    uint64_t s0, s1;
} jd; /* what join_done saw, for the assertions */

struct join_done { co_t co; task_t *t; };
static int join_done(co_t *co)
{
    struct join_done *f = (struct join_done *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(ret_fn, struct ret, .v = 9);
    AWAIT(task_yield()); /* the child runs to its end meanwhile */
    jd.state = f->t->state;
    jd.s0 = loop_current()->steps;
    AWAIT(jd.op = task_join(f->t));
    jd.s1 = loop_current()->steps;
    CO_RETURN(CO_VALUE);
    CO_END;
}

START_TEST(join_finished_task_does_not_park)
{
    intptr_t r = 0;
    char *log;
    memset(&jd, 0, sizeof jd);
    jd.op = -1;
    ck_assert_int_eq(RUN(&r, &log, join_done, struct join_done), 0);
    ck_assert_int_eq(r, 9);
    ck_assert_int_eq(jd.state, TASK_DONE);
    ck_assert_int_eq(jd.op, TASK_OP_NOW);  /* the join did not park */
    ck_assert_uint_eq(jd.s1, jd.s0);       /* and main kept its turn */
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct join_misuse { co_t co; int self, null; };
static int join_misuse(co_t *co)
{
    struct join_misuse *f = (struct join_misuse *)co;
    CO_BEGIN(co);
    AWAIT_CATCH(task_join(task_current()), f->self);
    AWAIT_CATCH(task_join(NULL), f->null);
    CO_RETURN(f->self * 1000 + f->null);
    CO_END;
}

START_TEST(join_self_is_edeadlk)
{
    intptr_t r = 0;
    ck_assert_int_eq(LOOP_RUN(&r, join_misuse, struct join_misuse), 0);
    ck_assert_int_eq(r, -EDEADLK * 1000 + -EINVAL);
}
END_TEST

struct joiner { co_t co; task_t *target; };
static int joiner(co_t *co)
{
    struct joiner *f = (struct joiner *)co;
    CO_BEGIN(co);
    AWAIT(task_join(f->target));
    CO_RETURN(CO_VALUE + 1);
    CO_END;
}

struct join_busy { co_t co; task_t *target, *j; int err; };
static int join_busy(co_t *co)
{
    struct join_busy *f = (struct join_busy *)co;
    CO_BEGIN(co);
    f->target = TASK_SPAWN(ret_fn, struct ret, .v = 5, .yields = 3);
    f->j = TASK_SPAWN(joiner, struct joiner, .target = f->target);
    AWAIT(task_yield()); /* j parks joining the target */
    AWAIT_CATCH(task_join(f->target), f->err);
    AWAIT(task_join(f->j));
    CO_RETURN(f->err * 100 + CO_VALUE);
    CO_END;
}

START_TEST(second_joiner_is_ebusy)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, join_busy, struct join_busy), 0);
    ck_assert_int_eq(r, -EBUSY * 100 + 6);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== cancellation ===================================================== */

struct cancel_parked { co_t co; task_t *s; int parked, after_cancel, after_run, err; };
static int cancel_parked(co_t *co)
{
    struct cancel_parked *f = (struct cancel_parked *)co;
    CO_BEGIN(co);
    f->s = TASK_SPAWN(sleeper, struct sleeper, .name = "s");
    AWAIT(task_yield());
    f->parked = f->s->state;
    ev("cancel=%d", task_cancel(f->s));
    f->after_cancel = f->s->state; /* woken at once */
    AWAIT(task_yield());
    f->after_run = f->s->state;
    AWAIT_CATCH(task_join(f->s), f->err);
    CO_RETURN(f->parked * 1000 + f->after_cancel * 100 + f->after_run * 10);
    CO_FINALLY
    ev("err%d", f->err);
    CO_END;
}

START_TEST(cancel_parked_task)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, cancel_parked, struct cancel_parked), 0);
    ck_assert_int_eq(r, TASK_PARKED * 1000 + TASK_READY * 100 + TASK_CANCELLED * 10);
    /* -ECANCELED arrived at its await: "s.woke" never ran, its finally did */
    ck_assert_str_eq(evlog, "s.park cancel=0 s.fin-125 err-125");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct cancel_new { co_t co; task_t *t; int state, err; };
static int cancel_new(co_t *co)
{
    struct cancel_new *f = (struct cancel_new *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(stepper, struct stepper, .name = "n", .turns = 1);
    task_cancel(f->t);
    AWAIT(task_yield());
    f->state = f->t->state;
    AWAIT_CATCH(task_join(f->t), f->err);
    CO_RETURN(f->state * 1000 + f->err);
    CO_END;
}

START_TEST(cancel_never_started_task_never_runs)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, cancel_new, struct cancel_new), 0);
    ck_assert_int_eq(r, TASK_CANCELLED * 1000 - ECANCELED);
    ck_assert_str_eq(evlog, ""); /* neither its body nor its finally */
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct cancel_self { co_t co; int err; };
static int cancel_self(co_t *co)
{
    struct cancel_self *f = (struct cancel_self *)co;
    CO_BEGIN(co);
    ev("c=%d", task_cancel(task_current()));
    ev("state=%s", task_state_name(task_current()->state)); /* still running */
    AWAIT_CATCH(task_yield(), f->err);                       /* delivered here */
    ev("err%d", f->err);
    AWAIT_CATCH(task_yield(), f->err); /* only once */
    ev("err%d", f->err);
    CO_RETURN(1);
    CO_END;
}

START_TEST(cancel_running_task_at_next_park)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, cancel_self, struct cancel_self), 0);
    ck_assert_int_eq(r, 1);
    ck_assert_str_eq(evlog, "c=0 state=running err-125 err0");
    free(log);
}
END_TEST

struct cancel_done { co_t co; task_t *t; int c, state; };
static int cancel_done(co_t *co)
{
    struct cancel_done *f = (struct cancel_done *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(ret_fn, struct ret, .v = 5);
    AWAIT(task_yield());
    f->c = task_cancel(f->t);
    f->state = f->t->state;
    AWAIT(task_join(f->t));
    CO_RETURN(f->c * 1000 + f->state * 100 + CO_VALUE);
    CO_END;
}

START_TEST(cancel_finished_task_is_noop)
{
    intptr_t r = -1;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, cancel_done, struct cancel_done), 0);
    ck_assert_int_eq(r, 0 * 1000 + TASK_DONE * 100 + 5);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* W joins C; C's end wakes W; X cancels W before W runs again. */
struct woken_w { co_t co; task_t **c; intptr_t got; int err; };
static int woken_w(co_t *co)
{
    struct woken_w *f = (struct woken_w *)co;
    CO_BEGIN(co);
    AWAIT(task_join(*f->c));
    f->got = CO_VALUE;
    ev("W.got%ld", (long)f->got); /* the result survived the cancel */
    AWAIT_CATCH(task_yield(), f->err);
    ev("W.next%d", f->err); /* the cancel arrives at the next park */
    CO_RETURN(f->got);
    CO_END;
}

struct woken_x { co_t co; task_t *w; };
static int woken_x(co_t *co)
{
    struct woken_x *f = (struct woken_x *)co;
    CO_BEGIN(co);
    ev("X.%s", task_state_name(f->w->state));
    task_cancel(f->w);
    CO_END;
}

struct cancel_woken { co_t co; task_t *w, *c, *x; };
static int cancel_woken(co_t *co)
{
    struct cancel_woken *f = (struct cancel_woken *)co;
    CO_BEGIN(co);
    f->w = TASK_SPAWN(woken_w, struct woken_w, .c = &f->c);
    f->c = TASK_SPAWN(ret_fn, struct ret, .v = 5);
    f->x = TASK_SPAWN(woken_x, struct woken_x, .w = f->w);
    AWAIT(task_join(f->x));
    AWAIT(task_join(f->w));
    CO_RETURN(CO_VALUE);
    CO_END;
}

START_TEST(cancel_woken_task_keeps_result)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, cancel_woken, struct cancel_woken), 0);
    ck_assert_int_eq(r, 5);
    ck_assert_str_eq(evlog, "X.ready W.got5 W.next-125");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct catch_cancel { co_t co; task_t *s; int state; };
static int catch_cancel(co_t *co)
{
    struct catch_cancel *f = (struct catch_cancel *)co;
    CO_BEGIN(co);
    f->s = TASK_SPAWN(sleeper, struct sleeper, .name = "s", .catch_it = 1, .ret = 99);
    AWAIT(task_yield());
    task_cancel(f->s);
    AWAIT(task_yield());
    f->state = f->s->state;
    AWAIT(task_join(f->s));
    CO_RETURN(f->state * 1000 + CO_VALUE);
    CO_END;
}

START_TEST(task_catches_cancel_and_returns_value)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, catch_cancel, struct catch_cancel), 0);
    ck_assert_int_eq(r, TASK_DONE * 1000 + 99); /* DONE, not CANCELLED */
    ck_assert_str_eq(evlog, "s.park s.caught-125");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct cancel_joiner { co_t co; task_t *t, *j; int err; };
static int cancel_joiner(co_t *co)
{
    struct cancel_joiner *f = (struct cancel_joiner *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(ret_fn, struct ret, .v = 4, .yields = 3);
    f->j = TASK_SPAWN(joiner, struct joiner, .target = f->t);
    AWAIT(task_yield()); /* j parks in its join */
    task_cancel(f->j);
    AWAIT_CATCH(task_join(f->j), f->err);
    AWAIT(task_join(f->t)); /* the cancelled join let go of t */
    CO_RETURN(f->err * 100 + CO_VALUE);
    CO_END;
}

START_TEST(cancel_task_parked_in_join)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, cancel_joiner, struct cancel_joiner), 0);
    ck_assert_int_eq(r, -ECANCELED * 100 + 4);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== awaiting a sub-coroutine ========================================= */

struct sub {
    co_t co;
    int yields;
    int err;
    int park;   /* park on the gate instead of yielding */
    int i;
    int nested; /* its frame was the top frame's child, inside the task */
};

static int sub_fn(co_t *co)
{
    struct sub *f = (struct sub *)co;
    CO_BEGIN(co);
    f->nested = task_current()->co->child == co && (char *)co > (char *)task_current()->co;
    for (f->i = 0; f->i < f->yields; f->i++)
        AWAIT(task_yield());
    if (f->park) {
        AWAIT(gate_pass(&G));
        CO_RETURN(CO_VALUE * 2);
    }
    if (f->err)
        CO_RAISE(f->err);
    CO_RETURN(21);
    CO_FINALLY
    if (CO_ERROR)
        ev("sub.fin%d", CO_ERROR);
    CO_END;
}

struct parent { co_t co; int catch_it; int err; int nested; intptr_t v; struct sub sub; };
static int parent(co_t *co)
{
    struct parent *f = (struct parent *)co;
    CO_BEGIN(co);
    if (f->catch_it) {
        AWAIT_CO_CATCH(&f->sub.co, sub_fn, f->err);
        ev("caught%d", f->err);
        CO_RETURN(3);
    }
    AWAIT_CO(&f->sub.co, sub_fn);
    f->v = CO_VALUE;
    f->nested = f->sub.nested && co->child == NULL;
    CO_RETURN(f->nested ? f->v + 1 : -1);
    CO_FINALLY
    if (CO_ERROR)
        ev("parent.fin%d", CO_ERROR);
    CO_END;
}

START_TEST(await_co_returns_value_in_parent_frame)
{
    intptr_t r = 0;
    ck_assert_int_eq(LOOP_RUN(&r, parent, struct parent, .sub = {.yields = 2}), 0);
    ck_assert_int_eq(r, 22);
}
END_TEST

START_TEST(await_co_error_propagates)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, parent, struct parent, .sub = {.yields = 1, .err = -EPIPE}),
                     -EPIPE);
    ck_assert_str_eq(evlog, "sub.fin-32 parent.fin-32");
    free(log);
    evlog[0] = '\0';
    ck_assert_int_eq(RUN(&r, &log, parent, struct parent, .catch_it = 1,
                         .sub = {.yields = 1, .err = -EPIPE}),
                     0);
    ck_assert_int_eq(r, 3);
    ck_assert_str_eq(evlog, "sub.fin-32 caught-32");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct pass_through { co_t co; task_t *p, *q; int state; const char *what; int err; };
static int pass_through(co_t *co)
{
    struct pass_through *f = (struct pass_through *)co;
    CO_BEGIN(co);
    f->p = TASK_SPAWN(parent, struct parent, .sub = {.park = 1});
    AWAIT(task_yield());
    f->state = f->p->state; /* the child's park is the task's */
    f->what = f->p->wait ? f->p->wait->what : "";
    gate_open_one(&G, 21, 0); /* the value goes down to the child */
    AWAIT(task_join(f->p));
    ev("p=%ld", (long)CO_VALUE);
    f->q = TASK_SPAWN(parent, struct parent, .sub = {.park = 1});
    AWAIT(task_yield());
    task_cancel(f->q); /* and so does a cancellation */
    AWAIT_CATCH(task_join(f->q), f->err);
    CO_RETURN(f->state * 1000 + f->err);
    CO_END;
}

START_TEST(await_co_parks_pass_through)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, pass_through, struct pass_through), 0);
    ck_assert_int_eq(r, TASK_PARKED * 1000 - ECANCELED);
    /* 21 * 2 from the child, + 1 from the parent; then the cancel unwinds
     * the child first, then the parent */
    ck_assert_str_eq(evlog, "p=43 sub.fin-125 parent.fin-125");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== bad yield ======================================================== */

struct bad { co_t co; int catch_it; int err; };
static int bad(co_t *co)
{
    struct bad *f = (struct bad *)co;
    CO_BEGIN(co);
    if (f->catch_it) {
        CO_YIELD_CATCH(1, f->err); /* a bare yield: nobody would wake it */
        CO_RETURN(f->err == TASK_EBADYIELD ? 8 : -1);
    }
    CO_YIELD(1);
    ev("not reached");
    CO_END;
}

struct bad_main { co_t co; int err; intptr_t v; };
static int bad_main(co_t *co)
{
    struct bad_main *f = (struct bad_main *)co;
    CO_BEGIN(co);
    AWAIT_CATCH(task_join(TASK_SPAWN(bad, struct bad)), f->err);
    AWAIT(task_join(TASK_SPAWN(bad, struct bad, .catch_it = 1)));
    f->v = CO_VALUE;
    CO_RETURN(f->v * 10000 + f->err);
    CO_END;
}

START_TEST(bare_yield_gets_ebadyield)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, bad_main, struct bad_main), 0);
    ck_assert_int_eq(r, 8 * 10000 + TASK_EBADYIELD);
    ck_assert_str_eq(evlog, "");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== task groups ====================================================== */

struct grp_all { co_t co; group_t g; };
static int grp_all(co_t *co)
{
    struct grp_all *f = (struct grp_all *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    GROUP_SPAWN(&f->g, stepper, struct stepper, .name = "a", .turns = 3);
    GROUP_SPAWN(&f->g, stepper, struct stepper, .name = "b", .turns = 1);
    GROUP_SPAWN(&f->g, stepper, struct stepper, .name = "c", .turns = 2);
    ev("body");
    CO_FINALLY
    ev("join");
    AWAIT(group_join(&f->g, CO_ERROR));
    ev("joined:%zu", f->g.nrunning);
    CO_END;
}

START_TEST(group_join_waits_for_all_children)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, grp_all, struct grp_all), 0);
    ck_assert_str_eq(evlog, "body join a0 b0 c0 a1 b.end c1 a2 c.end a.end joined:0");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct grp_fail { co_t co; group_t g; };
static int grp_fail(co_t *co)
{
    struct grp_fail *f = (struct grp_fail *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    GROUP_SPAWN(&f->g, stepper, struct stepper, .name = "a", .turns = 5);
    GROUP_SPAWN(&f->g, stepper, struct stepper, .name = "b", .turns = 1, .err = -EIO);
    GROUP_SPAWN(&f->g, stepper, struct stepper, .name = "c", .turns = 5);
    ev("body");
    AWAIT(gate_pass(&G)); /* only b's failure ends this */
    ev("not reached");
    CO_FINALLY
    ev("owner.fin%d", CO_ERROR);
    AWAIT(group_join(&f->g, CO_ERROR));
    CO_END;
}

START_TEST(group_first_failure_cancels_siblings_and_owner)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, grp_fail, struct grp_fail), -EIO);
    ck_assert_str_eq(evlog, "body a0 b0 c0 a1 b.end b.fin-5 c.fin-125 a.fin-125 owner.fin-125");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct grp_body { co_t co; group_t g; };
static int grp_body(co_t *co)
{
    struct grp_body *f = (struct grp_body *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    GROUP_SPAWN(&f->g, stepper, struct stepper, .name = "a", .turns = 5);
    GROUP_SPAWN(&f->g, stepper, struct stepper, .name = "b", .turns = 5);
    AWAIT(task_yield());
    ev("raise");
    CO_RAISE(-EINVAL);
    CO_FINALLY
    AWAIT(group_join(&f->g, CO_ERROR));
    ev("after");
    CO_END;
}

START_TEST(group_body_error_cancels_children_and_wins)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, grp_body, struct grp_body), -EINVAL);
    ck_assert_str_eq(evlog, "a0 b0 raise a.fin-125 b.fin-125 after");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct grp_owner { co_t co; group_t g; };
static int grp_owner(co_t *co)
{
    struct grp_owner *f = (struct grp_owner *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    GROUP_SPAWN(&f->g, sleeper, struct sleeper, .name = "a");
    GROUP_SPAWN(&f->g, sleeper, struct sleeper, .name = "b");
    ev("O.body");
    CO_FINALLY
    ev("O.join");
    AWAIT(group_join(&f->g, CO_ERROR));
    ev("O.joined");
    CO_END;
}

struct outer_cancel { co_t co; task_t *o; int state, err; };
static int outer_cancel(co_t *co)
{
    struct outer_cancel *f = (struct outer_cancel *)co;
    CO_BEGIN(co);
    f->o = TASK_SPAWN(grp_owner, struct grp_owner);
    AWAIT(task_yield());
    AWAIT(task_yield());
    ev("cancel");
    task_cancel(f->o);
    f->state = f->o->state; /* still waiting for its children */
    AWAIT_CATCH(task_join(f->o), f->err);
    CO_RETURN(f->state * 1000 + f->err);
    CO_END;
}

START_TEST(group_outer_cancel_waits_for_children_and_raises)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, outer_cancel, struct outer_cancel), 0);
    ck_assert_int_eq(r, TASK_PARKED * 1000 - ECANCELED);
    ck_assert_str_eq(evlog, "O.body O.join a.park b.park cancel a.fin-125 b.fin-125");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* A child that turns its cancellation into an error of its own. */
struct grumpy { co_t co; int err; };
static int grumpy(co_t *co)
{
    struct grumpy *f = (struct grumpy *)co;
    CO_BEGIN(co);
    AWAIT_CATCH(gate_pass(&G), f->err);
    ev("grumpy%d", f->err);
    CO_RAISE(-EPIPE);
    CO_END;
}

struct grp_two { co_t co; group_t g; };
static int grp_two(co_t *co)
{
    struct grp_two *f = (struct grp_two *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    GROUP_SPAWN(&f->g, stepper, struct stepper, .name = "a", .turns = 1, .err = -EIO);
    GROUP_SPAWN(&f->g, grumpy, struct grumpy);
    CO_FINALLY
    AWAIT(group_join(&f->g, CO_ERROR));
    CO_END;
}

START_TEST(group_second_failure_is_logged)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, grp_two, struct grp_two), -EIO);
    ck_assert_str_eq(evlog, "a0 a.end a.fin-5 grumpy-125");
    ck_assert_str_eq(log, "async: task 'grumpy#3' failed with error -32 (Broken pipe) "
                          "and nobody retrieved it\n");
    free(log);
}
END_TEST

struct grp_after { co_t co; group_t g; intptr_t res[2]; int e1, e2, e3; task_t *late; };
static int grp_after(co_t *co)
{
    struct grp_after *f = (struct grp_after *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    GROUP_SPAWN(&f->g, ret_fn, struct ret, .v = 1);
    AWAIT(group_join(&f->g, 0));
    errno = 0;
    f->late = GROUP_SPAWN(&f->g, ret_fn, struct ret, .v = 2);
    f->e1 = errno;
    AWAIT_CATCH(group_join(&f->g, 0), f->e2); /* joined already */
    CO_RETURN(f->late == NULL ? f->e1 * 1000 + f->e2 : -1);
    CO_END;
}

START_TEST(group_spawn_after_join_is_null)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, grp_after, struct grp_after), 0);
    ck_assert_int_eq(r, EINVAL * 1000 - EINVAL);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct grp_other { co_t co; group_t *g; int err; };
static int grp_other(co_t *co)
{
    struct grp_other *f = (struct grp_other *)co;
    CO_BEGIN(co);
    AWAIT_CATCH(group_join(f->g, 0), f->err); /* not the owner */
    CO_RETURN(f->err);
    CO_END;
}

struct grp_results { co_t co; group_t g; intptr_t res[3]; task_t *other; int oerr; };
static int grp_results(co_t *co)
{
    struct grp_results *f = (struct grp_results *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    group_results(&f->g, f->res, 3);
    GROUP_SPAWN(&f->g, ret_fn, struct ret, .v = 10, .yields = 3);
    GROUP_SPAWN(&f->g, ret_fn, struct ret, .v = 20, .yields = 2);
    GROUP_SPAWN(&f->g, ret_fn, struct ret, .v = 30, .yields = 1);
    f->other = TASK_SPAWN(grp_other, struct grp_other, .g = &f->g);
    AWAIT(task_join(f->other));
    f->oerr = (int)CO_VALUE;
    CO_FINALLY
    AWAIT(group_join(&f->g, CO_ERROR));
    ev("%ld %ld %ld %d", (long)f->res[0], (long)f->res[1], (long)f->res[2], f->oerr);
    CO_END;
}

START_TEST(group_results_in_spawn_order)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, grp_results, struct grp_results), 0);
    ck_assert_str_eq(evlog, "10 20 30 -22"); /* they ended in the order 30, 20, 10 */
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct grp_cancel { co_t co; group_t g; };
static int grp_cancel(co_t *co)
{
    struct grp_cancel *f = (struct grp_cancel *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    GROUP_SPAWN(&f->g, sleeper, struct sleeper, .name = "a");
    AWAIT(task_yield());
    group_cancel(&f->g);
    /* a child started in a cancelled group is cancelled before it runs */
    GROUP_SPAWN(&f->g, stepper, struct stepper, .name = "late", .turns = 1);
    CO_FINALLY
    AWAIT(group_join(&f->g, CO_ERROR));
    ev("joined");
    CO_END;
}

START_TEST(group_cancel_is_not_a_failure)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, grp_cancel, struct grp_cancel), 0);
    ck_assert_str_eq(evlog, "a.park a.fin-125 joined");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct forgetful { co_t co; group_t g; };
static int forgetful(co_t *co)
{
    struct forgetful *f = (struct forgetful *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    GROUP_SPAWN(&f->g, stepper, struct stepper, .name = "k", .turns = 3);
    CO_RETURN(4); /* no group_join: a bug, but not a use-after-free */
    CO_END;
}

struct forget_main { co_t co; };
static int forget_main(co_t *co)
{
    CO_BEGIN(co);
    AWAIT(task_join(TASK_SPAWN(forgetful, struct forgetful)));
    ev("joined%ld", (long)CO_VALUE);
    CO_END;
}

START_TEST(group_owner_without_join_is_reported)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, forget_main, struct forget_main), 0);
    /* the child outlives its owner (and is not cut short) */
    ck_assert_str_eq(evlog, "k0 joined4 k1 k2 k.end");
    ck_assert_str_eq(log, "async: task 'forgetful#2' finished without joining its "
                          "task group(s): call group_join in its CO_FINALLY; 1 running "
                          "child(ren) outlive it\n");
    free(log);
}
END_TEST

struct ret_owner { co_t co; group_t g; };
static int ret_owner(co_t *co)
{
    struct ret_owner *f = (struct ret_owner *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    GROUP_SPAWN(&f->g, ret_fn, struct ret, .v = 1, .yields = 1);
    CO_RETURN(42);
    CO_FINALLY
    AWAIT(group_join(&f->g, CO_ERROR)); /* its 0 must not replace the 42 */
    CO_END;
}

START_TEST(group_owner_return_value_survives_join)
{
    intptr_t r = 0;
    ck_assert_int_eq(LOOP_RUN(&r, ret_owner, struct ret_owner), 0);
    ck_assert_int_eq(r, 42); /* as `return 42` survives `finally: await ...` */
}
END_TEST

/* ===== gather =========================================================== */

struct gather_ok { co_t co; group_t g; task_t *t[3]; intptr_t res[3]; };
static int gather_ok(co_t *co)
{
    struct gather_ok *f = (struct gather_ok *)co;
    CO_BEGIN(co);
    f->t[0] = TASK_SPAWN(ret_fn, struct ret, .v = 1, .yields = 3);
    f->t[1] = TASK_SPAWN(ret_fn, struct ret, .v = 2, .yields = 2);
    f->t[2] = TASK_SPAWN(ret_fn, struct ret, .v = 3, .yields = 1);
    AWAIT(group_gather(&f->g, f->t, 3, f->res));
    ev("v=%ld [%ld %ld %ld]", (long)CO_VALUE, (long)f->res[0], (long)f->res[1],
       (long)f->res[2]);
    CO_END;
}

START_TEST(gather_results_in_order)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, gather_ok, struct gather_ok), 0);
    ck_assert_str_eq(evlog, "v=0 [1 2 3]");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct gather_bad { co_t co; group_t g; task_t *t[3]; intptr_t res[3]; int err; };
static int gather_bad(co_t *co)
{
    struct gather_bad *f = (struct gather_bad *)co;
    CO_BEGIN(co);
    f->res[0] = f->res[1] = f->res[2] = -1;
    f->t[0] = TASK_SPAWN(stepper, struct stepper, .name = "a", .turns = 5, .value = 1);
    f->t[1] = TASK_SPAWN(stepper, struct stepper, .name = "b", .turns = 1, .err = -EIO);
    f->t[2] = TASK_SPAWN(stepper, struct stepper, .name = "c", .turns = 5, .value = 3);
    AWAIT_CATCH(group_gather(&f->g, f->t, 3, f->res), f->err);
    ev("err%d [%ld %ld %ld]", f->err, (long)f->res[0], (long)f->res[1], (long)f->res[2]);
    CO_END;
}

START_TEST(gather_first_error_cancels_the_rest)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, gather_bad, struct gather_bad), 0);
    ck_assert_str_eq(evlog, "a0 b0 c0 a1 b.end b.fin-5 c.fin-125 a.fin-125 err-5 [-1 -1 -1]");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct gather_busy { co_t co; group_t g, g2; task_t *t, *j, *kid; intptr_t res[1];
                     int e1, e2, e3; };
static int gather_busy(co_t *co)
{
    struct gather_busy *f = (struct gather_busy *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(ret_fn, struct ret, .v = 1, .yields = 2);
    f->j = TASK_SPAWN(joiner, struct joiner, .target = f->t);
    AWAIT(task_yield()); /* j is joining t now */
    AWAIT_CATCH(group_gather(&f->g, &f->t, 1, f->res), f->e1);
    group_init(&f->g2);
    f->kid = GROUP_SPAWN(&f->g2, ret_fn, struct ret, .v = 2);
    AWAIT_CATCH(group_gather(&f->g, &f->kid, 1, f->res), f->e2);
    f->t = NULL;
    AWAIT_CATCH(group_gather(&f->g, &f->t, 1, f->res), f->e3);
    AWAIT(task_join(f->j));
    CO_FINALLY
    AWAIT(group_join(&f->g2, CO_ERROR));
    ev("%d %d %d", f->e1, f->e2, f->e3);
    CO_END;
}

START_TEST(gather_refuses_joined_or_grouped_task)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, gather_busy, struct gather_busy), 0);
    ck_assert_str_eq(evlog, "-16 -16 -22");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct gather_done { co_t co; group_t g; task_t *t[2]; intptr_t res[2]; int err; };
static int gather_done(co_t *co)
{
    struct gather_done *f = (struct gather_done *)co;
    CO_BEGIN(co);
    f->t[0] = TASK_SPAWN(ret_fn, struct ret, .v = 5);
    f->t[1] = TASK_SPAWN(ret_fn, struct ret, .v = 6);
    AWAIT(task_yield()); /* both end before the gather */
    AWAIT(group_gather(&f->g, f->t, 2, f->res));
    ev("[%ld %ld]", (long)f->res[0], (long)f->res[1]);
    /* an error that happened before the gather still cancels the rest */
    f->t[0] = TASK_SPAWN(ret_fn, struct ret, .err = -EIO);
    f->t[1] = TASK_SPAWN(stepper, struct stepper, .name = "s", .turns = 3);
    AWAIT(task_yield());
    AWAIT_CATCH(group_gather(&f->g, f->t, 2, f->res), f->err);
    ev("err%d", f->err);
    CO_END;
}

START_TEST(gather_of_finished_tasks)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, gather_done, struct gather_done), 0);
    ck_assert_str_eq(evlog, "[5 6] s0 s.fin-125 err-5");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== deadlock and reports ============================================ */

struct dead { co_t co; };
static int dead(co_t *co)
{
    CO_BEGIN(co);
    AWAIT(task_join(TASK_SPAWN(sleeper, struct sleeper, .name = "s")));
    CO_FINALLY
    ev("main.fin%d", CO_ERROR);
    CO_END;
}

START_TEST(deadlock_is_reported_and_cleaned_up)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, dead, struct dead), -EDEADLK);
    ck_assert_str_eq(evlog, "s.park main.fin-125 s.fin-125"); /* cleanup ran */
    ck_assert_ptr_nonnull(strstr(log, "async: deadlock: 2 task(s) parked with nothing "
                                      "left to wake them:\n2 task(s), 0 ready:\n"));
    ck_assert_ptr_nonnull(strstr(log, "  task 'main#1' parked on join task 'sleeper#2'\n"));
    ck_assert_ptr_nonnull(strstr(log, "  task 'sleeper#2' parked on gate with 1 waiter(s)\n"));
    ck_assert_ptr_null(strstr(log, "nobody retrieved")); /* cancelled is not failed */
    free(log);
}
END_TEST

struct mutual { co_t co; task_t **other; };
static int mutual(co_t *co)
{
    struct mutual *f = (struct mutual *)co;
    CO_BEGIN(co);
    AWAIT(task_join(*f->other));
    CO_FINALLY
    ev("fin%d", CO_ERROR);
    CO_END;
}

struct mutual_main { co_t co; task_t *a, *b; };
static int mutual_main(co_t *co)
{
    struct mutual_main *f = (struct mutual_main *)co;
    CO_BEGIN(co);
    f->a = TASK_SPAWN(mutual, struct mutual, .other = &f->b);
    f->b = TASK_SPAWN(mutual, struct mutual, .other = &f->a);
    task_detach(f->a);
    task_detach(f->b);
    AWAIT(task_yield()); /* they park joining each other; we end */
    CO_RETURN(1);
    CO_END;
}

START_TEST(deadlock_two_tasks_joining_each_other)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, mutual_main, struct mutual_main), -EDEADLK);
    ck_assert_str_eq(evlog, "fin-125 fin-125");
    ck_assert_ptr_nonnull(strstr(log, "  task 'mutual#2' parked on join task 'mutual#3'\n"));
    ck_assert_ptr_nonnull(strstr(log, "  task 'mutual#3' parked on join task 'mutual#2'\n"));
    free(log);
}
END_TEST

struct unretrieved { co_t co; };
static int unretrieved(co_t *co)
{
    CO_BEGIN(co);
    TASK_SPAWN(ret_fn, struct ret, .err = -EIO);         /* never joined */
    task_cancel(TASK_SPAWN(ret_fn, struct ret, .v = 2)); /* cancelled: no error */
    AWAIT(task_yield());
    CO_RETURN(0);
    CO_END;
}

START_TEST(unretrieved_error_is_reported)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, unretrieved, struct unretrieved), 0);
    ck_assert_str_eq(log, "async: task 'ret_fn#2' failed with error -5 (Input/output "
                          "error) and nobody retrieved it\n");
    free(log);
}
END_TEST

struct detached { co_t co; };
static int detached(co_t *co)
{
    CO_BEGIN(co);
    task_detach(TASK_SPAWN(stepper, struct stepper, .name = "x", .turns = 1, .err = -ENOENT));
    task_detach(TASK_SPAWN(stepper, struct stepper, .name = "y", .turns = 1));
    AWAIT(task_yield());
    AWAIT(task_yield());
    /* x has ended: its report is on the log already, before the loop ends */
    ev("main.end logged=%d", ftell(loop_current()->opts.log) > 0);
    CO_END;
}

START_TEST(detached_failing_task_is_reported)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, detached, struct detached), 0);
    ck_assert_str_eq(evlog, "x0 y0 x.end x.fin-2 y.end main.end logged=1");
    ck_assert_str_eq(log, "async: task 'stepper#2' failed with error -2 (No such file or "
                          "directory) and nobody retrieved it\n");
    free(log);
}
END_TEST

/* ===== the slow-step warning, with a fake clock ======================== */

static uint64_t fake_clock(void *ctx)
{
    uint64_t *c = ctx;
    uint64_t step = c[1];
    return c[0] += step; /* every read of the clock advances it by c[1] */
}

static int hog_line;

struct hog { co_t co; };
static int hog(co_t *co)
{
    CO_BEGIN(co);
    hog_line = __LINE__ + 1;
    AWAIT(task_yield());
    CO_END;
}

struct hog_main { co_t co; };
static int hog_main(co_t *co)
{
    CO_BEGIN(co);
    AWAIT(task_join(TASK_SPAWN(hog, struct hog)));
    CO_END;
}

START_TEST(slow_step_warning_names_task)
{
    uint64_t clk[2] = {1000, 5000000}; /* every step takes 5 ms */
    struct loop_opts o = {.clock = fake_clock, .clock_ctx = clk, .slow_ns = 1000000};
    char *log;
    char want[256];
    ck_assert_int_eq(run_opts(&o, hog_main, &(struct hog_main){.co = {0}},
                              sizeof(struct hog_main), NULL, &log),
                     0);
    ck_assert_int_eq(count_of(log, "async: slow step: "), 4); /* 2 steps each */
    snprintf(want, sizeof want,
             "async: slow step: task 'hog#2' ran 5.000 ms without awaiting (limit "
             "1.000 ms), from start of hog to hog (%s:%d)\n",
             __FILE__, hog_line);
    ck_assert_ptr_nonnull(strstr(log, want));
    snprintf(want, sizeof want, "task 'hog#2' ran 5.000 ms without awaiting (limit "
             "1.000 ms), from hog (%s:%d) to end of hog\n", __FILE__, hog_line);
    ck_assert_ptr_nonnull(strstr(log, want));
    free(log);
}
END_TEST

START_TEST(no_slow_step_warning_below_threshold)
{
    uint64_t clk[2] = {0, 2000000}; /* 2 ms per step: not longer than 2 ms */
    struct loop_opts o = {.clock = fake_clock, .clock_ctx = clk, .slow_ns = 2000000};
    char *log;
    ck_assert_int_eq(run_opts(&o, hog_main, &(struct hog_main){.co = {0}},
                              sizeof(struct hog_main), NULL, &log),
                     0);
    ck_assert_str_eq(log, "");
    free(log);
    /* and with no limit at all, a slow clock is never looked at */
    clk[1] = 1000000000;
    o.slow_ns = 0;
    ck_assert_int_eq(run_opts(&o, hog_main, &(struct hog_main){.co = {0}},
                              sizeof(struct hog_main), NULL, &log),
                     0);
    ck_assert_str_eq(log, "");
    ck_assert_uint_eq(clk[0], 2000000 * 8); /* only the first run's 8 reads */
    free(log);
}
END_TEST

START_TEST(slow_step_limit_from_environment)
{
    uint64_t clk[2] = {0, 5000000};
    struct loop_opts o = {.clock = fake_clock, .clock_ctx = clk};
    char *log;
    setenv("ASYNC_SLOW_MS", "3", 1);
    ck_assert_int_eq(run_opts(&o, hog_main, &(struct hog_main){.co = {0}},
                              sizeof(struct hog_main), NULL, &log),
                     0);
    unsetenv("ASYNC_SLOW_MS");
    ck_assert_int_eq(count_of(log, "(limit 3.000 ms)"), 4);
    free(log);
    setenv("ASYNC_DEBUG", "1", 1); /* asyncio's default: 100 ms */
    clk[1] = 150000000;
    ck_assert_int_eq(run_opts(&o, hog_main, &(struct hog_main){.co = {0}},
                              sizeof(struct hog_main), NULL, &log),
                     0);
    unsetenv("ASYNC_DEBUG");
    ck_assert_int_eq(count_of(log, "ran 150.000 ms without awaiting (limit 100.000 ms)"), 4);
    free(log);
}
END_TEST

/* ===== task_dump ======================================================= */

static int dump_outer_line, dump_inner_line;

struct dump_inner { co_t co; task_t *target; };
static int dump_inner(co_t *co)
{
    struct dump_inner *f = (struct dump_inner *)co;
    CO_BEGIN(co);
    dump_inner_line = __LINE__ + 1;
    AWAIT(task_join(f->target));
    CO_RETURN(CO_VALUE);
    CO_END;
}

struct dumpee { co_t co; struct dump_inner sub; };
static int dumpee(co_t *co)
{
    struct dumpee *f = (struct dumpee *)co;
    CO_BEGIN(co);
    f->sub.target = TASK_SPAWN(sleeper, struct sleeper, .name = "s");
    dump_outer_line = __LINE__ + 1;
    AWAIT_CO(&f->sub.co, dump_inner);
    CO_RETURN(CO_VALUE);
    CO_END;
}

static char *dump_text;

struct dump_main { co_t co; task_t *d, *busy, *done, *failed; int err; };
static int dump_main(co_t *co)
{
    struct dump_main *f = (struct dump_main *)co;
    struct capture c;
    CO_BEGIN(co);
    f->d = TASK_SPAWN(dumpee, struct dumpee);
    f->done = TASK_SPAWN(ret_fn, struct ret, .v = 5);
    f->failed = TASK_SPAWN(ret_fn, struct ret, .err = -EIO);
    f->busy = TASK_SPAWN(ret_fn, struct ret, .yields = 3);
    AWAIT(task_yield());
    AWAIT(task_yield());
    task_dump(cap_open(&c));
    dump_text = cap_close(&c);
    gate_open_one(&G, 8, 0);
    AWAIT(task_join(f->d));
    AWAIT(task_join(f->busy));
    AWAIT(task_join(f->done));
    AWAIT_CATCH(task_join(f->failed), f->err);
    CO_END;
}

START_TEST(task_dump_shows_state_wait_and_await_chain)
{
    char *log;
    char want[512];
    dump_text = NULL;
    ck_assert_int_eq(RUN(NULL, &log, dump_main, struct dump_main), 0);
    ck_assert_str_eq(log, "");
    free(log);
    ck_assert_ptr_nonnull(dump_text);
    ck_assert_ptr_nonnull(strstr(dump_text, "4 task(s), 1 ready:\n"));
    ck_assert_ptr_nonnull(strstr(dump_text, "  task 'main#1' running\n"));
    snprintf(want, sizeof want,
             "  task 'dumpee#2' parked on join task 'sleeper#6'\n"
             "      at dumpee (%s:%d)\n"
             "      at dump_inner (%s:%d)\n",
             __FILE__, dump_outer_line, __FILE__, dump_inner_line);
    ck_assert_ptr_nonnull(strstr(dump_text, want));
    ck_assert_ptr_nonnull(strstr(dump_text, "  task 'sleeper#6' parked on gate with 1 waiter(s)\n"
                                            "      at sleeper ("));
    ck_assert_ptr_nonnull(strstr(dump_text, "  task 'ret_fn#3' done with value 5\n"));
    ck_assert_ptr_nonnull(strstr(dump_text, "  task 'ret_fn#4' done with error -5 "
                                            "(Input/output error)\n"));
    ck_assert_ptr_nonnull(strstr(dump_text, "  task 'ret_fn#5' ready\n      at ret_fn ("));
    free(dump_text);
}
END_TEST

/* ===== traces =========================================================== */

/* A small JSON checker: enough to tell a well-formed trace from a broken one
 * (brackets, commas, strings with escapes, numbers, literals). */
static int json_value(const char **p, int depth);

static void json_ws(const char **p)
{
    while (**p == ' ' || **p == '\n' || **p == '\t' || **p == '\r')
        (*p)++;
}

static int json_string(const char **p)
{
    if (**p != '"')
        return 0;
    for ((*p)++; **p != '"'; (*p)++) {
        if ((unsigned char)**p < 0x20)
            return 0; /* includes the end of the text */
        if (**p == '\\') {
            (*p)++;
            if (**p == 'u') {
                for (int i = 0; i < 4; i++) {
                    (*p)++;
                    if (!strchr("0123456789abcdefABCDEF", **p) || !**p)
                        return 0;
                }
            } else if (!**p || !strchr("\"\\/bfnrt", **p)) {
                return 0;
            }
        }
    }
    (*p)++;
    return 1;
}

static int json_digits(const char **p)
{
    const char *s = *p;
    while (**p >= '0' && **p <= '9')
        (*p)++;
    return *p > s;
}

static int json_number(const char **p)
{
    if (**p == '-')
        (*p)++;
    if (!json_digits(p))
        return 0;
    if (**p == '.') {
        (*p)++;
        if (!json_digits(p))
            return 0;
    }
    if (**p == 'e' || **p == 'E') {
        (*p)++;
        if (**p == '+' || **p == '-')
            (*p)++;
        if (!json_digits(p))
            return 0;
    }
    return 1;
}

static int json_items(const char **p, int depth, char close, int keyed)
{
    (*p)++;
    json_ws(p);
    if (**p == close) {
        (*p)++;
        return 1;
    }
    for (;;) {
        if (keyed) {
            if (!json_string(p))
                return 0;
            json_ws(p);
            if (**p != ':')
                return 0;
            (*p)++;
        }
        if (!json_value(p, depth + 1))
            return 0;
        json_ws(p);
        if (**p == close) {
            (*p)++;
            return 1;
        }
        if (**p != ',')
            return 0;
        (*p)++;
        json_ws(p);
    }
}

static int json_value(const char **p, int depth)
{
    if (depth > 32)
        return 0;
    json_ws(p);
    if (**p == '{')
        return json_items(p, depth, '}', 1);
    if (**p == '[')
        return json_items(p, depth, ']', 0);
    if (**p == '"')
        return json_string(p);
    static const char *const words[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++)
        if (strncmp(*p, words[i], strlen(words[i])) == 0) {
            *p += strlen(words[i]);
            return 1;
        }
    return json_number(p);
}

static int json_valid(const char *s)
{
    if (!json_value(&s, 0))
        return 0;
    json_ws(&s);
    return *s == '\0';
}

START_TEST(json_checker_can_fail)
{
    ck_assert(json_valid("{\"a\":[1,-2.5e3,\"x\\\"y\\u00e9\",true,null],\"b\":{}}"));
    ck_assert(!json_valid("{\"a\":[1,2}"));
    ck_assert(!json_valid("{\"a\":1,}"));
    ck_assert(!json_valid("[1 2]"));
    ck_assert(!json_valid("{\"a\":\"unterminated}"));
    ck_assert(!json_valid("[1],"));
}
END_TEST

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    struct capture c;
    cap_open(&c);
    int ch;
    while ((ch = getc(f)) != EOF)
        fputc(ch, c.f);
    fclose(f);
    return cap_close(&c);
}

static uint64_t trace_steps;

struct traced { co_t co; task_t *a, *b; int err; };
static int traced(co_t *co)
{
    struct traced *f = (struct traced *)co;
    CO_BEGIN(co);
    /* a name JSON must escape */
    f->a = task_spawn(stepper, &(struct stepper){.name = "a", .turns = 2},
                      sizeof(struct stepper), "st\"ep");
    f->b = TASK_SPAWN(sleeper, struct sleeper, .name = "b");
    AWAIT(task_join(f->a));
    task_cancel(f->b);
    AWAIT_CATCH(task_join(f->b), f->err);
    trace_steps = loop_current()->steps + 1; /* this is the last step */
    CO_END;
}

/* Read the trace and remove it (first, so a failed check leaves no file). */
static void check_trace(const char *path)
{
    char *json = read_file(path);
    unlink(path);
    ck_assert_ptr_nonnull(json);
    ck_assert_msg(json_valid(json), "not valid JSON:\n%s", json);
    ck_assert_int_eq(count_of(json, "\"name\":\"thread_name\""), 3); /* one per task */
    ck_assert_ptr_nonnull(strstr(json, "\"args\":{\"name\":\"main#1\"}"));
    ck_assert_ptr_nonnull(strstr(json, "\"args\":{\"name\":\"st\\\"ep#2\"}"));
    ck_assert_ptr_nonnull(strstr(json, "\"args\":{\"name\":\"sleeper#3\"}"));
    ck_assert_int_eq(count_of(json, "\"ph\":\"X\""), (int)trace_steps);
    ck_assert_int_eq(count_of(json, "\"name\":\"spawn\""), 3);
    ck_assert_int_eq(count_of(json, "\"name\":\"cancel\""), 1);
    free(json);
}

START_TEST(trace_path_writes_valid_json)
{
    char path[] = "/tmp/stage02_traceXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    struct loop_opts o = {.trace_path = path};
    char *log;
    trace_steps = 0;
    int rc = run_opts(&o, traced, &(struct traced){.co = {0}}, sizeof(struct traced), NULL, &log);
    check_trace(path);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(log, "");
    free(log);
    ck_assert_uint_eq(trace_steps, 8);
}
END_TEST

START_TEST(trace_from_environment)
{
    char path[] = "/tmp/stage02_traceXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    setenv("ASYNC_TRACE", path, 1);
    char *log;
    trace_steps = 0;
    int rc = RUN(NULL, &log, traced, struct traced);
    unsetenv("ASYNC_TRACE");
    check_trace(path);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

START_TEST(trace_to_bad_path_is_reported_and_harmless)
{
    struct loop_opts o = {.trace_path = "/nonexistent-dir/trace.json"};
    char *log;
    intptr_t r = 0;
    ck_assert_int_eq(run_opts(&o, ret_fn, &(struct ret){.v = 3, .yields = 1},
                              sizeof(struct ret), &r, &log),
                     0);
    ck_assert_int_eq(r, 3);
    ck_assert_str_eq(log, "async: cannot write trace to /nonexistent-dir/trace.json: "
                          "No such file or directory\n");
    free(log);
}
END_TEST

/* ===== many tasks, and outside a loop ================================== */

enum { MANY = 10000 };

struct many { co_t co; task_t **t; int i; intptr_t sum; };
static int many(co_t *co)
{
    struct many *f = (struct many *)co;
    CO_BEGIN(co);
    f->t = malloc(MANY * sizeof *f->t);
    if (!f->t)
        CO_RAISE(-ENOMEM);
    for (f->i = 0; f->i < MANY; f->i++)
        f->t[f->i] = TASK_SPAWN(ret_fn, struct ret, .v = f->i, .yields = f->i % 3);
    for (f->i = 0; f->i < MANY; f->i++) {
        AWAIT(task_join(f->t[f->i]));
        f->sum += CO_VALUE;
    }
    CO_RETURN(f->sum);
    CO_FINALLY
    free(f->t);
    CO_END;
}

START_TEST(ten_thousand_tasks)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, many, struct many), 0);
    ck_assert_int_eq(r, (intptr_t)MANY * (MANY - 1) / 2);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct outside { co_t co; };
static int outside(co_t *co)
{
    CO_BEGIN(co);
    AWAIT(task_yield());
    CO_FINALLY
    ev("fin%d", CO_ERROR);
    CO_END;
}

START_TEST(task_operations_outside_a_loop_fail_cleanly)
{
    struct ret fr = {.v = 1};
    errno = 0;
    ck_assert_ptr_null(task_spawn(ret_fn, &fr, sizeof fr, "x"));
    ck_assert_int_eq(errno, EPERM);
    ck_assert_ptr_null(task_current());
    ck_assert_ptr_null(loop_current());
    ck_assert_int_eq(task_cancel(NULL), -EINVAL);
    ck_assert_int_eq(task_wake(NULL, 0, 0), -EINVAL);
    /* an awaited operation raises TASK_ENOLOOP in the coroutine */
    struct outside o;
    co_init(&o.co, outside);
    ck_assert_int_eq(co_next(&o.co, NULL), TASK_ENOLOOP);
    ck_assert_str_eq(evlog, "fin-1102");
    struct capture c;
    task_dump(cap_open(&c));
    char *text = cap_close(&c);
    ck_assert_str_eq(text, "  (no loop running)\n");
    free(text);
}
END_TEST

struct misuse { co_t co; task_t *t; int wake, park; };
static int misuse(co_t *co)
{
    struct misuse *f = (struct misuse *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(ret_fn, struct ret, .v = 1);
    f->wake = task_wake(f->t, 5, 0); /* ready, not parked */
    AWAIT_CATCH(task_park(NULL, NULL), f->park);
    AWAIT(task_join(f->t));
    CO_RETURN(f->wake * 1000 + f->park * 10 + CO_VALUE);
    CO_END;
}

START_TEST(wake_of_unparked_task_and_park_without_wait)
{
    intptr_t r = 0;
    ck_assert_int_eq(LOOP_RUN(&r, misuse, struct misuse), 0);
    ck_assert_int_eq(r, -EINVAL * 1000 - EINVAL * 10 + 1);
}
END_TEST

START_TEST(names_of_states_and_errors)
{
    ck_assert_str_eq(task_state_name(TASK_READY), "ready");
    ck_assert_str_eq(task_state_name(TASK_RUNNING), "running");
    ck_assert_str_eq(task_state_name(TASK_PARKED), "parked");
    ck_assert_str_eq(task_state_name(TASK_DONE), "done");
    ck_assert_str_eq(task_state_name(TASK_CANCELLED), "cancelled");
    ck_assert_str_eq(task_state_name(99), "invalid");
    ck_assert_str_eq(task_strerror(TASK_EBADYIELD), "task yielded without awaiting anything");
    ck_assert_str_eq(task_strerror(TASK_ENOLOOP), "task operation outside a running task");
    ck_assert_str_eq(task_strerror(-EIO), strerror(EIO));
}
END_TEST

/* ===== regressions: once core bugs ======================================= */
/* Each asserts what the documented semantics promise. */

struct bug_join_main_j { co_t co; task_t *m; };
static int bug_join_main_j(co_t *co)
{
    struct bug_join_main_j *f = (struct bug_join_main_j *)co;
    CO_BEGIN(co);
    AWAIT(task_join(f->m));
    CO_END;
}

struct bug_join_main { co_t co; };
static int bug_join_main(co_t *co)
{
    CO_BEGIN(co);
    task_detach(TASK_SPAWN(bug_join_main_j, struct bug_join_main_j, .m = task_current()));
    AWAIT(task_yield());
    CO_RETURN(7);
    CO_END;
}

START_TEST(bug_main_task_joined_by_another)
{
    /* loop_run once read main's task after its joiner had freed it (a
     * heap-use-after-free under SAN=1); it now keeps main's result itself. */
    intptr_t r = 0;
    ck_assert_int_eq(LOOP_RUN(&r, bug_join_main, struct bug_join_main), 0);
    ck_assert_int_eq(r, 7);
}
END_TEST

struct bug_lost { co_t co; group_t g; };
static int bug_lost(co_t *co)
{
    struct bug_lost *f = (struct bug_lost *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    GROUP_SPAWN(&f->g, grumpy, struct grumpy);
    AWAIT(task_yield());
    CO_RAISE(-EINVAL);
    CO_FINALLY
    AWAIT(group_join(&f->g, CO_ERROR));
    CO_END;
}

START_TEST(bug_child_error_lost_when_body_fails)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, bug_lost, struct bug_lost), -EINVAL);
    ck_assert_str_eq(evlog, "grumpy-125");
    /* grumpy's -EPIPE cannot reach the owner, whose own error wins; it once
     * vanished.  It must at least be on the log. */
    ck_assert_ptr_nonnull(strstr(log, "grumpy#2"));
    ck_assert_ptr_nonnull(strstr(log, "failed with an error of its own"));
    free(log);
}
END_TEST

struct bug_unjoined { co_t co; };
static int bug_unjoined(co_t *co)
{
    CO_BEGIN(co);
    TASK_SPAWN(ret_fn, struct ret, .v = 1); /* succeeds; nobody joins it */
    AWAIT(task_yield());
    CO_END;
}

START_TEST(bug_unjoined_success_reported_as_failure)
{
    /* The end-of-run report once named every unretrieved task, error or not:
     * "task 'ret_fn#2' failed with error 0 (returned) ..." */
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, bug_unjoined, struct bug_unjoined), 0);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ---- from an outside review (the fixes of commit 29368d8) -------------- */

/* A task that owns a group it never joins, and is itself a child of another
 * group: spawned into it (how = 0) or gathered by it (how = 1). */
struct uaf_mid { co_t co; group_t g; };
static int uaf_mid(co_t *co)
{
    struct uaf_mid *f = (struct uaf_mid *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    GROUP_SPAWN(&f->g, stepper, struct stepper, .name = "k", .turns = 3);
    ev("mid.end");
    CO_RETURN(4); /* no group_join: k outlives it */
    CO_END;
}

struct uaf_top { co_t co; int how; group_t g; task_t *t[1]; intptr_t res[1]; };
static int uaf_top(co_t *co)
{
    struct uaf_top *f = (struct uaf_top *)co;
    CO_BEGIN(co);
    if (f->how == 0) {
        group_init(&f->g);
        GROUP_SPAWN(&f->g, uaf_mid, struct uaf_mid);
    } else {
        f->t[0] = TASK_SPAWN(uaf_mid, struct uaf_mid);
        AWAIT(group_gather(&f->g, f->t, 1, f->res));
        ev("top.got%ld", (long)f->res[0]);
    }
    CO_FINALLY
    if (f->how == 0) {
        ev("top.join");
        AWAIT(group_join(&f->g, CO_ERROR));
        ev("top.joined");
    }
    CO_END;
}

struct uaf_main { co_t co; int how; };
static int uaf_main(co_t *co)
{
    struct uaf_main *f = (struct uaf_main *)co;
    CO_BEGIN(co);
    AWAIT(task_join(TASK_SPAWN(uaf_top, struct uaf_top, .how = f->how)));
    ev("main.joined");
    CO_END;
}

START_TEST(bug_unjoined_group_owner_inside_a_group)
{
    /* The middle task's memory is kept for k (its group lives in that frame)
     * while the top task finishes and is freed.  Freeing the middle task
     * later once unlinked it from the top task's freed group: a
     * heap-use-after-free under SAN=1 and valgrind. */
    static const char *const want_ev[] = {
        "top.join mid.end k0 top.joined k1 main.joined k2 k.end",
        "mid.end k0 top.got4 k1 main.joined k2 k.end",
    };
    for (int how = 0; how < 2; how++) {
        char *log;
        evlog[0] = '\0';
        ck_assert_int_eq(RUN(NULL, &log, uaf_main, struct uaf_main, .how = how), 0);
        ck_assert_str_eq(evlog, want_ev[how]);
        ck_assert_str_eq(log, "async: task 'uaf_mid#3' finished without joining its task "
                              "group(s): call group_join in its CO_FINALLY; 1 running "
                              "child(ren) outlive it\n");
        free(log);
    }
}
END_TEST

struct gather_dup { co_t co; int done_first; group_t g; task_t *t[2]; intptr_t res[2];
                    int err; };
static int gather_dup(co_t *co)
{
    struct gather_dup *f = (struct gather_dup *)co;
    CO_BEGIN(co);
    f->res[0] = f->res[1] = -1;
    f->t[0] = f->t[1] = TASK_SPAWN(ret_fn, struct ret, .v = 7, .yields = 1);
    if (f->done_first) {
        AWAIT(task_yield());
        AWAIT(task_yield()); /* it has finished */
        ev("%s", task_state_name(f->t[0]->state));
    }
    AWAIT_CATCH(group_gather(&f->g, f->t, 2, f->res), f->err);
    ev("err%d [%ld %ld]", f->err, (long)f->res[0], (long)f->res[1]);
    AWAIT(task_join(f->t[0])); /* not adopted: still ours to join */
    ev("joined%ld", (long)CO_VALUE);
    CO_END;
}

START_TEST(bug_gather_same_task_twice)
{
    /* It was adopted twice: a corrupt sibling list, a group that never
     * ended, or (finished) a task adopted again after it was freed. */
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, gather_dup, struct gather_dup), 0);
    ck_assert_str_eq(evlog, "err-22 [-1 -1] joined7");
    ck_assert_str_eq(log, "");
    free(log);
    evlog[0] = '\0';
    ck_assert_int_eq(RUN(NULL, &log, gather_dup, struct gather_dup, .done_first = 1), 0);
    ck_assert_str_eq(evlog, "done err-22 [-1 -1] joined7");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct gather_self { co_t co; group_t g; task_t *t[2]; intptr_t res[2]; int err; };
static int gather_self(co_t *co)
{
    struct gather_self *f = (struct gather_self *)co;
    CO_BEGIN(co);
    f->res[0] = f->res[1] = -1;
    f->t[0] = TASK_SPAWN(ret_fn, struct ret, .v = 3, .yields = 1);
    f->t[1] = task_current();
    AWAIT_CATCH(group_gather(&f->g, f->t, 2, f->res), f->err);
    ev("err%d [%ld %ld]", f->err, (long)f->res[0], (long)f->res[1]);
    AWAIT(task_join(f->t[0])); /* nothing was adopted */
    ev("joined%ld", (long)CO_VALUE);
    CO_END;
}

START_TEST(bug_gather_including_the_caller)
{
    /* It waited for itself, and the deadlock breaker's cancel recursed
     * through the group until the stack overflowed. */
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, gather_self, struct gather_self), 0);
    ck_assert_str_eq(evlog, "err-35 [-1 -1] joined3");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

static int gather_each_line;

struct gather_each { co_t co; task_t **other; group_t g; task_t *t[1]; intptr_t res[1]; };
static int gather_each(co_t *co)
{
    struct gather_each *f = (struct gather_each *)co;
    CO_BEGIN(co);
    AWAIT(task_yield()); /* both handles exist now */
    f->t[0] = *f->other;
    gather_each_line = __LINE__ + 1;
    AWAIT(group_gather(&f->g, f->t, 1, f->res));
    CO_FINALLY
    ev("fin%d", CO_ERROR);
    CO_END;
}

struct gather_each_main { co_t co; task_t *a, *b; };
static int gather_each_main(co_t *co)
{
    struct gather_each_main *f = (struct gather_each_main *)co;
    CO_BEGIN(co);
    f->a = TASK_SPAWN(gather_each, struct gather_each, .other = &f->b);
    f->b = TASK_SPAWN(gather_each, struct gather_each, .other = &f->a);
    CO_END;
}

START_TEST(bug_gather_each_other_is_a_deadlock)
{
    /* Cancelling one cancelled the other's group, which cancelled the first
     * again, and so on until the stack overflowed.  Now the cancel reaches
     * each once; neither join can end (a joining owner waits for its
     * children), so the loop gives up: no cleanup can run. */
    char *log;
    char want[1024];
    intptr_t r = -1;
    ck_assert_int_eq(RUN(&r, &log, gather_each_main, struct gather_each_main), -EDEADLK);
    ck_assert_int_eq(r, -1);
    ck_assert_str_eq(evlog, "");
    snprintf(want, sizeof want,
             "async: deadlock: 2 task(s) parked with nothing left to wake them:\n"
             "2 task(s), 0 ready:\n"
             "  task 'main#1' done with value 0\n"
             "  task 'gather_each#2' parked on group group of 1 running child(ren)\n"
             "      at gather_each (%s:%d)\n"
             "  task 'gather_each#3' parked on group group of 1 running child(ren)\n"
             "      at gather_each (%s:%d)\n",
             __FILE__, gather_each_line, __FILE__, gather_each_line);
    ck_assert_str_eq(log, want);
    free(log);
}
END_TEST

/* A group in a sub-coroutine whose child fails, inside the task's own group. */
struct nest_inner { co_t co; group_t g; };
static int nest_inner(co_t *co)
{
    struct nest_inner *f = (struct nest_inner *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    GROUP_SPAWN(&f->g, stepper, struct stepper, .name = "e", .turns = 1, .err = -EIO);
    AWAIT(gate_pass(&G)); /* only e's failure ends this */
    CO_FINALLY
    ev("in.fin%d", CO_ERROR);
    AWAIT(group_join(&f->g, CO_ERROR));
    CO_END;
}

struct nest_outer { co_t co; group_t g; struct nest_inner in; };
static int nest_outer(co_t *co)
{
    struct nest_outer *f = (struct nest_outer *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    GROUP_SPAWN(&f->g, stepper, struct stepper, .name = "c", .turns = 10);
    AWAIT_CO(&f->in.co, nest_inner);
    CO_FINALLY
    ev("out.fin%d", CO_ERROR);
    AWAIT(group_join(&f->g, CO_ERROR));
    ev("out.left%d", CO_ERROR);
    CO_END;
}

START_TEST(bug_nested_group_error_is_not_a_cancel)
{
    /* The inner group's cancel of its owner looked like a cancel from
     * outside to the outer group, which turned -EIO into -ECANCELED. */
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, nest_outer, struct nest_outer), -EIO);
    ck_assert_str_eq(evlog, "c0 e0 c1 e.end e.fin-5 c2 in.fin-125 out.fin-5 c.fin-125 "
                            "out.left-5");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* Cancelled while running, then gathers. */
struct pend_gather { co_t co; group_t g; task_t *t[2]; intptr_t res[2]; int err, err2; };
static int pend_gather(co_t *co)
{
    struct pend_gather *f = (struct pend_gather *)co;
    CO_BEGIN(co);
    f->res[0] = f->res[1] = -1;
    f->t[0] = TASK_SPAWN(stepper, struct stepper, .name = "a", .turns = 3, .value = 10);
    f->t[1] = TASK_SPAWN(stepper, struct stepper, .name = "b", .turns = 3, .value = 20);
    AWAIT(task_yield());
    task_cancel(task_current()); /* pending: it is running */
    AWAIT_CATCH(group_gather(&f->g, f->t, 2, f->res), f->err);
    ev("gather%d [%ld %ld]", f->err, (long)f->res[0], (long)f->res[1]);
    AWAIT_CATCH(task_yield(), f->err2); /* caught: not delivered again */
    ev("next%d", f->err2);
    CO_RETURN(99);
    CO_END;
}

START_TEST(bug_pending_cancel_raised_by_gather)
{
    /* gather took the pending cancel (its children were cancelled) and then
     * returned 0 with no results, as if nothing had happened. */
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, pend_gather, struct pend_gather), 0);
    ck_assert_int_eq(r, 99);
    ck_assert_str_eq(evlog, "a0 b0 a.fin-125 b.fin-125 gather-125 [-1 -1] next0");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* Woken and cancelled in the same turn, then begins a group and joins it. */
struct pend_join { co_t co; group_t g; int err, err2; };
static int pend_join(co_t *co)
{
    struct pend_join *f = (struct pend_join *)co;
    CO_BEGIN(co);
    ev("w.park");
    AWAIT(gate_pass(&G));
    ev("w.woke");
    group_init(&f->g);
    GROUP_SPAWN(&f->g, stepper, struct stepper, .name = "k", .turns = 2);
    AWAIT_CATCH(group_join(&f->g, 0), f->err);
    ev("w.join%d", f->err);
    AWAIT_CATCH(task_yield(), f->err2); /* caught: not delivered again */
    ev("w.next%d", f->err2);
    CO_RETURN(99);
    CO_END;
}

struct pend_join_main { co_t co; task_t *w; int err; };
static int pend_join_main(co_t *co)
{
    struct pend_join_main *f = (struct pend_join_main *)co;
    CO_BEGIN(co);
    f->w = TASK_SPAWN(pend_join, struct pend_join);
    AWAIT(task_yield());
    gate_open_one(&G, 0, 0);
    task_cancel(f->w); /* woken: the cancel waits for its next park */
    AWAIT_CATCH(task_join(f->w), f->err);
    ev("main.got%ld err%d", (long)CO_VALUE, f->err);
    CO_END;
}

START_TEST(bug_pending_cancel_raised_by_group_join)
{
    /* The group began after the cancel, so its snapshot of the owner's
     * cancels already counted it: group_join took the cancel and raised
     * nothing.  (k is cancelled before its first turn.) */
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, pend_join_main, struct pend_join_main), 0);
    ck_assert_str_eq(evlog, "w.park w.woke w.join-125 w.next0 main.got99 err0");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* Cancels its target when it runs. */
struct canceller { co_t co; task_t **target; };
static int canceller(co_t *co)
{
    struct canceller *f = (struct canceller *)co;
    CO_BEGIN(co);
    ev("x.cancel");
    task_cancel(*f->target);
    CO_END;
}

struct gather_cut { co_t co; group_t g; task_t *t[2], *x; intptr_t res[2]; int err; };
static int gather_cut(co_t *co)
{
    struct gather_cut *f = (struct gather_cut *)co;
    CO_BEGIN(co);
    f->res[0] = f->res[1] = -1;
    f->t[0] = TASK_SPAWN(stepper, struct stepper, .name = "a", .turns = 5, .value = 10);
    f->t[1] = TASK_SPAWN(stepper, struct stepper, .name = "b", .turns = 0, .value = 20);
    f->x = TASK_SPAWN(canceller, struct canceller, .target = &f->t[0]);
    AWAIT_CATCH(group_gather(&f->g, f->t, 2, f->res), f->err);
    ev("err%d [%ld %ld]", f->err, (long)f->res[0], (long)f->res[1]);
    AWAIT(task_join(f->x));
    CO_END;
}

START_TEST(bug_gather_child_cancelled_from_outside)
{
    /* The gather succeeded with a hole in its results. */
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, gather_cut, struct gather_cut), 0);
    ck_assert_str_eq(evlog, "a0 b.end x.cancel a.fin-125 err-125 [-1 20]");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* Its cleanup joins a helper that fails. */
struct victim { co_t co; task_t *helper; int err; };
static int victim(co_t *co)
{
    struct victim *f = (struct victim *)co;
    CO_BEGIN(co);
    f->helper = TASK_SPAWN(ret_fn, struct ret, .err = -EIO, .yields = 2);
    AWAIT(gate_pass(&G));
    CO_FINALLY
    ev("v.fin%d", CO_ERROR);
    AWAIT_CATCH(task_join(f->helper), f->err);
    ev("v.join%d", f->err);
    CO_END;
}

struct cancel_twice { co_t co; task_t *v; int err; };
static int cancel_twice(co_t *co)
{
    struct cancel_twice *f = (struct cancel_twice *)co;
    CO_BEGIN(co);
    f->v = TASK_SPAWN(victim, struct victim);
    AWAIT(task_yield());
    task_cancel(f->v);
    task_cancel(f->v); /* a second supervisor, say */
    AWAIT_CATCH(task_join(f->v), f->err);
    ev("main%d", f->err);
    CO_END;
}

START_TEST(bug_two_cancels_deliver_one)
{
    /* The second cancel was kept for the next park: the cleanup's join was
     * cancelled too, and the helper's -EIO was reported as lost. */
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, cancel_twice, struct cancel_twice), 0);
    ck_assert_str_eq(evlog, "v.fin-125 v.join-5 main-125");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct group_cancel_twice { co_t co; group_t g; };
static int group_cancel_twice(co_t *co)
{
    struct group_cancel_twice *f = (struct group_cancel_twice *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    GROUP_SPAWN(&f->g, grumpy, struct grumpy);
    GROUP_SPAWN(&f->g, victim, struct victim);
    AWAIT(task_yield());
    CO_RAISE(-EINVAL);
    CO_FINALLY
    /* cancels both; grumpy's failure then cancels the group once more */
    AWAIT(group_join(&f->g, CO_ERROR));
    CO_END;
}

START_TEST(bug_group_cancels_a_child_once)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, group_cancel_twice, struct group_cancel_twice), -EINVAL);
    ck_assert_str_eq(evlog, "grumpy-125 v.fin-125 v.join-5");
    ck_assert_str_eq(log, "async: task 'grumpy#2' failed with error -32 (Broken pipe) in "
                          "a task group whose owner failed with an error of its own\n");
    free(log);
}
END_TEST

static uint32_t cw_before, cw_after;

/* Catches n cancels of its own, then is cancelled from outside in a join. */
struct cw_worker { co_t co; uint32_t start; int n, i, caught, err; group_t g; };
static int cw_worker(co_t *co)
{
    struct cw_worker *f = (struct cw_worker *)co;
    CO_BEGIN(co);
    task_current()->cancels = f->start;
    for (f->i = 0; f->i < f->n; f->i++) {
        task_cancel(task_current());
        AWAIT_CATCH(task_yield(), f->err);
        f->caught += f->err == -ECANCELED;
    }
    ev("w.caught%d", f->caught);
    group_init(&f->g);
    GROUP_SPAWN(&f->g, sleeper, struct sleeper, .name = "s");
    AWAIT_CATCH(group_join(&f->g, 0), f->err);
    ev("w.join%d", f->err);
    CO_END;
}

struct cw_main { co_t co; uint32_t start; int n; task_t *w; int err; };
static int cw_main(co_t *co)
{
    struct cw_main *f = (struct cw_main *)co;
    CO_BEGIN(co);
    f->w = TASK_SPAWN(cw_worker, struct cw_worker, .start = f->start, .n = f->n);
    AWAIT(task_yield());
    AWAIT(task_yield()); /* w waits in group_join, s on the gate */
    cw_before = f->w->cancels;
    task_cancel(f->w);
    cw_after = f->w->cancels;
    AWAIT_CATCH(task_join(f->w), f->err);
    ev("main%d", f->err);
    CO_END;
}

START_TEST(bug_outer_cancel_after_many_caught)
{
    /* The count saturated at 65535, and after that an outer cancel of a
     * joining owner was swallowed.  It counts outside cancels, wraps, and
     * is compared for a change only. */
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, cw_main, struct cw_main, .n = 300), 0);
    ck_assert_str_eq(evlog, "w.caught300 s.park s.fin-125 w.join-125 main0");
    ck_assert_uint_eq(cw_before, 300);
    ck_assert_uint_eq(cw_after, 301);
    ck_assert_str_eq(log, "");
    free(log);
    /* the last two caught cancels take it to UINT32_MAX; the outer one wraps */
    evlog[0] = '\0';
    ck_assert_int_eq(RUN(NULL, &log, cw_main, struct cw_main, .n = 2, .start = UINT32_MAX - 2),
                     0);
    ck_assert_str_eq(evlog, "w.caught2 s.park s.fin-125 w.join-125 main0");
    ck_assert_uint_eq(cw_before, UINT32_MAX);
    ck_assert_uint_eq(cw_after, 0);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct detached_main { co_t co; };
static int detached_main(co_t *co)
{
    CO_BEGIN(co);
    task_detach(task_current());
    AWAIT(task_yield());
    CO_RAISE(-EIO);
    CO_END;
}

struct empty_owner { co_t co; group_t g; };
static int empty_owner(co_t *co)
{
    struct empty_owner *f = (struct empty_owner *)co;
    CO_BEGIN(co);
    group_init(&f->g); /* never joined, never used */
    CO_RAISE(-EIO);
    CO_END;
}

struct late_joiner { co_t co; task_t *t; int err; };
static int late_joiner(co_t *co)
{
    struct late_joiner *f = (struct late_joiner *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(empty_owner, struct empty_owner);
    AWAIT(task_yield());
    AWAIT(task_yield()); /* it has finished */
    AWAIT_CATCH(task_join(f->t), f->err);
    ev("err%d", f->err);
    CO_END;
}

START_TEST(bug_retrieved_errors_not_reported_lost)
{
    /* Both errors reached someone, yet were reported as never retrieved. */
    intptr_t r = -1;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, detached_main, struct detached_main), -EIO);
    ck_assert_int_eq(r, -1);
    ck_assert_str_eq(log, "");
    free(log);
    ck_assert_int_eq(RUN(NULL, &log, late_joiner, struct late_joiner), 0);
    ck_assert_str_eq(evlog, "err-5");
    ck_assert_str_eq(log, "async: task 'empty_owner#2' finished without joining its task "
                          "group(s): call group_join in its CO_FINALLY\n");
    free(log);
}
END_TEST

struct spawn_huge { co_t co; task_t *t1, *t2; int e1, e2; };
static int spawn_huge(co_t *co)
{
    struct spawn_huge *f = (struct spawn_huge *)co;
    CO_BEGIN(co);
    errno = 0;
    f->t1 = task_spawn(ret_fn, f, SIZE_MAX, "huge");
    f->e1 = errno;
    errno = 0;
    f->t2 = task_spawn(ret_fn, f, SIZE_MAX - 8, "huge");
    f->e2 = errno;
    CO_RETURN(!f->t1 && !f->t2 ? f->e1 * 1000 + f->e2 : -1);
    CO_END;
}

START_TEST(bug_spawn_size_overflow)
{
    /* malloc's argument wrapped to a small size, then memcpy copied `size`
     * bytes into it. */
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, spawn_huge, struct spawn_huge), 0);
    ck_assert_int_eq(r, ENOMEM * 1000 + ENOMEM);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct null_group { co_t co; group_t g; intptr_t res[1]; task_t *t; int e1, e2, e3; };
static int null_group(co_t *co)
{
    struct null_group *f = (struct null_group *)co;
    CO_BEGIN(co);
    f->res[0] = -1;
    AWAIT_CATCH(group_join(NULL, 0), f->e1);
    errno = 0;
    f->t = GROUP_SPAWN(NULL, ret_fn, struct ret, .v = 1);
    f->e2 = errno;
    AWAIT_CATCH(group_gather(&f->g, NULL, 1, f->res), f->e3);
    ev("%d %s%d %d %ld", f->e1, f->t ? "task" : "null", f->e2, f->e3, (long)f->res[0]);
    CO_END;
}

START_TEST(bug_group_calls_with_null)
{
    /* Each dereferenced the NULL. */
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, null_group, struct null_group), 0);
    ck_assert_str_eq(evlog, "-22 null22 -22 -1");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

static int dl_line;

struct dl_parker { co_t co; };
static int dl_parker(co_t *co)
{
    CO_BEGIN(co);
    dl_line = __LINE__ + 1;
    AWAIT(gate_pass(&G));
    CO_FINALLY
    ev("p.fin%d", CO_ERROR);
    CO_END;
}

struct dl_main { co_t co; };
static int dl_main(co_t *co)
{
    CO_BEGIN(co);
    TASK_SPAWN(dl_parker, struct dl_parker);
    ev("main.end");
    CO_RETURN(5);
    CO_END;
}

START_TEST(bug_deadlock_leaves_result_alone)
{
    /* main succeeded, but the run deadlocked: loop_run once stored main's
     * value while returning -EDEADLK. */
    intptr_t r = -1;
    char *log;
    char want[512];
    ck_assert_int_eq(RUN(&r, &log, dl_main, struct dl_main), -EDEADLK);
    ck_assert_int_eq(r, -1);
    ck_assert_str_eq(evlog, "main.end p.fin-125");
    snprintf(want, sizeof want,
             "async: deadlock: 1 task(s) parked with nothing left to wake them:\n"
             "1 task(s), 0 ready:\n"
             "  task 'main#1' done with value 5\n"
             "  task 'dl_parker#2' parked on gate with 1 waiter(s)\n"
             "      at dl_parker (%s:%d)\n",
             __FILE__, dl_line);
    ck_assert_str_eq(log, want);
    free(log);
}
END_TEST

START_TEST(bug_slow_ms_out_of_range_is_refused)
{
    /* 18446744073710 ms (meant as "never") wrapped to 0.448 ms in the
     * conversion to ns; -5 was read as a huge number, abc as no limit at all
     * and 3ms as 3.  Each is now refused on the log, and nothing is timed. */
    static const char *const bad_values[] = {"18446744073710", "86400001", "-5", "abc", "3ms"};
    for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++) {
        uint64_t clk[2] = {0, 5000000}; /* any limit would see 5 ms steps */
        struct loop_opts o = {.clock = fake_clock, .clock_ctx = clk};
        char *log;
        char want[128];
        setenv("ASYNC_SLOW_MS", bad_values[i], 1);
        int rc = run_opts(&o, hog_main, &(struct hog_main){.co = {0}},
                          sizeof(struct hog_main), NULL, &log);
        unsetenv("ASYNC_SLOW_MS");
        ck_assert_int_eq(rc, 0);
        snprintf(want, sizeof want, "async: ignoring ASYNC_SLOW_MS=%s: want milliseconds, "
                 "1 to 86400000\n", bad_values[i]);
        ck_assert_str_eq(log, want);
        ck_assert_uint_eq(clk[0], 0); /* no limit: the clock is never read */
        free(log);
    }
}
END_TEST

struct op_twice { co_t co; size_t before, after; int err; };
static int op_twice(co_t *co)
{
    struct op_twice *f = (struct op_twice *)co;
    CO_BEGIN(co);
    ev("t0");
    f->before = loop_current()->nready;
    (void)task_yield();                /* no AWAIT: the task is queued */
    AWAIT_CATCH(task_yield(), f->err); /* so this one is refused */
    f->after = loop_current()->nready;
    ev("err%d queued%zu", f->err, f->after - f->before);
    CO_YIELD(0); /* end the step the first call began (it did park) */
    ev("t1");
    AWAIT(task_yield());
    ev("t2");
    CO_RETURN(6);
    CO_END;
}

struct op_twice_main { co_t co; task_t *tick; };
static int op_twice_main(co_t *co)
{
    struct op_twice_main *f = (struct op_twice_main *)co;
    CO_BEGIN(co);
    f->tick = TASK_SPAWN(ticker, struct ticker, .ticks = 4);
    AWAIT(task_join(TASK_SPAWN(op_twice, struct op_twice)));
    ev("got%ld", (long)CO_VALUE);
    AWAIT(task_join(f->tick));
    CO_END;
}

START_TEST(bug_operation_twice_in_one_step)
{
    /* The second call queued the task again: two entries for one task, so
     * it ran twice per turn and the queue went wrong once it finished. */
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, op_twice_main, struct op_twice_main), 0);
    ck_assert_str_eq(evlog, "| t0 err-22 queued1 | t1 | t2 | got6");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct bad_then_cancel { co_t co; int err; };
static int bad_then_cancel(co_t *co)
{
    struct bad_then_cancel *f = (struct bad_then_cancel *)co;
    CO_BEGIN(co);
    ev("b.start");
    CO_YIELD_CATCH(1, f->err); /* a bare yield: TASK_EBADYIELD comes back */
    ev("b.bad%d", f->err);
    AWAIT_CATCH(task_yield(), f->err);
    ev("b.next%d", f->err);
    CO_RETURN(7);
    CO_END;
}

struct bad_cancel_main { co_t co; task_t *b; int err; };
static int bad_cancel_main(co_t *co)
{
    struct bad_cancel_main *f = (struct bad_cancel_main *)co;
    CO_BEGIN(co);
    f->b = TASK_SPAWN(bad_then_cancel, struct bad_then_cancel);
    AWAIT(task_yield());
    ev("cancel.%s", task_state_name(f->b->state));
    task_cancel(f->b); /* before it runs again */
    AWAIT_CATCH(task_join(f->b), f->err);
    ev("got%ld err%d", (long)CO_VALUE, f->err);
    CO_END;
}

START_TEST(bug_bad_yield_survives_a_cancel)
{
    /* The cancel replaced the TASK_EBADYIELD on its way in. */
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, bad_cancel_main, struct bad_cancel_main), 0);
    ck_assert_str_eq(evlog, "b.start cancel.ready b.bad-1101 b.next-125 got7 err0");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* An operation called without AWAIT, then an awaited one in the same step:
 * the second is refused with -EINVAL, which AWAIT raises, so the task ends. */
struct op_twice_raise { co_t co; };
static int op_twice_raise(co_t *co)
{
    CO_BEGIN(co);
    ev("t0");
    (void)task_yield();  /* no AWAIT: the task is queued */
    AWAIT(task_yield()); /* refused: -EINVAL is raised */
    ev("not reached");
    CO_FINALLY
    ev("fin%d", CO_ERROR);
    CO_END;
}

struct op_twice_raise_main { co_t co; int err; };
static int op_twice_raise_main(co_t *co)
{
    struct op_twice_raise_main *f = (struct op_twice_raise_main *)co;
    CO_BEGIN(co);
    AWAIT_CATCH(task_join(TASK_SPAWN(op_twice_raise, struct op_twice_raise)), f->err);
    ev("main%d", f->err);
    CO_END;
}

START_TEST(bug_operation_twice_then_raise)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, op_twice_raise_main, struct op_twice_raise_main), 0);
    ck_assert_str_eq(evlog, "t0 fin-22 main-22");
    /* Once the finished task stayed on the ready queue (a crash, or a
     * second finish); now it is taken off, and the stray call is named. */
    ck_assert_str_eq(log, "async: task 'op_twice_raise#2' finished while still ready: "
                          "an operation was called outside AWAIT\n");
    free(log);
}
END_TEST

/* ===== the suite ======================================================== */

static TCase *new_case(Suite *s, const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, setup, teardown);
    suite_add_tcase(s, tc);
    return tc;
}

Suite *stage02_suite(void)
{
    Suite *s = suite_create("stage02");
    TCase *tc = new_case(s, "loop_run");
    tcase_add_test(tc, loop_run_returns_main_value);
    tcase_add_test(tc, loop_run_returns_main_error);
    tcase_add_test(tc, loop_runs_until_every_task_ends);
    tcase_add_test(tc, nested_loop_run_is_ebusy);
    tcase_add_test(tc, loop_run_main_cancelled);

    tc = new_case(s, "scheduling");
    tcase_add_test(tc, spawn_runs_next_turn_in_fifo_order);
    tcase_add_test(tc, fairness_spinner_does_not_starve_others);
    tcase_add_test(tc, task_woken_during_iteration_runs_in_next);
    tcase_add_test(tc, yield_lets_others_run_and_gives_zero);

    tc = new_case(s, "join");
    tcase_add_test(tc, join_returns_value);
    tcase_add_test(tc, join_raises_child_error);
    tcase_add_test(tc, join_catch_gets_error_then_zero);
    tcase_add_test(tc, join_finished_task_does_not_park);
    tcase_add_test(tc, join_self_is_edeadlk);
    tcase_add_test(tc, second_joiner_is_ebusy);

    tc = new_case(s, "cancel");
    tcase_add_test(tc, cancel_parked_task);
    tcase_add_test(tc, cancel_never_started_task_never_runs);
    tcase_add_test(tc, cancel_running_task_at_next_park);
    tcase_add_test(tc, cancel_finished_task_is_noop);
    tcase_add_test(tc, cancel_woken_task_keeps_result);
    tcase_add_test(tc, task_catches_cancel_and_returns_value);
    tcase_add_test(tc, cancel_task_parked_in_join);

    tc = new_case(s, "await_co");
    tcase_add_test(tc, await_co_returns_value_in_parent_frame);
    tcase_add_test(tc, await_co_error_propagates);
    tcase_add_test(tc, await_co_parks_pass_through);
    tcase_add_test(tc, bare_yield_gets_ebadyield);

    tc = new_case(s, "group");
    tcase_add_test(tc, group_join_waits_for_all_children);
    tcase_add_test(tc, group_first_failure_cancels_siblings_and_owner);
    tcase_add_test(tc, group_body_error_cancels_children_and_wins);
    tcase_add_test(tc, group_outer_cancel_waits_for_children_and_raises);
    tcase_add_test(tc, group_second_failure_is_logged);
    tcase_add_test(tc, group_spawn_after_join_is_null);
    tcase_add_test(tc, group_results_in_spawn_order);
    tcase_add_test(tc, group_cancel_is_not_a_failure);
    tcase_add_test(tc, group_owner_without_join_is_reported);
    tcase_add_test(tc, group_owner_return_value_survives_join);

    tc = new_case(s, "gather");
    tcase_add_test(tc, gather_results_in_order);
    tcase_add_test(tc, gather_first_error_cancels_the_rest);
    tcase_add_test(tc, gather_refuses_joined_or_grouped_task);
    tcase_add_test(tc, gather_of_finished_tasks);

    tc = new_case(s, "reports");
    tcase_add_test(tc, deadlock_is_reported_and_cleaned_up);
    tcase_add_test(tc, deadlock_two_tasks_joining_each_other);
    tcase_add_test(tc, unretrieved_error_is_reported);
    tcase_add_test(tc, detached_failing_task_is_reported);
    tcase_add_test(tc, slow_step_warning_names_task);
    tcase_add_test(tc, no_slow_step_warning_below_threshold);
    tcase_add_test(tc, slow_step_limit_from_environment);
    tcase_add_test(tc, task_dump_shows_state_wait_and_await_chain);

    tc = new_case(s, "trace");
    tcase_add_test(tc, json_checker_can_fail);
    tcase_add_test(tc, trace_path_writes_valid_json);
    tcase_add_test(tc, trace_from_environment);
    tcase_add_test(tc, trace_to_bad_path_is_reported_and_harmless);

    tc = new_case(s, "misc");
    tcase_add_test(tc, ten_thousand_tasks);
    tcase_add_test(tc, task_operations_outside_a_loop_fail_cleanly);
    tcase_add_test(tc, wake_of_unparked_task_and_park_without_wait);
    tcase_add_test(tc, names_of_states_and_errors);

    /* Regressions: each was a core bug, each asserts the documented
     * behaviour. */
    tc = new_case(s, "regressions");
    tcase_add_test(tc, bug_main_task_joined_by_another);
    tcase_add_test(tc, bug_child_error_lost_when_body_fails);
    tcase_add_test(tc, bug_unjoined_success_reported_as_failure);
    tcase_add_test(tc, bug_unjoined_group_owner_inside_a_group);
    tcase_add_test(tc, bug_gather_same_task_twice);
    tcase_add_test(tc, bug_gather_including_the_caller);
    tcase_add_test(tc, bug_gather_each_other_is_a_deadlock);
    tcase_add_test(tc, bug_nested_group_error_is_not_a_cancel);
    tcase_add_test(tc, bug_pending_cancel_raised_by_gather);
    tcase_add_test(tc, bug_pending_cancel_raised_by_group_join);
    tcase_add_test(tc, bug_gather_child_cancelled_from_outside);
    tcase_add_test(tc, bug_two_cancels_deliver_one);
    tcase_add_test(tc, bug_group_cancels_a_child_once);
    tcase_add_test(tc, bug_outer_cancel_after_many_caught);
    tcase_add_test(tc, bug_retrieved_errors_not_reported_lost);
    tcase_add_test(tc, bug_spawn_size_overflow);
    tcase_add_test(tc, bug_group_calls_with_null);
    tcase_add_test(tc, bug_deadlock_leaves_result_alone);
    tcase_add_test(tc, bug_slow_ms_out_of_range_is_refused);
    tcase_add_test(tc, bug_operation_twice_in_one_step);
    tcase_add_test(tc, bug_bad_yield_survives_a_cancel);
    tcase_add_test(tc, bug_operation_twice_then_raise);
    return s;
}
