/*
 * test_stage05_cond.c - Condition: the lock rules, wait releasing and
 * retaking the lock, notify(n) / notify_all in FIFO order, COND_WAIT_FOR,
 * wait morphing (a notified task queues for the lock behind those already
 * waiting for it), and cancellation: a cancelled wait returns -ECANCELED
 * holding the lock, and a notification is never lost to a cancellation.
 *
 * "cond:" is the condition's lot, "lock:" the lock's queue (s5_lot_names).
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stage05_util.h"

/* A waiter: yields `pre` times, takes the lock, waits once, logs
 * "<name>=<result> held<0|1>", yields `hold` times still holding the lock
 * (logging "<name>.rel" before it lets go when hold > 0), and releases. */
struct cw {
    co_t co;
    struct cond *c;
    const char *name;
    int pre, hold, i, err;
};
static int cw(co_t *co)
{
    struct cw *f = (struct cw *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->pre; f->i++)
        AWAIT(task_yield());
    AWAIT(lock_acquire(f->c->lock));
    AWAIT_CATCH(cond_wait(f->c), f->err);
    ev("%s=%s held%d", f->name, s5_err(f->err), lock_held(f->c->lock));
    for (f->i = 0; f->i < f->hold; f->i++)
        AWAIT(task_yield());
    if (f->hold)
        ev("%s.rel", f->name);
    if (lock_release(f->c->lock) != 0)
        ev("%s.release-failed", f->name);
    CO_END;
}

#define CW(cv, nm, ...) s5_named(TASK_SPAWN(cw, struct cw, .c = (cv), .name = nm, __VA_ARGS__), nm)

/* ===== the lock rules ========================================================== */

struct cd_holder { co_t co; struct lock *l; struct event *done; };
static int cd_holder(co_t *co)
{
    struct cd_holder *f = (struct cd_holder *)co;
    CO_BEGIN(co);
    AWAIT(lock_acquire(f->l));
    AWAIT(event_wait(f->done));
    lock_release(f->l);
    CO_END;
}

struct cd_eperm { co_t co; struct lock l; struct cond c; struct event done; task_t *y; int err; };
static int cd_eperm(co_t *co)
{
    struct cd_eperm *f = (struct cd_eperm *)co;
    CO_BEGIN(co);
    lock_init(&f->l);
    cond_init(&f->c, &f->l);
    event_init(&f->done);
    AWAIT_CATCH(cond_wait(&f->c), f->err);
    ev("wait=%s cond%zu locked%d", s5_err(f->err), s5_lot_len(&f->c.waiters), lock_locked(&f->l));
    ev("notify=%s", s5_err(cond_notify(&f->c, 1)));
    ev("all=%s", s5_err(cond_notify_all(&f->c)));
    /* Held by another task: still not ours to wait or notify on. */
    f->y = TASK_SPAWN(cd_holder, struct cd_holder, .l = &f->l, .done = &f->done);
    AWAIT(task_yield());
    AWAIT_CATCH(cond_wait(&f->c), f->err);
    ev("wait=%s", s5_err(f->err));
    ev("notify=%s", s5_err(cond_notify(&f->c, 1)));
    ev("all=%s", s5_err(cond_notify_all(&f->c)));
    event_set(&f->done);
    AWAIT(task_join(f->y));
    /* Holding it, with nobody waiting: 0 notified. */
    AWAIT(lock_acquire(&f->l));
    ev("notify=%d all=%d", cond_notify(&f->c, 3), cond_notify_all(&f->c));
    lock_release(&f->l);
    CO_END;
}

START_TEST(cond_needs_the_lock)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, cd_eperm, struct cd_eperm), 0);
    ck_assert_str_eq(evlog, "wait=EPERM cond0 locked0 notify=EPERM all=EPERM wait=EPERM "
                            "notify=EPERM all=EPERM notify=0 all=0");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* cond_wait lets the lock go (B takes it with try_acquire), and A wakes
 * only once B has released it: holding it again, as its owner. */
struct cd_notifier { co_t co; struct cond *c; int i; };
static int cd_notifier(co_t *co)
{
    struct cd_notifier *f = (struct cd_notifier *)co;
    CO_BEGIN(co);
    ev("B.try=%s", s5_err(lock_try_acquire(f->c->lock)));
    ev("B.notify=%d", cond_notify(f->c, 1));
    for (f->i = 0; f->i < 2; f->i++) {
        AWAIT(task_yield());
        ev("B.y");
    }
    ev("B.rel");
    lock_release(f->c->lock);
    CO_END;
}

