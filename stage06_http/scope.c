/*
 * scope.c - deadlines that cancel whatever their task is awaiting.
 */
#include "scope.h"

#include <errno.h>
#include <stdio.h>

#include "loop.h"
#include "task.h"

/* The deadline passed.  The task is stopped at some await (timers fire
 * between steps, never while a task runs): interrupt it there.  If it was
 * already woken with a result, keep the result; the expired flag makes its
 * next await fail instead (see scope__cancelled). */
static void scope_fire(struct timer *tm)
{
    struct scope *s = (struct scope *)(void *)((char *)tm - offsetof(struct scope, timer));
    s->expired = 1;
    struct loop *l = loop_current();
    if (l->trace.out)
        trace_instant(&l->trace, "deadline", s->task, loop__now(l));
    task__interrupt(s->task);
}

int scope_open_at(struct scope *s, enum scope_kind kind, uint64_t deadline_ns)
{
    task_t *t = task_current();
    if (!t)
        return TASK_ENOLOOP;
    if (s->open)
        return -EBUSY; /* open here or in another task: closing clears it */
    s->timer.index = TIMER_IDLE;
    s->expired = 0;
    /* A deadline already passed needs no timer: the scope is expired from
     * the start, and the very next await fails (even one that could
     * complete at once). */
    if (deadline_ns <= loop_time_ns())
        s->expired = 1;
    else if (deadline_ns != UINT64_MAX) {
        int r = timer_start(&s->timer, deadline_ns, scope_fire);
        if (r < 0)
            return r;
    }
    s->task = t;
    s->outer = t->scope;
    s->cancel_reqs = t->cancel_reqs;
    s->kind = (uint8_t)kind;
    s->open = 1;
    s->caught = 0;
    t->scope = s;
    return 0;
}

static uint64_t after(uint64_t ms)
{
    struct loop *l = loop_current();
    uint64_t now = l ? loop__time(l) : 0;
    if (ms > (UINT64_MAX - now) / 1000000u)
        return UINT64_MAX - 1; /* far enough: still a deadline, never reached */
    return now + ms * 1000000u;
}

int scope_fail_after(struct scope *s, uint64_t ms)
{
    return scope_open_at(s, SCOPE_FAIL, after(ms));
}

int scope_move_on_after(struct scope *s, uint64_t ms)
{
    return scope_open_at(s, SCOPE_MOVE_ON, after(ms));
}

int scope_reset(struct scope *s, uint64_t ms)
{
    if (!s->open)
        return -EINVAL;
    if (s->expired)
        return 0; /* as in trio, a later deadline does not undo a cancel */
    uint64_t when = after(ms);
    if (when <= loop_time_ns()) {
        timer_stop(&s->timer);
        scope_fire(&s->timer); /* due already: expire it now */
        return 0;
    }
    return timer_start(&s->timer, when, scope_fire);
}

int scope__cancelled(const struct scope *s)
{
    for (; s; s = s->outer)
        if (s->expired)
            return 1;
    return 0;
}

/* Take s, and every scope opened inside it and left open, off its task. */
static void unlink_scope(struct scope *s)
{
    task_t *t = s->task;
    for (struct scope *in = t->scope; in && in != s; in = in->outer) {
        timer_stop(&in->timer);
        in->open = 0;
    }
    timer_stop(&s->timer);
    s->open = 0;
    t->scope = s->outer;
}

int scope_close(struct scope *s, int err)
{
    if (!s->open)
        return err;
    task_t *t = s->task;
    int in_chain = 0;
    for (const struct scope *o = t->scope; o; o = o->outer)
        in_chain |= o == s;
    if (!in_chain) {
        s->open = 0; /* its task already closed it for it (scope__close_all) */
        timer_stop(&s->timer);
        return err;
    }
    unlink_scope(s);
    /* Ours to catch only if this scope's deadline caused it: no cancel was
     * requested from elsewhere since it opened, and no scope further out
     * expired too (the outermost expired scope is the one that catches). */
    if (err == -ECANCELED && s->expired && t->cancel_reqs == s->cancel_reqs &&
        !scope__cancelled(s->outer)) {
        s->caught = 1;
        return s->kind == SCOPE_FAIL ? -ETIMEDOUT : 0;
    }
    return err;
}

void scope__close_all(task_t *t)
{
    if (!t->scope)
        return;
    struct loop *l = loop_current();
    fprintf(l ? l->opts.log : stderr,
            "async: task '%s#%u' finished with a cancel scope still open "
            "(close scopes in CO_FINALLY)\n",
            t->name, (unsigned)t->id);
    while (t->scope)
        unlink_scope(t->scope);
}
