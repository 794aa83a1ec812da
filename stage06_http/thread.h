/*
 * thread.h - asyncio.to_thread: run a blocking function on a worker thread.
 *
 * The loop is one thread.  A call that blocks it - getaddrinfo, a read from
 * a slow disk, a library with no non-blocking API - stops every task until
 * it returns.  thread_run hands such a call to a small pool of worker
 * threads and parks the task; the other tasks go on running.
 *
 *     static int lookup(void *arg) { ... getaddrinfo(...) ...; return 0; }
 *     ...
 *     AWAIT(thread_run(lookup, &f->req));    // await asyncio.to_thread(lookup, req)
 *
 * How a worker wakes the task without touching the loop from another thread:
 * it puts the finished job on a list under a mutex and writes one byte to a
 * pipe (the "self-pipe"); a helper task of the loop waits on the pipe like
 * any socket, and wakes the job's task with its result.  So the loop's core
 * is unchanged: the wake-up from a thread is I/O readiness.
 *
 * Cancellation, trio's default rather than asyncio's: a thread cannot be
 * stopped, so a task cancelled while its function runs stays parked until
 * the function returns; then the result is thrown away and the task gets
 * -ECANCELED.  That delay buys the rule that keeps C code safe: `arg` may
 * point into the task's frame, because the task cannot finish (and free the
 * frame) while a thread still uses it.  No thread outlives the loop.
 *
 * The virtual clock (loop_opts.virtual_clock) knows nothing of threads: it
 * jumps to the next deadline whenever no task is ready, even while a worker
 * is busy, so under it a timeout around thread_run can expire before the
 * function returns.  Test thread_run code on the real clock, or without
 * deadlines (GUIDE.md ch.4, exercise 5, has the general problem).
 */
#ifndef THREAD_H
#define THREAD_H

/* A blocking function: its result is >= 0, or a negative errno-style code. */
typedef int (*thread_fn)(void *arg);

/* The most worker threads per loop: min(32, CPUs + 4), as Python's
 * default executor. */
int thread_max_workers(void);

/* Operation to AWAIT: fn(arg) on a worker thread.  The value is what fn
 * returned, or its negative return is raised as the error.  Errors besides
 * fn's: -ECANCELED (after fn returned), -ENOMEM, -EAGAIN (no thread could
 * be started), or the pipe's errno. */
int thread_run(thread_fn fn, void *arg);

#endif
