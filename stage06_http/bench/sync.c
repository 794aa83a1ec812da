/*
 * sync.c - what a Lock hand-off and a Queue item cost, beside asyncio's.
 * Run from the repository root (make stage5 bench); when python3 is there,
 * sync_asyncio.py runs the same programs with asyncio.Lock and
 * asyncio.Queue in the same run, and the ratios are printed; when valgrind
 * is there, callgrind counts the instructions of one hand-off / one item.
 *
 *   lock   N tasks (2, then 100) each loop { acquire; task_yield() holding
 *          the lock; release }.  While one holds it across its yield, the
 *          others run, try to acquire and queue up, so every release hands
 *          the lock to a waiter: a hand-off is an acquisition that had to
 *          wait.  The program counts them exactly (lock_acquire parked the
 *          task), and checks that all but the very first acquisition
 *          waited, that the lock went round the tasks in FIFO order, and
 *          that no two tasks were ever inside at once.  asyncio's side:
 *          asyncio.Lock and `await asyncio.sleep(0)`.
 *   queue  one producer puts the numbers 0..n-1, one consumer gets them and
 *          checks each is the next one: a bounded queue (maxsize 64, and
 *          maxsize 1, where nearly every item waits), and an unbounded one
 *          (nothing ever waits: the cost of the buffer alone).
 *
 * Three rounds run every measurement once each, ours then asyncio's, so a
 * busy spell of the machine hurts both alike; the best round of each is kept.
 * asyncio runs fewer operations than ours (it is far slower, and the whole
 * run should stay within seconds); per-operation figures of these steady
 * loops do not depend on the count, except for the unbounded queue, whose
 * buffer grows with it: that one runs the same count on both sides.
 *
 * Benchmarks print; they never fail because a figure is slow.
 * `sync --lock TASKS N` and `sync --queue MAXSIZE N` run one measurement
 * with N acquisitions / items, for callgrind.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "lock.h"
#include "loop.h"
#include "queue.h"

#ifndef BENCH_DIR
#define BENCH_DIR "stage05_sync/bench"
#endif

enum { ROUNDS = 3 };

#ifdef __clang__ /* the usual reason callgrind fails on a clang build */
#define CLANG_HINT \
    " (this valgrind cannot read clang's DWARF 5 debug info: build with CFLAGS=-gdwarf-4)"
#else
#define CLANG_HINT ""
#endif

/* ---- the lock ------------------------------------------------------------ */

/* One run's counts; loop_run copies its frame, so the frames point here. */
struct lock_run {
    struct lock lk;
    long ntasks, iters;
    task_t **t;
    long acquired;    /* acquisitions */
    long waited;      /* ... that parked: hand-offs */
    long fifo_breaks; /* ... not by the task after the previous holder */
    long overlaps;    /* ... while another task was inside */
    long not_held;    /* ... after which lock_held() said no */
    long errors;      /* lock_release failures */
    int inside;
    long last;
    double t0, t1;
    uint64_t steps;   /* task steps the loop ran */
    int rc;
};

/* lock_acquire, counting the acquisitions that have to wait. */
static int acquire_counted(struct lock_run *r)
{
    int op = lock_acquire(&r->lk);
    r->waited += op == TASK_OP_PARKED;
    return op;
}

static void entered(struct lock_run *r, long me)
{
    r->overlaps += r->inside;
    r->inside = 1;
    r->not_held += !lock_held(&r->lk);
    if (r->acquired && me != (r->last + 1 == r->ntasks ? 0 : r->last + 1))
        r->fifo_breaks++;
    r->last = me;
    r->acquired++;
}

static void leaving(struct lock_run *r)
{
    r->inside = 0;
    r->errors += lock_release(&r->lk) != 0;
}

struct locker { co_t co; struct lock_run *r; long me; long i; };

static int locker(co_t *co)
{
    struct locker *f = (struct locker *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->r->iters; f->i++) {
        AWAIT(acquire_counted(f->r));
        entered(f->r, f->me);
        AWAIT(task_yield()); /* hold it across a trip through the loop */
        leaving(f->r);
    }
    CO_END;
}

struct lock_main { co_t co; struct lock_run *r; long i; };