struct cd_release { co_t co; struct lock l; struct cond c; task_t *a, *b; };
static int cd_release(co_t *co)
{
    struct cd_release *f = (struct cd_release *)co;
    CO_BEGIN(co);
    lock_init(&f->l);
    cond_init(&f->c, &f->l);
    f->a = CW(&f->c, "A", .pre = 0);
    AWAIT(task_yield());
    ev("cond:%s locked%d", s5_lot_names(&f->c.waiters), lock_locked(&f->l));
    f->b = TASK_SPAWN(cd_notifier, struct cd_notifier, .c = &f->c);
    AWAIT(task_yield());
    ev("lock:%s ownerB%d", s5_lot_names(&f->l.waiters), f->l.owner == f->b->id);
    AWAIT(task_join(f->a));
    AWAIT(task_join(f->b));
    ev("locked%d", lock_locked(&f->l));
    CO_END;
}

START_TEST(cond_wait_releases_the_lock_and_returns_holding_it)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, cd_release, struct cd_release), 0);
    ck_assert_str_eq(evlog, "cond:A locked0 B.try=ok B.notify=1 lock:A ownerB1 B.y B.y B.rel "
                            "A=ok held1 locked0");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== notify ================================================================== */

/* Four waiters park as W2, W3, W1, W4.  notify(2) takes the two that waited
 * longest, notify_all the rest; each group wakes in FIFO order. */
struct cd_notify { co_t co; struct lock l; struct cond c; task_t *w[4]; int i; };
static int cd_notify(co_t *co)
{
    struct cd_notify *f = (struct cd_notify *)co;
    CO_BEGIN(co);
    lock_init(&f->l);
    cond_init(&f->c, &f->l);
    f->w[0] = CW(&f->c, "W1", .pre = 2);
    f->w[1] = CW(&f->c, "W2", .pre = 0);
    f->w[2] = CW(&f->c, "W3", .pre = 1);
    f->w[3] = CW(&f->c, "W4", .pre = 3);
    for (f->i = 0; f->i < 20 && s5_lot_len(&f->c.waiters) < 4; f->i++)
        AWAIT(task_yield());
    ev("cond:%s", s5_lot_names(&f->c.waiters));
    AWAIT(lock_acquire(&f->l));
    ev("n=%d", cond_notify(&f->c, 2));
    ev("cond:%s lock:%s", s5_lot_names(&f->c.waiters), s5_lot_names(&f->l.waiters));
    lock_release(&f->l);
    AWAIT(lock_acquire(&f->l)); /* queued behind W2 and W3 */
    ev("main");
    ev("n=%d", cond_notify_all(&f->c));
    ev("cond:%s lock:%s", s5_lot_names(&f->c.waiters), s5_lot_names(&f->l.waiters));
    lock_release(&f->l);
    for (f->i = 0; f->i < 4; f->i++)
        AWAIT(task_join(f->w[f->i]));
    ev("locked%d", lock_locked(&f->l));
    CO_END;
}

START_TEST(cond_notify_n_and_all_in_fifo_order)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, cd_notify, struct cd_notify), 0);
    ck_assert_str_eq(evlog, "cond:W2,W3,W1,W4 n=2 cond:W1,W4 lock:W2,W3 W2=ok held1 W3=ok held1 "
                            "main n=2 cond: lock:W1,W4 W1=ok held1 W4=ok held1 locked0");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* COND_WAIT_FOR waits again after every wake until its predicate holds:
 * three notifies, the predicate is read four times. */
struct cd_pred { co_t co; struct cond *c; int *n; int checks; };
static int cd_pred(co_t *co)
{
    struct cd_pred *f = (struct cd_pred *)co;
    CO_BEGIN(co);
    AWAIT(lock_acquire(f->c->lock));
    COND_WAIT_FOR(f->c, (f->checks++, *f->n >= 3));
    ev("W n=%d checks=%d held%d", *f->n, f->checks, lock_held(f->c->lock));
    lock_release(f->c->lock);
    CO_END;
}

struct cd_waitfor { co_t co; struct lock l; struct cond c; int n, i; task_t *w; };
static int cd_waitfor(co_t *co)
{
    struct cd_waitfor *f = (struct cd_waitfor *)co;
    CO_BEGIN(co);
    lock_init(&f->l);
    cond_init(&f->c, &f->l);
    f->w = TASK_SPAWN(cd_pred, struct cd_pred, .c = &f->c, .n = &f->n);
    AWAIT(task_yield());
    for (f->i = 0; f->i < 3; f->i++) {
        AWAIT(lock_acquire(&f->l));
        f->n++;
        ev("n=%d woke%d", f->n, cond_notify_all(&f->c));
        lock_release(&f->l);
        AWAIT(task_yield());
    }
    AWAIT(task_join(f->w));
    CO_END;
}

