/*
 * test_stage05_model.c - a model-based fuzz of what stages 4 and 5 add to
 * the scheduler: sleeps and timeouts on the virtual clock, a Lock, bounded
 * Queues.  (test_stage02_model.c does spawn/join/cancel/groups; this one
 * keeps spawn, join, cancel and yield only to mix the new waits.)
 *
 * THE PROGRAMS.  A seed drives one loop_run on the virtual clock, with two
 * locks and two FIFO queues of maxsize 1 or 2.  Every task runs one
 * interpreter coroutine (mtask) with a PRNG of its own, doing at most
 * MAX_STEPS random operations: yield, sleep 1..4 ms, lock acquire (plain,
 * or lock_enter with a guard), lock release (sometimes of a lock it does
 * not hold), queue put / get (awaited, or _nowait), spawn, join of a child,
 * task_cancel of any task of the run (itself included), and a timeout
 * block: scope_fail_after or scope_move_on_after of 0..6 ms around 1..3 of
 * those operations, closed in the block's CO_FINALLY.  An awaited error is
 * raised on or, sometimes, swallowed (so the level-triggered scope is seen
 * failing every await after its deadline).  In CO_FINALLY a task releases
 * (mostly) the locks it holds and detaches some of its children; a task
 * that ends holding a lock leaves its waiters parked for good - one of the
 * ways a run deadlocks, with a queue nobody puts to and a join of a task
 * that waits for its joiner.
 *
 * THE MODEL.  Every task has an entry: what it is doing (not started,
 * running, ready with a result in hand, parked on what, done), the result
 * its current await will return, a pending cancel, its open scope (kind,
 * deadline, expired, cancel requests since it opened) and its sleep's
 * deadline.  Each lock has a holder and a FIFO of waiters, each queue its
 * items (unique ids), its getters and its putters (with their items).
 * Every operation is applied to the model first, following what lock.h,
 * queue.h, scope.h, sleep.h and task.h promise - a lock handed to the
 * longest waiter, an item handed straight to the first getter, a putter's
 * item taken in by the get that makes room, a park refused when a cancel is
 * due, a cancel delivered at once to a parked task and later to one
 * holding a result - and the model says what the await returns.  The
 * loop's timers are modelled too: when the clock has moved, the model fires
 * its deadlines due by then, in deadline and start order.
 *
 * THE INVARIANTS, at every resume of every task (from inside: the loop has
 * no hook), before the task does anything:
 *   - the resumed task is one the model woke (or never started): a task
 *     resumed while the model has it parked was woken by nobody it waits
 *     for, or twice;
 *   - every other task is where the model says: parked on the same wait
 *     and object (a sleep with the same deadline), ready, or finished and
 *     freed exactly when its handle is gone; the ready list holds exactly
 *     the model's ready tasks, each once (none woken twice, none lost);
 *     pending cancels, open scopes (expired or not, their timers) agree;
 *   - each lock's holder and its waiters, in order; each queue's items in
 *     order, its getters and its putters (and their items), in order; the
 *     number of pending timers;
 *   - the clock moved only while no task could run, and never past a
 *     deadline the model has pending: every deadline fires at exactly its
 *     time (a sleep of d ms wakes at exactly start + d);
 *   - a deadlock is reported (the log grew "async: deadlock:") exactly when
 *     the model has every unfinished task parked with no deadline pending,
 *     and then each of them waits for something nobody can provide: a lock
 *     held by another (parked or finished) task, a get of an empty queue, a
 *     put to a full one, a join of an unfinished task.
 * At the end of each operation: its result is the model's (a get's item,
 * a join's value, -ECANCELED, -EDEADLK, -EPERM, -EAGAIN); a scope's close
 * returns -ETIMEDOUT (fail) or 0 (move on) exactly for the cancel its own
 * deadline caused.  After loop_run: its result is main's or -EDEADLK; every
 * started task entered and left CO_FINALLY once, every other one was
 * cancelled before it ran; every item put was got once or is still in its
 * queue, none was got twice; the log holds the deadlock dumps and exactly
 * the "nobody retrieved it" lines the model predicts; queue_fini succeeds
 * (no task left in a lot).  Under SAN=1 LeakSanitizer is asked after every
 * block of seeds whether anything is still allocated (model_run_seeds).
 *
 * NOT COVERED: the order in which the loop runs ready tasks (the model
 * follows it, it does not predict it), groups, nested scopes, LIFO and
 * priority queues, queue_join, Semaphore, Condition, Event.
 *
 * SEEDS.  `make test` runs seeds 1..5000 in blocks of 250 (a block fails
 * naming its first failing seed and listing the others); the same
 * variables as test_stage02_model.c choose others:
 *     MODEL_SEEDS=20000 make stage5 test SAN=1
 *     CK_RUN_SUITE=stage05 CK_RUN_CASE=model MODEL_SEED_START=123 \
 *         MODEL_SEEDS=1 MODEL_VERBOSE=1 make stage5 test
 * (the second prints that run's operations and the loop's log to stderr).
 * `make fuzz` runs many more.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stage05_util.h"

enum {
    MAX_TASKS = 16, /* per run, main included */
    MAX_DEPTH = 3,
    MAX_STEPS = 10, /* operations per task body */
    NLOCK = 2,
    NQUEUE = 2,
    MAX_ITEMS = 512, /* item ids per run */
    BLOCK = 250,     /* seeds per check test */
};

#define MS ((uint64_t)1000000) /* ns */

/* ===== the model ========================================================== */

enum mstate { MS_NEW, MS_RUN, MS_READY, MS_PARK, MS_DONE };
enum mwait { W_NONE, W_YIELD, W_SLEEP, W_LOCK, W_GET, W_PUT, W_JOIN };
enum mhandle { H_MAIN, H_OWNED, H_JOINING, H_JOINED, H_DETACHED };

static const char *const wait_what[] = {"", "", "sleep", "lock", "queue get", "queue put",
                                        "join"};

struct ment {
    uint32_t id;
    task_t *t;           /* valid while the handle is held */
    int parent, handle;  /* enum mhandle */
    int ms, wk, obj;     /* enum mstate, enum mwait, and which lock/queue/task */
    intptr_t item;       /* a parked put's item */
    int r_err;           /* what the await in hand returns */
    intptr_t r_val;
    int pending;         /* a cancel waits for the next park */
    int cancelling;      /* -ECANCELED is on its way in */
    int doomed;          /* cancelled before it started: never runs */
    unsigned creqs;      /* cancel requests (scopes compare them) */
    int joiner;          /* the task parked joining it, or -1 */
    int sleep_on;        /* its sleep's timer */
    uint64_t sleep_when;
    unsigned sleep_seq;
    int sc_open, sc_fail, sc_expired, sc_timer;
    uint64_t sc_when;
    unsigned sc_seq, sc_creqs;
    int guard[NLOCK];    /* lock_enter recorded the lock in the guard */
    int started, fin_enter, fin_done, err;
    intptr_t val;
    unsigned parks, wakes;
};

struct mlock {
    int holder; /* a task index (perhaps finished), or -1 */
    int w[MAX_TASKS], n;
};

struct mqueue {
    size_t max;
    intptr_t it[MAX_TASKS + 4];
    int n;
    int g[MAX_TASKS], ng; /* getters */
    int p[MAX_TASKS], np; /* putters (their items in ment.item) */
};

struct mstats {
    unsigned long runs, tasks, never_started, deadlocks, parks, lock_waits, handoffs,
        lock_cancelled, gets_parked, puts_parked, handed_items, taken_in, get_cancelled,
        put_cancelled, sleeps, timeouts, move_ons, expired_at_open, cancels, joins,
        eperm, edeadlk, lost_lines;
};

