/*
 * test_stage05_queue.c - Queue, LifoQueue and PriorityQueue: order per kind
 * (checked against a model over random operations too), the bound and its
 * back-pressure, the nowait forms, task_done / join, cancellation that
 * neither loses nor invents an item, FIFO admission of waiting putters,
 * ring growth across the wrap-around, and queue_fini.
 *
 * Items are small integers cast to pointers (IT(x)); V(p) turns one back.
 * The seeded stress test of many tasks is in test_stage05_stress.c.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stage05_util.h"

#define IT(x) ((void *)(intptr_t)(x))
#define V(p) ((long)(intptr_t)(p))

/* Priority: the hundreds; the rest tells items of one priority apart. */
static int by_prio(const void *a, const void *b)
{
    intptr_t x = (intptr_t)a / 100, y = (intptr_t)b / 100;
    return (x > y) - (x < y);
}

/* Take every item out with get_nowait into a log "v1,v2,..." (one of two
 * static buffers used in turn). */
static const char *drain(struct queue *q)
{
    static char bufs[2][2048]; /* two may be in one ev() call */
    static unsigned next;
    char *buf = bufs[next++ % 2];
    size_t n = 0;
    void *it;
    buf[0] = '\0';
    while (n + 16 < sizeof bufs[0] && queue_get_nowait(q, &it) == 0)
        n += (size_t)snprintf(buf + n, sizeof bufs[0] - n, "%s%ld", n ? "," : "", V(it));
    return buf;
}

/* ===== order ================================================================= */

START_TEST(queue_order_per_kind)
{
    static const long in[] = {109, 208, 107, 306, 105, 204};
    struct queue q;

    queue_init(&q, 0);
    for (size_t i = 0; i < 6; i++)
        ck_assert_int_eq(queue_put_nowait(&q, IT(in[i])), 0);
    ck_assert_str_eq(drain(&q), "109,208,107,306,105,204");
    ck_assert_int_eq(queue_fini(&q), 0);

    queue_init_lifo(&q, 0);
    for (size_t i = 0; i < 6; i++)
        ck_assert_int_eq(queue_put_nowait(&q, IT(in[i])), 0);
    ck_assert_str_eq(drain(&q), "204,105,306,107,208,109");
    ck_assert_int_eq(queue_fini(&q), 0);

    /* By priority; equal priorities in the order they came (109 before
     * 107 before 105), not by value. */
    queue_init_priority(&q, 0, by_prio);
    for (size_t i = 0; i < 6; i++)
        ck_assert_int_eq(queue_put_nowait(&q, IT(in[i])), 0);
    ck_assert_str_eq(drain(&q), "109,107,105,208,204,306");
    ck_assert_int_eq(queue_fini(&q), 0);
}
END_TEST

/* A random walk of puts and gets (nowait) against a model: a plain array
 * from which FIFO takes the oldest, LIFO the newest, and the priority queue
 * the oldest of the smallest priority.  Thousands of steps: growth, the
 * ring's wrap-around and the heap are all exercised. */
START_TEST(queue_matches_a_model_over_random_operations)
{
    enum { STEPS = 4000, MAXN = 600 };
    static long model[MAXN];
    size_t n = 0;
    struct queue q;
    if (_i == QUEUE_FIFO)
        queue_init(&q, 0);
    else if (_i == QUEUE_LIFO)
        queue_init_lifo(&q, 0);
    else
        queue_init_priority(&q, 0, by_prio);
    uint64_t rng = 12345 + (uint64_t)_i;
    long next = 0;
    size_t most = 0;
    for (int step = 0; step < STEPS; step++) {
        /* Drift up, then down: the size goes through growth and back. */
        int put = step < STEPS / 2 ? s5_below(&rng, 100) < 60 : s5_below(&rng, 100) < 40;
        if (put && n < MAXN) {
            long v = (long)s5_below(&rng, 7) * 100 + (next++ % 100);
            S4_REQUIRE(queue_put_nowait(&q, IT(v)) == 0, "put failed at step %d", step);
            model[n++] = v;
        } else {
            void *it = IT(-1);
            int r = queue_get_nowait(&q, &it);
            if (n == 0) {
                S4_REQUIRE(r == -EAGAIN && V(it) == -1, "get from empty at step %d: %d", step, r);
                continue;
            }
            size_t k = 0;
            if (_i == QUEUE_LIFO)
                k = n - 1;
            else if (_i == QUEUE_PRIORITY)
                for (size_t j = 1; j < n; j++)
                    if (model[j] / 100 < model[k] / 100)
                        k = j;
            S4_REQUIRE(r == 0 && V(it) == model[k], "step %d: got %ld (r %d), want %ld", step,
                       V(it), r, model[k]);
            memmove(model + k, model + k + 1, (n - k - 1) * sizeof model[0]);
            n--;
        }
        S4_REQUIRE(queue_size(&q) == n, "size %zu, want %zu", queue_size(&q), n);
        if (n > most)
            most = n;
    }
    ck_assert_uint_gt(most, 64); /* it did grow well past the first buffer */
    ck_assert_uint_eq(queue_size(&q), n);
    ck_assert_int_eq(queue_fini(&q), 0);
}
END_TEST

