/*
 * test_stage05_event.c - Event: the flag, every waiter woken in FIFO order,
 * a set-then-clear that still wakes, cancelled and timed-out waiters that
 * leave the lot, and a due cancellation that wins over a set event.
 *
 * The events live in main's frame; the waiters point there.  Errors are
 * logged by name (s5_err).
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stage05_util.h"

/* A waiter: yields `pre` times (so tasks can park in an order other than
 * the order they were spawned in), logs "<name>.wait", waits, logs
 * "<name>=<result>@<time>" with the time only when `timed`. */
struct ew {
    co_t co;
    struct event *e;
    const char *name;
    int pre, i, err;
};
static int ew(co_t *co)
{
    struct ew *f = (struct ew *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->pre; f->i++)
        AWAIT(task_yield());
    ev("%s.wait", f->name);
    AWAIT_CATCH(event_wait(f->e), f->err);
    ev("%s=%s", f->name, s5_err(f->err));
    CO_RETURN(f->err ? 0 : 1);
    CO_END;
}

/* ===== the flag ============================================================== */

START_TEST(event_set_clear_is_set)
{
    struct event e;
    event_init(&e);
    ck_assert_int_eq(event_is_set(&e), 0);
    event_clear(&e); /* clearing a clear event: still clear */
    ck_assert_int_eq(event_is_set(&e), 0);
    event_set(&e);
    ck_assert_int_eq(event_is_set(&e), 1);
    event_set(&e); /* setting a set one changes nothing */
    ck_assert_int_eq(event_is_set(&e), 1);
    ck_assert(lot_empty(&e.waiters));
    event_clear(&e);
    ck_assert_int_eq(event_is_set(&e), 0);
    event_set(&e);
    ck_assert_int_eq(event_is_set(&e), 1);
}
END_TEST

/* A wait on a set event completes at once, without giving up the turn: a
 * task spawned before it has not run yet when main logs. */
struct ev_now { co_t co; struct event e; task_t *b; int err; };
static int ev_now(co_t *co)
{
    struct ev_now *f = (struct ev_now *)co;
    CO_BEGIN(co);
    event_init(&f->e);
    event_set(&f->e);
    f->b = TASK_SPAWN(ew, struct ew, .e = &f->e, .name = "B");
    AWAIT_CATCH(event_wait(&f->e), f->err);
    ev("main=%s v%ld", s5_err(f->err), (long)CO_VALUE);
    AWAIT_CATCH(event_wait(&f->e), f->err); /* and again: the flag stays set */
    ev("main=%s", s5_err(f->err));
    AWAIT(task_join(f->b));
    ev("lot%zu", s5_lot_len(&f->e.waiters));
    CO_END;
}

START_TEST(event_wait_on_set_event_returns_at_once)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, ev_now, struct ev_now), 0);
    ck_assert_str_eq(evlog, "main=ok v0 main=ok B.wait B=ok lot0");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== waking ================================================================ */

/* Three waiters park in the order W2, W3, W1 (not their spawn order); one
 * set wakes all three, in the order they parked, each with 0. */
struct ev_fifo { co_t co; struct event e; task_t *w[3]; int i; };
static int ev_fifo(co_t *co)
{
    struct ev_fifo *f = (struct ev_fifo *)co;
    CO_BEGIN(co);
    event_init(&f->e);
    f->w[0] = TASK_SPAWN(ew, struct ew, .e = &f->e, .name = "W1", .pre = 2);
    f->w[1] = TASK_SPAWN(ew, struct ew, .e = &f->e, .name = "W2", .pre = 0);
    f->w[2] = TASK_SPAWN(ew, struct ew, .e = &f->e, .name = "W3", .pre = 1);
    for (f->i = 0; f->i < 20 && s5_lot_len(&f->e.waiters) < 3; f->i++)
        AWAIT(task_yield());
    ev("lot%zu fifo%d", s5_lot_len(&f->e.waiters),
       s5_lot_at(&f->e.waiters, 0) == f->w[1] && s5_lot_at(&f->e.waiters, 1) == f->w[2] &&
           s5_lot_at(&f->e.waiters, 2) == f->w[0]);
    ev("set");
    event_set(&f->e);
    ev("lot%zu", s5_lot_len(&f->e.waiters)); /* all taken out at once */
    for (f->i = 0; f->i < 3; f->i++)
        AWAIT(task_join(f->w[f->i]));
    CO_END;
}

START_TEST(event_set_wakes_every_waiter_in_fifo_order)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, ev_fifo, struct ev_fifo), 0);
    ck_assert_str_eq(evlog, "W2.wait W3.wait W1.wait lot3 fifo1 set lot0 W2=ok W3=ok W1=ok");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* Set and at once cleared, before the waiters ran: they still return 0 (they
 * were woken by the set), while a waiter that arrives after the clear
 * parks until the next set. */
