/*
 * test_stage01.c - the generator protocol of co.h, one rule per test.
 *
 * This suite is compiled against every later stage's code too, so it uses
 * nothing but co.h's API.  Each generator below records what happened inside
 * it (values received, cleanups run, the error seen in CO_FINALLY) in its own
 * frame, and the tests assert those records and every return code exactly.
 *
 * The "regressions" case holds tests for bugs found in co.h/co.c, each
 * asserting what Python's generators do.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "co.h"

Suite *stage01_suite(void);

/* An order of events, recorded by the frames themselves: "cp" = child's
 * cleanup, then parent's. */
struct trail {
    char s[16];
    int n;
};

static void mark(struct trail *t, char c)
{
    if (t->n < (int)sizeof t->s - 1) {
        t->s[t->n++] = c;
        t->s[t->n] = '\0';
    }
}

#define SENTINEL ((intptr_t)-12345)

/* ---- generators under test ---------------------------------------------- */

/* Yields 10, 20, ..., n*10; records each CO_VALUE received; returns 1000+n. */
struct seq {
    co_t co;
    int n; /* argument, at most 8 */
    int i;
    int started;
    intptr_t got[8];
    int ngot;
    int cleanups;
    int cleanup_error;
};

static int seq(co_t *co)
{
    struct seq *f = (struct seq *)co;
    CO_BEGIN(co);
    f->started = 1;
    for (f->i = 1; f->i <= f->n; f->i++) {
        CO_YIELD(f->i * 10);
        f->got[f->ngot++] = CO_VALUE;
    }
    CO_RETURN(1000 + f->n);
    CO_FINALLY;
    f->cleanups++;
    f->cleanup_error = CO_ERROR;
    CO_END;
}

static void seq_init(struct seq *f, int n)
{
    memset(f, 0, sizeof *f);
    f->n = n;
    co_init(&f->co, seq);
}

/* Yields 0, 1, 2 with CO_YIELD_CATCH, recording every error thrown in;
 * returns how many it caught. */
struct catcher {
    co_t co;
    int round, err;
    int caught[4];
    int ncaught;
    int cleanups;
};

static int catcher(co_t *co)
{
    struct catcher *f = (struct catcher *)co;
    CO_BEGIN(co);
    for (f->round = 0; f->round < 3; f->round++) {
        CO_YIELD_CATCH(f->round, f->err);
        if (f->err)
            f->caught[f->ncaught++] = f->err;
    }
    CO_RETURN(f->ncaught);
    CO_FINALLY;
    f->cleanups++;
    CO_END;
}

/* What it does when co_close throws CO_EEXIT in depends on `mode`. */
enum { ON_EXIT_YIELD, ON_EXIT_RETURN, ON_EXIT_FAIL_IN_CLEANUP };

struct closing {
    co_t co;
    int mode;
    int err;
    int caught;
    int cleanups;
};

static int closing(co_t *co)
{
    struct closing *f = (struct closing *)co;
    CO_BEGIN(co);
    if (f->mode == ON_EXIT_FAIL_IN_CLEANUP) {
        CO_YIELD(1);
        CO_RETURN(0);
    }
    CO_YIELD_CATCH(1, f->err);
    f->caught = f->err;
    if (f->err && f->mode == ON_EXIT_RETURN)
        CO_RETURN(5);
    CO_YIELD(2); /* ON_EXIT_YIELD: ignore the exit and pause again */
    CO_RETURN(3);
    CO_FINALLY;
    f->cleanups++;
    if (f->mode == ON_EXIT_FAIL_IN_CLEANUP)
        CO_RAISE(-EIO);
    CO_END;
}

/* Resumes itself from inside its own body, every way there is. */
struct reentrant {
    co_t co;
    int r_next, r_send, r_throw, r_close;
    int state_inside;
};

static int reentrant(co_t *co)
{
    struct reentrant *f = (struct reentrant *)co;
    CO_BEGIN(co);
    f->state_inside = co->state;
    f->r_next = co_next(co, NULL);
    f->r_send = co_send(co, 1, NULL);
    f->r_throw = co_throw(co, -EIO, NULL);
    f->r_close = co_close(co);
    CO_YIELD(7);
    CO_RETURN(8);
    CO_END;
}

/* Raises `code`; its cleanup records the error in flight. */
struct raiser {
    co_t co;
    int code;
    int cleanup_error;
    int cleanups;
};

static int raiser(co_t *co)
{
    struct raiser *f = (struct raiser *)co;
    CO_BEGIN(co);
    CO_RAISE(f->code);
    CO_FINALLY;
    f->cleanups++;
    f->cleanup_error = CO_ERROR;
    CO_END;
}

/* Its cleanup turns any error into a return of 7. */
struct rescuer {
    co_t co;
    int cleanup_error;
};

static int rescuer(co_t *co)
{
    struct rescuer *f = (struct rescuer *)co;
    CO_BEGIN(co);
    CO_YIELD(1);
    CO_RAISE(-ENOENT);
    CO_FINALLY;
    f->cleanup_error = CO_ERROR;
    CO_RETURN(7);
    CO_END;
}

/* Its cleanup yields 99 before finishing. */
struct finally_yield {
    co_t co;
    int error_before, error_after;
    intptr_t value_in_cleanup;
};

static int finally_yield(co_t *co)
{
    struct finally_yield *f = (struct finally_yield *)co;
    CO_BEGIN(co);
    CO_YIELD(1);
    CO_RETURN(5);
    CO_FINALLY;
    f->error_before = CO_ERROR;
    CO_YIELD(99);
    f->value_in_cleanup = CO_VALUE;
    f->error_after = CO_ERROR;
    CO_END;
}

/* ---- delegation: leaf <- mid <- top --------------------------------------- */

