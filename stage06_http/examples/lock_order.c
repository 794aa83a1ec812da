/*
 * lock_order.c - two tasks take turns with one Lock, held across awaits.
 *
 *     async def section(lock, name, rnd):
 *         print(f"{name} wants the lock (round {rnd})")
 *         async with lock:
 *             print(f"{name} has it")
 *             await asyncio.sleep(0.05); print(f"{name} halfway, still holding it")
 *             await asyncio.sleep(0.05); print(f"{name} done, releasing it")
 *
 *     async def worker(lock, name):
 *         for rnd in (1, 2):
 *             await section(lock, name, rnd)
 *
 *     async def main():
 *         lock = asyncio.Lock()
 *         await asyncio.gather(worker(lock, "A"), worker(lock, "B"))
 *
 * While A sleeps inside its section the loop is free to run B, and B does
 * run - up to the lock, where it parks: no B line appears between A's "has
 * it" and A's "releasing".  The lock is not a mutex around a few
 * instructions but around a stretch of the task's life, awaits included.
 *
 * The hand-off is fair.  A releases and at once wants the lock again, but
 * B has been waiting since 0 ms: lock_exit hands the lock straight to B,
 * which wakes already holding it, and A queues behind B.  The rounds
 * alternate A B A B; a lock that let the releasing task barge back in
 * would print A A B B.
 *
 * `async with lock:` is a guard in the frame: lock_enter records the lock
 * in it once held, and lock_exit in CO_FINALLY releases it on every way
 * out - the end of the section, an error, a cancellation.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "group.h"
#include "lock.h"
#include "loop.h"
#include "sleep.h"

static unsigned long long now_ms(void) { return (unsigned long long)loop_time_ms(); }

struct section {
    co_t co;
    struct lock *lk;
    const char *name;
    int round;
    uint64_t asked;          /* when it asked for the lock, to show the wait */
    struct lock_guard held;  /* `async with lock:` */
};

static int section(co_t *co)
{
    struct section *f = (struct section *)co;
    CO_BEGIN(co);
    f->asked = loop_time_ms();
    printf("%5llu ms  %s  wants the lock (round %d)\n", now_ms(), f->name, f->round);
    AWAIT(lock_enter(f->lk, &f->held));
    printf("%5llu ms  %s  has it, after waiting %llu ms\n", now_ms(), f->name,
           (unsigned long long)(loop_time_ms() - f->asked));
    AWAIT(sleep_ms(50));
    printf("%5llu ms  %s  halfway, still holding it\n", now_ms(), f->name);
    AWAIT(sleep_ms(50));
    printf("%5llu ms  %s  done, releasing it\n", now_ms(), f->name);
    CO_FINALLY
    lock_exit(&f->held);
    CO_END;
}

struct worker {
    co_t co;
    struct lock *lk;
    const char *name;
    int round;
    struct section sub; /* the section's frame, inside ours */
};

static int worker(co_t *co)
{
    struct worker *f = (struct worker *)co;
    CO_BEGIN(co);
    for (f->round = 1; f->round <= 2; f->round++) {
        /* A fresh frame for each call, as a C call would have: the guard
         * starts empty. */
        f->sub = (struct section){.lk = f->lk, .name = f->name, .round = f->round};
        AWAIT_CO(&f->sub.co, section);
    }
    CO_END;
}

struct main_frame {
    co_t co;
    struct lock lk;
    group_t g;
    task_t *tasks[2];
};

static int main_task(co_t *co)
{
    struct main_frame *f = (struct main_frame *)co;
    CO_BEGIN(co);
    lock_init(&f->lk);
    f->tasks[0] = TASK_SPAWN(worker, struct worker, .lk = &f->lk, .name = "A");
    f->tasks[1] = TASK_SPAWN(worker, struct worker, .lk = &f->lk, .name = "B");
    AWAIT(group_gather(&f->g, f->tasks, 2, NULL));
    printf("%5llu ms  both done; the lock is %s\n", now_ms(),
           lock_locked(&f->lk) ? "still held (a bug)" : "free");
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
