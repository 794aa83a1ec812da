/*
 * test_stage04_scope.c - cancel scopes: fail_after, move_on_after, nesting,
 * level triggering, cancels from outside, and scopes around joins, sockets
 * and task groups.
 *
 * The scopes live in the tests (the frames point at them), so that after
 * loop_run returns a test can look at `caught`, `expired` and `open`.
 * Expected logs are built with s4_str() since they hold errno values:
 * C is -ECANCELED, T is -ETIMEDOUT below.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stage04_util.h"

#define C (-ECANCELED)
#define T (-ETIMEDOUT)
#define HOUR 3600000u

/* ===== fail_after / move_on_after ========================================= */

struct fail_long { co_t co; struct scope *sc; };
static int fail_long(co_t *co)
{
    struct fail_long *f = (struct fail_long *)co;
    CO_BEGIN(co);
    ev("open%d", scope_fail_after(f->sc, 100));
    ev("n%u", (unsigned)s4_ntimers());
    AWAIT(sleep_ms(HOUR));
    ev("unreached");
    CO_FINALLY
    ev("fin%d@%llu", CO_ERROR, S4_MS);
    CO_ERROR = scope_close(f->sc, CO_ERROR);
    ev("closed%d n%u", CO_ERROR, (unsigned)s4_ntimers());
    CO_END;
}

START_TEST(fail_after_times_out_at_deadline)
{
    struct scope sc;
    memset(&sc, 0, sizeof sc);
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, fail_long, struct fail_long, .sc = &sc), T);
    ck_assert_str_eq(evlog, s4_str("open0 n1 fin%d@100 closed%d n0", C, T));
    ck_assert_int_eq(sc.caught, 1);
    ck_assert_int_eq(sc.expired, 1);
    ck_assert_int_eq(sc.open, 0);
    ck_assert_str_eq(log, ""); /* main's -ETIMEDOUT reached loop_run */
    free(log);
}
END_TEST

/* move_on_after: the work inside (a sub-coroutine) is cut short, and the
 * code after the scope goes on as if nothing happened. */
struct mo_body { co_t co; int i; };
static int mo_body(co_t *co)
{
    struct mo_body *f = (struct mo_body *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < 10; f->i++) {
        AWAIT(sleep_ms(50));
        ev("w%d@%llu", f->i, S4_MS);
    }
    CO_RETURN(99);
    CO_FINALLY
    if (CO_ERROR)
        ev("body.fin%d", CO_ERROR);
    CO_END;
}

struct move_on { co_t co; struct scope *sc; struct mo_body body; int err; intptr_t v; };
static int move_on(co_t *co)
{
    struct move_on *f = (struct move_on *)co;
    CO_BEGIN(co);
    scope_move_on_after(f->sc, 120);
    AWAIT_CO_CATCH(&f->body.co, mo_body, f->err);
    f->v = CO_VALUE;
    f->err = scope_close(f->sc, f->err);
    ev("after%d v%ld@%llu", f->err, (long)f->v, S4_MS);
    AWAIT(sleep_ms(10)); /* and awaits work again */
    CO_RETURN(5);
    CO_END;
}

START_TEST(move_on_after_returns_zero)
{
    struct scope sc;
    memset(&sc, 0, sizeof sc);
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(S4_RUN(&r, &log, move_on, struct move_on, .sc = &sc), 0);
    ck_assert_int_eq(r, 5);
    ck_assert_str_eq(evlog, s4_str("w0@50 w1@100 body.fin%d after0 v0@120", C));
    ck_assert_int_eq(sc.caught, 1);
    free(log);
}
END_TEST

/* The body ends before the deadline: its result is untouched, the scope's
 * timer is gone at once (the count goes back to what it was, here one
 * other sleeper), and the old deadline cancels nothing later. */
struct early { co_t co; struct scope *sc; task_t *bg; };
static int early(co_t *co)
{
    struct early *f = (struct early *)co;
    CO_BEGIN(co);
    f->bg = TASK_SPAWN(s4_nap, struct s4_nap, .name = "bg", .ms = 1000);
    AWAIT(task_yield());
    ev("n%u", (unsigned)s4_ntimers());
    scope_fail_after(&f->sc[0], 100);
    ev("n%u", (unsigned)s4_ntimers());
    AWAIT(sleep_ms(50));
    ev("close%d", scope_close(&f->sc[0], 0));
    ev("n%u", (unsigned)s4_ntimers());
    /* A failure of the body's own passes through, even a move-on scope. */
    scope_move_on_after(&f->sc[1], 100);
    ev("close%d", scope_close(&f->sc[1], -EIO));
    ev("n%u", (unsigned)s4_ntimers());
    AWAIT(sleep_ms(100));
    ev("slept@%llu", S4_MS);
    AWAIT(task_join(f->bg));
    CO_RETURN(CO_VALUE);
    CO_END;
}

