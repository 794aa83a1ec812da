/*
 * test_stage02_regressions.c - one test per core bug the stage-2 suite
 * found, each asserting what the documented semantics promise.
 *
 * The tcase "regressions" of the stage02 suite; the helpers it shares with
 * the other stage-2 files are in stage02_util.h.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stage02_util.h"

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

/* ===== the test cases =================================================== */

/* Found by the model fuzz: a group's first failure cancels its owner, but an
 * owner parked in the join of another group of its own (a nested group in
 * an AWAIT_CO sub-coroutine, or a gather) once had that join absorb the
 * cancel and return 0, and its body ran on.  The inner join must raise
 * -ECANCELED, and the outer group then raises the child's error. */
struct xinner { co_t co; group_t g; int jerr; };
static int xinner(co_t *co)
{
    struct xinner *f = (struct xinner *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    GROUP_SPAWN(&f->g, ret_fn, struct ret, .v = 1, .yields = 10);
    CO_FINALLY
    AWAIT_CATCH(group_join(&f->g, CO_ERROR), f->jerr); /* parked here when the outer fails */
    ev("inner%d", f->jerr);
    if (f->jerr)
        CO_ERROR = f->jerr;
    CO_END;
}

struct xgath { co_t co; group_t g; task_t *t[1]; intptr_t res[1]; int err; };
static int xgath(co_t *co)
{
    struct xgath *f = (struct xgath *)co;
    CO_BEGIN(co);
    f->res[0] = -1;
    f->t[0] = TASK_SPAWN(ret_fn, struct ret, .v = 1, .yields = 10);
    AWAIT_CATCH(group_gather(&f->g, f->t, 1, f->res), f->err); /* parked here */
    ev("gather%d res%ld", f->err, (long)f->res[0]);
    if (f->err)
        CO_RAISE(f->err);
    CO_END;
}

struct xowner { co_t co; int how; group_t g; struct xinner in; struct xgath ga; int err; };
static int xowner(co_t *co)
{
    struct xowner *f = (struct xowner *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    GROUP_SPAWN(&f->g, ret_fn, struct ret, .yields = 1, .err = -EIO); /* fails at its 2nd turn */
    if (f->how == 0)
        AWAIT_CO_CATCH(&f->in.co, xinner, f->err);
    else
        AWAIT_CO_CATCH(&f->ga.co, xgath, f->err);
    ev("body%d", f->err);
    if (f->err)
        CO_RAISE(f->err);
    CO_FINALLY
    AWAIT(group_join(&f->g, CO_ERROR));
    CO_END;
}

START_TEST(bug_group_failure_reaches_owner_in_another_join)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, xowner, struct xowner, .how = 0), -EIO);
    ck_assert_str_eq(evlog, "inner-125 body-125");
    ck_assert_str_eq(log, "");
    free(log);
    evlog[0] = '\0';
    ck_assert_int_eq(RUN(NULL, &log, xowner, struct xowner, .how = 1), -EIO);
    ck_assert_str_eq(evlog, "gather-125 res-1 body-125");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* Found by the model fuzz: a child that gathers its own group's owner.  When
 * the owner fails, group_join cancels the child, whose gather cancels the
 * owner, running inside group_join; that pending cancel once made the join
 * return at once with the child still running.  The join must wait: the two
 * wait for each other, which the loop reports as a deadlock. */
struct ykid { co_t co; task_t **owner; group_t g; task_t *t[1]; intptr_t res[1]; int err; };
static int ykid(co_t *co)
{
    struct ykid *f = (struct ykid *)co;
    CO_BEGIN(co);
    f->t[0] = *f->owner;
    AWAIT_CATCH(group_gather(&f->g, f->t, 1, f->res), f->err);
    ev("kid%d", f->err);
    CO_END;
}

