/*
 * queue.h - asyncio.Queue, LifoQueue and PriorityQueue of `void *` items.
 *
 *     queue_init(&q, 10);               // asyncio.Queue(maxsize=10)
 *     AWAIT(queue_put(&q, job));        // await q.put(job): waits while full
 *     AWAIT(queue_get(&q));             // await q.get(): waits while empty
 *     job = (struct job *)CO_VALUE;
 *     queue_task_done(&q);              // q.task_done()
 *     AWAIT(queue_join(&q));            // await q.join(): every item done
 *     queue_fini(&q);
 *
 * Items are pointers the caller owns (or integers cast through intptr_t);
 * the queue stores and hands over the pointer, never what it points to.
 *
 * Nothing is lost to a cancellation: a put parked on a full queue that is
 * cancelled adds nothing, a get parked on an empty one that is cancelled
 * takes nothing.  What makes that true is that a put or get completes only
 * in the task that unparks it - an item is given to a waiting getter, or a
 * waiting putter's item is taken in, in the same move that wakes it - so a
 * woken waiter has its result in hand: a cancellation arriving after that
 * is delivered at its next await, and the item is not dropped on the floor.
 * (asyncio's Queue once lost items exactly there; GUIDE.md ch.5 tells the
 * story.)
 */
#ifndef QUEUE_H
#define QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "lot.h"

enum queue_kind { QUEUE_FIFO, QUEUE_LIFO, QUEUE_PRIORITY };

struct queue_entry {
    void *item;
    uint64_t seq; /* arrival order: equal priorities leave first-in first */
};

struct queue {
    struct lot getters, putters, joiners;
    struct queue_entry *v; /* a ring (FIFO), a stack (LIFO) or a heap */
    size_t head, n, cap;   /* ring start, items held, entries allocated */
    size_t maxsize;        /* 0: unbounded */
    size_t unfinished;     /* items put and not yet task_done'd */
    uint64_t seq;
    int (*cmp)(const void *a, const void *b); /* PRIORITY: <0 if a first */
    uint8_t kind;
};

/* A queue holding at most `maxsize` items (0: no limit).  Nothing is
 * allocated until the first item; queue_fini frees what was. */
void queue_init(struct queue *q, size_t maxsize);
void queue_init_lifo(struct queue *q, size_t maxsize);
/* cmp(a, b) compares two items (the pointers themselves), qsort-style:
 * negative if a leaves first.  Equal items leave in the order they came. */
void queue_init_priority(struct queue *q, size_t maxsize,
                         int (*cmp)(const void *a, const void *b));
/* Free the storage.  -EBUSY (and nothing freed) while tasks wait on q. */
int queue_fini(struct queue *q);

/* Operations to AWAIT.  put: 0 once `item` is in the queue (or handed to a
 * getter).  get: the item, as CO_VALUE.  Errors: -ECANCELED; -ENOMEM when
 * the storage cannot grow. */
int queue_put(struct queue *q, void *item);
int queue_get(struct queue *q);

/* Without waiting: 0, or -EAGAIN when full (put) / empty (get); -ENOMEM. */
int queue_put_nowait(struct queue *q, void *item);
int queue_get_nowait(struct queue *q, void **item);

size_t queue_size(const struct queue *q); /* qsize() */
int queue_empty(const struct queue *q);
int queue_full(const struct queue *q);

/* One item taken by get is finished: 0, or -EOVERFLOW when there were not
 * that many (asyncio's "task_done() called too many times"). */
int queue_task_done(struct queue *q);
/* Operation to AWAIT: 0 once every item put has been task_done'd. */
int queue_join(struct queue *q);

#endif