static struct {
    uint64_t seed;
    struct ment e[MAX_TASKS];
    int n;
    struct lock lk[NLOCK];
    struct queue q[NQUEUE];
    struct mlock ml[NLOCK];
    struct mqueue mq[NQUEUE];
    uint8_t accepted[MAX_ITEMS], got[MAX_ITEMS];
    intptr_t nitems;
    unsigned tseq;       /* timer start order */
    uint64_t now;        /* the clock at the last resume */
    struct capture *cap; /* the loop's log, read as it grows */
    size_t log_seen;
    int deadlocked;
    unsigned long steps;
    char hard[512];
    struct mstats st;
    char trace[32768];
    size_t tlen;
    uint64_t digest;
} M;

static struct mstats total;

static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bad(const char *fmt, ...)
{
    if (M.hard[0])
        return; /* the first violation is the one worth reading */
    int n = snprintf(M.hard, sizeof M.hard, "[resume %lu] ", M.steps);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(M.hard + n, sizeof M.hard - (size_t)n, fmt, ap);
    va_end(ap);
}

static void tr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void tr(const char *fmt, ...)
{
    char buf[160];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n > (int)sizeof buf - 1)
        n = (int)sizeof buf - 1;
    for (int i = 0; i < n; i++)
        M.digest = (M.digest ^ (unsigned char)buf[i]) * UINT64_C(0x100000001B3);
    if (M.tlen + (size_t)n + 2 < sizeof M.trace) {
        memcpy(M.trace + M.tlen, buf, (size_t)n);
        M.tlen += (size_t)n;
        M.trace[M.tlen++] = '\n';
        M.trace[M.tlen] = '\0';
    }
}

static unsigned idof(int k) { return (unsigned)M.e[k].id; }

/* ---- FIFOs of task indices ---------------------------------------------- */

static void fifo_push(int *a, int *n, int k)
{
    if (*n >= MAX_TASKS)
        bad("a model FIFO overflows: the model lost track");
    else
        a[(*n)++] = k;
}

static int fifo_pop(int *a, int *n)
{
    int k = a[0];
    memmove(a, a + 1, (size_t)--*n * sizeof *a);
    return k;
}

static void fifo_remove(int *a, int *n, int k)
{
    for (int i = 0; i < *n; i++)
        if (a[i] == k) {
            memmove(a + i, a + i + 1, (size_t)(*n - i - 1) * sizeof *a);
            (*n)--;
            return;
        }
    bad("m#%u is not in the model's FIFO it waits in", idof(k));
}

/* ---- waking, parking, cancelling, as task.c does ------------------------ */

static int cancel_due(const struct ment *e) { return e->pending || (e->sc_open && e->sc_expired); }

/* The op completes in this step with this result. */
static void now_result(struct ment *e, int err, intptr_t val)
{
    e->r_err = err;
    e->r_val = val;
}

/* A park refused because a cancel was due: park_refused consumes a pending
 * one first; an expired scope refuses every park until it is closed. */
static void refused(struct ment *e)
{
    e->pending = 0;
    now_result(e, -ECANCELED, 0);
}

static void park(struct ment *e, int wk, int obj)
{
    e->ms = MS_PARK;
    e->wk = wk;
    e->obj = obj;
    e->parks++;
    M.st.parks++;
}

static void wake(int k, int err, intptr_t val)
{
    struct ment *e = &M.e[k];
    if (e->ms != MS_PARK)
        bad("the model wakes m#%u, which it has not parked", idof(k));
    e->ms = MS_READY;
    e->wk = W_NONE;
    e->wakes++;
    now_result(e, err, val);
}

/* Take a parked task off what it waits on (its wait's unpark). */
static void unpark(int k)
{
    struct ment *e = &M.e[k];
    if (e->wk == W_LOCK)
        fifo_remove(M.ml[e->obj].w, &M.ml[e->obj].n, k);
    else if (e->wk == W_GET)
        fifo_remove(M.mq[e->obj].g, &M.mq[e->obj].ng, k);
    else if (e->wk == W_PUT)
        fifo_remove(M.mq[e->obj].p, &M.mq[e->obj].np, k);
    else if (e->wk == W_JOIN) {
        M.e[e->obj].joiner = -1;
        M.e[e->obj].handle = H_OWNED;
    } else if (e->wk == W_SLEEP)
        e->sleep_on = 0;
}

static void count_cancelled_wait(const struct ment *e)
{
    M.st.lock_cancelled += e->wk == W_LOCK;
    M.st.get_cancelled += e->wk == W_GET;
    M.st.put_cancelled += e->wk == W_PUT;
}

/* task__interrupt: deliver -ECANCELED at the await k is stopped at, if it
 * is stopped at one.  Returns 1 if it was (or one is already on its way). */
static int interrupt(int k)
{
    struct ment *e = &M.e[k];
    if (e->cancelling)
        return 1;
    if (e->ms == MS_PARK) {
        count_cancelled_wait(e);
        unpark(k);
        wake(k, -ECANCELED, 0);
        e->cancelling = 1;
        return 1;
    }
    if (e->ms == MS_NEW || (e->ms == MS_READY && e->wk == W_YIELD)) {
        e->doomed |= e->ms == MS_NEW;
        now_result(e, -ECANCELED, 0);
        e->cancelling = 1;
        return 1;
    }
    return 0;
}

/* task_cancel (and the deadlock breaker, which calls it). */
static void cancel(int k)
{
    struct ment *e = &M.e[k];
    if (e->ms == MS_DONE)
        return;
    e->creqs++;
    if (!interrupt(k))
        e->pending = 1; /* running, or woken with a result it holds */
}

/* ---- the model's timers --------------------------------------------------- */

static int ntimers(void)
{
    int n = 0;
    for (int k = 0; k < M.n; k++)
        n += M.e[k].sleep_on + M.e[k].sc_timer;
    return n;
}

/* The earliest pending deadline (by time, then start order): *k's sleep
 * (*scope 0) or scope (*scope 1).  Returns 0 if there is none. */
static int next_timer(int *kp, int *scope, uint64_t *when)
{
    int found = 0;
    unsigned best_seq = 0;
    for (int k = 0; k < M.n; k++) {
        const struct ment *e = &M.e[k];
        for (int s = 0; s < 2; s++) {
            int on = s ? e->sc_timer : e->sleep_on;
            uint64_t w = s ? e->sc_when : e->sleep_when;
            unsigned q = s ? e->sc_seq : e->sleep_seq;
            if (on && (!found || w < *when || (w == *when && q < best_seq))) {
                found = 1, *kp = k, *scope = s, *when = w, best_seq = q;
            }
        }
    }
    return found;
}

/* The clock reads `now`: fire what is due, as the loop did at its jump. */
static void fire_timers(uint64_t now)
{
    int k = 0, scope = 0;
    uint64_t when = 0;
    while (next_timer(&k, &scope, &when) && when <= now) {
        struct ment *e = &M.e[k];
        if (when != now)
            bad("the clock is at %" PRIu64 " ns, past m#%u's %s deadline %" PRIu64
                " (it fired late, or never)", now, idof(k), scope ? "scope" : "sleep", when);
        if (scope) {
            e->sc_timer = 0;
            e->sc_expired = 1;
            tr("  @%" PRIu64 "ms m#%u's scope expires", now / MS, idof(k));
            interrupt(k);
        } else {
            e->sleep_on = 0;
            tr("  @%" PRIu64 "ms m#%u's sleep ends", now / MS, idof(k));
            wake(k, 0, 0);
        }
    }
}

