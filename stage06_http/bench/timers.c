/*
 * timers.c - what a deadline costs: start, stop and fire of 1,000,000
 * timers, and 1,000,000 sleeping tasks; beside libuv's and libev's timers.
 * Run from the repository root (make stage4 bench).
 *
 * Every timer gets a deadline drawn uniformly from the next 500 ms (a fixed
 * seed: every run, and every peer, draws the same ones).  Three rounds run
 * each contender once, on a fresh heap or loop, in turn - so a busy spell
 * of the machine hurts all of them alike - and the best of each is kept:
 *
 *   start  insert all N into an empty heap (the array grows as it goes);
 *   stop   remove all N in a random order: cancelling, from the middle;
 *   fire   start all N again (not timed), let every deadline pass (not
 *          timed), then take them all off in deadline order, calling each
 *          one's callback.
 *
 * Ours is measured twice: the heap alone (timer_heap_push / remove / top,
 * no loop), and through a running loop (timer_start / timer_stop from a
 * task; for fire, the task blocks the thread for 501 ms on purpose, then
 * yields, and the loop's next turn fires all N due timers before resuming
 * it - timed from the yield to the resume).  The peers, in bench/peers/,
 * do the same with uv_timer_start / uv_timer_stop / uv_run and
 * ev_timer_start / ev_timer_stop / ev_run: a run that starts with every
 * deadline passed, so it fires without waiting.  They are compiled here at
 * run time when the libraries are installed.
 *
 * And 1,000,000 tasks each sleep_ms() a random 0..999 ms under the
 * virtual clock (loop_opts.virtual_clock: the loop jumps from deadline to
 * deadline, nothing really waits): the cost of a sleep is spawn + park +
 * timer + wake + finish, and resident memory growth while they all sleep,
 * divided by their number, is the memory of a sleeping task - task, frame,
 * its heap entry and the allocator's overhead.  That runs first, in a child
 * process of its own, so that no memory freed earlier is there to be
 * reused; once with a frame holding the delay, once with a bare header.
 *
 * Benchmarks print; they never fail because a figure is slow.
 * `timers N` runs with N timers and tasks instead of 1,000,000.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "loop.h"
#include "sleep.h"
#include "timer.h"

#ifndef BENCH_DIR
#define BENCH_DIR "stage04_timers/bench"
#endif

enum { SPREAD_MS = 500, RUNS = 3 };

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rng(void) /* xorshift64*: the peers use the same one */
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1Du;
}

/* The same deadlines (ns from "now") and stop order for every contender. */
struct inputs {
    long n;
    uint64_t *when;
    uint32_t *order;
    struct timer *tm;
};

static int make_inputs(struct inputs *in, long n)
{
    in->n = n;
    in->when = malloc((size_t)n * sizeof *in->when);
    in->order = malloc((size_t)n * sizeof *in->order);
    in->tm = malloc((size_t)n * sizeof *in->tm);
    if (!in->when || !in->order || !in->tm)
        return -ENOMEM;
    for (long i = 0; i < n; i++)
        in->when[i] = rng() % ((uint64_t)SPREAD_MS * 1000000u);
    for (long i = 0; i < n; i++)
        in->order[i] = (uint32_t)i;
    for (long i = n - 1; i > 0; i--) { /* Fisher-Yates */
        long j = (long)(rng() % (uint64_t)(i + 1));
        uint32_t x = in->order[i];
        in->order[i] = in->order[j];
        in->order[j] = x;
    }
    for (long i = 0; i < n; i++)
        in->tm[i] = (struct timer){.index = TIMER_IDLE};
    return 0;
}

static long fired;
static uint64_t last_when;
static int out_of_order;

static void count_fire(struct timer *t)
{
    (void)t;
    fired++;
}

static void keep_best(double best[3], const double d[3])
{
    for (int k = 0; k < 3; k++)
        best[k] = d[k] < best[k] ? d[k] : best[k];
}

