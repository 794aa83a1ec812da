/*
 * interleave.c - three tasks taking turns on one event loop.
 *
 * Each task counts a few steps and awaits task_yield() after each one:
 * Python's `await asyncio.sleep(0)`, "let everyone else who is ready go
 * first".  The loop runs the ready tasks in FIFO order, one step each per
 * iteration, so their lines interleave even though nothing here runs in
 * parallel: there is one thread, and a task only stops where it awaits.
 *
 * main spawns the tasks, joins them one by one and returns the sum of their
 * results, which is what loop_run() hands back to C's main().
 */
#include <stdint.h>
#include <stdio.h>

#include "loop.h"

/* The frame of one counter: its arguments and everything that must survive
 * an await.  A C local would not: the function returns at every await. */
struct counter {
    co_t co;
    const char *name;
    int steps;
    int i;
};

static int counter(co_t *co)
{
    struct counter *f = (struct counter *)co;
    CO_BEGIN(co);
    for (f->i = 1; f->i <= f->steps; f->i++) {
        printf("  %-5s step %d of %d\n", f->name, f->i, f->steps);
        AWAIT(task_yield()); /* to the back of the ready queue */
    }
    printf("  %-5s done\n", f->name);
    CO_RETURN(f->steps * 10);
    CO_END;
}

static const char *const names[] = {"alpha", "beta", "gamma"};
static const int steps[] = {3, 2, 4};

struct main_frame {
    co_t co;
    task_t *tasks[3];
    int i;
    intptr_t sum;
};

static int main_task(co_t *co)
{
    struct main_frame *f = (struct main_frame *)co;
    CO_BEGIN(co);
    /* task_spawn is what TASK_SPAWN expands to; called directly it lets each
     * task have its own name, which the dump and the trace lanes show. */
    for (f->i = 0; f->i < 3; f->i++)
        f->tasks[f->i] = task_spawn(counter,
                                    &(struct counter){.name = names[f->i], .steps = steps[f->i]},
                                    sizeof(struct counter), names[f->i]);
    /* Spawning only queues them: they start at the loop's next turn, which
     * is why this line comes out before any of theirs. */
    printf("main: spawned alpha, beta and gamma; none has run yet\n");

    /* Joining parks main until that task ends.  The others keep running
     * meanwhile, so the order of the joins does not change the output above. */
    for (f->i = 0; f->i < 3; f->i++) {
        AWAIT(task_join(f->tasks[f->i]));
        printf("main: %s returned %ld\n", names[f->i], (long)CO_VALUE);
        f->sum += CO_VALUE;
    }
    CO_RETURN(f->sum);
    CO_END;
}

int main(void)
{
    intptr_t result = 0;
    int rc = LOOP_RUN(&result, main_task, struct main_frame);
    printf("loop_run returned %d, main's result %ld\n", rc, (long)result);
    return rc == 0 ? 0 : 1;
}
