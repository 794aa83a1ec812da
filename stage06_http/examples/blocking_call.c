/*
 * blocking_call.c - a call that blocks, on a worker thread and then not.
 *
 *     def slow_read(req):                      # a slow disk, getaddrinfo...
 *         time.sleep(0.3)
 *         return 4096
 *
 *     async def ticker():
 *         while True:
 *             await asyncio.sleep(0.05)
 *             print("tick")
 *
 *     async def main():
 *         t = asyncio.create_task(ticker())
 *         n = await asyncio.to_thread(slow_read, req)   # the ticker goes on
 *         n = slow_read(req)                           # the ticker stops
 *         await asyncio.sleep(0)
 *         await asyncio.sleep(0.075)
 *         t.cancel()
 *
 * The loop is one thread, and a task runs until it awaits.  slow_read
 * stands for any call with no non-blocking form: it simply does not return
 * for 300 ms (here nanosleep; in life a read from a slow disk, a
 * getaddrinfo, a library's synchronous API).
 *
 * Through thread_run the call runs on a worker thread while main's task is
 * parked, so the loop goes on running the ticker: five or six ticks.  Called
 * directly, it blocks the loop's only thread: no tick at all, and the loop's
 * clock does not even move - it is read once per turn of the loop, and the
 * whole call happens inside one turn.  The tick after it comes 300 ms late,
 * all at once.
 *
 * With --virtual-clock the ticker's sleeps take no real time while the
 * worker's 300 ms do, so during thread_run it ticks as fast as the loop can
 * turn - many thousands of times, a different number each run.  So under
 * the virtual clock the ticks are counted, not printed, and only the counts
 * tell the story: some while the call ran on a thread, none while it ran
 * in the task.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "loop.h"
#include "sleep.h"
#include "thread.h"

static unsigned long long now_ms(void) { return (unsigned long long)loop_time_ms(); }

struct read_req {
    long ms;   /* how long the "disk" takes */
    int bytes; /* what the read returns */
};

/* A blocking function for thread_run: it runs on a worker thread, so it
 * touches nothing of the loop's - only its argument. */
static int slow_read(void *arg)
{
    const struct read_req *req = arg;
    struct timespec left = {req->ms / 1000, (req->ms % 1000) * 1000000L};
    while (nanosleep(&left, &left) < 0 && errno == EINTR)
        ;
    return req->bytes;
}

struct ticker {
    co_t co;
    unsigned *ticks; /* main's counter: main reads and resets it */
    int quiet;
    unsigned n;
    uint64_t last;
};

static int ticker(co_t *co)
{
    struct ticker *f = (struct ticker *)co;
    CO_BEGIN(co);
    f->last = loop_time_ms();
    for (;;) {
        AWAIT(sleep_ms(50));
        (*f->ticks)++;
        f->n++;
        if (!f->quiet)
            printf("%5llu ms  ticker  tick %u, %llu ms after the last\n", now_ms(), f->n,
                   (unsigned long long)(loop_time_ms() - f->last));
        f->last = loop_time_ms();
    }
    CO_END;
}

struct main_frame {
    co_t co;
    int quiet;
    unsigned ticks;
    struct read_req req; /* thread_run's argument may live in the frame: the
                            task cannot end while a thread still uses it */
    task_t *ticker;
    int n, err;
};

static int main_task(co_t *co)
{
    struct main_frame *f = (struct main_frame *)co;
    CO_BEGIN(co);
    f->req = (struct read_req){.ms = 300, .bytes = 4096};
    f->ticker = TASK_SPAWN(ticker, struct ticker, .ticks = &f->ticks, .quiet = f->quiet);
    printf("%5llu ms  main    ticker started: a tick every 50 ms\n", now_ms());
    if (f->quiet)
        printf("          (virtual clock: the ticks are counted, not printed)\n");

    f->ticks = 0;
    printf("%5llu ms  main    slow_read() on a worker thread: await thread_run(slow_read, &req)\n",
           now_ms());
    AWAIT(thread_run(slow_read, &f->req));
    printf("%5llu ms  main    thread_run returned %ld\n", now_ms(), (long)CO_VALUE);
    printf("          ticks while slow_read ran on a thread: %u\n", f->ticks);

    f->ticks = 0;
    printf("%5llu ms  main    slow_read() called directly, in the task\n", now_ms());
    f->n = slow_read(&f->req); /* no AWAIT: the loop waits with us */
    printf("%5llu ms  main    slow_read returned %d\n", now_ms(), f->n);
    printf("          ticks while slow_read blocked the loop: %u\n", f->ticks);

    /* Let the loop turn: its clock moves on, and the ticker's overdue tick
     * comes at once.  (Sleeping straight away would count the 75 ms from
     * the clock's stale reading, already long past.) */
    AWAIT(task_yield());
    printf("%5llu ms  main    back at an await: the loop turns again\n", now_ms());
    AWAIT(sleep_ms(75));
    printf("%5llu ms  main    cancelling the ticker\n", now_ms());
    CO_FINALLY
    if (f->ticker) {
        task_cancel(f->ticker);
        AWAIT_CATCH(task_join(f->ticker), f->err); /* -ECANCELED, as asked */
    }
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
    struct main_frame m = {.co = {0}, .quiet = o.virtual_clock};
    int rc = loop_run_opts(&o, main_task, &m, sizeof m, NULL);
    return rc == 0 ? 0 : 1;
}
