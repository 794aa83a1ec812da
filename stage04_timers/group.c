/*
 * group.c - structured concurrency on top of park and wake.
 *
 * The group needs no help from the loop: its owner parks on the group, each
 * child's end is reported to it (group__child_done), and the last one wakes
 * the owner.  Failure handling is the part worth reading slowly: who gets
 * cancelled, and which error the owner finally sees.
 */
#include "group.h"

#include <errno.h>
#include <stdio.h>

#include "loop.h"
#include "scope.h"

void group_init(group_t *g)
{
    *g = (group_t){0};
    list_init(&g->children);
    list_init(&g->owned);
    g->owner = task_current();
    if (g->owner) {
        g->owner_cancels = g->owner->cancels;
        list_append(&g->owner->groups, &g->owned);
    }
}

void group_results(group_t *g, intptr_t *results, size_t n)
{
    g->results = results;
    g->nresults = n;
}

/* Once is enough, as with trio's cancel scopes: every child is cancelled
 * then, and adopt() cancels any child that comes later. */
void group_cancel(group_t *g)
{
    if (!g || g->cancelling)
        return;
    g->cancelling = 1;
    for (struct list *p = g->children.next; p != &g->children; p = p->next)
        task_cancel(list_entry(p, task_t, sibling));
}

static int owner_joining(const group_t *g);

/* The first failure: cancel everyone else, and the owner too unless it is
 * already waiting in group_join.  The owner's cancel is this group's own, so
 * this group does not mistake it for one from outside (any other does). */
static void group_fail(group_t *g, const task_t *child, int err)
{
    g->first_err = err;
    g->first_name = child->name;
    g->first_id = child->id;
    group_cancel(g);
    if (g->owner && !owner_joining(g))
        task__cancel(g->owner, g);
}

static void adopt(group_t *g, task_t *t)
{
    t->group = g;
    t->slot = g->nspawned++;
    list_append(&g->children, &t->sibling);
    g->nrunning++;
    if (g->cancelling)
        task_cancel(t); /* trio: a child started in a cancelled group is cancelled */
}

task_t *group_spawn(group_t *g, co_fn fn, const void *frame, size_t size,
                    const char *name)
{
    if (!g || g->joined) {
        errno = EINVAL;
        return NULL;
    }
    task_t *t = task_spawn(fn, frame, size, name);
    if (t)
        adopt(g, t);
    return t;
}

/* The group is over: take it off its owner's list, and free an owner that
 * finished while the group still had children (see task__free). */
static void group_close(group_t *g)
{
    g->joined = 1;
    list_remove(&g->owned);
    task_t *owner = g->owner;
    if (owner && (owner->flags & TASK_F_FREE_LATER) && list_empty(&owner->groups)) {
        owner->flags &= (uint8_t)~TASK_F_FREE_LATER;
        task__free(owner);
    }
}

/* The error the owner sees at group_join. */
static int group_result(const group_t *g)
{
    if (g->cancelled_outside || g->owner->cancels != g->owner_cancels)
        return -ECANCELED; /* an outer cancel is never swallowed */
    if (g->body_err && g->body_err != -ECANCELED)
        return 0; /* the body's own error goes on */
    return g->first_err;
}

/* The group is over: decide what the owner sees (nothing, when it has left
 * without joining), and say on the log which child error it will not see,
 * so that no failure vanishes. */
static int group_end(group_t *g, int owner_gone)
{
    int r = owner_gone ? 0 : group_result(g);
    if (g->first_err && r != g->first_err)
        fprintf(loop_current()->opts.log,
                "async: task '%s#%u' failed with error %d (%s) in a task group "
                "whose owner %s\n",
                g->first_name, (unsigned)g->first_id, g->first_err,
                task_strerror(g->first_err),
                owner_gone ? "left without joining it"
                : r == -ECANCELED ? "was cancelled from outside"
                                  : "failed with an error of its own");
    group_close(g);
    return r;
}

/* Cancelling a joining owner must not let it leave while children run:
 * cancel them and keep waiting.  The cancel is from outside this group, which
 * never cancels an owner that is joining it (it may come from another group
 * of the same owner), and group_result reports it at the end. */
static void group_owner_cancelled(task_t *owner)
{
    group_t *g = owner->wait_on;
    g->cancelled_outside = 1;
    group_cancel(g);
}

static void group_describe(const task_t *owner, FILE *out)
{
    const group_t *g = owner->wait_on;
    fprintf(out, "group of %zu running child(ren)", g->nrunning);
}

static const struct task_wait group_wait = {
    .what = "group", /* nothing to unlink: the group knows its owner */
    .cancel = group_owner_cancelled,
    .describe = group_describe,
};

static int owner_joining(const group_t *g)
{
    return g->owner->state == TASK_PARKED && g->owner->wait == &group_wait &&
           g->owner->wait_on == g;
}

