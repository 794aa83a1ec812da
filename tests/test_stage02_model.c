/*
 * test_stage02_model.c - a model-based fuzz of the scheduler.
 *
 * THE PROGRAMS.  A seed drives one loop_run.  Every task, main included,
 * runs one interpreter coroutine (mtask) whose frame holds its own PRNG and
 * counters, and which performs a random sequence of at most MAX_STEPS
 * operations, then returns a value (or raises -EIO), then joins the group it
 * opened, if any, in CO_FINALLY.  The operations:
 *     yield      AWAIT(task_yield())
 *     spawn      a child that runs the interpreter too (at most MAX_TASKS
 *                tasks per run, at most MAX_DEPTH deep); its handle is ours
 *     join       AWAIT(task_join()) of a handle we own
 *     cancel     task_cancel() of any task of the run not yet freed (self
 *                and main included): looked up by id on the loop's `all`
 *     detach     task_detach() of a handle we own
 *     give       hand a handle we own to another task (so tasks can join
 *                each other, their parents, or themselves: deadlocks)
 *     gather     group_gather() of 1..3 handles we own
 *     group      open the task group in our frame (sometimes keeping
 *                results), spawn children into it; joined in CO_FINALLY
 *     gcancel    group_cancel() of our open group
 *     scope      AWAIT_CO a sub-coroutine (mscope) with a group of its own:
 *                children, a few operations, group_join in its CO_FINALLY
 *                (so groups nest)
 *     raise      CO_RAISE(-EIO)          return   end the body early
 * Each awaited error is caught (AWAIT_CATCH) and then either raised on or,
 * with some probability, swallowed: a task may catch its cancellation and
 * go on.  Operations run through AWAIT_CO of a one-operation coroutine
 * (mop), so the task body and the scope body share them.
 *
 * THE MODEL.  A registry (M.e) has one entry per task: its handle's fate
 * (owned by whom, joining, joined, detached, gathering, gathered, in a
 * group), whether it started, entered and left CO_FINALLY (each must happen
 * at most once), how it ended, its cancellations, and the cancellations it
 * must still see ("obligations").  The interpreter only touches handles the
 * model says are valid; a task the model cannot see finish (cancelled
 * before its first step) is found, or not, on the loop's `all` list.
 *
 * THE INVARIANTS.  Checked at every resume of every task (from inside,
 * since the loop has no hook): the ready list is well formed, its length is
 * nready, each entry is READY and appears once; every READY task of `all`
 * is on it; every PARKED task has a wait; exactly one task is RUNNING and it
 * is loop->current, running this frame; nlive counts the unfinished tasks
 * of `all`; a finished task is on no queue; the registry agrees (an owned
 * handle is never freed, a joined, gathered, detached or grouped one is
 * freed once finished; a finished task recorded its end).
 * Checked at each operation's end: a join's, gather's and group join's
 * result against how the tasks ended (and whether the joiner was cancelled
 * meanwhile), gather and group results in their slots, every child gone
 * after its group's join.  And cancellation: a task cancelled by
 * task_cancel, by its group's first failure, or by its group cancelling its
 * children (group_cancel, an error in flight at group_join, a cancelled
 * joining owner) must see it: the await it is in, or if that one already
 * had its result the next one that checks for cancellation, returns an
 * error (-ECANCELED, or a group join's or gather's own error), never success.
 * Checked after loop_run: the return code is main's outcome or -EDEADLK
 * (exactly when the log says "deadlock"); every started task ran CO_FINALLY
 * exactly once (unless the loop gave up on a deadlock); every task that
 * never started was cancelled; every log line is of a known kind, and the
 * "nobody retrieved it" and "in a task group whose owner" lines are exactly
 * the ones the model predicts (where a gather, or a group keeping results,
 * makes a cancelled child count as failed, the model allows but does not
 * require them).  Under SAN=1 (and so in make fuzz-model) LeakSanitizer is
 * asked after every block of seeds whether anything is still allocated
 * (model_run_seeds); use-after-free is left to SAN=1 and valgrind.
 *
 * NOT COVERED: the order tasks run in (FIFO, fairness: test_stage02_loop.c
 * checks those), values a task is woken with other than join and gather
 * results, the trace and slow-step reports, and whether a deadlock the
 * loop gave up on was a real one.  Where the model cannot know when a
 * group cancels its children (a group keeping results, a gather, and the
 * groups below them) it expects nothing; after a deadlock, whose breaker
 * cancels behind the model's back, it excuses what it cannot account for.
 *
 * SEEDS.  `make test` runs seeds 1..2000 in blocks of 250 (a block fails
 * naming its first failing seed and listing the others).  More, or one:
 *     MODEL_SEEDS=20000 make stage2 test SAN=1
 *     MODEL_SEED_START=12345 MODEL_SEEDS=1 MODEL_VERBOSE=1 make stage2 test
 * MODEL_VERBOSE=1 with one seed prints that run's operation trace and the
 * loop's log to stderr.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stage02_util.h"

enum {
    MAX_TASKS = 40,  /* tasks per run, main included */
    MAX_DEPTH = 4,   /* spawning depth */
    MAX_STEPS = 12,  /* operations per task body */
    MAX_GATHER = 3,  /* handles per gather */
    MAX_GROUPS = 64, /* groups per run (groups, scopes, gathers) */
    TOP_RESULTS = 4, /* result slots of a task's own group, when kept */
    BLOCK = 250,     /* seeds per check test */
};

#define UNSET ((intptr_t)-1) /* an empty result slot; tasks return > 0 */

/* ===== the model ========================================================== */

enum handle {
    H_MAIN,      /* main: nobody holds its handle */
    H_OWNED,     /* held by task `owner` */
    H_JOINING,   /* its owner is joining it */
    H_JOINED,    /* a join consumed it */
    H_DETACHED,
    H_GATHERING, /* its owner is gathering it */
    H_GATHERED,
    H_GROUP,     /* spawned into a group */
};

enum gkind { G_PLAIN, G_RESULTS, G_GATHER, G_UNUSED };

/* A cancellation the task must still see: at the await it is in when it
 * is cancelled (DUE_NOW), or at the next one that checks (DUE_NEXT). */
enum due { DUE_NONE, DUE_NOW, DUE_NEXT };
struct obligation {
    int due;
    unsigned at; /* the task's await count when it was cancelled */
    int grp;     /* the group whose failure cancelled it, -1 for task_cancel */
    int soft;    /* its group cancelled it: the deadlock breaker may have done
                    so before, behind the model's back */
};

struct mentry {
    task_t *t;
    uint32_t id;
    int parent;        /* the registry index of the task that spawned it */
    int handle, owner; /* enum handle; the registry index holding it */
    int grp, slot;     /* its model group and slot there, or -1 */
    int started, fin_enter, fin_done;
    int fin_seq;       /* when its group learnt it finished (gather: when it
                          was adopted, if it had finished before) */
    int err;           /* how it ended (as recorded at the end of CO_FINALLY) */
    intptr_t val;
    unsigned cancels;  /* task_cancel calls made while it was unfinished */
    unsigned late;     /* ... of which came once its current await had its
                          result (they wait for the next one) */
    unsigned awaits;   /* awaits begun */
    int await_parks;   /* the current await checks for cancellation */
    int await_group;   /* ... and is a group join or a gather */
    int await_body;    /* ... with this error in flight */
    int joining;       /* the group it is joining now, or -1 */
    struct obligation ext, in;
};