static void wait_past_deadlines(void)
{
    struct timespec nap = {SPREAD_MS / 1000, (SPREAD_MS % 1000 + 1) * 1000000L};
    nanosleep(&nap, NULL);
}

/* ---- (a) the heap alone --------------------------------------------------- */

/* One run on a fresh heap; its figures join the best so far. */
static void heap_bench(const struct inputs *in, double best[3])
{
    struct timer_heap h;
    timer_heap_init(&h);
    double t0 = bench_now_ns();
    for (long i = 0; i < in->n; i++)
        timer_heap_push(&h, &in->tm[i], in->when[i]);
    double t1 = bench_now_ns();
    for (long i = 0; i < in->n; i++)
        timer_heap_remove(&h, &in->tm[in->order[i]]);
    double t2 = bench_now_ns();
    for (long i = 0; i < in->n; i++) {
        in->tm[i].fire = count_fire;
        timer_heap_push(&h, &in->tm[i], in->when[i]);
    }
    fired = 0;
    last_when = 0;
    double t3 = bench_now_ns();
    const struct timer_entry *top;
    while ((top = timer_heap_top(&h))) {
        struct timer *t = top->timer;
        out_of_order |= top->when < last_when;
        last_when = top->when;
        timer_heap_remove(&h, t);
        t->fire(t);
    }
    double t4 = bench_now_ns();
    if (fired != in->n || h.n != 0)
        fprintf(stderr, "heap: %ld of %ld fired, %u left\n", fired, in->n, (unsigned)h.n);
    keep_best(best, (double[3]){t1 - t0, t2 - t1, t4 - t3});
    timer_heap_fini(&h);
}

/* ---- (b) through the loop ------------------------------------------------ */

struct loop_bench { co_t co; const struct inputs *in; double *d; double t3; };

/* Start and stop from the running task; plain C, so its locals are fine. */
static void start_stop(const struct inputs *in, double *d)
{
    uint64_t base = loop_time_ns();
    double t0 = bench_now_ns();
    for (long i = 0; i < in->n; i++)
        timer_start(&in->tm[i], base + in->when[i], count_fire);
    double t1 = bench_now_ns();
    for (long i = 0; i < in->n; i++)
        timer_stop(&in->tm[in->order[i]]);
    double t2 = bench_now_ns();
    for (long i = 0; i < in->n; i++)
        timer_start(&in->tm[i], base + in->when[i], count_fire);
    d[0] = t1 - t0;
    d[1] = t2 - t1;
}

static int loop_bench(co_t *co)
{
    struct loop_bench *f = (struct loop_bench *)co;
    CO_BEGIN(co);
    start_stop(f->in, f->d);
    wait_past_deadlines(); /* blocks the loop, on purpose: all N are due */
    fired = 0;
    f->t3 = bench_now_ns();
    AWAIT(task_yield()); /* the next turn fires all N, then resumes us */
    f->d[2] = bench_now_ns() - f->t3;
    if (fired != f->in->n)
        fprintf(stderr, "loop: %ld of %ld fired\n", fired, f->in->n);
    CO_END;
}

static void loop_timers_bench(const struct inputs *in, double best[3])
{
    double d[3] = {0};
    int rc = LOOP_RUN(NULL, loop_bench, struct loop_bench, .in = in, .d = d);
    if (rc)
        fprintf(stderr, "loop: loop_run returned %d\n", rc);
    keep_best(best, d);
}

/* ---- (c) sleeping tasks, virtual clock ------------------------------------ */

static long woke;
static const uint32_t *delays; /* drawn before the first RSS reading */
static long ndelays;

/* The smallest sleeper that is told how long to sleep: the co_t header and
 * its delay (64 bytes with the padding). */
struct sleeper { co_t co; uint32_t ms; };

static int sleeper(co_t *co)
{
    struct sleeper *f = (struct sleeper *)co;
    CO_BEGIN(co);
    AWAIT(sleep_ms(f->ms));
    woke++;
    CO_END;
}

