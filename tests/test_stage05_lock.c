/*
 * test_stage05_lock.c - Lock: ownership and its errors, FIFO hand-off with
 * no barging, cancelled and timed-out acquires that never hold the lock, a
 * lock handed over and cancelled in the same iteration (kept, cancelled at
 * the next await), and the scoped form lock_enter / lock_exit.
 *
 * Tasks are named (s5_named) so the queue can be shown by s5_lot_names.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stage05_util.h"

#define HOUR 3600000u

/* A contender: yields `pre` times, then `rounds` times acquires, logs
 * "<name><round>", yields `hold` times holding the lock, and releases.  A
 * failed acquire is logged "<name>=<err> held<0|1>" and ends it. */
struct lk {
    co_t co;
    struct lock *l;
    const char *name;
    int pre, rounds, hold, i, j, err;
};
static int lk(co_t *co)
{
    struct lk *f = (struct lk *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->pre; f->i++)
        AWAIT(task_yield());
    for (f->j = 1; f->j <= (f->rounds ? f->rounds : 1); f->j++) {
        AWAIT_CATCH(lock_acquire(f->l), f->err);
        if (f->err) {
            ev("%s=%s held%d", f->name, s5_err(f->err), lock_held(f->l));
            CO_RETURN(f->err);
        }
        ev("%s%d", f->name, f->j);
        for (f->i = 0; f->i < f->hold; f->i++)
            AWAIT(task_yield());
        if (lock_release(f->l) != 0)
            ev("%s.release-failed", f->name);
    }
    CO_END;
}

#define LK(lock, nm, ...) s5_named(TASK_SPAWN(lk, struct lk, .l = (lock), .name = nm, __VA_ARGS__), nm)

/* ===== ownership ============================================================= */

struct lk_basic { co_t co; struct lock l; task_t *y; int err; };
struct lk_other { co_t co; struct lock *l; };
static int lk_other(co_t *co)
{
    struct lk_other *f = (struct lk_other *)co;
    CO_BEGIN(co);
    ev("Y:locked%d held%d try=%s release=%s", lock_locked(f->l), lock_held(f->l),
       s5_err(lock_try_acquire(f->l)), s5_err(lock_release(f->l)));
    CO_END;
}

static int lk_basic(co_t *co)
{
    struct lk_basic *f = (struct lk_basic *)co;
    CO_BEGIN(co);
    lock_init(&f->l);
    ev("locked%d held%d", lock_locked(&f->l), lock_held(&f->l));
    ev("try=%s", s5_err(lock_try_acquire(&f->l)));
    ev("locked%d held%d", lock_locked(&f->l), lock_held(&f->l));
    ev("try=%s", s5_err(lock_try_acquire(&f->l)));
    AWAIT_CATCH(lock_acquire(&f->l), f->err);
    ev("acquire=%s held%d", s5_err(f->err), lock_held(&f->l));
    f->y = TASK_SPAWN(lk_other, struct lk_other, .l = &f->l);
    AWAIT(task_join(f->y)); /* another task: -EAGAIN, -EPERM, nothing changed */
    ev("held%d", lock_held(&f->l));
    ev("release=%s", s5_err(lock_release(&f->l)));
    ev("locked%d", lock_locked(&f->l));
    ev("release=%s", s5_err(lock_release(&f->l)));
    ev("locked%d", lock_locked(&f->l));
    AWAIT_CATCH(lock_acquire(&f->l), f->err); /* free: taken at once */
    ev("acquire=%s held%d", s5_err(f->err), lock_held(&f->l));
    ev("release=%s", s5_err(lock_release(&f->l)));
    CO_END;
}

START_TEST(lock_acquire_release_and_their_errors)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, lk_basic, struct lk_basic), 0);
    ck_assert_str_eq(evlog, "locked0 held0 try=ok locked1 held1 try=EDEADLK "
                            "acquire=EDEADLK held1 Y:locked1 held0 try=EAGAIN release=EPERM "
                            "held1 release=ok locked0 release=EPERM locked0 acquire=ok held1 "
                            "release=ok");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* A task that ends holding the lock leaves it held (by an id, nothing
 * dangles); outside any task nobody holds it and release is refused. */
struct lk_keep { co_t co; struct lock *l; };
static int lk_keep(co_t *co)
{
    struct lk_keep *f = (struct lk_keep *)co;
    CO_BEGIN(co);
    AWAIT(lock_acquire(f->l));
    CO_END;
}

