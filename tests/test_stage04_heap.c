/*
 * test_stage04_heap.c - the timer heap driven directly, without a loop, and
 * the loop's timer calls (timer_start / timer_stop / timer_when).
 *
 * The heap is checked against a model: which timers are in it and with what
 * deadline, and in which order they were pushed.  After every operation of a
 * long random walk the whole heap is checked: the heap property, that every
 * member's index points at its own entry, that every other timer's index is
 * TIMER_IDLE, and that the top is the model's earliest (deadline, then push
 * order).
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stage04_util.h"

/* A fixed-seed xorshift: every run walks the same path. */
static uint64_t rng;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static uint32_t below(uint32_t n) { return (uint32_t)(rnd() % n); }

/* The heap's order, spelled out independently of timer.c: by deadline, then
 * by start order (seq, compared modulo 2^32). */
static int before(const struct timer_entry *a, const struct timer_entry *b)
{
    if (a->when != b->when)
        return a->when < b->when;
    return (int32_t)(a->timer->seq - b->timer->seq) < 0;
}

/* ---- the model ------------------------------------------------------------ */

enum { NT = 400 };

struct model {
    struct timer t[NT];
    int in[NT];           /* t[k] is in the heap */
    uint64_t when[NT];    /* ... with this deadline */
    uint64_t order[NT];   /* ... pushed as the order[k]-th push */
    uint64_t pushes;
    uint32_t n;
};

static void model_init(struct model *m)
{
    memset(m, 0, sizeof *m);
    for (int k = 0; k < NT; k++)
        m->t[k].index = TIMER_IDLE;
}

/* The model's earliest member, or -1. */
static int model_min(const struct model *m)
{
    int best = -1;
    for (int k = 0; k < NT; k++) {
        if (!m->in[k])
            continue;
        if (best < 0 || m->when[k] < m->when[best] ||
            (m->when[k] == m->when[best] && m->order[k] < m->order[best]))
            best = k;
    }
    return best;
}

/* Everything the heap promises, checked against the model. */
static void check_heap(const struct timer_heap *h, const struct model *m)
{
    S4_REQUIRE(h->n == m->n, "heap holds %u timers, model %u", h->n, m->n);
    S4_REQUIRE(h->n <= h->cap, "n %u > cap %u", h->n, h->cap);
    for (uint32_t i = 0; i < h->n; i++) {
        const struct timer *t = h->v[i].timer;
        S4_REQUIRE(t != NULL, "entry %u: no timer", i);
        S4_REQUIRE(t->index == i, "entry %u: its timer says index %u", i, t->index);
        ptrdiff_t k = t - m->t;
        S4_REQUIRE(k >= 0 && k < NT && m->in[k], "entry %u is not a member", i);
        S4_REQUIRE(h->v[i].when == m->when[k], "entry %u: when %llu, model %llu", i,
                   (unsigned long long)h->v[i].when, (unsigned long long)m->when[k]);
        S4_REQUIRE(i == 0 || !before(&h->v[i], &h->v[(i - 1) / 2]),
                   "heap property broken at %u (when %llu, parent %llu)", i,
                   (unsigned long long)h->v[i].when,
                   (unsigned long long)h->v[i ? (i - 1) / 2 : 0].when);
    }
    for (int k = 0; k < NT; k++) {
        uint32_t i = m->t[k].index;
        if (!m->in[k])
            S4_REQUIRE(i == TIMER_IDLE, "timer %d: index %u, not idle", k, i);
        else
            S4_REQUIRE(i < h->n && h->v[i].timer == &m->t[k],
                       "member %d: index %u does not point at it", k, i);
    }
    int best = model_min(m);
    const struct timer_entry *top = timer_heap_top(h);
    if (best < 0)
        S4_REQUIRE(top == NULL, "empty heap with a top");
    else
        S4_REQUIRE(top && top->timer == &m->t[best] && top->when == m->when[best],
                   "top is timer %td, model says %d", top ? top->timer - m->t : -1, best);
}

static void model_push(struct timer_heap *h, struct model *m, int k, uint64_t when)
{
    int r = timer_heap_push(h, &m->t[k], when);
    S4_REQUIRE(r == 0, "push: %d", r);
    m->in[k] = 1;
    m->when[k] = when;
    m->order[k] = m->pushes++;
    m->n++;
}