/* Yields base, base+1, base+2 and adds up what is sent; returns 1000 + sum.
 * Sent a negative number it raises it; a thrown -EAGAIN it catches and goes
 * on; any other thrown error it raises again. */
struct leaf {
    co_t co;
    struct trail *trail; /* argument */
    int base;            /* argument */
    int i, err, caught;
    intptr_t sum;
    intptr_t value_at_start; /* CO_VALUE before the first yield */
};

static int leaf(co_t *co)
{
    struct leaf *f = (struct leaf *)co;
    CO_BEGIN(co);
    f->value_at_start = CO_VALUE;
    f->sum = 0;
    f->caught = 0;
    for (f->i = 0; f->i < 3; f->i++) {
        CO_YIELD_CATCH(f->base + f->i, f->err);
        if (f->err == -EAGAIN) {
            f->caught = f->err;
            continue;
        }
        if (f->err)
            CO_RAISE(f->err);
        if (CO_VALUE < 0)
            CO_RAISE((int)CO_VALUE);
        f->sum += CO_VALUE;
    }
    CO_RETURN(1000 + f->sum);
    CO_FINALLY;
    mark(f->trail, 'c');
    CO_END;
}

/* Delegates to a leaf (with or without _CATCH), then yields 99 and returns
 * twice what the leaf returned. */
struct mid {
    co_t co;
    struct leaf child;
    struct trail *trail; /* argument */
    int catch_child;     /* argument */
    int err;
    intptr_t child_result;
};

static int mid(co_t *co)
{
    struct mid *f = (struct mid *)co;
    CO_BEGIN(co);
    f->child.trail = f->trail;
    f->child.base = 10;
    if (f->catch_child)
        CO_YIELD_FROM_CATCH(&f->child.co, leaf, f->err);
    else
        CO_YIELD_FROM(&f->child.co, leaf);
    f->child_result = CO_VALUE;
    CO_YIELD(99);
    CO_RETURN(f->child_result * 2);
    CO_FINALLY;
    mark(f->trail, 'p');
    CO_END;
}

static void mid_init(struct mid *f, struct trail *t, int catch_child)
{
    memset(f, 0, sizeof *f);
    memset(t, 0, sizeof *t);
    f->trail = t;
    f->catch_child = catch_child;
    co_init(&f->co, mid);
}

/* A third level: delegates to a mid and returns its result plus one. */
struct top {
    co_t co;
    struct mid mid;
    struct trail trail;
};

static int top(co_t *co)
{
    struct top *f = (struct top *)co;
    CO_BEGIN(co);
    f->mid.trail = &f->trail;
    f->mid.catch_child = 0;
    CO_YIELD_FROM(&f->mid.co, mid);
    CO_RETURN(CO_VALUE + 1);
    CO_FINALLY;
    mark(&f->trail, 't');
    CO_END;
}

/* A child that returns at once, and a parent that yields what it returned. */
static int instant(co_t *co)
{
    CO_BEGIN(co);
    CO_RETURN(42);
    CO_END;
}

struct wraps_instant {
    co_t co;
    co_t child;
};

static int wraps_instant(co_t *co)
{
    struct wraps_instant *f = (struct wraps_instant *)co;
    CO_BEGIN(co);
    CO_YIELD_FROM(&f->child, instant);
    CO_YIELD(CO_VALUE);
    CO_END;
}

/* A child that tries to resume the parent delegating to it. */
struct poker {
    co_t co;
    co_t *parent;
    int r;
};

static int poker(co_t *co)
{
    struct poker *f = (struct poker *)co;
    CO_BEGIN(co);
    f->r = co_next(f->parent, NULL);
    CO_YIELD(1);
    CO_END;
}

struct pokes_parent {
    co_t co;
    struct poker child;
};

static int pokes_parent(co_t *co)
{
    struct pokes_parent *f = (struct pokes_parent *)co;
    CO_BEGIN(co);
    f->child.parent = co;
    CO_YIELD_FROM(&f->child.co, poker);
    CO_END;
}

/* ---- next, return, states ------------------------------------------------ */

START_TEST(test_next_yields_values_in_order)
{
    struct seq g;
    seq_init(&g, 3);
    intptr_t v = SENTINEL;
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(v, 10);
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(v, 20);
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(v, 30);
}
END_TEST

START_TEST(test_return_value_is_separate_from_yields)
{
    struct seq g;
    seq_init(&g, 2);
    intptr_t v = SENTINEL;
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(v, 20);
    ck_assert_int_eq(co_next(&g.co, &v), CO_RETURNED);
    ck_assert_int_eq(v, 1002);
    ck_assert_int_eq(g.cleanups, 1);
}
END_TEST

START_TEST(test_states_go_created_suspended_done)
{
    struct seq g;
    seq_init(&g, 1);
    ck_assert_int_eq(g.co.state, CO_CREATED);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED); /* out may be NULL */
    ck_assert_int_eq(g.co.state, CO_SUSPENDED);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_RETURNED);
    ck_assert_int_eq(g.co.state, CO_DONE);
}
END_TEST

START_TEST(test_resume_after_done_gives_edone)
{
    struct seq g;
    seq_init(&g, 0);
    intptr_t v = SENTINEL;
    ck_assert_int_eq(co_next(&g.co, &v), CO_RETURNED);
    ck_assert_int_eq(v, 1000);
    v = SENTINEL;
    ck_assert_int_eq(co_next(&g.co, &v), CO_EDONE);
    ck_assert_int_eq(co_send(&g.co, 5, &v), CO_EDONE);
    ck_assert_int_eq(co_throw(&g.co, -EIO, &v), CO_EDONE);
    ck_assert_int_eq(v, SENTINEL); /* an error never writes *out */
    ck_assert_int_eq(g.cleanups, 1); /* nothing re-entered the body */
    ck_assert_int_eq(g.co.state, CO_DONE);
    ck_assert_int_eq(co_close(&g.co), 0);
    ck_assert_int_eq(co_next(&g.co, &v), CO_EDONE); /* closed counts as finished */
}
END_TEST

