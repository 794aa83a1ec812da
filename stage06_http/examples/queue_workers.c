/*
 * queue_workers.c - three workers drain a queue of twenty jobs.
 *
 * The asyncio docs' Queue example:
 *
 *     async def worker(name, queue):
 *         while True:
 *             sleep_for = await queue.get()
 *             await asyncio.sleep(sleep_for)
 *             queue.task_done()
 *             print(f'{name} has slept for {sleep_for:.2f} seconds')
 *
 *     async def main():
 *         queue = asyncio.Queue()
 *         total_sleep_time = 0
 *         for _ in range(20):
 *             sleep_for = random.uniform(0.05, 1.0)
 *             total_sleep_time += sleep_for
 *             queue.put_nowait(sleep_for)
 *         tasks = [asyncio.create_task(worker(f'worker-{i}', queue))
 *                  for i in range(3)]
 *         started_at = time.monotonic()
 *         await queue.join()
 *         total_slept_for = time.monotonic() - started_at
 *         for task in tasks:
 *             task.cancel()
 *         await asyncio.gather(*tasks, return_exceptions=True)
 *         print('====')
 *         print(f'3 workers slept in parallel for {total_slept_for:.2f} seconds')
 *         print(f'total expected sleep time: {total_sleep_time:.2f} seconds')
 *
 * Each worker takes the next job as soon as it is free, so the three sleep
 * side by side and the wall time is about a third of the total.  join()
 * does not wait for the queue to be empty - it is empty well before the
 * end - but for every job taken to be marked done: the count of unfinished
 * items reaches zero at the last task_done.  The workers never end by
 * themselves (they wait for more work), so main cancels them, as in Python.
 *
 * The items are `void *`: each points at its job's duration in a static
 * array, which outlives the queue.  The durations come from a PRNG with a
 * fixed seed, so every run draws the same twenty.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "loop.h"
#include "queue.h"
#include "sleep.h"

#define NJOBS 20
#define NWORKERS 3

/* Marsaglia's xorshift32: a fixed seed, the same sequence on every machine. */
static uint32_t rng_state = 2463534242u;
static uint32_t xorshift32(void)
{
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

static uint64_t durations[NJOBS]; /* ms; the queue holds pointers into this */

/* Milliseconds as seconds with three decimals, the way Python prints them. */
static void print_secs(uint64_t ms)
{
    printf("%llu.%03llu s", (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000));
}

struct worker {
    co_t co;
    struct queue *q;
    const char *name;
    const uint64_t *job;
};

static int worker(co_t *co)
{
    struct worker *f = (struct worker *)co;
    CO_BEGIN(co);
    for (;;) {
        AWAIT(queue_get(f->q));
        f->job = (const uint64_t *)CO_VALUE;
        AWAIT(sleep_ms(*f->job));
        queue_task_done(f->q);
        printf("%5llu ms  %s has slept for ", (unsigned long long)loop_time_ms(), f->name);
        print_secs(*f->job);
        printf("\n");
    }
    CO_END;
}

static const char *const names[NWORKERS] = {"worker-0", "worker-1", "worker-2"};

struct main_frame {
    co_t co;
    struct queue q;
    task_t *tasks[NWORKERS];
    uint64_t total, started;
    int i, err, cancelled;
};

static int main_task(co_t *co)
{
    struct main_frame *f = (struct main_frame *)co;
    CO_BEGIN(co);
    queue_init(&f->q, 0);
    for (int i = 0; i < NJOBS; i++) {
        durations[i] = 50 + xorshift32() % 951; /* 0.05 .. 1.0 s */
        f->total += durations[i];
        /* An unbounded queue is never full: put_nowait fails only if the
         * storage cannot grow. */
        if (queue_put_nowait(&f->q, &durations[i]) < 0)
            CO_RAISE(-ENOMEM);
    }
    for (int i = 0; i < NWORKERS; i++)
        f->tasks[i] = task_spawn(worker, &(struct worker){.q = &f->q, .name = names[i]},
                                 sizeof(struct worker), names[i]);
    f->started = loop_time_ms();
    AWAIT(queue_join(&f->q));
    f->started = loop_time_ms() - f->started; /* now: how long the join took */

    /* gather(*tasks, return_exceptions=True): each join raises the
     * -ECANCELED its worker ended with, which we count, not propagate. */
    for (f->i = 0; f->i < NWORKERS; f->i++)
        task_cancel(f->tasks[f->i]);
    for (f->i = 0; f->i < NWORKERS; f->i++) {
        AWAIT_CATCH(task_join(f->tasks[f->i]), f->err);
        f->cancelled += f->err == -ECANCELED;
    }
    printf("====\n");
    printf("%d workers cancelled; %zu items left in the queue\n", f->cancelled,
           queue_size(&f->q));
    printf("%d workers slept in parallel for ", NWORKERS);
    print_secs(f->started);
    printf("\ntotal expected sleep time: ");
    print_secs(f->total);
    printf("\n");
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
