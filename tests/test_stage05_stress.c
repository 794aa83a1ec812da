/*
 * test_stage05_stress.c - a bounded FIFO queue under a seeded random mix of
 * puts, gets (waiting, nowait, and inside scopes with random deadlines),
 * sleeps, yields and task_cancel of random tasks, checked afterwards for
 * conservation: every item whose put returned 0 was got exactly once or is
 * still in the queue; an item whose put failed was never got and is not in
 * the queue; no item was got twice or invented.  And, because the queue is
 * FIFO and each producer puts one item at a time, every consumer sees the
 * items of any one producer in the order they were put.
 *
 * Each seed is one loop run on the virtual clock: the same seed, the same
 * run.  A failure names the seed.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stage05_util.h"

enum {
    NPROD = 3,
    NCONS = 3,
    NWORK = NPROD + NCONS,
    ROUNDS = 600,      /* main's turns of mischief */
    MAXITEMS = 20000,
    MAXSIZE = 3,
    MAIN_CONS = NCONS, /* main's get_nowait counts as one more consumer */
};

struct st {
    struct queue q;
    uint64_t rng;
    int stop;
    long next;                          /* the last item offered */
    uint8_t offered[MAXITEMS + 1];
    uint8_t put_ok[MAXITEMS + 1];
    uint8_t got[MAXITEMS + 1];
    uint8_t producer[MAXITEMS + 1];
    long last[NCONS + 1][NPROD];        /* per consumer, per producer */
    int bad;                            /* first invariant broken, as a code */
    long bad_item;
    /* what happened, so the test can tell it did exercise something */
    int put_ok_n, put_cancelled, put_timedout, put_full;
    int get_ok_n, get_cancelled, get_timedout, get_empty;
    int cancels, unexpected;
};

static void note_bad(struct st *s, int code, long item)
{
    if (!s->bad) {
        s->bad = code;
        s->bad_item = item;
    }
}

static void record_get(struct st *s, int consumer, long item)
{
    if (item < 1 || item > s->next || !s->offered[item]) {
        note_bad(s, 1, item); /* invented */
        return;
    }
    if (s->got[item]++)
        note_bad(s, 2, item); /* got twice */
    int p = s->producer[item];
    if (item <= s->last[consumer][p])
        note_bad(s, 3, item); /* out of order for its producer */
    s->last[consumer][p] = item;
    s->get_ok_n++;
}

/* A worker: a producer (id < NPROD) or a consumer.  Each turn picks an
 * operation at random; a cancellation it catches just ends that operation,
 * and it stops when main says so. */
struct sw_frame {
    co_t co;
    struct st *s;
    int id;
    struct scope sc;
    int scoped, err, raw;
    uint32_t op;
    long item;
    void *it;
};
static int sw_worker(co_t *co)
{
    struct sw_frame *f = (struct sw_frame *)co;
    CO_BEGIN(co);
    while (!f->s->stop) {
        f->op = s5_below(&f->s->rng, 10);
        if (f->op == 0) {
            AWAIT_CATCH(task_yield(), f->err);
        } else if (f->op == 1) {
            AWAIT_CATCH(sleep_ms(s5_below(&f->s->rng, 3)), f->err);
        } else if (f->id < NPROD && f->op == 2) {
            f->item = ++f->s->next;
            f->s->offered[f->item] = 1;
            f->s->producer[f->item] = (uint8_t)f->id;
            f->err = queue_put_nowait(&f->s->q, (void *)(intptr_t)f->item);
            if (f->err == 0) {
                f->s->put_ok[f->item] = 1;
                f->s->put_ok_n++;
            } else if (f->err == -EAGAIN) {
                f->s->put_full++;
            } else {
                f->s->unexpected++;
            }
        } else if (f->id < NPROD) {
            f->item = ++f->s->next;
            f->s->offered[f->item] = 1;
            f->s->producer[f->item] = (uint8_t)f->id;
            f->scoped = s5_below(&f->s->rng, 3) == 0;
            if (f->scoped)
                scope_fail_after(&f->sc, s5_below(&f->s->rng, 4));
            AWAIT_CATCH(queue_put(&f->s->q, (void *)(intptr_t)f->item), f->raw);
            f->err = f->scoped ? scope_close(&f->sc, f->raw) : f->raw;
            if (f->raw == 0) {
                f->s->put_ok[f->item] = 1;
                f->s->put_ok_n++;
            } else if (f->err == -ETIMEDOUT) {
                f->s->put_timedout++;
            } else if (f->err == -ECANCELED) {
                f->s->put_cancelled++;
            } else {
                f->s->unexpected++;
            }
        } else if (f->op == 2) {
            f->err = queue_get_nowait(&f->s->q, &f->it);
            if (f->err == 0)
                record_get(f->s, f->id - NPROD, (long)(intptr_t)f->it);
            else if (f->err == -EAGAIN)
                f->s->get_empty++;
            else
                f->s->unexpected++;
        } else {
            f->scoped = s5_below(&f->s->rng, 3) == 0;
            if (f->scoped)
                scope_fail_after(&f->sc, s5_below(&f->s->rng, 4));
            AWAIT_CATCH(queue_get(&f->s->q), f->raw);
            f->item = (long)CO_VALUE;
            f->err = f->scoped ? scope_close(&f->sc, f->raw) : f->raw;
            if (f->raw == 0)
                record_get(f->s, f->id - NPROD, f->item);
            else if (f->err == -ETIMEDOUT)
                f->s->get_timedout++;
            else if (f->err == -ECANCELED)
                f->s->get_cancelled++;
            else
                f->s->unexpected++;
        }
    }
    CO_END;
}

