/*
 * stage02_util.c - the helpers and coroutines the stage-2 test files share
 * (declared, with their frames, in stage02_util.h).
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

/* Built with AddressSanitizer (SAN=1, make fuzz-model): its leak checker
 * can be asked to look in the middle of a run. */
#if defined(__SANITIZE_ADDRESS__)
#define HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_LSAN 1
#endif
#endif
#ifdef HAVE_LSAN
#include <sanitizer/lsan_interface.h>
#endif

/* ---- the event log ------------------------------------------------------ */

char evlog[4096];

void ev(const char *fmt, ...)
{
    size_t n = strlen(evlog);
    if (n > 0 && n + 1 < sizeof evlog)
        evlog[n++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(evlog + n, sizeof evlog - n, fmt, ap);
    va_end(ap);
}

/* ---- a wait of the tests' own: a gate tasks park on ------------------- */

struct gate G;

static void gate_unpark(task_t *t)
{
    list_remove(&t->link);
    ((struct gate *)t->wait_on)->n--;
}

static void gate_describe(const task_t *t, FILE *out)
{
    fprintf(out, "with %d waiter(s)", ((const struct gate *)t->wait_on)->n);
}

static const struct task_wait gate_wait = {
    .what = "gate", .unpark = gate_unpark, .describe = gate_describe};

int gate_pass(struct gate *g)
{
    int r = task_park(&gate_wait, g);
    if (r == TASK_OP_PARKED) {
        list_append(&g->waiters, &task_current()->link);
        g->n++;
    }
    return r;
}

int gate_open_one(struct gate *g, intptr_t value, int err)
{
    if (list_empty(&g->waiters))
        return 0;
    return task_wake(list_entry(g->waiters.next, task_t, link), value, err) == 0;
}

/* ---- running a program with the loop's log captured --------------------- */

FILE *cap_open(struct capture *c)
{
    c->buf = NULL;
    c->len = 0;
    c->f = open_memstream(&c->buf, &c->len);
    ck_assert_ptr_nonnull(c->f);
    return c->f;
}

char *cap_close(struct capture *c)
{
    fclose(c->f);
    return c->buf;
}

int run_opts(struct loop_opts *o, co_fn fn, const void *frame, size_t size,
             intptr_t *result, char **log)
{
    struct capture c;
    o->log = cap_open(&c);
    int rc = loop_run_opts(o, fn, frame, size, result);
    *log = cap_close(&c);
    return rc;
}

int run_logged(co_fn fn, const void *frame, size_t size, intptr_t *result, char **log)
{
    struct loop_opts o = {0};
    return run_opts(&o, fn, frame, size, result, log);
}

int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

int under_valgrind(void)
{
    const char *preload = getenv("LD_PRELOAD");
    return preload && strstr(preload, "vgpreload");
}

static void setup(void)
{
    evlog[0] = '\0';
    list_init(&G.waiters);
    G.n = 0;
    /* The environment must not change what the loop does in these tests. */
    unsetenv("ASYNC_TRACE");
    unsetenv("ASYNC_TRACE_CLOCK");
    unsetenv("ASYNC_DEBUG");
    unsetenv("ASYNC_SLOW_MS");
}

static void teardown(void) {}

TCase *new_case(Suite *s, const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, setup, teardown);
    suite_add_tcase(s, tc);
    return tc;
}

/* ---- coroutines many tests share ---------------------------------------- */

/* Each is described, with its frame, in stage02_util.h. */

int ret_fn(co_t *co)
{
    struct ret *f = (struct ret *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->yields; f->i++)
        AWAIT(task_yield());
    if (f->err)
        CO_RAISE(f->err);
    CO_RETURN(f->v);
    CO_END;
}

int stepper(co_t *co)
{
    struct stepper *f = (struct stepper *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->turns; f->i++) {
        ev("%s%d", f->name, f->i);
        AWAIT(task_yield());
    }
    ev("%s.end", f->name);
    if (f->err)
        CO_RAISE(f->err);
    CO_RETURN(f->value);
    CO_FINALLY
    if (CO_ERROR)
        ev("%s.fin%d", f->name, CO_ERROR);
    CO_END;
}