/* ---- send ------------------------------------------------------------------ */

START_TEST(test_send_delivers_value_as_co_value)
{
    struct seq g;
    seq_init(&g, 3);
    intptr_t v = SENTINEL;
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(co_send(&g.co, 111, &v), CO_YIELDED);
    ck_assert_int_eq(v, 20);
    ck_assert_int_eq(co_send(&g.co, -222, &v), CO_YIELDED);
    ck_assert_int_eq(v, 30);
    ck_assert_int_eq(g.ngot, 2);
    ck_assert_int_eq(g.got[0], 111);
    ck_assert_int_eq(g.got[1], -222);
}
END_TEST

START_TEST(test_next_delivers_zero_as_co_value)
{
    struct seq g;
    seq_init(&g, 3);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_int_eq(co_send(&g.co, 5, NULL), CO_YIELDED);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_int_eq(g.ngot, 2);
    ck_assert_int_eq(g.got[0], 5);
    ck_assert_int_eq(g.got[1], 0); /* not the 5 sent before, nor the 20 yielded */
}
END_TEST

START_TEST(test_send_before_start_gives_enotstarted_and_leaves_it_startable)
{
    struct seq g;
    seq_init(&g, 2);
    intptr_t v = SENTINEL;
    ck_assert_int_eq(co_send(&g.co, 5, &v), CO_ENOTSTARTED);
    ck_assert_int_eq(v, SENTINEL);
    ck_assert_int_eq(g.started, 0);
    ck_assert_int_eq(g.co.state, CO_CREATED);
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(v, 10);
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(g.got[0], 0); /* the refused 5 was not delivered later */
}
END_TEST

/* ---- throw ------------------------------------------------------------------ */

START_TEST(test_throw_caught_by_yield_catch_lets_generator_continue)
{
    struct catcher g = {.ncaught = 0};
    co_init(&g.co, catcher);
    intptr_t v = SENTINEL;
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(co_throw(&g.co, -EIO, &v), CO_YIELDED);
    ck_assert_int_eq(v, 1); /* the throw's answer is the next yield */
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED); /* err is 0 on a plain resume */
    ck_assert_int_eq(v, 2);
    ck_assert_int_eq(co_throw(&g.co, -EPIPE, &v), CO_RETURNED);
    ck_assert_int_eq(v, 2);
    ck_assert_int_eq(g.ncaught, 2);
    ck_assert_int_eq(g.caught[0], -EIO);
    ck_assert_int_eq(g.caught[1], -EPIPE);
    ck_assert_int_eq(g.cleanups, 1);
}
END_TEST

START_TEST(test_uncaught_throw_ends_with_that_error_and_runs_finally)
{
    struct seq g;
    seq_init(&g, 3);
    intptr_t v = SENTINEL;
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    v = SENTINEL;
    ck_assert_int_eq(co_throw(&g.co, -ECONNRESET, &v), -ECONNRESET);
    ck_assert_int_eq(v, SENTINEL);
    ck_assert_int_eq(g.ngot, 0); /* the code after the yield never ran */
    ck_assert_int_eq(g.cleanups, 1);
    ck_assert_int_eq(g.cleanup_error, -ECONNRESET);
    ck_assert_int_eq(g.co.state, CO_DONE);
    ck_assert_int_eq(co_next(&g.co, &v), CO_EDONE);
}
END_TEST

START_TEST(test_throw_into_created_ends_it_without_running_body_or_cleanup)
{
    struct seq g;
    seq_init(&g, 3);
    intptr_t v = SENTINEL;
    ck_assert_int_eq(co_throw(&g.co, -EIO, &v), -EIO);
    ck_assert_int_eq(v, SENTINEL);
    ck_assert_int_eq(g.started, 0);
    ck_assert_int_eq(g.cleanups, 0);
    ck_assert_int_eq(g.co.state, CO_DONE);
    ck_assert_int_eq(co_next(&g.co, &v), CO_EDONE);
}
END_TEST

START_TEST(test_throw_of_nonnegative_value_gives_einval_and_changes_nothing)
{
    struct seq g;
    seq_init(&g, 3);
    intptr_t v = SENTINEL;
    ck_assert_int_eq(co_throw(&g.co, 0, &v), -EINVAL);
    ck_assert_int_eq(co_throw(&g.co, 5, &v), -EINVAL);
    ck_assert_int_eq(g.co.state, CO_CREATED);
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(co_throw(&g.co, 1, &v), -EINVAL);
    ck_assert_int_eq(g.co.state, CO_SUSPENDED);
    ck_assert_int_eq(v, 10);
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(v, 20);
    ck_assert_int_eq(g.cleanups, 0);
}
END_TEST

/* ---- close ------------------------------------------------------------------ */

START_TEST(test_close_runs_cleanup_and_returns_zero)
{
    struct seq g;
    seq_init(&g, 3);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_int_eq(co_close(&g.co), 0);
    ck_assert_int_eq(g.cleanups, 1);
    ck_assert_int_eq(g.cleanup_error, CO_EEXIT);
    ck_assert_int_eq(g.ngot, 0);
    ck_assert_int_eq(g.co.state, CO_CLOSED);
}
END_TEST

