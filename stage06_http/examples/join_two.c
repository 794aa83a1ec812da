/*
 * join_two.c - spawn two child tasks and collect their results.
 *
 * Python:
 *     slow = asyncio.create_task(square(7, turns=3))
 *     fast = asyncio.create_task(square(12, turns=1))
 *     print(await slow, await fast)
 *
 * A handle from TASK_SPAWN is good for one join (the join frees the task,
 * handing its result over) or one task_detach.  Joining a task that already
 * finished does not park at all: the result is simply there.
 */
#include <stdint.h>
#include <stdio.h>

#include "loop.h"

/* A child: "works" for a few loop turns, then returns x * x. */
struct square {
    co_t co;
    intptr_t x;
    int turns;
    int i;
};

static int square(co_t *co)
{
    struct square *f = (struct square *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->turns; f->i++) {
        printf("  square(%ld): turn %d\n", (long)f->x, f->i + 1);
        AWAIT(task_yield());
    }
    printf("  square(%ld): returning %ld\n", (long)f->x, (long)(f->x * f->x));
    CO_RETURN(f->x * f->x);
    CO_END;
}

struct main_frame {
    co_t co;
    task_t *slow, *fast; /* handles survive the awaits: they live in the frame */
    intptr_t a, b;
};

static int main_task(co_t *co)
{
    struct main_frame *f = (struct main_frame *)co;
    CO_BEGIN(co);
    f->slow = TASK_SPAWN(square, struct square, .x = 7, .turns = 3);
    f->fast = TASK_SPAWN(square, struct square, .x = 12, .turns = 1);
    printf("main: spawned square(7) and square(12); joining the slow one first\n");

    AWAIT(task_join(f->slow)); /* parks main until square(7) returns */
    f->a = CO_VALUE;
    printf("main: square(7) = %ld\n", (long)f->a);

    /* square(12) ended while we waited; its join completes without parking. */
    printf("main: square(12) is already %s\n", task_state_name(f->fast->state));
    AWAIT(task_join(f->fast));
    f->b = CO_VALUE;
    printf("main: square(12) = %ld\n", (long)f->b);
    CO_RETURN(f->a + f->b);
    CO_END;
}

int main(void)
{
    intptr_t sum = 0;
    int rc = LOOP_RUN(&sum, main_task, struct main_frame);
    printf("loop_run returned %d, main's result %ld\n", rc, (long)sum);
    return rc == 0 ? 0 : 1;
}