START_TEST(body_done_before_deadline_unchanged)
{
    struct scope sc[2];
    memset(sc, 0, sizeof sc);
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(S4_RUN(&r, &log, early, struct early, .sc = sc), 0);
    ck_assert_int_eq(r, 1000);
    ck_assert_str_eq(evlog, s4_str("n1 n2 close0 n1 close%d n1 slept@150 bg@1000", -EIO));
    ck_assert_int_eq(sc[0].caught, 0);
    ck_assert_int_eq(sc[0].expired, 0);
    ck_assert_int_eq(sc[1].caught, 0);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* The body catches the timeout's cancellation and fails with an error of
 * its own: that error is what the scope reports, not a timeout. */
struct own_err { co_t co; struct scope *sc; int err; };
static int own_err(co_t *co)
{
    struct own_err *f = (struct own_err *)co;
    CO_BEGIN(co);
    scope_fail_after(f->sc, 100);
    AWAIT_CATCH(sleep_ms(HOUR), f->err);
    CO_RAISE(-EPIPE);
    CO_FINALLY
    CO_ERROR = scope_close(f->sc, CO_ERROR);
    CO_END;
}

START_TEST(own_error_in_expired_scope_passes)
{
    struct scope sc;
    memset(&sc, 0, sizeof sc);
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, own_err, struct own_err, .sc = &sc), -EPIPE);
    ck_assert_int_eq(sc.expired, 1);
    ck_assert_int_eq(sc.caught, 0);
    free(log);
}
END_TEST

/* ===== nesting ============================================================= */

struct nest {
    co_t co;
    struct scope *out, *in;
    uint64_t out_ms, in_ms;
    int in_move_on, reset_outer;
    int err;
};
static int nest(co_t *co)
{
    struct nest *f = (struct nest *)co;
    CO_BEGIN(co);
    scope_fail_after(f->out, f->out_ms);
    if (f->in_move_on)
        scope_move_on_after(f->in, f->in_ms);
    else
        scope_fail_after(f->in, f->in_ms);
    if (f->reset_outer)
        scope_reset(f->out, f->out_ms); /* the outer's timer now starts later */
    AWAIT_CATCH(sleep_ms(HOUR), f->err);
    ev("woke%d@%llu", f->err, S4_MS);
    f->err = scope_close(f->in, f->err);
    ev("inner%d", f->err);
    AWAIT_CATCH(sleep_ms(50), f->err);
    ev("slept%d@%llu", f->err, S4_MS);
    f->err = scope_close(f->out, f->err);
    ev("outer%d n%u", f->err, (unsigned)s4_ntimers());
    CO_END;
}

START_TEST(nested_inner_shorter_wins)
{
    struct scope out, in;
    memset(&out, 0, sizeof out);
    memset(&in, 0, sizeof in);
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, nest, struct nest, .out = &out, .in = &in,
                            .out_ms = 200, .in_ms = 100), 0);
    /* The inner catches its own timeout; the outer is untouched and the
     * task goes on inside it. */
    ck_assert_str_eq(evlog, s4_str("woke%d@100 inner%d slept0@150 outer0 n0", C, T));
    ck_assert_int_eq(in.caught, 1);
    ck_assert_int_eq(out.caught, 0);
    ck_assert_int_eq(out.expired, 0);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

START_TEST(nested_outer_shorter_wins)
{
    struct scope out, in;
    memset(&out, 0, sizeof out);
    memset(&in, 0, sizeof in);
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, nest, struct nest, .out = &out, .in = &in,
                            .out_ms = 100, .in_ms = 200), 0);
    /* The inner hands the cancellation on; between the closes the outer is
     * still expired, so the sleep fails at once; the outer converts. */
    ck_assert_str_eq(evlog, s4_str("woke%d@100 inner%d slept%d@100 outer%d n0", C, C, C, T));
    ck_assert_int_eq(in.caught, 0);
    ck_assert_int_eq(in.expired, 0);
    ck_assert_int_eq(out.caught, 1);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* Both expire in the same iteration (in either firing order): the outermost
 * expired scope catches.  The inner is move-on, so an inner that wrongly
 * caught would turn the error into 0. */
START_TEST(nested_both_expired_outer_catches)
{
    struct scope out, in;
    memset(&out, 0, sizeof out);
    memset(&in, 0, sizeof in);
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, nest, struct nest, .out = &out, .in = &in,
                            .out_ms = 100, .in_ms = 100, .in_move_on = 1,
                            .reset_outer = _i), 0);
    ck_assert_str_eq(evlog, s4_str("woke%d@100 inner%d slept%d@100 outer%d n0", C, C, C, T));
    ck_assert_int_eq(in.expired, 1);
    ck_assert_int_eq(in.caught, 0);
    ck_assert_int_eq(out.expired, 1);
    ck_assert_int_eq(out.caught, 1);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* Closing an outer scope closes the ones left open inside it. */
