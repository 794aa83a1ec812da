/*
 * loop.h - the event loop: a FIFO of ready tasks, a run step, a selector
 * polled between iterations, and a heap of deadlines.
 *
 * One iteration polls the selector once - without waiting if some task is
 * ready, else at most until the nearest deadline - wakes the tasks whose I/O
 * finished, reads the clock, fires the timers that are due, then runs the
 * tasks that were ready when it began, each for one step (until it parks,
 * yields or finishes).  The FIFO order alone keeps a task that keeps yielding from
 * starving the others; running only the tasks ready at the start makes
 * every iteration end, so the sockets are polled even while some task
 * yields in a tight loop.
 *
 * While loop_run() runs, `kill -USR1 <pid>` prints every task - its state,
 * what it waits on, its await chain (task_dump) - to the loop's log, and the
 * program goes on.  The loop takes SIGUSR1 only if nobody else has: if its
 * disposition is not the default when the loop starts, the loop leaves it
 * alone; and when loop_run() returns it puts back what it found.
 */
#ifndef LOOP_H
#define LOOP_H

#include <stdint.h>
#include <stdio.h>

#include "io.h"
#include "list.h"
#include "task.h"
#include "timer.h"
#include "trace.h"

/* Settings for one run.  Zero is the default for every field; loop_run()
 * also reads ASYNC_TRACE, ASYNC_TRACE_CLOCK and ASYNC_DEBUG / ASYNC_SLOW_MS
 * from the environment for fields left at zero. */
struct loop_opts {
    uint64_t (*clock)(void *ctx); /* nanoseconds, monotonic: the loop's time,
                                     traces and the slow-step warning */
    void *clock_ctx;
    const char *trace_path;       /* write a Chrome trace here */
    int trace_steps;              /* time the trace in ticks, not ns, so it
                                     is the same every run (trace.h);
                                     ASYNC_TRACE_CLOCK=steps */
    uint64_t slow_ns;             /* warn about steps longer than this */
    FILE *log;                    /* warnings and reports (stderr) */
    const char *selector;         /* "select", "poll", "epoll"; NULL: the
                                     default (ASYNC_SELECTOR, or the build's) */
    int virtual_clock;            /* the loop's time starts at 0 and moves
                                     only when every task waits: it jumps to
                                     the next deadline (trio's MockClock with
                                     autojump).  For tests: nothing sleeps. */
};

struct loop {
    struct list ready;  /* tasks to run, FIFO, linked through task.link */
    size_t nready;
    struct list all;    /* every task not yet freed, through task.all */
    size_t nlive;       /* tasks not yet finished */
    task_t *current;    /* the running task, or NULL between steps */
    task_t *main;       /* the main task until it finishes; then its result: */
    int main_done;      /* (kept here because another task may join main, */
    int main_err;       /*  and a joined task is freed at once) */
    intptr_t main_val;
    uint32_t next_id;
    intptr_t now_val;   /* an operation's immediate result (task_done_now) */
    int now_err;
    uint64_t steps;     /* task steps run: for statistics and benchmarks */
    struct io io;       /* the descriptors tasks wait on, and the selector */
    struct timer_heap timers; /* every pending deadline */
    uint64_t now;       /* the loop's time in ns, read at most once per
                           iteration (see loop_time_ns) */
    uint64_t t0;        /* opts.clock at the loop's time 0 */
    int t0_read;
    int now_stale;      /* not read this iteration: no timer needed it */
    struct loop_opts opts;
    struct trace trace;
};

/* Run `main` (a frame of `size` bytes copied from `frame`, as task_spawn
 * does) and every task it starts, until all have finished.  Returns main's
 * error, or 0 with main's return value in *result (when not NULL);
 * -ENOSYS if opts->selector names no backend. */
int loop_run(co_fn main, const void *frame, size_t size, intptr_t *result);
int loop_run_opts(const struct loop_opts *opts, co_fn main, const void *frame,
                  size_t size, intptr_t *result);

#define LOOP_RUN(result, fn, ...) LOOP__RUN(result, fn, __VA_ARGS__, )
#define LOOP__RUN(result, fn, type, ...)                                       \
    loop_run((fn), &(type){.co = {0}, __VA_ARGS__}, sizeof(type), (result))

/* The loop running on this thread, or NULL. */
struct loop *loop_current(void);

/* The loop's clock (Python's loop.time()), in ns or ms: read at most once
 * per iteration, the first time something asks in it, so every task in one
 * iteration sees the same time.  It counts from 0, the first time anything asked for it - a task's
 * first sleep, or main's first call here - and is 0 outside a loop.  With
 * opts.virtual_clock it is virtual: 0 at the start, then each deadline. */
uint64_t loop_time_ns(void);
uint64_t loop_time_ms(void);

/* Internals shared with task.c. */
void loop__ready(struct loop *l, task_t *t);
uint64_t loop__now(struct loop *l);  /* a fresh reading of opts.clock */
uint64_t loop__time(struct loop *l); /* l->now, read if stale */

#endif
