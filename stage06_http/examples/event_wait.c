/*
 * event_wait.c - one task waits for a flag that another one sets.
 *
 * The asyncio docs' Event example:
 *
 *     async def waiter(event):
 *         print('waiting for it ...')
 *         await event.wait()
 *         print('... got it!')
 *
 *     async def main():
 *         event = asyncio.Event()
 *         waiter_task = asyncio.create_task(waiter(event))
 *         await asyncio.sleep(1)
 *         event.set()
 *         await waiter_task
 *
 * The waiter parks in the event's lot and uses no time at all while it
 * waits: for a second the only thing that can happen is main's timer.
 * event_set() wakes it, but waking only makes it ready - it prints "got
 * it" when main parks next, in the join.  An Event is a flag, not a pulse:
 * once set, a wait returns at once, which main shows at the end.
 *
 *     event_wait                    real time (0 ms, then about 1001)
 *     event_wait --virtual-clock    the loop's virtual clock: exactly 1000
 */
#include <stdio.h>
#include <string.h>

#include "event.h"
#include "loop.h"
#include "sleep.h"

static unsigned long long now_ms(void) { return (unsigned long long)loop_time_ms(); }

struct waiter { co_t co; struct event *ev; };

static int waiter(co_t *co)
{
    struct waiter *f = (struct waiter *)co;
    CO_BEGIN(co);
    printf("%5llu ms  waiter  waiting for it ...\n", now_ms());
    AWAIT(event_wait(f->ev));
    printf("%5llu ms  waiter  ... got it!\n", now_ms());
    CO_END;
}

struct main_frame {
    co_t co;
    struct event ev; /* in main's frame: it outlives the waiter, which main joins */
    task_t *w;
};

static int main_task(co_t *co)
{
    struct main_frame *f = (struct main_frame *)co;
    CO_BEGIN(co);
    event_init(&f->ev);
    f->w = TASK_SPAWN(waiter, struct waiter, .ev = &f->ev);
    printf("%5llu ms  main    waiter started; sleeping 1 s before setting the event\n",
           now_ms());
    AWAIT(sleep_ms(1000));
    printf("%5llu ms  main    event_set()\n", now_ms());
    event_set(&f->ev);
    /* The waiter is ready, not running: it runs once main parks here. */
    AWAIT(task_join(f->w));
    printf("%5llu ms  main    joined the waiter\n", now_ms());
    AWAIT(event_wait(&f->ev));
    printf("%5llu ms  main    event_wait() on a set event returned at once\n", now_ms());
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
