/*
 * timer.c - the heap: an array where v[i]'s children are v[2i+1] and
 * v[2i+2], and no child is earlier than its parent.
 */
#include "timer.h"

#include <errno.h>
#include <stdlib.h>

#include "loop.h"

void timer_heap_init(struct timer_heap *h)
{
    h->v = NULL;
    h->n = h->cap = 0;
    h->seq = 0;
}

void timer_heap_fini(struct timer_heap *h)
{
    for (uint32_t i = 0; i < h->n; i++)
        h->v[i].timer->index = TIMER_IDLE;
    free(h->v);
    timer_heap_init(h);
}

/* Is a due before b?  Equal deadlines go by start order; the sequence
 * number is compared modulo 2^32, which is right unless two timers with the
 * same deadline were started four billion timers apart - and even then
 * both fire in the same loop iteration, only in the other order. */
static int earlier(const struct timer_entry *a, const struct timer_entry *b)
{
    if (a->when != b->when)
        return a->when < b->when;
    return (int32_t)(a->timer->seq - b->timer->seq) < 0;
}

static void put(struct timer_heap *h, uint32_t i, struct timer_entry e)
{
    h->v[i] = e;
    e.timer->index = i;
}

/* Move the entry at i up while it is earlier than its parent.  The entry is
 * held aside and each parent moved down into the hole: one write per level
 * instead of a swap. */
static void sift_up(struct timer_heap *h, uint32_t i)
{
    struct timer_entry e = h->v[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!earlier(&e, &h->v[parent]))
            break;
        put(h, i, h->v[parent]);
        i = parent;
    }
    put(h, i, e);
}

static void sift_down(struct timer_heap *h, uint32_t i)
{
    struct timer_entry e = h->v[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= h->n)
            break;
        if (child + 1 < h->n && earlier(&h->v[child + 1], &h->v[child]))
            child++;
        if (!earlier(&h->v[child], &e))
            break;
        put(h, i, h->v[child]);
        i = child;
    }
    put(h, i, e);
}

int timer_heap_push(struct timer_heap *h, struct timer *t, uint64_t when)
{
    if (t->index != TIMER_IDLE)
        return -EBUSY;
    if (h->n == h->cap) {
        uint32_t cap = h->cap ? h->cap * 2 : 64;
        if (cap <= h->cap) /* 2^32 timers: the index would not fit */
            return -ENOMEM;
        struct timer_entry *v = realloc(h->v, (size_t)cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    t->seq = h->seq++;
    put(h, h->n, (struct timer_entry){.when = when, .timer = t});
    sift_up(h, h->n++);
    return 0;
}

void timer_heap_remove(struct timer_heap *h, struct timer *t)
{
    uint32_t i = t->index;
    if (i == TIMER_IDLE || i >= h->n || h->v[i].timer != t)
        return;
    t->index = TIMER_IDLE;
    if (i == --h->n)
        return; /* it was the last entry: nothing to fill */
    /* Fill the hole with the last entry, which may belong above or below. */
    put(h, i, h->v[h->n]);
    if (i > 0 && earlier(&h->v[i], &h->v[(i - 1) / 2]))
        sift_up(h, i);
    else
        sift_down(h, i);
}

const struct timer_entry *timer_heap_top(const struct timer_heap *h)
{
    return h->n ? &h->v[0] : NULL;
}

/* ---- timers of the running loop ------------------------------------------ */

int timer_start(struct timer *t, uint64_t when, timer_fn fire)
{
    struct loop *l = loop_current();
    if (!l)
        return TASK_ENOLOOP;
    /* The removal checks the heap really holds t at t->index, so a timer
     * that was never started (its index garbage) is safe to start too. */
    timer_heap_remove(&l->timers, t);
    t->index = TIMER_IDLE;
    t->fire = fire;
    return timer_heap_push(&l->timers, t, when);
}

void timer_stop(struct timer *t)
{
    struct loop *l = loop_current();
    if (l)
        timer_heap_remove(&l->timers, t);
}

uint64_t timer_when(const struct timer *t)
{
    struct loop *l = loop_current();
    if (!l || t->index == TIMER_IDLE || t->index >= l->timers.n)
        return UINT64_MAX;
    return l->timers.v[t->index].when;
}