struct mgroup {
    int kind, owner, nspawned;
    int joined, jerr;
    int cancelled;     /* it may have cancelled its children */
    unsigned cancels0; /* the owner's cancels when the group began */
    intptr_t *results;
};

struct mstats {
    unsigned long runs, tasks, never_started, deadlocks, gave_up, joins, joins_cut,
        self_joins, gathers, gathers_failed, group_fails, lost_lines, group_lines,
        swallowed, gives, detaches, cancels, scopes;
};

static struct {
    uint64_t seed;
    struct mentry e[MAX_TASKS];
    int n;
    struct mgroup g[MAX_GROUPS];
    int ng;
    int seq;               /* finish order */
    unsigned long steps;   /* task resumes */
    char hard[512];        /* the first violation */
    char soft[512];        /* the first one a deadlock would excuse */
    struct mstats st;
    char trace[16384];     /* the operations, for MODEL_VERBOSE */
    size_t tlen;
    uint64_t digest;       /* of the whole trace, for the determinism test */
} M;

static struct mstats total; /* summed over the runs of one test */

static void vnote(char *buf, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void vnote(char *buf, size_t size, const char *fmt, va_list ap)
{
    if (buf[0])
        return; /* the first violation is the one worth reading */
    int n = snprintf(buf, size, "[resume %lu] ", M.steps);
    vsnprintf(buf + n, size - (size_t)n, fmt, ap);
}

static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vnote(M.hard, sizeof M.hard, fmt, ap);
    va_end(ap);
}

/* A violation unless the run deadlocked: the deadlock breaker cancels
 * tasks behind the model's back. */