START_TEST(lock_release_outside_a_task_is_eperm)
{
    struct lock fresh, l;
    lock_init(&fresh);
    ck_assert_int_eq(lock_release(&fresh), -EPERM);
    ck_assert_int_eq(lock_locked(&fresh), 0);
    ck_assert_int_eq(lock_try_acquire(&fresh), TASK_ENOLOOP);
    ck_assert_int_eq(lock_locked(&fresh), 0);

    lock_init(&l);
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, lk_keep, struct lk_keep, .l = &l), 0);
    free(log);
    ck_assert_int_eq(lock_locked(&l), 1);
    uint32_t owner = l.owner;
    ck_assert_uint_ne(owner, 0);
    ck_assert_int_eq(lock_held(&l), 0);
    ck_assert_int_eq(lock_release(&l), -EPERM);
    ck_assert_int_eq(lock_locked(&l), 1);
    ck_assert_uint_eq(l.owner, owner);
}
END_TEST

/* A non-holder's release is refused and changes nothing: the owner stays,
 * the queue stays, and the real release still hands the lock on. */
struct lk_thief { co_t co; struct lock *l; const char *name; };
static int lk_thief(co_t *co)
{
    struct lk_thief *f = (struct lk_thief *)co;
    CO_BEGIN(co);
    ev("%s.release=%s", f->name, s5_err(lock_release(f->l)));
    CO_END;
}

struct lk_nonholder { co_t co; struct lock l; task_t *x, *y; uint32_t me; };
static int lk_nonholder(co_t *co)
{
    struct lk_nonholder *f = (struct lk_nonholder *)co;
    CO_BEGIN(co);
    lock_init(&f->l);
    f->me = task_current()->id;
    AWAIT(lock_acquire(&f->l));
    f->x = LK(&f->l, "X", .rounds = 1);
    AWAIT(task_yield()); /* X parks */
    f->y = TASK_SPAWN(lk_thief, struct lk_thief, .l = &f->l, .name = "Y");
    AWAIT(task_join(f->y));
    ev("owner=main%d lot:%s", f->l.owner == f->me, s5_lot_names(&f->l.waiters));
    ev("release=%s", s5_err(lock_release(&f->l)));
    AWAIT(task_join(f->x));
    ev("locked%d", lock_locked(&f->l));
    CO_END;
}

START_TEST(lock_release_by_non_holder_is_eperm)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, lk_nonholder, struct lk_nonholder), 0);
    ck_assert_str_eq(evlog, "Y.release=EPERM owner=main1 lot:X release=ok X1 locked0");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* An acquire is an await even when the lock is free: a cancellation that
 * is due (task_cancel of the running task, an expired scope) is delivered
 * there, and the lock is not taken. */
struct lk_due { co_t co; struct lock l; struct scope sc; int err; };
static int lk_due(co_t *co)
{
    struct lk_due *f = (struct lk_due *)co;
    CO_BEGIN(co);
    lock_init(&f->l);
    task_cancel(task_current());
    AWAIT_CATCH(lock_acquire(&f->l), f->err);
    ev("due=%s locked%d", s5_err(f->err), lock_locked(&f->l));
    scope_fail_after(&f->sc, 0);
    AWAIT_CATCH(lock_acquire(&f->l), f->err);
    f->err = scope_close(&f->sc, f->err);
    ev("scoped=%s locked%d", s5_err(f->err), lock_locked(&f->l));
    AWAIT_CATCH(lock_acquire(&f->l), f->err);
    ev("after=%s held%d", s5_err(f->err), lock_held(&f->l));
    lock_release(&f->l);
    CO_END;
}

START_TEST(lock_acquire_with_a_due_cancellation_takes_nothing)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, lk_due, struct lk_due), 0);
    ck_assert_str_eq(evlog, "due=ECANCELED locked0 scoped=ETIMEDOUT locked0 after=ok held1");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== fairness ============================================================== */

/* A, B, C queue in the order B, C, A.  main's release hands the lock to B
 * (B holds it before it even runs: main cannot take it back), and main's
 * immediate acquire queues behind C and A.  Each contender releases and at
 * once acquires again, and queues behind the others in turn: no barging. */