/* An unbounded FIFO that wrapped around when it had to grow: 5 in, 3 out
 * (the head is now inside the buffer), 20 more in.  Every remaining item
 * comes out in order. */
START_TEST(queue_ring_grows_across_the_wrap_around)
{
    struct queue q;
    queue_init(&q, 0);
    for (long i = 1; i <= 5; i++)
        ck_assert_int_eq(queue_put_nowait(&q, IT(i)), 0);
    for (long i = 1; i <= 3; i++) {
        void *it;
        ck_assert_int_eq(queue_get_nowait(&q, &it), 0);
        ck_assert_int_eq(V(it), i);
    }
    size_t cap = q.cap;
    for (long i = 6; i <= 25; i++)
        ck_assert_int_eq(queue_put_nowait(&q, IT(i)), 0);
    ck_assert_uint_gt(q.cap, cap); /* it grew, with the ring wrapped */
    ck_assert_uint_eq(queue_size(&q), 22);
    ck_assert_str_eq(drain(&q), "4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25");
    ck_assert_int_eq(queue_empty(&q), 1);
    ck_assert_int_eq(queue_fini(&q), 0);
    ck_assert_ptr_null(q.v);

    /* A bounded one grows to exactly its bound, wrapped as well. */
    queue_init(&q, 13);
    for (long i = 1; i <= 5; i++)
        ck_assert_int_eq(queue_put_nowait(&q, IT(i)), 0);
    for (long i = 1; i <= 3; i++) {
        void *it;
        ck_assert_int_eq(queue_get_nowait(&q, &it), 0);
    }
    for (long i = 6; i <= 16; i++)
        ck_assert_int_eq(queue_put_nowait(&q, IT(i)), 0);
    ck_assert_int_eq(queue_full(&q), 1);
    ck_assert_int_eq(queue_put_nowait(&q, IT(17)), -EAGAIN);
    ck_assert_uint_eq(q.cap, 13);
    ck_assert_str_eq(drain(&q), "4,5,6,7,8,9,10,11,12,13,14,15,16");
    ck_assert_int_eq(queue_fini(&q), 0);
}
END_TEST

/* ===== nowait, size, the bound =============================================== */

START_TEST(queue_nowait_size_empty_full)
{
    struct queue q;
    void *it = IT(77);
    queue_init(&q, 2);
    ck_assert_int_eq(queue_empty(&q), 1);
    ck_assert_int_eq(queue_full(&q), 0);
    ck_assert_uint_eq(queue_size(&q), 0);
    ck_assert_int_eq(queue_get_nowait(&q, &it), -EAGAIN);
    ck_assert_int_eq(V(it), 77); /* untouched */
    ck_assert_int_eq(queue_put_nowait(&q, IT(1)), 0);
    ck_assert_int_eq(queue_empty(&q), 0);
    ck_assert_int_eq(queue_full(&q), 0);
    ck_assert_int_eq(queue_put_nowait(&q, IT(2)), 0);
    ck_assert_int_eq(queue_full(&q), 1);
    ck_assert_int_eq(queue_put_nowait(&q, IT(3)), -EAGAIN);
    ck_assert_uint_eq(queue_size(&q), 2);
    ck_assert_int_eq(queue_get_nowait(&q, &it), 0);
    ck_assert_int_eq(V(it), 1);
    ck_assert_int_eq(queue_full(&q), 0);
    ck_assert_int_eq(queue_get_nowait(&q, &it), 0);
    ck_assert_int_eq(V(it), 2);
    it = IT(77);
    ck_assert_int_eq(queue_get_nowait(&q, &it), -EAGAIN);
    ck_assert_int_eq(V(it), 77);
    ck_assert_int_eq(queue_empty(&q), 1);
    ck_assert_int_eq(queue_fini(&q), 0);

    /* Unbounded: never full. */
    queue_init(&q, 0);
    for (long i = 1; i <= 100; i++)
        ck_assert_int_eq(queue_put_nowait(&q, IT(i)), 0);
    ck_assert_int_eq(queue_full(&q), 0);
    ck_assert_uint_eq(queue_size(&q), 100);
    ck_assert_int_eq(queue_fini(&q), 0); /* items still in: freed all the same */
    ck_assert_ptr_null(q.v);
}
END_TEST

