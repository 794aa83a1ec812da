/*
 * group.h - task groups: trio's nurseries, asyncio's TaskGroup, and gather.
 *
 * A group lives in its owner's frame.  Children spawned into it cannot
 * outlive it: the owner ends the group with group_join(), normally in its
 * CO_FINALLY block so that it runs on every exit path, and group_join waits
 * for every child.  The first child to fail cancels its siblings and the
 * owner, and its error is what group_join raises:
 *
 *     group_init(&f->g);
 *     GROUP_SPAWN(&f->g, worker, struct worker, .id = 1);
 *     GROUP_SPAWN(&f->g, worker, struct worker, .id = 2);
 *     AWAIT(task_yield());                 ... the body: anything
 *     CO_FINALLY
 *     AWAIT(group_join(&f->g, CO_ERROR));  ... the end of `async with`
 *     CO_END;
 */
#ifndef GROUP_H
#define GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "list.h"
#include "task.h"

typedef struct group {
    task_t *owner;
    struct list owned;    /* in the owner's list of open groups */
    struct list children; /* running children, through task.sibling */
    size_t nrunning;
    uint32_t nspawned;
    int first_err;        /* the first child failure: what the group raises */
    const char *first_name; /* ... and which child it was, for the log */
    uint32_t first_id;
    int body_err;         /* the owner's error in flight when it joined */
    uint32_t owner_cancels; /* owner's outside cancels when the group began */
    uint8_t cancelling;   /* its children have been cancelled */
    uint8_t cancelled_outside; /* the owner brought an outside cancel to the join */
    uint8_t joined;       /* group_join finished: it takes no more children */
    intptr_t *results;    /* where gather puts results, by spawn order */
    size_t nresults;
} group_t;

/* Begin a group owned by the running task. */
void group_init(group_t *g);

/* Spawn a child into the group (task_spawn's arguments).  The group holds
 * its handle: do not join or detach it.  NULL (errno EINVAL) once the group
 * is joined. */
task_t *group_spawn(group_t *g, co_fn fn, const void *frame, size_t size,
                    const char *name);
#define GROUP_SPAWN(g, fn, ...) GROUP__SPAWN(g, fn, __VA_ARGS__, )
#define GROUP__SPAWN(g, fn, type, ...)                                         \
    group_spawn((g), (fn), &(type){.co = {0}, __VA_ARGS__}, sizeof(type), #fn)

/* Keep each child's return value in results[spawn index] (gather). */
void group_results(group_t *g, intptr_t *results, size_t n);

/* Cancel every child, now and any spawned later (the group's own cancel
 * scope); calling it again does nothing. */
void group_cancel(group_t *g);

/* Await the end of the group: wait for every child; if the owner is failing
 * (body_err, normally CO_ERROR) cancel them first.  Raises the first child's
 * error, or -ECANCELED if the owner itself was cancelled from outside; raises
 * nothing when the body's own error should go on.  Only the owner may join;
 * it is not interrupted by cancellation (it cancels the children instead). */
int group_join(group_t *g, int body_err);

/* asyncio.gather of tasks already spawned: adopt them into `g`, wait for all,
 * results[i] is tasks[i]'s value; the first error cancels the rest and is
 * raised.  While results are kept (here and with group_results), a child
 * cancelled from outside counts as failed, since its slot can never be
 * filled.  -EBUSY if a task is already joined or in a group, -EINVAL if one
 * is NULL or named twice, -EDEADLK if it is the caller. */
int group_gather(group_t *g, task_t **tasks, size_t n, intptr_t *results);

/* Called by task__finish: for a child of the group, and for an owner that
 * finishes with groups still open. */
void group__child_done(group_t *g, task_t *t);
void group__owner_left(task_t *owner);

#endif
