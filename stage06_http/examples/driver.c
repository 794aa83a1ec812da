/*
 * driver.c - from driving generators by hand to a loop that drives them.
 *
 * Every example so far had main() resume generators one call at a time.
 * With several generators that is always the same loop: resume each one in
 * turn, skip the ones that have finished, collect what they return, stop
 * when none is left.  That loop is run_until_complete().  Here a yield means
 * "let the others run" (Python's `await asyncio.sleep(0)`); in stage 2 it
 * will also say what the generator waits for, and the driver becomes the
 * event loop, with a ready queue instead of this array.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "co.h"

/* A worker that takes `steps` turns, then returns its "result". */
struct worker {
    co_t co;
    const char *name;
    int steps;
    int i;
};

static int worker(co_t *co)
{
    struct worker *f = (struct worker *)co;
    CO_BEGIN(co);
    for (f->i = 1; f->i <= f->steps; f->i++) {
        printf("  %-6s step %d of %d\n", f->name, f->i, f->steps);
        CO_YIELD(f->i); /* a pause point: the driver runs someone else now */
    }
    CO_RETURN(f->steps * 100);
    CO_END;
}

/* A different kind of generator in the same run: it fails halfway.  The
 * driver only sees co_t headers, so it does not care what is behind them. */
struct flaky {
    co_t co;
};

static int flaky(co_t *co)
{
    CO_BEGIN(co);
    printf("  flaky  first turn\n");
    CO_YIELD(0);
    printf("  flaky  second turn: giving up\n");
    CO_RAISE(-EIO);
    CO_END;
}

struct outcome {
    int err;        /* 0, or the error the generator ended with */
    intptr_t value; /* its return value when err is 0 */
};

/* The driver: round-robin until every generator has finished.  Returns the
 * number of rounds it took. */
static int run_until_complete(co_t *const gens[], const char *const names[],
                              struct outcome out[], size_t n)
{
    size_t live = n;
    int rounds = 0;
    while (live > 0) {
        printf("round %d\n", ++rounds);
        for (size_t i = 0; i < n; i++) {
            if (gens[i]->state == CO_DONE)
                continue; /* finished earlier: nothing left to resume */
            intptr_t v = 0;
            int r = co_next(gens[i], &v);
            if (r == CO_YIELDED)
                continue; /* paused: it gets another turn next round */
            out[i].err = r == CO_RETURNED ? 0 : r;
            out[i].value = r == CO_RETURNED ? v : 0;
            printf("  %-6s finished (%s)\n", names[i], co_strerror(r));
            live--;
        }
    }
    return rounds;
}

int main(void)
{
    struct worker a = {.name = "a", .steps = 3};
    struct worker b = {.name = "b", .steps = 1};
    struct worker c = {.name = "c", .steps = 2};
    struct flaky d;
    co_init(&a.co, worker);
    co_init(&b.co, worker);
    co_init(&c.co, worker);
    co_init(&d.co, flaky);

    co_t *const gens[] = {&a.co, &b.co, &c.co, &d.co};
    const char *const names[] = {"a", "b", "c", "flaky"};
    enum { N = sizeof gens / sizeof gens[0] };
    struct outcome out[N] = {{0, 0}};

    int rounds = run_until_complete(gens, names, out, N);

    printf("all done after %d rounds:\n", rounds);
    for (size_t i = 0; i < N; i++) {
        if (out[i].err)
            printf("  %-6s failed: %s\n", names[i], co_strerror(out[i].err));
        else
            printf("  %-6s returned %ld\n", names[i], (long)out[i].value);
    }
    return 0;
}