/* A bounded queue holds back its producer: with room for 2, the producer
 * runs ahead by two items and then waits for each get. */
struct qp { co_t co; struct queue *q; const char *name; long from, to, i; int pre, j, err; };
static int qp(co_t *co)
{
    struct qp *f = (struct qp *)co;
    CO_BEGIN(co);
    for (f->j = 0; f->j < f->pre; f->j++)
        AWAIT(task_yield());
    for (f->i = f->from; f->i <= f->to; f->i++) {
        AWAIT_CATCH(queue_put(f->q, IT(f->i)), f->err);
        ev("%s%ld=%s", f->name, f->i, s5_err(f->err));
        if (f->err)
            CO_RETURN(f->err);
    }
    CO_END;
}

struct qc { co_t co; struct queue *q; const char *name; int n, i, err; };
static int qc(co_t *co)
{
    struct qc *f = (struct qc *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->n; f->i++) {
        AWAIT_CATCH(queue_get(f->q), f->err);
        if (f->err) {
            ev("%s=%s", f->name, s5_err(f->err));
            CO_RETURN(f->err);
        }
        ev("%s:%ld", f->name, (long)CO_VALUE);
        AWAIT(task_yield());
    }
    CO_END;
}

#define QP(q_, nm, ...) s5_named(TASK_SPAWN(qp, struct qp, .q = (q_), .name = nm, __VA_ARGS__), nm)
#define QC(q_, nm, ...) s5_named(TASK_SPAWN(qc, struct qc, .q = (q_), .name = nm, __VA_ARGS__), nm)

struct qu_bp { co_t co; struct queue q; task_t *p, *c; int i; };
static int qu_bp(co_t *co)
{
    struct qu_bp *f = (struct qu_bp *)co;
    CO_BEGIN(co);
    queue_init(&f->q, 2);
    f->p = QP(&f->q, "p", .from = 1, .to = 5);
    for (f->i = 0; f->i < 10 && s5_lot_len(&f->q.putters) < 1; f->i++)
        AWAIT(task_yield());
    ev("size%zu full%d putters:%s", queue_size(&f->q), queue_full(&f->q),
       s5_lot_names(&f->q.putters));
    f->c = QC(&f->q, "g", .n = 5);
    AWAIT(task_join(f->c));
    AWAIT(task_join(f->p));
    ev("size%zu", queue_size(&f->q));
    ev("fini=%s", s5_err(queue_fini(&f->q)));
    CO_END;
}

START_TEST(queue_bounded_put_waits_while_full)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, qu_bp, struct qu_bp), 0);
    ck_assert_str_eq(evlog, "p1=ok p2=ok size2 full1 putters:p g:1 p3=ok g:2 p4=ok g:3 p5=ok g:4 "
                            "g:5 size0 fini=ok");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* get waits while empty; a put hands the item straight to the waiting
 * getter (the queue stays empty), and FIFO among getters. */
struct qu_get { co_t co; struct queue q; task_t *g[2]; int i; };
static int qu_get(co_t *co)
{
    struct qu_get *f = (struct qu_get *)co;
    CO_BEGIN(co);
    queue_init(&f->q, 0);
    f->g[0] = QC(&f->q, "A", .n = 1);
    f->g[1] = QC(&f->q, "B", .n = 1);
    AWAIT(task_yield());
    ev("getters:%s", s5_lot_names(&f->q.getters));
    ev("put=%s", s5_err(queue_put_nowait(&f->q, IT(10))));
    ev("size%zu getters:%s", queue_size(&f->q), s5_lot_names(&f->q.getters));
    AWAIT(queue_put(&f->q, IT(20)));
    ev("size%zu", queue_size(&f->q));
    for (f->i = 0; f->i < 2; f->i++)
        AWAIT(task_join(f->g[f->i]));
    queue_fini(&f->q);
    CO_END;
}