/* ---- locks and queues ------------------------------------------------------ */

/* lock__pass: to the longest waiter, already holding it, or free. */
static void lock_pass(int i)
{
    struct mlock *l = &M.ml[i];
    if (l->n == 0) {
        l->holder = -1;
        return;
    }
    int k = fifo_pop(l->w, &l->n);
    l->holder = k;
    M.st.handoffs++;
    tr("  lock %d handed to m#%u", i, idof(k));
    wake(k, 0, 0);
}

static void item_got(intptr_t item)
{
    if (item < 1 || item > M.nitems || !M.accepted[item] || M.got[item]++)
        bad("the model got item %ld twice, or one never put", (long)item);
}

/* put_now: 0, or -EAGAIN when full. */
static int mq_put_now(int q, intptr_t item)
{
    struct mqueue *m = &M.mq[q];
    if (m->ng) {
        int g = fifo_pop(m->g, &m->ng);
        M.accepted[item] = 1;
        item_got(item);
        M.st.handed_items++;
        tr("  item %ld handed to m#%u", (long)item, idof(g));
        wake(g, 0, item);
        return 0;
    }
    if ((size_t)m->n >= m->max)
        return -EAGAIN;
    M.accepted[item] = 1;
    m->it[m->n++] = item;
    return 0;
}

/* get_now: 0 with *item, or -EAGAIN when empty. */
static int mq_get_now(int q, intptr_t *item)
{
    struct mqueue *m = &M.mq[q];
    if (m->n == 0)
        return -EAGAIN;
    *item = m->it[0];
    memmove(m->it, m->it + 1, (size_t)--m->n * sizeof *m->it);
    item_got(*item);
    if (m->np) {
        int p = fifo_pop(m->p, &m->np);
        M.accepted[M.e[p].item] = 1;
        m->it[m->n++] = M.e[p].item;
        M.st.taken_in++;
        tr("  item %ld of m#%u taken in", (long)M.e[p].item, idof(p));
        wake(p, 0, 0);
    }
    return 0;
}

/* ===== the frames ========================================================= */

enum op {
    OP_YIELD, OP_SLEEP, OP_ACQUIRE, OP_RELEASE, OP_PUT, OP_GET, OP_PUT_NOWAIT,
    OP_GET_NOWAIT, OP_SPAWN, OP_JOIN, OP_CANCEL, OP_BLOCK, OP_RAISE, OP_RETURN, OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
    "yield", "sleep", "acquire", "release", "put", "get", "put_nowait",
    "get_nowait", "spawn", "join", "cancel", "block", "raise", "return"};

static const unsigned char top_weights[OP_COUNT] = {
    [OP_YIELD] = 6, [OP_SLEEP] = 8, [OP_ACQUIRE] = 12, [OP_RELEASE] = 9, [OP_PUT] = 12,
    [OP_GET] = 9, [OP_PUT_NOWAIT] = 2, [OP_GET_NOWAIT] = 2, [OP_SPAWN] = 12,
    [OP_JOIN] = 7, [OP_CANCEL] = 3, [OP_BLOCK] = 10, [OP_RAISE] = 1, [OP_RETURN] = 1};

static const unsigned char block_weights[OP_COUNT] = {
    [OP_YIELD] = 2, [OP_SLEEP] = 8, [OP_ACQUIRE] = 10, [OP_RELEASE] = 3, [OP_PUT] = 8,
    [OP_GET] = 8, [OP_JOIN] = 5, [OP_CANCEL] = 1, [OP_RAISE] = 1};

struct mtask;

/* One operation, awaited with AWAIT_CO from a task body or a block. */
struct mop {
    co_t co;
    struct mtask *t;
    int op, err, obj, guarded;
    intptr_t item, val;
    uint64_t t0, d;
};

/* A timeout block: a scope around a few operations. */
struct mblk {
    co_t co;
    struct mtask *t;
    struct scope sc;
    int n, i, kind, err, want;
    uint64_t ms;
    struct mop op;
};

/* The interpreter every task runs. */
struct mtask {
    co_t co;
    uint64_t rng;
    int idx, depth; /* set by the spawner */
    int nsteps, step, kind, err, ending, drain;
    intptr_t retval;
    struct lock_guard guard[NLOCK];
    struct mop op;
    struct mblk blk;
};

static int mtask_fn(co_t *co);

static struct ment *ent(const struct mtask *t) { return &M.e[t->idx]; }

static unsigned pick(uint64_t *rng, const unsigned char *w)
{
    unsigned sum = 0;
    for (int i = 0; i < OP_COUNT; i++)
        sum += w[i];
    unsigned r = model_below(rng, sum);
    for (int i = 0; i < OP_COUNT; i++) {
        if (r < w[i])
            return (unsigned)i;
        r -= w[i];
    }
    return OP_YIELD;
}

/* ===== the loop, seen from inside ========================================= */

static int frame_idx(const task_t *t) { return ((const struct mtask *)(const void *)t->co)->idx; }

/* Which task of `all` is entry k (NULL: freed).  0 if `all` is broken. */
static int index_all(const struct loop *l, task_t **at)
{
    int n = 0;
    for (struct list *p = l->all.next; p != &l->all; p = p->next) {
        task_t *t = list_entry(p, task_t, all);
        int k = frame_idx(t);
        if (p->next->prev != p || ++n > MAX_TASKS || k < 0 || k >= M.n || at[k]) {
            bad("the list of all tasks is broken");
            return 0;
        }
        at[k] = t;
    }
    return 1;
}

static int should_exist(const struct ment *e)
{
    return e->handle != H_JOINED && !(e->handle == H_DETACHED && e->ms == MS_DONE);
}

/* A lot against the model's FIFO of the same tasks. */
static void check_lot(const struct lot *lot, const int *w, int n, task_t *const *at,
                      const char *what, int i)
{
    int j = 0;
    for (struct list *p = lot->tasks.next; p != &lot->tasks; p = p->next, j++) {
        if (p->next->prev != p || j >= n || list_entry(p, task_t, link) != at[w[j]]) {
            bad("%s %d: its waiters are not the model's (at #%d of %d)", what, i, j, n);
            return;
        }
    }
    if (j != n)
        bad("%s %d has %d waiters, the model %d", what, i, j, n);
}

static void check_objects(task_t *const *at)
{
    for (int i = 0; i < NLOCK; i++) {
        const struct mlock *m = &M.ml[i];
        uint32_t want = m->holder >= 0 ? M.e[m->holder].id : 0;
        if (M.lk[i].owner != want)
            bad("lock %d is held by #%u, the model says #%u", i, (unsigned)M.lk[i].owner,
                (unsigned)want);
        check_lot(&M.lk[i].waiters, m->w, m->n, at, "lock", i);
    }
    for (int i = 0; i < NQUEUE; i++) {
        const struct mqueue *m = &M.mq[i];
        const struct queue *q = &M.q[i];
        if (q->n != (size_t)m->n) {
            bad("queue %d holds %zu items, the model %d", i, q->n, m->n);
            continue;
        }
        for (int j = 0; j < m->n; j++)
            if ((intptr_t)q->v[(q->head + (size_t)j) % q->cap].item != m->it[j])
                bad("queue %d: item #%d is %ld, the model's %ld", i, j,
                    (long)(intptr_t)q->v[(q->head + (size_t)j) % q->cap].item, (long)m->it[j]);
        check_lot(&q->getters, m->g, m->ng, at, "queue getters", i);
        check_lot(&q->putters, m->p, m->np, at, "queue putters", i);
    }
}