static int lock_main(co_t *co)
{
    struct lock_main *f = (struct lock_main *)co;
    CO_BEGIN(co);
    f->r->t0 = bench_now_ns();
    for (f->i = 0; f->i < f->r->ntasks; f->i++) {
        f->r->t[f->i] = TASK_SPAWN(locker, struct locker, .r = f->r, .me = f->i);
        if (!f->r->t[f->i])
            CO_RAISE(-ENOMEM);
    }
    for (f->i = 0; f->i < f->r->ntasks; f->i++)
        AWAIT(task_join(f->r->t[f->i]));
    f->r->t1 = bench_now_ns();
    f->r->steps = loop_current()->steps;
    CO_END;
}

/* `total` acquisitions shared by `ntasks` tasks. */
static void run_lock(struct lock_run *r, long ntasks, long total)
{
    memset(r, 0, sizeof *r);
    lock_init(&r->lk);
    r->ntasks = ntasks;
    r->iters = total / ntasks;
    r->last = -1;
    r->t = calloc((size_t)ntasks, sizeof *r->t);
    if (!r->t) {
        r->rc = -ENOMEM;
        return;
    }
    r->rc = LOOP_RUN(NULL, lock_main, struct lock_main, .r = r);
    free(r->t);
    r->t = NULL;
}

/* ---- the queue ----------------------------------------------------------- */

struct queue_run {
    struct queue q;
    size_t maxsize;
    long n;
    long received, out_of_order;
    double t0, t1;
    uint64_t steps;
    int rc, fini;
};

struct producer { co_t co; struct queue_run *r; long i; };

static int producer(co_t *co)
{
    struct producer *f = (struct producer *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->r->n; f->i++)
        AWAIT(queue_put(&f->r->q, (void *)(intptr_t)f->i));
    CO_END;
}

struct consumer { co_t co; struct queue_run *r; long i; };

static int consumer(co_t *co)
{
    struct consumer *f = (struct consumer *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->r->n; f->i++) {
        AWAIT(queue_get(&f->r->q));
        f->r->out_of_order += CO_VALUE != (intptr_t)f->i;
        f->r->received++;
    }
    CO_END;
}

struct queue_main { co_t co; struct queue_run *r; task_t *p, *c; };

static int queue_main(co_t *co)
{
    struct queue_main *f = (struct queue_main *)co;
    CO_BEGIN(co);
    f->r->t0 = bench_now_ns();
    f->p = TASK_SPAWN(producer, struct producer, .r = f->r);
    f->c = TASK_SPAWN(consumer, struct consumer, .r = f->r);
    if (!f->p || !f->c)
        CO_RAISE(-ENOMEM);
    AWAIT(task_join(f->p));
    AWAIT(task_join(f->c));
    f->r->t1 = bench_now_ns();
    f->r->steps = loop_current()->steps;
    CO_END;
}

static void run_queue(struct queue_run *r, size_t maxsize, long n)
{
    memset(r, 0, sizeof *r);
    queue_init(&r->q, maxsize);
    r->maxsize = maxsize;
    r->n = n;
    r->rc = LOOP_RUN(NULL, queue_main, struct queue_main, .r = r);
    r->fini = queue_fini(&r->q);
}

/* ---- the measurements ---------------------------------------------------- */

struct result {
    int ok;        /* measured, and every check passed */
    double ns;     /* best ns per operation over the rounds */
    char note[200]; /* what the checks found, for the last run */
};

struct meas {
    int lock;      /* 1: lock, ntasks = arg; 0: queue, maxsize = arg */
    long arg;
    long n, py_n;  /* acquisitions / items: ours, asyncio's */
    long cg1, cg2; /* callgrind's two counts */
    struct result ours, py;
    double steps;  /* our task steps per operation */
};

static void keep(struct result *res, double ns, int ok)
{
    if (!ok) {
        res->ok = -1; /* a failed check stays failed */
        return;
    }
    if (res->ok >= 0 && (res->ok == 0 || ns < res->ns)) {
        res->ns = ns;
        res->ok = 1;
    }
}

