/*
 * test_stage04_sleep.c - sleep_ms / sleep_until and the loop's clock.
 *
 * On the virtual clock every time is exact: a task that sleeps 100 ms from
 * time 0 wakes at exactly 100 ms.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stage04_util.h"

/* ===== deadline order ===================================================== */

struct three { co_t co; task_t *t[3]; int i; intptr_t sum; };
static int three(co_t *co)
{
    struct three *f = (struct three *)co;
    CO_BEGIN(co);
    ev("start@%llu", S4_MS);
    f->t[0] = TASK_SPAWN(s4_nap, struct s4_nap, .name = "a", .ms = 300);
    f->t[1] = TASK_SPAWN(s4_nap, struct s4_nap, .name = "b", .ms = 100);
    f->t[2] = TASK_SPAWN(s4_nap, struct s4_nap, .name = "c", .ms = 200);
    for (f->i = 0; f->i < 3; f->i++) {
        AWAIT(task_join(f->t[f->i]));
        f->sum += CO_VALUE;
    }
    ev("end@%llu", S4_MS);
    CO_RETURN(f->sum);
    CO_END;
}

START_TEST(sleepers_wake_in_deadline_order)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(S4_RUN(&r, &log, three, struct three), 0);
    ck_assert_int_eq(r, 600);
    ck_assert_str_eq(evlog, "start@0 b@100 c@200 a@300 end@300");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* gather: the sleeps overlap, so the whole takes the longest, not the sum. */
struct gathered { co_t co; group_t g; task_t *t[3]; intptr_t res[3]; };
static int gathered(co_t *co)
{
    struct gathered *f = (struct gathered *)co;
    CO_BEGIN(co);
    f->t[0] = TASK_SPAWN(s4_nap, struct s4_nap, .name = "a", .ms = 300);
    f->t[1] = TASK_SPAWN(s4_nap, struct s4_nap, .name = "b", .ms = 100);
    f->t[2] = TASK_SPAWN(s4_nap, struct s4_nap, .name = "c", .ms = 200);
    AWAIT(group_gather(&f->g, f->t, 3, f->res));
    ev("gathered %ld %ld %ld@%llu", (long)f->res[0], (long)f->res[1], (long)f->res[2], S4_MS);
    CO_RETURN(loop_time_ms());
    CO_END;
}

START_TEST(gather_takes_the_longest_not_the_sum)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(S4_RUN(&r, &log, gathered, struct gathered), 0);
    ck_assert_int_eq(r, 300);
    ck_assert_str_eq(evlog, "b@100 c@200 a@300 gathered 300 100 200@300");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* One after the other they add up; sleep_until takes an absolute deadline
 * and one in the past still yields once, without moving the clock back. */
struct in_turn { co_t co; };
static int in_turn(co_t *co)
{
    CO_BEGIN(co);
    AWAIT(sleep_ms(100));
    ev("a@%llu", S4_MS);
    AWAIT(sleep_ms(200));
    ev("b@%llu", S4_MS);
    AWAIT(sleep_until(450000000u));
    ev("c@%llu", S4_MS);
    AWAIT(sleep_until(1000000u)); /* passed long ago */
    ev("d@%llu", S4_MS);
    CO_RETURN((intptr_t)loop_time_ns());
    CO_END;
}

START_TEST(sequential_sleeps_add_up)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(S4_RUN(&r, &log, in_turn, struct in_turn), 0);
    ck_assert_int_eq(r, 450000000);
    ck_assert_str_eq(evlog, "a@100 b@300 c@450 d@450");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct same_deadline { co_t co; task_t *t[4]; int i; };
static int same_deadline(co_t *co)
{
    struct same_deadline *f = (struct same_deadline *)co;
    CO_BEGIN(co);
    f->t[0] = TASK_SPAWN(s4_nap, struct s4_nap, .name = "a", .ms = 100);
    f->t[1] = TASK_SPAWN(s4_nap, struct s4_nap, .name = "b", .ms = 100);
    f->t[2] = TASK_SPAWN(s4_nap, struct s4_nap, .name = "c", .ms = 50);
    f->t[3] = TASK_SPAWN(s4_nap, struct s4_nap, .name = "d", .ms = 100);
    for (f->i = 0; f->i < 4; f->i++)
        AWAIT(task_join(f->t[f->i]));
    CO_END;
}

