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
#include <pthread.h>
#include <signal.h>
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
 * a trace is being written or the slow-step warning is on.  `start` is the
 * clock's reading when the step began, `tstart` the trace's (trace_time():
 * the same, or a tick). */
static void after_step(struct loop *l, task_t *t, uint64_t start, uint64_t tstart,
                       const char *from)
{
    uint64_t end = loop__now(l);
    char to[160];
    trace_where(t, to, sizeof to);
    if (l->trace.out)
        trace_step(&l->trace, t, tstart, trace_time(&l->trace, end), from, to);
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
    uint64_t start = 0, tstart = 0;
    char from[160];
    if (timed) {
        trace_where(t, from, sizeof from);
        start = loop__now(l);
        tstart = trace_time(&l->trace, start);
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
        after_step(l, t, start, tstart, from);
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

/* The trace's loop lane (trace.h).  A poll with no task ready is a wait -
 * on the virtual clock, the autojump - and it ends with the first poll that
 * readies some task.  One that readies none (a signal, a readiness the
 * retry found spurious, a timer that woke no task) is no wait of its own:
 * the wait goes on from the same start, so a run's trace does not depend
 * on how often the kernel woke the loop for nothing.  A poll with a task
 * ready (after a deadlock was broken) is no wait, and drops one that woke
 * nobody. */
static void wait_begins(struct loop *l)
{
    if (l->nready)
        l->trace.waiting = 0;
    else if (!l->trace.waiting) {
        l->trace.wait_start = trace_peek(&l->trace, loop__now(l));
        l->trace.waiting = 1;
    }
}

static void wait_ends(struct loop *l)
{
    if (!l->trace.waiting || l->nready == 0)
        return;
    trace_wait(&l->trace, l->trace.wait_start, trace_peek(&l->trace, loop__now(l)),
               l->io.ops->name, (int)l->nready);
    l->trace.waiting = 0;
}

/* One turn: the descriptors and the timers, then every task that is ready
 * now runs once, in FIFO order. */
static void loop_iterate(struct loop *l)
{
    if (l->trace.out)
        wait_begins(l);
    poll_and_fire(l);
    if (l->trace.out)
        wait_ends(l);
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
    if (o->trace_path && !o->trace_steps) {
        const char *c = getenv("ASYNC_TRACE_CLOCK");
        if (c && strcmp(c, "steps") == 0)
            o->trace_steps = 1;
        else if (c && *c && strcmp(c, "ns") != 0)
            fprintf(o->log, "async: ignoring ASYNC_TRACE_CLOCK=%s: want steps, or ns "
                            "(the clock, the default)\n", c);
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

/* ---- the task dump on SIGUSR1 --------------------------------------------
 *
 * The handler can run between any two instructions of the loop, in the
 * middle of a step, so all it does is set a flag (task_dump's fprintf is not
 * async-signal-safe, and the task lists may be half-updated); the loop looks
 * at the flag once per iteration, between steps, and dumps there.  In
 * stage 2 the loop never waits, so that is within one iteration.  From
 * stage 3 on it may be blocked in the selector's wait: the signal
 * interrupts it (every selector takes EINTR as no events), the iteration
 * ends and the next one dumps.
 *
 * One small race is left open: a signal that lands after the look but
 * before the wait begins is seen only when the wait ends, at the next I/O or
 * deadline.  Closing it takes a wait that unblocks the signal atomically
 * (pselect, ppoll, epoll_pwait) or a pipe the handler writes to; for a
 * debugging aid, a second kill will do.  (The thread_run workers of stage 5
 * block every signal, so the handler runs on the loop's thread, not on one
 * that is not waiting in the selector.) */
static volatile sig_atomic_t dump_asked;

static void on_sigusr1(int sig)
{
    (void)sig;
    dump_asked = 1;
}

static void dump_on_signal(struct loop *l)
{
    dump_asked = 0;
    fprintf(l->opts.log, "async: SIGUSR1: the tasks after %llu steps (the program goes on):\n",
            (unsigned long long)l->steps);
    task_dump(l->opts.log);
    fflush(l->opts.log);
}

/* The disposition belongs to the process and a loop to a thread, so the
 * first loop to start takes SIGUSR1 (if it was at its default) and the last
 * to end puts back what was there - unless someone installed a handler of
 * their own meanwhile.  SA_RESTART, so that a slow system call elsewhere in
 * the program is restarted rather than failing with EINTR; the selectors'
 * waits never are (signal(7)), so they still return at once. */
static pthread_mutex_t dump_lock = PTHREAD_MUTEX_INITIALIZER;
static int dump_loops;               /* loops running with the handler in */
static struct sigaction dump_saved;  /* what the first of them found */

static int dump_handler_take(void)
{
    int took = 0;
    pthread_mutex_lock(&dump_lock);
    if (dump_loops > 0) {
        took = 1;
    } else if (sigaction(SIGUSR1, NULL, &dump_saved) == 0 &&
               !(dump_saved.sa_flags & SA_SIGINFO) && dump_saved.sa_handler == SIG_DFL) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigusr1;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        dump_asked = 0;
        took = sigaction(SIGUSR1, &sa, NULL) == 0;
    }
    dump_loops += took;
    pthread_mutex_unlock(&dump_lock);
    return took;
}

static void dump_handler_give_back(void)
{
    struct sigaction now;
    pthread_mutex_lock(&dump_lock);
    if (--dump_loops == 0 && sigaction(SIGUSR1, NULL, &now) == 0 &&
        !(now.sa_flags & SA_SIGINFO) && now.sa_handler == on_sigusr1)
        sigaction(SIGUSR1, &dump_saved, NULL);
    pthread_mutex_unlock(&dump_lock);
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
        trace_open(&l.trace, l.opts.trace_path, loop__now(&l), l.opts.trace_steps) < 0)
        fprintf(l.opts.log, "async: cannot write trace to %s: %s\n",
                l.opts.trace_path, strerror(errno));
    loop__running = &l;
    int dump_taken = dump_handler_take();

    int deadlocked = 0;
    l.main = task_spawn(main, frame, size, "main");
    if (!l.main)
        rc = -errno;
    while (l.nlive > 0) {
        if (dump_asked)
            dump_on_signal(&l);
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
    if (dump_taken)
        dump_handler_give_back();
    loop__running = NULL;
    return rc;
}

int loop_run(co_fn main, const void *frame, size_t size, intptr_t *result)
{
    return loop_run_opts(NULL, main, frame, size, result);
}
