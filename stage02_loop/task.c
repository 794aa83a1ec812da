/*
 * task.c - spawning, parking, waking, cancelling and joining tasks.
 *
 * The invariant that keeps this small: a task is in exactly one place.
 * READY tasks are on the loop's ready queue, PARKED tasks are wherever their
 * `wait` says (and only its `unpark` knows how to take them off), the RUNNING
 * task is loop->current, and finished tasks are on no queue at all.
 */
#include "task.h"

#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "group.h"
#include "loop.h"

/* The frame goes right after the task in the same allocation, aligned for
 * anything it may hold. */
#define FRAME_OFFSET                                                           \
    ((sizeof(task_t) + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1))

task_t *task_current(void)
{
    struct loop *l = loop_current();
    return l ? l->current : NULL;
}

task_t *task_spawn(co_fn fn, const void *frame, size_t size, const char *name)
{
    struct loop *l = loop_current();
    if (!l || !fn || !frame || size < sizeof(co_t)) {
        errno = l ? EINVAL : EPERM;
        return NULL;
    }
    if (size > SIZE_MAX - FRAME_OFFSET) {
        errno = ENOMEM;
        return NULL;
    }
    task_t *t = malloc(FRAME_OFFSET + size);
    if (!t)
        return NULL; /* errno is ENOMEM */
    memset(t, 0, sizeof *t);
    t->co = (co_t *)(void *)((char *)t + FRAME_OFFSET);
    memcpy(t->co, frame, size);
    co_init(t->co, fn); /* the header only: the arguments stay */
    list_init(&t->link);
    list_init(&t->sibling);
    list_init(&t->groups);
    list_append(&l->all, &t->all);
    t->name = name ? name : "task";
    t->id = ++l->next_id;
    l->nlive++;
    if (l->trace.out) {
        trace_lane(&l->trace, t);
        trace_instant(&l->trace, "spawn", t, loop__now(l));
    }
    loop__ready(l, t);
    return t;
}

/* ---- the suspension mechanism ----------------------------------------- */

int task_done_now(intptr_t value, int err)
{
    struct loop *l = loop_current();
    if (l) {
        l->now_val = value;
        l->now_err = err;
    }
    return TASK_OP_NOW;
}

int task__await(co_t *co, int op)
{
    if (op == TASK_OP_PARKED)
        return TASK_OP_PARKED;
    struct loop *l = loop_current();
    if (!l || !l->current) {
        co->val = 0;
        co->thrown = TASK_ENOLOOP;
        return TASK_OP_NOW;
    }
    co->val = l->now_val;
    co->thrown = l->now_err;
    l->now_val = 0;
    l->now_err = 0;
    return TASK_OP_NOW;
}

/* Every park asks here first.  A cancellation waiting for this task is
 * delivered instead (as the operation's result), and a task that already
 * parked or queued itself in this step - an operation called without AWAIT -
 * is refused.  Returns 1 when the operation must complete now. */
static int park_refused(task_t *t)
{
    if (!t) {
        task_done_now(0, TASK_ENOLOOP);
        return 1;
    }
    if (t->state != TASK_RUNNING) {
        task_done_now(0, -EINVAL);
        return 1;
    }
    if (t->flags & TASK_F_CANCEL_PENDING) {
        t->flags &= (uint8_t)~TASK_F_CANCEL_PENDING;
        t->cancel_group = NULL;
        task_done_now(0, -ECANCELED);
        return 1;
    }
    return 0;
}

int task_park(const struct task_wait *w, void *on)
{
    task_t *t = task_current();
    if (!w)
        return task_done_now(0, -EINVAL);
    if (park_refused(t))
        return TASK_OP_NOW;
    t->state = TASK_PARKED;
    t->wait = w;
    t->wait_on = on;
    return TASK_OP_PARKED;
}

int task_wake(task_t *t, intptr_t value, int err)
{
    if (!t || t->state != TASK_PARKED)
        return -EINVAL;
    if (t->wait->unpark)
        t->wait->unpark(t);
    t->wait = NULL;
    t->wait_on = NULL;
    t->co->val = value;
    t->co->thrown = err;
    t->flags |= TASK_F_WOKEN;
    struct loop *l = loop_current();
    if (l->trace.out)
        trace_instant(&l->trace, err ? "wake (error)" : "wake", t, loop__now(l));
    loop__ready(l, t);
    return 0;
}