/* Is the parked task t waiting on what the model says? */
static void check_wait(int k, const task_t *t)
{
    const struct ment *e = &M.e[k];
    const void *on = e->wk == W_LOCK ? (const void *)&M.lk[e->obj]
                     : e->wk == W_GET ? (const void *)&M.q[e->obj]
                     : e->wk == W_PUT ? (const void *)e->item
                     : e->wk == W_JOIN ? (const void *)M.e[e->obj].t
                                       : NULL;
    if (t->state != TASK_PARKED || !t->wait || strcmp(t->wait->what, wait_what[e->wk]) != 0 ||
        t->wait_on != on)
        bad("m#%u is %s on %s, the model has it parked on %s %d", idof(k),
            task_state_name(t->state), t->wait ? t->wait->what : "nothing", wait_what[e->wk],
            e->obj);
    else if (e->wk == W_SLEEP && timer_when(&t->timer) != e->sleep_when)
        bad("m#%u sleeps until %" PRIu64 ", the model says %" PRIu64, idof(k),
            timer_when(&t->timer), e->sleep_when);
}

/* One task against its entry. */
static void check_task(const struct loop *l, int k, const task_t *t)
{
    const struct ment *e = &M.e[k];
    static const int want_state[] = {TASK_READY, TASK_RUNNING, TASK_READY, TASK_PARKED};
    if (e->ms == MS_DONE) {
        if (t->state < TASK_DONE)
            bad("m#%u is %s, the model has it finished", idof(k), task_state_name(t->state));
        return;
    }
    if (e->ms == MS_PARK)
        check_wait(k, t);
    else if (t->state != want_state[e->ms] || (e->ms == MS_RUN && t != l->current))
        bad("m#%u is %s, the model has it %s", idof(k), task_state_name(t->state),
            e->ms == MS_NEW ? "not started" : e->ms == MS_RUN ? "running" : "ready");
    if (e->ms == MS_NEW && t->co->state != CO_CREATED)
        bad("m#%u ran without the model seeing it start", idof(k));
    if (!!(t->flags & TASK_F_CANCEL_PENDING) != e->pending)
        bad("m#%u: a cancel is %spending, the model says %s", idof(k),
            (t->flags & TASK_F_CANCEL_PENDING) ? "" : "not ", e->pending ? "yes" : "no");
    if (e->ms == MS_NEW)
        return;
    const struct mtask *f = (const struct mtask *)(const void *)t->co;
    if (!e->sc_open && t->scope)
        bad("m#%u has a scope open, the model none", idof(k));
    else if (e->sc_open && (t->scope != &f->blk.sc || f->blk.sc.expired != e->sc_expired ||
                            timer_when(&f->blk.sc.timer) !=
                                (e->sc_timer ? e->sc_when : UINT64_MAX)))
        bad("m#%u's scope (expired %d, deadline %" PRIu64 ") is not the model's (%d, %" PRIu64
            ")", idof(k), f->blk.sc.expired, timer_when(&f->blk.sc.timer), e->sc_expired,
            e->sc_timer ? e->sc_when : UINT64_MAX);
    if (e->wk != W_SLEEP && timer_running(&t->timer))
        bad("m#%u's sleep timer runs, but the model has it not sleeping", idof(k));
}

/* Everything the loop holds against the model. */
static void check_world(const struct loop *l)
{
    task_t *at[MAX_TASKS] = {0};
    if (!index_all(l, at))
        return;
    size_t ready = 0;
    for (int k = 0; k < M.n; k++) {
        const struct ment *e = &M.e[k];
        if (should_exist(e) != (at[k] != NULL)) {
            bad("m#%u was %sfreed (handle %d, %s)", idof(k), at[k] ? "not " : "", e->handle,
                e->ms == MS_DONE ? "finished" : "unfinished");
            continue;
        }
        ready += e->ms == MS_NEW || e->ms == MS_READY;
        if (at[k])
            check_task(l, k, at[k]);
    }
    size_t n = 0;
    for (struct list *p = l->ready.next; p != &l->ready; p = p->next) {
        const task_t *t = list_entry(p, task_t, link);
        if (p->next->prev != p || ++n > MAX_TASKS || t->state != TASK_READY) {
            bad("the ready list is broken, too long, or holds a task not READY");
            return;
        }
    }
    if (n != l->nready || n != ready)
        bad("the ready list holds %zu tasks (nready %zu), the model has %zu ready", n,
            l->nready, ready);
    if (l->timers.n != (uint32_t)ntimers())
        bad("the loop has %u timers pending, the model %d", (unsigned)l->timers.n, ntimers());
    check_objects(at);
}

/* ---- deadlocks -------------------------------------------------------------- */

/* New "async: deadlock:" reports in the loop's log since the last look. */
static int new_deadlock_reports(void)
{
    fflush(M.cap->f);
    int n = 0;
    if (M.cap->len > M.log_seen) {
        const char *from = M.cap->buf + M.log_seen;
        n = count_of(from, "async: deadlock:");
        M.log_seen = M.cap->len;
    }
    return n;
}

static int model_idle(void)
{
    for (int k = 0; k < M.n; k++)
        if (M.e[k].ms == MS_NEW || M.e[k].ms == MS_READY || M.e[k].ms == MS_RUN)
            return 0;
    return ntimers() == 0;
}

/* The loop says nothing can wake them: each must wait for what nobody will
 * provide, or the loop lost a wakeup. */
static void check_deadlock(void)
{
    for (int k = 0; k < M.n; k++) {
        const struct ment *e = &M.e[k];
        if (e->ms != MS_PARK)
            continue;
        int stuck = 0;
        if (e->wk == W_LOCK)
            stuck = M.ml[e->obj].holder >= 0 && M.ml[e->obj].holder != k;
        else if (e->wk == W_GET)
            stuck = M.mq[e->obj].n == 0;
        else if (e->wk == W_PUT)
            stuck = (size_t)M.mq[e->obj].n >= M.mq[e->obj].max;
        else if (e->wk == W_JOIN)
            stuck = M.e[e->obj].ms != MS_DONE;
        if (!stuck)
            bad("deadlock reported, but m#%u's %s %d could complete", idof(k),
                wait_what[e->wk], e->obj);
    }
}

/* A task cancelled before it started ends without running: in its own
 * step, which the model does not see.  The next resume does. */
static void note_doomed_ends(const struct loop *l)
{
    task_t *at[MAX_TASKS] = {0};
    if (!index_all(l, at))
        return;
    for (int k = 0; k < M.n; k++) {
        struct ment *e = &M.e[k];
        if (e->ms != MS_NEW || !e->doomed || (at[k] && at[k]->state < TASK_DONE))
            continue;
        e->ms = MS_DONE;
        e->err = -ECANCELED;
        tr("  m#%u ended without starting", idof(k));
        if (e->joiner >= 0) {
            int j = e->joiner;
            e->joiner = -1;
            e->handle = H_JOINED;
            wake(j, -ECANCELED, 0);
        }
    }
}