struct close_outer { co_t co; struct scope *out, *in; };
static int close_outer(co_t *co)
{
    struct close_outer *f = (struct close_outer *)co;
    CO_BEGIN(co);
    scope_fail_after(f->out, 100);
    scope_fail_after(f->in, 50);
    ev("n%u", (unsigned)s4_ntimers());
    ev("out%d", scope_close(f->out, 0));
    ev("n%u open%d", (unsigned)s4_ntimers(), f->in->open);
    ev("in%d", scope_close(f->in, -EIO)); /* closed already: err unchanged */
    AWAIT(sleep_ms(200));
    ev("slept@%llu", S4_MS);
    CO_END;
}

START_TEST(closing_outer_closes_inner)
{
    struct scope out, in;
    memset(&out, 0, sizeof out);
    memset(&in, 0, sizeof in);
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, close_outer, struct close_outer, .out = &out,
                            .in = &in), 0);
    ck_assert_str_eq(evlog, s4_str("n2 out0 n0 open0 in%d slept@200", -EIO));
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== level-triggered ===================================================== */

struct level { co_t co; struct scope *sc; int *sv; task_t *t; int err; char buf[8]; long n; };
static int level(co_t *co)
{
    struct level *f = (struct level *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(s4_nap, struct s4_nap, .name = "t", .ms = HOUR);
    scope_fail_after(f->sc, 100);
    AWAIT_CATCH(sleep_ms(HOUR), f->err);
    ev("a%d@%llu", f->err, S4_MS);
    /* Swallowed; but every await inside the expired scope fails too. */
    AWAIT_CATCH(sleep_ms(10), f->err);
    ev("b%d@%llu", f->err, S4_MS);
    AWAIT_CATCH(task_yield(), f->err);
    ev("c%d@%llu", f->err, S4_MS);
    AWAIT_CATCH(task_join(f->t), f->err);
    ev("d%d", f->err);
    if (write(f->sv[1], "ping", 4) != 4)
        ev("write failed");
    AWAIT_CATCH(sock_recv(f->sv[0], f->buf, 4), f->err); /* data is there */
    ev("e%d@%llu", f->err, S4_MS);
    f->err = scope_close(f->sc, f->err);
    ev("closed%d", f->err);
    /* Closed: awaits work again, and the recv above consumed nothing (read
     * with a plain read(2): an await would hang if it had). */
    AWAIT(sleep_ms(10));
    ev("f@%llu", S4_MS);
    f->n = (long)read(f->sv[0], f->buf, 4);
    ev("got%ld %.4s", f->n, f->buf);
    task_cancel(f->t);
    AWAIT_CATCH(task_join(f->t), f->err);
    ev("joined%d", f->err);
    CO_END;
}

START_TEST(expired_scope_is_level_triggered)
{
    struct scope sc;
    memset(&sc, 0, sizeof sc);
    int sv[2];
    s4_socketpair(sv);
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, level, struct level, .sc = &sc, .sv = sv), 0);
    s4_close_pair(sv);
    ck_assert_str_eq(evlog, s4_str("a%d@100 b%d@100 c%d@100 d%d e%d@100 closed%d f@110 "
                                   "got4 ping t.fin%d@110 joined%d",
                                   C, C, C, C, C, T, C, C));
    ck_assert_int_eq(sc.caught, 1);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== cancels from outside ================================================ */

struct victim { co_t co; struct scope *sc; int catch_first; int err; };
static int victim(co_t *co)
{
    struct victim *f = (struct victim *)co;
    CO_BEGIN(co);
    scope_fail_after(f->sc, 100);
    if (f->catch_first) {
        AWAIT_CATCH(sleep_ms(HOUR), f->err);
        ev("v.caught%d@%llu", f->err, S4_MS);
    }
    AWAIT(sleep_ms(HOUR));
    CO_FINALLY
    ev("v.fin%d@%llu", CO_ERROR, S4_MS);
    CO_ERROR = scope_close(f->sc, CO_ERROR);
    ev("v.closed%d n%u", CO_ERROR, (unsigned)s4_ntimers());
    CO_END;
}

struct canceller { co_t co; task_t **target; uint64_t ms; };
static int canceller(co_t *co)
{
    struct canceller *f = (struct canceller *)co;
    CO_BEGIN(co);
    AWAIT(sleep_ms(f->ms));
    ev("cancel@%llu", S4_MS);
    task_cancel(*f->target);
    CO_END;
}

struct outside { co_t co; struct scope *sc; uint64_t cancel_ms; int catch_first;
                 task_t *v, *c; int err; };