struct lk_fifo { co_t co; struct lock l; task_t *t[3]; int i; };
static int lk_fifo(co_t *co)
{
    struct lk_fifo *f = (struct lk_fifo *)co;
    CO_BEGIN(co);
    lock_init(&f->l);
    AWAIT(lock_acquire(&f->l));
    f->t[0] = LK(&f->l, "A", .pre = 2, .rounds = 2);
    f->t[1] = LK(&f->l, "B", .pre = 0, .rounds = 2);
    f->t[2] = LK(&f->l, "C", .pre = 1, .rounds = 2);
    for (f->i = 0; f->i < 20 && s5_lot_len(&f->l.waiters) < 3; f->i++)
        AWAIT(task_yield());
    ev("lot:%s", s5_lot_names(&f->l.waiters));
    lock_release(&f->l);
    ev("ownerB%d try=%s lot:%s", f->l.owner == f->t[1]->id, s5_err(lock_try_acquire(&f->l)),
       s5_lot_names(&f->l.waiters));
    AWAIT(lock_acquire(&f->l));
    ev("main");
    lock_release(&f->l);
    for (f->i = 0; f->i < 3; f->i++)
        AWAIT(task_join(f->t[f->i]));
    ev("locked%d", lock_locked(&f->l));
    CO_END;
}

START_TEST(lock_fifo_hand_off_without_barging)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, lk_fifo, struct lk_fifo), 0);
    ck_assert_str_eq(evlog, "lot:B,C,A ownerB1 try=EAGAIN lot:C,A B1 C1 A1 main B2 C2 A2 locked0");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== cancellation ========================================================== */

/* A waiter that enters with lock_enter, parked, then cancelled: it never
 * holds the lock, its lock_exit leaves main's lock alone, and it is out of
 * the queue: main's release goes to A, A's to C. */
struct lk_genter { co_t co; struct lock *l; struct lock_guard g; const char *name; };
static int lk_genter(co_t *co)
{
    struct lk_genter *f = (struct lk_genter *)co;
    CO_BEGIN(co);
    AWAIT(lock_enter(f->l, &f->g));
    ev("%s.in", f->name);
    CO_FINALLY
    ev("%s.fin=%s held%d", f->name, s5_err(CO_ERROR), lock_held(f->l));
    lock_exit(&f->g);
    CO_END;
}

struct lk_cancel { co_t co; struct lock l; task_t *a, *b, *c; uint32_t me; int err; };
static int lk_cancel(co_t *co)
{
    struct lk_cancel *f = (struct lk_cancel *)co;
    CO_BEGIN(co);
    lock_init(&f->l);
    f->me = task_current()->id;
    AWAIT(lock_acquire(&f->l));
    f->a = LK(&f->l, "A", .rounds = 1);
    f->b = s5_named(TASK_SPAWN(lk_genter, struct lk_genter, .l = &f->l, .name = "B"), "B");
    f->c = LK(&f->l, "C", .rounds = 1);
    AWAIT(task_yield());
    ev("lot:%s", s5_lot_names(&f->l.waiters));
    task_cancel(f->b);
    ev("lot:%s", s5_lot_names(&f->l.waiters));
    AWAIT_CATCH(task_join(f->b), f->err);
    ev("B=%s owner=main%d", s5_err(f->err), f->l.owner == f->me);
    lock_release(&f->l);
    ev("ownerA%d", f->l.owner == f->a->id);
    AWAIT(task_join(f->a));
    AWAIT(task_join(f->c));
    ev("locked%d", lock_locked(&f->l));
    CO_END;
}

START_TEST(lock_cancelled_acquire_never_holds_and_leaves_the_queue)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, lk_cancel, struct lk_cancel), 0);
    ck_assert_str_eq(evlog, "lot:A,B,C lot:A,C B.fin=ECANCELED held0 B=ECANCELED owner=main1 "
                            "ownerA1 A1 C1 locked0");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* A scope's deadline around a contended acquire: fail_after gives
 * -ETIMEDOUT, move_on_after 0, and neither task ever holds the lock; the
 * waiter behind them gets it when main lets go. */
struct lk_timed {
    co_t co;
    struct lock *l;
    const char *name;
    uint64_t ms;
    int move_on, err;
    struct scope sc;
};
static int lk_timed(co_t *co)
{
    struct lk_timed *f = (struct lk_timed *)co;
    CO_BEGIN(co);
    if (f->move_on)
        scope_move_on_after(&f->sc, f->ms);
    else
        scope_fail_after(&f->sc, f->ms);
    AWAIT_CATCH(lock_acquire(f->l), f->err);
    f->err = scope_close(&f->sc, f->err);
    ev("%s=%s held%d@%llu", f->name, s5_err(f->err), lock_held(f->l), S5_MS);
    CO_END;
}