static void bad_unless_deadlock(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bad_unless_deadlock(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vnote(M.soft, sizeof M.soft, fmt, ap);
    va_end(ap);
}

static void tr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void tr(const char *fmt, ...)
{
    char buf[128];
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

static int real_error(int err) { return err && err != -ECANCELED; }

/* ===== the frames ========================================================= */

enum op {
    OP_YIELD, OP_SPAWN, OP_JOIN, OP_CANCEL, OP_DETACH, OP_GIVE, OP_GATHER,
    OP_GROUP, OP_GCANCEL, OP_SCOPE, OP_RAISE, OP_RETURN, OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
    "yield", "spawn", "join", "cancel", "detach", "give", "gather",
    "group", "gcancel", "scope", "raise", "return"};

static const unsigned char top_weights[OP_COUNT] = {
    [OP_YIELD] = 18, [OP_SPAWN] = 16, [OP_JOIN] = 14, [OP_CANCEL] = 5,
    [OP_DETACH] = 3, [OP_GIVE] = 4, [OP_GATHER] = 6, [OP_GROUP] = 6,
    [OP_GCANCEL] = 1, [OP_SCOPE] = 4, [OP_RAISE] = 2, [OP_RETURN] = 2};

static const unsigned char scope_weights[OP_COUNT] = {
    [OP_YIELD] = 10, [OP_SPAWN] = 3, [OP_JOIN] = 6, [OP_CANCEL] = 3,
    [OP_DETACH] = 1, [OP_GIVE] = 1, [OP_GATHER] = 3, [OP_GROUP] = 6,
    [OP_GCANCEL] = 1, [OP_RAISE] = 2, [OP_RETURN] = 2};

struct mtask;

/* One operation, awaited with AWAIT_CO from a task body or a scope. */
struct mop {
    co_t co;
    struct mtask *t;
    int op, err, target;
    group_t *g;    /* the group a "group" operation spawns into, if any */
    int gno;       /* ... its model group */
    unsigned cancels0;
    group_t gg;    /* gather */
    int ggno, gn, self;
    task_t *gt[MAX_GATHER];
    int gk[MAX_GATHER];
    intptr_t gres[MAX_GATHER];
};

/* A sub-coroutine with a group of its own: children, a few operations,
 * group_join in CO_FINALLY. */
struct mscope {
    co_t co;
    struct mtask *t;
    group_t g;
    int gno, n, i, kind, err, jerr;
    struct mop op;
};

/* The interpreter every task runs. */
struct mtask {
    co_t co;
    uint64_t rng;
    int idx, depth;   /* set by the spawner */
    int nsteps, step, kind, err, drain, ending, g_open, gno;
    intptr_t retval;
    group_t g;        /* the task's own group */
    intptr_t gres[TOP_RESULTS];
    struct mop op;
    struct mscope scope;
};

static int mtask_fn(co_t *co);

static struct mentry *ent(const struct mtask *t) { return &M.e[t->idx]; }

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

static int frame_idx(const task_t *t) { return ((const struct mtask *)(const void *)t->co)->idx; }

/* The ready list: well formed, nready long, READY tasks only, each once.
 * Marks each entry's registry index in on_ready. */
static void check_ready(const struct loop *l, char *on_ready)
{
    size_t n = 0;
    for (struct list *p = l->ready.next; p != &l->ready; p = p->next) {
        const task_t *t = list_entry(p, task_t, link);
        if (p->next->prev != p || ++n > MAX_TASKS) {
            bad("ready list is broken (or longer than the run's tasks)");
            return;
        }
        int k = frame_idx(t);
        if (t->state != TASK_READY)
            bad("m#%u is on the ready list in state %s", (unsigned)t->id,
                task_state_name(t->state));
        if (k < 0 || k >= M.n || on_ready[k]++)
            bad("m#%u is on the ready list twice (or is unknown)", (unsigned)t->id);
    }
    if (n != l->nready)
        bad("nready is %zu but the ready list holds %zu", l->nready, n);
}

/* One task of `all` against the loop and against the registry. */
static void check_one(const struct loop *l, const task_t *t, const char *on_ready)
{
    int k = frame_idx(t);
    const struct mentry *e = &M.e[k];
    if (t->state == TASK_RUNNING && t != l->current)
        bad("m#%u is RUNNING but is not loop->current", (unsigned)t->id);
    if (t->state == TASK_READY && !on_ready[k])
        bad("m#%u is READY but not on the ready list", (unsigned)t->id);
    if (t->state == TASK_PARKED && !t->wait)
        bad("m#%u is PARKED on nothing", (unsigned)t->id);
    if (t->state > TASK_CANCELLED)
        bad("m#%u has state %d", (unsigned)t->id, t->state);
    if (t->state >= TASK_DONE && t->link.next != &t->link)
        bad("m#%u finished but is still on a queue", (unsigned)t->id);
    if (t->state >= TASK_DONE && e->started && !e->fin_done)
        bad("m#%u finished without leaving its CO_FINALLY", (unsigned)t->id);
    if (t->state < TASK_DONE && e->fin_done && t != l->current)
        bad("m#%u left CO_FINALLY but is %s", (unsigned)t->id, task_state_name(t->state));
    if (t->state >= TASK_DONE && (e->handle == H_DETACHED || e->handle == H_GROUP))
        bad("m#%u finished, detached or in a group, yet was not freed", (unsigned)t->id);
    if (!e->started && t != l->current && t->state < TASK_DONE && t->co->state != CO_CREATED)
        bad("m#%u ran without starting its body", (unsigned)t->id);
}

/* The registry against what `all` holds (present[k]: entry k is there). */
static void check_registry(const char *present)
{
    for (int k = 0; k < M.n; k++) {
        const struct mentry *e = &M.e[k];
        int must = e->handle == H_MAIN || e->handle == H_OWNED;
        int gone = e->handle == H_JOINED || e->handle == H_GATHERED;
        if (must && !present[k])
            bad("m#%u was freed while its handle was still held", (unsigned)e->id);
        if (gone && present[k])
            bad("m#%u was joined or gathered, yet was not freed", (unsigned)e->id);
    }
}

/* The invariants, at the start of every step of every task. */
static void check_loop(const struct mtask *f)
{
    struct loop *l = loop_current();
    M.steps++;
    if (M.hard[0])
        return;
    if (!l || !l->current || l->current->co != &f->co || l->current->state != TASK_RUNNING) {
        bad("the task resumed is not loop->current, RUNNING");
        return;
    }
    char on_ready[MAX_TASKS] = {0}, present[MAX_TASKS] = {0};
    check_ready(l, on_ready);
    size_t n = 0, live = 0, running = 0;
    for (struct list *p = l->all.next; p != &l->all; p = p->next) {
        const task_t *t = list_entry(p, task_t, all);
        int k = frame_idx(t);
        if (p->next->prev != p || ++n > MAX_TASKS || k < 0 || k >= M.n || present[k]++) {
            bad("the list of all tasks is broken");
            return;
        }
        live += t->state < TASK_DONE;
        running += t->state == TASK_RUNNING;
        check_one(l, t, on_ready);
    }
    if (live != l->nlive)
        bad("nlive is %zu but %zu tasks are unfinished", l->nlive, live);
    if (running != 1)
        bad("%zu tasks are RUNNING", running);
    for (int k = 0; k < M.n; k++)
        if (on_ready[k] && !present[k])
            bad("m#%u is on the ready list but not on the list of all tasks",
                (unsigned)M.e[k].id);
    check_registry(present);
}

/* ===== cancellations the model expects to see delivered =================== */

static void cancel_children(int gno);

/* Task k was just cancelled: by task_cancel (grp = -1), or by the first
 * failure of its group grp.  Record when it must see an error. */
static void owe_cancel(int k, int grp, int soft)
{
    struct mentry *e = &M.e[k];
    task_t *t = find_task(e->id);
    if (!t) {
        bad("m#%u: cancelled, but it was already freed", (unsigned)e->id);
        return;
    }
    if (t->state >= TASK_DONE || t->co->state == CO_CREATED)
        return; /* finished, or never starts: nothing to see */
    if (grp >= 0 && e->joining == grp)
        return; /* joining that very group: the group handles it */
    if (t->state == TASK_PARKED && e->joining >= 0)
        cancel_children(e->joining); /* an owner cancelled in group_join */
    struct obligation *o = grp >= 0 ? &e->in : &e->ext;
    if (o->due)
        return; /* the earlier one is stricter */
    int now = t->state == TASK_PARKED ||
              (t->state == TASK_READY && !(t->flags & TASK_F_WOKEN)) ||
              (t->flags & TASK_F_CANCELLING);
    *o = (struct obligation){now ? DUE_NOW : DUE_NEXT, e->awaits, grp, soft};
    tr("m#%u owes a cancel, %s (group %d%s)", (unsigned)e->id, now ? "now" : "next", grp,
       soft ? ", its group's" : "");
}

/* Task k owns a group keeping results: such a group's first failure may
 * be a child cancelled from outside, which the model cannot order, so it
 * cannot tell when that group cancels k. */
static int owns_results(int k)
{
    for (int gno = 0; gno < M.ng; gno++)
        if (M.g[gno].owner == k && M.g[gno].kind == G_RESULTS)
            return 1;
    return 0;
}

/* Does the model see every cancel of group gno's children?  Not if it, or
 * a group above it, keeps results or gathers (see owns_results), or if the
 * owner of one of them owns such a group: a cancel of an owner parked in
 * group_join cancels that group's children. */
static int group_precise(int gno)
{
    for (int n = 0; gno >= 0 && n < MAX_GROUPS; n++) {
        if (M.g[gno].kind != G_PLAIN || owns_results(M.g[gno].owner))
            return 0;
        gno = M.e[M.g[gno].owner].grp;
    }
    return 1;
}

/* Group gno cancels its running children (group_cancel): each must see
 * it.  Only the first time counts: after that the group does nothing. */
static void cancel_children(int gno)
{
    struct mgroup *g = &M.g[gno];
    if (g->cancelled)
        return;
    g->cancelled = 1;
    tr("group %d cancels its children%s", gno, group_precise(gno) ? "" : " (not followed)");
    if (!group_precise(gno))
        return;
    for (int k = 0; k < M.n; k++) {
        struct mentry *x = &M.e[k];
        task_t *t = x->grp == gno ? find_task(x->id) : NULL;
        if (!t || t->state >= TASK_DONE)
            continue;
        x->cancels++; /* as task_cancel counts them */
        x->late += t->state == TASK_READY && (t->flags & TASK_F_WOKEN);
        owe_cancel(k, -1, 1);
    }
}

static int cancel_pending(const struct mentry *e)
{
    return e->ext.due == DUE_NEXT || e->in.due == DUE_NEXT;
}

static void await_begin(struct mtask *t, int parks, int group, int body, int joining)
{
    struct mentry *e = ent(t);
    e->awaits++;
    e->late = 0;
    e->await_parks = parks;
    e->await_group = group;
    e->await_body = body;
    e->joining = joining;
}

/* Returns 1 if the obligation was due during this await. */
static int settle(struct mentry *e, struct obligation *o, int err)
{
    if (!o->due)
        return 0;
    int applies = e->awaits == o->at ? o->due == DUE_NOW : e->await_parks;
    if (o->grp >= 0 && o->grp == e->joining)
        applies = 0, o->due = DUE_NONE; /* its own group raises its error */
    if (!applies)
        return 1;
    int seen = err == -ECANCELED ||
               (e->await_group && (err != 0 || real_error(e->await_body)));
    if (!seen && o->soft)
        bad_unless_deadlock("m#%u: its group cancelled it, yet its next await (#%u, %s) "
                            "returned %d", (unsigned)e->id, e->awaits,
                            e->await_group ? "a group join or gather" : "a yield or join", err);
    else if (!seen) {
        if (o->grp >= 0)
            bad("m#%u: its group %d's first failure cancelled it, yet its next await "
                "(#%u, %s) returned %d", (unsigned)e->id, o->grp, e->awaits,
                e->await_group ? "a group join or gather" : "a yield or join", err);
        else
            bad("m#%u: cancelled by task_cancel, yet its next await (#%u, %s) returned %d",
                (unsigned)e->id, e->awaits,
                e->await_group ? "a group join or gather" : "a yield or join", err);
    }
    o->due = DUE_NONE;
    return 1;
}

static int await_end(struct mtask *t, int err)
{
    struct mentry *e = ent(t);
    int had = settle(e, &e->ext, err);
    had |= settle(e, &e->in, err);
    e->joining = -1;
    return had;
}

/* An awaited error: raised on, or (sometimes) swallowed by the body. */
static int pass_on(struct mtask *t, int err)
{
    if (err == -ECANCELED && model_below(&t->rng, 3) == 0)
        err = 0, M.st.swallowed++;
    else if (err == -EIO && model_below(&t->rng, 2) == 0)
        err = 0;
    return err;
}

/* ===== spawning and handles =============================================== */

static int can_spawn(const struct mtask *t) { return M.n < MAX_TASKS && t->depth < MAX_DEPTH; }

static int new_group(int kind, int owner)
{
    if (M.ng >= MAX_GROUPS)
        return -1;
    M.g[M.ng] = (struct mgroup){.kind = kind, .owner = owner, .cancels0 = M.e[owner].cancels};
    return M.ng++;
}

/* Spawn a child running the interpreter, into g (model group gno) or as a
 * handle t owns.  Returns its registry index, or -1. */
static int spawn_child(struct mtask *t, group_t *g, int gno)
{
    if (!can_spawn(t))
        return -1;
    struct mtask c;
    memset(&c, 0, sizeof c);
    c.idx = M.n;
    c.depth = t->depth + 1;
    c.rng = model_seed(model_next(&t->rng));
    task_t *h = g ? group_spawn(g, mtask_fn, &c, sizeof c, "m")
                  : task_spawn(mtask_fn, &c, sizeof c, "m");
    if (!h) {
        bad("m#%u: spawn failed (errno %d)", (unsigned)ent(t)->id, errno);
        return -1;
    }
    M.e[M.n] = (struct mentry){.t = h, .id = h->id, .parent = t->idx,
                               .handle = g ? H_GROUP : H_OWNED,
                               .owner = g ? -1 : t->idx, .grp = g ? gno : -1,
                               .slot = g ? M.g[gno].nspawned++ : -1, .joining = -1};
    M.st.tasks++;
    if (g)
        tr("m#%u spawn m#%u in group %d", (unsigned)ent(t)->id, (unsigned)h->id, gno);
    else
        tr("m#%u spawn m#%u", (unsigned)ent(t)->id, (unsigned)h->id);
    return M.n++;
}

static int owned_count(const struct mtask *t)
{
    int n = 0;
    for (int k = 0; k < M.n; k++)
        n += M.e[k].handle == H_OWNED && M.e[k].owner == t->idx;
    return n;
}

/* A random handle t owns, not one of `skip`; -1 if none. */
static int pick_owned(struct mtask *t, const int *skip, int nskip)
{
    int cand[MAX_TASKS], n = 0;
    for (int k = 0; k < M.n; k++) {
        int taken = 0;
        for (int j = 0; j < nskip; j++)
            taken |= skip[j] == k;
        if (M.e[k].handle == H_OWNED && M.e[k].owner == t->idx && !taken)
            cand[n++] = k;
    }
    return n ? cand[model_below(&t->rng, (unsigned)n)] : -1;
}

/* ===== the operations that do not await =================================== */

static void op_cancel(struct mtask *t)
{
    int k = (int)model_below(&t->rng, (unsigned)M.n);
    task_t *x = find_task(M.e[k].id);
    tr("m#%u cancel m#%u%s", (unsigned)ent(t)->id, (unsigned)M.e[k].id, x ? "" : " (freed)");
    if (!x)
        return;
    int live = x->state < TASK_DONE;
    int late = x->state == TASK_READY && (x->flags & TASK_F_WOKEN);
    if (task_cancel(x) != 0)
        bad("task_cancel(m#%u) failed", (unsigned)M.e[k].id);
    M.e[k].cancels += live; /* as task_cancel counts them */
    M.e[k].late += live && late;
    M.st.cancels++;
    owe_cancel(k, -1, 0);
}

static void op_detach(struct mtask *t)
{
    int k = pick_owned(t, NULL, 0);
    tr("m#%u detach m#%u", (unsigned)ent(t)->id, (unsigned)M.e[k].id);
    task_detach(M.e[k].t);
    M.e[k].handle = H_DETACHED;
    M.st.detaches++;
}

/* A task spawned by task k, not past its body; -1 if none. */
static int pick_child_of(struct mtask *t, int k)
{
    int cand[MAX_TASKS], n = 0;
    for (int j = 1; j < M.n; j++)
        if (M.e[j].parent == k && !M.e[j].fin_enter)
            cand[n++] = j;
    return n ? cand[model_below(&t->rng, (unsigned)n)] : -1;
}

/* Half the time to a child of the task whose handle it is: if each joins
 * the other, that is a deadlock. */
static void op_give(struct mtask *t)
{
    int k = pick_owned(t, NULL, 0);
    int to = model_below(&t->rng, 2) ? pick_child_of(t, k) : -1;
    if (to < 0)
        to = (int)model_below(&t->rng, (unsigned)M.n);
    if (to == t->idx || M.e[to].fin_enter)
        return; /* to itself, or to a task past its body: nothing */
    tr("m#%u give m#%u to m#%u", (unsigned)ent(t)->id, (unsigned)M.e[k].id,
       (unsigned)M.e[to].id);
    M.e[k].owner = to;
    M.st.gives++;
}

static void op_gcancel(struct mop *f)
{
    tr("m#%u group_cancel group %d", (unsigned)ent(f->t)->id, f->gno);
    cancel_children(f->gno);
    group_cancel(f->g);
}

/* The operation actually possible: anything impossible becomes a yield. */
static int op_possible(const struct mop *f)
{
    int op = f->op, owned = owned_count(f->t) > 0;
    if (op == OP_SPAWN && !can_spawn(f->t))
        return OP_YIELD;
    if ((op == OP_JOIN || op == OP_DETACH || op == OP_GIVE || op == OP_GATHER) && !owned)
        return OP_YIELD;
    if (op == OP_GROUP && (!f->g || !can_spawn(f->t)))
        return OP_YIELD;
    if (op == OP_GCANCEL && !f->g)
        return OP_YIELD;
    if (op == OP_GATHER && M.ng >= MAX_GROUPS)
        return OP_YIELD;
    if (op == OP_SCOPE || op == OP_RAISE || op == OP_RETURN)
        return OP_YIELD;
    return op;
}

static void op_sync(struct mop *f)
{
    if (f->op == OP_SPAWN)
        spawn_child(f->t, NULL, -1);
    else if (f->op == OP_GROUP)
        spawn_child(f->t, f->g, f->gno);
    else if (f->op == OP_CANCEL)
        op_cancel(f->t);
    else if (f->op == OP_DETACH)
        op_detach(f->t);
    else if (f->op == OP_GIVE)
        op_give(f->t);
    else if (f->op == OP_GCANCEL)
        op_gcancel(f);
}

/* ===== the awaited operations: before and after =========================== */

/* Another group of task k, still open, has a child that failed or was
 * cancelled: its first failure may have cancelled k (the model tracks
 * that only for plain groups, whose failures it can order). */
static int other_group_failing(int k, int gno)
{
    for (int j = 0; j < M.n; j++) {
        const struct mentry *x = &M.e[j];
        if (x->grp >= 0 && x->grp != gno && M.g[x->grp].owner == k && !M.g[x->grp].joined &&
            (!x->started || (x->fin_done && x->err)))
            return 1;
    }
    return 0;
}

static int yield_done(struct mop *f)
{
    tr("m#%u yielded: %d", (unsigned)ent(f->t)->id, f->err);
    await_end(f->t, f->err);
    if (f->err && f->err != -ECANCELED)
        bad("m#%u: task_yield returned %d", (unsigned)ent(f->t)->id, f->err);
    return pass_on(f->t, f->err);
}

static void join_begin(struct mop *f)
{
    struct mentry *x = &M.e[f->target];
    int self = x->t == ent(f->t)->t;
    x->handle = H_JOINING;
    /* joining a finished task (or itself) returns at once, checking nothing */
    await_begin(f->t, !self && x->t->state < TASK_DONE, 0, 0, -1);
    M.st.joins++;
}

static int join_done(struct mop *f, intptr_t v)
{
    struct mentry *x = &M.e[f->target];
    unsigned me = (unsigned)ent(f->t)->id, id = (unsigned)x->id;
    int err = f->err;
    await_end(f->t, err);
    tr("m#%u join m#%u: %d %ld", me, id, err, (long)v);
    if (x->t == ent(f->t)->t) { /* its own handle, given to it */
        if (err != -EDEADLK)
            bad("m#%u joined itself: %d, not -EDEADLK", me, err);
        x->handle = H_OWNED;
        M.st.self_joins++;
        return 0;
    }
    if (find_task(x->id)) { /* not consumed: the joiner was cancelled */
        if (err != -ECANCELED)
            bad("m#%u: join of m#%u returned %d but did not consume it", me, id, err);
        x->handle = H_OWNED;
        M.st.joins_cut++;
    } else {
        x->handle = H_JOINED;
        if (!x->started && err != -ECANCELED)
            bad("m#%u: join of m#%u (never started) returned %d", me, id, err);
        else if (x->started && !x->fin_done)
            bad("m#%u: join of m#%u consumed it before it finished", me, id);
        else if (x->started && (err != x->err || (!err && v != x->val)))
            bad("m#%u: join of m#%u gave %d/%ld, but it ended with %d/%ld", me, id, err,
                (long)v, x->err, (long)x->val);
    }
    return pass_on(f->t, err);
}

static void gather_begin(struct mop *f)
{
    struct mentry *me = ent(f->t);
    f->gn = 1 + (int)model_below(&f->t->rng, MAX_GATHER);
    int n = 0;
    for (int i = 0; i < f->gn; i++) {
        int k = pick_owned(f->t, f->gk, n);
        if (k < 0)
            break;
        f->gk[n] = k;
        f->gt[n] = M.e[k].t;
        f->gres[n] = UNSET;
        f->self |= M.e[k].t == me->t;
        M.e[k].handle = H_GATHERING;
        n++;
    }
    f->gn = n;
    f->ggno = new_group(G_GATHER, f->t->idx);
    for (int i = 0; i < n && !f->self; i++) {
        struct mentry *x = &M.e[f->gk[i]];
        x->grp = f->ggno;
        if (x->fin_done) /* group_gather reports those in this order */
            x->fin_seq = ++M.seq;
    }
    f->cancels0 = me->cancels;
    await_begin(f->t, !f->self, 1, 0, f->ggno);
    M.st.gathers++;
}

/* Each gathered task: freed, its slot filled exactly when it succeeded. */
static void gather_check_child(struct mop *f, int i, int *any_eio, int *all_ok)
{
    struct mentry *x = &M.e[f->gk[i]];
    x->handle = H_GATHERED;
    x->slot = i;
    intptr_t want = x->started && x->err == 0 ? x->val : UNSET;
    if (find_task(x->id))
        bad("m#%u was gathered, yet is still there after the gather", (unsigned)x->id);
    else if (x->started && !x->fin_done)
        bad("m#%u was freed before it finished", (unsigned)x->id);
    if (f->gres[i] != want)
        bad("gather slot %d (m#%u) holds %ld, want %ld", i, (unsigned)x->id,
            (long)f->gres[i], (long)want);
    *any_eio |= x->started && x->err == -EIO;
    *all_ok &= x->started && x->err == 0;
}

static int gather_done(struct mop *f)
{
    unsigned me = (unsigned)ent(f->t)->id;
    int err = f->err, any_eio = 0, all_ok = 1;
    int had = await_end(f->t, err);
    tr("m#%u gather of %d (m#%u...): %d", me, f->gn, (unsigned)M.e[f->gk[0]].id, err);
    if (f->self) { /* it named itself: refused, nothing adopted */
        if (err != -EDEADLK)
            bad("m#%u gathered itself: %d, not -EDEADLK", me, err);
        for (int i = 0; i < f->gn; i++)
            M.e[f->gk[i]].handle = H_OWNED;
        M.g[f->ggno].kind = G_UNUSED;
        return 0;
    }
    M.g[f->ggno].joined = 1;
    M.g[f->ggno].jerr = err;
    for (int i = 0; i < f->gn; i++)
        gather_check_child(f, i, &any_eio, &all_ok);
    if (err == 0 && !all_ok)
        bad("m#%u: gather returned 0, but not every gathered task succeeded", me);
    else if (err == -EIO && !any_eio)
        bad("m#%u: gather raised -EIO, which no gathered task raised", me);
    else if (err && err != -EIO && err != -ECANCELED)
        bad("m#%u: gather returned %d", me, err);
    else if (err == -ECANCELED && all_ok && !had && ent(f->t)->cancels == f->cancels0 &&
             ent(f->t)->grp < 0 && !other_group_failing(f->t->idx, f->ggno))
        bad_unless_deadlock("m#%u: gather of tasks that all succeeded was cancelled", me);
    M.st.gathers_failed += err != 0;
    return pass_on(f->t, err);
}

/* ===== the operation coroutine ============================================ */

static void mop_prepare(struct mop *f, struct mtask *t, int op, group_t *g, int gno)
{
    memset(f, 0, sizeof *f);
    f->t = t;
    f->op = op;
    f->g = g;
    f->gno = gno;
}

static int mop_fn(co_t *co)
{
    struct mop *f = (struct mop *)co;
    CO_BEGIN(co);
    f->op = op_possible(f);
    tr("m#%u %s", (unsigned)ent(f->t)->id, op_names[f->op]);
    if (f->op == OP_YIELD) {
        await_begin(f->t, 1, 0, 0, -1);
        AWAIT_CATCH(task_yield(), f->err);
        f->err = yield_done(f);
    } else if (f->op == OP_JOIN) {
        f->target = pick_owned(f->t, NULL, 0);
        join_begin(f);
        AWAIT_CATCH(task_join(M.e[f->target].t), f->err);
        f->err = join_done(f, CO_VALUE);
    } else if (f->op == OP_GATHER) {
        gather_begin(f);
        AWAIT_CATCH(group_gather(&f->gg, f->gt, (size_t)f->gn, f->gres), f->err);
        f->err = gather_done(f);
    } else {
        op_sync(f);
    }
    if (f->err)
        CO_RAISE(f->err);
    CO_END;
}

/* ===== groups: the end of one ============================================= */

/* The child of group gno that failed first with a real error, or -1. */
static int first_failure(int gno)
{
    int first = -1;
    for (int k = 0; k < M.n; k++)
        if (M.e[k].grp == gno && M.e[k].fin_done && real_error(M.e[k].err) &&
            (first < 0 || M.e[k].fin_seq < M.e[first].fin_seq))
            first = k;
    return first;
}

/* Every child gone, every kept result in its slot. */
static void check_children(int gno)
{
    const struct mgroup *g = &M.g[gno];
    for (int k = 0; k < M.n; k++) {
        const struct mentry *x = &M.e[k];
        if (x->grp != gno)
            continue;
        if (find_task(x->id))
            bad("group %d was joined, yet its child m#%u is still there", gno,
                (unsigned)x->id);
        else if (x->started && !x->fin_done)
            bad("m#%u was freed before it finished", (unsigned)x->id);
        if (g->results && x->slot < TOP_RESULTS) {
            intptr_t want = x->started && x->err == 0 ? x->val : UNSET;
            if (g->results[x->slot] != want)
                bad("group %d slot %d (m#%u) holds %ld, want %ld", gno, x->slot,
                    (unsigned)x->id, (long)g->results[x->slot], (long)want);
        }
    }
}

static void group_join_begin(struct mtask *t, int gno, int body)
{
    /* an error in flight, or a cancel waiting for the owner, cancels the
     * children first thing */
    tr("m#%u joining group %d (body %d)", (unsigned)ent(t)->id, gno, body);
    if (body || cancel_pending(ent(t)))
        cancel_children(gno);
    await_begin(t, 1, 1, body, gno);
}

/* After group_join(g, body) gave jerr.  Returns 1 if jerr replaces the
 * error in flight (as AWAIT would raise it). */
static int group_join_done(struct mtask *t, int gno, int body, int jerr)
{
    struct mgroup *g = &M.g[gno];
    const struct mentry *me = ent(t);
    int had = await_end(t, jerr);
    int first = first_failure(gno);
    int want = real_error(body) ? 0 : first >= 0 ? M.e[first].err : 0;
    int cancelled = me->cancels - me->late != g->cancels0; /* before the group ended */
    g->joined = 1;
    g->jerr = jerr;
    tr("m#%u joined group %d (body %d): %d", (unsigned)me->id, gno, body, jerr);
    check_children(gno);
    /* Soft: when the deadlock breaker cancelled a joining owner, its group
     * cancelled its children behind the model's back, and a group cancels
     * them once; the model then counts a later group_cancel (seed 215928)
     * that never reached the children. */
    if (cancelled && jerr != -ECANCELED)
        bad_unless_deadlock("m#%u was cancelled while its group %d ran, yet group_join "
                            "returned %d", (unsigned)me->id, gno, jerr);
    else if (jerr != -ECANCELED && jerr != want)
        bad("m#%u: group %d's join returned %d, want %d (body %d)", (unsigned)me->id,
            gno, jerr, want, body);
    else if (jerr == -ECANCELED && g->kind == G_PLAIN && !had && me->cancels == g->cancels0 &&
             me->grp < 0 && !other_group_failing(t->idx, gno))
        bad_unless_deadlock("m#%u: group %d's join returned -ECANCELED, but nothing "
                            "cancelled it", (unsigned)me->id, gno);
    return jerr != 0;
}

/* ===== the scope coroutine ================================================ */

static void scope_open(struct mscope *f)
{
    group_init(&f->g);
    f->gno = new_group(G_PLAIN, f->t->idx);
    int kids = 1 + (int)model_below(&f->t->rng, 3);
    for (int i = 0; i < kids; i++)
        spawn_child(f->t, &f->g, f->gno);
    f->n = (int)model_below(&f->t->rng, 5);
    M.st.scopes++;
}

static int mscope_fn(co_t *co)
{
    struct mscope *f = (struct mscope *)co;
    CO_BEGIN(co);
    scope_open(f);
    for (f->i = 0; f->i < f->n; f->i++) {
        f->kind = (int)pick(&f->t->rng, scope_weights);
        if (f->kind == OP_RAISE)
            CO_RAISE(-EIO);
        if (f->kind == OP_RETURN)
            break;
        mop_prepare(&f->op, f->t, f->kind, &f->g, f->gno);
        AWAIT_CO_CATCH(&f->op.co, mop_fn, f->err);
        if (f->err)
            CO_RAISE(f->err);
    }
    CO_FINALLY
    group_join_begin(f->t, f->gno, CO_ERROR);
    AWAIT_CATCH(group_join(&f->g, CO_ERROR), f->jerr);
    if (group_join_done(f->t, f->gno, CO_ERROR, f->jerr))
        CO_ERROR = f->jerr;
    CO_END;
}

static int scope_result(struct mtask *t, int err)
{
    if (err && err != -EIO && err != -ECANCELED)
        bad("m#%u: a scope ended with %d", (unsigned)ent(t)->id, err);
    return pass_on(t, err);
}

/* ===== the task =========================================================== */

static void task_started(struct mtask *f)
{
    struct mentry *e = ent(f);
    if (f->idx == 0) { /* main: loop_run spawned it */
        e->t = task_current();
        e->id = e->t->id;
    }
    if (e->started++)
        bad("m#%u started twice", (unsigned)e->id);
    f->nsteps = (int)model_below(&f->rng, MAX_STEPS + 1);
    if (f->idx == 0)
        f->nsteps = 4 + (int)model_below(&f->rng, MAX_STEPS - 3);
    f->drain = model_below(&f->rng, 2) == 0;
    tr("m#%u start: %d steps%s", (unsigned)e->id, f->nsteps, f->drain ? ", drains" : "");
}

/* The "group" operation: open the task's group first if needed. */
static void group_open(struct mtask *f)
{
    if (f->g_open || M.ng >= MAX_GROUPS)
        return;
    int keep = model_below(&f->rng, 3) == 0;
    group_init(&f->g);
    f->gno = new_group(keep ? G_RESULTS : G_PLAIN, f->idx);
    f->g_open = 1;
    if (keep) {
        for (int i = 0; i < TOP_RESULTS; i++)
            f->gres[i] = UNSET;
        group_results(&f->g, f->gres, TOP_RESULTS);
        M.g[f->gno].results = f->gres;
    }
    for (int i = (int)model_below(&f->rng, 3); i > 0; i--)
        spawn_child(f, &f->g, f->gno);
}

static void task_fin_enter(struct mtask *f, int err)
{
    struct mentry *e = ent(f);
    if (e->fin_enter++)
        bad("m#%u entered CO_FINALLY twice", (unsigned)e->id);
    tr("m#%u finally: %d", (unsigned)e->id, err);
}

/* The end, recorded in the task's last step: task__finish follows at once. */
static void task_fin_done(struct mtask *f, int err)
{
    struct mentry *e = ent(f);
    if (e->fin_done++)
        bad("m#%u left CO_FINALLY twice", (unsigned)e->id);
    e->err = err;
    e->val = err ? 0 : f->retval;
    e->fin_seq = ++M.seq;
    tr("m#%u done: %d %ld", (unsigned)e->id, err, (long)e->val);
    if (e->grp < 0 || !real_error(err) || M.g[e->grp].kind != G_PLAIN ||
        first_failure(e->grp) != f->idx)
        return;
    /* The first failure of a plain group: it cancels the others and the owner. */
    M.st.group_fails++;
    cancel_children(e->grp);
    owe_cancel(M.g[e->grp].owner, e->grp, 0);
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
        } else if (f->kind == OP_SCOPE && M.ng < MAX_GROUPS) {
            memset(&f->scope, 0, sizeof f->scope);
            f->scope.t = f;
            AWAIT_CO_CATCH(&f->scope.co, mscope_fn, f->err);
            f->err = scope_result(f, f->err);
        } else {
            if (f->kind == OP_GROUP)
                group_open(f);
            mop_prepare(&f->op, f, f->kind, f->g_open ? &f->g : NULL, f->gno);
            AWAIT_CO_CATCH(&f->op.co, mop_fn, f->err);
        }
        if (f->err)
            CO_RAISE(f->err);
    }
    for (f->step = 0; f->drain && f->step < MAX_TASKS && owned_count(f); f->step++) {
        mop_prepare(&f->op, f, OP_JOIN, NULL, -1);
        AWAIT_CO_CATCH(&f->op.co, mop_fn, f->err);
        if (f->err)
            CO_RAISE(f->err);
    }
    if (model_below(&f->rng, 10) == 0)
        CO_RAISE(-EIO);
    f->retval = (intptr_t)(f->idx + 1) * 1000 + (intptr_t)model_below(&f->rng, 1000);
    CO_RETURN(f->retval);
    CO_FINALLY
    task_fin_enter(f, CO_ERROR);
    if (f->g_open) {
        group_join_begin(f, f->gno, CO_ERROR);
        AWAIT_CATCH(group_join(&f->g, CO_ERROR), f->err);
        if (group_join_done(f, f->gno, CO_ERROR, f->err))
            CO_ERROR = f->err;
    }
    task_fin_done(f, CO_ERROR);
    CO_END;
}