/* The invariants, at the start of every step of every task. */
static void check_loop(struct mtask *f)
{
    struct loop *l = loop_current();
    M.steps++;
    if (M.hard[0])
        return;
    if (!l || !l->current || l->current->co != &f->co || l->current->state != TASK_RUNNING) {
        bad("the task resumed is not loop->current, RUNNING");
        return;
    }
    note_doomed_ends(l);
    int reports = new_deadlock_reports();
    if ((reports > 0) != model_idle())
        bad("the log has %d new deadlock report(s), yet the model has %s", reports,
            model_idle() ? "every task parked for good" : "a task able to run, or a deadline");
    if (reports) {
        M.deadlocked = 1;
        M.st.deadlocks++;
        tr("  deadlock: the loop cancels every parked task");
        check_deadlock();
        for (int k = 0; k < M.n; k++)
            if (M.e[k].ms == MS_PARK)
                cancel(k);
    }
    uint64_t now = loop_time_ns();
    if (now != M.now) {
        if (now < M.now)
            bad("the clock went back from %" PRIu64 " to %" PRIu64, M.now, now);
        for (int k = 0; k < M.n; k++)
            if (M.e[k].ms == MS_NEW || M.e[k].ms == MS_READY || M.e[k].ms == MS_RUN)
                bad("the clock moved to %" PRIu64 " ns while m#%u could run", now, idof(k));
        M.now = now;
    }
    fire_timers(now);
    struct ment *e = ent(f);
    if (e->ms == MS_PARK)
        bad("m#%u resumed, parked on %s %d: nobody the model knows woke it", idof(f->idx),
            wait_what[e->wk], e->obj);
    else if (e->ms != MS_READY && e->ms != MS_NEW)
        bad("m#%u resumed, but the model has it %s", idof(f->idx),
            e->ms == MS_DONE ? "finished" : "running");
    else if (e->ms == MS_NEW && e->doomed)
        bad("m#%u runs, though it was cancelled before it started", idof(f->idx));
    e->ms = MS_RUN;
    e->wk = W_NONE;
    e->cancelling = 0;
    check_world(l);
}

/* ===== the operations ====================================================== */

static int can_spawn(const struct mtask *t) { return M.n < MAX_TASKS && t->depth < MAX_DEPTH; }

static void spawn_child(struct mtask *t)
{
    struct mtask c;
    memset(&c, 0, sizeof c);
    c.idx = M.n;
    c.depth = t->depth + 1;
    c.rng = model_seed(model_next(&t->rng));
    task_t *h = task_spawn(mtask_fn, &c, sizeof c, "m");
    if (!h) {
        bad("m#%u: spawn failed (errno %d)", idof(t->idx), errno);
        return;
    }
    M.e[M.n] = (struct ment){.id = h->id, .t = h, .parent = t->idx, .handle = H_OWNED,
                             .ms = MS_NEW, .joiner = -1};
    M.st.tasks++;
    tr("m#%u spawn m#%u", idof(t->idx), (unsigned)h->id);
    M.n++;
}

/* A child of t whose handle t holds, or -1. */
static int pick_owned(struct mtask *t)
{
    int cand[MAX_TASKS], n = 0;
    for (int k = 1; k < M.n; k++)
        if (M.e[k].parent == t->idx && M.e[k].handle == H_OWNED)
            cand[n++] = k;
    return n ? cand[model_below(&t->rng, (unsigned)n)] : -1;
}

static task_t *find_task(uint32_t id)
{
    struct loop *l = loop_current();
    int n = 0;
    for (struct list *p = l->all.next; p != &l->all && n <= MAX_TASKS; p = p->next, n++) {
        task_t *t = list_entry(p, task_t, all);
        if (t->id == id)
            return t;
    }
    return NULL;
}

static void op_cancel(struct mtask *t)
{
    int k = (int)model_below(&t->rng, (unsigned)M.n);
    task_t *x = find_task(M.e[k].id);
    tr("m#%u cancel m#%u%s", idof(t->idx), idof(k), x ? "" : " (freed)");
    if (!x)
        return;
    if (task_cancel(x) != 0)
        bad("task_cancel(m#%u) failed", idof(k));
    cancel(k);
    M.st.cancels++;
}

/* Release lock i: 0, or -EPERM if t does not hold it. */
static void op_release(struct mtask *t, int i)
{
    int want = M.ml[i].holder == t->idx ? 0 : -EPERM;
    int r = lock_release(&M.lk[i]);
    tr("m#%u release %d: %d", idof(t->idx), i, r);
    if (r != want)
        bad("m#%u: lock_release(%d) returned %d, want %d", idof(t->idx), i, r, want);
    M.st.eperm += want != 0;
    if (r == 0 && want == 0)
        lock_pass(i);
}

static void op_nowait(struct mop *f)
{
    int q = f->obj, want, r;
    if (f->op == OP_PUT_NOWAIT) {
        f->item = ++M.nitems;
        r = queue_put_nowait(&M.q[q], (void *)f->item);
        want = mq_put_now(q, f->item);
        tr("m#%u put_nowait %ld to %d: %d", idof(f->t->idx), (long)f->item, q, r);
    } else {
        void *item = NULL;
        intptr_t mitem = 0;
        r = queue_get_nowait(&M.q[q], &item);
        want = mq_get_now(q, &mitem);
        tr("m#%u get_nowait from %d: %d %ld", idof(f->t->idx), q, r, (long)(intptr_t)item);
        if (r == 0 && want == 0 && (intptr_t)item != mitem)
            bad("m#%u: get_nowait from %d gave item %ld, the model %ld", idof(f->t->idx), q,
                (long)(intptr_t)item, (long)mitem);
    }
    if (r != want)
        bad("m#%u: %s returned %d, want %d", idof(f->t->idx), op_names[f->op], r, want);
}

/* The awaited operations: applied to the model before the call. */
static void sleep_begin(struct mop *f)
{
    struct ment *e = ent(f->t);
    f->d = 1 + model_below(&f->t->rng, 4);
    f->t0 = loop_time_ns();
    M.st.sleeps++;
    if (cancel_due(e))
        {
            refused(e);
            return;
        }
    park(e, W_SLEEP, 0);
    e->sleep_on = 1;
    e->sleep_when = f->t0 + f->d * MS;
    e->sleep_seq = ++M.tseq;
}

static void acquire_begin(struct mop *f)
{
    struct ment *e = ent(f->t);
    struct mlock *l = &M.ml[f->obj];
    if (f->guarded)
        e->guard[f->obj] = 0; /* lock_enter forgets, then records what it got */
    if (l->holder == f->t->idx) {
        M.st.edeadlk++;
        {
            now_result(e, -EDEADLK, 0);
            return;
        }
    }
    if (l->holder < 0 && !cancel_due(e)) {
        l->holder = f->t->idx;
        e->guard[f->obj] |= f->guarded;
        {
            now_result(e, 0, 0);
            return;
        }
    }
    if (cancel_due(e))
        {
            refused(e);
            return;
        }
    park(e, W_LOCK, f->obj);
    fifo_push(l->w, &l->n, f->t->idx);
    e->guard[f->obj] |= f->guarded;
    M.st.lock_waits++;
}

static void put_begin(struct mop *f)
{
    struct ment *e = ent(f->t);
    f->item = ++M.nitems;
    if (!cancel_due(e) && mq_put_now(f->obj, f->item) == 0)
        {
            now_result(e, 0, 0);
            return;
        }
    if (cancel_due(e))
        {
            refused(e);
            return;
        }
    park(e, W_PUT, f->obj);
    e->item = f->item;
    fifo_push(M.mq[f->obj].p, &M.mq[f->obj].np, f->t->idx);
    M.st.puts_parked++;
}

static void get_begin(struct mop *f)
{
    struct ment *e = ent(f->t);
    intptr_t item;
    if (!cancel_due(e) && mq_get_now(f->obj, &item) == 0)
        {
            now_result(e, 0, item);
            return;
        }
    if (cancel_due(e))
        {
            refused(e);
            return;
        }
    park(e, W_GET, f->obj);
    fifo_push(M.mq[f->obj].g, &M.mq[f->obj].ng, f->t->idx);
    M.st.gets_parked++;
}

