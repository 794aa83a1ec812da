/*
 * lot.c - parking lots.
 */
#include "lot.h"

#include <stddef.h>

void lot_init(struct lot *lot) { list_init(&lot->tasks); }

int lot_empty(const struct lot *lot) { return list_empty(&lot->tasks); }

task_t *lot_first(const struct lot *lot)
{
    struct list *p = list_first(&lot->tasks);
    return p ? list_entry(p, task_t, link) : NULL;
}

int lot_park(struct lot *lot, const struct task_wait *w, void *on)
{
    int r = task_park(w, on);
    if (r == TASK_OP_PARKED) /* only now: a refused park must leave no trace */
        list_append(&lot->tasks, &task_current()->link);
    return r;
}

void lot_unpark(task_t *t) { list_remove(&t->link); }

int lot_wake_first(struct lot *lot, intptr_t value, int err)
{
    task_t *t = lot_first(lot);
    return t ? task_wake(t, value, err) == 0 : 0;
}

int lot_wake_all(struct lot *lot, intptr_t value, int err)
{
    int n = 0;
    task_t *t;
    while ((t = lot_first(lot)) != NULL && task_wake(t, value, err) == 0)
        n++;
    return n;
}

void lot_move(task_t *t, struct lot *to, const struct task_wait *w, void *on)
{
    list_remove(&t->link);
    list_append(&to->tasks, &t->link);
    t->wait = w;
    t->wait_on = on;
}