START_TEST(test_close_twice_gives_eclosed)
{
    struct seq g;
    seq_init(&g, 3);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_int_eq(co_close(&g.co), 0);
    ck_assert_int_eq(co_close(&g.co), CO_ECLOSED);
    ck_assert_int_eq(g.cleanups, 1);
    ck_assert_int_eq(g.co.state, CO_CLOSED);
}
END_TEST

START_TEST(test_close_of_never_started_returns_zero_without_running)
{
    struct seq g;
    seq_init(&g, 3);
    ck_assert_int_eq(co_close(&g.co), 0);
    ck_assert_int_eq(g.started, 0);
    ck_assert_int_eq(g.cleanups, 0);
    ck_assert_int_eq(g.co.state, CO_CLOSED);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_EDONE);
    ck_assert_int_eq(co_close(&g.co), CO_ECLOSED);
}
END_TEST

START_TEST(test_close_of_finished_returns_zero)
{
    struct seq g;
    seq_init(&g, 1);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_RETURNED);
    ck_assert_int_eq(co_close(&g.co), 0);
    ck_assert_int_eq(g.cleanups, 1); /* not run a second time */
    ck_assert_int_eq(g.co.state, CO_CLOSED);

    struct raiser r = {.code = -EIO};
    co_init(&r.co, raiser);
    ck_assert_int_eq(co_next(&r.co, NULL), -EIO);
    ck_assert_int_eq(co_close(&r.co), 0); /* failed is finished too */
}
END_TEST

START_TEST(test_close_ignored_by_a_yield_gives_eignoredexit)
{
    struct closing g = {.mode = ON_EXIT_YIELD};
    co_init(&g.co, closing);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_int_eq(co_close(&g.co), CO_EIGNOREDEXIT);
    ck_assert_int_eq(g.caught, CO_EEXIT);
    ck_assert_int_eq(g.co.state, CO_SUSPENDED); /* still alive: not marked closed */
    ck_assert_int_eq(g.co.val, 2);
    ck_assert_int_eq(g.cleanups, 0);
    ck_assert_int_eq(co_close(&g.co), 0); /* at the plain yield the exit ends it */
    ck_assert_int_eq(g.cleanups, 1);
    ck_assert_int_eq(g.co.state, CO_CLOSED);
}
END_TEST

START_TEST(test_close_of_generator_returning_on_exit_is_clean)
{
    struct closing g = {.mode = ON_EXIT_RETURN};
    co_init(&g.co, closing);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_int_eq(co_close(&g.co), 0);
    ck_assert_int_eq(g.caught, CO_EEXIT);
    ck_assert_int_eq(g.co.val, 5);
    ck_assert_int_eq(g.cleanups, 1);
    ck_assert_int_eq(g.co.state, CO_CLOSED);
}
END_TEST

START_TEST(test_close_reports_error_raised_by_cleanup)
{
    struct closing g = {.mode = ON_EXIT_FAIL_IN_CLEANUP};
    co_init(&g.co, closing);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_int_eq(co_close(&g.co), -EIO);
    ck_assert_int_eq(g.cleanups, 1);
    ck_assert_int_eq(g.co.state, CO_CLOSED);
    ck_assert_int_eq(co_close(&g.co), CO_ECLOSED);
}
END_TEST

/* ---- misuse from inside ----------------------------------------------------- */

START_TEST(test_reentrant_resume_gives_erunning)
{
    struct reentrant g = {.r_next = 0};
    co_init(&g.co, reentrant);
    intptr_t v = SENTINEL;
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(v, 7); /* the failed calls did not disturb the body */
    ck_assert_int_eq(g.state_inside, CO_RUNNING);
    ck_assert_int_eq(g.r_next, CO_ERUNNING);
    ck_assert_int_eq(g.r_send, CO_ERUNNING);
    ck_assert_int_eq(g.r_throw, CO_ERUNNING);
    ck_assert_int_eq(g.r_close, CO_ERUNNING);
    ck_assert_int_eq(g.co.state, CO_SUSPENDED);
    ck_assert_int_eq(co_next(&g.co, &v), CO_RETURNED); /* the throw was not left pending */
    ck_assert_int_eq(v, 8);
}
END_TEST

START_TEST(test_resuming_the_parent_from_its_child_gives_erunning)
{
    struct pokes_parent g;
    memset(&g, 0, sizeof g);
    co_init(&g.co, pokes_parent);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_int_eq(g.child.r, CO_ERUNNING);
    ck_assert_int_eq(g.co.state, CO_SUSPENDED);
}
END_TEST

/* ---- raise, finally ------------------------------------------------------------ */

START_TEST(test_raise_of_zero_or_positive_gives_einval)
{
    static const int codes[] = {0, 1, 1001, INT_MAX};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        struct raiser g = {.code = codes[i]};
        co_init(&g.co, raiser);
        ck_assert_int_eq(co_next(&g.co, NULL), -EINVAL);
        ck_assert_int_eq(g.cleanup_error, -EINVAL);
        ck_assert_int_eq(g.co.state, CO_DONE);
    }
}
END_TEST

START_TEST(test_raise_ends_with_that_error_and_runs_finally)
{
    struct raiser g = {.code = -ENOENT};
    co_init(&g.co, raiser);
    intptr_t v = SENTINEL;
    ck_assert_int_eq(co_next(&g.co, &v), -ENOENT);
    ck_assert_int_eq(v, SENTINEL);
    ck_assert_int_eq(g.cleanups, 1);
    ck_assert_int_eq(g.cleanup_error, -ENOENT);
    ck_assert_int_eq(g.co.state, CO_DONE);
}
END_TEST