static void join_begin(struct mop *f)
{
    struct ment *e = ent(f->t), *x = &M.e[f->obj];
    M.st.joins++;
    if (e->sc_open && e->sc_expired) /* even a finished task: the result stays */
        {
            refused(e);
            return;
        }
    if (x->ms == MS_DONE) {
        x->handle = H_JOINED;
        {
            now_result(e, x->err, x->val);
            return;
        }
    }
    if (e->pending)
        {
            refused(e);
            return;
        }
    park(e, W_JOIN, f->obj);
    x->joiner = f->t->idx;
    x->handle = H_JOINING;
}

static void yield_begin(struct mop *f)
{
    struct ment *e = ent(f->t);
    if (cancel_due(e))
        {
            refused(e);
            return;
        }
    e->ms = MS_READY; /* on the ready queue: the loop is its waker */
    e->wk = W_YIELD;
    now_result(e, 0, 0);
}

/* After the await: the result the model said. */
static void op_done(struct mop *f)
{
    struct ment *e = ent(f->t);
    unsigned me = idof(f->t->idx);
    tr("m#%u %s %d: %d %ld", me, op_names[f->op], f->obj, f->err, (long)f->val);
    if (e->ms != MS_RUN)
        bad("m#%u: its %s returned, but the model has it %s", me, op_names[f->op],
            e->ms == MS_PARK ? "parked" : "not running");
    if (f->err != e->r_err || (f->err == 0 && (f->op == OP_GET || f->op == OP_JOIN) &&
                               f->val != e->r_val))
        bad("m#%u: %s %d returned %d/%ld, the model says %d/%ld", me, op_names[f->op], f->obj,
            f->err, (long)f->val, e->r_err, (long)e->r_val);
    if (f->op == OP_SLEEP && f->err == 0 && loop_time_ns() != f->t0 + f->d * MS)
        bad("m#%u: a sleep of %" PRIu64 " ms from %" PRIu64 " ns woke at %" PRIu64, me, f->d,
            f->t0, loop_time_ns());
    if (f->op == OP_ACQUIRE && f->err == 0 && !lock_held(&M.lk[f->obj]))
        bad("m#%u: acquired lock %d, but does not hold it", me, f->obj);
    if (f->op == OP_ACQUIRE && f->err == -ECANCELED && lock_held(&M.lk[f->obj]))
        bad("m#%u: a cancelled acquire of lock %d holds it", me, f->obj);
    if (f->op == OP_JOIN && e->r_err != -ECANCELED)
        M.e[f->obj].handle = H_JOINED;
}

/* An awaited error: raised on, or (sometimes) swallowed. */
static int pass_on(struct mtask *t, int err)
{
    if (err && model_below(&t->rng, 3) != 0)
        return 0;
    return err;
}

/* The operation actually possible: anything impossible becomes a yield. */
static int op_possible(struct mop *f)
{
    int op = f->op;
    if (op == OP_SPAWN && !can_spawn(f->t))
        return OP_YIELD;
    if (op == OP_JOIN && (f->obj = pick_owned(f->t)) < 0)
        return OP_YIELD;
    int holds = 0;
    for (int i = 0; i < NLOCK; i++)
        holds |= M.ml[i].holder == f->t->idx;
    if (op == OP_RELEASE && !holds && model_below(&f->t->rng, 4) != 0)
        return OP_YIELD; /* -EPERM now and then is enough */
    if ((op == OP_PUT || op == OP_PUT_NOWAIT) && M.nitems >= MAX_ITEMS - 1)
        return OP_YIELD;
    if (op == OP_BLOCK || op == OP_RAISE || op == OP_RETURN)
        return OP_YIELD;
    return op;
}

/* Which lock or queue: a release prefers one the task holds. */
static void op_object(struct mop *f)
{
    if (f->op == OP_JOIN)
        return;
    f->obj = (int)model_below(&f->t->rng, f->op == OP_ACQUIRE || f->op == OP_RELEASE ? NLOCK
                                                                                    : NQUEUE);
    /* mostly: release one it holds, acquire one it does not */
    int lock_op = f->op == OP_ACQUIRE || f->op == OP_RELEASE;
    int mine = lock_op && M.ml[f->obj].holder == f->t->idx;
    if (lock_op && mine == (f->op == OP_ACQUIRE) && model_below(&f->t->rng, 8) != 0)
        f->obj = (f->obj + 1) % NLOCK;
    f->guarded = f->op == OP_ACQUIRE && model_below(&f->t->rng, 2);
}

static void mop_prepare(struct mop *f, struct mtask *t, int op)
{
    memset(f, 0, sizeof *f);
    f->t = t;
    f->op = op;
}

static int mop_fn(co_t *co)
{
    struct mop *f = (struct mop *)co;
    CO_BEGIN(co);
    f->op = op_possible(f);
    op_object(f);
    if (f->op == OP_YIELD) {
        yield_begin(f);
        AWAIT_CATCH(task_yield(), f->err);
    } else if (f->op == OP_SLEEP) {
        sleep_begin(f);
        AWAIT_CATCH(sleep_ms(f->d), f->err);
    } else if (f->op == OP_ACQUIRE && f->guarded) {
        acquire_begin(f);
        AWAIT_CATCH(lock_enter(&M.lk[f->obj], &f->t->guard[f->obj]), f->err);
    } else if (f->op == OP_ACQUIRE) {
        acquire_begin(f);
        AWAIT_CATCH(lock_acquire(&M.lk[f->obj]), f->err);
    } else if (f->op == OP_PUT) {
        put_begin(f);
        AWAIT_CATCH(queue_put(&M.q[f->obj], (void *)f->item), f->err);
    } else if (f->op == OP_GET) {
        get_begin(f);
        AWAIT_CATCH(queue_get(&M.q[f->obj]), f->err);
    } else if (f->op == OP_JOIN) {
        join_begin(f);
        AWAIT_CATCH(task_join(M.e[f->obj].t), f->err);
    } else {
        if (f->op == OP_SPAWN)
            spawn_child(f->t);
        else if (f->op == OP_CANCEL)
            op_cancel(f->t);
        else if (f->op == OP_RELEASE)
            op_release(f->t, f->obj);
        else
            op_nowait(f);
        CO_RETURN(0);
    }
    f->val = CO_VALUE;
    op_done(f);
    if (f->err)
        CO_RAISE(f->err);
    CO_END;
}

/* ===== the timeout block =================================================== */

static void block_open(struct mblk *f)
{
    struct ment *e = ent(f->t);
    f->kind = (int)model_below(&f->t->rng, 2); /* 1: fail_after */
    f->ms = model_below(&f->t->rng, 7);
    f->n = 1 + (int)model_below(&f->t->rng, 3);
    int r = f->kind ? scope_fail_after(&f->sc, f->ms) : scope_move_on_after(&f->sc, f->ms);
    tr("m#%u %s %" PRIu64 " ms: %d", idof(f->t->idx), f->kind ? "fail_after" : "move_on_after",
       f->ms, r);
    if (r != 0)
        bad("m#%u: opening a scope returned %d", idof(f->t->idx), r);
    e->sc_open = 1;
    e->sc_fail = f->kind;
    e->sc_creqs = e->creqs;
    e->sc_expired = f->ms == 0;
    e->sc_timer = f->ms != 0;
    e->sc_when = loop_time_ns() + f->ms * MS;
    e->sc_seq = ++M.tseq;
    M.st.expired_at_open += f->ms == 0;
}

/* scope_close(err): the scope's own timeout is caught, anything else
 * passes through. */
static int block_close_want(struct mblk *f, int err)
{
    struct ment *e = ent(f->t);
    int caught = err == -ECANCELED && e->sc_expired && e->creqs == e->sc_creqs;
    e->sc_open = e->sc_timer = e->sc_expired = 0;
    if (!caught)
        return err;
    M.st.timeouts += f->kind;
    M.st.move_ons += !f->kind;
    return f->kind ? -ETIMEDOUT : 0;
}