static int outside(co_t *co)
{
    struct outside *f = (struct outside *)co;
    CO_BEGIN(co);
    /* The canceller starts first, so with equal deadlines its timer fires
     * first and it runs before the victim in that iteration. */
    f->c = TASK_SPAWN(canceller, struct canceller, .target = &f->v, .ms = f->cancel_ms);
    f->v = TASK_SPAWN(victim, struct victim, .sc = f->sc, .catch_first = f->catch_first);
    AWAIT_CATCH(task_join(f->v), f->err);
    ev("joined%d", f->err);
    AWAIT(task_join(f->c));
    CO_END;
}

/* The deadline fires (the victim is woken with -ECANCELED), then, before
 * the victim runs, it is cancelled from outside: not the scope's to catch. */
START_TEST(outside_cancel_with_fired_deadline_not_converted)
{
    struct scope sc;
    memset(&sc, 0, sizeof sc);
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, outside, struct outside, .sc = &sc,
                            .cancel_ms = 100), 0);
    ck_assert_str_eq(evlog, s4_str("cancel@100 v.fin%d@100 v.closed%d n0 joined%d", C, C, C));
    ck_assert_int_eq(sc.expired, 1);
    ck_assert_int_eq(sc.caught, 0);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* Cancelled from outside, it catches that and waits on inside the scope
 * until the deadline: still not converted, the outside cancel came first. */
START_TEST(outside_cancel_caught_then_deadline_not_converted)
{
    struct scope sc;
    memset(&sc, 0, sizeof sc);
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, outside, struct outside, .sc = &sc,
                            .cancel_ms = 40, .catch_first = 1), 0);
    ck_assert_str_eq(evlog, s4_str("cancel@40 v.caught%d@40 v.fin%d@100 v.closed%d n0 "
                                   "joined%d", C, C, C, C));
    ck_assert_int_eq(sc.expired, 1);
    ck_assert_int_eq(sc.caught, 0);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* Cancelled from outside before the deadline: -ECANCELED passes through,
 * and the scope's timer is gone. */
START_TEST(outside_cancel_in_unexpired_scope_passes)
{
    struct scope sc;
    memset(&sc, 0, sizeof sc);
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, outside, struct outside, .sc = &sc,
                            .cancel_ms = 40), 0);
    ck_assert_str_eq(evlog, s4_str("cancel@40 v.fin%d@40 v.closed%d n0 joined%d", C, C, C));
    ck_assert_int_eq(sc.expired, 0);
    ck_assert_int_eq(sc.caught, 0);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== what a scope can bound ============================================== */

/* A join: it times out, the joined task goes on (it was not ours to
 * cancel), and can be joined again later. */
struct join_in_scope { co_t co; struct scope *sc; task_t *t; int err; };
static int join_in_scope(co_t *co)
{
    struct join_in_scope *f = (struct join_in_scope *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(s4_nap, struct s4_nap, .name = "long", .ms = 1000);
    scope_fail_after(f->sc, 100);
    AWAIT_CATCH(task_join(f->t), f->err);
    f->err = scope_close(f->sc, f->err);
    ev("join%d@%llu %s joiner%d", f->err, S4_MS, task_state_name(f->t->state),
       f->t->joiner != NULL);
    AWAIT(task_join(f->t));
    ev("joined%ld@%llu", (long)CO_VALUE, S4_MS);
    CO_END;
}

START_TEST(scope_around_join)
{
    struct scope sc;
    memset(&sc, 0, sizeof sc);
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, join_in_scope, struct join_in_scope, .sc = &sc), 0);
    ck_assert_str_eq(evlog, s4_str("join%d@100 parked joiner0 long@1000 joined1000@1000", T));
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* A recv: times out (at once on the virtual clock, whatever the deadline),
 * the descriptor is no longer watched, and nothing was consumed. */
struct recv_in_scope { co_t co; struct scope *sc; int *sv; int err; char buf[16]; };
static int recv_in_scope(co_t *co)
{
    struct recv_in_scope *f = (struct recv_in_scope *)co;
    CO_BEGIN(co);
    scope_fail_after(f->sc, HOUR);
    AWAIT_CATCH(sock_recv(f->sv[0], f->buf, sizeof f->buf), f->err);
    f->err = scope_close(f->sc, f->err);
    ev("recv%d@%llu waiting%zu watched%zu", f->err, S4_MS, loop_current()->io.nwaiting,
       loop_current()->io.nregistered);
    if (write(f->sv[1], "hello", 5) != 5)
        ev("write failed");
    AWAIT(sock_recv(f->sv[0], f->buf, sizeof f->buf));
    ev("got%ld %.5s", (long)CO_VALUE, f->buf);
    CO_END;
}

START_TEST(scope_around_recv)
{
    struct scope sc;
    memset(&sc, 0, sizeof sc);
    int sv[2];
    s4_socketpair(sv);
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, recv_in_scope, struct recv_in_scope, .sc = &sc,
                            .sv = sv), 0);
    s4_close_pair(sv);
    ck_assert_str_eq(evlog, s4_str("recv%d@3600000 waiting0 watched0 got5 hello", T));
    ck_assert_int_eq(sc.caught, 1);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== task groups inside an expired scope ================================= */

