/*
 * test_stage05_sem.c - Semaphore and BoundedSemaphore: counting, FIFO hand-
 * off of a released unit, try_acquire, the bound, and units never lost or
 * invented by a cancellation.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stage05_util.h"

/* A contender: yields `pre` times, then `rounds` times takes a unit, logs
 * "<name><round>" and gives it back.  A failed acquire is logged
 * "<name>=<err>" and ends it. */
struct sw {
    co_t co;
    struct sem *s;
    const char *name;
    int pre, rounds, i, j, err;
};
static int sw(co_t *co)
{
    struct sw *f = (struct sw *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->pre; f->i++)
        AWAIT(task_yield());
    for (f->j = 1; f->j <= (f->rounds ? f->rounds : 1); f->j++) {
        AWAIT_CATCH(sem_acquire(f->s), f->err);
        if (f->err) {
            ev("%s=%s", f->name, s5_err(f->err));
            CO_RETURN(f->err);
        }
        ev("%s%d", f->name, f->j);
        if (sem_release(f->s) != 0)
            ev("%s.release-failed", f->name);
    }
    CO_END;
}

#define SW(sem, nm, ...) s5_named(TASK_SPAWN(sw, struct sw, .s = (sem), .name = nm, __VA_ARGS__), nm)

/* ===== counting ============================================================== */

struct sm_count { co_t co; struct sem s; int err, i; };
static int sm_count(co_t *co)
{
    struct sm_count *f = (struct sm_count *)co;
    CO_BEGIN(co);
    sem_init(&f->s, 2);
    ev("v%u locked%d", sem_value(&f->s), sem_locked(&f->s));
    AWAIT_CATCH(sem_acquire(&f->s), f->err);
    ev("acq=%s v%u", s5_err(f->err), sem_value(&f->s));
    AWAIT_CATCH(sem_acquire(&f->s), f->err);
    ev("acq=%s v%u locked%d", s5_err(f->err), sem_value(&f->s), sem_locked(&f->s));
    ev("try=%s", s5_err(sem_try_acquire(&f->s)));
    ev("v%u", sem_value(&f->s));
    for (f->i = 0; f->i < 3; f->i++) /* past the initial value: not bounded */
        ev("rel=%s", s5_err(sem_release(&f->s)));
    ev("v%u locked%d", sem_value(&f->s), sem_locked(&f->s));
    ev("try=%s", s5_err(sem_try_acquire(&f->s)));
    ev("v%u", sem_value(&f->s));
    CO_END;
}

START_TEST(sem_counts_units)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, sm_count, struct sm_count), 0);
    ck_assert_str_eq(evlog, "v2 locked0 acq=ok v1 acq=ok v0 locked1 try=EAGAIN v0 rel=ok rel=ok "
                            "rel=ok v3 locked0 try=ok v2");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

START_TEST(sem_bounded_refuses_over_release)
{
    struct sem s;
    sem_init_bounded(&s, 2);
    ck_assert_uint_eq(sem_value(&s), 2);
    ck_assert_int_eq(sem_release(&s), -EOVERFLOW);
    ck_assert_uint_eq(sem_value(&s), 2);
    ck_assert_int_eq(sem_try_acquire(&s), 0);
    ck_assert_int_eq(sem_try_acquire(&s), 0);
    ck_assert_int_eq(sem_try_acquire(&s), -EAGAIN);
    ck_assert_uint_eq(sem_value(&s), 0);
    ck_assert_int_eq(sem_release(&s), 0);
    ck_assert_int_eq(sem_release(&s), 0);
    ck_assert_uint_eq(sem_value(&s), 2);
    ck_assert_int_eq(sem_release(&s), -EOVERFLOW);
    ck_assert_uint_eq(sem_value(&s), 2);
    /* The unbounded kind counts on. */
    struct sem u;
    sem_init(&u, 1);
    ck_assert_int_eq(sem_release(&u), 0);
    ck_assert_int_eq(sem_release(&u), 0);
    ck_assert_uint_eq(sem_value(&u), 3);
}
END_TEST

/* Bounded with a waiter: the release hands the unit over (0, value stays
 * 0); the waiter's own release then fills the semaphore up, and one more is
 * refused. */
struct sm_bwait { co_t co; struct sem *s; };
static int sm_bwait(co_t *co)
{
    struct sm_bwait *f = (struct sm_bwait *)co;
    CO_BEGIN(co);
    AWAIT(sem_acquire(f->s));
    ev("A.got v%u", sem_value(f->s));
    ev("A.rel=%s", s5_err(sem_release(f->s)));
    ev("v%u", sem_value(f->s));
    ev("A.rel=%s", s5_err(sem_release(f->s)));
    ev("v%u", sem_value(f->s));
    CO_END;
}