static int mblk_fn(co_t *co)
{
    struct mblk *f = (struct mblk *)co;
    CO_BEGIN(co);
    block_open(f);
    for (f->i = 0; f->i < f->n; f->i++) {
        mop_prepare(&f->op, f->t, (int)pick(&f->t->rng, block_weights));
        if (f->op.op == OP_RAISE)
            CO_RAISE(-EIO);
        AWAIT_CO_CATCH(&f->op.co, mop_fn, f->err);
        f->err = pass_on(f->t, f->err);
        if (f->err)
            CO_RAISE(f->err);
    }
    CO_FINALLY
    f->want = block_close_want(f, CO_ERROR);
    f->err = scope_close(&f->sc, CO_ERROR);
    tr("m#%u scope closed (%d): %d", idof(f->t->idx), CO_ERROR, f->err);
    if (f->err != f->want)
        bad("m#%u: scope_close(%d) returned %d, want %d", idof(f->t->idx), CO_ERROR, f->err,
            f->want);
    CO_ERROR = f->err;
    CO_END;
}

/* ===== the task ============================================================= */

static void task_started(struct mtask *f)
{
    struct ment *e = ent(f);
    if (e->started++)
        bad("m#%u started twice", idof(f->idx));
    f->nsteps = (int)model_below(&f->rng, MAX_STEPS + 1);
    if (f->idx == 0)
        f->nsteps = 5 + (int)model_below(&f->rng, MAX_STEPS - 4);
    f->drain = model_below(&f->rng, 2) == 0;
    tr("m#%u start: %d steps%s", idof(f->idx), f->nsteps, f->drain ? ", drains" : "");
    /* a few children from the start, so that something runs beside it */
    for (int i = (int)model_below(&f->rng, f->idx == 0 ? 4 : 3) + (f->idx == 0); i > 0; i--)
        if (can_spawn(f))
            spawn_child(f);
}

/* CO_FINALLY: the guards, then (mostly) the other locks it holds; some of
 * its children are let go. */
static void task_cleanup(struct mtask *f, int err)
{
    struct ment *e = ent(f);
    if (e->fin_enter++)
        bad("m#%u entered CO_FINALLY twice", idof(f->idx));
    tr("m#%u finally: %d", idof(f->idx), err);
    for (int i = 0; i < NLOCK; i++) {
        int releases = e->guard[i] && M.ml[i].holder == f->idx;
        lock_exit(&f->guard[i]);
        e->guard[i] = 0;
        if (releases)
            lock_pass(i);
        if (M.ml[i].holder == f->idx && model_below(&f->rng, 8) != 0)
            op_release(f, i);
    }
    for (int k = 1; k < M.n; k++)
        if (M.e[k].parent == f->idx && M.e[k].handle == H_OWNED &&
            model_below(&f->rng, 2) == 0) {
            tr("m#%u detach m#%u", idof(f->idx), idof(k));
            task_detach(M.e[k].t);
            M.e[k].handle = H_DETACHED;
        }
}

/* The end, recorded in the task's last step: task__finish follows at once. */
static void task_done(struct mtask *f, int err)
{
    struct ment *e = ent(f);
    if (e->fin_done++)
        bad("m#%u left CO_FINALLY twice", idof(f->idx));
    e->ms = MS_DONE;
    e->err = err;
    e->val = err ? 0 : f->retval;
    tr("m#%u done: %d %ld", idof(f->idx), err, (long)e->val);
    if (e->joiner >= 0) {
        int j = e->joiner;
        e->joiner = -1;
        e->handle = H_JOINED;
        wake(j, err, e->val);
    }
}

static int mtask_fn(co_t *co)
{
    struct mtask *f = (struct mtask *)co;
    check_loop(f); /* before CO_BEGIN: on every resume */
    CO_BEGIN(co);
    task_started(f);
    for (f->step = 0; f->step < f->nsteps && !f->ending; f->step++) {
        f->kind = (int)pick(&f->rng, top_weights);
        if (f->kind == OP_RAISE) {
            CO_RAISE(-EIO);
        } else if (f->kind == OP_RETURN) {
            f->ending = 1;
        } else if (f->kind == OP_BLOCK) {
            memset(&f->blk, 0, sizeof f->blk);
            f->blk.t = f;
            AWAIT_CO_CATCH(&f->blk.co, mblk_fn, f->err);
        } else {
            mop_prepare(&f->op, f, f->kind);
            AWAIT_CO_CATCH(&f->op.co, mop_fn, f->err);
        }
        f->err = pass_on(f, f->err);
        if (f->err)
            CO_RAISE(f->err);
    }
    for (f->step = 0; f->drain && f->step < MAX_TASKS && pick_owned(f) >= 0; f->step++) {
        mop_prepare(&f->op, f, OP_JOIN);
        AWAIT_CO_CATCH(&f->op.co, mop_fn, f->err);
        f->err = pass_on(f, f->err);
        if (f->err)
            CO_RAISE(f->err);
    }
    if (model_below(&f->rng, 10) == 0)
        CO_RAISE(-EIO);
    f->retval = (intptr_t)(f->idx + 1) * 1000 + (intptr_t)model_below(&f->rng, 1000);
    CO_RETURN(f->retval);
    CO_FINALLY
    task_cleanup(f, CO_ERROR);
    task_done(f, CO_ERROR);
    CO_END;
}

/* ===== after the run ========================================================= */

static int is_dump_line(const char *line)
{
    size_t a, b;
    return strncmp(line, "async: deadlock: ", 17) == 0 ||
           sscanf(line, "%zu task(s), %zu ready:", &a, &b) == 2 ||
           strncmp(line, "  task '", 8) == 0 || strncmp(line, "      at ", 9) == 0 ||
           strcmp(line, "      not started") == 0;
}

/* Every line of the log is a deadlock dump's or a "nobody retrieved it"
 * for a task that ended with a real error no join collected: exactly one
 * such line for each of those. */
static void check_log(const char *log)
{
    int lost[MAX_TASKS] = {0};
    char line[512];
    for (const char *p = log; *p;) {
        size_t n = strcspn(p, "\n");
        snprintf(line, sizeof line, "%.*s", (int)n, p);
        p += n + (p[n] == '\n');
        unsigned id;
        int err;
        if (is_dump_line(line) && M.deadlocked)
            continue;
        if (sscanf(line, "async: task 'm#%u' failed with error %d", &id, &err) == 2 &&
            strstr(line, " and nobody retrieved it")) {
            int k = 0;
            while (k < M.n && idof(k) != id)
                k++;
            if (k == M.n || M.e[k].err != err)
                bad("log line names m#%u with error %d, not how it ended: %.100s", id, err,
                    line);
            else
                lost[k]++;
            M.st.lost_lines++;
            continue;
        }
        bad("unexpected log line: %.100s", line);
    }
    for (int k = 1; k < M.n; k++) {
        const struct ment *e = &M.e[k];
        int want = e->err && e->err != -ECANCELED && e->handle != H_JOINED;
        if (lost[k] != want)
            bad("m#%u (ended %d, handle %d) is reported lost %d time(s), want %d", idof(k),
                e->err, e->handle, lost[k], want);
    }
}