START_TEST(test_return_in_finally_overrides_error_in_flight)
{
    struct rescuer g = {.cleanup_error = 0};
    co_init(&g.co, rescuer);
    intptr_t v = SENTINEL;
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(co_throw(&g.co, -EPIPE, &v), CO_RETURNED);
    ck_assert_int_eq(v, 7);
    ck_assert_int_eq(g.cleanup_error, -EPIPE);

    co_init(&g.co, rescuer); /* the same with an error raised by the body */
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(co_next(&g.co, &v), CO_RETURNED);
    ck_assert_int_eq(v, 7);
    ck_assert_int_eq(g.cleanup_error, -ENOENT);
}
END_TEST

START_TEST(test_finally_sees_no_error_on_return)
{
    struct seq g;
    seq_init(&g, 1);
    g.cleanup_error = 12345;
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_RETURNED);
    ck_assert_int_eq(g.cleanups, 1);
    ck_assert_int_eq(g.cleanup_error, 0);
}
END_TEST

START_TEST(test_yield_in_finally_works)
{
    struct finally_yield g = {.error_before = 1};
    co_init(&g.co, finally_yield);
    intptr_t v = SENTINEL;
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(co_throw(&g.co, -EIO, &v), CO_YIELDED); /* unwinding, paused */
    ck_assert_int_eq(v, 99);
    ck_assert_int_eq(g.error_before, -EIO);
    ck_assert_int_eq(g.co.state, CO_SUSPENDED);
    ck_assert_int_eq(co_send(&g.co, 55, &v), -EIO); /* the error was kept across it */
    ck_assert_int_eq(g.value_in_cleanup, 55);
    ck_assert_int_eq(g.error_after, -EIO);
    ck_assert_int_eq(g.co.state, CO_DONE);
}
END_TEST

START_TEST(test_error_thrown_into_finally_replaces_error_in_flight)
{
    struct finally_yield g = {.error_after = 1};
    co_init(&g.co, finally_yield);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_int_eq(co_throw(&g.co, -EIO, NULL), CO_YIELDED);
    ck_assert_int_eq(co_throw(&g.co, -EPIPE, NULL), -EPIPE);
    ck_assert_int_eq(g.error_after, 1); /* the rest of the cleanup was skipped */
    ck_assert_int_eq(g.co.state, CO_DONE);
}
END_TEST

/* ---- delegation ---------------------------------------------------------------- */

START_TEST(test_yield_from_passes_child_yields_through)
{
    struct mid g;
    struct trail t;
    mid_init(&g, &t, 0);
    intptr_t v = SENTINEL;
    g.child.value_at_start = SENTINEL;
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(v, 10);
    ck_assert_int_eq(g.child.value_at_start, 0); /* the child was started by a next */
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(v, 11);
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(v, 12);
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(v, 99); /* now the parent's own yield */
    ck_assert_int_eq(co_next(&g.co, &v), CO_RETURNED);
    ck_assert_int_eq(v, 2000);
    ck_assert_str_eq(t.s, "cp");
}
END_TEST

START_TEST(test_yield_from_forwards_sends_to_child)
{
    struct mid g;
    struct trail t;
    mid_init(&g, &t, 0);
    intptr_t v = SENTINEL;
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(co_send(&g.co, 1, &v), CO_YIELDED);
    ck_assert_int_eq(v, 11);
    ck_assert_int_eq(co_send(&g.co, 2, &v), CO_YIELDED);
    ck_assert_int_eq(g.child.sum, 3);
    ck_assert_int_eq(co_send(&g.co, 4, &v), CO_YIELDED);
    ck_assert_int_eq(v, 99);
    ck_assert_int_eq(g.child.sum, 7);
}
END_TEST

START_TEST(test_yield_from_child_return_value_is_co_value)
{
    struct mid g;
    struct trail t;
    mid_init(&g, &t, 0);
    intptr_t v = SENTINEL;
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(co_send(&g.co, 30, &v), CO_YIELDED);
    ck_assert_int_eq(co_send(&g.co, 300, &v), CO_YIELDED);
    ck_assert_int_eq(co_send(&g.co, 3000, &v), CO_YIELDED);
    ck_assert_int_eq(g.child_result, 4330);
    ck_assert_int_eq(g.child.co.state, CO_DONE);
    ck_assert_int_eq(co_next(&g.co, &v), CO_RETURNED);
    ck_assert_int_eq(v, 8660);

    struct wraps_instant w;
    memset(&w, 0, sizeof w);
    co_init(&w.co, wraps_instant); /* a child that returns without yielding */
    ck_assert_int_eq(co_next(&w.co, &v), CO_YIELDED);
    ck_assert_int_eq(v, 42);
    ck_assert_ptr_null(w.co.child);
}
END_TEST

START_TEST(test_yield_from_forwards_throw_caught_by_child)
{
    struct mid g;
    struct trail t;
    mid_init(&g, &t, 0);
    intptr_t v = SENTINEL;
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(co_throw(&g.co, -EAGAIN, &v), CO_YIELDED);
    ck_assert_int_eq(v, 11); /* the child went on to its next yield */
    ck_assert_int_eq(g.child.caught, -EAGAIN);
    ck_assert_int_eq(g.co.state, CO_SUSPENDED);
    ck_assert_int_eq(g.child.co.state, CO_SUSPENDED);
    ck_assert_str_eq(t.s, ""); /* nobody unwound */
    ck_assert_int_eq(co_send(&g.co, 6, &v), CO_YIELDED);
    ck_assert_int_eq(v, 12);
    ck_assert_int_eq(g.child.sum, 6);
}
END_TEST

START_TEST(test_yield_from_child_error_is_raised_in_parent)
{
    struct mid g;
    struct trail t;
    mid_init(&g, &t, 0);
    intptr_t v = SENTINEL;
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    v = SENTINEL;
    ck_assert_int_eq(co_send(&g.co, -ENOSPC, &v), -ENOSPC);
    ck_assert_int_eq(v, SENTINEL);
    ck_assert_str_eq(t.s, "cp");
    ck_assert_int_eq(g.child.co.state, CO_DONE);
    ck_assert_int_eq(g.co.state, CO_DONE);
    ck_assert_ptr_null(g.co.child);
}
END_TEST