/* The same with a bare header (56 bytes): it looks its delay up by task id.
 * Measured beside it to show where malloc's size classes fall. */
struct bare { co_t co; };

static int bare_sleeper(co_t *co)
{
    CO_BEGIN(co);
    AWAIT(sleep_ms(delays[task_current()->id % (uint32_t)ndelays]));
    woke++;
    CO_END;
}

static long rss_bytes(void)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

struct mem {
    long n;
    int bare;
    int rc;
    long woke;
    long rss0, rss1;
    double t0, t_parked, t_done;
    uint64_t vt_done; /* the virtual clock at the end, ns */
};

struct many { co_t co; struct mem *m; long i; };

static int many(co_t *co)
{
    struct many *f = (struct many *)co;
    CO_BEGIN(co);
    f->m->rss0 = rss_bytes();
    f->m->t0 = bench_now_ns();
    for (f->i = 0; f->i < f->m->n; f->i++) {
        if (f->m->bare)
            task_detach(TASK_SPAWN(bare_sleeper, struct bare));
        else
            task_detach(TASK_SPAWN(sleeper, struct sleeper, .ms = delays[f->i]));
    }
    AWAIT(task_yield()); /* one turn: every sleeper runs and parks */
    f->m->t_parked = bench_now_ns();
    f->m->rss1 = rss_bytes();
    AWAIT(sleep_ms(1000)); /* after the last of theirs (999 ms at most) */
    f->m->t_done = bench_now_ns();
    f->m->vt_done = loop_time_ns();
    CO_END;
}

/* Run (c) in a child process: a fresh heap, so that memory freed by other
 * measurements cannot be reused by the sleepers and hide part of their
 * cost.  The child hands its figures back through a pipe. */
