/*
 * delegate.c - CO_YIELD_FROM: Python's `result = yield from sub()`.
 *
 * A parent averages groups of numbers by handing each group to a child
 * generator.  While the child runs, the caller talks to the child through
 * the parent without knowing it: the child's yields come out, our sends and
 * throws go in.  When the child returns, its return value is the parent's
 * CO_VALUE; when it fails, its error is raised in the parent.
 *
 * The child's frame is a member of the parent's frame, so delegating
 * allocates nothing: the whole tree of frames is one struct.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "co.h"

#define RESTART (-EAGAIN) /* our own signal, thrown in: "forget this group" */

/* The child: receives numbers by send, yields how many it has so far, and
 * returns their average when it is sent 0 (Python would send None). */
struct averager {
    co_t co;
    intptr_t sum, count;
};

static int averager(co_t *co)
{
    struct averager *f = (struct averager *)co;
    int err; /* read right after the yield that sets it: a C local is enough */
    CO_BEGIN(co);
    /* CO_YIELD_FROM re-inits only the header: the parent reuses this frame for
     * every group, so "locals" start here and only arguments come from outside. */
    f->sum = f->count = 0;
    for (;;) {
        CO_YIELD_CATCH(f->count, err);
        if (err == RESTART) {
            printf("    child: caught RESTART, dropping %ld values\n", (long)f->count);
            f->sum = f->count = 0;
            continue; /* the throw's co_throw gets our next yield */
        }
        if (err)
            CO_RAISE(err);
        if (CO_VALUE == 0)
            break;
        if (CO_VALUE < 0)
            CO_RAISE(-EDOM); /* no negative numbers: ends the child with an error */
        f->sum += CO_VALUE;
        f->count++;
    }
    CO_RETURN(f->count ? f->sum / f->count : 0);
    CO_END;
}

/* The parent: three groups, one child frame reused for each. */
struct report {
    co_t co;
    struct averager avg; /* the child's frame, inside ours */
    int group;
    int err; /* the child's error, if it failed */
};

static int report(co_t *co)
{
    struct report *f = (struct report *)co;
    CO_BEGIN(co);
    for (f->group = 1; f->group <= 3; f->group++) {
        printf("  parent: group %d starts\n", f->group);
        /* The _CATCH form hands a child's error to us in f->err instead of
         * ending the parent too (Python: try: yield from ... except E:). */
        CO_YIELD_FROM_CATCH(&f->avg.co, averager, f->err);
        if (f->err)
            printf("  parent: group %d failed: %s\n", f->group, co_strerror(f->err));
        else
            printf("  parent: group %d average %ld\n", f->group, (long)CO_VALUE);
    }
    CO_RETURN(f->group - 1);
    CO_END;
}

static struct report rep;

/* One call into the parent, and what came out of it.  *v is read here, after
 * the call: an argument `v` beside the call could be read before it. */
static void show(const char *what, int r, const intptr_t *v)
{
    ptrdiff_t at = rep.co.child ? (char *)rep.co.child - (char *)&rep : -1;
    printf("%-14s -> %s %ld", what, co_strerror(r), (long)*v);
    if (at >= 0)
        printf("   (child frame at parent+%td)\n", at);
    else
        printf("   (not delegating)\n");
}

int main(void)
{
    intptr_t v = 0;
    co_init(&rep.co, report);
    printf("frames: parent %zu bytes including its child's %zu; nothing allocated\n",
           sizeof rep, sizeof rep.avg);

    show("co_next", co_next(&rep.co, &v), &v);
    show("send 10", co_send(&rep.co, 10, &v), &v);
    show("send 20", co_send(&rep.co, 20, &v), &v);
    show("send 30", co_send(&rep.co, 30, &v), &v);
    show("send 0", co_send(&rep.co, 0, &v), &v); /* group 1 ends: 20 */

    show("send 5", co_send(&rep.co, 5, &v), &v);
    show("throw RESTART", co_throw(&rep.co, RESTART, &v), &v); /* to the child */
    show("send 7", co_send(&rep.co, 7, &v), &v);
    show("send 9", co_send(&rep.co, 9, &v), &v);
    show("send 0", co_send(&rep.co, 0, &v), &v); /* group 2 ends: 8 */

    show("send 4", co_send(&rep.co, 4, &v), &v);
    show("send -1", co_send(&rep.co, -1, &v), &v); /* the child fails, the parent goes on */
    printf("child state %s, parent state %s\n", co_state_name(rep.avg.co.state),
           co_state_name(rep.co.state));
    return 0;
}
