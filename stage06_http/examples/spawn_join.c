/*
 * spawn_join.c - two sleepers started at once, then joined one by one.
 *
 *     async def child(name, ms):
 *         print(f"{name} starts"); await asyncio.sleep(ms / 1000)
 *         print(f"{name} done");   return ms
 *     async def main():
 *         slow = asyncio.create_task(child("slow", 400))
 *         fast = asyncio.create_task(child("fast", 150))
 *         print(await slow)   # ~400 ms
 *         print(await fast)   # at once: it finished long ago
 *
 * Spawning only schedules: the children start at the loop's next turn, when
 * main parks in its first join.  main joins the slow one first, so by the
 * time that join returns the fast one has already finished, and joining it
 * takes no time at all - its result was kept for us.  The clock stamps show
 * both sleeps ran side by side.
 */
#include <stdint.h>
#include <stdio.h>

#include "loop.h"
#include "sleep.h"

static void stamp(const char *what, const char *name)
{
    printf("%5llu ms  %-5s %s\n", (unsigned long long)loop_time_ms(), name, what);
}

struct child { co_t co; const char *name; uint64_t ms; };

static int child(co_t *co)
{
    struct child *f = (struct child *)co;
    CO_BEGIN(co);
    stamp("starts, sleeping", f->name);
    AWAIT(sleep_ms(f->ms));
    stamp("done", f->name);
    CO_RETURN(f->ms);
    CO_END;
}

struct main_frame { co_t co; task_t *slow, *fast; };

static int main_task(co_t *co)
{
    struct main_frame *f = (struct main_frame *)co;
    CO_BEGIN(co);
    f->slow = TASK_SPAWN(child, struct child, .name = "slow", .ms = 400);
    f->fast = TASK_SPAWN(child, struct child, .name = "fast", .ms = 150);
    stamp("spawned slow (400 ms) and fast (150 ms); joining slow", "main");
    AWAIT(task_join(f->slow));
    printf("%5llu ms  main  joined slow: %ld\n", (unsigned long long)loop_time_ms(),
           (long)CO_VALUE);
    AWAIT(task_join(f->fast));
    printf("%5llu ms  main  joined fast: %ld (it had finished already)\n",
           (unsigned long long)loop_time_ms(), (long)CO_VALUE);
    CO_END;
}

int main(void)
{
    int rc = LOOP_RUN(NULL, main_task, struct main_frame);
    return rc == 0 ? 0 : 1;
}
