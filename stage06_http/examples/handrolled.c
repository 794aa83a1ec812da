/*
 * handrolled.c - one generator written twice: by hand, then with co.h.
 *
 * Read this first.  The hand-rolled version is all a generator is: a struct
 * that outlives each call, and a switch that jumps back to where the last
 * call left off.  The co.h version is the same machine with the bookkeeping
 * (and the protocol: send, throw, close, return values) done by macros.
 */
#include <stdint.h>
#include <stdio.h>

#include "co.h"

/* ---- by hand ------------------------------------------------------------ */

/* The frame.  A C local dies when the function returns, and "yielding" here
 * *is* returning, so everything that must survive a pause lives in here. */
struct countdown_frame {
    int resume; /* where the next call carries on: 0 = from the top */
    int n;      /* the loop counter: a local in spirit, a field in fact */
};

/* One step: 1 with a value in *out, or 0 once finished (and ever after). */
static int countdown_next(struct countdown_frame *f, int *out)
{
    /* The switch is the "jump back in".  C lets a case label sit anywhere in
     * the switch's body, even inside the while loop: that is Duff's device. */
    switch (f->resume) {
    case 0: /* the first call starts at the top, like any function */
        while (f->n > 0) {
            *out = f->n--;
            f->resume = 1; /* "yield": remember where we are ... */
            return 1;      /* ... and leave; the frame keeps n for us */
    case 1:;               /* the next call lands here, inside the loop (the
                              `;`: a label must label some statement) */
        }
        /* Matches no case, so later calls skip the whole body.  Left at 1 they
         * would re-enter the loop: harmless here, wrong for most bodies. */
        f->resume = 2;
    }
    return 0;
}

/* ---- with co.h ------------------------------------------------------------ */

/* The same frame, with co.h's header in place of `resume`: co.line plays
 * that part, and the header also carries the value crossing each pause. */
struct countdown {
    co_t co; /* first member, so a co_t * is also a struct countdown * */
    int n;
};

static int countdown(co_t *co)
{
    struct countdown *f = (struct countdown *)co;
    CO_BEGIN(co);            /* the `switch (co->line) { case 0:` */
    while (f->n > 0)
        CO_YIELD(f->n--);    /* sets line = __LINE__, returns, and puts
                                `case __LINE__:` right after the return */
    CO_RETURN(0);            /* a return value, separate from the yields */
    CO_END;                  /* closes the switch; a finished body stays finished */
}

/* ---- side by side --------------------------------------------------------- */

int main(void)
{
    /* The caller owns both frames; here they are on main's stack, and nothing
     * is allocated anywhere.  The arguments are just fields set up front. */
    struct countdown_frame hand = {.resume = 0, .n = 3};
    struct countdown macro = {.n = 3};
    co_init(&macro.co, countdown); /* clears the header, keeps n */

    printf("step   by hand            co.h\n");
    for (int step = 1;; step++) {
        int hv = 0;
        intptr_t mv = 0;
        int hr = countdown_next(&hand, &hv);
        int mr = co_next(&macro.co, &mv);

        if (hr == 1 && mr == CO_YIELDED) {
            /* The resume points differ only in naming: 1 versus a line number. */
            printf("%-6d %d  (resume=%d)     %ld  (line=%d)\n", step, hv, hand.resume, (long)mv,
                   macro.co.line);
            if ((intptr_t)hv != mv)
                return 1; /* the two must agree, or this file teaches a lie */
            continue;
        }
        printf("end    done (resume=%d)  %s %ld (state %s)\n", hand.resume, co_strerror(mr),
               (long)mv, co_state_name(macro.co.state));
        if (hr != 0 || mr != CO_RETURNED)
            return 1;
        break;
    }

    /* Calling again after the end: the hand-rolled one quietly says "no more"
     * because resume=2 skips the body; co.h says so out loud. */
    int hv = 0;
    printf("again: by hand -> %d, co_next -> %s\n", countdown_next(&hand, &hv),
           co_strerror(co_next(&macro.co, NULL)));
    return 0;
}
