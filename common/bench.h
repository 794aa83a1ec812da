/*
 * bench.h - what every benchmark needs and no stage teaches: a monotonic
 * clock, "is this tool installed?", and instruction counts from callgrind.
 *
 * Instruction counts are the figure that survives a noisy machine: callgrind
 * counts the same instructions for the same binary and input whatever else
 * is running.  A benchmark runs itself under callgrind twice, doing n1 and
 * then n2 operations, and divides the difference in instructions by n2 - n1,
 * so start-up and exit cost cancel out.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Is `tool` an executable somewhere on PATH?  (No shell involved.) */
static inline int bench_have(const char *tool)
{
    const char *path = getenv("PATH");
    char buf[4096];
    while (path && *path) {
        size_t len = strcspn(path, ":");
        if (len > 0 && len + strlen(tool) + 2 <= sizeof buf) {
            snprintf(buf, sizeof buf, "%.*s/%s", (int)len, path, tool);
            if (access(buf, X_OK) == 0)
                return 1;
        }
        path += len + (path[len] == ':');
    }
    return 0;
}

/* Total instructions callgrind counts for `command N`, or -1.  `command` is
 * pasted into a shell command line: keep it to a path and plain words. */
static inline double bench_callgrind_total(const char *command, long n)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "valgrind --tool=callgrind --callgrind-out-file=/dev/null %s %ld 2>&1", command, n);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[512];
    double total = -1;
    while (fgets(line, sizeof line, p)) {
        char *at = strstr(line, "Collected :");
        if (!at)
            continue;
        double x = 0; /* "1,234,567": skip the commas */
        for (char *c = at + strlen("Collected :"); *c && *c != '\n'; c++)
            if (*c >= '0' && *c <= '9')
                x = x * 10 + (*c - '0');
        total = x;
    }
    return pclose(p) == 0 ? total : -1;
}

/* Instructions per operation of `command N`, from runs with n1 and n2. */
static inline double bench_callgrind_per_op(const char *command, long n1, long n2)
{
    double a = bench_callgrind_total(command, n1);
    double b = bench_callgrind_total(command, n2);
    return a < 0 || b < 0 || n2 <= n1 ? -1 : (b - a) / (double)(n2 - n1);
}

#endif
