/*
 * group_fail.c - a task group (trio's nursery, asyncio's TaskGroup) whose
 * child fails.
 *
 * Python:
 *     async with asyncio.TaskGroup() as tg:
 *         for name, turns, err in jobs: tg.create_task(fetch(name, turns, err))
 *         while True: await asyncio.sleep(0)       # the owner's own work
 *
 * The group lives in the owner's frame and is joined in CO_FINALLY, so it is
 * joined on every way out of the body.  When "b" fails, the group cancels its
 * siblings and its owner; the owner's body unwinds with -ECANCELED, group_join
 * waits for the cancelled children, and then raises b's error, not the
 * cancellation: the error that caused it all is the one that comes out.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "group.h"
#include "loop.h"

struct fetch {
    co_t co;
    char name;
    int turns;
    int err; /* fail with this after `turns` turns */
    int i;
};

static int fetch(co_t *co)
{
    struct fetch *f = (struct fetch *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->turns; f->i++) {
        printf("  fetch %c: turn %d\n", f->name, f->i + 1);
        AWAIT(task_yield());
    }
    if (f->err)
        CO_RAISE(f->err);
    CO_RETURN(0);
    CO_FINALLY
    printf("  fetch %c: ends: %s\n", f->name, CO_ERROR ? task_strerror(CO_ERROR) : "ok");
    CO_END;
}

struct owner {
    co_t co;
    group_t g;
    int round;
};

static int owner(co_t *co)
{
    struct owner *f = (struct owner *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    GROUP_SPAWN(&f->g, fetch, struct fetch, .name = 'a', .turns = 1);
    GROUP_SPAWN(&f->g, fetch, struct fetch, .name = 'b', .turns = 2, .err = -ECONNRESET);
    GROUP_SPAWN(&f->g, fetch, struct fetch, .name = 'c', .turns = 9);
    for (f->round = 1;; f->round++) {
        printf("  owner: body, round %d\n", f->round);
        AWAIT(task_yield()); /* where b's failure reaches us, as -ECANCELED */
    }
    CO_FINALLY
    printf("  owner: body ended with %s; joining the group\n", task_strerror(CO_ERROR));
    AWAIT(group_join(&f->g, CO_ERROR)); /* raises b's error */
    CO_END;
}

struct main_frame {
    co_t co;
    task_t *t;
    int err;
};

static int main_task(co_t *co)
{
    struct main_frame *f = (struct main_frame *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(owner, struct owner);
    AWAIT_CATCH(task_join(f->t), f->err);
    printf("main: the owner raised %d (%s)\n", f->err, task_strerror(f->err));
    CO_RETURN(0);
    CO_END;
}

int main(void)
{
    int rc = LOOP_RUN(NULL, main_task, struct main_frame);
    printf("loop_run returned %d\n", rc);
    return rc == 0 ? 0 : 1;
}
