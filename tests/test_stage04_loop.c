/*
 * test_stage04_loop.c - the loop with timers: deadlock detection, the
 * virtual clock's jumps, timers beside a stream of ready tasks, many
 * sleepers, and a task woken with a result in the very iteration its
 * scope's deadline passes.
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

/* ===== deadlocks ============================================================ */

struct gated { co_t co; };
static int gated(co_t *co)
{
    CO_BEGIN(co);
    AWAIT(gate_pass(&G)); /* nobody ever opens it */
    CO_FINALLY
    ev("g.fin%d@%llu", CO_ERROR, S4_MS);
    CO_END;
}

struct dl_main { co_t co; task_t *g; };
static int dl_main(co_t *co)
{
    struct dl_main *f = (struct dl_main *)co;
    CO_BEGIN(co);
    task_detach(TASK_SPAWN(s4_nap, struct s4_nap, .name = "n", .ms = 100));
    f->g = TASK_SPAWN(gated, struct gated);
    AWAIT(task_join(f->g));
    CO_FINALLY
    ev("main.fin%d@%llu", CO_ERROR, S4_MS);
    CO_END;
}

START_TEST(deadlock_detected_once_no_timer_is_left)
{
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, dl_main, struct dl_main), -EDEADLK);
    /* Not while the sleeper's timer was pending: only after it fired. */
    ck_assert_str_eq(evlog, s4_str("n@100 main.fin%d@100 g.fin%d@100", C, C));
    ck_assert_msg(strstr(log, "deadlock"), "log: %s", log);
    ck_assert_msg(strstr(log, "'gated#3' parked on gate"), "log: %s", log);
    ck_assert_int_eq(count_of(log, "s4_nap"), 0); /* it had finished */
    free(log);
}
END_TEST

/* Two tasks join each other; one does it inside fail_after: the deadline
 * breaks the cycle, so there is no deadlock. */
struct cyc_a { co_t co; task_t **b; struct scope sc; int err; };
static int cyc_a(co_t *co)
{
    struct cyc_a *f = (struct cyc_a *)co;
    CO_BEGIN(co);
    scope_fail_after(&f->sc, 100);
    AWAIT_CATCH(task_join(*f->b), f->err);
    f->err = scope_close(&f->sc, f->err);
    ev("a%d@%llu", f->err, S4_MS);
    CO_RAISE(f->err);
    CO_END;
}

struct cyc_b { co_t co; task_t **a; int err; };
static int cyc_b(co_t *co)
{
    struct cyc_b *f = (struct cyc_b *)co;
    CO_BEGIN(co);
    AWAIT_CATCH(task_join(*f->a), f->err);
    ev("b%d@%llu", f->err, S4_MS);
    CO_RETURN(f->err);
    CO_END;
}

struct cycle { co_t co; task_t *a, *b; };
static int cycle(co_t *co)
{
    struct cycle *f = (struct cycle *)co;
    CO_BEGIN(co);
    f->a = TASK_SPAWN(cyc_a, struct cyc_a, .b = &f->b);
    f->b = TASK_SPAWN(cyc_b, struct cyc_b, .a = &f->a);
    AWAIT(sleep_ms(200));
    AWAIT(task_join(f->b));
    CO_RETURN(CO_VALUE);
    CO_END;
}

START_TEST(join_cycle_broken_by_deadline)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(S4_RUN(&r, &log, cycle, struct cycle), 0);
    ck_assert_int_eq(r, T);
    ck_assert_str_eq(evlog, s4_str("a%d@100 b%d@100", T, T));
    ck_assert_str_eq(log, ""); /* no deadlock, nothing lost */
    free(log);
}
END_TEST

/* ===== the virtual clock ==================================================== */

