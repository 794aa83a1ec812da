/*
 * trace.h - the loop's own record of what ran when, in the Chrome Trace Event
 * Format, which chrome://tracing and ui.perfetto.dev open.
 *
 * Set ASYNC_TRACE=file.json and every task gets a lane (a "thread"), every
 * step a slice in its lane, and spawns, wakes and cancels an instant mark.
 * Off, it costs the loop one test of a pointer per step.
 */
#ifndef TRACE_H
#define TRACE_H

#include <stdint.h>
#include <stdio.h>

#include "task.h"

struct trace {
    FILE *out;       /* NULL: tracing is off */
    uint64_t t0;     /* clock value at the start: times are relative to it */
    int events;      /* written so far (for the commas) */
};

int trace_open(struct trace *tr, const char *path, uint64_t t0);
void trace_close(struct trace *tr);

/* A lane for a task, labelled with its name and id. */
void trace_lane(struct trace *tr, const task_t *t);
/* One step of a task: it ran from `start` to `end` (clock nanoseconds),
 * resumed at `from` and stopped at `to` (file:line strings). */
void trace_step(struct trace *tr, const task_t *t, uint64_t start, uint64_t end,
                const char *from, const char *to);
/* A point event in a task's lane: "spawn", "wake", "cancel", "done". */
void trace_instant(struct trace *tr, const char *what, const task_t *t, uint64_t at);

/* The innermost suspended frame of a task as "func (file:line)", for traces
 * and warnings; "start" before its first step. */
void trace_where(const task_t *t, char *buf, size_t len);

#endif