/* A child that, cancelled, takes `cleanup_ms` more to clean up. */
struct slow_child { co_t co; const char *name; uint64_t cleanup_ms; };
static int slow_child(co_t *co)
{
    struct slow_child *f = (struct slow_child *)co;
    CO_BEGIN(co);
    AWAIT(sleep_ms(HOUR));
    CO_FINALLY
    ev("%s.fin%d@%llu", f->name, CO_ERROR, S4_MS);
    if (f->cleanup_ms) {
        AWAIT(sleep_ms(f->cleanup_ms));
        ev("%s.cleaned@%llu", f->name, S4_MS);
    }
    CO_END;
}

struct owner { co_t co; struct scope *sc; group_t g; int body_sleeps; int gerr; };
static int owner(co_t *co)
{
    struct owner *f = (struct owner *)co;
    CO_BEGIN(co);
    scope_fail_after(f->sc, 100);
    group_init(&f->g);
    GROUP_SPAWN(&f->g, slow_child, struct slow_child, .name = "a", .cleanup_ms = 50);
    GROUP_SPAWN(&f->g, slow_child, struct slow_child, .name = "b");
    if (f->body_sleeps) /* else the owner waits in group_join when time is up */
        AWAIT(sleep_ms(HOUR));
    CO_FINALLY
    ev("join%d@%llu", CO_ERROR, S4_MS);
    AWAIT_CATCH(group_join(&f->g, CO_ERROR), f->gerr);
    ev("joined%d@%llu", f->gerr, S4_MS);
    if (f->gerr)
        CO_ERROR = f->gerr;
    CO_ERROR = scope_close(f->sc, CO_ERROR);
    CO_END;
}

START_TEST(group_in_expired_scope_waits_for_children)
{
    struct scope sc;
    memset(&sc, 0, sizeof sc);
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, owner, struct owner, .sc = &sc, .body_sleeps = _i), T);
    /* The children are cancelled at the deadline, and the owner leaves only
     * once the slow one has cleaned up. */
    if (_i)
        ck_assert_str_eq(evlog, s4_str("join%d@100 a.fin%d@100 b.fin%d@100 a.cleaned@150 "
                                       "joined%d@150", C, C, C, C));
    else
        ck_assert_str_eq(evlog, s4_str("join0@0 a.fin%d@100 b.fin%d@100 a.cleaned@150 "
                                       "joined%d@150", C, C, C));
    ck_assert_int_eq(sc.caught, 1);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== reset, zero, misuse ================================================ */

/* An idle timeout: each bit of progress pushes the deadline back. */
struct idle { co_t co; struct scope *sc; int i; int err; };
static int idle(co_t *co)
{
    struct idle *f = (struct idle *)co;
    CO_BEGIN(co);
    scope_fail_after(f->sc, 100);
    for (f->i = 0; f->i < 4; f->i++) {
        AWAIT(sleep_ms(60));
        ev("r%d", scope_reset(f->sc, 100));
    }
    ev("n%u", (unsigned)s4_ntimers()); /* moved, not added */
    AWAIT_CATCH(sleep_ms(HOUR), f->err);
    f->err = scope_close(f->sc, f->err);
    ev("idle%d@%llu", f->err, S4_MS);
    ev("reset%d", scope_reset(f->sc, 100)); /* closed */
    CO_END;
}

START_TEST(scope_reset_pushes_deadline)
{
    struct scope sc;
    memset(&sc, 0, sizeof sc);
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, idle, struct idle, .sc = &sc), 0);
    ck_assert_str_eq(evlog, s4_str("r0 r0 r0 r0 n1 idle%d@340 reset%d", T, -EINVAL));
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* trio's rule: a cancel is not undone by a later deadline.  An expired
 * scope reset to a far deadline stays expired; a reset to a deadline that
 * has already passed expires the scope at once (no timer left behind). */
struct reset_expired { co_t co; struct scope *sc; int *sv; int err; char buf[4]; long n; };
static int reset_expired(co_t *co)
{
    struct reset_expired *f = (struct reset_expired *)co;
    CO_BEGIN(co);
    /* 1: reset after expiry */
    scope_fail_after(&f->sc[0], 100);
    AWAIT_CATCH(sleep_ms(HOUR), f->err);
    ev("a%d@%llu", f->err, S4_MS);
    ev("reset%d", scope_reset(&f->sc[0], 1000));
    ev("n%u", (unsigned)s4_ntimers()); /* no new timer for an expired scope */
    AWAIT_CATCH(sleep_ms(10), f->err);
    ev("b%d@%llu", f->err, S4_MS);
    ev("close%d", scope_close(&f->sc[0], f->err));
    /* 2: reset to "now" */
    scope_fail_after(&f->sc[1], 100);
    AWAIT(sleep_ms(10));
    ev("reset%d", scope_reset(&f->sc[1], 0));
    ev("n%u", (unsigned)s4_ntimers());
    if (write(f->sv[1], "xyz", 3) != 3)
        ev("write failed");
    AWAIT_CATCH(sock_recv(f->sv[0], f->buf, sizeof f->buf), f->err);
    ev("c%d@%llu", f->err, S4_MS);
    ev("close%d", scope_close(&f->sc[1], f->err));
    f->n = (long)read(f->sv[0], f->buf, sizeof f->buf);
    ev("got%ld", f->n);
    CO_END;
}