START_TEST(queue_get_waits_while_empty)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, qu_get, struct qu_get), 0);
    ck_assert_str_eq(evlog, "getters:A,B put=ok size0 getters:B size0 A:10 B:20");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* Waiting putters are let in first come first served as gets make room:
 * P1, P2, P3 wait in the order P2, P3, P1. */
struct qu_admit { co_t co; struct queue q; task_t *p[3]; int i; };
static int qu_admit(co_t *co)
{
    struct qu_admit *f = (struct qu_admit *)co;
    CO_BEGIN(co);
    queue_init(&f->q, 1);
    queue_put_nowait(&f->q, IT(1));
    f->p[0] = QP(&f->q, "P1_", .from = 11, .to = 11, .pre = 2);
    f->p[1] = QP(&f->q, "P2_", .from = 12, .to = 12, .pre = 0);
    f->p[2] = QP(&f->q, "P3_", .from = 13, .to = 13, .pre = 1);
    for (f->i = 0; f->i < 20 && s5_lot_len(&f->q.putters) < 3; f->i++)
        AWAIT(task_yield());
    ev("putters:%s", s5_lot_names(&f->q.putters));
    for (f->i = 0; f->i < 4; f->i++) {
        AWAIT(queue_get(&f->q));
        ev("g%ld", (long)CO_VALUE);
    }
    for (f->i = 0; f->i < 3; f->i++)
        AWAIT(task_join(f->p[f->i]));
    ev("size%zu", queue_size(&f->q));
    queue_fini(&f->q);
    CO_END;
}

START_TEST(queue_waiting_putters_are_admitted_fifo)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, qu_admit, struct qu_admit), 0);
    ck_assert_str_eq(evlog, "putters:P2_,P3_,P1_ g1 g12 g13 g11 P2_12=ok P3_13=ok P1_11=ok size0");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== task_done / join ========================================================= */

struct qd { co_t co; struct queue *q; const char *name; int n, i; };
static int qd(co_t *co) /* takes n items, and marks each done a turn later */
{
    struct qd *f = (struct qd *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->n; f->i++) {
        AWAIT(queue_get(f->q));
        ev("%s:%ld", f->name, (long)CO_VALUE);
        AWAIT(task_yield());
        ev("%s.done=%s", f->name, s5_err(queue_task_done(f->q)));
    }
    CO_END;
}

struct qj { co_t co; struct queue *q; const char *name; };
static int qj(co_t *co)
{
    struct qj *f = (struct qj *)co;
    CO_BEGIN(co);
    AWAIT(queue_join(f->q));
    ev("%s.joined", f->name);
    CO_END;
}

struct qu_join { co_t co; struct queue q; task_t *c, *j; int err; };
static int qu_join(co_t *co)
{
    struct qu_join *f = (struct qu_join *)co;
    CO_BEGIN(co);
    queue_init(&f->q, 0);
    AWAIT_CATCH(queue_join(&f->q), f->err); /* nothing put: at once */
    ev("join=%s", s5_err(f->err));
    ev("done=%s", s5_err(queue_task_done(&f->q)));
    /* C waits for an item before any is put: the one handed to it counts. */
    f->c = s5_named(TASK_SPAWN(qd, struct qd, .q = &f->q, .name = "C", .n = 3), "C");
    AWAIT(task_yield());
    queue_put_nowait(&f->q, IT(1));
    queue_put_nowait(&f->q, IT(2));
    queue_put_nowait(&f->q, IT(3));
    f->j = s5_named(TASK_SPAWN(qj, struct qj, .q = &f->q, .name = "J"), "J");
    AWAIT(queue_join(&f->q));
    ev("main.joined");
    AWAIT(task_join(f->j));
    AWAIT(task_join(f->c));
    ev("done=%s", s5_err(queue_task_done(&f->q)));
    ev("fini=%s", s5_err(queue_fini(&f->q)));
    CO_END;
}

START_TEST(queue_join_waits_for_every_task_done)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, qu_join, struct qu_join), 0);
    ck_assert_str_eq(evlog, "join=ok done=EOVERFLOW C:1 C.done=ok C:2 C.done=ok C:3 C.done=ok "
                            "main.joined J.joined done=EOVERFLOW fini=ok");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== cancellation ============================================================ */

/* A cancelled get parked on an empty queue takes nothing: the next put goes
 * to the next getter, the one after into the queue. */