static void model_remove(struct timer_heap *h, struct model *m, int k)
{
    timer_heap_remove(h, &m->t[k]);
    m->in[k] = 0;
    m->n--;
}

/* A random deadline: a narrow range, for many ties, and now and then an
 * extreme. */
static uint64_t random_when(void)
{
    uint32_t r = below(100);
    if (r == 0)
        return 0;
    if (r == 1)
        return UINT64_MAX;
    if (r < 10)
        return rnd();
    return below(40);
}

/* A random timer in (want_in = 1) or out of the heap, or -1. */
static int pick(const struct model *m, int want_in)
{
    int start = (int)below(NT);
    for (int j = 0; j < NT; j++) {
        int k = (start + j) % NT;
        if (m->in[k] == want_in)
            return k;
    }
    return -1;
}

START_TEST(heap_random_walk_matches_model)
{
    static struct model m;
    struct timer_heap h;
    timer_heap_init(&h);
    model_init(&m);
    rng = 0x9e3779b97f4a7c15u;
    int pops = 0, middles = 0;
    for (int op = 0; op < 6000; op++) {
        uint32_t what = below(100);
        int k;
        if (what < 45 && (k = pick(&m, 0)) >= 0) {
            model_push(&h, &m, k, random_when());
        } else if (what < 70 && (k = pick(&m, 1)) >= 0) {
            if (m.t[k].index != 0 && m.t[k].index != h.n - 1)
                middles++;
            model_remove(&h, &m, k); /* from anywhere, mostly the middle */
        } else if (what < 92 && h.n > 0) {
            k = model_min(&m);
            S4_REQUIRE(timer_heap_top(&h)->timer == &m.t[k], "op %d: wrong top", op);
            model_remove(&h, &m, k); /* pop */
            pops++;
        } else if ((k = pick(&m, 1)) >= 0) {
            /* misuse: pushing a member again changes nothing */
            int r = timer_heap_push(&h, &m.t[k], 12345);
            S4_REQUIRE(r == -EBUSY, "op %d: push of a member gave %d", op, r);
        }
        check_heap(&h, &m);
    }
    ck_assert_int_gt(pops, 500);
    ck_assert_int_gt(middles, 500);
    /* Drain: the pops come out in the model's order. */
    while (h.n) {
        int k = model_min(&m);
        S4_REQUIRE(timer_heap_top(&h)->timer == &m.t[k], "drain: wrong top");
        model_remove(&h, &m, k);
        check_heap(&h, &m);
    }
    timer_heap_fini(&h);
}
END_TEST

/* ---- against sorting -------------------------------------------------- */

struct sorted {
    uint64_t when;
    uint32_t order;
};