START_TEST(reset_does_not_undo_expiry)
{
    struct scope sc[2];
    memset(sc, 0, sizeof sc);
    int sv[2];
    s4_socketpair(sv);
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, reset_expired, struct reset_expired, .sc = sc,
                            .sv = sv), 0);
    s4_close_pair(sv);
    ck_assert_str_eq(log, "");
    free(log);
    ck_assert_str_eq(evlog, s4_str("a%d@100 reset0 n0 b%d@100 close%d reset0 n0 c%d@110 "
                                   "close%d got3", C, C, T, C, T));
    ck_assert_int_eq(sc[0].caught, 1);
    ck_assert_int_eq(sc[1].caught, 1);
}
END_TEST

/* A deadline in the past at open: expired from the start, no timer. */
struct past { co_t co; struct scope *sc; int err; };
static int past(co_t *co)
{
    struct past *f = (struct past *)co;
    CO_BEGIN(co);
    AWAIT(sleep_ms(30));
    ev("open%d", scope_open_at(f->sc, SCOPE_MOVE_ON, loop_time_ns() - 1000000u));
    ev("n%u", (unsigned)s4_ntimers());
    AWAIT_CATCH(task_yield(), f->err);
    ev("yield%d", f->err);
    ev("close%d@%llu", scope_close(f->sc, f->err), S4_MS);
    CO_END;
}

START_TEST(deadline_in_past_at_open)
{
    struct scope sc;
    memset(&sc, 0, sizeof sc);
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, past, struct past, .sc = &sc), 0);
    ck_assert_str_eq(evlog, s4_str("open0 n0 yield%d close0@30", C));
    ck_assert_int_eq(sc.caught, 1);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* An expired scope fails every await, "even one that could complete at
 * once" (scope.c): joining a task that has already finished too.  The
 * refused join must not lose the result: the handle can be joined after
 * the scope is closed. */
struct join_done { co_t co; struct scope *sc; task_t *t; int err; };
static int join_done(co_t *co)
{
    struct join_done *f = (struct join_done *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(ret_fn, struct ret, .v = 42);
    AWAIT(task_yield()); /* it has finished */
    scope_fail_after(f->sc, 0);
    AWAIT_CATCH(task_join(f->t), f->err);
    ev("join%d v%ld", f->err, (long)CO_VALUE);
    ev("close%d", scope_close(f->sc, f->err));
    if (f->err) {
        AWAIT(task_join(f->t));
        ev("again%ld", (long)CO_VALUE);
    }
    CO_END;
}

START_TEST(expired_scope_refuses_join_of_finished_task)
{
    struct scope sc;
    memset(&sc, 0, sizeof sc);
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, join_done, struct join_done, .sc = &sc), 0);
    ck_assert_str_eq(log, "");
    free(log);
    ck_assert_str_eq(evlog, s4_str("join%d v0 close%d again42", C, T));
}
END_TEST

/* A deadline of 0 ms: the next await is cancelled, whatever it is. */
struct zero { co_t co; struct scope *sc; int *sv; int what; int err; char buf[4]; long n; };
static int zero(co_t *co)
{
    struct zero *f = (struct zero *)co;
    CO_BEGIN(co);
    AWAIT(sleep_ms(30));
    scope_fail_after(f->sc, 0);
    if (f->what == 0) {
        AWAIT_CATCH(task_yield(), f->err);
    } else if (f->what == 1) {
        AWAIT_CATCH(sleep_ms(10), f->err);
    } else {
        /* A recv that could complete at once: cancelled, consuming nothing. */
        if (write(f->sv[1], "abc", 3) != 3)
            ev("write failed");
        AWAIT_CATCH(sock_recv(f->sv[0], f->buf, sizeof f->buf), f->err);
    }
    f->err = scope_close(f->sc, f->err);
    ev("zero%d@%llu", f->err, S4_MS);
    if (f->what == 2) {
        f->n = (long)read(f->sv[0], f->buf, sizeof f->buf); /* still there? */
        ev("got%ld", f->n);
    }
    CO_END;
}

