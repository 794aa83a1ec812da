/*
 * delayed_prints.c - concurrent sleeps: the total is the longest, not the sum.
 *
 *     async def say_after(ms, what):
 *         await asyncio.sleep(ms / 1000)
 *         print(what)
 *         return ms
 *     async def main():
 *         await asyncio.gather(say_after(300, "c"), say_after(100, "a"),
 *                              say_after(200, "b"))
 *
 * Three tasks sleep 300, 100 and 200 ms at the same time: each is one timer
 * in the loop's heap, so they wake in deadline order (a, b, c) and the whole
 * gather takes about 300 ms, not the 600 ms the delays add up to.  The
 * results still come back in the order the tasks were given.
 */
#include <stdint.h>
#include <stdio.h>

#include "group.h"
#include "loop.h"
#include "sleep.h"

struct say_after { co_t co; uint64_t ms; const char *what; };

static int say_after(co_t *co)
{
    struct say_after *f = (struct say_after *)co;
    CO_BEGIN(co);
    AWAIT(sleep_ms(f->ms));
    printf("%5llu ms  %s (slept %llu ms)\n", (unsigned long long)loop_time_ms(), f->what,
           (unsigned long long)f->ms);
    CO_RETURN(f->ms);
    CO_END;
}

static const uint64_t delays[3] = {300, 100, 200};
static const char *const words[3] = {"c: the slowest, spawned first", "a: the quickest",
                                     "b: the middle one"};

struct main_frame {
    co_t co;
    group_t g;
    task_t *tasks[3];
    intptr_t results[3];
    uint64_t start;
};

static int main_task(co_t *co)
{
    struct main_frame *f = (struct main_frame *)co;
    CO_BEGIN(co);
    f->start = loop_time_ms();
    for (int i = 0; i < 3; i++)
        f->tasks[i] = TASK_SPAWN(say_after, struct say_after, .ms = delays[i], .what = words[i]);
    printf("%5llu ms  three tasks sleeping %llu, %llu and %llu ms\n",
           (unsigned long long)f->start, (unsigned long long)delays[0],
           (unsigned long long)delays[1], (unsigned long long)delays[2]);
    AWAIT(group_gather(&f->g, f->tasks, 3, f->results));
    printf("%5llu ms  gathered [%ld, %ld, %ld]\n", (unsigned long long)loop_time_ms(),
           (long)f->results[0], (long)f->results[1], (long)f->results[2]);
    printf("total %llu ms: the longest delay (300 ms), not the sum (600 ms)\n",
           (unsigned long long)(loop_time_ms() - f->start));
    CO_END;
}

int main(void)
{
    int rc = LOOP_RUN(NULL, main_task, struct main_frame);
    return rc == 0 ? 0 : 1;
}