struct ev_clear { co_t co; struct event e; task_t *w[3]; int i; };
static int ev_clear(co_t *co)
{
    struct ev_clear *f = (struct ev_clear *)co;
    CO_BEGIN(co);
    event_init(&f->e);
    f->w[0] = TASK_SPAWN(ew, struct ew, .e = &f->e, .name = "W1");
    f->w[1] = TASK_SPAWN(ew, struct ew, .e = &f->e, .name = "W2");
    AWAIT(task_yield());
    event_set(&f->e);
    event_clear(&f->e);
    ev("set clear is_set%d", event_is_set(&f->e));
    f->w[2] = TASK_SPAWN(ew, struct ew, .e = &f->e, .name = "W3");
    AWAIT(task_yield());
    ev("W3.%s", task_state_name(f->w[2]->state));
    ev("set");
    event_set(&f->e);
    for (f->i = 0; f->i < 3; f->i++)
        AWAIT(task_join(f->w[f->i]));
    CO_END;
}

START_TEST(event_set_then_cleared_still_wakes_with_zero)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, ev_clear, struct ev_clear), 0);
    ck_assert_str_eq(evlog,
                     "W1.wait W2.wait set clear is_set0 W1=ok W2=ok W3.wait W3.parked set W3=ok");
    free(log);
}
END_TEST

/* ===== cancellation ========================================================== */

/* task_cancel of a parked waiter: it leaves the lot at once and returns
 * -ECANCELED; it is joined (freed) before the set, so a link left behind
 * would be a use after free (SAN and valgrind see it).  The set wakes only
 * the other two. */
struct ev_cancel { co_t co; struct event e; task_t *w[3]; int i; };
static int ev_cancel(co_t *co)
{
    struct ev_cancel *f = (struct ev_cancel *)co;
    CO_BEGIN(co);
    event_init(&f->e);
    f->w[0] = TASK_SPAWN(ew, struct ew, .e = &f->e, .name = "W1");
    f->w[1] = TASK_SPAWN(ew, struct ew, .e = &f->e, .name = "W2");
    f->w[2] = TASK_SPAWN(ew, struct ew, .e = &f->e, .name = "W3");
    AWAIT(task_yield());
    task_cancel(f->w[1]);
    ev("lot%zu", s5_lot_len(&f->e.waiters));
    AWAIT(task_join(f->w[1]));
    ev("joined%ld", (long)CO_VALUE);
    ev("set");
    event_set(&f->e);
    AWAIT(task_join(f->w[0]));
    AWAIT(task_join(f->w[2]));
    ev("lot%zu", s5_lot_len(&f->e.waiters));
    CO_END;
}

START_TEST(event_cancelled_waiter_leaves_the_lot)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, ev_cancel, struct ev_cancel), 0);
    ck_assert_str_eq(evlog,
                     "W1.wait W2.wait W3.wait lot2 W2=ECANCELED joined0 set W1=ok W3=ok lot0");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* A scope's deadline around a wait: -ETIMEDOUT at the deadline, out of the
 * lot; a later set wakes only the waiter without a scope. */
struct ev_timed { co_t co; struct event *e; struct scope sc; int err; };
static int ev_timed(co_t *co)
{
    struct ev_timed *f = (struct ev_timed *)co;
    CO_BEGIN(co);
    scope_fail_after(&f->sc, 100);
    AWAIT_CATCH(event_wait(f->e), f->err);
    f->err = scope_close(&f->sc, f->err);
    ev("T=%s@%llu", s5_err(f->err), S5_MS);
    CO_END;
}

struct ev_scope { co_t co; struct event e; task_t *t, *v; };
static int ev_scope(co_t *co)
{
    struct ev_scope *f = (struct ev_scope *)co;
    CO_BEGIN(co);
    event_init(&f->e);
    f->t = TASK_SPAWN(ev_timed, struct ev_timed, .e = &f->e);
    f->v = TASK_SPAWN(ew, struct ew, .e = &f->e, .name = "V");
    AWAIT(sleep_ms(200));
    ev("lot%zu@%llu", s5_lot_len(&f->e.waiters), S5_MS);
    AWAIT(task_join(f->t));
    event_set(&f->e);
    AWAIT(task_join(f->v));
    CO_END;
}

START_TEST(event_wait_times_out_in_scope)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, ev_scope, struct ev_scope), 0);
    ck_assert_str_eq(evlog, "V.wait T=ETIMEDOUT@100 lot1@200 V=ok");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* A group whose child fails cancels the siblings waiting on the event: both
 * leave the lot, and the group raises the child's error. */
struct ev_boom { co_t co; struct event *e; int i; };
static int ev_boom(co_t *co)
{
    struct ev_boom *f = (struct ev_boom *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < 10 && s5_lot_len(&f->e->waiters) < 2; f->i++)
        AWAIT(task_yield());
    ev("boom");
    CO_RAISE(-EIO);
    CO_END;
}

