/*
 * test_stage02_loop.c - the loop itself: loop_run, spawning in FIFO order,
 * fairness, a task woken mid-iteration, task_yield, join, cancellation,
 * awaiting a sub-coroutine (AWAIT_CO) and a bare yield.
 *
 * The tcases "loop_run", "scheduling", "join", "cancel" and "await_co" of
 * the stage02 suite; ev(), RUN() and the shared coroutines (ret_fn, stepper,
 * sleeper, ticker, joiner) are in stage02_util.h.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stage02_util.h"

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

/* ===== the test cases =================================================== */

void stage02_add_loop(Suite *s)
{
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
}
