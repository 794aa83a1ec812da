/*
 * event.c - a flag and the tasks waiting for it.
 */
#include "event.h"

#include <errno.h>

static void event_describe(const task_t *t, FILE *out)
{
    fprintf(out, "event %p", t->wait_on);
}

static const struct task_wait event_wait_kind = {
    .what = "event", .unpark = lot_unpark, .describe = event_describe};

void event_init(struct event *e)
{
    lot_init(&e->waiters);
    e->set = 0;
}

void event_set(struct event *e)
{
    if (e->set)
        return;
    e->set = 1;
    lot_wake_all(&e->waiters, 0, 0);
}

void event_clear(struct event *e) { e->set = 0; }

int event_is_set(const struct event *e) { return e->set; }

int event_wait(struct event *e)
{
    task_t *t = task_current();
    if (!t)
        return task_done_now(0, TASK_ENOLOOP);
    /* Even a wait that can end at once is an await: a cancellation that is
     * due is delivered here (the refused park) rather than skipped. */
    if (e->set && !task__cancel_due(t))
        return task_done_now(0, 0);
    return lot_park(&e->waiters, &event_wait_kind, e);
}