START_TEST(cond_wait_for_rechecks_the_predicate)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, cd_waitfor, struct cd_waitfor), 0);
    ck_assert_str_eq(evlog, "n=1 woke1 n=2 woke1 n=3 woke1 W n=3 checks=4 held1");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* Wait morphing.  X asked for the lock before the notify, so it gets the
 * lock before the notified W, which is moved to the lock's queue without
 * being woken. */
struct cd_morph { co_t co; struct lock l; struct cond c; task_t *w, *x; };
struct cd_morph_x { co_t co; struct lock *l; };
static int cd_morph_x(co_t *co)
{
    struct cd_morph_x *f = (struct cd_morph_x *)co;
    CO_BEGIN(co);
    AWAIT(lock_acquire(f->l));
    ev("X.got");
    lock_release(f->l);
    CO_END;
}

static int cd_morph(co_t *co)
{
    struct cd_morph *f = (struct cd_morph *)co;
    CO_BEGIN(co);
    lock_init(&f->l);
    cond_init(&f->c, &f->l);
    f->w = CW(&f->c, "W", .pre = 0);
    AWAIT(task_yield());
    AWAIT(lock_acquire(&f->l));
    f->x = s5_named(TASK_SPAWN(cd_morph_x, struct cd_morph_x, .l = &f->l), "X");
    AWAIT(task_yield());
    ev("lock:%s", s5_lot_names(&f->l.waiters));
    ev("n=%d", cond_notify(&f->c, 1));
    ev("lock:%s W.%s", s5_lot_names(&f->l.waiters), task_state_name(f->w->state));
    lock_release(&f->l);
    AWAIT(task_join(f->w));
    AWAIT(task_join(f->x));
    CO_END;
}

START_TEST(cond_notified_task_queues_behind_earlier_lock_waiters)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, cd_morph, struct cd_morph), 0);
    ck_assert_str_eq(evlog, "lock:X n=1 lock:X,W W.parked X.got W=ok held1");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* notify_all wakes nobody at once: the waiters run one at a time, each
 * holding the lock; W2 does not run while W1 yields holding it. */
struct cd_onebyone { co_t co; struct lock l; struct cond c; task_t *w[2]; };
static int cd_onebyone(co_t *co)
{
    struct cd_onebyone *f = (struct cd_onebyone *)co;
    CO_BEGIN(co);
    lock_init(&f->l);
    cond_init(&f->c, &f->l);
    f->w[0] = CW(&f->c, "W1", .hold = 2);
    f->w[1] = CW(&f->c, "W2", .hold = 2);
    AWAIT(task_yield());
    AWAIT(lock_acquire(&f->l));
    ev("n=%d", cond_notify_all(&f->c));
    lock_release(&f->l);
    ev("W1.%s W2.%s", task_state_name(f->w[0]->state), task_state_name(f->w[1]->state));
    AWAIT(task_join(f->w[0]));
    AWAIT(task_join(f->w[1]));
    CO_END;
}

START_TEST(cond_notify_all_wakes_waiters_one_at_a_time)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, cd_onebyone, struct cd_onebyone), 0);
    ck_assert_str_eq(evlog, "n=2 W1.ready W2.parked W1=ok held1 W1.rel W2=ok held1 W2.rel");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== cancellation ============================================================ */

/* A cancelled wait returns -ECANCELED holding the lock.  With the lock free
 * at the cancel, W owns it at once; with main holding it, W waits in the
 * lock's queue (it does not run) until main lets go. */
struct cd_cw { co_t co; struct cond *c; int err; };
static int cd_cw(co_t *co)
{
    struct cd_cw *f = (struct cd_cw *)co;
    CO_BEGIN(co);
    AWAIT(lock_acquire(f->c->lock));
    AWAIT_CATCH(cond_wait(f->c), f->err);
    ev("W=%s held%d owner=W%d", s5_err(f->err), lock_held(f->c->lock),
       f->c->lock->owner == task_current()->id);
    lock_release(f->c->lock);
    CO_END;
}

