/*
 * loop.c - the run loop.
 *
 * The whole scheduler is loop_iterate(): poll the selector, fire the due
 * timers, then take the tasks that are ready now and resume each once.
 * Everything else - joins, groups, sockets, timers, and in stage 5 locks -
 * only decides *when* a task goes back on the ready queue, through
 * task_wake().
 */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "group.h"

static _Thread_local struct loop *loop__running;

struct loop *loop_current(void) { return loop__running; }

static uint64_t monotonic_ns(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t loop__now(struct loop *l) { return l->opts.clock(l->opts.clock_ctx); }

/* Reading the clock costs little, but a loop with no timers switching tasks
 * in 20 ns would notice it: the time is read at most once per iteration, and
 * only when a timer or a task wants it.  A loop that never needs the time
 * never reads the clock at all. */
uint64_t loop__time(struct loop *l)
{
    if (l->now_stale) {
        uint64_t raw = loop__now(l);
        if (!l->t0_read) { /* the first look: this is time 0 */
            l->t0 = raw;
            l->t0_read = 1;
        }
        l->now = raw - l->t0;
        l->now_stale = 0;
    }
    return l->now;
}

uint64_t loop_time_ns(void)
{
    struct loop *l = loop_current();
    return l ? loop__time(l) : 0;
}

uint64_t loop_time_ms(void) { return loop_time_ns() / 1000000u; }

void loop__ready(struct loop *l, task_t *t)
{
    t->state = TASK_READY;
    list_append(&l->ready, &t->link);
    l->nready++;
}

static task_t *pop_ready(struct loop *l)
{
    struct list *first = l->ready.next;
    list_remove(first);
    l->nready--;
    return list_entry(first, task_t, link);
}

/* Timing a step costs two clock reads, so it happens only when someone looks:
 * a trace is being written or the slow-step warning is on. */
static void after_step(struct loop *l, task_t *t, uint64_t start, const char *from)
{
    uint64_t end = loop__now(l);
    char to[160];
    trace_where(t, to, sizeof to);
    if (l->trace.out)
        trace_step(&l->trace, t, start, end, from, to);
    if (l->opts.slow_ns && end - start > l->opts.slow_ns)
        fprintf(l->opts.log,
                "async: slow step: task '%s#%u' ran %.3f ms without awaiting "
                "(limit %.3f ms), from %s to %s\n",
                t->name, (unsigned)t->id, (double)(end - start) / 1e6,
                (double)l->opts.slow_ns / 1e6, from, to);
}

/* A task whose body finished while it was still queued or parked had called
 * an operation outside AWAIT, which queued it without yielding.  Take it off
 * again, or a finished task would stay on the queue. */
static void unqueue_finished(struct loop *l, task_t *t)
{
    if (t->state == TASK_READY) {
        list_remove(&t->link);
        l->nready--;
    } else if (t->state == TASK_PARKED && t->wait->unpark) {
        t->wait->unpark(t);
    }
    fprintf(l->opts.log,
            "async: task '%s#%u' finished while still %s: an operation was "
            "called outside AWAIT\n",
            t->name, (unsigned)t->id, task_state_name(t->state));
}

static void run_step(struct loop *l, task_t *t)
{
    int timed = l->trace.out || l->opts.slow_ns;
    uint64_t start = 0;
    char from[160];
    if (timed) {
        trace_where(t, from, sizeof from);
        start = loop__now(l);
    }
    /* A task readied by task_wake() carries the operation's result in its top
     * frame; one that yielded or never ran resumes with 0 (or with the
     * -ECANCELED that task_cancel() left there). */
    if (!(t->flags & TASK_F_WOKEN))
        t->co->val = 0;
    t->flags &= (uint8_t)~(TASK_F_WOKEN | TASK_F_CANCELLING);
    t->state = TASK_RUNNING;
    l->current = t;
    l->io.streak = 0; /* a new step, a new budget of immediate completions */
    int r = co_resume(t->co);
    l->current = NULL;
    l->steps++;
    if (timed)
        after_step(l, t, start, from);
    if (r != CO_YIELDED) {
        if (t->state != TASK_RUNNING)
            unqueue_finished(l, t);
        task__finish(t, r);
    } else if (t->state == TASK_RUNNING) {
        /* It yielded without parking anywhere: nothing would ever wake it.
         * asyncio raises "Task got bad yield"; we throw an error back in. */
        t->co->thrown = TASK_EBADYIELD;
        t->flags |= TASK_F_WOKEN; /* a result: a cancel must not replace it */
        loop__ready(l, t);
    }
}

/* Fire every timer that is due.  A timer started while firing (a callback
 * restarting itself at "now") waits for the next iteration, so this ends. */
static void fire_due(struct loop *l)
{
    uint32_t started_before = l->timers.seq;
    const struct timer_entry *top;
    while ((top = timer_heap_top(&l->timers)) && top->when <= l->now &&
           (int32_t)(top->timer->seq - started_before) < 0) {
        struct timer *t = top->timer;
        timer_heap_remove(&l->timers, t);
        t->fire(t);
    }
}

/* Look at the descriptors.  With a task ready, only look (a stream of ready
 * tasks must not starve the sockets); otherwise wait until the nearest
 * deadline, or for I/O alone when there is none.  A virtual clock never
 * waits for a deadline: when nothing can run before it, it is now. */
static void poll_and_fire(struct loop *l)
{
    const struct timer_entry *top = timer_heap_top(&l->timers);
    int64_t timeout = -1;
    if (l->nready)
        timeout = 0;
    else if (top) {
        uint64_t now = loop__time(l);
        uint64_t left = top->when > now ? top->when - now : 0;
        timeout = left > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)left;
    }
    if (l->opts.virtual_clock && top && timeout != 0) {
        io_poll(&l->io, 0);
        if (l->nready == 0)
            l->now = top->when; /* the autojump */
    } else {
        io_poll(&l->io, timeout);
    }
    l->now_stale = !l->opts.virtual_clock;
    if (l->timers.n) {
        loop__time(l);
        fire_due(l);
    }
}