int task_yield(void)
{
    task_t *t = task_current();
    if (park_refused(t))
        return TASK_OP_NOW;
    /* Parked on the ready queue itself: back of the line, no waker needed. */
    loop__ready(loop_current(), t);
    return TASK_OP_PARKED;
}

/* A cancellation that cannot be delivered now waits for the next park.  One
 * from outside outranks one a group raised against its own owner, and the
 * group that raised one is remembered: to any other group it is from outside. */
static void cancel_later(task_t *t, struct group *by)
{
    if (!(t->flags & TASK_F_CANCEL_PENDING)) {
        t->flags |= TASK_F_CANCEL_PENDING;
        t->cancel_group = by;
    } else if (!by) {
        t->cancel_group = NULL;
    }
}

/* `by` is the group cancelling its own owner, or NULL for task_cancel. */
void task__cancel(task_t *t, struct group *by)
{
    if (t->state >= TASK_DONE || (t->flags & TASK_F_CANCELLING))
        return; /* finished, or a cancellation is already on its way in */
    struct loop *l = loop_current();
    if (l && l->trace.out)
        trace_instant(&l->trace, "cancel", t, loop__now(l));
    if (t->state == TASK_PARKED) {
        /* A wait with a hook may keep the task parked a while (a group's
         * join waits for its children), but either way -ECANCELED is now
         * on its way in: a second cancel before it arrives is the same one. */
        if (t->wait->cancel)
            t->wait->cancel(t);
        else
            task_wake(t, 0, -ECANCELED);
        t->flags |= TASK_F_CANCELLING;
    } else if (t->state == TASK_READY && !(t->flags & TASK_F_WOKEN)) {
        /* It yielded or never ran: deliver it at that very point. */
        t->co->thrown = -ECANCELED;
        t->flags |= TASK_F_CANCELLING;
    } else {
        /* Running, or woken with a result it already holds (a join's value;
         * in stage 5 a lock or a queue item): undoing that could lose it, so
         * the cancellation waits for its next park instead (trio's rule). */
        cancel_later(t, by);
    }
}

int task_cancel(task_t *t)
{
    if (!t)
        return -EINVAL;
    if (t->state < TASK_DONE) {
        t->cancels++; /* counted so a group can tell an outer cancel from its own */
        task__cancel(t, NULL);
    }
    return 0;
}

/* ---- finishing, joining, freeing ------------------------------------- */

static int result_err(const task_t *t) { return t->co->error; }

void task__free(task_t *t)
{
    list_remove(&t->sibling);
    list_remove(&t->link);
    t->group = NULL;
    if (!list_empty(&t->groups)) {
        /* Children of a group in its frame still point there: the memory
         * waits for the last of them (group.c frees it then). */
        t->flags |= TASK_F_FREE_LATER;
        return;
    }
    list_remove(&t->all);
    free(t);
}

void task__report_lost(const task_t *t)
{
    struct loop *l = loop_current();
    fprintf(l ? l->opts.log : stderr,
            "async: task '%s#%u' failed with error %d (%s) and nobody retrieved it\n",
            t->name, (unsigned)t->id, result_err(t), task_strerror(result_err(t)));
}

void task__finish(task_t *t, int r)
{
    struct loop *l = loop_current();
    l->nlive--;
    t->state = r == -ECANCELED ? TASK_CANCELLED : TASK_DONE;
    if (t == l->main) {
        /* loop_run's result, saved now: a joiner may free main below. */
        l->main = NULL;
        l->main_done = 1;
        l->main_err = result_err(t);
        l->main_val = t->co->val;
        t->flags |= TASK_F_RETRIEVED;
    }
    t->flags &= (uint8_t)~TASK_F_CANCEL_PENDING;
    if (l->trace.out)
        trace_instant(&l->trace, r < 0 ? "done (error)" : "done", t, loop__now(l));
    if (!list_empty(&t->groups))
        group__owner_left(t);
    if (t->group) {
        group__child_done(t->group, t);
    } else if (t->joiner) {
        task_t *j = t->joiner;
        t->flags |= TASK_F_RETRIEVED;
        task_wake(j, t->co->val, result_err(t)); /* unparking clears t->joiner */
        task__free(t);
    } else if (t->flags & TASK_F_HANDLE_GONE) {
        if (t->state == TASK_DONE && result_err(t) && !(t->flags & TASK_F_RETRIEVED))
            task__report_lost(t);
        task__free(t);
    }
}