struct qu_cget { co_t co; struct queue q; task_t *g[2]; void *it; int err; };
static int qu_cget(co_t *co)
{
    struct qu_cget *f = (struct qu_cget *)co;
    CO_BEGIN(co);
    queue_init(&f->q, 0);
    f->g[0] = QC(&f->q, "G1", .n = 1);
    f->g[1] = QC(&f->q, "G2", .n = 1);
    AWAIT(task_yield());
    task_cancel(f->g[0]);
    ev("getters:%s", s5_lot_names(&f->q.getters));
    AWAIT_CATCH(task_join(f->g[0]), f->err);
    AWAIT(queue_put(&f->q, IT(1)));
    AWAIT(queue_put(&f->q, IT(2)));
    ev("size%zu", queue_size(&f->q));
    AWAIT(task_join(f->g[1]));
    f->err = queue_get_nowait(&f->q, &f->it);
    ev("left=%s:%ld", s5_err(f->err), V(f->it));
    ev("fini=%s", s5_err(queue_fini(&f->q)));
    CO_END;
}

START_TEST(queue_cancelled_get_takes_nothing)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, qu_cget, struct qu_cget), 0);
    ck_assert_str_eq(evlog, "getters:G2 G1=ECANCELED size1 G2:1 left=ok:2 fini=ok");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* The same with scopes: a get and a put, each timing out at 100 on an
 * empty / a full queue, take and add nothing. */
struct qu_timed { co_t co; struct queue *q; int put; struct scope sc; int err; };
static int qu_timed(co_t *co)
{
    struct qu_timed *f = (struct qu_timed *)co;
    CO_BEGIN(co);
    scope_fail_after(&f->sc, 100);
    if (f->put)
        AWAIT_CATCH(queue_put(f->q, IT(99)), f->err);
    else
        AWAIT_CATCH(queue_get(f->q), f->err);
    f->err = scope_close(&f->sc, f->err);
    ev("%s=%s@%llu", f->put ? "put" : "get", s5_err(f->err), S5_MS);
    CO_END;
}

struct qu_scope { co_t co; struct queue empty, full; task_t *g, *p; void *it; };
static int qu_scope(co_t *co)
{
    struct qu_scope *f = (struct qu_scope *)co;
    CO_BEGIN(co);
    queue_init(&f->empty, 0);
    queue_init(&f->full, 1);
    queue_put_nowait(&f->full, IT(1));
    f->g = TASK_SPAWN(qu_timed, struct qu_timed, .q = &f->empty);
    f->p = TASK_SPAWN(qu_timed, struct qu_timed, .q = &f->full, .put = 1);
    AWAIT(sleep_ms(200));
    ev("getters%zu putters%zu", s5_lot_len(&f->empty.getters), s5_lot_len(&f->full.putters));
    queue_put_nowait(&f->empty, IT(5));
    ev("empty:%s full:%s", drain(&f->empty), drain(&f->full));
    AWAIT(task_join(f->g));
    AWAIT(task_join(f->p));
    queue_fini(&f->empty);
    queue_fini(&f->full);
    CO_END;
}

START_TEST(queue_timed_out_get_and_put_take_and_add_nothing)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, qu_scope, struct qu_scope), 0);
    ck_assert_str_eq(evlog, "get=ETIMEDOUT@100 put=ETIMEDOUT@100 getters0 putters0 empty:5 full:1");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* A cancelled put parked on a full queue adds nothing: its item never comes
 * out, and the putter behind it is admitted instead. */
struct qu_cput { co_t co; struct queue q; task_t *p[2]; int err; };
static int qu_cput(co_t *co)
{
    struct qu_cput *f = (struct qu_cput *)co;
    CO_BEGIN(co);
    queue_init(&f->q, 1);
    queue_put_nowait(&f->q, IT(1));
    f->p[0] = QP(&f->q, "P", .from = 2, .to = 2);
    f->p[1] = QP(&f->q, "Q", .from = 3, .to = 3);
    AWAIT(task_yield());
    task_cancel(f->p[0]);
    ev("size%zu putters:%s", queue_size(&f->q), s5_lot_names(&f->q.putters));
    AWAIT_CATCH(task_join(f->p[0]), f->err);
    AWAIT(queue_get(&f->q));
    ev("g%ld", (long)CO_VALUE);
    AWAIT(queue_get(&f->q));
    ev("g%ld", (long)CO_VALUE);
    ev("left:%s", drain(&f->q));
    AWAIT(task_join(f->p[1]));
    queue_fini(&f->q);
    CO_END;
}

