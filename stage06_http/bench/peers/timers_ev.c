/*
 * timers_ev.c - the libev peer of bench/timers.c: start, stop and fire of
 * N timers, measured as timers.c measures ours.
 *
 * Not built by the Makefile (it needs libev): timers.c compiles it at run
 * time with `cc -O2 ... -lev` when <ev.h> is installed.  Usage: timers_ev
 * N SPREAD_MS RUNS.  Prints one figure a line.
 *
 *   start  ev_timer_start of N initialised timers into an empty loop, with
 *          timeouts drawn uniformly from 0..SPREAD_MS (libev counts in
 *          seconds, as doubles: every deadline is distinct, as ours are);
 *   stop   ev_timer_stop of all N in a random order (from the middle);
 *   fire   start all N again (not timed), sleep SPREAD_MS + 1 ms so that
 *          every deadline has passed (not timed), then time ev_run: it reads
 *          the clock, polls once without waiting, takes every due timer off
 *          the heap in deadline order, runs the callbacks, finds no active
 *          watcher left and returns.
 *
 * The deadlines and the stop order come from the same generator and seed as
 * timers.c's.  Each run uses a fresh loop; the best of RUNS is printed.
 */
#include <ev.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rng(void) /* xorshift64*, as in timers.c */
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1Du;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static long fired;
static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    fired++;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    long spread_ms = argc > 2 ? atol(argv[2]) : 500;
    int runs = argc > 3 ? atoi(argv[3]) : 3;
    ev_timer *w = malloc((size_t)n * sizeof *w);
    double *after = malloc((size_t)n * sizeof *after);
    uint32_t *order = malloc((size_t)n * sizeof *order);
    if (!w || !after || !order)
        return 1;
    for (long i = 0; i < n; i++)
        after[i] = (double)(rng() % ((uint64_t)spread_ms * 1000000u)) / 1e9; /* ns -> s */
    for (long i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    for (long i = n - 1; i > 0; i--) {
        long j = (long)(rng() % (uint64_t)(i + 1));
        uint32_t x = order[i];
        order[i] = order[j];
        order[j] = x;
    }

    double best[3] = {1e30, 1e30, 1e30};
    for (int r = 0; r < runs; r++) {
        struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
        for (long i = 0; i < n; i++)
            ev_timer_init(&w[i], on_timer, after[i], 0.);
        double t0 = now_ns();
        for (long i = 0; i < n; i++)
            ev_timer_start(loop, &w[i]);
        double t1 = now_ns();
        for (long i = 0; i < n; i++)
            ev_timer_stop(loop, &w[order[i]]);
        double t2 = now_ns();
        for (long i = 0; i < n; i++) {
            ev_timer_set(&w[i], after[i], 0.);
            ev_timer_start(loop, &w[i]);
        }
        struct timespec nap = {spread_ms / 1000, (spread_ms % 1000 + 1) * 1000000L};
        nanosleep(&nap, NULL);
        fired = 0;
        double t3 = now_ns();
        ev_run(loop, 0);
        double t4 = now_ns();
        if (fired != n)
            fprintf(stderr, "timers_ev: %ld of %ld fired\n", fired, n);
        double d[3] = {t1 - t0, t2 - t1, t4 - t3};
        for (int k = 0; k < 3; k++)
            best[k] = d[k] < best[k] ? d[k] : best[k];
        ev_loop_destroy(loop);
    }
    printf("version libev %d.%d\n", ev_version_major(), ev_version_minor());
    printf("start_ns %.1f\nstop_ns %.1f\nfire_ns %.1f\n", best[0] / (double)n,
           best[1] / (double)n, best[2] / (double)n);
    printf("timer_bytes %zu\n", sizeof(ev_timer));
    free(w);
    free(after);
    free(order);
    return 0;
}