/* One turn: the descriptors and the timers, then every task that is ready
 * now runs once, in FIFO order. */
static void loop_iterate(struct loop *l)
{
    poll_and_fire(l);
    for (size_t n = l->nready; n > 0; n--)
        run_step(l, pop_ready(l));
}

/* Nothing is ready, no task waits on a descriptor and no deadline is set, but
 * tasks are parked:
 * nothing outside the tasks can wake them, so they never will.  Say so, show
 * them, and cancel them so their cleanup runs.  Returns 0 if that made some
 * task ready. */
static int break_deadlock(struct loop *l)
{
    fprintf(l->opts.log,
            "async: deadlock: %zu task(s) parked with nothing left to wake them:\n",
            l->nlive);
    task_dump(l->opts.log);
    for (struct list *p = l->all.next; p != &l->all;) {
        task_t *t = list_entry(p, task_t, all);
        p = p->next; /* a cancel may free t's group siblings, never t itself */
        if (t->state == TASK_PARKED)
            task_cancel(t);
    }
    return l->nready ? 0 : -EDEADLK;
}

/* ASYNC_SLOW_MS as nanoseconds: a whole number of milliseconds, at most a
 * day; anything else is refused with a message rather than misread. */
static uint64_t parse_ms(const char *s, FILE *log)
{
    char *end;
    errno = 0;
    unsigned long long ms = strtoull(s, &end, 10);
    if (*s == '-' || *end || errno || ms == 0 || ms > 86400000ull) {
        fprintf(log, "async: ignoring ASYNC_SLOW_MS=%s: want milliseconds, 1 to 86400000\n", s);
        return 0;
    }
    return (uint64_t)ms * 1000000u;
}

static void apply_defaults(struct loop_opts *o)
{
    if (!o->clock)
        o->clock = monotonic_ns;
    if (!o->log)
        o->log = stderr;
    if (!o->trace_path) {
        const char *p = getenv("ASYNC_TRACE");
        if (p && *p)
            o->trace_path = p;
    }
    if (!o->slow_ns) {
        const char *ms = getenv("ASYNC_SLOW_MS");
        const char *dbg = getenv("ASYNC_DEBUG");
        if (ms && *ms)
            o->slow_ns = parse_ms(ms, o->log);
        else if (dbg && *dbg && strcmp(dbg, "0") != 0)
            o->slow_ns = 100 * 1000000u; /* asyncio's slow_callback_duration */
    }
}

/* At the end every task is finished; free them, reporting the errors that
 * nobody collected (asyncio's "Task exception was never retrieved"). */
static void free_all(struct loop *l)
{
    while (!list_empty(&l->all)) {
        task_t *t = list_entry(l->all.next, task_t, all);
        if (t->state == TASK_DONE && t->co->error && !(t->flags & TASK_F_RETRIEVED))
            task__report_lost(t);
        /* Plain free, not task__free: after a deadlock, a task's wait and
         * sibling links may point into frames that are already gone. */
        list_remove(&t->all);
        free(t);
    }
}

int loop_run_opts(const struct loop_opts *opts, co_fn main, const void *frame,
                  size_t size, intptr_t *result)
{
    if (loop__running)
        return -EBUSY; /* one loop per thread, and loops do not nest */
    struct loop l;
    memset(&l, 0, sizeof l);
    list_init(&l.ready);
    list_init(&l.all);
    if (opts)
        l.opts = *opts;
    apply_defaults(&l.opts);
    timer_heap_init(&l.timers);
    l.now_stale = !l.opts.virtual_clock;
    int rc = io_init(&l.io, l.opts.selector);
    if (rc < 0) {
        io_fini(&l.io);
        return rc;
    }
    if (l.opts.trace_path &&
        trace_open(&l.trace, l.opts.trace_path, loop__now(&l)) < 0)
        fprintf(l.opts.log, "async: cannot write trace to %s: %s\n",
                l.opts.trace_path, strerror(errno));
    loop__running = &l;

    int deadlocked = 0;
    l.main = task_spawn(main, frame, size, "main");
    if (!l.main)
        rc = -errno;
    while (l.nlive > 0) {
        if (l.nready == 0 && l.io.nwaiting == 0 && l.timers.n == 0) {
            deadlocked = 1;
            if (break_deadlock(&l) < 0)
                break; /* cancelling woke nobody: give up on them */
        }
        loop_iterate(&l);
    }
    if (deadlocked)
        rc = -EDEADLK;
    else if (l.main_done) {
        rc = l.main_err;
        if (!rc && result)
            *result = l.main_val;
    }
    free_all(&l);
    io_fini(&l.io);
    timer_heap_fini(&l.timers);
    trace_close(&l.trace);
    loop__running = NULL;
    return rc;
}

int loop_run(co_fn main, const void *frame, size_t size, intptr_t *result)
{
    return loop_run_opts(NULL, main, frame, size, result);
}