START_TEST(queue_cancelled_put_adds_nothing)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, qu_cput, struct qu_cput), 0);
    ck_assert_str_eq(evlog, "size1 putters:Q P2=ECANCELED g1 g3 left: Q3=ok");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* get, put and join are awaits even when they could complete at once: a
 * due cancellation is delivered there, and nothing is taken or added. */
struct qu_due { co_t co; struct queue q; struct scope sc; int err; };
static int qu_due(co_t *co)
{
    struct qu_due *f = (struct qu_due *)co;
    CO_BEGIN(co);
    queue_init(&f->q, 2);
    queue_put_nowait(&f->q, IT(1));
    task_cancel(task_current());
    AWAIT_CATCH(queue_get(&f->q), f->err);
    ev("get=%s size%zu", s5_err(f->err), queue_size(&f->q));
    task_cancel(task_current());
    AWAIT_CATCH(queue_put(&f->q, IT(2)), f->err);
    ev("put=%s size%zu", s5_err(f->err), queue_size(&f->q));
    scope_fail_after(&f->sc, 0);
    AWAIT_CATCH(queue_put(&f->q, IT(3)), f->err);
    f->err = scope_close(&f->sc, f->err);
    ev("scoped put=%s size%zu", s5_err(f->err), queue_size(&f->q));
    scope_fail_after(&f->sc, 0);
    AWAIT_CATCH(queue_get(&f->q), f->err);
    f->err = scope_close(&f->sc, f->err);
    ev("scoped get=%s size%zu", s5_err(f->err), queue_size(&f->q));
    queue_get_nowait(&f->q, &(void *){NULL});
    queue_task_done(&f->q); /* nothing unfinished: join could end at once */
    task_cancel(task_current());
    AWAIT_CATCH(queue_join(&f->q), f->err);
    ev("join=%s", s5_err(f->err));
    AWAIT_CATCH(queue_join(&f->q), f->err);
    ev("join=%s left:%s", s5_err(f->err), drain(&f->q));
    queue_fini(&f->q);
    CO_END;
}

START_TEST(queue_ops_with_a_due_cancellation_take_and_add_nothing)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, qu_due, struct qu_due), 0);
    ck_assert_str_eq(evlog, "get=ECANCELED size1 put=ECANCELED size1 scoped put=ETIMEDOUT size1 "
                            "scoped get=ETIMEDOUT size1 join=ECANCELED join=ok left:");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* Handed an item and cancelled in the same iteration: the get still
 * returns the item, and the cancellation comes at the next await.  The
 * same for a putter let in by a get: its put returned 0 and its item is in
 * the queue.  Nothing is lost. */
struct qu_keep { co_t co; struct queue *q; int put; int err; long got; };
static int qu_keep(co_t *co)
{
    struct qu_keep *f = (struct qu_keep *)co;
    CO_BEGIN(co);
    if (f->put) {
        AWAIT_CATCH(queue_put(f->q, IT(42)), f->err);
        ev("P.put=%s", s5_err(f->err));
    } else {
        AWAIT_CATCH(queue_get(f->q), f->err);
        f->got = (long)CO_VALUE;
        ev("G.get=%s:%ld", s5_err(f->err), f->got);
    }
    AWAIT_CATCH(task_yield(), f->err);
    ev("%s.next=%s", f->put ? "P" : "G", s5_err(f->err));
    CO_RETURN(f->got);
    CO_END;
}

struct qu_handed { co_t co; struct queue e, full; task_t *g, *p; void *it; };
static int qu_handed(co_t *co)
{
    struct qu_handed *f = (struct qu_handed *)co;
    CO_BEGIN(co);
    queue_init(&f->e, 0);
    queue_init(&f->full, 1);
    queue_put_nowait(&f->full, IT(1));
    f->g = TASK_SPAWN(qu_keep, struct qu_keep, .q = &f->e);
    f->p = TASK_SPAWN(qu_keep, struct qu_keep, .q = &f->full, .put = 1);
    AWAIT(task_yield());
    queue_put_nowait(&f->e, IT(7)); /* to the parked getter */
    task_cancel(f->g);
    queue_get_nowait(&f->full, &f->it); /* lets the parked putter in */
    task_cancel(f->p);
    ev("got%ld size%zu/%zu", V(f->it), queue_size(&f->e), queue_size(&f->full));
    AWAIT(task_join(f->g));
    ev("G returned %ld", (long)CO_VALUE);
    AWAIT(task_join(f->p));
    ev("full:%s", drain(&f->full));
    queue_fini(&f->e);
    queue_fini(&f->full);
    CO_END;
}

