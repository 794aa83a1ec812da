/*
 * test_stage02_groups.c - task groups (join waits for every child, the
 * first failure cancels the rest, results in spawn order, an owner that
 * never joins) and gather.
 *
 * The tcases "group" and "gather" of the stage02 suite; the helpers they
 * share are in stage02_util.h.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stage02_util.h"

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

/* ===== the test cases =================================================== */

void stage02_add_groups(Suite *s)
{
    TCase *tc = new_case(s, "group");
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
}