static void measure_ours(struct meas *m)
{
    if (m->lock) {
        struct lock_run r;
        run_lock(&r, m->arg, m->n);
        long total = r.ntasks * r.iters;
        int ok = r.rc == 0 && r.acquired == total && r.waited == total - 1 && !r.fifo_breaks &&
                 !r.overlaps && !r.not_held && !r.errors;
        snprintf(m->ours.note, sizeof m->ours.note,
                 "%ld acquisitions, %ld waited%s, %s, %s", r.acquired, r.waited,
                 r.waited == total - 1 ? " (all but the first)" : " (NOT all but the first)",
                 r.fifo_breaks ? "FIFO order BROKEN" : "in FIFO order",
                 r.overlaps || r.not_held || r.errors ? "mutual exclusion BROKEN"
                                                     : "one holder at a time");
        if (r.rc)
            fprintf(stderr, "lock, %ld tasks: loop_run returned %d\n", m->arg, r.rc);
        keep(&m->ours, (r.t1 - r.t0) / (double)(r.waited ? r.waited : 1), ok);
        m->steps = (double)r.steps / (double)(r.waited ? r.waited : 1);
    } else {
        struct queue_run r;
        run_queue(&r, (size_t)m->arg, m->n);
        int ok = r.rc == 0 && r.received == m->n && !r.out_of_order && r.fini == 0;
        snprintf(m->ours.note, sizeof m->ours.note, "%ld of %ld items arrived, %s", r.received,
                 m->n, r.out_of_order ? "some OUT OF ORDER" : "all in order");
        if (r.rc || r.fini)
            fprintf(stderr, "queue %ld: loop_run returned %d, queue_fini %d\n", m->arg, r.rc,
                    r.fini);
        keep(&m->ours, (r.t1 - r.t0) / (double)m->n, ok);
        m->steps = (double)r.steps / (double)m->n;
    }
}

/* One run of the asyncio peer: every measurement once.  Returns 0 if it ran
 * and reported them all. */
static int run_asyncio(struct meas *ms, int nm, char version[64])
{
    char cmd[2048];
    int len = snprintf(cmd, sizeof cmd, "python3 -E %s/sync_asyncio.py", BENCH_DIR);
    for (int k = 0; k < nm && len > 0 && (size_t)len < sizeof cmd; k++)
        len += snprintf(cmd + len, sizeof cmd - (size_t)len, " %s:%ld:%ld",
                        ms[k].lock ? "lock" : "queue", ms[k].arg, ms[k].py_n);
    FILE *in = popen(cmd, "r");
    if (!in)
        return -1;
    char line[512];
    int k = 0;
    while (fgets(line, sizeof line, in)) {
        long a, count, got, bad1, bad2;
        double secs;
        if (sscanf(line, "python %63s", version) == 1)
            continue;
        if (k < nm && ms[k].lock &&
            sscanf(line, "lock %ld %ld %ld %ld %ld %lf", &a, &count, &got, &bad1, &bad2,
                   &secs) == 6 && a == ms[k].arg) {
            /* got: acquisitions that waited; bad1: FIFO breaks; bad2: overlaps */
            struct meas *m = &ms[k++];
            snprintf(m->py.note, sizeof m->py.note, "%ld acquisitions, %ld waited%s, %s, %s",
                     count, got,
                     got == count - 1 ? " (all but the first)" : " (NOT all but the first)",
                     bad1 ? "FIFO order BROKEN" : "in FIFO order",
                     bad2 ? "mutual exclusion BROKEN" : "one holder at a time");
            keep(&m->py, secs * 1e9 / (double)(got ? got : 1),
                 got == count - 1 && !bad1 && !bad2);
        } else if (k < nm && !ms[k].lock &&
                   sscanf(line, "queue %ld %ld %ld %ld %lf", &a, &count, &got, &bad1,
                          &secs) == 5 && a == ms[k].arg) {
            struct meas *m = &ms[k++];
            snprintf(m->py.note, sizeof m->py.note, "%ld of %ld items arrived, %s", got, count,
                     bad1 ? "some OUT OF ORDER" : "all in order");
            keep(&m->py, secs * 1e9 / (double)count, got == count && !bad1);
        }
    }
    return pclose(in) == 0 && k == nm ? 0 : -1;
}

static double callgrind(const char *self, const struct meas *m)
{
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "%s %s %ld", self, m->lock ? "--lock" : "--queue", m->arg);
    /* Both counts are multiples of the task count: n acquisitions make
     * n - 1 hand-offs, so the difference is exactly cg2 - cg1 operations. */
    return bench_callgrind_per_op(cmd, m->cg1, m->cg2);
}

static void title(const struct meas *m)
{
    if (m->lock)
        printf("lock, %ld tasks each looping { acquire; yield holding it; release }:\n", m->arg);
    else if (m->arg)
        printf("queue, maxsize %ld: one producer puts 0..n-1, one consumer gets them:\n", m->arg);
    else
        printf("queue, unbounded: one producer puts 0..n-1, one consumer gets them:\n");
}