/* ===== after the run: the log ============================================= */

enum want { NO, YES, MAYBE };

/* A child of a gather, or of a group keeping results, that was cancelled
 * counts as failed when it was not the group's own cancel: the model does
 * not know which, so such groups allow more. */
static int group_has_cancelled(int gno)
{
    for (int k = 0; k < M.n; k++)
        if (M.e[k].grp == gno && (!M.e[k].started || M.e[k].err == -ECANCELED))
            return 1;
    return 0;
}

static int loose_group(int gno)
{
    return M.g[gno].kind != G_PLAIN && group_has_cancelled(gno);
}

/* Is task k reported as "failed ... and nobody retrieved it"? */
static int lost_wanted(int k)
{
    const struct mentry *e = &M.e[k];
    int failed = e->fin_done && real_error(e->err);
    int cancelled = !e->started || (e->fin_done && e->err == -ECANCELED);
    if (e->handle == H_OWNED || e->handle == H_DETACHED)
        return failed ? YES : NO; /* nobody can retrieve it any more */
    if (e->handle != H_GROUP && e->handle != H_GATHERED && e->handle != H_GATHERING)
        return NO; /* main, or joined (or being joined when the loop gave up) */
    if (failed && first_failure(e->grp) != k)
        return YES; /* a second failure in its group */
    if (!loose_group(e->grp))
        return NO;
    return failed || cancelled ? MAYBE : NO;
}