struct jump { co_t co; uint64_t *out; };
static int jump(co_t *co)
{
    struct jump *f = (struct jump *)co;
    CO_BEGIN(co);
    AWAIT(sleep_ms(HOUR));
    f->out[0] = loop_time_ms();
    f->out[1] = loop_time_ns();
    AWAIT(sleep_until(loop_time_ns() + 1)); /* the jump lands on the deadline */
    f->out[2] = loop_time_ns();
    AWAIT(sleep_ms(24 * HOUR));
    f->out[3] = loop_time_ms();
    CO_END;
}

START_TEST(virtual_clock_jumps_to_deadline)
{
    uint64_t out[4] = {0};
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, jump, struct jump, .out = out), 0);
    ck_assert_uint_eq(out[0], 3600000u);
    ck_assert_uint_eq(out[1], 3600000000000u);
    ck_assert_uint_eq(out[2], 3600000000001u);
    ck_assert_uint_eq(out[3], 25u * 3600000u);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== timers beside a stream of ready tasks ============================== */

struct spin { co_t co; const int *stop; long spins; };
static int spin(co_t *co)
{
    struct spin *f = (struct spin *)co;
    CO_BEGIN(co);
    while (!*f->stop && f->spins < 100000) { /* bounded: a broken loop fails, not hangs */
        f->spins++;
        AWAIT(task_yield());
    }
    CO_RETURN(f->spins);
    CO_END;
}

struct waker { co_t co; int *stop; };
static int waker(co_t *co)
{
    struct waker *f = (struct waker *)co;
    CO_BEGIN(co);
    AWAIT(sleep_ms(50));
    ev("woke@%llu", S4_MS);
    *f->stop = 1;
    CO_END;
}

struct stream { co_t co; int stop; task_t *s, *w; };
static int stream(co_t *co)
{
    struct stream *f = (struct stream *)co;
    CO_BEGIN(co);
    f->s = TASK_SPAWN(spin, struct spin, .stop = &f->stop);
    f->w = TASK_SPAWN(waker, struct waker, .stop = &f->stop);
    AWAIT(task_join(f->w));
    AWAIT(task_join(f->s));
    CO_RETURN(CO_VALUE);
    CO_END;
}

START_TEST(timer_fires_beside_ready_stream)
{
    /* A fake clock, 1 ms per read: time passes while the spinner keeps a
     * task ready (on the virtual clock it would stand still). */
    intptr_t spins = 0;
    char *log;
    ck_assert_int_eq(s4_run_stepping(1000000u, stream, &(struct stream){.co = {0}},
                                     sizeof(struct stream), &spins, &log), 0);
    ck_assert_str_eq(log, "");
    free(log);
    ck_assert_msg(spins >= 1 && spins < 1000, "the spinner spun %ld times", (long)spins);
    /* The clock is read about once per iteration, so the sleeper wakes at
     * its deadline, give or take an iteration. */
    ck_assert_msg(strcmp(evlog, "woke@50") == 0 || strcmp(evlog, "woke@51") == 0,
                  "evlog: %s", evlog);
}
END_TEST

/* ===== many sleepers ====================================================== */

enum { NMANY = 10000 };
static uint64_t many_deadline[NMANY];
static uint32_t many_order[NMANY];
static uint64_t many_time[NMANY];
static int many_n;

struct many_one { co_t co; uint32_t i; };
static int many_one(co_t *co)
{
    struct many_one *f = (struct many_one *)co;
    CO_BEGIN(co);
    AWAIT(sleep_ms(many_deadline[f->i]));
    if (many_n < NMANY) {
        many_order[many_n] = f->i;
        many_time[many_n] = loop_time_ms();
    }
    many_n++;
    CO_END;
}

