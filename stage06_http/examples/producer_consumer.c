/*
 * producer_consumer.c - a fast producer, a slow consumer, and a queue of three.
 *
 *     async def producer(q):
 *         for i in range(1, 9):
 *             await asyncio.sleep(0.02)        # making an item is quick
 *             if q.full():
 *                 print(f"queue full: put({i}) waits")
 *             await q.put(i)
 *         await q.put(None)                    # no more items
 *
 *     async def consumer(q):
 *         while (item := await q.get()) is not None:
 *             print(f"took {item}")
 *             await asyncio.sleep(0.1)         # using one is slow
 *
 *     async def main():
 *         q = asyncio.Queue(maxsize=3)
 *         await asyncio.gather(producer(q), consumer(q))
 *
 * Back-pressure: the producer could make an item every 20 ms, but once the
 * queue holds three a put parks until the consumer takes one.  From then on
 * its puts come every 100 ms, at the consumer's pace, and the queue never
 * holds more than three items however far ahead the producer would run.
 * An unbounded queue would let it finish in 160 ms and pile up the rest.
 *
 * Two details of this Queue show in the numbers.  The first item goes
 * straight to the consumer already waiting in get, so the queue holds 0
 * after that put.  And a get that makes room takes the waiting producer's
 * item in at once, in the same move that wakes it: the queue is full again
 * before the producer has run.
 *
 * Items are `void *`; here they are small integers cast through intptr_t,
 * and NULL is the end marker (Python's None).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "group.h"
#include "loop.h"
#include "queue.h"
#include "sleep.h"

#define NITEMS 8
#define MAXSIZE 3

static unsigned long long now_ms(void) { return (unsigned long long)loop_time_ms(); }

struct producer {
    co_t co;
    struct queue *q;
    intptr_t i;
    uint64_t blocked_at;
    int full;
};

/* "5", or "the end marker" for the put after the last item. */
static const char *item_name(intptr_t i)
{
    static char buf[24];
    if (i > NITEMS)
        return "the end marker";
    snprintf(buf, sizeof buf, "%ld", (long)i);
    return buf;
}

static int producer(co_t *co)
{
    struct producer *f = (struct producer *)co;
    CO_BEGIN(co);
    for (f->i = 1; f->i <= NITEMS + 1; f->i++) {
        if (f->i <= NITEMS)
            AWAIT(sleep_ms(20));
        f->full = queue_full(f->q);
        if (f->full) {
            f->blocked_at = loop_time_ms();
            printf("%5llu ms  producer  queue full (%zu/%d): put(%s) waits\n", now_ms(),
                   queue_size(f->q), MAXSIZE, item_name(f->i));
        }
        AWAIT(queue_put(f->q, f->i <= NITEMS ? (void *)f->i : NULL));
        if (f->full)
            printf("%5llu ms  producer  put %s after waiting %llu ms (queue %zu/%d)\n",
                   now_ms(), item_name(f->i),
                   (unsigned long long)(loop_time_ms() - f->blocked_at), queue_size(f->q),
                   MAXSIZE);
        else
            printf("%5llu ms  producer  put %s (queue %zu/%d)\n", now_ms(), item_name(f->i),
                   queue_size(f->q), MAXSIZE);
    }
    CO_END;
}

struct consumer {
    co_t co;
    struct queue *q;
    intptr_t item;
    int taken;
};

static int consumer(co_t *co)
{
    struct consumer *f = (struct consumer *)co;
    CO_BEGIN(co);
    for (;;) {
        AWAIT(queue_get(f->q));
        f->item = CO_VALUE;
        if (f->item == 0)
            break;
        f->taken++;
        printf("%5llu ms  consumer  took %ld (queue %zu/%d)\n", now_ms(), (long)f->item,
               queue_size(f->q), MAXSIZE);
        AWAIT(sleep_ms(100));
    }
    printf("%5llu ms  consumer  got the end marker after %d items\n", now_ms(), f->taken);
    CO_RETURN(f->taken);
    CO_END;
}

struct main_frame {
    co_t co;
    struct queue q;
    group_t g;
    task_t *tasks[2];
    intptr_t results[2];
};

static int main_task(co_t *co)
{
    struct main_frame *f = (struct main_frame *)co;
    CO_BEGIN(co);
    queue_init(&f->q, MAXSIZE);
    f->tasks[0] = TASK_SPAWN(producer, struct producer, .q = &f->q);
    f->tasks[1] = TASK_SPAWN(consumer, struct consumer, .q = &f->q);
    AWAIT(group_gather(&f->g, f->tasks, 2, f->results));
    printf("%5llu ms  %ld items through a queue of %d: paced by the consumer "
           "(100 ms each), not the producer (20 ms)\n",
           now_ms(), (long)f->results[1], MAXSIZE);
    CO_FINALLY
    queue_fini(&f->q);
    CO_END;
}

int main(int argc, char **argv)
{
    struct loop_opts o = {0};
    if (argc == 2 && strcmp(argv[1], "--virtual-clock") == 0) {
        o.virtual_clock = 1;
    } else if (argc != 1) {
        fprintf(stderr, "usage: %s [--virtual-clock]\n", argv[0]);
        return 2;
    }
    struct main_frame m = {.co = {0}};
    int rc = loop_run_opts(&o, main_task, &m, sizeof m, NULL);
    return rc == 0 ? 0 : 1;
}