static void verdict(int rc, intptr_t result, const char *log)
{
    const struct ment *m = &M.e[0];
    if (M.deadlocked ? rc != -EDEADLK : rc != m->err)
        bad("loop_run returned %d; main ended with %d, deadlocks %d", rc, m->err,
            M.deadlocked);
    else if (rc == 0 && result != m->val)
        bad("loop_run's result is %ld, main returned %ld", (long)result, (long)m->val);
    for (int k = 0; k < M.n; k++) {
        struct ment *e = &M.e[k];
        if (e->ms == MS_NEW && e->doomed) {
            e->ms = MS_DONE; /* its refused start came after the last resume */
            e->err = -ECANCELED;
        }
        if (!e->started) {
            M.st.never_started++;
            if (!e->doomed)
                bad("m#%u never started, and nobody cancelled it", idof(k));
        } else if (e->fin_enter != 1 || e->fin_done != 1) {
            bad("m#%u entered/left CO_FINALLY %d/%d times", idof(k), e->fin_enter,
                e->fin_done);
        }
    }
    for (intptr_t i = 1; i <= M.nitems; i++) {
        int in_queue = 0;
        for (int q = 0; q < NQUEUE; q++)
            for (int j = 0; j < M.mq[q].n; j++)
                in_queue += M.mq[q].it[j] == i;
        if (M.accepted[i] && M.got[i] + in_queue != 1)
            bad("item %ld was put, got %d time(s), and is %sin a queue", (long)i, M.got[i],
                in_queue ? "" : "not ");
        if (!M.accepted[i] && (M.got[i] || in_queue))
            bad("item %ld was never put, yet was got or queued", (long)i);
    }
    check_log(log);
}

/* ===== running a seed ======================================================= */

static uint64_t seed_start = 1, seed_count = 5000;
static int verbose;

static void add_stats(struct mstats *to, const struct mstats *s)
{
    unsigned long *a = (unsigned long *)(void *)to;
    const unsigned long *b = (const unsigned long *)(const void *)s;
    for (size_t i = 0; i < sizeof *s / sizeof *b; i++)
        a[i] += b[i];
}

/* Run one seed; NULL if the model found nothing, else what it found. */
static const char *run_seed(uint64_t seed, char **logp)
{
    memset(&M, 0, sizeof M);
    M.seed = seed;
    M.digest = UINT64_C(0xCBF29CE484222325);
    uint64_t rng = model_seed(seed);
    for (int i = 0; i < NLOCK; i++) {
        lock_init(&M.lk[i]);
        M.ml[i].holder = -1;
    }
    for (int i = 0; i < NQUEUE; i++) {
        M.mq[i].max = 1 + model_below(&rng, 2);
        queue_init(&M.q[i], M.mq[i].max);
    }
    M.e[0] = (struct ment){.handle = H_MAIN, .ms = MS_NEW, .joiner = -1};
    M.n = 1;
    M.st.runs = M.st.tasks = 1;
    struct mtask m;
    memset(&m, 0, sizeof m);
    m.rng = model_seed(model_next(&rng));
    struct capture c;
    struct loop_opts o = {.virtual_clock = 1};
    o.log = cap_open(&c);
    M.cap = &c;
    /* main's id is the loop's first */
    M.e[0].id = 1;
    intptr_t result = -1;
    int rc = loop_run_opts(&o, mtask_fn, &m, sizeof m, &result);
    *logp = cap_close(&c);
    M.cap = NULL;
    tr("loop_run: %d %ld", rc, (long)result);
    verdict(rc, result, *logp);
    for (int i = 0; i < NQUEUE; i++) {
        int r = queue_fini(&M.q[i]);
        if (r != 0)
            bad("queue_fini(%d) returned %d: tasks are left in its lots", i, r);
    }
    for (int i = 0; i < NLOCK; i++)
        if (!lot_empty(&M.lk[i].waiters))
            bad("lock %d still has waiters after the run", i);
    add_stats(&total, &M.st);
    return M.hard[0] ? M.hard : NULL;
}

static void show_run(const char *log)
{
    fprintf(stderr, "---- model seed %" PRIu64 ": operations%s ----\n%s", M.seed,
            M.tlen + 200 > sizeof M.trace ? " (truncated)" : "", M.trace);
    fprintf(stderr, "---- the loop's log ----\n%s---- %s ----\n", log,
            M.hard[0] ? M.hard : "no violation");
}

START_TEST(model_seed_block)
{
    uint64_t first = seed_start + (uint64_t)_i * BLOCK;
    uint64_t end = seed_start + seed_count;
    model_run_seeds(5, first, end - first > BLOCK ? first + BLOCK : end, run_seed,
                    verbose && seed_count == 1 ? show_run : NULL);
}
END_TEST

START_TEST(model_is_deterministic)
{
    char *log1, *log2;
    const char *why = run_seed(11, &log1);
    uint64_t d1 = M.digest;
    ck_assert_msg(why == NULL, "model seed 11: %s", why);
    why = run_seed(11, &log2);
    ck_assert_msg(why == NULL, "model seed 11: %s", why);
    ck_assert_uint_eq(d1, M.digest);
    ck_assert_str_eq(log1, log2);
    free(log1);
    free(log2);
}
END_TEST

START_TEST(model_covers_its_operations)
{
    /* A model that stopped reaching the interesting cases would pass
     * vacuously: the first 100 seeds must reach each of them. */
    memset(&total, 0, sizeof total);
    for (uint64_t s = 1; s <= 100; s++) {
        char *log;
        run_seed(s, &log);
        free(log);
    }
    const struct mstats *t = &total;
    if (verbose)
        fprintf(stderr, "model seeds 1..100: %lu runs, %lu tasks, %lu deadlocks, %lu parks\n",
                t->runs, t->tasks, t->deadlocks, t->parks);
    ck_assert_msg(t->tasks > 500 && t->lock_waits > 100 && t->never_started && t->deadlocks && t->lock_waits &&
                      t->handoffs && t->lock_cancelled && t->gets_parked && t->puts_parked &&
                      t->handed_items && t->taken_in && t->get_cancelled && t->put_cancelled &&
                      t->sleeps && t->timeouts && t->move_ons && t->expired_at_open &&
                      t->cancels && t->joins && t->eperm && t->edeadlk && t->lost_lines,
                  "coverage: tasks %lu never_started %lu deadlocks %lu lock_waits %lu "
                  "handoffs %lu lock_cancelled %lu gets_parked %lu puts_parked %lu handed %lu "
                  "taken_in %lu get_cancelled %lu put_cancelled %lu sleeps %lu timeouts %lu "
                  "move_ons %lu expired_at_open %lu cancels %lu joins %lu eperm %lu "
                  "edeadlk %lu lost %lu",
                  t->tasks, t->never_started, t->deadlocks, t->lock_waits, t->handoffs,
                  t->lock_cancelled, t->gets_parked, t->puts_parked, t->handed_items,
                  t->taken_in, t->get_cancelled, t->put_cancelled, t->sleeps, t->timeouts,
                  t->move_ons, t->expired_at_open, t->cancels, t->joins, t->eperm, t->edeadlk,
                  t->lost_lines);
}
END_TEST

void stage05_add_model(Suite *s)
{
    seed_start = model_env("MODEL_SEED_START", 1, 0);
    seed_count = model_env("MODEL_SEEDS", 5000, 1);
    if (seed_count > UINT64_MAX - seed_start)
        seed_count = UINT64_MAX - seed_start;
    const char *v = getenv("MODEL_VERBOSE");
    verbose = v && *v && strcmp(v, "0") != 0;
    uint64_t blocks = (seed_count + BLOCK - 1) / BLOCK;
    TCase *tc = s5_case(s, "model");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, model_seed_block, 0, blocks > INT32_MAX ? INT32_MAX : (int)blocks);
    tcase_add_test(tc, model_is_deterministic);
    tcase_add_test(tc, model_covers_its_operations);
}
