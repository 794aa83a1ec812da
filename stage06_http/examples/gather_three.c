/*
 * gather_three.c - asyncio.gather: results in the order the tasks were given.
 *
 * Round 1: three tasks finish in the order c, b, a, yet the results come back
 * as [a, b, c].  Round 2: one task fails.  asyncio.gather would raise its
 * error and leave the other two running (a classic trap); group_gather
 * cancels them, waits until their cleanup has run, and then raises the error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "group.h"
#include "loop.h"

/* A job: takes `turns` loop turns, then returns `value` or fails with `err`.
 * Its CO_FINALLY runs on every way out, so we see who was cancelled. */
struct job {
    co_t co;
    char name;
    int turns;
    intptr_t value;
    int err;
    int i;
};

static int job(co_t *co)
{
    struct job *f = (struct job *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->turns; f->i++)
        AWAIT(task_yield());
    if (f->err) {
        printf("  job %c: failing with %s\n", f->name, task_strerror(f->err));
        CO_RAISE(f->err);
    }
    printf("  job %c: done after %d turn(s)\n", f->name, f->turns);
    CO_RETURN(f->value);
    CO_FINALLY
    if (CO_ERROR == -ECANCELED)
        printf("  job %c: cancelled while in turn %d, cleaning up\n", f->name, f->i + 1);
    CO_END;
}

struct main_frame {
    co_t co;
    group_t g;            /* gather's group: it lives in our frame */
    task_t *tasks[3];
    intptr_t results[3];
    int err;
};

static int main_task(co_t *co)
{
    struct main_frame *f = (struct main_frame *)co;
    CO_BEGIN(co);
    printf("round 1: three jobs, the first one the slowest\n");
    f->tasks[0] = TASK_SPAWN(job, struct job, .name = 'a', .turns = 3, .value = 100);
    f->tasks[1] = TASK_SPAWN(job, struct job, .name = 'b', .turns = 2, .value = 200);
    f->tasks[2] = TASK_SPAWN(job, struct job, .name = 'c', .turns = 1, .value = 300);
    /* gather adopts the tasks (their handles are its now) and parks us. */
    AWAIT(group_gather(&f->g, f->tasks, 3, f->results));
    printf("gathered [%ld, %ld, %ld]\n\n", (long)f->results[0], (long)f->results[1],
           (long)f->results[2]);

    printf("round 2: job e fails while d and f are still working\n");
    f->tasks[0] = TASK_SPAWN(job, struct job, .name = 'd', .turns = 5, .value = 1);
    f->tasks[1] = TASK_SPAWN(job, struct job, .name = 'e', .turns = 2, .err = -EIO);
    f->tasks[2] = TASK_SPAWN(job, struct job, .name = 'f', .turns = 5, .value = 3);
    /* AWAIT would end main with the error; AWAIT_CATCH hands it to us. */
    AWAIT_CATCH(group_gather(&f->g, f->tasks, 3, f->results), f->err);
    printf("gather raised %d (%s)\n", f->err, task_strerror(f->err));
    CO_RETURN(0);
    CO_END;
}

int main(void)
{
    int rc = LOOP_RUN(NULL, main_task, struct main_frame);
    printf("loop_run returned %d\n", rc);
    return rc == 0 ? 0 : 1;
}