/* Is group gno's first failure reported as "... in a task group whose
 * owner ..."?  *who is the child to be named (for YES). */
static int group_line_wanted(int gno, int *who)
{
    const struct mgroup *g = &M.g[gno];
    int first = first_failure(gno);
    *who = first;
    if (g->kind == G_UNUSED || !g->joined)
        return NO;
    if (loose_group(gno))
        return MAYBE;
    return first >= 0 && g->jerr != M.e[first].err ? YES : NO;
}

static int entry_of(uint32_t id)
{
    for (int k = 0; k < M.n; k++)
        if (M.e[k].id == id)
            return k;
    return -1;
}

/* "async: task 'm#ID' failed with error E ..." naming a task that ended so. */
static int parse_failure(const char *line)
{
    unsigned id;
    int err;
    if (sscanf(line, "async: task 'm#%u' failed with error %d", &id, &err) != 2) {
        bad("log line names no interpreter task: %.100s", line);
        return -1;
    }
    int k = entry_of(id);
    int ended = k < 0 ? 0 : M.e[k].started ? M.e[k].err : -ECANCELED;
    if (k < 0 || (M.e[k].started && !M.e[k].fin_done) || ended != err) {
        bad("log line names m#%u with error %d, which is not how it ended: %.100s", id, err,
            line);
        return -1;
    }
    return k;
}