START_TEST(equal_deadlines_wake_first_come_first_served)
{
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, same_deadline, struct same_deadline), 0);
    ck_assert_str_eq(evlog, "c@50 a@100 b@100 d@100");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== sleep_ms(0) ========================================================== */

struct zero_a { co_t co; };
static int zero_a(co_t *co)
{
    CO_BEGIN(co);
    ev("a1");
    AWAIT(sleep_ms(0));
    ev("a2@%llu", S4_MS);
    CO_END;
}

struct zero_main { co_t co; task_t *a, *b; };
static int zero_main(co_t *co)
{
    struct zero_main *f = (struct zero_main *)co;
    CO_BEGIN(co);
    f->a = TASK_SPAWN(zero_a, struct zero_a);
    f->b = TASK_SPAWN(stepper, struct stepper, .name = "b", .turns = 2);
    AWAIT(task_join(f->a));
    AWAIT(task_join(f->b));
    CO_RETURN((intptr_t)loop_time_ns());
    CO_END;
}

START_TEST(sleep_zero_lets_others_run)
{
    intptr_t r = -1;
    char *log;
    ck_assert_int_eq(S4_RUN(&r, &log, zero_main, struct zero_main), 0);
    /* a parks; b runs; a's timer is due at the next turn, behind b. */
    ck_assert_str_eq(evlog, "a1 b0 b1 a2@0 b.end");
    ck_assert_int_eq(r, 0);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== cancelling a sleep ================================================= */

struct cancel_sleep {
    co_t co;
    task_t *t;
    uint32_t *n; /* timers: before the cancel, right after it */
    int err;
    struct s4_until_parked up; /* a sub-coroutine's frame lives in ours */
};
static int cancel_sleep(co_t *co)
{
    struct cancel_sleep *f = (struct cancel_sleep *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(s4_nap, struct s4_nap, .name = "z", .ms = 3600000);
    f->up = (struct s4_until_parked){.t = f->t, .max = 10};
    AWAIT_CO(&f->up.co, s4_until_parked);
    f->n[0] = s4_ntimers();
    task_cancel(f->t);
    f->n[1] = s4_ntimers(); /* gone at once, not at its deadline */
    AWAIT_CATCH(task_join(f->t), f->err);
    ev("joined%d@%llu", f->err, S4_MS);
    CO_END;
}

START_TEST(cancelled_sleep_leaves_heap_at_once)
{
    uint32_t n[2] = {99, 99};
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, cancel_sleep, struct cancel_sleep, .n = n), 0);
    ck_assert_uint_eq(n[0], 1);
    ck_assert_uint_eq(n[1], 0);
    /* -ECANCELED, its cleanup ran, and the clock never went to the hour */
    char want[64];
    snprintf(want, sizeof want, "z.fin%d@0 joined%d@0", -ECANCELED, -ECANCELED);
    ck_assert_str_eq(evlog, want);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct self_cancel_sleep { co_t co; int err; uint32_t n; };
static int self_cancel_sleep(co_t *co)
{
    struct self_cancel_sleep *f = (struct self_cancel_sleep *)co;
    CO_BEGIN(co);
    task_cancel(task_current());
    AWAIT_CATCH(sleep_ms(100), f->err); /* the pending cancel comes first */
    f->n = s4_ntimers();
    ev("err%d n%u@%llu", f->err, (unsigned)f->n, S4_MS);
    AWAIT(sleep_ms(10)); /* delivered once: the next sleep works */
    ev("slept@%llu", S4_MS);
    CO_END;
}

START_TEST(pending_cancel_refuses_sleep_without_timer)
{
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, self_cancel_sleep, struct self_cancel_sleep), 0);
    char want[64];
    snprintf(want, sizeof want, "err%d n0@0 slept@10", -ECANCELED);
    ck_assert_str_eq(evlog, want);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* A sleep of "forever" does not overflow into a near deadline. */