START_TEST(zero_deadline_cancels_next_await)
{
    static const char *const what[] = {"yield", "sleep", "recv with data ready"};
    struct scope sc;
    memset(&sc, 0, sizeof sc);
    int sv[2];
    s4_socketpair(sv);
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, zero, struct zero, .sc = &sc, .sv = sv, .what = _i), 0);
    s4_close_pair(sv);
    ck_assert_str_eq(log, "");
    free(log);
    ck_assert_msg(strcmp(evlog, s4_str("zero%d@30%s", T, _i == 2 ? " got3" : "")) == 0,
                  "fail_after(0) then %s: got \"%s\"", what[_i], evlog);
    ck_assert_int_eq(sc.caught, 1);
}
END_TEST

/* A task that ends with scopes open has them closed for it, with a warning:
 * no timer of a freed frame stays in the heap. */
struct leaky { co_t co; struct scope sc[2]; };
static int leaky(co_t *co)
{
    struct leaky *f = (struct leaky *)co;
    CO_BEGIN(co);
    scope_fail_after(&f->sc[0], 100);
    scope_move_on_after(&f->sc[1], 200);
    AWAIT(sleep_ms(10));
    CO_RETURN(7);
    CO_END;
}

struct leak_main { co_t co; task_t *t; };
static int leak_main(co_t *co)
{
    struct leak_main *f = (struct leak_main *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(leaky, struct leaky);
    AWAIT(task_join(f->t));
    ev("joined%ld n%u@%llu", (long)CO_VALUE, (unsigned)s4_ntimers(), S4_MS);
    AWAIT(sleep_ms(500)); /* past both deadlines: nothing fires into the freed frame */
    ev("slept@%llu", S4_MS);
    CO_END;
}

START_TEST(task_finishing_with_scope_open_closes_it)
{
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, leak_main, struct leak_main), 0);
    ck_assert_str_eq(evlog, "joined7 n0@10 slept@510");
    ck_assert_msg(strstr(log, "task 'leaky#2' finished with a cancel scope still open"),
                  "log: %s", log);
    ck_assert_int_eq(count_of(log, "\n"), 1);
    free(log);
}
END_TEST

struct misuse { co_t co; struct scope *sc; int err; };
static int misuse(co_t *co)
{
    struct misuse *f = (struct misuse *)co;
    CO_BEGIN(co);
    ev("open%d", scope_fail_after(f->sc, 100));
    ev("again%d", scope_fail_after(f->sc, 50));
    ev("again%d", scope_move_on_after(f->sc, 50));
    ev("again%d", scope_open_at(f->sc, SCOPE_FAIL, UINT64_MAX));
    ev("n%u when%llu", (unsigned)s4_ntimers(),
       (unsigned long long)timer_when(&f->sc->timer) / 1000000u);
    AWAIT(sleep_ms(60)); /* the 50 ms would have cancelled this */
    ev("close%d", scope_close(f->sc, 0));
    ev("close%d", scope_close(f->sc, -EIO));
    ev("close%d", scope_close(f->sc, -ECANCELED));
    ev("reopen%d", scope_fail_after(f->sc, 10));
    AWAIT_CATCH(sleep_ms(HOUR), f->err); /* -ECANCELED at 70 ms */
    ev("close%d", scope_close(f->sc, f->err));
    ev("close%d", scope_close(f->sc, f->err)); /* closed: not converted twice */
    ev("close%d", scope_close(f->sc, 0));
    CO_END;
}

START_TEST(scope_misuse)
{
    struct scope sc;
    memset(&sc, 0, sizeof sc);
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, misuse, struct misuse, .sc = &sc), 0);
    ck_assert_str_eq(evlog, s4_str("open0 again%d again%d again%d n1 when100 close0 "
                                   "close%d close%d reopen0 close%d close%d close0",
                                   -EBUSY, -EBUSY, -EBUSY, -EIO, C, T, C));
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* A scope open in one task cannot be opened again by another: -EBUSY, and
 * the holder's deadline is untouched.  (Were the second open accepted, the
 * scope's timer would be in the heap twice and in two tasks' chains: the
 * intruder undoes that by hand, so that the test fails instead of hanging.) */
struct holder { co_t co; struct scope *sc; int err; };
static int holder(co_t *co)
{
    struct holder *f = (struct holder *)co;
    CO_BEGIN(co);
    scope_fail_after(f->sc, 100);
    AWAIT_CATCH(sleep_ms(50), f->err);
    ev("h.slept%d@%llu", f->err, S4_MS);
    ev("h.close%d", scope_close(f->sc, f->err));
    CO_END;
}

struct intruder { co_t co; struct scope *sc; struct scope saved; uint64_t when; int rc; };
static int intruder(co_t *co)
{
    struct intruder *f = (struct intruder *)co;
    CO_BEGIN(co);
    f->saved = *f->sc;
    f->when = timer_when(&f->sc->timer);
    f->rc = scope_fail_after(f->sc, 10);
    ev("i.open%d", f->rc);
    if (f->rc == 0) { /* accepted: undo the damage */
        timer_stop(&f->sc->timer);
        f->sc->timer.index = f->saved.timer.index;
        timer_stop(&f->sc->timer);
        task_current()->scope = f->sc->outer;
        *f->sc = f->saved;
        f->sc->timer.index = TIMER_IDLE;
        timer_start(&f->sc->timer, f->when, f->saved.timer.fire);
    }
    CO_END;
}

