/*
 * event.h - asyncio.Event: a flag tasks can wait to see set.
 *
 *     event_set(&ev);           // ev.set(): every waiter wakes
 *     AWAIT(event_wait(&ev));   // await ev.wait(): at once if already set
 *
 * The struct is the whole state - a flag and a lot of waiters - so an Event
 * can live anywhere (a frame, a global, a connection) with no allocation.
 * Initialise it with event_init before use.
 */
#ifndef EVENT_H
#define EVENT_H

#include "lot.h"

struct event {
    struct lot waiters;
    int set;
};

void event_init(struct event *e);
/* Set the flag and wake every waiter (value 0).  Setting a set event does
 * nothing.  A waiter woken by a set returns 0 even if the event is cleared
 * again before it runs, as in asyncio. */
void event_set(struct event *e);
void event_clear(struct event *e);
int event_is_set(const struct event *e);

/* Operation to AWAIT: 0 once the event is set.  Errors: -ECANCELED. */
int event_wait(struct event *e);

#endif
