/*
 * resume.c - what one generator resume costs, beside an indirect call.
 *
 * Everything later in the course (tasks, the loop, sockets) moves by resuming
 * generators, so this is the price of every step.  The course's target: a
 * resume costs at most 2x a plain indirect call doing comparable work.
 *
 * One run measures, side by side:
 *   - co_next on an endless counter generator;
 *   - the same work (bump a counter in a struct, hand the value out through a
 *     pointer, return a status) through a function pointer read from a
 *     volatile, so the compiler can neither inline nor devirtualize it;
 *   - a CPython generator's send (bench/gen_send.py), when python3 is on PATH;
 *   - instructions per operation under callgrind, when valgrind is on PATH:
 *     this binary re-runs itself as `resume --count N --only resume|call` for
 *     two N, and the difference in instructions over the difference in N
 *     cancels start-up costs.
 * A benchmark reports; it never fails on a slow figure.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "co.h"

#ifndef BENCH_DIR
#define BENCH_DIR "stage01_generators/bench"
#endif

enum { OPS = 20 * 1000 * 1000, REPS = 7 };
enum { CG_SMALL = 200 * 1000, CG_LARGE = 1200 * 1000 }; /* counts under callgrind */

static volatile intptr_t sink; /* results go here so no loop is optimized away */

struct counter {
    co_t co;
    intptr_t n;
};

static int counter(co_t *co)
{
    struct counter *f = (struct counter *)co;
    CO_BEGIN(co);
    for (;;)
        CO_YIELD(f->n++);
    CO_END;
}

struct plain {
    intptr_t n;
};

static int plain_step(struct plain *p, intptr_t *out)
{
    *out = p->n++;
    return CO_YIELDED;
}

static int (*volatile plain_fn)(struct plain *, intptr_t *) = plain_step;

/* The frames are static, not on this function's stack: with the frame on the
 * stack the resume figure varied by a third from one run to the next (where
 * ASLR put it against the return addresses the calls push, it seems).  The
 * frames of real tasks live apart from the stack too. */
static void loop_resume(long n)
{
    static struct counter c;
    c.n = 0;
    co_init(&c.co, counter);
    intptr_t v, sum = 0;
    for (long i = 0; i < n; i++) {
        if (co_next(&c.co, &v) != CO_YIELDED)
            abort();
        sum += v;
    }
    sink = sum;
}

static void loop_call(long n)
{
    static struct plain p;
    p.n = 0;
    intptr_t v, sum = 0;
    for (long i = 0; i < n; i++) {
        if (plain_fn(&p, &v) != CO_YIELDED)
            abort();
        sum += v;
    }
    sink = sum;
}

static double ns_per_op(void (*loop)(long), double best)
{
    double t0 = bench_now_ns();
    loop(OPS);
    double ns = (bench_now_ns() - t0) / OPS;
    return ns < best ? ns : best;
}

/* Instructions per operation of `self --only what --count N`, or -1. */
static double instr_per_op(const char *self, const char *what)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' --only %s --count", self, what);
    return bench_callgrind_per_op(cmd, CG_SMALL, CG_LARGE);
}

/* ns per send from gen_send.py, or -1; `version` gets Python's version. */
static double python_send(char version[32])
{
    FILE *p = popen("python3 " BENCH_DIR "/gen_send.py", "r");
    double ns = -1;
    char line[128];
    if (!p)
        return -1;
    if (fgets(line, sizeof line, p) && sscanf(line, "%lf %31s", &ns, version) != 2)
        ns = -1;
    return pclose(p) == 0 ? ns : -1;
}

static void row(const char *name, double ns, double instr)
{
    printf("%-22s %9.2f", name, ns);
    if (instr >= 0)
        printf(" %12.1f\n", instr);
    else
        printf(" %12s\n", "-");
}

int main(int argc, char **argv)
{
    /* Under callgrind: run one loop of the given length and nothing else. */
    if (argc == 5 && strcmp(argv[1], "--only") == 0 && strcmp(argv[3], "--count") == 0) {
        long n = atol(argv[4]);
        if (strcmp(argv[2], "resume") == 0)
            loop_resume(n);
        else if (strcmp(argv[2], "call") == 0)
            loop_call(n);
        else
            return 2;
        return 0;
    }
    if (argc != 1) {
        fprintf(stderr, "usage: %s [--only resume|call --count N]\n", argv[0]);
        return 2;
    }

    /* Alternate the two so both see the same machine; keep each one's best. */
    double resume = 1e30, call = 1e30;
    for (int rep = 0; rep < REPS; rep++) {
        resume = ns_per_op(loop_resume, resume);
        call = ns_per_op(loop_call, call);
    }

    char pyver[32] = "";
    double py = -1;
    if (!bench_have("python3"))
        printf("(python3 not on PATH: no Python figure)\n");
    else if (access(BENCH_DIR "/gen_send.py", R_OK) != 0)
        printf("(%s not found: run from the repository root)\n", BENCH_DIR "/gen_send.py");
    else if ((py = python_send(pyver)) < 0)
        printf("(gen_send.py failed: no Python figure)\n");

    double icall = -1, iresume = -1;
    if (!bench_have("valgrind"))
        printf("(valgrind not on PATH: no instruction counts)\n");
    else if (!strchr(argv[0], '/') || strchr(argv[0], '\''))
        printf("(run me by a path without quotes for instruction counts)\n");
    else if ((icall = instr_per_op(argv[0], "call")) < 0 ||
             (iresume = instr_per_op(argv[0], "resume")) < 0)
        printf("(callgrind could not run this binary: a sanitizer build, or debug\n"
               " info this valgrind cannot read, such as clang's DWARF 5?)\n");

    printf("%d ops x %d repetitions, best of each\n\n", OPS, REPS);
    printf("%-22s %9s %12s\n", "", "ns/op", "instr/op");
    row("indirect call", call, icall);
    row("generator resume", resume, iresume);
    if (py >= 0) {
        char name[64];
        snprintf(name, sizeof name, "python %s send", pyver);
        row(name, py, -1);
    }

    double ratio = resume / call;
    printf("\nresume / indirect call  %6.2fx", ratio);
    if (icall > 0 && iresume >= 0)
        printf("  (%.2fx in instructions)", iresume / icall);
    printf("\n");
    if (py >= 0)
        printf("python send / resume    %6.1fx\n", py / resume);
    printf("target: a resume costs at most 2x an indirect call: %s (%.2fx by time)\n",
           ratio <= 2.0 ? "met" : "NOT met", ratio);
    return 0;
}