int sleeper(co_t *co)
{
    struct sleeper *f = (struct sleeper *)co;
    CO_BEGIN(co);
    ev("%s.park", f->name);
    if (f->catch_it) {
        AWAIT_CATCH(gate_pass(&G), f->err);
        ev("%s.caught%d", f->name, f->err);
        CO_RETURN(f->ret);
    }
    AWAIT(gate_pass(&G));
    ev("%s.woke%ld", f->name, (long)CO_VALUE);
    CO_RETURN(CO_VALUE);
    CO_FINALLY
    if (CO_ERROR)
        ev("%s.fin%d", f->name, CO_ERROR);
    CO_END;
}

int ticker(co_t *co)
{
    struct ticker *f = (struct ticker *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->ticks; f->i++) {
        ev("|");
        AWAIT(task_yield());
    }
    CO_END;
}

int joiner(co_t *co)
{
    struct joiner *f = (struct joiner *)co;
    CO_BEGIN(co);
    AWAIT(task_join(f->target));
    CO_RETURN(CO_VALUE + 1);
    CO_END;
}

int grumpy(co_t *co)
{
    struct grumpy *f = (struct grumpy *)co;
    CO_BEGIN(co);
    AWAIT_CATCH(gate_pass(&G), f->err);
    ev("grumpy%d", f->err);
    CO_RAISE(-EPIPE);
    CO_END;
}

/* ---- the model-based fuzzers' seeds ------------------------------------ */

uint64_t model_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

unsigned model_below(uint64_t *s, unsigned n) { return (unsigned)(model_next(s) >> 32) % n; }

uint64_t model_seed(uint64_t z)
{
    z += UINT64_C(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    z ^= z >> 31;
    return z ? z : 1; /* xorshift's one state it cannot leave */
}

uint64_t model_env(const char *name, uint64_t dflt, uint64_t min)
{
    const char *s = getenv(name);
    char *end;
    if (!s || !*s)
        return dflt;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s == '-' || *end || errno || v < min) {
        fprintf(stderr, "ignoring %s=%s: want a number >= %" PRIu64 "\n", name, s, min);
        return dflt;
    }
    return v;
}

void model_run_seeds(int stage, uint64_t first, uint64_t end,
                     const char *(*run)(uint64_t seed, char **log), void (*show)(const char *log))
{
    char why1[512] = "", others[256] = "";
    uint64_t seed1 = 0;
    unsigned nbad = 0;
    for (uint64_t s = first; s < end; s++) {
        char *log;
        const char *why = run(s, &log);
        if (show)
            show(log);
        free(log);
        if (why && nbad++ == 0) {
            seed1 = s;
            snprintf(why1, sizeof why1, "%s", why);
        } else if (why) {
            size_t n = strlen(others);
            snprintf(others + n, sizeof others - n, " %" PRIu64, s);
        }
    }
    ck_assert_msg(nbad == 0,
                  "model seed %" PRIu64 ": %s\n    replay: CK_RUN_SUITE=stage0%d CK_RUN_CASE=model "
                  "MODEL_SEED_START=%" PRIu64 " MODEL_SEEDS=1 MODEL_VERBOSE=1 make stage%d test\n"
                  "    %u failing seed(s) in %" PRIu64 "..%" PRIu64 "; the others:%s",
                  seed1, why1, stage, seed1, stage, nbad, first, end - 1, nbad > 1 ? others : " none");
#ifdef HAVE_LSAN
    /* All memory is freed when loop_run returns: once per block (a look is a
     * scan of the whole heap), so that a leak is named by its seeds rather
     * than reported once at exit.  LeakSanitizer prints what it found. */
    ck_assert_msg(!__lsan_do_recoverable_leak_check(),
                  "model seeds %" PRIu64 "..%" PRIu64 " leaked memory (the report is above)\n"
                  "    replay: CK_RUN_SUITE=stage0%d CK_RUN_CASE=model MODEL_SEED_START=%" PRIu64
                  " MODEL_SEEDS=%" PRIu64 " make stage%d test SAN=1",
                  first, end - 1, stage, first, end - first, stage);
#endif
}

/* ---- the slow-step warning ---------------------------------------------- */

uint64_t fake_clock(void *ctx)
{
    uint64_t *c = ctx;
    uint64_t step = c[1];
    return c[0] += step; /* every read of the clock advances it by c[1] */
}