static int cmp_sorted(const void *a, const void *b)
{
    const struct sorted *x = a, *y = b;
    if (x->when != y->when)
        return x->when < y->when ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

enum { NS = 5000 };

START_TEST(heap_pops_in_sorted_order)
{
    static struct timer t[NS];
    static struct sorted want[NS];
    static int removed[NS];
    struct timer_heap h;
    timer_heap_init(&h);
    rng = 42;
    for (uint32_t i = 0; i < NS; i++) {
        t[i].index = TIMER_IDLE;
        removed[i] = 0;
        uint64_t when = below(2) ? below(1000) : rnd() >> 1;
        S4_REQUIRE(timer_heap_push(&h, &t[i], when) == 0, "push %u failed", i);
        want[i] = (struct sorted){.when = when, .order = i};
    }
    ck_assert_uint_eq(h.n, NS);
    /* Take a random third out of the middle first. */
    uint32_t nrem = 0;
    for (uint32_t j = 0; j < NS / 3; j++) {
        uint32_t i = below(NS);
        if (removed[i])
            continue;
        timer_heap_remove(&h, &t[i]);
        S4_REQUIRE(t[i].index == TIMER_IDLE, "removed timer %u: index %u", i, t[i].index);
        removed[i] = 1;
        nrem++;
    }
    ck_assert_uint_eq(h.n, NS - nrem);
    uint32_t nwant = 0;
    for (uint32_t i = 0; i < NS; i++)
        if (!removed[i])
            want[nwant++] = want[i];
    qsort(want, nwant, sizeof want[0], cmp_sorted);
    for (uint32_t j = 0; j < nwant; j++) {
        const struct timer_entry *top = timer_heap_top(&h);
        S4_REQUIRE(top != NULL, "pop %u: empty", j);
        S4_REQUIRE(top->timer == &t[want[j].order] && top->when == want[j].when,
                      "pop %u: got timer %td at %llu, want timer %u at %llu", j,
                      top->timer - t, (unsigned long long)top->when, want[j].order,
                      (unsigned long long)want[j].when);
        timer_heap_remove(&h, top->timer);
    }
    ck_assert_ptr_null(timer_heap_top(&h));
    ck_assert_uint_eq(h.n, 0);
    timer_heap_fini(&h);
}
END_TEST

/* ---- equal deadlines ---------------------------------------------------- */

static int pop_index(struct timer_heap *h, struct timer *base)
{
    const struct timer_entry *top = timer_heap_top(h);
    S4_REQUIRE(top != NULL, "pop from an empty heap");
    struct timer *t = top->timer;
    timer_heap_remove(h, t);
    return (int)(t - base);
}

START_TEST(heap_equal_deadlines_fifo)
{
    struct timer t[200];
    struct timer_heap h;
    timer_heap_init(&h);
    for (int i = 0; i < 200; i++) {
        t[i].index = TIMER_IDLE;
        ck_assert_int_eq(timer_heap_push(&h, &t[i], 7), 0);
    }
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(pop_index(&h, t), i);
    /* Interleaved: three deadlines, each group first-come first-served. */
    static const int order[] = {0, 3, 6, 9, 1, 4, 7, 2, 5, 8};
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(timer_heap_push(&h, &t[i], (uint64_t)(100 + i % 3)), 0);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(pop_index(&h, t), order[i]);
    /* A timer removed and pushed again goes to the back of its deadline. */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(timer_heap_push(&h, &t[i], 9), 0);
    timer_heap_remove(&h, &t[1]);
    ck_assert_int_eq(timer_heap_push(&h, &t[1], 9), 0);
    static const int again[] = {0, 2, 3, 4, 1};
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(pop_index(&h, t), again[i]);
    timer_heap_fini(&h);
}
END_TEST

START_TEST(heap_equal_deadlines_fifo_across_seq_wrap)
{
    struct timer t[16];
    struct timer_heap h;
    timer_heap_init(&h);
    h.seq = UINT32_MAX - 5; /* the start counter wraps in the middle */
    for (int i = 0; i < 16; i++) {
        t[i].index = TIMER_IDLE;
        ck_assert_int_eq(timer_heap_push(&h, &t[i], 5), 0);
    }
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(pop_index(&h, t), i);
    timer_heap_fini(&h);
}
END_TEST

/* ---- misuse -------------------------------------------------------------- */

START_TEST(heap_remove_non_member_is_ignored)
{
    struct timer t[4], other, stale, beyond;
    struct timer_heap h, h2;
    timer_heap_init(&h);
    timer_heap_init(&h2);
    for (int i = 0; i < 4; i++) {
        t[i].index = TIMER_IDLE;
        ck_assert_int_eq(timer_heap_push(&h, &t[i], (uint64_t)(40 - i)), 0);
    }
    struct timer_entry snap[4];
    memcpy(snap, h.v, sizeof snap);

    other.index = TIMER_IDLE;
    ck_assert_int_eq(timer_heap_push(&h2, &other, 1), 0); /* index 0 in h2 */
    stale.index = 0;                                      /* garbage, in range */
    beyond.index = 1000;                                  /* garbage, out of range */
    timer_heap_remove(&h, &other);
    timer_heap_remove(&h, &stale);
    timer_heap_remove(&h, &beyond);
    struct timer idle = {.index = TIMER_IDLE};
    timer_heap_remove(&h, &idle);

    ck_assert_uint_eq(h.n, 4);
    ck_assert_int_eq(memcmp(snap, h.v, sizeof snap), 0);
    for (uint32_t i = 0; i < 4; i++)
        ck_assert_uint_eq(h.v[i].timer->index, i);
    ck_assert_uint_eq(other.index, 0); /* still in h2, untouched */
    ck_assert_uint_eq(h2.n, 1);
    ck_assert_uint_eq(stale.index, 0);
    ck_assert_uint_eq(idle.index, TIMER_IDLE);

    /* Removing twice: the second is ignored. */
    timer_heap_remove(&h, &t[2]);
    ck_assert_uint_eq(h.n, 3);
    timer_heap_remove(&h, &t[2]);
    ck_assert_uint_eq(h.n, 3);
    ck_assert_int_eq(pop_index(&h, t), 3);
    ck_assert_int_eq(pop_index(&h, t), 1);
    ck_assert_int_eq(pop_index(&h, t), 0);
    ck_assert_ptr_null(timer_heap_top(&h));

    timer_heap_fini(&h);
    timer_heap_fini(&h2);
    ck_assert_uint_eq(other.index, TIMER_IDLE); /* fini lets its timers go */
}
END_TEST

START_TEST(heap_push_member_is_ebusy)
{
    struct timer a = {.index = TIMER_IDLE}, b = {.index = TIMER_IDLE};
    struct timer_heap h, h2;
    timer_heap_init(&h);
    timer_heap_init(&h2);
    ck_assert_int_eq(timer_heap_push(&h, &a, 10), 0);
    ck_assert_int_eq(timer_heap_push(&h, &b, 20), 0);
    ck_assert_int_eq(timer_heap_push(&h, &a, 5), -EBUSY);
    ck_assert_int_eq(timer_heap_push(&h, &b, 1), -EBUSY);
    ck_assert_int_eq(timer_heap_push(&h2, &a, 1), -EBUSY); /* in another heap */
    ck_assert_uint_eq(h.n, 2);
    ck_assert_uint_eq(h2.n, 0);
    ck_assert_ptr_eq(timer_heap_top(&h)->timer, &a);
    ck_assert_uint_eq(timer_heap_top(&h)->when, 10); /* the deadline did not move */
    timer_heap_fini(&h);
    ck_assert_uint_eq(a.index, TIMER_IDLE);
    ck_assert_uint_eq(b.index, TIMER_IDLE);
    /* After fini the heap is empty and usable again. */
    ck_assert_ptr_null(timer_heap_top(&h));
    ck_assert_int_eq(timer_heap_push(&h, &b, 3), 0);
    ck_assert_int_eq(timer_heap_push(&h, &a, 3), 0);
    ck_assert_ptr_eq(timer_heap_top(&h)->timer, &b);
    timer_heap_fini(&h);
    timer_heap_fini(&h2);
}
END_TEST

START_TEST(heap_grows_past_initial_capacity)
{
    enum { N = 1000 };
    static struct timer t[N];
    struct timer_heap h;
    timer_heap_init(&h);
    for (uint32_t i = 0; i < N; i++) {
        t[i].index = TIMER_IDLE;
        S4_REQUIRE(timer_heap_push(&h, &t[i], N - i) == 0, "push %u", i);
        S4_REQUIRE(timer_heap_top(&h)->timer == &t[i], "push %u: not the new top", i);
    }
    ck_assert_uint_ge(h.cap, N);
    for (uint32_t i = 0; i < N; i++) {
        int k = pop_index(&h, t);
        S4_REQUIRE(k == (int)(N - 1 - i), "pop %u: timer %d", i, k);
    }
    timer_heap_fini(&h);
}
END_TEST

/* ---- the loop's timer calls ----------------------------------------------- */

START_TEST(timer_calls_outside_loop)
{
    struct timer t = {.index = TIMER_IDLE};
    ck_assert_int_eq(timer_start(&t, 10, NULL), TASK_ENOLOOP);
    ck_assert_uint_eq(t.index, TIMER_IDLE);
    timer_stop(&t); /* harmless */
    ck_assert_uint_eq(timer_when(&t), UINT64_MAX);
    ck_assert(!timer_running(&t));
    ck_assert_uint_eq(loop_time_ns(), 0);
    ck_assert_uint_eq(loop_time_ms(), 0);
}
END_TEST

/* A raw timer in the loop: fired once at its deadline; restarting moves it;
 * a callback that restarts itself at "now" fires again one iteration later,
 * not in an endless loop inside the same iteration.  Everything is recorded
 * and checked after loop_run returns. */
static int fired[3];
static uint64_t fired_at[3];
static int restart_err;
static struct timer raw[3];
static int ticks;         /* turns of a task that yields: counts iterations */
static int fired_tick[3]; /* ticks at each fire of the restarting timer */

static void fire_once(struct timer *t)
{
    int k = (int)(t - raw);
    fired_at[k] = loop_time_ns();
    fired[k]++;
}

static void fire_restart(struct timer *t)
{
    int k = (int)(t - raw);
    if (fired[k] < 3)
        fired_tick[fired[k]] = ticks;
    fired[k]++;
    if (fired[k] < 3 && timer_start(t, loop_time_ns(), fire_restart) != 0)
        restart_err = 1;
}

/* What raw_main saw (its frame is freed with the task). */
static struct raw_seen {
    int rc[4];
    uint32_t n_two, n_moved, n_end;
    uint64_t when0, when1_stopped;
    int running0, running1, running0_end;
} seen;

struct tick { co_t co; int i; };
static int tick(co_t *co)
{
    struct tick *f = (struct tick *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < 5; f->i++) {
        ticks++;
        AWAIT(task_yield());
    }
    CO_END;
}

struct raw_main { co_t co; };
static int raw_main(co_t *co)
{
    struct raw_seen *f = &seen;
    CO_BEGIN(co);
    task_detach(TASK_SPAWN(tick, struct tick));
    f->rc[0] = timer_start(&raw[0], 50000000u, fire_once);
    f->rc[1] = timer_start(&raw[1], 10000000u, fire_once);
    f->n_two = s4_ntimers();
    /* Restarting moves the deadline; nothing is added. */
    f->rc[2] = timer_start(&raw[0], 30000000u, fire_once);
    f->n_moved = s4_ntimers();
    f->when0 = timer_when(&raw[0]);
    f->running0 = timer_running(&raw[0]);
    /* Stopped before its deadline: it never fires.  Stopping twice is safe. */
    timer_stop(&raw[1]);
    timer_stop(&raw[1]);
    f->running1 = timer_running(&raw[1]);
    f->when1_stopped = timer_when(&raw[1]);
    f->rc[3] = timer_start(&raw[2], 0, fire_restart);
    AWAIT(sleep_ms(100));
    f->running0_end = timer_running(&raw[0]);
    timer_stop(&raw[0]); /* a fired timer: safe */
    f->n_end = s4_ntimers();
    CO_END;
}

START_TEST(timer_start_stop_in_loop)
{
    memset(fired, 0, sizeof fired);
    memset(fired_at, 0, sizeof fired_at);
    restart_err = 0;
    ticks = 0;
    memset(fired_tick, 0xff, sizeof fired_tick);
    for (int i = 0; i < 3; i++)
        raw[i].index = 12345; /* garbage: a timer never started is safe to start */
    memset(&seen, 0xff, sizeof seen);
    char *log;
    ck_assert_int_eq(S4_RUN(NULL, &log, raw_main, struct raw_main), 0);
    ck_assert_str_eq(log, "");
    free(log);
    ck_assert_int_eq(fired[0], 1);
    ck_assert_uint_eq(fired_at[0], 30000000u);
    ck_assert_int_eq(fired[1], 0);
    ck_assert_int_eq(fired[2], 3);
    ck_assert_int_eq(restart_err, 0);
    /* Restarted at "now" from its own callback: next iteration, not this one. */
    ck_assert_int_lt(fired_tick[0], fired_tick[1]);
    ck_assert_int_lt(fired_tick[1], fired_tick[2]);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(seen.rc[i], 0);
    ck_assert_uint_eq(seen.n_two, 2);
    ck_assert_uint_eq(seen.n_moved, 2); /* restarting moved it, added nothing */
    ck_assert_uint_eq(seen.when0, 30000000u);
    ck_assert_int_eq(seen.running0, 1);
    ck_assert_int_eq(seen.running1, 0);
    ck_assert_uint_eq(seen.when1_stopped, UINT64_MAX);
    ck_assert_int_eq(seen.running0_end, 0);
    ck_assert_uint_eq(seen.n_end, 0);
}
END_TEST

void stage04_add_heap(Suite *s)
{
    TCase *tc = s4_case(s, "heap");
    tcase_add_test(tc, heap_random_walk_matches_model);
    tcase_add_test(tc, heap_pops_in_sorted_order);
    tcase_add_test(tc, heap_equal_deadlines_fifo);
    tcase_add_test(tc, heap_equal_deadlines_fifo_across_seq_wrap);
    tcase_add_test(tc, heap_remove_non_member_is_ignored);
    tcase_add_test(tc, heap_push_member_is_ebusy);
    tcase_add_test(tc, heap_grows_past_initial_capacity);
    tcase_add_test(tc, timer_calls_outside_loop);
    tcase_add_test(tc, timer_start_stop_in_loop);
}