START_TEST(test_yield_from_throw_uncaught_by_child_ends_child_then_parent)
{
    struct mid g;
    struct trail t;
    mid_init(&g, &t, 0);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_int_eq(co_throw(&g.co, -EPIPE, NULL), -EPIPE);
    ck_assert_str_eq(t.s, "cp");
    ck_assert_int_eq(g.co.state, CO_DONE);
}
END_TEST

START_TEST(test_yield_from_catch_hands_child_error_to_parent)
{
    struct mid g;
    struct trail t;
    mid_init(&g, &t, 1);
    intptr_t v = SENTINEL;
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(co_send(&g.co, -ENOSPC, &v), CO_YIELDED);
    ck_assert_int_eq(v, 99); /* the parent carried on */
    ck_assert_int_eq(g.err, -ENOSPC);
    ck_assert_str_eq(t.s, "c");
    ck_assert_ptr_null(g.co.child);
    ck_assert_int_eq(co_next(&g.co, &v), CO_RETURNED);
    ck_assert_str_eq(t.s, "cp");
}
END_TEST

START_TEST(test_yield_from_catch_gives_zero_when_child_returns)
{
    struct mid g;
    struct trail t;
    mid_init(&g, &t, 1);
    g.err = 12345;
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_int_eq(co_send(&g.co, 9, NULL), CO_YIELDED);
    ck_assert_int_eq(g.err, 0);
    ck_assert_int_eq(g.child_result, 1009);
}
END_TEST

START_TEST(test_close_of_delegating_parent_runs_child_cleanup_first)
{
    struct mid g;
    struct trail t;
    mid_init(&g, &t, 0);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_int_eq(co_close(&g.co), 0);
    ck_assert_str_eq(t.s, "cp");
    ck_assert_int_eq(g.co.state, CO_CLOSED);
    /* PEP 380: closing the delegator closes the child. */
    ck_assert_int_eq(g.child.co.state, CO_CLOSED);
    ck_assert_ptr_null(g.co.child);
}
END_TEST

START_TEST(test_child_frame_lives_inside_parent_frame)
{
    struct mid g;
    struct trail t;
    mid_init(&g, &t, 0);
    ck_assert_ptr_null(g.co.child);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_ptr_eq(g.co.child, &g.child.co);
    const char *c = (const char *)g.co.child;
    ck_assert(c >= (const char *)&g && c + sizeof g.child <= (const char *)(&g + 1));
    ck_assert_ptr_null(g.child.co.child);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_ptr_eq(g.co.child, &g.child.co);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED); /* the child returned */
    ck_assert_ptr_null(g.co.child);
}
END_TEST

START_TEST(test_three_levels_pass_values_both_ways)
{
    struct top g;
    memset(&g, 0, sizeof g);
    co_init(&g.co, top);
    intptr_t v = SENTINEL;
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(v, 10);
    ck_assert_ptr_eq(g.co.child, &g.mid.co);
    ck_assert_ptr_eq(g.mid.co.child, &g.mid.child.co);
    ck_assert_int_eq(co_send(&g.co, 1, &v), CO_YIELDED);
    ck_assert_int_eq(v, 11);
    ck_assert_int_eq(co_throw(&g.co, -EAGAIN, &v), CO_YIELDED); /* down two levels */
    ck_assert_int_eq(v, 12);
    ck_assert_int_eq(g.mid.child.caught, -EAGAIN);
    ck_assert_int_eq(co_send(&g.co, 5, &v), CO_YIELDED);
    ck_assert_int_eq(v, 99); /* mid's own yield, through top */
    ck_assert_int_eq(g.mid.child_result, 1006);
    ck_assert_ptr_eq(g.co.child, &g.mid.co);
    ck_assert_ptr_null(g.mid.co.child);
    ck_assert_int_eq(co_next(&g.co, &v), CO_RETURNED);
    ck_assert_int_eq(v, 2013);
    ck_assert_str_eq(g.trail.s, "cpt");
    ck_assert_ptr_null(g.co.child);
}
END_TEST

START_TEST(test_three_levels_close_unwinds_innermost_first)
{
    struct top g;
    memset(&g, 0, sizeof g);
    co_init(&g.co, top);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_int_eq(co_close(&g.co), 0);
    ck_assert_str_eq(g.trail.s, "cpt");
    ck_assert_int_eq(g.co.state, CO_CLOSED);
    ck_assert_int_eq(g.mid.co.state, CO_CLOSED);
    ck_assert_int_eq(g.mid.child.co.state, CO_CLOSED);
}
END_TEST

/* ---- the rest of the API ---------------------------------------------------------- */

START_TEST(test_strerror_names_every_code)
{
    ck_assert_str_eq(co_strerror(CO_YIELDED), "yielded");
    ck_assert_str_eq(co_strerror(CO_RETURNED), "returned");
    ck_assert_str_eq(co_strerror(CO_EDONE), "generator already finished");
    ck_assert_str_eq(co_strerror(CO_ENOTSTARTED),
                     "can't send a value to a generator that has not started");
    ck_assert_str_eq(co_strerror(CO_ERUNNING), "generator already running");
    ck_assert_str_eq(co_strerror(CO_ECLOSED), "generator already closed");
    ck_assert_str_eq(co_strerror(CO_EEXIT), "generator exit (closed)");
    ck_assert_str_eq(co_strerror(CO_EIGNOREDEXIT), "generator yielded while being closed");
}
END_TEST

