/*
 * timers_uv.c - the libuv peer of bench/timers.c: start, stop and fire of
 * N timers, measured as timers.c measures ours.
 *
 * Not built by the Makefile (it needs libuv): timers.c compiles it at run
 * time with `cc -O2 ... $(pkg-config --cflags --libs libuv)` when libuv is
 * installed.  Usage: timers_uv N SPREAD_MS RUNS.  Prints one figure a line.
 *
 *   start  uv_timer_start of N initialised timers into an empty loop, with
 *          timeouts drawn uniformly from 0..SPREAD_MS (libuv counts in ms,
 *          so many timers share a millisecond; ties go by start order);
 *   stop   uv_timer_stop of all N in a random order (from the middle);
 *   fire   start all N again (not timed), sleep SPREAD_MS + 1 ms so that
 *          every deadline has passed (not timed), then time uv_run: it reads
 *          the clock once and runs every due timer in deadline order (stop,
 *          callback), finds nothing left and returns - no waiting is timed.
 *
 * The deadlines and the stop order come from the same generator and seed as
 * timers.c's.  Each run uses a fresh loop; the best of RUNS is printed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <uv.h>

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
static void on_timer(uv_timer_t *t) { (void)t; fired++; }

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    long spread_ms = argc > 2 ? atol(argv[2]) : 500;
    int runs = argc > 3 ? atoi(argv[3]) : 3;
    uv_timer_t *t = malloc((size_t)n * sizeof *t);
    uint64_t *ms = malloc((size_t)n * sizeof *ms);
    uint32_t *order = malloc((size_t)n * sizeof *order);
    if (!t || !ms || !order)
        return 1;
    for (long i = 0; i < n; i++)
        ms[i] = rng() % ((uint64_t)spread_ms * 1000000u) / 1000000u; /* ns -> ms */
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
        uv_loop_t loop;
        uv_loop_init(&loop);
        for (long i = 0; i < n; i++)
            uv_timer_init(&loop, &t[i]);
        double t0 = now_ns();
        for (long i = 0; i < n; i++)
            uv_timer_start(&t[i], on_timer, ms[i], 0);
        double t1 = now_ns();
        for (long i = 0; i < n; i++)
            uv_timer_stop(&t[order[i]]);
        double t2 = now_ns();
        for (long i = 0; i < n; i++)
            uv_timer_start(&t[i], on_timer, ms[i], 0);
        struct timespec nap = {spread_ms / 1000, (spread_ms % 1000 + 1) * 1000000L};
        nanosleep(&nap, NULL);
        fired = 0;
        double t3 = now_ns();
        uv_run(&loop, UV_RUN_DEFAULT);
        double t4 = now_ns();
        if (fired != n)
            fprintf(stderr, "timers_uv: %ld of %ld fired\n", fired, n);
        double d[3] = {t1 - t0, t2 - t1, t4 - t3};
        for (int k = 0; k < 3; k++)
            best[k] = d[k] < best[k] ? d[k] : best[k];
        for (long i = 0; i < n; i++)
            uv_close((uv_handle_t *)&t[i], NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
    }
    printf("version libuv %s\n", uv_version_string());
    printf("start_ns %.1f\nstop_ns %.1f\nfire_ns %.1f\n", best[0] / (double)n,
           best[1] / (double)n, best[2] / (double)n);
    printf("timer_bytes %zu\n", sizeof(uv_timer_t));
    free(t);
    free(ms);
    free(order);
    return 0;
}