void group__child_done(group_t *g, task_t *t)
{
    int err = t->co->error;
    if (!err && g->results && t->slot < g->nresults)
        g->results[t->slot] = t->co->val;
    g->nrunning--;
    t->flags |= TASK_F_RETRIEVED;
    /* A cancellation the group did not ask for leaves a hole in the results:
     * for gather that is a failure (asyncio raises CancelledError too). */
    int failed = err && (err != -ECANCELED || (g->results && !g->cancelling));
    if (failed) {
        if (!g->first_err)
            group_fail(g, t, err);
        else
            task__report_lost(t); /* a second failure: said, not lost */
    }
    task__free(t);
    if (g->nrunning == 0 && g->owner && owner_joining(g))
        task_wake(g->owner, 0, group_end(g, 0));
    else if (g->nrunning == 0 && g->owner && g->owner->state >= TASK_DONE)
        group_end(g, 1); /* the owner left without joining: now it can go */
}

/* The owner finished with groups still open (it skipped group_join): close
 * the ones with no children left, and say which still have some. */
void group__owner_left(task_t *owner)
{
    size_t running = 0;
    for (struct list *p = owner->groups.next; p != &owner->groups;) {
        group_t *g = list_entry(p, group_t, owned);
        p = p->next; /* group_end unlinks g */
        if (g->nrunning == 0)
            group_end(g, 1);
        else
            running += g->nrunning;
    }
    FILE *log = loop_current()->opts.log;
    fprintf(log, "async: task '%s#%u' finished without joining its task group(s): "
            "call group_join in its CO_FINALLY", owner->name, (unsigned)owner->id);
    if (running)
        fprintf(log, "; %zu running child(ren) outlive it", running);
    fputc('\n', log);
}

int group_join(group_t *g, int body_err)
{
    task_t *self = task_current();
    if (!self)
        return task_done_now(0, TASK_ENOLOOP);
    if (!g || self != g->owner || g->joined)
        return task_done_now(0, -EINVAL);
    g->body_err = body_err;
    if (body_err)
        group_cancel(g);
    /* A cancellation waiting for this task is taken by the group: the
     * children are cancelled and waited for, and one not raised by this
     * group is what the owner sees at the end.  It is taken after the cancel
     * above and in a loop, because cancelling a child can come back as a
     * cancel of this task (a child gathering its own owner). */
    while (self->flags & TASK_F_CANCEL_PENDING) {
        if (self->cancel_group != g)
            g->cancelled_outside = 1;
        self->flags &= (uint8_t)~TASK_F_CANCEL_PENDING;
        self->cancel_group = NULL;
        group_cancel(g);
    }
    /* Inside a scope whose deadline has passed, the children are cancelled
     * and still waited for: a deadline never lets an owner leave children
     * behind.  The owner sees -ECANCELED, for the scope to catch. */
    if (self->scope && scope__cancelled(self->scope)) {
        g->cancelled_outside = 1;
        group_cancel(g);
    }
    if (g->nrunning == 0)
        return task_done_now(0, group_end(g, 0));
    int r = task__park_shielded(&group_wait, g);
    /* Cancelled from outside, the join will end in -ECANCELED: that
     * cancellation is on its way in, and one more before it arrives is the
     * same one (task.c does the same for every parked task it cancels). */
    if (r == TASK_OP_PARKED && g->cancelled_outside)
        self->flags |= TASK_F_CANCELLING;
    return r;
}

/* Check every task before adopting any: a failure leaves nothing changed.
 * Each checked task is marked with the group pointer, which also finds a task
 * named twice; the marks come off again before adopting. */
static int gather_check(group_t *g, task_t **tasks, size_t n, task_t *self)
{
    int err = 0;
    size_t i;
    for (i = 0; i < n && !err; i++) {
        task_t *t = tasks[i];
        if (!t)
            err = -EINVAL;
        else if (t == self)
            err = -EDEADLK;
        else if (t->group == g)
            err = -EINVAL; /* the same task twice */
        else if (t->joiner || t->group)
            err = -EBUSY;
        else
            t->group = g;
    }
    size_t marked = err ? i - 1 : n;
    for (size_t j = 0; j < marked; j++)
        tasks[j]->group = NULL;
    return err;
}

int group_gather(group_t *g, task_t **tasks, size_t n, intptr_t *results)
{
    task_t *self = task_current();
    if (!self)
        return task_done_now(0, TASK_ENOLOOP);
    if (!g || (n && !tasks))
        return task_done_now(0, -EINVAL);
    int err = gather_check(g, tasks, n, self);
    if (err)
        return task_done_now(0, err);
    group_init(g);
    group_results(g, results, n);
    for (size_t i = 0; i < n; i++) {
        task_t *t = tasks[i];
        adopt(g, t);
        if (t->state >= TASK_DONE)
            group__child_done(g, t); /* finished before we looked */
    }
    return group_join(g, 0);
}