struct forever { co_t co; task_t *t; uint64_t *when; int err; };
static int forever(co_t *co)
{
    struct forever *f = (struct forever *)co;
    CO_BEGIN(co);
    AWAIT(sleep_ms(5));
    f->t = TASK_SPAWN(s4_nap, struct s4_nap, .name = "f", .ms = UINT64_MAX);
    AWAIT(task_yield());
    *f->when = timer_when(&f->t->timer);
    task_cancel(f->t);
    AWAIT_CATCH(task_join(f->t), f->err);
    CO_RETURN(f->err);
    CO_END;
}

START_TEST(sleep_forever_saturates)
{
    uint64_t when = 0;
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(S4_RUN(&r, &log, forever, struct forever, .when = &when), 0);
    ck_assert_uint_eq(when, UINT64_MAX);
    ck_assert_int_eq(r, -ECANCELED);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== outside a task ======================================================== */

struct outside { co_t co; int e1, e2, e3; };
static int outside(co_t *co)
{
    struct outside *f = (struct outside *)co;
    CO_BEGIN(co);
    AWAIT_CATCH(sleep_ms(10), f->e1);
    AWAIT_CATCH(sleep_until(10), f->e2);
    AWAIT_CATCH(sleep_ms(0), f->e3);
    CO_RETURN(7);
    CO_END;
}

START_TEST(sleep_outside_task_is_enoloop)
{
    /* Driven by hand, with no loop at all. */
    struct outside f = {.e1 = 1, .e2 = 1, .e3 = 1};
    co_init(&f.co, outside);
    intptr_t v = 0;
    ck_assert_int_eq(co_next(&f.co, &v), CO_RETURNED);
    ck_assert_int_eq(v, 7);
    ck_assert_int_eq(f.e1, TASK_ENOLOOP);
    ck_assert_int_eq(f.e2, TASK_ENOLOOP);
    ck_assert_int_eq(f.e3, TASK_ENOLOOP);
    /* And the plain calls park nothing: they complete "now". */
    ck_assert_int_eq(sleep_ms(10), TASK_OP_NOW);
    ck_assert_int_eq(sleep_until(10), TASK_OP_NOW);
}
END_TEST

/* The error raised without CATCH ends the coroutine through CO_FINALLY. */
struct outside_raise { co_t co; int *fin; };
static int outside_raise(co_t *co)
{
    struct outside_raise *f = (struct outside_raise *)co;
    CO_BEGIN(co);
    AWAIT(sleep_ms(10));
    CO_RETURN(1);
    CO_FINALLY
    *f->fin = CO_ERROR;
    CO_END;
}

START_TEST(sleep_outside_task_raises)
{
    int fin = 0;
    struct outside_raise f = {.fin = &fin};
    co_init(&f.co, outside_raise);
    ck_assert_int_eq(co_next(&f.co, NULL), TASK_ENOLOOP);
    ck_assert_int_eq(fin, TASK_ENOLOOP);
}
END_TEST

/* ===== the loop's clock ===================================================== */

/* Every task woken in one iteration reads the same time, even from a clock
 * that moves at every read; the next iteration reads a later one. */
struct stamp { co_t co; uint64_t *out; uint64_t ms; int *done; };
static int stamp(co_t *co)
{
    struct stamp *f = (struct stamp *)co;
    CO_BEGIN(co);
    AWAIT(sleep_ms(f->ms));
    f->out[0] = loop_time_ns();
    f->out[1] = loop_time_ns();
    AWAIT(task_yield());
    f->out[2] = loop_time_ns();
    CO_FINALLY
    ++*f->done;
    CO_END;
}

/* Keeps a task ready until the others are done, so that the loop never
 * waits in the selector: on a fake clock that would be a real wait. */
struct busy { co_t co; const int *done; int until; };
static int busy(co_t *co)
{
    struct busy *f = (struct busy *)co;
    CO_BEGIN(co);
    while (*f->done < f->until)
        AWAIT(task_yield());
    CO_END;
}

struct stamps { co_t co; uint64_t (*out)[3]; group_t g; int i; int done; };
static int stamps(co_t *co)
{
    struct stamps *f = (struct stamps *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    GROUP_SPAWN(&f->g, busy, struct busy, .done = &f->done, .until = 3);
    for (f->i = 0; f->i < 3; f->i++)
        GROUP_SPAWN(&f->g, stamp, struct stamp, .out = f->out[f->i], .ms = 20,
                    .done = &f->done);
    CO_FINALLY
    AWAIT(group_join(&f->g, CO_ERROR));
    CO_END;
}

START_TEST(loop_time_same_within_iteration)
{
    /* A fake clock that advances 1 ms at every read: ~20 iterations pass
     * before the deadline, and a task reading twice would see two times. */
    uint64_t out[3][3];
    memset(out, 0, sizeof out);
    char *log;
    ck_assert_int_eq(s4_run_stepping(1000000u, stamps,
                                     &(struct stamps){.co = {0}, .out = out},
                                     sizeof(struct stamps), NULL, &log), 0);
    ck_assert_str_eq(log, "");
    free(log);
    ck_assert_uint_ge(out[0][0], 20000000u);
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(out[i][0], out[0][0]); /* all woke in one iteration */
        ck_assert_uint_eq(out[i][1], out[0][0]); /* reading again: the same */
        ck_assert_uint_eq(out[i][2], out[0][2]);
    }
    ck_assert_uint_gt(out[0][2], out[0][0]); /* the next iteration: later */
}
END_TEST

/* On the virtual clock time starts at 0 and stays put while tasks run. */
struct vtime { co_t co; uint64_t *out; int i; };
static int vtime(co_t *co)
{
    struct vtime *f = (struct vtime *)co;
    CO_BEGIN(co);
    f->out[0] = loop_time_ns();
    for (f->i = 0; f->i < 1000; f->i++)
        AWAIT(task_yield());
    f->out[1] = loop_time_ns();
    AWAIT(sleep_ms(1));
    f->out[2] = loop_time_ns();
    CO_END;
}

START_TEST(virtual_clock_starts_at_zero_and_waits_for_idle)
{
    uint64_t out[3] = {1, 1, 1};
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, vtime, struct vtime, .out = out), 0);
    ck_assert_uint_eq(out[0], 0);
    ck_assert_uint_eq(out[1], 0);
    ck_assert_uint_eq(out[2], 1000000u);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* The dump says what a sleeper waits for. */