static int sleepers(struct mem *m)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -errno;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        close(fds[0]);
        struct loop_opts vopts = {.virtual_clock = 1};
        m->rc = loop_run_opts(&vopts, many, &(struct many){.m = m}, sizeof(struct many), NULL);
        m->woke = woke;
        ssize_t w = write(fds[1], m, sizeof *m);
        _exit(w == (ssize_t)sizeof *m ? 0 : 1);
    }
    close(fds[1]);
    size_t got = 0;
    while (got < sizeof *m) {
        ssize_t r = read(fds[0], (char *)m + got, sizeof *m - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    return got == sizeof *m && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* ---- the peers ------------------------------------------------------------ */

struct peer {
    const char *name, *src, *flags, *apt;
    char exe[1100];
    int have, built, ok;
    char version[64];
    double ns[3]; /* the best of the runs */
    long timer_bytes;
};

/* Compile bench/peers/<src> beside this binary; p->exe is the result. */
static void build_peer(struct peer *p, const char *dir)
{
    char cmd[3000], line[256];
    snprintf(p->exe, sizeof p->exe, "%s/%.*s", dir, (int)(strlen(p->src) - 2), p->src);
    snprintf(cmd, sizeof cmd, "cc -O2 -o %s %s/peers/%s %s 2>&1", p->exe, BENCH_DIR, p->src,
             p->flags);
    FILE *c = popen(cmd, "r");
    if (!c)
        return;
    int lines = 0;
    while (fgets(line, sizeof line, c))
        if (lines++ < 5)
            fprintf(stderr, "  %s", line);
    p->built = pclose(c) == 0;
    if (!p->built)
        fprintf(stderr, "%s: could not compile %s/peers/%s\n", p->name, BENCH_DIR, p->src);
}

/* One run of the peer on the same N; its figures join the best so far. */
static void run_peer(struct peer *p, long n)
{
    char cmd[1200], line[256];
    double ns[3] = {0};
    snprintf(cmd, sizeof cmd, "%s %ld %d 1", p->exe, n, SPREAD_MS);
    FILE *in = popen(cmd, "r");
    if (!in)
        return;
    int got = 0;
    while (fgets(line, sizeof line, in)) {
        got += sscanf(line, "version %63[^\n]", p->version) == 1;
        got += sscanf(line, "start_ns %lf", &ns[0]) == 1;
        got += sscanf(line, "stop_ns %lf", &ns[1]) == 1;
        got += sscanf(line, "fire_ns %lf", &ns[2]) == 1;
        got += sscanf(line, "timer_bytes %ld", &p->timer_bytes) == 1;
    }
    if (pclose(in) == 0 && got == 5) {
        p->ok = 1;
        keep_best(p->ns, ns);
    }
}

/* The directory this binary is in: the peers are built beside it. */
static void self_dir(char *dir, size_t size, const char *argv0)
{
    ssize_t len = readlink("/proc/self/exe", dir, size - 1);
    if (len > 0)
        dir[len] = '\0';
    else
        snprintf(dir, size, "%s", argv0);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, size, ".");
}

static void cell(double v, int ok)
{
    if (ok)
        printf(" %9.1f", v);
    else
        printf(" %9s", "-");
}

static void ratio(double peer, double ours, int ok)
{
    if (ok)
        printf(" %8.2fx", peer / ours);
    else
        printf(" %9s", "-");
}

static const char *met(int ok) { return ok ? "met" : "NOT met"; }

int main(int argc, char **argv)
{
    unsetenv("ASYNC_TRACE");
    unsetenv("ASYNC_DEBUG");
    unsetenv("ASYNC_SLOW_MS");
    setvbuf(stdout, NULL, _IOLBF, 0);
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    if (n < 1 || n > 100000000) {
        fprintf(stderr, "usage: %s [N]\n", argv[0]);
        return 2;
    }

    struct inputs in;
    if (make_inputs(&in, n) < 0) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    printf("%ld timers, deadlines uniform over the next %d ms (fixed seed), best of %d\n", n,
           SPREAD_MS, RUNS);

    uint32_t *ms = malloc((size_t)n * sizeof *ms);
    if (!ms)
        return 1;
    for (long i = 0; i < n; i++)
        ms[i] = (uint32_t)(rng() % 1000);
    delays = ms;
    ndelays = n;
    struct mem m = {.n = n}, mb = {.n = n, .bare = 1};
    if (sleepers(&m) < 0 || sleepers(&mb) < 0)
        fprintf(stderr, "sleepers: the child process failed\n");
    double sleep_ns = (m.t_done - m.t0) / (double)n;
    double bytes = (double)(m.rss1 - m.rss0) / (double)n;
    double bare_bytes = (double)(mb.rss1 - mb.rss0) / (double)n;
    if (m.rc || m.woke != n || mb.rc || mb.woke != n)
        fprintf(stderr, "sleepers: loop_run returned %d/%d, %ld/%ld of %ld woke\n", m.rc, mb.rc,
                m.woke, mb.woke, n);

    char dir[1024];
    self_dir(dir, sizeof dir, argv[0]);
    struct peer uv = {.name = "libuv", .src = "timers_uv.c", .ns = {1e30, 1e30, 1e30},
                      .flags = "$(pkg-config --cflags --libs libuv)", .apt = "libuv1-dev"};
    struct peer ev = {.name = "libev", .src = "timers_ev.c", .ns = {1e30, 1e30, 1e30},
                      .flags = "-lev", .apt = "libev-dev"};
    uv.have = system("pkg-config --exists libuv 2>/dev/null") == 0;
    ev.have = system("printf '#include <ev.h>\\n' | cc -E -x c - >/dev/null 2>&1") == 0;
    struct peer *peers[2] = {&uv, &ev};
    for (int k = 0; k < 2; k++)
        if (peers[k]->have)
            build_peer(peers[k], dir);

    /* Rounds of one run each, every contender in turn, so that a busy spell
     * of the machine hurts all of them alike; the best of each is kept. */
    double heap[3] = {1e30, 1e30, 1e30}, loop[3] = {1e30, 1e30, 1e30};
    for (int r = 0; r < RUNS; r++) {
        heap_bench(&in, heap);
        loop_timers_bench(&in, loop);
        for (int k = 0; k < 2; k++)
            if (peers[k]->built)
                run_peer(peers[k], n);
    }
    if (out_of_order)
        fprintf(stderr, "heap: timers fired out of deadline order\n");

    for (int k = 0; k < 2; k++) {
        if (!peers[k]->have)
            printf("%s: not installed (apt-get install %s)\n", peers[k]->name, peers[k]->apt);
        else if (!peers[k]->ok)
            printf("%s: the peer did not report all figures\n", peers[k]->name);
        else
            printf("%s: %s, %ld bytes per timer handle\n", peers[k]->name, peers[k]->version,
                   peers[k]->timer_bytes);
    }

    printf("\nns per timer      ours:loop ours:heap     libuv     libev  libuv/ours libev/ours\n");
    static const char *const rows[3] = {"start", "stop (random)", "fire (in order)"};
    for (int k = 0; k < 3; k++) {
        printf("%-17s", rows[k]);
        cell(loop[k] / (double)n, 1);
        cell(heap[k] / (double)n, 1);
        cell(uv.ns[k], uv.ok);
        cell(ev.ns[k], ev.ok);
        ratio(uv.ns[k], loop[k] / (double)n, uv.ok);
        printf(" ");
        ratio(ev.ns[k], loop[k] / (double)n, ev.ok);
        printf("\n");
    }
    printf("%-17s", "sleeping task");
    cell(sleep_ns, 1);
    printf("   (spawn + sleep_ms + wake + finish, virtual clock)\n");
    printf("%-17s", "bytes/sleeper");
    cell(bytes, 1);
    printf("   (resident growth / %ld while all sleep)\n", n);
    printf("ratios: the peer's time over ours (above 1: ours is faster)\n\n");

    printf("%ld sleeping tasks: spawn + park %.0f ns each, then fire + wake + finish\n"
           "%.0f ns each over %.3f virtual s; the frame is %zu bytes, a task_t %zu,\n"
           "a heap entry %zu; with a bare %zu-byte frame: %.1f bytes per sleeper\n",
           n, (m.t_parked - m.t0) / (double)n, (m.t_done - m.t_parked) / (double)n,
           (double)m.vt_done / 1e9, sizeof(struct sleeper), sizeof(task_t),
           sizeof(struct timer_entry), sizeof(struct bare), bare_bytes);

    /* Each target as "met" or "NOT met" with ours / theirs: 1.20x means 20%
     * slower, 0.80x 20% faster. */
    static const double ref_uv[3] = {144, 410, 1000}, ref_ev[3] = {56, 50, 131};
    const double *targets[4] = {uv.ok ? uv.ns : NULL, ev.ok ? ev.ns : NULL, ref_uv, ref_ev};
    static const char *const names[4] = {
        "at least libuv's, measured", "libev's (the aim), measured",
        "at least libuv's, issue's ref.", "libev's, issue's reference"};
    printf("\ntargets, set at 1M timers (ours through the loop / the target)\n"
           "  issue's reference: libuv start 144, stop 410, fire ~1000 ns;\n"
           "                     libev start 56, stop 50, fire 131 ns\n"
           "%-32s %-15s %-15s %s\n", "", "start", "stop", "fire");
    for (int t = 0; t < 4; t++) {
        char c[3][32];
        for (int k = 0; k < 3; k++) {
            double ours = loop[k] / (double)n;
            if (!targets[t])
                snprintf(c[k], sizeof c[k], "not measured");
            else
                snprintf(c[k], sizeof c[k], "%s %.2fx", ours <= targets[t][k] ? "met" : "NOT",
                         ours / targets[t][k]);
        }
        printf("  %-30s %-15s %-15s %s\n", names[t], c[0], c[1], c[2]);
    }
    printf("  a sleeping task in <= 256 bytes: %s (%.1f)\n", met(bytes <= 256), bytes);
    free(ms);
    free(in.when);
    free(in.order);
    free(in.tm);
    return 0;
}