struct lk_scope { co_t co; struct lock l; task_t *w, *m, *v; };
static int lk_scope(co_t *co)
{
    struct lk_scope *f = (struct lk_scope *)co;
    CO_BEGIN(co);
    lock_init(&f->l);
    AWAIT(lock_acquire(&f->l));
    f->w = s5_named(TASK_SPAWN(lk_timed, struct lk_timed, .l = &f->l, .name = "W", .ms = 100), "W");
    f->m = s5_named(TASK_SPAWN(lk_timed, struct lk_timed, .l = &f->l, .name = "M", .ms = 150,
                               .move_on = 1), "M");
    f->v = LK(&f->l, "V", .rounds = 1);
    AWAIT(sleep_ms(300));
    ev("lot:%s@%llu", s5_lot_names(&f->l.waiters), S5_MS);
    lock_release(&f->l);
    ev("ownerV%d", f->l.owner == f->v->id);
    AWAIT(task_join(f->w));
    AWAIT(task_join(f->m));
    AWAIT(task_join(f->v));
    ev("locked%d", lock_locked(&f->l));
    CO_END;
}

START_TEST(lock_acquire_times_out_in_scope_never_holding)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, lk_scope, struct lk_scope), 0);
    ck_assert_str_eq(evlog, "W=ETIMEDOUT held0@100 M=ok held0@150 lot:V@300 ownerV1 V1 locked0");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* A group cancels its children parked on the lock when one fails: they
 * leave the queue, and main (the group's owner) still holds the lock. */
struct lk_boom { co_t co; struct lock *l; int i; };
static int lk_boom(co_t *co)
{
    struct lk_boom *f = (struct lk_boom *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < 10 && s5_lot_len(&f->l->waiters) < 2; f->i++)
        AWAIT(task_yield());
    ev("boom");
    CO_RAISE(-EIO);
    CO_END;
}

struct lk_group { co_t co; struct lock l; group_t g; int err; };
static int lk_group(co_t *co)
{
    struct lk_group *f = (struct lk_group *)co;
    CO_BEGIN(co);
    lock_init(&f->l);
    AWAIT(lock_acquire(&f->l));
    group_init(&f->g);
    GROUP_SPAWN(&f->g, lk, struct lk, .l = &f->l, .name = "A");
    GROUP_SPAWN(&f->g, lk, struct lk, .l = &f->l, .name = "B");
    GROUP_SPAWN(&f->g, lk_boom, struct lk_boom, .l = &f->l);
    CO_FINALLY
    AWAIT_CATCH(group_join(&f->g, CO_ERROR), f->err);
    ev("joined=%s held%d lot%zu", s5_err(f->err), lock_held(&f->l), s5_lot_len(&f->l.waiters));
    lock_release(&f->l);
    ev("locked%d", lock_locked(&f->l));
    CO_END;
}

START_TEST(lock_waiters_cancelled_by_their_group)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, lk_group, struct lk_group), 0);
    ck_assert_str_eq(evlog, "boom A=ECANCELED held0 B=ECANCELED held0 joined=EIO held1 lot0 "
                            "locked0");
    free(log);
}
END_TEST

/* Handed the lock and cancelled in the same iteration, before it ran: the
 * acquire returns 0 holding the lock (trio's rule: a result in hand is not
 * undone), the cancellation arrives at the next await, and CO_FINALLY's
 * lock_exit passes the lock on to B.  Nothing is lost. */
struct lk_handed { co_t co; struct lock *l; struct lock_guard g; };
static int lk_handed(co_t *co)
{
    struct lk_handed *f = (struct lk_handed *)co;
    CO_BEGIN(co);
    AWAIT(lock_enter(f->l, &f->g));
    ev("A.got held%d", lock_held(f->l));
    AWAIT(task_yield());
    ev("A.unreached");
    CO_FINALLY
    ev("A.fin=%s held%d", s5_err(CO_ERROR), lock_held(f->l));
    lock_exit(&f->g);
    ev("A.exit held%d lot:%s", lock_held(f->l), s5_lot_names(&f->l->waiters));
    CO_END;
}