START_TEST(queue_handed_then_cancelled_loses_nothing)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, qu_handed, struct qu_handed), 0);
    ck_assert_str_eq(evlog, "got1 size0/1 G.get=ok:7 G.next=ECANCELED P.put=ok P.next=ECANCELED "
                            "G returned 7 full:42");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* ===== queue_fini ============================================================== */

/* -EBUSY, freeing nothing, while a getter, a putter or a joiner waits; the
 * queue keeps working; 0 once nobody waits, and the buffer is freed
 * (SAN / valgrind check that nothing leaks). */
struct qu_fini { co_t co; struct queue q; task_t *t; void *it; };
static int qu_fini(co_t *co)
{
    struct qu_fini *f = (struct qu_fini *)co;
    CO_BEGIN(co);
    /* a getter */
    queue_init(&f->q, 1);
    f->t = QC(&f->q, "G", .n = 1);
    AWAIT(task_yield());
    ev("fini=%s", s5_err(queue_fini(&f->q)));
    queue_put_nowait(&f->q, IT(1));
    AWAIT(task_join(f->t));
    ev("fini=%s", s5_err(queue_fini(&f->q)));
    ev("v%d", f->q.v == NULL);
    /* a putter */
    queue_init(&f->q, 1);
    queue_put_nowait(&f->q, IT(2));
    f->t = QP(&f->q, "P", .from = 3, .to = 3);
    AWAIT(task_yield());
    ev("fini=%s size%zu", s5_err(queue_fini(&f->q)), queue_size(&f->q));
    ev("left:%s", drain(&f->q));
    AWAIT(task_join(f->t));
    ev("fini=%s", s5_err(queue_fini(&f->q)));
    ev("v%d", f->q.v == NULL);
    /* a joiner */
    queue_init(&f->q, 0);
    queue_put_nowait(&f->q, IT(4));
    f->t = s5_named(TASK_SPAWN(qj, struct qj, .q = &f->q, .name = "J"), "J");
    AWAIT(task_yield());
    ev("fini=%s", s5_err(queue_fini(&f->q)));
    queue_get_nowait(&f->q, &f->it);
    queue_task_done(&f->q);
    AWAIT(task_join(f->t));
    ev("fini=%s", s5_err(queue_fini(&f->q)));
    ev("v%d", f->q.v == NULL);
    ev("again=%s", s5_err(queue_fini(&f->q)));
    CO_END;
}

START_TEST(queue_fini_is_ebusy_while_tasks_wait)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, qu_fini, struct qu_fini), 0);
    ck_assert_str_eq(evlog, "fini=EBUSY G:1 fini=ok v1 fini=EBUSY size1 left:2,3 P3=ok fini=ok v1 "
                            "fini=EBUSY J.joined fini=ok v1 again=ok");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

void stage05_add_queue(Suite *s)
{
    TCase *tc = s5_case(s, "queue");
    tcase_add_test(tc, queue_order_per_kind);
    tcase_add_loop_test(tc, queue_matches_a_model_over_random_operations, QUEUE_FIFO,
                        QUEUE_PRIORITY + 1);
    tcase_add_test(tc, queue_ring_grows_across_the_wrap_around);
    tcase_add_test(tc, queue_nowait_size_empty_full);
    tcase_add_test(tc, queue_bounded_put_waits_while_full);
    tcase_add_test(tc, queue_get_waits_while_empty);
    tcase_add_test(tc, queue_waiting_putters_are_admitted_fifo);
    tcase_add_test(tc, queue_join_waits_for_every_task_done);
    tcase_add_test(tc, queue_cancelled_get_takes_nothing);
    tcase_add_test(tc, queue_timed_out_get_and_put_take_and_add_nothing);
    tcase_add_test(tc, queue_cancelled_put_adds_nothing);
    tcase_add_test(tc, queue_ops_with_a_due_cancellation_take_and_add_nothing);
    tcase_add_test(tc, queue_handed_then_cancelled_loses_nothing);
    tcase_add_test(tc, queue_fini_is_ebusy_while_tasks_wait);
}
