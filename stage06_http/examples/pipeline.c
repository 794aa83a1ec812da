/*
 * pipeline.c - producer -> filter -> consumer, each one a generator.
 *
 * Python's generator pipelines:
 *
 *     nums  = produce(1, 10)
 *     odd   = (x for x in nums if x % 2)
 *     total = running_sum(odd)
 *
 * Each stage pulls from the one before with co_next, one value at a time, so
 * nothing is computed before someone downstream asks for it.  The caller
 * wires the stages by pointing each frame at its source and then pulls from
 * the last one; the printed lines show one value travelling all the way
 * through before the next one is made (indented by how deep the pull is).
 */
#include <stdint.h>
#include <stdio.h>

#include "co.h"

struct produce {
    co_t co;
    intptr_t i, stop;
};

static int produce(co_t *co)
{
    struct produce *f = (struct produce *)co;
    CO_BEGIN(co);
    for (; f->i <= f->stop; f->i++) {
        printf("      produce %ld\n", (long)f->i);
        CO_YIELD(f->i);
    }
    CO_RETURN(f->stop);
    CO_END;
}

/* A stage that has a source: the pointer is part of its frame, set by the
 * caller, so the same filter body can sit behind any generator at all. */
struct stage {
    co_t co;
    co_t *src;
    intptr_t v;   /* the value pulled from src: it must outlive our own yield */
    int r;        /* what src's last co_next said */
    intptr_t acc; /* per stage: values passed on, or the running sum */
};

static int keep_odd(co_t *co)
{
    struct stage *f = (struct stage *)co;
    CO_BEGIN(co);
    while ((f->r = co_next(f->src, &f->v)) == CO_YIELDED) {
        if (f->v % 2 == 0) {
            printf("    keep_odd drops %ld\n", (long)f->v);
            continue; /* pull again without yielding: the consumer never sees it */
        }
        printf("    keep_odd passes %ld\n", (long)f->v);
        f->acc++;
        CO_YIELD(f->v);
    }
    if (f->r < 0)
        CO_RAISE(f->r); /* the source failed: so does the pipeline */
    CO_RETURN(f->acc);
    CO_END;
}

static int running_sum(co_t *co)
{
    struct stage *f = (struct stage *)co;
    CO_BEGIN(co);
    while ((f->r = co_next(f->src, &f->v)) == CO_YIELDED) {
        f->acc += f->v;
        printf("  running_sum adds %ld\n", (long)f->v);
        CO_YIELD(f->acc);
    }
    if (f->r < 0)
        CO_RAISE(f->r);
    CO_RETURN(f->acc);
    CO_END;
}

int main(void)
{
    struct produce nums = {.i = 1, .stop = 10};
    struct stage odd = {.src = &nums.co};
    struct stage total = {.src = &odd.co};
    co_init(&nums.co, produce);
    co_init(&odd.co, keep_odd);
    co_init(&total.co, running_sum);

    intptr_t v = 0;
    int r;
    while ((r = co_next(&total.co, &v)) == CO_YIELDED)
        printf("caller gets running total %ld\n", (long)v);
    printf("caller: %s, sum %ld\n\n", co_strerror(r), (long)v);

    /* Each stage ended with a return value of its own, and each was seen by
     * the stage downstream of it (as co_next's CO_RETURNED), not by us. */
    printf("produce made %ld values, keep_odd passed %ld, running_sum is %ld\n",
           (long)nums.co.val, (long)odd.acc, (long)total.acc);
    printf("states: %s, %s, %s\n", co_state_name(nums.co.state), co_state_name(odd.co.state),
           co_state_name(total.co.state));
    return 0;
}