struct lk_hc { co_t co; struct lock l; task_t *a, *b; int err; };
static int lk_hc(co_t *co)
{
    struct lk_hc *f = (struct lk_hc *)co;
    CO_BEGIN(co);
    lock_init(&f->l);
    AWAIT(lock_acquire(&f->l));
    f->a = s5_named(TASK_SPAWN(lk_handed, struct lk_handed, .l = &f->l), "A");
    f->b = LK(&f->l, "B", .rounds = 1);
    AWAIT(task_yield());
    ev("lot:%s", s5_lot_names(&f->l.waiters));
    lock_release(&f->l);
    task_cancel(f->a);
    ev("ownerA%d %s", f->l.owner == f->a->id, task_state_name(f->a->state));
    AWAIT_CATCH(task_join(f->a), f->err);
    ev("A=%s", s5_err(f->err));
    AWAIT(task_join(f->b));
    ev("locked%d", lock_locked(&f->l));
    CO_END;
}

START_TEST(lock_handed_then_cancelled_keeps_it_until_next_await)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, lk_hc, struct lk_hc), 0);
    ck_assert_str_eq(evlog, "lot:A,B ownerA1 ready A.got held1 A.fin=ECANCELED held1 "
                            "A.exit held0 lot: B1 A=ECANCELED locked0");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== lock_enter / lock_exit ================================================== */

/* G enters, yields once, then leaves: 0 normally, 1 by CO_RAISE, 2 by
 * task_cancel while it sleeps holding the lock, 3 by its own scope's
 * deadline while it sleeps holding the lock.  On every path CO_FINALLY's
 * lock_exit releases, and W (queued behind) gets the lock. */
struct lk_guard { co_t co; struct lock *l; struct lock_guard g; struct scope sc; int mode; };
static int lk_guard(co_t *co)
{
    struct lk_guard *f = (struct lk_guard *)co;
    CO_BEGIN(co);
    AWAIT(lock_enter(f->l, &f->g));
    ev("G.in held%d", lock_held(f->l));
    AWAIT(task_yield());
    if (f->mode == 1)
        CO_RAISE(-EIO);
    if (f->mode == 3)
        scope_fail_after(&f->sc, 50);
    if (f->mode >= 2)
        AWAIT(sleep_ms(HOUR));
    CO_FINALLY
    CO_ERROR = scope_close(&f->sc, CO_ERROR);
    ev("G.fin=%s held%d", s5_err(CO_ERROR), lock_held(f->l));
    lock_exit(&f->g);
    ev("G.out held%d", lock_held(f->l));
    CO_END;
}

struct lk_scoped { co_t co; struct lock l; task_t *g, *w; int mode, i, err; };
static int lk_scoped(co_t *co)
{
    struct lk_scoped *f = (struct lk_scoped *)co;
    CO_BEGIN(co);
    lock_init(&f->l);
    f->g = s5_named(TASK_SPAWN(lk_guard, struct lk_guard, .l = &f->l, .mode = f->mode), "G");
    f->w = LK(&f->l, "W", .rounds = 1);
    for (f->i = 0; f->i < 10 && s5_lot_len(&f->l.waiters) < 1; f->i++)
        AWAIT(task_yield());
    ev("ownerG%d", f->l.owner == f->g->id);
    if (f->mode == 2) {
        AWAIT(task_yield()); /* G is asleep, holding the lock */
        task_cancel(f->g);
    }
    AWAIT_CATCH(task_join(f->g), f->err);
    ev("G=%s", s5_err(f->err));
    AWAIT(task_join(f->w));
    ev("locked%d", lock_locked(&f->l));
    CO_END;
}

static const char *const scoped_logs[] = {
    "G.in held1 ownerG1 G.fin=ok held1 G.out held0 W1 G=ok locked0",
    "G.in held1 ownerG1 G.fin=EIO held1 G.out held0 W1 G=EIO locked0",
    "G.in held1 ownerG1 G.fin=ECANCELED held1 G.out held0 W1 G=ECANCELED locked0",
    "G.in held1 ownerG1 G.fin=ETIMEDOUT held1 G.out held0 W1 G=ETIMEDOUT locked0",
};