static int is_dump_line(const char *line)
{
    size_t a, b;
    return strncmp(line, "async: deadlock: ", 17) == 0 ||
           sscanf(line, "%zu task(s), %zu ready:", &a, &b) == 2 ||
           strncmp(line, "  task '", 8) == 0 || strncmp(line, "      at ", 9) == 0 ||
           strcmp(line, "      not started") == 0;
}

/* Sort every line of the log; count the reports per task and per group
 * (named[g]: the child a group's line named). */
static void read_log(const char *log, int *lost, int *glines, int *named)
{
    char line[512];
    for (const char *p = log; *p;) {
        size_t n = strcspn(p, "\n");
        snprintf(line, sizeof line, "%.*s", (int)n, p);
        p += n + (p[n] == '\n');
        if (is_dump_line(line))
            continue;
        if (strstr(line, " and nobody retrieved it")) {
            int k = parse_failure(line);
            lost[k < 0 ? MAX_TASKS : k]++;
            M.st.lost_lines++;
        } else if (strstr(line, " in a task group whose owner ")) {
            int k = parse_failure(line);
            int gno = k < 0 || M.e[k].grp < 0 ? MAX_GROUPS : M.e[k].grp;
            glines[gno]++;
            named[gno] = k;
            M.st.group_lines++;
        } else {
            bad("unexpected log line: %.100s", line);
        }
    }
}