static void line(const char *who, const struct meas *m, const struct result *res)
{
    const char *unit = m->lock ? "hand-off" : "item (put + get)";
    printf("  %-8s %s\n", who, res->note);
    if (res->ok == 1)
        printf("  %-8s %.1f ns per %s, %.3f million %ss/s\n", "", res->ns, unit, 1e3 / res->ns,
               m->lock ? "hand-off" : "item");
    else
        printf("  %-8s a check FAILED: no figure\n", "");
}

int main(int argc, char **argv)
{
    /* The figures are for the plain loop: no trace, no slow-step timing. */
    unsetenv("ASYNC_TRACE");
    unsetenv("ASYNC_DEBUG");
    unsetenv("ASYNC_SLOW_MS");
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (argc == 4 && (strcmp(argv[1], "--lock") == 0 || strcmp(argv[1], "--queue") == 0)) {
        long arg = atol(argv[2]), n = atol(argv[3]);
        if (argv[1][2] == 'l' && arg > 0 && n >= arg) {
            struct lock_run r;
            run_lock(&r, arg, n);
            return r.rc != 0 || r.waited != r.ntasks * r.iters - 1;
        }
        if (argv[1][2] == 'q' && arg >= 0 && n > 0) {
            struct queue_run r;
            run_queue(&r, (size_t)arg, n);
            return r.rc != 0 || r.received != n || r.out_of_order;
        }
    }
    if (argc != 1) {
        fprintf(stderr, "usage: %s [--lock TASKS N | --queue MAXSIZE N]\n", argv[0]);
        return 2;
    }

    struct meas ms[] = {
        {.lock = 1, .arg = 2, .n = 2000000, .py_n = 20000, .cg1 = 10000, .cg2 = 60000},
        {.lock = 1, .arg = 100, .n = 2000000, .py_n = 20000, .cg1 = 10000, .cg2 = 60000},
        {.lock = 0, .arg = 64, .n = 4000000, .py_n = 100000, .cg1 = 20000, .cg2 = 100000},
        {.lock = 0, .arg = 1, .n = 2000000, .py_n = 20000, .cg1 = 10000, .cg2 = 60000},
        {.lock = 0, .arg = 0, .n = 100000, .py_n = 100000, .cg1 = 20000, .cg2 = 100000},
    };
    const int nm = (int)(sizeof ms / sizeof ms[0]);

    int have_py = bench_have("python3"), py_ok = have_py;
    char version[64] = "?";
    for (int r = 0; r < ROUNDS; r++) {
        for (int k = 0; k < nm; k++)
            measure_ours(&ms[k]);
        if (py_ok && run_asyncio(ms, nm, version) < 0) {
            printf("asyncio: %s/sync_asyncio.py did not report every figure\n", BENCH_DIR);
            py_ok = 0;
        }
    }
    if (!have_py)
        printf("asyncio: python3 not found, the peer is skipped\n");
    else if (py_ok)
        printf("asyncio: Python %s, the same programs (asyncio.Lock + sleep(0), "
               "asyncio.Queue)\n", version);

    char self[1024] = "";
    int have_cg = bench_have("valgrind");
    if (have_cg) {
        ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
        if (len > 0)
            self[len] = '\0';
        else
            snprintf(self, sizeof self, "%s", argv[0]);
    } else {
        printf("callgrind: valgrind not found, instruction counts skipped\n");
    }
    printf("best of %d rounds; ratios are our rate over asyncio's\n\n", ROUNDS);

    for (int k = 0; k < nm; k++) {
        struct meas *m = &ms[k];
        title(m);
        line("ours", m, &m->ours);
        if (m->ours.ok == 1)
            printf("  %-8s %.2f task steps per %s\n", "", m->steps,
                   m->lock ? "hand-off" : "item");
        if (py_ok)
            line("asyncio", m, &m->py);
        if (py_ok && m->ours.ok == 1 && m->py.ok == 1)
            printf("  ours: %.1f times asyncio\n", m->py.ns / m->ours.ns);
        if (have_cg) {
            double ipo = callgrind(self, m);
            if (ipo > 0)
                printf("  callgrind: %.1f instructions per %s (runs of %ld and %ld)\n", ipo,
                       m->lock ? "hand-off" : "item", m->cg1, m->cg2);
            else
                printf("  callgrind: no count%s\n", CLANG_HINT);
        }
        printf("\n");
    }
    return 0;
}