struct st_main { co_t co; struct st *s; task_t *w[NWORK]; int i, err; uint32_t op; void *it; };
static int st_main(co_t *co)
{
    struct st_main *f = (struct st_main *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < NWORK; f->i++)
        f->w[f->i] = TASK_SPAWN(sw_worker, struct sw_frame, .s = f->s, .id = f->i);
    AWAIT(task_yield()); /* every worker starts (one cancelled before it
                            ran would never run at all) */
    for (f->i = 0; f->i < ROUNDS; f->i++) {
        f->op = s5_below(&f->s->rng, 8);
        if (f->op < 3) { /* cancel someone, wherever it is */
            task_cancel(f->w[s5_below(&f->s->rng, NWORK)]);
            f->s->cancels++;
        } else if (f->op == 3) {
            if (queue_get_nowait(&f->s->q, &f->it) == 0)
                record_get(f->s, MAIN_CONS, (long)(intptr_t)f->it);
        } else if (f->op == 4) {
            AWAIT(sleep_ms(s5_below(&f->s->rng, 3)));
        } else {
            AWAIT(task_yield());
        }
        if (f->s->next > MAXITEMS - 100)
            break;
    }
    /* The end: every worker is told to stop and cancelled out of whatever
     * it waits on; it ends at the top of its loop. */
    f->s->stop = 1;
    for (f->i = 0; f->i < NWORK; f->i++)
        task_cancel(f->w[f->i]);
    for (f->i = 0; f->i < NWORK; f->i++) {
        AWAIT_CATCH(task_join(f->w[f->i]), f->err);
        if (f->err)
            f->s->unexpected++;
    }
    CO_END;
}

START_TEST(queue_stress_conserves_items)
{
    static struct st s; /* big: not on the stack */
    memset(&s, 0, sizeof s);
    uint64_t seed = 0x5EED0000u + (uint64_t)_i * 7919u;
    s.rng = seed;
    queue_init(&s.q, MAXSIZE);
    char *log;
    int rc = S5_RUN(NULL, &log, st_main, struct st_main, .s = &s);
    ck_assert_msg(rc == 0, "seed %d: loop_run %d, log: %s", _i, rc, log);
    ck_assert_msg(strcmp(log, "") == 0, "seed %d: %s", _i, log);
    free(log);
    ck_assert_msg(s.bad == 0, "seed %d: invariant %d broken by item %ld", _i, s.bad, s.bad_item);
    ck_assert_msg(s.unexpected == 0, "seed %d: %d unexpected errors", _i, s.unexpected);
    ck_assert(lot_empty(&s.q.getters) && lot_empty(&s.q.putters) && lot_empty(&s.q.joiners));

    /* Nothing was task_done'd: every item put is unfinished. */
    ck_assert_uint_eq(s.q.unfinished, (size_t)s.put_ok_n);
    /* What is left in the queue: each an item that was put, once. */
    static uint8_t inq[MAXITEMS + 1];
    memset(inq, 0, sizeof inq);
    int left = 0;
    void *it;
    while (queue_get_nowait(&s.q, &it) == 0) {
        long v = (long)(intptr_t)it;
        ck_assert_msg(v >= 1 && v <= s.next && s.offered[v], "seed %d: %ld invented", _i, v);
        ck_assert_msg(inq[v]++ == 0, "seed %d: %ld twice in the queue", _i, v);
        left++;
    }
    ck_assert_int_le(left, MAXSIZE);
    ck_assert_int_eq(queue_fini(&s.q), 0);
    for (long v = 1; v <= s.next; v++) {
        int n = s.got[v] + inq[v];
        S4_REQUIRE(n == (s.put_ok[v] ? 1 : 0), "seed %d: item %ld put %d, got %d, in queue %d", _i,
                   v, s.put_ok[v], s.got[v], inq[v]);
    }
    ck_assert_int_eq(s.put_ok_n, s.get_ok_n + left);

    /* And the run did go through what it is meant to test. */
    ck_assert_msg(s.put_cancelled > 0 && s.put_timedout > 0 && s.put_full > 0 &&
                      s.get_cancelled > 0 && s.get_timedout > 0 && s.get_empty > 0 &&
                      s.get_ok_n > 100,
                  "seed %d: put ok %d cancelled %d timed out %d full %d; get ok %d cancelled %d "
                  "timed out %d empty %d",
                  _i, s.put_ok_n, s.put_cancelled, s.put_timedout, s.put_full, s.get_ok_n,
                  s.get_cancelled, s.get_timedout, s.get_empty);
}
END_TEST

void stage05_add_stress(Suite *s)
{
    TCase *tc = s5_case(s, "queue stress");
    tcase_add_loop_test(tc, queue_stress_conserves_items, 0, 8);
}