struct sm_bounded { co_t co; struct sem s; task_t *a; };
static int sm_bounded(co_t *co)
{
    struct sm_bounded *f = (struct sm_bounded *)co;
    CO_BEGIN(co);
    sem_init_bounded(&f->s, 1);
    AWAIT(sem_acquire(&f->s));
    f->a = TASK_SPAWN(sm_bwait, struct sm_bwait, .s = &f->s);
    AWAIT(task_yield());
    ev("lot%zu", s5_lot_len(&f->s.waiters));
    ev("rel=%s", s5_err(sem_release(&f->s)));
    ev("v%u", sem_value(&f->s));
    AWAIT(task_join(f->a));
    CO_END;
}

START_TEST(sem_bounded_release_hands_over_to_a_waiter)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, sm_bounded, struct sm_bounded), 0);
    ck_assert_str_eq(evlog, "lot1 rel=ok v0 A.got v0 A.rel=ok v1 A.rel=EOVERFLOW v1");
    free(log);
}
END_TEST

/* ===== fairness ============================================================== */

/* As for the lock: A, B, C queue as B, C, A; a released unit goes to B
 * (the value stays 0, so main cannot take it back), and main, which asks
 * again at once, queues behind C and A. */
struct sm_fifo { co_t co; struct sem s; task_t *t[3]; int i; };
static int sm_fifo(co_t *co)
{
    struct sm_fifo *f = (struct sm_fifo *)co;
    CO_BEGIN(co);
    sem_init(&f->s, 1);
    AWAIT(sem_acquire(&f->s));
    f->t[0] = SW(&f->s, "A", .pre = 2, .rounds = 2);
    f->t[1] = SW(&f->s, "B", .pre = 0, .rounds = 2);
    f->t[2] = SW(&f->s, "C", .pre = 1, .rounds = 2);
    for (f->i = 0; f->i < 20 && s5_lot_len(&f->s.waiters) < 3; f->i++)
        AWAIT(task_yield());
    ev("lot:%s", s5_lot_names(&f->s.waiters));
    sem_release(&f->s);
    ev("v%u", sem_value(&f->s));
    ev("try=%s lot:%s", s5_err(sem_try_acquire(&f->s)), s5_lot_names(&f->s.waiters));
    AWAIT(sem_acquire(&f->s));
    ev("main");
    sem_release(&f->s);
    for (f->i = 0; f->i < 3; f->i++)
        AWAIT(task_join(f->t[f->i]));
    ev("v%u", sem_value(&f->s));
    CO_END;
}

START_TEST(sem_fifo_hand_off)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, sm_fifo, struct sm_fifo), 0);
    ck_assert_str_eq(evlog, "lot:B,C,A v0 try=EAGAIN lot:C,A B1 C1 A1 main B2 C2 A2 v1");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== cancellation ========================================================== */

/* A cancelled acquire takes no unit: B leaves the queue, the next two
 * releases go to A and C, and the third is a free unit again. */
struct sm_cancel { co_t co; struct sem s; task_t *a, *b, *c; int err; };
static int sm_cancel(co_t *co)
{
    struct sm_cancel *f = (struct sm_cancel *)co;
    CO_BEGIN(co);
    sem_init(&f->s, 0);
    f->a = SW(&f->s, "A", .rounds = 1);
    f->b = SW(&f->s, "B", .rounds = 1);
    f->c = SW(&f->s, "C", .rounds = 1);
    AWAIT(task_yield());
    task_cancel(f->b);
    ev("lot:%s", s5_lot_names(&f->s.waiters));
    AWAIT(task_join(f->b));
    ev("v%u", sem_value(&f->s));
    sem_release(&f->s);
    ev("v%u", sem_value(&f->s));
    AWAIT(task_join(f->a)); /* A gives its unit back: it goes to C */
    AWAIT(task_join(f->c));
    ev("v%u", sem_value(&f->s));
    CO_END;
}

START_TEST(sem_cancelled_acquire_takes_no_unit)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, sm_cancel, struct sm_cancel), 0);
    ck_assert_str_eq(evlog, "lot:A,C B=ECANCELED v0 v0 A1 C1 v1");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* The same with a scope's deadline: -ETIMEDOUT at 100, and the unit
 * released at 200 is free (nobody took it). */
struct sm_timed { co_t co; struct sem *s; struct scope sc; int err; };
static int sm_timed(co_t *co)
{
    struct sm_timed *f = (struct sm_timed *)co;
    CO_BEGIN(co);
    scope_fail_after(&f->sc, 100);
    AWAIT_CATCH(sem_acquire(f->s), f->err);
    f->err = scope_close(&f->sc, f->err);
    ev("T=%s@%llu", s5_err(f->err), S5_MS);
    CO_END;
}