struct yowner { co_t co; task_t *self; group_t g; int jerr; };
static int yowner(co_t *co)
{
    struct yowner *f = (struct yowner *)co;
    CO_BEGIN(co);
    f->self = task_current();
    group_init(&f->g);
    GROUP_SPAWN(&f->g, ykid, struct ykid, .owner = &f->self);
    AWAIT(task_yield()); /* the kid is parked in its gather of us now */
    CO_RAISE(-EIO);
    CO_FINALLY
    AWAIT_CATCH(group_join(&f->g, CO_ERROR), f->jerr);
    ev("owner%d running%zu", f->jerr, f->g.nrunning);
    CO_END;
}

START_TEST(bug_group_join_waits_when_its_cancel_comes_back)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, yowner, struct yowner), -EDEADLK);
    ck_assert_str_eq(evlog, ""); /* the join never returned early */
    ck_assert_ptr_nonnull(strstr(log, "async: deadlock: 2 task(s) parked"));
    ck_assert_ptr_null(strstr(log, "without joining"));
    free(log);
}
END_TEST

/* Found by the model fuzz (seeds 33354 and 45759 of 100,000, then 148423
 * and 400075 of 500,000): an owner cancelled in group_join is woken with
 * -ECANCELED once its children are done.  A second cancel between that
 * wake and its next step was kept for the next park, so the owner's next
 * group join was cancelled as well: two cancels, two deliveries.  They are
 * one cancellation, as in asyncio, where two cancel() calls raise one
 * CancelledError, and in trio.  The first cancel reaches the join in two
 * ways: while it waits (the group's hook), or already pending when it
 * starts (here the owner cancels itself first). */
struct recancel_owner { co_t co; int self; group_t g, g2; int e1, e2; };
static int recancel_owner(co_t *co)
{
    struct recancel_owner *f = (struct recancel_owner *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    GROUP_SPAWN(&f->g, ret_fn, struct ret, .yields = 5);
    if (f->self)
        task_cancel(task_current()); /* pending: group_join takes it */
    AWAIT_CATCH(group_join(&f->g, 0), f->e1);
    group_init(&f->g2);
    GROUP_SPAWN(&f->g2, ret_fn, struct ret, .yields = 1);
    AWAIT_CATCH(group_join(&f->g2, 0), f->e2);
    ev("owner%d,%d", f->e1, f->e2);
    CO_END;
}

struct recancel { co_t co; int self; task_t *o; int err; };
static int recancel(co_t *co)
{
    struct recancel *f = (struct recancel *)co;
    CO_BEGIN(co);
    f->o = TASK_SPAWN(recancel_owner, struct recancel_owner, .self = f->self);
    AWAIT(task_yield()); /* the owner parks in its join; its child is ready */
    if (!f->self)
        task_cancel(f->o); /* the group cancels the child, the owner waits */
    AWAIT(task_yield()); /* the child ends; the owner is woken with -ECANCELED */
    ev("%s", task_state_name(f->o->state));
    task_cancel(f->o); /* before it has run: the same cancellation */
    AWAIT_CATCH(task_join(f->o), f->err);
    ev("main%d", f->err);
    CO_END;
}

START_TEST(bug_cancel_while_the_last_is_on_its_way)
{
    for (int self = 0; self < 2; self++) {
        char *log;
        evlog[0] = '\0';
        ck_assert_int_eq(RUN(NULL, &log, recancel, struct recancel, .self = self), 0);
        ck_assert_msg(strcmp(evlog, "ready owner-125,0 main0") == 0, "self %d: %s", self, evlog);
        ck_assert_str_eq(log, "");
        free(log);
    }
}
END_TEST

void stage02_add_regressions(Suite *s)
{
    /* Regressions: each was a core bug, each asserts the documented
     * behaviour. */
    TCase *tc = new_case(s, "regressions");
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
    tcase_add_test(tc, bug_group_failure_reaches_owner_in_another_join);
    tcase_add_test(tc, bug_group_join_waits_when_its_cancel_comes_back);
    tcase_add_test(tc, bug_cancel_while_the_last_is_on_its_way);
}