START_TEST(test_strerror_of_errno_and_unknown_values)
{
    char want[256];
    strncpy(want, strerror(EINVAL), sizeof want - 1);
    want[sizeof want - 1] = '\0';
    ck_assert_str_eq(co_strerror(-EINVAL), want);
    strncpy(want, strerror(4000), sizeof want - 1);
    ck_assert_str_eq(co_strerror(-4000), want);
    ck_assert_str_eq(co_strerror(-9999), "unknown error");
    ck_assert_str_eq(co_strerror(2), "unknown result");
    ck_assert_str_eq(co_strerror(INT_MAX), "unknown result");
}
END_TEST

START_TEST(test_state_name_of_every_state_and_unknown)
{
    ck_assert_str_eq(co_state_name(CO_CREATED), "created");
    ck_assert_str_eq(co_state_name(CO_SUSPENDED), "suspended");
    ck_assert_str_eq(co_state_name(CO_RUNNING), "running");
    ck_assert_str_eq(co_state_name(CO_DONE), "done");
    ck_assert_str_eq(co_state_name(CO_CLOSED), "closed");
    ck_assert_str_eq(co_state_name(CO_CLOSED + 1), "invalid");
    ck_assert_str_eq(co_state_name(-1), "invalid");
    ck_assert_str_eq(co_state_name(INT_MIN), "invalid");
}
END_TEST

START_TEST(test_init_clears_header_keeps_arguments_and_restarts)
{
    struct seq g;
    memset(&g, 0x5a, sizeof g);
    g.n = 1;
    g.ngot = 0;
    g.cleanups = 0;
    co_init(&g.co, seq);
    ck_assert_int_eq(g.n, 1);
    ck_assert_int_eq(g.co.line, 0);
    ck_assert_int_eq(g.co.state, CO_CREATED);
    ck_assert_int_eq(g.co.thrown, 0);
    ck_assert_int_eq(g.co.error, 0);
    ck_assert_int_eq(g.co.val, 0);
    ck_assert_ptr_null(g.co.child);
    ck_assert_ptr_null(g.co.site);
    ck_assert(g.co.fn == seq);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_RETURNED);
    co_init(&g.co, seq); /* a finished frame starts over */
    intptr_t v = SENTINEL;
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(v, 10);
}
END_TEST

START_TEST(test_site_names_the_body_after_first_entry)
{
    struct seq g;
    seq_init(&g, 1);
    ck_assert_ptr_null(g.co.site);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_ptr_nonnull(g.co.site);
    ck_assert_str_eq(g.co.site->func, "seq");
    ck_assert_ptr_nonnull(strstr(g.co.site->file, "test_stage01.c"));
}
END_TEST

START_TEST(test_resume_delivers_val_and_thrown_as_set)
{
    struct seq g;
    seq_init(&g, 3);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    g.co.val = 77;
    ck_assert_int_eq(co_resume(&g.co), CO_YIELDED); /* a send, by hand */
    ck_assert_int_eq(g.got[0], 77);
    ck_assert_int_eq(g.co.val, 20);
    g.co.thrown = -EIO;
    ck_assert_int_eq(co_resume(&g.co), -EIO); /* a throw, by hand */
    ck_assert_int_eq(g.co.thrown, 0);
    ck_assert_int_eq(g.cleanup_error, -EIO);
    ck_assert_int_eq(co_resume(&g.co), CO_EDONE);
}
END_TEST

/* ---- regressions: once bugs, each asserting Python's behaviour ------------- */

/* Once CO_RETURN left its value in co->val, where a yield inside CO_FINALLY
 * overwrote it; now it waits in co->result.  Python: `try: return 5 /
 * finally: yield 99` ends with StopIteration(5). */
START_TEST(test_bug_return_value_survives_yield_in_finally)
{
    struct finally_yield g = {.error_before = 1};
    co_init(&g.co, finally_yield);
    intptr_t v = SENTINEL;
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED); /* CO_RETURN(5), then the 99 */
    ck_assert_int_eq(v, 99);
    ck_assert_int_eq(co_next(&g.co, &v), CO_RETURNED);
    ck_assert_int_eq(v, 5); /* actual: 0, the value the last co_next sent in */
}
END_TEST

/* Falling off the end of a body (no CO_RETURN) once returned whatever CO_VALUE
 * held, the last value sent in.  Python returns None; 0 is C's equivalent. */
struct falls_off {
    co_t co;
};

static int falls_off(co_t *co)
{
    CO_BEGIN(co);
    CO_YIELD(1);
    CO_END;
}

START_TEST(test_bug_falling_off_the_end_returns_zero)
{
    struct falls_off g;
    co_init(&g.co, falls_off);
    intptr_t v = SENTINEL;
    ck_assert_int_eq(co_next(&g.co, &v), CO_YIELDED);
    ck_assert_int_eq(co_send(&g.co, 42, &v), CO_RETURNED);
    ck_assert_int_eq(v, 0); /* actual: 42 */
}
END_TEST

/* Closing a delegating parent forwards CO_EEXIT to the child; a child that
 * caught it and returned once let the parent carry on as if it had simply
 * returned.  PEP 380: after closing the child, GeneratorExit is raised in the
 * parent regardless. */
struct swallows_exit {
    co_t co;
    int err;
};

static int swallows_exit(co_t *co)
{
    struct swallows_exit *f = (struct swallows_exit *)co;
    CO_BEGIN(co);
    CO_YIELD_CATCH(1, f->err);
    CO_RETURN(f->err ? 2 : 3);
    CO_END;
}

struct closes_through {
    co_t co;
    struct swallows_exit child;
    int after_child;
    int cleanups;
};