struct dump_sleep { co_t co; task_t *t; char **text; size_t len; FILE *m; int err; };
static int dump_sleep(co_t *co)
{
    struct dump_sleep *f = (struct dump_sleep *)co;
    CO_BEGIN(co);
    AWAIT(sleep_ms(500));
    f->t = TASK_SPAWN(s4_nap, struct s4_nap, .name = "n", .ms = 1500);
    AWAIT(task_yield());
    f->m = open_memstream(f->text, &f->len);
    if (f->m) {
        task_dump_one(f->t, f->m);
        fclose(f->m);
    }
    task_cancel(f->t);
    AWAIT_CATCH(task_join(f->t), f->err);
    CO_END;
}

START_TEST(dump_describes_sleep)
{
    char *text = NULL;
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, dump_sleep, struct dump_sleep, .text = &text), 0);
    ck_assert_ptr_nonnull(text);
    ck_assert_msg(strstr(text, "parked on sleep until 2.000 s (1.500 s from now)"),
                  "dump: %s", text);
    ck_assert_msg(strstr(text, "s4_nap"), "dump: %s", text);
    free(text);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

void stage04_add_sleep(Suite *s)
{
    TCase *tc = s4_case(s, "sleep");
    tcase_add_test(tc, sleepers_wake_in_deadline_order);
    tcase_add_test(tc, gather_takes_the_longest_not_the_sum);
    tcase_add_test(tc, sequential_sleeps_add_up);
    tcase_add_test(tc, equal_deadlines_wake_first_come_first_served);
    tcase_add_test(tc, sleep_zero_lets_others_run);
    tcase_add_test(tc, cancelled_sleep_leaves_heap_at_once);
    tcase_add_test(tc, pending_cancel_refuses_sleep_without_timer);
    tcase_add_test(tc, sleep_forever_saturates);
    tcase_add_test(tc, sleep_outside_task_is_enoloop);
    tcase_add_test(tc, sleep_outside_task_raises);

    tc = s4_case(s, "clock");
    tcase_add_test(tc, loop_time_same_within_iteration);
    tcase_add_test(tc, virtual_clock_starts_at_zero_and_waits_for_idle);
    tcase_add_test(tc, dump_describes_sleep);
}