struct ev_group { co_t co; struct event e; group_t g; int err; };
static int ev_group(co_t *co)
{
    struct ev_group *f = (struct ev_group *)co;
    CO_BEGIN(co);
    event_init(&f->e);
    group_init(&f->g);
    GROUP_SPAWN(&f->g, ew, struct ew, .e = &f->e, .name = "W1");
    GROUP_SPAWN(&f->g, ew, struct ew, .e = &f->e, .name = "W2");
    GROUP_SPAWN(&f->g, ev_boom, struct ev_boom, .e = &f->e);
    CO_FINALLY
    AWAIT_CATCH(group_join(&f->g, CO_ERROR), f->err);
    ev("joined=%s lot%zu", s5_err(f->err), s5_lot_len(&f->e.waiters));
    if (f->err)
        CO_ERROR = f->err;
    CO_END;
}

START_TEST(event_waiters_cancelled_by_their_group)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, ev_group, struct ev_group), -EIO);
    ck_assert_str_eq(evlog, "W1.wait W2.wait boom W1=ECANCELED W2=ECANCELED joined=EIO lot0");
    free(log);
}
END_TEST

/* A wait is an await even when it could complete at once: a cancellation
 * that is due is delivered there, set event or not, and consumed (the next
 * wait completes).  Due from task_cancel, and from an expired scope. */
struct ev_due { co_t co; struct event e; struct scope sc; int err; };
static int ev_due(co_t *co)
{
    struct ev_due *f = (struct ev_due *)co;
    CO_BEGIN(co);
    event_init(&f->e);
    event_set(&f->e);
    task_cancel(task_current()); /* running: it is due at the next await */
    AWAIT_CATCH(event_wait(&f->e), f->err);
    ev("first=%s", s5_err(f->err));
    AWAIT_CATCH(event_wait(&f->e), f->err);
    ev("second=%s", s5_err(f->err));
    scope_fail_after(&f->sc, 0); /* expired from the start */
    AWAIT_CATCH(event_wait(&f->e), f->err);
    f->err = scope_close(&f->sc, f->err);
    ev("scoped=%s", s5_err(f->err));
    AWAIT_CATCH(event_wait(&f->e), f->err);
    ev("after=%s set%d lot%zu", s5_err(f->err), event_is_set(&f->e),
       s5_lot_len(&f->e.waiters));
    CO_END;
}

START_TEST(event_wait_delivers_a_due_cancellation_even_when_set)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, ev_due, struct ev_due), 0);
    ck_assert_str_eq(evlog, "first=ECANCELED second=ok scoped=ETIMEDOUT after=ok set1 lot0");
    free(log);
}
END_TEST

/* ===== outside a task ======================================================== */

struct ev_out { co_t co; struct event *e; int err; };
static int ev_out(co_t *co)
{
    struct ev_out *f = (struct ev_out *)co;
    CO_BEGIN(co);
    AWAIT_CATCH(event_wait(f->e), f->err);
    CO_RETURN(7);
    CO_END;
}

START_TEST(event_wait_outside_a_task_is_enoloop)
{
    struct event e;
    event_init(&e);
    struct ev_out f = {.e = &e, .err = 1};
    co_init(&f.co, ev_out);
    intptr_t v = 0;
    ck_assert_int_eq(co_next(&f.co, &v), CO_RETURNED);
    ck_assert_int_eq(v, 7);
    ck_assert_int_eq(f.err, TASK_ENOLOOP);
    /* Even on a set event, and nothing is parked. */
    event_set(&e);
    struct ev_out g = {.e = &e, .err = 1};
    co_init(&g.co, ev_out);
    ck_assert_int_eq(co_next(&g.co, NULL), CO_RETURNED);
    ck_assert_int_eq(g.err, TASK_ENOLOOP);
    ck_assert_int_eq(event_wait(&e), TASK_OP_NOW);
    ck_assert(lot_empty(&e.waiters));
}
END_TEST

void stage05_add_event(Suite *s)
{
    TCase *tc = s5_case(s, "event");
    tcase_add_test(tc, event_set_clear_is_set);
    tcase_add_test(tc, event_wait_on_set_event_returns_at_once);
    tcase_add_test(tc, event_set_wakes_every_waiter_in_fifo_order);
    tcase_add_test(tc, event_set_then_cleared_still_wakes_with_zero);
    tcase_add_test(tc, event_cancelled_waiter_leaves_the_lot);
    tcase_add_test(tc, event_wait_times_out_in_scope);
    tcase_add_test(tc, event_waiters_cancelled_by_their_group);
    tcase_add_test(tc, event_wait_delivers_a_due_cancellation_even_when_set);
    tcase_add_test(tc, event_wait_outside_a_task_is_enoloop);
}