struct cd_cancel { co_t co; struct lock l; struct cond c; task_t *w; int busy, i; };
static int cd_cancel(co_t *co)
{
    struct cd_cancel *f = (struct cd_cancel *)co;
    CO_BEGIN(co);
    lock_init(&f->l);
    cond_init(&f->c, &f->l);
    f->w = s5_named(TASK_SPAWN(cd_cw, struct cd_cw, .c = &f->c), "W");
    AWAIT(task_yield());
    if (f->busy)
        AWAIT(lock_acquire(&f->l));
    task_cancel(f->w);
    ev("cond:%s lock:%s ownerW%d", s5_lot_names(&f->c.waiters), s5_lot_names(&f->l.waiters),
       f->l.owner == f->w->id);
    if (f->busy) {
        for (f->i = 0; f->i < 3; f->i++)
            AWAIT(task_yield());
        ev("W.%s", task_state_name(f->w->state));
        lock_release(&f->l);
    }
    AWAIT(task_join(f->w));
    ev("locked%d", lock_locked(&f->l));
    CO_END;
}

START_TEST(cond_cancelled_wait_returns_holding_the_lock)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, cd_cancel, struct cd_cancel, .busy = 0), 0);
    ck_assert_str_eq(evlog, "cond: lock: ownerW1 W=ECANCELED held1 owner=W1 locked0");
    free(log);
}
END_TEST

START_TEST(cond_cancelled_wait_waits_for_the_lock)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, cd_cancel, struct cd_cancel, .busy = 1), 0);
    ck_assert_str_eq(evlog, "cond: lock:W ownerW0 W.parked W=ECANCELED held1 owner=W1 locked0");
    free(log);
}
END_TEST

/* A cancelled wait that is still waiting for the lock, or that has it and
 * has not run yet, has its cancellation on the way in: more cancels are
 * the same one, and W's next await is not cancelled. */
struct cd_cw2 { co_t co; struct cond *c; int err, err2; };
static int cd_cw2(co_t *co)
{
    struct cd_cw2 *f = (struct cd_cw2 *)co;
    CO_BEGIN(co);
    AWAIT(lock_acquire(f->c->lock));
    AWAIT_CATCH(cond_wait(f->c), f->err);
    lock_release(f->c->lock);
    AWAIT_CATCH(task_yield(), f->err2);
    ev("W=%s then=%s", s5_err(f->err), s5_err(f->err2));
    CO_END;
}

struct cd_recancel { co_t co; struct lock l; struct cond c; task_t *w; };
static int cd_recancel(co_t *co)
{
    struct cd_recancel *f = (struct cd_recancel *)co;
    CO_BEGIN(co);
    lock_init(&f->l);
    cond_init(&f->c, &f->l);
    f->w = s5_named(TASK_SPAWN(cd_cw2, struct cd_cw2, .c = &f->c), "W");
    AWAIT(task_yield());
    AWAIT(lock_acquire(&f->l));
    task_cancel(f->w); /* W now waits for the lock, to wake with -ECANCELED */
    task_cancel(f->w);
    lock_release(&f->l);
    ev("W.%s", task_state_name(f->w->state));
    task_cancel(f->w); /* woken, not yet run */
    AWAIT(task_join(f->w));
    CO_END;
}

START_TEST(cond_cancelled_wait_takes_one_cancellation)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, cd_recancel, struct cd_recancel), 0);
    ck_assert_str_eq(evlog, "W.ready W=ECANCELED then=ok");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* A wait with a cancellation already due returns at once, and never let the
 * lock go: X, queued for it, does not get it in between. */
struct cd_due { co_t co; struct lock l; struct cond c; task_t *x; int err; };
static int cd_due(co_t *co)
{
    struct cd_due *f = (struct cd_due *)co;
    CO_BEGIN(co);
    lock_init(&f->l);
    cond_init(&f->c, &f->l);
    AWAIT(lock_acquire(&f->l));
    f->x = s5_named(TASK_SPAWN(cd_morph_x, struct cd_morph_x, .l = &f->l), "X");
    AWAIT(task_yield());
    task_cancel(task_current());
    AWAIT_CATCH(cond_wait(&f->c), f->err);
    ev("wait=%s held%d cond%zu lock:%s", s5_err(f->err), lock_held(&f->l),
       s5_lot_len(&f->c.waiters), s5_lot_names(&f->l.waiters));
    lock_release(&f->l);
    AWAIT(task_join(f->x));
    CO_END;
}

START_TEST(cond_wait_with_a_due_cancellation_keeps_the_lock)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, cd_due, struct cd_due), 0);
    ck_assert_str_eq(evlog, "wait=ECANCELED held1 cond0 lock:X X.got");
    free(log);
}
END_TEST

/* Notified, then cancelled before it had the lock: W1 still wakes holding
 * the lock with -ECANCELED, and its notification goes to W2, which wakes
 * with 0.  (Lost, W2 would wait for ever: the loop would report a
 * deadlock.) */
