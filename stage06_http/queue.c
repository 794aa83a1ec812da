/*
 * queue.c - a buffer of items, and lots for the tasks that wait on it.
 *
 * Invariants: getters wait only while the queue is empty, putters only while
 * it is full, so at most one of the two lots is ever non-empty.
 */
#include "queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void get_describe(const task_t *t, FILE *out)
{
    fprintf(out, "get from queue %p (empty)", t->wait_on);
}

static void put_describe(const task_t *t, FILE *out)
{
    fprintf(out, "put of item %p (queue full)", t->wait_on);
}

static void join_describe(const task_t *t, FILE *out)
{
    const struct queue *q = t->wait_on;
    fprintf(out, "join of queue %p (%zu unfinished)", t->wait_on, q->unfinished);
}

static const struct task_wait get_kind = {
    .what = "queue get", .unpark = lot_unpark, .describe = get_describe};
/* A parked putter's wait_on is its item: the getter that makes room takes
 * it in from there.  That is all the per-waiter storage a queue needs. */
static const struct task_wait put_kind = {
    .what = "queue put", .unpark = lot_unpark, .describe = put_describe};
static const struct task_wait join_kind = {
    .what = "queue join", .unpark = lot_unpark, .describe = join_describe};

static void init(struct queue *q, size_t maxsize, enum queue_kind kind,
                 int (*cmp)(const void *, const void *))
{
    memset(q, 0, sizeof *q);
    lot_init(&q->getters);
    lot_init(&q->putters);
    lot_init(&q->joiners);
    q->maxsize = maxsize;
    q->kind = (uint8_t)kind;
    q->cmp = cmp;
}

void queue_init(struct queue *q, size_t maxsize) { init(q, maxsize, QUEUE_FIFO, NULL); }

void queue_init_lifo(struct queue *q, size_t maxsize) { init(q, maxsize, QUEUE_LIFO, NULL); }

void queue_init_priority(struct queue *q, size_t maxsize,
                         int (*cmp)(const void *a, const void *b))
{
    init(q, maxsize, QUEUE_PRIORITY, cmp);
}

int queue_fini(struct queue *q)
{
    if (!lot_empty(&q->getters) || !lot_empty(&q->putters) || !lot_empty(&q->joiners))
        return -EBUSY;
    free(q->v);
    q->v = NULL;
    q->head = q->n = q->cap = 0;
    return 0;
}

size_t queue_size(const struct queue *q) { return q->n; }

int queue_empty(const struct queue *q) { return q->n == 0; }

int queue_full(const struct queue *q) { return q->maxsize > 0 && q->n >= q->maxsize; }

/* ---- the buffer: a ring, a stack or a binary heap in one array ---------- */

static int grow(struct queue *q)
{
    size_t cap = q->cap ? q->cap * 2 : 8;
    if (q->maxsize && cap > q->maxsize)
        cap = q->maxsize;
    if (cap <= q->cap || cap > SIZE_MAX / sizeof *q->v)
        return -ENOMEM;
    struct queue_entry *v = realloc(q->v, cap * sizeof *v);
    if (!v)
        return -ENOMEM;
    /* A ring that wrapped around the old end: its front part moves up to
     * the new end, so the items stay in order from head. */
    if (q->head + q->n > q->cap) {
        size_t tail = q->cap - q->head;
        memmove(v + cap - tail, v + q->head, tail * sizeof *v);
        q->head = cap - tail;
    }
    q->v = v;
    q->cap = cap;
    return 0;
}

static int before(const struct queue *q, size_t i, size_t j)
{
    int c = q->cmp(q->v[i].item, q->v[j].item);
    return c < 0 || (c == 0 && q->v[i].seq < q->v[j].seq);
}

static void swap(struct queue *q, size_t i, size_t j)
{
    struct queue_entry e = q->v[i];
    q->v[i] = q->v[j];
    q->v[j] = e;
}

static int push(struct queue *q, void *item)
{
    if (q->n == q->cap && grow(q) < 0)
        return -ENOMEM;
    struct queue_entry e = {item, q->seq++};
    if (q->kind == QUEUE_FIFO) {
        q->v[(q->head + q->n) % q->cap] = e;
    } else {
        size_t i = q->n;
        q->v[i] = e;
        while (q->kind == QUEUE_PRIORITY && i > 0 && before(q, i, (i - 1) / 2)) {
            swap(q, i, (i - 1) / 2);
            i = (i - 1) / 2;
        }
    }
    q->n++;
    q->unfinished++;
    return 0;
}

static void *pop(struct queue *q)
{
    void *item;
    q->n--;
    if (q->kind == QUEUE_FIFO) {
        item = q->v[q->head].item;
        q->head = (q->head + 1) % q->cap;
    } else if (q->kind == QUEUE_LIFO) {
        item = q->v[q->n].item;
    } else {
        item = q->v[0].item;
        q->v[0] = q->v[q->n];
        for (size_t i = 0;;) {
            size_t best = i, l = 2 * i + 1, r = l + 1;
            if (l < q->n && before(q, l, best))
                best = l;
            if (r < q->n && before(q, r, best))
                best = r;
            if (best == i)
                break;
            swap(q, i, best);
            i = best;
        }
    }
    return item;
}

/* ---- putting and getting ------------------------------------------------ */

/* Complete a put now if it can be: 0, -EAGAIN (full) or -ENOMEM. */
static int put_now(struct queue *q, void *item)
{
    task_t *getter = lot_first(&q->getters);
    if (getter) { /* the queue is empty: the item goes straight to it */
        q->unfinished++;
        task_wake(getter, (intptr_t)item, 0);
        return 0;
    }
    if (queue_full(q))
        return -EAGAIN;
    return push(q, item);
}

/* Complete a get now if it can be: 0 with *item, or -EAGAIN (empty). */
static int get_now(struct queue *q, void **item)
{
    if (q->n == 0)
        return -EAGAIN;
    *item = pop(q);
    task_t *putter = lot_first(&q->putters);
    if (putter) { /* the queue was full: take the first waiting item in */
        push(q, putter->wait_on); /* there is room: one was just taken */
        task_wake(putter, 0, 0);
    }
    return 0;
}

int queue_put_nowait(struct queue *q, void *item) { return put_now(q, item); }

int queue_get_nowait(struct queue *q, void **item) { return get_now(q, item); }

int queue_put(struct queue *q, void *item)
{
    task_t *t = task_current();
    if (!t)
        return task_done_now(0, TASK_ENOLOOP);
    if (!task__cancel_due(t)) {
        int r = put_now(q, item);
        if (r != -EAGAIN)
            return task_done_now(0, r);
    }
    return lot_park(&q->putters, &put_kind, item); /* refused if cancelled */
}

int queue_get(struct queue *q)
{
    task_t *t = task_current();
    if (!t)
        return task_done_now(0, TASK_ENOLOOP);
    void *item;
    if (!task__cancel_due(t) && get_now(q, &item) == 0)
        return task_done_now((intptr_t)item, 0);
    return lot_park(&q->getters, &get_kind, q);
}

int queue_task_done(struct queue *q)
{
    if (q->unfinished == 0)
        return -EOVERFLOW;
    if (--q->unfinished == 0)
        lot_wake_all(&q->joiners, 0, 0);
    return 0;
}

int queue_join(struct queue *q)
{
    task_t *t = task_current();
    if (!t)
        return task_done_now(0, TASK_ENOLOOP);
    if (q->unfinished == 0 && !task__cancel_due(t))
        return task_done_now(0, 0);
    return lot_park(&q->joiners, &join_kind, q);
}