static int closes_through(co_t *co)
{
    struct closes_through *f = (struct closes_through *)co;
    CO_BEGIN(co);
    CO_YIELD_FROM(&f->child.co, swallows_exit);
    f->after_child = 1;
    CO_YIELD(4);
    CO_FINALLY;
    f->cleanups++;
    CO_END;
}

START_TEST(test_bug_close_of_parent_ends_it_even_if_child_swallows_exit)
{
    struct closes_through g;
    memset(&g, 0, sizeof g);
    co_init(&g.co, closes_through);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_YIELDED);
    ck_assert_int_eq(co_close(&g.co), 0); /* actual: CO_EIGNOREDEXIT */
    ck_assert_int_eq(g.after_child, 0);    /* actual: 1, the parent went on */
    ck_assert_int_eq(g.cleanups, 1);
    ck_assert_int_eq(g.co.state, CO_CLOSED);
}
END_TEST

/* co_strerror once computed strerror(-err) for any negative err, and -INT_MIN
 * overflows int (undefined behaviour; UBSan aborts this test under SAN=1). */
START_TEST(test_bug_strerror_of_int_min_is_defined)
{
    ck_assert_ptr_nonnull(co_strerror(INT_MIN));
}
END_TEST

/* ---- the suite ---------------------------------------------------------------------- */

Suite *stage01_suite(void)
{
    Suite *s = suite_create("stage01");

    TCase *tc = tcase_create("protocol");
    tcase_add_test(tc, test_next_yields_values_in_order);
    tcase_add_test(tc, test_return_value_is_separate_from_yields);
    tcase_add_test(tc, test_states_go_created_suspended_done);
    tcase_add_test(tc, test_resume_after_done_gives_edone);
    tcase_add_test(tc, test_send_delivers_value_as_co_value);
    tcase_add_test(tc, test_next_delivers_zero_as_co_value);
    tcase_add_test(tc, test_send_before_start_gives_enotstarted_and_leaves_it_startable);
    tcase_add_test(tc, test_throw_caught_by_yield_catch_lets_generator_continue);
    tcase_add_test(tc, test_uncaught_throw_ends_with_that_error_and_runs_finally);
    tcase_add_test(tc, test_throw_into_created_ends_it_without_running_body_or_cleanup);
    tcase_add_test(tc, test_throw_of_nonnegative_value_gives_einval_and_changes_nothing);
    tcase_add_test(tc, test_close_runs_cleanup_and_returns_zero);
    tcase_add_test(tc, test_close_twice_gives_eclosed);
    tcase_add_test(tc, test_close_of_never_started_returns_zero_without_running);
    tcase_add_test(tc, test_close_of_finished_returns_zero);
    tcase_add_test(tc, test_close_ignored_by_a_yield_gives_eignoredexit);
    tcase_add_test(tc, test_close_of_generator_returning_on_exit_is_clean);
    tcase_add_test(tc, test_close_reports_error_raised_by_cleanup);
    tcase_add_test(tc, test_reentrant_resume_gives_erunning);
    tcase_add_test(tc, test_resuming_the_parent_from_its_child_gives_erunning);
    tcase_add_test(tc, test_raise_of_zero_or_positive_gives_einval);
    tcase_add_test(tc, test_raise_ends_with_that_error_and_runs_finally);
    tcase_add_test(tc, test_return_in_finally_overrides_error_in_flight);
    tcase_add_test(tc, test_finally_sees_no_error_on_return);
    tcase_add_test(tc, test_yield_in_finally_works);
    tcase_add_test(tc, test_error_thrown_into_finally_replaces_error_in_flight);
    suite_add_tcase(s, tc);

    tc = tcase_create("delegation");
    tcase_add_test(tc, test_yield_from_passes_child_yields_through);
    tcase_add_test(tc, test_yield_from_forwards_sends_to_child);
    tcase_add_test(tc, test_yield_from_child_return_value_is_co_value);
    tcase_add_test(tc, test_yield_from_forwards_throw_caught_by_child);
    tcase_add_test(tc, test_yield_from_child_error_is_raised_in_parent);
    tcase_add_test(tc, test_yield_from_throw_uncaught_by_child_ends_child_then_parent);
    tcase_add_test(tc, test_yield_from_catch_hands_child_error_to_parent);
    tcase_add_test(tc, test_yield_from_catch_gives_zero_when_child_returns);
    tcase_add_test(tc, test_close_of_delegating_parent_runs_child_cleanup_first);
    tcase_add_test(tc, test_child_frame_lives_inside_parent_frame);
    tcase_add_test(tc, test_three_levels_pass_values_both_ways);
    tcase_add_test(tc, test_three_levels_close_unwinds_innermost_first);
    suite_add_tcase(s, tc);

    tc = tcase_create("api");
    tcase_add_test(tc, test_strerror_names_every_code);
    tcase_add_test(tc, test_strerror_of_errno_and_unknown_values);
    tcase_add_test(tc, test_state_name_of_every_state_and_unknown);
    tcase_add_test(tc, test_init_clears_header_keeps_arguments_and_restarts);
    tcase_add_test(tc, test_site_names_the_body_after_first_entry);
    tcase_add_test(tc, test_resume_delivers_val_and_thrown_as_set);
    suite_add_tcase(s, tc);

    /* Regressions: each once a bug, each asserting Python's behaviour. */
    tc = tcase_create("regressions");
    tcase_add_test(tc, test_bug_return_value_survives_yield_in_finally);
    tcase_add_test(tc, test_bug_falling_off_the_end_returns_zero);
    tcase_add_test(tc, test_bug_close_of_parent_ends_it_even_if_child_swallows_exit);
    tcase_add_test(tc, test_bug_strerror_of_int_min_is_defined);
    suite_add_tcase(s, tc);
    return s;
}