struct cd_pass { co_t co; struct lock l; struct cond c; task_t *w[2]; };
static int cd_pass(co_t *co)
{
    struct cd_pass *f = (struct cd_pass *)co;
    CO_BEGIN(co);
    lock_init(&f->l);
    cond_init(&f->c, &f->l);
    f->w[0] = CW(&f->c, "W1", .pre = 0);
    f->w[1] = CW(&f->c, "W2", .pre = 0);
    AWAIT(task_yield());
    AWAIT(lock_acquire(&f->l));
    ev("n=%d", cond_notify(&f->c, 1));
    ev("cond:%s lock:%s", s5_lot_names(&f->c.waiters), s5_lot_names(&f->l.waiters));
    task_cancel(f->w[0]);
    ev("cond:%s lock:%s", s5_lot_names(&f->c.waiters), s5_lot_names(&f->l.waiters));
    lock_release(&f->l);
    AWAIT(task_join(f->w[0]));
    AWAIT(task_join(f->w[1]));
    CO_END;
}

START_TEST(cond_notified_then_cancelled_passes_the_notification_on)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, cd_pass, struct cd_pass), 0);
    ck_assert_str_eq(evlog, "n=1 cond:W2 lock:W1 cond: lock:W1,W2 W1=ECANCELED held1 W2=ok held1");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* A scope's deadline around cond_wait: -ETIMEDOUT, holding the lock - at
 * the deadline when the lock is free then, or once main, which holds it
 * from 50 to 200, lets it go. */
struct cd_timed { co_t co; struct cond *c; struct scope sc; int err; };
static int cd_timed(co_t *co)
{
    struct cd_timed *f = (struct cd_timed *)co;
    CO_BEGIN(co);
    AWAIT(lock_acquire(f->c->lock));
    scope_fail_after(&f->sc, 100);
    AWAIT_CATCH(cond_wait(f->c), f->err);
    f->err = scope_close(&f->sc, f->err);
    ev("W=%s held%d@%llu", s5_err(f->err), lock_held(f->c->lock), S5_MS);
    lock_release(f->c->lock);
    CO_END;
}

struct cd_scope { co_t co; struct lock l; struct cond c; task_t *w; int busy; };
static int cd_scope(co_t *co)
{
    struct cd_scope *f = (struct cd_scope *)co;
    CO_BEGIN(co);
    lock_init(&f->l);
    cond_init(&f->c, &f->l);
    f->w = TASK_SPAWN(cd_timed, struct cd_timed, .c = &f->c);
    if (f->busy) {
        AWAIT(sleep_ms(50));
        AWAIT(lock_acquire(&f->l));
        ev("main.got@%llu", S5_MS);
        AWAIT(sleep_ms(150));
        ev("main.rel@%llu", S5_MS);
        lock_release(&f->l);
    }
    AWAIT(task_join(f->w));
    ev("locked%d", lock_locked(&f->l));
    CO_END;
}

START_TEST(cond_wait_times_out_in_scope_holding_the_lock)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, cd_scope, struct cd_scope, .busy = 0), 0);
    ck_assert_str_eq(evlog, "W=ETIMEDOUT held1@100 locked0");
    free(log);
    evlog[0] = '\0';
    ck_assert_int_eq(S5_RUN(NULL, &log, cd_scope, struct cd_scope, .busy = 1), 0);
    ck_assert_str_eq(evlog, "main.got@50 main.rel@200 W=ETIMEDOUT held1@200 locked0");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

void stage05_add_cond(Suite *s)
{
    TCase *tc = s5_case(s, "condition");
    tcase_add_test(tc, cond_needs_the_lock);
    tcase_add_test(tc, cond_wait_releases_the_lock_and_returns_holding_it);
    tcase_add_test(tc, cond_notify_n_and_all_in_fifo_order);
    tcase_add_test(tc, cond_wait_for_rechecks_the_predicate);
    tcase_add_test(tc, cond_notified_task_queues_behind_earlier_lock_waiters);
    tcase_add_test(tc, cond_notify_all_wakes_waiters_one_at_a_time);
    tcase_add_test(tc, cond_cancelled_wait_returns_holding_the_lock);
    tcase_add_test(tc, cond_cancelled_wait_waits_for_the_lock);
    tcase_add_test(tc, cond_cancelled_wait_takes_one_cancellation);
    tcase_add_test(tc, cond_wait_with_a_due_cancellation_keeps_the_lock);
    tcase_add_test(tc, cond_notified_then_cancelled_passes_the_notification_on);
    tcase_add_test(tc, cond_wait_times_out_in_scope_holding_the_lock);
}