static void check_reports(const char *log)
{
    int lost[MAX_TASKS + 1] = {0}, glines[MAX_GROUPS + 1] = {0}, named[MAX_GROUPS + 1];
    read_log(log, lost, glines, named);
    for (int k = 0; k < M.n; k++) {
        int want = lost_wanted(k);
        if ((want == YES && lost[k] != 1) || (want == NO && lost[k]) || lost[k] > 1)
            bad("m#%u (ended %d, handle %d) is reported lost %d time(s), want %s",
                (unsigned)M.e[k].id, M.e[k].err, M.e[k].handle, lost[k],
                want == YES ? "once" : want == NO ? "never" : "at most once");
    }
    for (int gno = 0; gno < M.ng; gno++) {
        int who, want = group_line_wanted(gno, &who);
        if ((want == YES && glines[gno] != 1) || (want == NO && glines[gno]) ||
            glines[gno] > 1)
            bad("group %d (first failure m#%u, joined %d) has %d owner line(s), want %s",
                gno, who >= 0 ? (unsigned)M.e[who].id : 0u, M.g[gno].jerr, glines[gno],
                want == YES ? "one" : want == NO ? "none" : "at most one");
        else if (want == YES && named[gno] != who)
            bad("group %d's owner line names m#%u, not its first failure m#%u", gno,
                (unsigned)M.e[named[gno]].id, (unsigned)M.e[who].id);
    }
    if (glines[MAX_GROUPS])
        bad("an owner line names a task in no group");
}

