/*
 * numbers.c - generators driven with co_next: Python's `for x in gen`.
 *
 * Two generators that produce numbers one at a time, and a return value that
 * is not one of the numbers: how many were produced (Python puts it in
 * StopIteration.value; here co_next says CO_RETURNED and hands it over).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "co.h"

/* range(start, stop, step).  The arguments are fields of the frame because a
 * body is called afresh on every resume: function parameters would not last. */
struct range {
    co_t co;
    intptr_t start, stop, step;
    intptr_t i;     /* the loop variable: must survive each yield */
    intptr_t count; /* what we return */
};

static int range(co_t *co)
{
    struct range *f = (struct range *)co;
    CO_BEGIN(co);
    if (f->step == 0)
        CO_RAISE(-EINVAL); /* Python raises ValueError */
    for (f->i = f->start; f->step > 0 ? f->i < f->stop : f->i > f->stop; f->i += f->step) {
        f->count++;
        CO_YIELD(f->i);
    }
    CO_RETURN(f->count);
    CO_END;
}

/* Fibonacci numbers below a limit: the state is two numbers, not a counter. */
struct fib {
    co_t co;
    intptr_t limit;
    intptr_t a, b, count;
};

static int fib(co_t *co)
{
    struct fib *f = (struct fib *)co;
    CO_BEGIN(co);
    f->a = 0;
    f->b = 1;
    while (f->a < f->limit) {
        f->count++;
        CO_YIELD(f->a);
        intptr_t next = f->a + f->b; /* a C local is fine between yields */
        f->a = f->b;
        f->b = next;
    }
    CO_RETURN(f->count);
    CO_END;
}

/* The caller's half of `for x in gen: ...`: next until it stops yielding. */
static void drain(const char *title, co_t *co)
{
    intptr_t v;
    int r;
    printf("%-22s", title);
    while ((r = co_next(co, &v)) == CO_YIELDED)
        printf(" %ld", (long)v);
    if (r == CO_RETURNED)
        printf("   -> returned %ld\n", (long)v);
    else
        printf("   -> error: %s\n", co_strerror(r));
}

int main(void)
{
    struct range r1 = {.start = 0, .stop = 5, .step = 1};
    struct range r2 = {.start = 10, .stop = 0, .step = -3};
    struct range r3 = {.start = 1, .stop = 2, .step = 0};
    struct fib f1 = {.limit = 100};

    co_init(&r1.co, range);
    co_init(&r2.co, range);
    co_init(&r3.co, range);
    co_init(&f1.co, fib);

    drain("range(0, 5, 1):", &r1.co);
    drain("range(10, 0, -3):", &r2.co);
    drain("range(1, 2, 0):", &r3.co);
    drain("fib below 100:", &f1.co);

    /* Asking a finished generator for more is a protocol error, not a value:
     * Python raises StopIteration again; co_next says CO_EDONE. */
    int r = co_next(&r1.co, NULL);
    printf("co_next after the end: %d (%s), state %s\n", r, co_strerror(r),
           co_state_name(r1.co.state));

    /* Two generators made from the same function are independent: each has
     * its own frame, so interleaving them needs no care at all. */
    struct range a = {.start = 0, .stop = 3, .step = 1};
    struct range b = {.start = 100, .stop = 103, .step = 1};
    co_init(&a.co, range);
    co_init(&b.co, range);
    printf("interleaved:          ");
    intptr_t va, vb;
    while (co_next(&a.co, &va) == CO_YIELDED && co_next(&b.co, &vb) == CO_YIELDED)
        printf(" (%ld, %ld)", (long)va, (long)vb);
    printf("\n");
    return 0;
}