struct two_openers { co_t co; struct scope *sc; task_t *h, *i; };
static int two_openers(co_t *co)
{
    struct two_openers *f = (struct two_openers *)co;
    CO_BEGIN(co);
    f->h = TASK_SPAWN(holder, struct holder, .sc = f->sc);
    f->i = TASK_SPAWN(intruder, struct intruder, .sc = f->sc);
    AWAIT(task_join(f->h));
    AWAIT(task_join(f->i));
    CO_END;
}

START_TEST(scope_open_in_other_task_is_ebusy)
{
    struct scope sc;
    memset(&sc, 0, sizeof sc);
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, two_openers, struct two_openers, .sc = &sc), 0);
    ck_assert_str_eq(log, "");
    free(log);
    ck_assert_str_eq(evlog, s4_str("i.open%d h.slept0@50 h.close0", -EBUSY));
    ck_assert_int_eq(sc.expired, 0);
}
END_TEST

/* A scope with no deadline (UINT64_MAX) takes no timer and never fires. */
struct no_deadline { co_t co; struct scope *sc; };
static int no_deadline(co_t *co)
{
    struct no_deadline *f = (struct no_deadline *)co;
    CO_BEGIN(co);
    ev("open%d", scope_open_at(f->sc, SCOPE_FAIL, UINT64_MAX));
    ev("n%u", (unsigned)s4_ntimers());
    AWAIT(sleep_ms(HOUR));
    ev("close%d@%llu", scope_close(f->sc, 0), S4_MS);
    CO_END;
}

START_TEST(scope_without_deadline)
{
    struct scope sc;
    memset(&sc, 0, sizeof sc);
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, no_deadline, struct no_deadline, .sc = &sc), 0);
    ck_assert_str_eq(evlog, "open0 n0 close0@3600000");
    free(log);
}
END_TEST

START_TEST(scope_outside_task)
{
    struct scope sc;
    memset(&sc, 0, sizeof sc);
    ck_assert_int_eq(scope_fail_after(&sc, 10), TASK_ENOLOOP);
    ck_assert_int_eq(scope_move_on_after(&sc, 10), TASK_ENOLOOP);
    ck_assert_int_eq(sc.open, 0);
    ck_assert_int_eq(scope_close(&sc, -EIO), -EIO); /* never opened */
    ck_assert_int_eq(scope_close(&sc, 0), 0);
    ck_assert_int_eq(scope_reset(&sc, 10), -EINVAL);
}
END_TEST

void stage04_add_scope(Suite *s)
{
    TCase *tc = s4_case(s, "scope");
    tcase_add_test(tc, fail_after_times_out_at_deadline);
    tcase_add_test(tc, move_on_after_returns_zero);
    tcase_add_test(tc, body_done_before_deadline_unchanged);
    tcase_add_test(tc, own_error_in_expired_scope_passes);
    tcase_add_test(tc, expired_scope_is_level_triggered);
    tcase_add_test(tc, scope_reset_pushes_deadline);
    tcase_add_loop_test(tc, zero_deadline_cancels_next_await, 0, 3);
    tcase_add_test(tc, reset_does_not_undo_expiry);
    tcase_add_test(tc, deadline_in_past_at_open);
    tcase_add_test(tc, expired_scope_refuses_join_of_finished_task);
    tcase_add_test(tc, task_finishing_with_scope_open_closes_it);
    tcase_add_test(tc, scope_misuse);
    tcase_add_test(tc, scope_open_in_other_task_is_ebusy);
    tcase_add_test(tc, scope_without_deadline);
    tcase_add_test(tc, scope_outside_task);

    tc = s4_case(s, "scope_nesting");
    tcase_add_test(tc, nested_inner_shorter_wins);
    tcase_add_test(tc, nested_outer_shorter_wins);
    tcase_add_loop_test(tc, nested_both_expired_outer_catches, 0, 2);
    tcase_add_test(tc, closing_outer_closes_inner);

    tc = s4_case(s, "scope_cancel");
    tcase_add_test(tc, outside_cancel_with_fired_deadline_not_converted);
    tcase_add_test(tc, outside_cancel_caught_then_deadline_not_converted);
    tcase_add_test(tc, outside_cancel_in_unexpired_scope_passes);

    tc = s4_case(s, "scope_bounds");
    tcase_add_test(tc, scope_around_join);
    tcase_add_test(tc, scope_around_recv);
    tcase_add_loop_test(tc, group_in_expired_scope_waits_for_children, 0, 2);
}