struct sm_scope { co_t co; struct sem s; task_t *t; };
static int sm_scope(co_t *co)
{
    struct sm_scope *f = (struct sm_scope *)co;
    CO_BEGIN(co);
    sem_init(&f->s, 0);
    f->t = TASK_SPAWN(sm_timed, struct sm_timed, .s = &f->s);
    AWAIT(sleep_ms(200));
    ev("lot%zu", s5_lot_len(&f->s.waiters));
    sem_release(&f->s);
    ev("v%u", sem_value(&f->s));
    AWAIT(task_join(f->t));
    CO_END;
}

START_TEST(sem_acquire_times_out_in_scope)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, sm_scope, struct sm_scope), 0);
    ck_assert_str_eq(evlog, "T=ETIMEDOUT@100 lot0 v1");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* A due cancellation is delivered even when a unit is free, and takes
 * none. */
struct sm_due { co_t co; struct sem s; struct scope sc; int err; };
static int sm_due(co_t *co)
{
    struct sm_due *f = (struct sm_due *)co;
    CO_BEGIN(co);
    sem_init(&f->s, 1);
    task_cancel(task_current());
    AWAIT_CATCH(sem_acquire(&f->s), f->err);
    ev("due=%s v%u", s5_err(f->err), sem_value(&f->s));
    scope_fail_after(&f->sc, 0);
    AWAIT_CATCH(sem_acquire(&f->s), f->err);
    f->err = scope_close(&f->sc, f->err);
    ev("scoped=%s v%u", s5_err(f->err), sem_value(&f->s));
    AWAIT_CATCH(sem_acquire(&f->s), f->err);
    ev("after=%s v%u", s5_err(f->err), sem_value(&f->s));
    CO_END;
}

START_TEST(sem_acquire_with_a_due_cancellation_takes_no_unit)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, sm_due, struct sm_due), 0);
    ck_assert_str_eq(evlog, "due=ECANCELED v1 scoped=ETIMEDOUT v1 after=ok v0");
    free(log);
}
END_TEST

/* Handed a unit and cancelled in the same iteration: the acquire returns 0
 * (it has the unit), the cancellation comes at the next await, and its
 * CO_FINALLY gives the unit back - to B, queued behind.  No unit lost. */
struct sm_keeper { co_t co; struct sem *s; int got; };
static int sm_keeper(co_t *co)
{
    struct sm_keeper *f = (struct sm_keeper *)co;
    CO_BEGIN(co);
    AWAIT(sem_acquire(f->s));
    f->got = 1;
    ev("A.got");
    AWAIT(task_yield());
    ev("A.unreached");
    CO_FINALLY
    ev("A.fin=%s", s5_err(CO_ERROR));
    if (f->got)
        sem_release(f->s);
    CO_END;
}

struct sm_handed { co_t co; struct sem s; task_t *a, *b; int err; };
static int sm_handed(co_t *co)
{
    struct sm_handed *f = (struct sm_handed *)co;
    CO_BEGIN(co);
    sem_init(&f->s, 0);
    f->a = s5_named(TASK_SPAWN(sm_keeper, struct sm_keeper, .s = &f->s), "A");
    f->b = SW(&f->s, "B", .rounds = 1);
    AWAIT(task_yield());
    ev("lot:%s", s5_lot_names(&f->s.waiters));
    sem_release(&f->s);
    task_cancel(f->a);
    ev("v%u lot:%s", sem_value(&f->s), s5_lot_names(&f->s.waiters));
    AWAIT_CATCH(task_join(f->a), f->err);
    ev("A=%s", s5_err(f->err));
    AWAIT(task_join(f->b));
    ev("v%u", sem_value(&f->s));
    CO_END;
}

START_TEST(sem_handed_then_cancelled_keeps_its_unit)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, sm_handed, struct sm_handed), 0);
    ck_assert_str_eq(evlog, "lot:A,B v0 lot:B A.got A.fin=ECANCELED B1 A=ECANCELED v1");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

void stage05_add_sem(Suite *s)
{
    TCase *tc = s5_case(s, "semaphore");
    tcase_add_test(tc, sem_counts_units);
    tcase_add_test(tc, sem_bounded_refuses_over_release);
    tcase_add_test(tc, sem_bounded_release_hands_over_to_a_waiter);
    tcase_add_test(tc, sem_fifo_hand_off);
    tcase_add_test(tc, sem_cancelled_acquire_takes_no_unit);
    tcase_add_test(tc, sem_acquire_times_out_in_scope);
    tcase_add_test(tc, sem_acquire_with_a_due_cancellation_takes_no_unit);
    tcase_add_test(tc, sem_handed_then_cancelled_keeps_its_unit);
}