START_TEST(lock_exit_releases_on_every_path)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, lk_scoped, struct lk_scoped, .mode = _i), 0);
    ck_assert_str_eq(evlog, scoped_logs[_i]);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* lock_enter of a lock an outer frame holds fails with -EDEADLK, and the
 * inner frame's lock_exit must not release the outer frame's lock: W stays
 * queued until the outer lock_exit. */
struct lk_inner { co_t co; struct lock *l; struct lock_guard g; };
static int lk_inner(co_t *co)
{
    struct lk_inner *f = (struct lk_inner *)co;
    CO_BEGIN(co);
    AWAIT(lock_enter(f->l, &f->g));
    ev("inner.unreached");
    CO_FINALLY
    ev("inner.fin=%s", s5_err(CO_ERROR));
    lock_exit(&f->g);
    ev("inner.exit held%d", lock_held(f->l));
    CO_END;
}

struct lk_nested {
    co_t co;
    struct lock l;
    struct lock_guard g;
    struct lk_inner inner;
    task_t *w;
    int err;
};
static int lk_nested(co_t *co)
{
    struct lk_nested *f = (struct lk_nested *)co;
    CO_BEGIN(co);
    lock_init(&f->l);
    AWAIT(lock_enter(&f->l, &f->g));
    f->w = LK(&f->l, "W", .rounds = 1);
    AWAIT(task_yield()); /* W queues */
    f->inner.l = &f->l;
    AWAIT_CO_CATCH(&f->inner.co, lk_inner, f->err);
    ev("outer: inner=%s held%d lot:%s", s5_err(f->err), lock_held(&f->l),
       s5_lot_names(&f->l.waiters));
    AWAIT(task_yield());
    ev("still held%d", lock_held(&f->l)); /* W did not get it meanwhile */
    CO_FINALLY
    lock_exit(&f->g);
    ev("outer.exit held%d", lock_held(&f->l));
    AWAIT(task_join(f->w));
    CO_END;
}

START_TEST(lock_enter_failed_does_not_release_the_outer_hold)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, lk_nested, struct lk_nested), 0);
    ck_assert_str_eq(evlog, "inner.fin=EDEADLK inner.exit held1 outer: inner=EDEADLK held1 lot:W "
                            "still held1 outer.exit held0 W1");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* lock_exit forgets the lock: calling it again does nothing, even once the
 * task holds the lock again by a plain acquire. */
struct lk_twice { co_t co; struct lock l; struct lock_guard g; };
static int lk_twice(co_t *co)
{
    struct lk_twice *f = (struct lk_twice *)co;
    CO_BEGIN(co);
    lock_init(&f->l);
    AWAIT(lock_enter(&f->l, &f->g));
    ev("in held%d", lock_held(&f->l));
    lock_exit(&f->g);
    ev("exit locked%d", lock_locked(&f->l));
    lock_exit(&f->g);
    ev("exit locked%d", lock_locked(&f->l));
    AWAIT(lock_acquire(&f->l));
    lock_exit(&f->g);
    ev("acquired, exit held%d", lock_held(&f->l));
    ev("release=%s", s5_err(lock_release(&f->l)));
    CO_END;
}

START_TEST(lock_exit_twice_is_harmless)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, lk_twice, struct lk_twice), 0);
    ck_assert_str_eq(evlog, "in held1 exit locked0 exit locked0 acquired, exit held1 release=ok");
    free(log);
}
END_TEST

void stage05_add_lock(Suite *s)
{
    TCase *tc = s5_case(s, "lock");
    tcase_add_test(tc, lock_acquire_release_and_their_errors);
    tcase_add_test(tc, lock_release_outside_a_task_is_eperm);
    tcase_add_test(tc, lock_release_by_non_holder_is_eperm);
    tcase_add_test(tc, lock_acquire_with_a_due_cancellation_takes_nothing);
    tcase_add_test(tc, lock_fifo_hand_off_without_barging);
    tcase_add_test(tc, lock_cancelled_acquire_never_holds_and_leaves_the_queue);
    tcase_add_test(tc, lock_acquire_times_out_in_scope_never_holding);
    tcase_add_test(tc, lock_waiters_cancelled_by_their_group);
    tcase_add_test(tc, lock_handed_then_cancelled_keeps_it_until_next_await);
    tcase_add_loop_test(tc, lock_exit_releases_on_every_path, 0, 4);
    tcase_add_test(tc, lock_enter_failed_does_not_release_the_outer_hold);
    tcase_add_test(tc, lock_exit_twice_is_harmless);
}
