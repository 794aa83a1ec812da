/*
 * trace.h - the loop's own record of what ran when, in the Chrome Trace Event
 * Format, which chrome://tracing and ui.perfetto.dev open.
 *
 * Set ASYNC_TRACE=file.json and every task gets a lane (a "thread"), every
 * step a slice in its lane, and spawns, wakes and cancels an instant mark.
 * Off, it costs the loop one test of a pointer per step.
 *
 * Its times are the loop's clock (opts.clock: real time, in ns), so no two
 * runs give the same trace.  ASYNC_TRACE_CLOCK=steps (or opts.trace_steps)
 * makes them a counter instead: every event the trace records - a step's
 * start, its end, each mark - takes the next tick, written as one
 * microsecond.  Such a trace shows the order of events and nothing else: a
 * step lasts one tick more than the marks inside it, and a sleep of an hour
 * is as short as a yield.  Everything else in a trace is the same from run
 * to run already - task ids count spawns, names and await sites come from
 * the source, the pid is always 1, and no address or port is written - so
 * a program that does the same things in the same order writes the same
 * bytes.  That is how the GUIDE's pictures are made and checked (`make
 * pictures`).  The header says which it was: "otherData":{"clock":"steps"}
 * or {"clock":"ns"}.
 *
 * From stage 3 on the loop has a lane of its own, "loop" (tid 0: task ids
 * start at 1), for its waits in the selector: a slice from the moment it
 * found no task ready to the end of the poll that made some ready, named
 * after the selector and counting the tasks it woke.  With steps a wait
 * takes no tick of its own: it spans the ticks of the wakes it delivered.
 * A trace that never waits has no loop lane.
 */
#ifndef TRACE_H
#define TRACE_H

#include <stdint.h>
#include <stdio.h>

#include "task.h"

struct trace {
    FILE *out;           /* NULL: tracing is off */
    uint64_t t0;         /* clock value at the start: times are relative to it */
    int events;          /* written so far (for the commas) */
    int steps;           /* the times are ticks of a counter, not the clock */
    uint64_t tick;       /* with steps: the next tick */
    int loop_lane;       /* the loop's lane is named (at the first trace_wait) */
    int waiting;         /* kept by loop.c: a wait has begun, and woken
                            no task yet */
    uint64_t wait_start; /* when it began (a trace_peek() time) */
};

/* Start a trace at clock value t0; steps: time it in ticks (see above). */
int trace_open(struct trace *tr, const char *path, uint64_t t0, int steps);
void trace_close(struct trace *tr);

/* The time the trace records for an event at clock value `now`: `now`
 * itself, or with steps the next tick (counted from t0). */
uint64_t trace_time(struct trace *tr, uint64_t now);
/* The time the next event would get, without taking a tick. */
uint64_t trace_peek(struct trace *tr, uint64_t now);

/* A lane for a task, labelled with its name and id. */
void trace_lane(struct trace *tr, const task_t *t);
/* One step of a task: it ran from `start` to `end` (trace_time() values,
 * taken when it was resumed and when it stopped), resumed at `from` and
 * stopped at `to` (file:line strings). */
void trace_step(struct trace *tr, const task_t *t, uint64_t start, uint64_t end,
                const char *from, const char *to);
/* A point event in a task's lane at clock value `at` (passed through
 * trace_time()): "spawn", "wake", "cancel", "done". */
void trace_instant(struct trace *tr, const char *what, const task_t *t, uint64_t at);
/* A wait of the loop's, from `start` to `end` (trace_peek() values), in
 * the selector called `selector`; it made `woke` tasks ready. */
void trace_wait(struct trace *tr, uint64_t start, uint64_t end, const char *selector, int woke);

/* The innermost suspended frame of a task as "func (file:line)", for traces
 * and warnings; "start" before its first step. */
void trace_where(const task_t *t, char *buf, size_t len);

#endif