struct many { co_t co; group_t g; uint32_t i; };
static int many(co_t *co)
{
    struct many *f = (struct many *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    for (f->i = 0; f->i < NMANY; f->i++)
        GROUP_SPAWN(&f->g, many_one, struct many_one, .i = f->i);
    CO_FINALLY
    AWAIT(group_join(&f->g, CO_ERROR));
    CO_RETURN(loop_time_ms());
    CO_END;
}

START_TEST(ten_thousand_sleepers_wake_in_order)
{
    uint64_t x = 12345, max = 0;
    for (int i = 0; i < NMANY; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        many_deadline[i] = (x >> 33) % 5000; /* many ties */
        if (many_deadline[i] > max)
            max = many_deadline[i];
    }
    many_n = 0;
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(S4_RUN(&r, &log, many, struct many), 0);
    ck_assert_str_eq(log, "");
    free(log);
    ck_assert_int_eq(many_n, NMANY);
    ck_assert_int_eq(r, (intptr_t)max);
    static unsigned char seen[NMANY];
    memset(seen, 0, sizeof seen);
    for (int k = 0; k < NMANY; k++) {
        uint32_t i = many_order[k];
        S4_REQUIRE(i < NMANY && !seen[i], "wake %d: task %u twice or unknown", k, i);
        seen[i] = 1;
        S4_REQUIRE(many_time[k] == many_deadline[i], "task %u woke at %llu, deadline %llu",
                   i, (unsigned long long)many_time[k], (unsigned long long)many_deadline[i]);
        S4_REQUIRE(k == 0 || many_time[k] > many_time[k - 1] ||
                       (many_time[k] == many_time[k - 1] && i > many_order[k - 1]),
                   "wake %d: task %u at %llu after task %u at %llu", k, i,
                   (unsigned long long)many_time[k], many_order[k ? k - 1 : 0],
                   (unsigned long long)many_time[k ? k - 1 : 0]);
    }
}
END_TEST

/* ===== woken and expired in the same iteration ============================= */

/* The reader parks in a recv inside a 100 ms scope.  The writer moves the
 * (fake) clock to the deadline and sends: at the next iteration the loop
 * finds the data (waking the reader with it) and then fires the deadline.
 * The reader keeps its data; its next await is the one cancelled. */
static uint64_t race_clk[2];

struct race_reader { co_t co; struct scope *sc; int fd; char buf[8]; int err; long n; };
static int race_reader(co_t *co)
{
    struct race_reader *f = (struct race_reader *)co;
    CO_BEGIN(co);
    scope_fail_after(f->sc, 100);
    AWAIT_CATCH(sock_recv(f->fd, f->buf, 4), f->err);
    ev("recv%d n%ld %.4s@%llu", f->err, (long)CO_VALUE, f->buf, S4_MS);
    AWAIT_CATCH(sock_recv(f->fd, f->buf, 4), f->err); /* data is there */
    ev("next%d", f->err);
    f->err = scope_close(f->sc, f->err);
    ev("closed%d", f->err);
    f->n = (long)read(f->fd, f->buf, 4); /* nothing was consumed */
    ev("got%ld %.4s", f->n, f->buf);
    CO_END;
}

/* The joined variant: the target finishes (waking the joiner with its
 * value) in the step after the clock reached the deadline. */
struct race_joiner { co_t co; struct scope *sc; task_t **target; int err; };
static int race_joiner(co_t *co)
{
    struct race_joiner *f = (struct race_joiner *)co;
    CO_BEGIN(co);
    scope_fail_after(f->sc, 100);
    AWAIT_CATCH(task_join(*f->target), f->err);
    ev("join%d v%ld@%llu", f->err, (long)CO_VALUE, S4_MS);
    AWAIT_CATCH(task_yield(), f->err);
    ev("next%d", f->err);
    f->err = scope_close(f->sc, f->err);
    ev("closed%d", f->err);
    CO_END;
}

struct flagged { co_t co; const int *flag; };
static int flagged(co_t *co)
{
    struct flagged *f = (struct flagged *)co;
    CO_BEGIN(co);
    while (!*f->flag)
        AWAIT(task_yield());
    CO_RETURN(42);
    CO_END;
}

struct race_writer { co_t co; task_t *r; int fd; int *flag; struct s4_until_parked up; };
static int race_writer(co_t *co)
{
    struct race_writer *f = (struct race_writer *)co;
    CO_BEGIN(co);
    f->up = (struct s4_until_parked){.t = f->r, .max = 10};
    AWAIT_CO(&f->up.co, s4_until_parked);
    ev("parked%ld", (long)CO_VALUE);
    race_clk[0] += 100000000u; /* the deadline, exactly */
    if (f->fd >= 0 && write(f->fd, "dataMORE", 8) != 8)
        ev("write failed");
    if (f->flag)
        *f->flag = 1;
    CO_END;
}

struct race { co_t co; struct scope *sc; int *sv; int flag; task_t *r, *w, *t; };
static int race(co_t *co)
{
    struct race *f = (struct race *)co;
    CO_BEGIN(co);
    if (f->sv) {
        f->r = TASK_SPAWN(race_reader, struct race_reader, .sc = f->sc, .fd = f->sv[0]);
        f->w = TASK_SPAWN(race_writer, struct race_writer, .r = f->r, .fd = f->sv[1]);
    } else {
        f->r = TASK_SPAWN(race_joiner, struct race_joiner, .sc = f->sc, .target = &f->t);
        f->w = TASK_SPAWN(race_writer, struct race_writer, .r = f->r, .fd = -1,
                          .flag = &f->flag);
        f->t = TASK_SPAWN(flagged, struct flagged, .flag = &f->flag);
    }
    AWAIT(task_join(f->w));
    AWAIT(task_join(f->r));
    CO_END;
}

static int run_race(struct scope *sc, int *sv, char **log)
{
    /* A fake clock that moves only when the writer moves it: it is read once
     * per iteration, and a task is ready at every poll until the deadline,
     * so the loop never waits in the selector. */
    race_clk[0] = 5000000000u;
    race_clk[1] = 0;
    struct loop_opts o = {0};
    o.clock = fake_clock;
    o.clock_ctx = race_clk;
    return run_opts(&o, race, &(struct race){.co = {0}, .sc = sc, .sv = sv},
                    sizeof(struct race), NULL, log);
}

START_TEST(io_wake_and_deadline_same_iteration)
{
    struct scope sc;
    memset(&sc, 0, sizeof sc);
    int sv[2];
    s4_socketpair(sv);
    char *log;
    ck_assert_int_eq(run_race(&sc, sv, &log), 0);
    s4_close_pair(sv);
    ck_assert_str_eq(evlog, s4_str("parked1 recv0 n4 data@100 next%d closed%d got4 MORE", C, T));
    ck_assert_int_eq(sc.expired, 1);
    ck_assert_int_eq(sc.caught, 1);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

START_TEST(join_wake_and_deadline_same_iteration)
{
    struct scope sc;
    memset(&sc, 0, sizeof sc);
    char *log;
    ck_assert_int_eq(run_race(&sc, NULL, &log), 0);
    ck_assert_str_eq(evlog, s4_str("parked1 join0 v42@100 next%d closed%d", C, T));
    ck_assert_int_eq(sc.expired, 1);
    ck_assert_int_eq(sc.caught, 1);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

void stage04_add_loop(Suite *s)
{
    TCase *tc = s4_case(s, "loop");
    tcase_add_test(tc, deadlock_detected_once_no_timer_is_left);
    tcase_add_test(tc, join_cycle_broken_by_deadline);
    tcase_add_test(tc, virtual_clock_jumps_to_deadline);
    tcase_add_test(tc, timer_fires_beside_ready_stream);
    tcase_add_test(tc, ten_thousand_sleepers_wake_in_order);

    tc = s4_case(s, "race");
    tcase_add_test(tc, io_wake_and_deadline_same_iteration);
    tcase_add_test(tc, join_wake_and_deadline_same_iteration);
}
