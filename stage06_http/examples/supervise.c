/*
 * supervise.c - a task is a generator plus a driver.
 *
 * Part 1 drives a coroutine by hand, as loop.c's run_step() does: start it
 * with co_next, then "wake it with a value" is co_send and "wake it with an
 * error" (a cancellation) is co_throw; CO_YIELDED means it parked, anything
 * else that it finished.  asyncio's Task.__step is the same: coro.send(value)
 * or coro.throw(exc).  Part 2 gives the very same coroutine to loop_run():
 * task_wake() plays co_send, task_cancel() plays co_throw.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "loop.h"

/* Where the coroutine receives numbers: under the loop, the task parked here. */
struct mailbox { task_t *waiter; };

static void mailbox_unpark(task_t *t) { ((struct mailbox *)t->wait_on)->waiter = NULL; }
static const struct task_wait mailbox_wait = {.what = "mailbox", .unpark = mailbox_unpark};

/* The coroutine's one await.  Under the loop it parks the task; driven by
 * hand there is no task, and "parked" just means "back to my driver". */
static int receive(struct mailbox *mb)
{
    if (!task_current())
        return TASK_OP_PARKED;
    int r = task_park(&mailbox_wait, mb);
    if (r == TASK_OP_PARKED)
        mb->waiter = task_current();
    return r;
}

/* The coroutine: adds up the numbers it receives and returns the sum at 0. */
struct total { co_t co; struct mailbox *mb; intptr_t sum; };

static int total(co_t *co)
{
    struct total *f = (struct total *)co;
    CO_BEGIN(co);
    for (;;) {
        AWAIT(receive(f->mb)); /* CO_VALUE: what we were woken with */
        if (CO_VALUE == 0)
            break;
        f->sum += CO_VALUE;
        printf("    total: got %ld, sum %ld\n", (long)CO_VALUE, (long)f->sum);
    }
    CO_RETURN(f->sum);
    CO_FINALLY
    if (CO_ERROR)
        printf("    total: cleanup, error %s\n", task_strerror(CO_ERROR));
    CO_END;
}

/* ---- part 1: the supervisor, by hand ---------------------------------- */

/* What wakes the coroutine at each park: a value, or an error. */
struct wake { intptr_t value; int err; };

/* The supervisor: start the coroutine, then at each park resume it with the
 * next wake, until it finishes.  This is run_step() in loop.c minus the ready
 * queue: there, whoever calls task_wake() decides what the resume delivers. */
static void supervise(co_t *co, const struct wake *w)
{
    int r = co_next(co, NULL); /* the first step: nothing to deliver yet */
    for (; r == CO_YIELDED; w++) {
        if (w->err) {
            printf("  driver: it parked; throwing %s\n", task_strerror(w->err));
            r = co_throw(co, w->err, NULL);
        } else {
            printf("  driver: it parked; sending %ld\n", (long)w->value);
            r = co_send(co, w->value, NULL);
        }
    }
    if (r == CO_RETURNED)
        printf("  driver: it returned %ld\n", (long)co->val);
    else
        printf("  driver: it failed: %s\n", task_strerror(r));
}

/* Two runs: one fed 3, 4 and 0 (0 ends it), one fed 5 and then cancelled. */
static const struct wake run1[] = {{3, 0}, {4, 0}, {0, 0}};
static const struct wake run2[] = {{5, 0}, {0, -ECANCELED}};
static const struct wake *const runs[] = {run1, run2};

/* ---- part 2: the same coroutine as a task ------------------------------ */

struct main_frame { co_t co; struct mailbox mb; task_t *t; const struct wake *w; int i, err; };

static int main_task(co_t *co)
{
    struct main_frame *f = (struct main_frame *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < 2; f->i++) {
        f->t = TASK_SPAWN(total, struct total, .mb = &f->mb);
        for (f->w = runs[f->i];; f->w++) {
            AWAIT(task_yield()); /* one turn: it runs up to its next park */
            if (!f->mb.waiter)
                break; /* it did not park again: it finished */
            if (f->w->err) {
                printf("  main: it parked; cancelling it\n");
                task_cancel(f->t); /* parked: woken with -ECANCELED */
            } else {
                printf("  main: it parked; waking it with %ld\n", (long)f->w->value);
                task_wake(f->mb.waiter, f->w->value, 0);
            }
        }
        AWAIT_CATCH(task_join(f->t), f->err);
        if (f->err)
            printf("  main: join raised %s\n", task_strerror(f->err));
        else
            printf("  main: join returned %ld\n", (long)CO_VALUE);
    }
    CO_RETURN(0);
    CO_END;
}

int main(void)
{
    printf("part 1: a hand-written supervisor\n");
    for (int i = 0; i < 2; i++) {
        struct total t = {.mb = NULL}; /* no mailbox: nobody but us wakes it */
        co_init(&t.co, total);
        supervise(&t.co, runs[i]);
    }
    printf("part 2: the same coroutine run by loop_run\n");
    int rc = LOOP_RUN(NULL, main_task, struct main_frame);
    printf("loop_run returned %d\n", rc);
    return rc == 0 ? 0 : 1;
}
