/*
 * compare.c - a consumer driven by co_send: Python's `x = yield verdict`.
 *
 * The generator holds a number n.  Each value sent in is compared with n and
 * the verdict comes back as the next yielded value.  A generator fed with
 * send must first run up to its first yield (Python's "priming" next()):
 * before that nobody is waiting for the value, so co_send refuses it.
 */
#include <stdint.h>
#include <stdio.h>

#include "co.h"

enum { VERDICT_READY = 2 }; /* yielded once, by the priming co_next */

struct compare {
    co_t co;
    intptr_t n;     /* the argument */
    int compared;   /* how many values it has judged, for the cleanup to report */
};

static int compare(co_t *co)
{
    struct compare *f = (struct compare *)co;
    CO_BEGIN(co);
    CO_YIELD(VERDICT_READY); /* park here until the first value arrives */
    for (;;) {
        f->compared++;
        /* CO_VALUE is what the last co_send delivered.  Yield the verdict and
         * receive the next value in the same step, as Python's send does. */
        CO_YIELD(CO_VALUE < f->n ? -1 : CO_VALUE > f->n ? 1 : 0);
    }
    CO_FINALLY;
    /* An endless consumer only ends when someone closes it: this is where its
     * resources would be released.  CO_ERROR says why we are here. */
    printf("    cleanup: compared %d values, ending with %s\n", f->compared,
           co_strerror(CO_ERROR));
    CO_END;
}

static const char *verdict_name(intptr_t v)
{
    return v < 0 ? "less than n" : v > 0 ? "greater than n" : "equal to n";
}

int main(void)
{
    struct compare c = {.n = 7};
    co_init(&c.co, compare);
    intptr_t v;
    int r;
    printf("compare with n = %ld\n", (long)c.n);

    /* Sending first would lose the value: the body has not reached a yield. */
    r = co_send(&c.co, 3, &v);
    printf("send 3 before starting -> %d (%s), state %s\n", r, co_strerror(r),
           co_state_name(c.co.state));

    r = co_next(&c.co, &v);
    printf("co_next (priming)      -> %s %ld, state %s\n", co_strerror(r), (long)v,
           co_state_name(c.co.state));

    static const intptr_t values[] = {3, 7, 12, -1, 7};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        r = co_send(&c.co, values[i], &v);
        if (r != CO_YIELDED)
            return 1;
        printf("send %-3ld                -> %2ld  %s\n", (long)values[i], (long)v,
               verdict_name(v));
    }

    /* Closing throws CO_EEXIT in at the paused yield; the uncaught error runs
     * CO_FINALLY, and co_close reports 0 because that is a clean exit. */
    printf("co_close:\n");
    r = co_close(&c.co);
    printf("co_close               -> %d, state %s\n", r, co_state_name(c.co.state));

    r = co_send(&c.co, 1, &v);
    printf("send 1 after closing   -> %d (%s)\n", r, co_strerror(r));
    r = co_close(&c.co);
    printf("co_close again         -> %d (%s)\n", r, co_strerror(r));
    return 0;
}