static void join_unpark(task_t *joiner)
{
    task_t *target = joiner->wait_on;
    target->joiner = NULL;
}

static void join_describe(const task_t *joiner, FILE *out)
{
    const task_t *target = joiner->wait_on;
    fprintf(out, "task '%s#%u'", target->name, (unsigned)target->id);
}

static const struct task_wait join_wait = {
    .what = "join", .unpark = join_unpark, .describe = join_describe};

int task_join(task_t *t)
{
    task_t *self = task_current();
    if (!self)
        return task_done_now(0, TASK_ENOLOOP);
    if (!t)
        return task_done_now(0, -EINVAL);
    if (t == self)
        return task_done_now(0, -EDEADLK);
    if (t->joiner || t->group)
        return task_done_now(0, -EBUSY);
    if (t->state >= TASK_DONE) {
        intptr_t v = t->co->val;
        int err = result_err(t);
        t->flags |= TASK_F_RETRIEVED | TASK_F_HANDLE_GONE;
        task__free(t);
        return task_done_now(v, err);
    }
    int r = task_park(&join_wait, t);
    if (r == TASK_OP_PARKED)
        t->joiner = self;
    return r;
}

void task_detach(task_t *t)
{
    if (!t || t->group)
        return; /* a group's children belong to the group */
    t->flags |= TASK_F_HANDLE_GONE;
    if (t->state >= TASK_DONE) {
        if (t->state == TASK_DONE && result_err(t) && !(t->flags & TASK_F_RETRIEVED))
            task__report_lost(t);
        task__free(t);
    }
}

/* ---- seeing the tasks ------------------------------------------------- */

const char *task_state_name(int state)
{
    static const char *const names[] = {"ready", "running", "parked", "done", "cancelled"};
    return state >= 0 && state <= TASK_CANCELLED ? names[state] : "invalid";
}

const char *task_strerror(int err)
{
    switch (err) {
    case TASK_EBADYIELD: return "task yielded without awaiting anything";
    case TASK_ENOLOOP: return "task operation outside a running task";
    default: return co_strerror(err);
    }
}

void task_dump_one(const task_t *t, FILE *out)
{
    fprintf(out, "  task '%s#%u' %s", t->name, (unsigned)t->id, task_state_name(t->state));
    if (t->state == TASK_PARKED) {
        fprintf(out, " on %s", t->wait->what);
        if (t->wait->describe) {
            fputc(' ', out);
            t->wait->describe(t, out);
        }
    } else if (t->state >= TASK_DONE) {
        int err = result_err(t);
        if (err)
            fprintf(out, " with error %d (%s)", err, task_strerror(err));
        else
            fprintf(out, " with value %ld", (long)t->co->val);
    }
    fputc('\n', out);
    if (t->state >= TASK_DONE)
        return;
    /* The await chain, outermost first: each frame's function and the line
     * it will resume at. */
    for (const co_t *c = t->co; c; c = c->child) {
        if (c->state == CO_CREATED || !c->site)
            fprintf(out, "      not started\n");
        else
            fprintf(out, "      at %s (%s:%d)\n", c->site->func, c->site->file, c->line);
    }
}

void task_dump(FILE *out)
{
    struct loop *l = loop_current();
    if (!l) {
        fprintf(out, "  (no loop running)\n");
        return;
    }
    fprintf(out, "%zu task(s), %zu ready:\n", l->nlive, l->nready);
    for (struct list *p = l->all.next; p != &l->all; p = p->next)
        task_dump_one(list_entry(p, task_t, all), out);
}
