/*
 * timer.h - deadlines on a binary min-heap.
 *
 * The loop keeps every pending deadline - a sleeping task's, a cancel
 * scope's - in one heap ordered by time, so the nearest is always at the
 * top: it gives the selector its timeout, and firing the due timers is
 * "pop while the top is due".  Starting a timer is an O(log n) insert;
 * stopping one (a cancelled sleep, a scope that closed in time) is an
 * O(log n) removal from the middle, possible because every timer knows its
 * index in the heap.  Nothing stays behind in the heap to be skipped later.
 *
 * The heap array holds each deadline beside the pointer to its timer, as
 * libev does: the comparisons that move an entry up or down read only the
 * array, which is contiguous, instead of chasing a pointer per level.
 */
#ifndef TIMER_H
#define TIMER_H

#include <stdint.h>

struct timer;
typedef void (*timer_fn)(struct timer *t);

struct timer {
    uint32_t index; /* where it is in the heap; TIMER_IDLE when not there */
    uint32_t seq;   /* start order: equal deadlines fire first-come first */
    timer_fn fire;  /* called by the loop when the deadline has passed */
};

#define TIMER_IDLE UINT32_MAX

struct timer_entry {
    uint64_t when; /* the deadline, in the loop's nanoseconds */
    struct timer *timer;
};

struct timer_heap {
    struct timer_entry *v; /* v[0] is the nearest deadline */
    uint32_t n, cap;
    uint32_t seq;
};

/* ---- the heap itself (no loop needed: the tests drive it directly) ------ */

void timer_heap_init(struct timer_heap *h);
void timer_heap_fini(struct timer_heap *h);
/* Insert t with deadline `when`.  Returns 0 or -ENOMEM; -EBUSY if t is
 * already in a heap. */
int timer_heap_push(struct timer_heap *h, struct timer *t, uint64_t when);
/* Take t out wherever it is; a timer that is not in the heap is ignored. */
void timer_heap_remove(struct timer_heap *h, struct timer *t);
/* The nearest entry, or NULL when the heap is empty. */
const struct timer_entry *timer_heap_top(const struct timer_heap *h);

/* ---- timers of the running loop ------------------------------------------ */

/* Start t: fire(t) runs once the loop's clock reaches `when` (nanoseconds,
 * loop_time_ns() scale).  Restarting a running timer moves it.  Returns 0,
 * -ENOMEM, or TASK_ENOLOOP outside a running loop. */
int timer_start(struct timer *t, uint64_t when, timer_fn fire);
/* Stop t if it is running.  Safe to call on a stopped or fired timer. */
void timer_stop(struct timer *t);
/* The deadline of a running timer; UINT64_MAX when it is not running. */
uint64_t timer_when(const struct timer *t);
static inline int timer_running(const struct timer *t) { return t->index != TIMER_IDLE; }

#endif
