/*
 * sleep.c - a park whose waker is a timer.
 */
#include "sleep.h"

#include <errno.h>

#include "loop.h"
#include "task.h"
#include "timer.h"

/* The timer is the one embedded in the task, so a sleep allocates nothing. */
static void sleep_fire(struct timer *tm)
{
    task_t *t = (task_t *)(void *)((char *)tm - offsetof(task_t, timer));
    task_wake(t, 0, 0);
}

static void sleep_unpark(task_t *t) { timer_stop(&t->timer); }

static void sleep_describe(const task_t *t, FILE *out)
{
    struct loop *l = loop_current();
    uint64_t when = timer_when(&t->timer);
    if (l && when != UINT64_MAX) {
        uint64_t now = loop__time(l);
        uint64_t left = when > now ? when - now : 0;
        fprintf(out, "until %.3f s (%.3f s from now)", (double)when / 1e9, (double)left / 1e9);
    }
}

static const struct task_wait sleep_wait = {
    .what = "sleep", .unpark = sleep_unpark, .describe = sleep_describe};

int sleep_until(uint64_t deadline_ns)
{
    task_t *t = task_current();
    if (!t)
        return task_done_now(0, TASK_ENOLOOP);
    /* Start the timer before parking: if the heap cannot grow the task
     * must not park, or nothing would ever wake it. */
    int r = timer_start(&t->timer, deadline_ns, sleep_fire);
    if (r < 0)
        return task_done_now(0, r);
    r = task_park(&sleep_wait, NULL);
    if (r != TASK_OP_PARKED)
        timer_stop(&t->timer); /* a pending cancellation came first */
    return r;
}

int sleep_ms(uint64_t ms)
{
    struct loop *l = loop_current();
    if (!l)
        return task_done_now(0, TASK_ENOLOOP);
    uint64_t ns = ms > UINT64_MAX / 1000000u ? UINT64_MAX : ms * 1000000u;
    uint64_t now = loop__time(l);
    return sleep_until(now + ns < now ? UINT64_MAX : now + ns);
}