/* ===== after the run: the tasks =========================================== */

static void check_ends(int deadlocked)
{
    int unfinished = 0;
    for (int k = 0; k < M.n; k++) {
        const struct mentry *e = &M.e[k];
        if (!e->started) {
            M.st.never_started++;
            if (e->fin_enter || e->fin_done)
                bad("m#%u never started, yet ran its CO_FINALLY", (unsigned)e->id);
            if (!e->cancels && e->grp < 0)
                bad("m#%u never started, and nobody cancelled it", (unsigned)e->id);
        } else if (e->fin_enter != 1 || e->fin_done != 1) {
            if (!deadlocked)
                bad("m#%u started, but entered/left CO_FINALLY %d/%d times",
                    (unsigned)e->id, e->fin_enter, e->fin_done);
            unfinished = 1;
        }
    }
    M.st.gave_up += unfinished; /* the loop gave up on parked tasks */
}

static void verdict(int rc, intptr_t result, const char *log)
{
    int deadlocked = strstr(log, "async: deadlock:") != NULL;
    const struct mentry *m = &M.e[0];
    M.st.deadlocks += deadlocked;
    if ((rc == -EDEADLK) != deadlocked)
        bad("loop_run returned %d, but the log %s a deadlock", rc,
            deadlocked ? "reports" : "does not report");
    else if (!deadlocked && (!m->fin_done || rc != m->err))
        bad("loop_run returned %d, but main ended with %d", rc, m->err);
    if (rc == 0 && !deadlocked && result != m->val)
        bad("loop_run's result is %ld, but main returned %ld", (long)result, (long)m->val);
    if ((rc != 0 || deadlocked) && result != UNSET)
        bad("loop_run returned %d, yet stored a result", rc);
    if (!deadlocked && M.soft[0] && !M.hard[0])
        memcpy(M.hard, M.soft, sizeof M.hard);
    check_ends(deadlocked);
    check_reports(log);
}

/* ===== running a seed ===================================================== */

static uint64_t seed_start = 1, seed_count = 2000;
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
    M.e[0] = (struct mentry){.parent = -1, .handle = H_MAIN, .owner = -1, .grp = -1,
                             .slot = -1, .joining = -1};
    M.n = 1;
    M.st.runs = M.st.tasks = 1;
    struct mtask m;
    memset(&m, 0, sizeof m);
    m.rng = model_seed(seed);
    intptr_t result = UNSET;
    struct loop_opts o = {0};
    int rc = run_opts(&o, mtask_fn, &m, sizeof m, &result, logp);
    tr("loop_run: %d %ld", rc, (long)result);
    verdict(rc, result, *logp);
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

/* Run seeds [first, end), every one; fail naming the first failing seed
 * (with its violation) and listing the others. */
START_TEST(model_seed_block)
{
    uint64_t first = seed_start + (uint64_t)_i * BLOCK;
    uint64_t end = seed_start + seed_count;
    model_run_seeds(2, first, end - first > BLOCK ? first + BLOCK : end, run_seed,
                    verbose && seed_count == 1 ? show_run : NULL);
}
END_TEST

START_TEST(model_is_deterministic)
{
    /* The same seed twice: the same operations, results and log. */
    char *log1, *log2;
    const char *why = run_seed(7, &log1);
    uint64_t d1 = M.digest;
    ck_assert_msg(why == NULL, "model seed 7: %s", why);
    why = run_seed(7, &log2);
    ck_assert_msg(why == NULL, "model seed 7: %s", why);
    ck_assert_uint_eq(d1, M.digest);
    ck_assert_str_eq(log1, log2);
    free(log1);
    free(log2);
}
END_TEST

START_TEST(model_covers_its_operations)
{
    /* A model that stopped reaching the interesting cases would pass
     * vacuously: the first 100 seeds must reach each of them.  (Whether
     * they pass is model_seed_block's business.) */
    memset(&total, 0, sizeof total);
    for (uint64_t s = 1; s <= 100; s++) {
        char *log;
        run_seed(s, &log);
        free(log);
    }
    const struct mstats *t = &total;
    ck_assert_msg(t->tasks > 1000 && t->joins && t->joins_cut && t->self_joins &&
                      t->gathers && t->gathers_failed && t->group_fails && t->gives &&
                      t->detaches && t->cancels && t->swallowed && t->scopes &&
                      t->never_started && t->deadlocks && t->lost_lines && t->group_lines,
                  "coverage: tasks %lu joins %lu cut %lu self %lu gathers %lu failed %lu "
                  "group_fails %lu gives %lu detaches %lu cancels %lu swallowed %lu "
                  "scopes %lu never_started %lu deadlocks %lu gave_up %lu lost %lu "
                  "group_lines %lu",
                  t->tasks, t->joins, t->joins_cut, t->self_joins, t->gathers,
                  t->gathers_failed, t->group_fails, t->gives, t->detaches, t->cancels,
                  t->swallowed, t->scopes, t->never_started, t->deadlocks, t->gave_up,
                  t->lost_lines, t->group_lines);
}
END_TEST

/* ===== the test case ====================================================== */

void stage02_add_model(Suite *s)
{
    seed_start = model_env("MODEL_SEED_START", 1, 0);
    seed_count = model_env("MODEL_SEEDS", 2000, 1);
    if (seed_count > UINT64_MAX - seed_start)
        seed_count = UINT64_MAX - seed_start;
    const char *v = getenv("MODEL_VERBOSE");
    verbose = v && *v && strcmp(v, "0") != 0;
    uint64_t blocks = (seed_count + BLOCK - 1) / BLOCK;
    TCase *tc = new_case(s, "model");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, model_seed_block, 0, blocks > INT32_MAX ? INT32_MAX : (int)blocks);
    tcase_add_test(tc, model_is_deterministic);
    tcase_add_test(tc, model_covers_its_operations);
}
