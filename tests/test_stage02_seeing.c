/*
 * test_stage02_seeing.c - seeing what the loop does: the deadlock report,
 * errors nobody retrieved, the slow-step warning (with a fake clock),
 * task_dump and the dump on SIGUSR1, traces (checked with a small JSON
 * checker, and in steps the same bytes every run), ten thousand tasks, and
 * task operations misused or called outside a loop.
 *
 * The tcases "reports", "trace" and "misc" of the stage02 suite; the
 * helpers they share are in stage02_util.h.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "stage02_util.h"

/* ===== deadlock and reports ============================================ */

struct dead { co_t co; };
static int dead(co_t *co)
{
    CO_BEGIN(co);
    AWAIT(task_join(TASK_SPAWN(sleeper, struct sleeper, .name = "s")));
    CO_FINALLY
    ev("main.fin%d", CO_ERROR);
    CO_END;
}

START_TEST(deadlock_is_reported_and_cleaned_up)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, dead, struct dead), -EDEADLK);
    ck_assert_str_eq(evlog, "s.park main.fin-125 s.fin-125"); /* cleanup ran */
    ck_assert_ptr_nonnull(strstr(log, "async: deadlock: 2 task(s) parked with nothing "
                                      "left to wake them:\n2 task(s), 0 ready:\n"));
    ck_assert_ptr_nonnull(strstr(log, "  task 'main#1' parked on join task 'sleeper#2'\n"));
    ck_assert_ptr_nonnull(strstr(log, "  task 'sleeper#2' parked on gate with 1 waiter(s)\n"));
    ck_assert_ptr_null(strstr(log, "nobody retrieved")); /* cancelled is not failed */
    free(log);
}
END_TEST

struct mutual { co_t co; task_t **other; };
static int mutual(co_t *co)
{
    struct mutual *f = (struct mutual *)co;
    CO_BEGIN(co);
    AWAIT(task_join(*f->other));
    CO_FINALLY
    ev("fin%d", CO_ERROR);
    CO_END;
}

struct mutual_main { co_t co; task_t *a, *b; };
static int mutual_main(co_t *co)
{
    struct mutual_main *f = (struct mutual_main *)co;
    CO_BEGIN(co);
    f->a = TASK_SPAWN(mutual, struct mutual, .other = &f->b);
    f->b = TASK_SPAWN(mutual, struct mutual, .other = &f->a);
    task_detach(f->a);
    task_detach(f->b);
    AWAIT(task_yield()); /* they park joining each other; we end */
    CO_RETURN(1);
    CO_END;
}

START_TEST(deadlock_two_tasks_joining_each_other)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, mutual_main, struct mutual_main), -EDEADLK);
    ck_assert_str_eq(evlog, "fin-125 fin-125");
    ck_assert_ptr_nonnull(strstr(log, "  task 'mutual#2' parked on join task 'mutual#3'\n"));
    ck_assert_ptr_nonnull(strstr(log, "  task 'mutual#3' parked on join task 'mutual#2'\n"));
    free(log);
}
END_TEST

struct unretrieved { co_t co; };
static int unretrieved(co_t *co)
{
    CO_BEGIN(co);
    TASK_SPAWN(ret_fn, struct ret, .err = -EIO);         /* never joined */
    task_cancel(TASK_SPAWN(ret_fn, struct ret, .v = 2)); /* cancelled: no error */
    AWAIT(task_yield());
    CO_RETURN(0);
    CO_END;
}

START_TEST(unretrieved_error_is_reported)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, unretrieved, struct unretrieved), 0);
    ck_assert_str_eq(log, "async: task 'ret_fn#2' failed with error -5 (Input/output "
                          "error) and nobody retrieved it\n");
    free(log);
}
END_TEST

struct detached { co_t co; };
static int detached(co_t *co)
{
    CO_BEGIN(co);
    task_detach(TASK_SPAWN(stepper, struct stepper, .name = "x", .turns = 1, .err = -ENOENT));
    task_detach(TASK_SPAWN(stepper, struct stepper, .name = "y", .turns = 1));
    AWAIT(task_yield());
    AWAIT(task_yield());
    /* x has ended: its report is on the log already, before the loop ends */
    ev("main.end logged=%d", ftell(loop_current()->opts.log) > 0);
    CO_END;
}

START_TEST(detached_failing_task_is_reported)
{
    char *log;
    ck_assert_int_eq(RUN(NULL, &log, detached, struct detached), 0);
    ck_assert_str_eq(evlog, "x0 y0 x.end x.fin-2 y.end main.end logged=1");
    ck_assert_str_eq(log, "async: task 'stepper#2' failed with error -2 (No such file or "
                          "directory) and nobody retrieved it\n");
    free(log);
}
END_TEST

/* ===== the slow-step warning, with a fake clock ======================== */

/* fake_clock() is in stage02_util.c.  hog and hog_main stay here, though
 * the regressions use hog_main too: the warning names hog's file and line,
 * and these tests expect this file's __FILE__. */

static int hog_line;

struct hog { co_t co; };
static int hog(co_t *co)
{
    CO_BEGIN(co);
    hog_line = __LINE__ + 1;
    AWAIT(task_yield());
    CO_END;
}

int hog_main(co_t *co)
{
    CO_BEGIN(co);
    AWAIT(task_join(TASK_SPAWN(hog, struct hog)));
    CO_END;
}

START_TEST(slow_step_warning_names_task)
{
    uint64_t clk[2] = {1000, 5000000}; /* every step takes 5 ms */
    struct loop_opts o = {.clock = fake_clock, .clock_ctx = clk, .slow_ns = 1000000};
    char *log;
    char want[256];
    ck_assert_int_eq(run_opts(&o, hog_main, &(struct hog_main){.co = {0}},
                              sizeof(struct hog_main), NULL, &log),
                     0);
    ck_assert_int_eq(count_of(log, "async: slow step: "), 4); /* 2 steps each */
    snprintf(want, sizeof want,
             "async: slow step: task 'hog#2' ran 5.000 ms without awaiting (limit "
             "1.000 ms), from start of hog to hog (%s:%d)\n",
             __FILE__, hog_line);
    ck_assert_ptr_nonnull(strstr(log, want));
    snprintf(want, sizeof want, "task 'hog#2' ran 5.000 ms without awaiting (limit "
             "1.000 ms), from hog (%s:%d) to end of hog\n", __FILE__, hog_line);
    ck_assert_ptr_nonnull(strstr(log, want));
    free(log);
}
END_TEST

START_TEST(no_slow_step_warning_below_threshold)
{
    uint64_t clk[2] = {0, 2000000}; /* 2 ms per step: not longer than 2 ms */
    struct loop_opts o = {.clock = fake_clock, .clock_ctx = clk, .slow_ns = 2000000};
    char *log;
    ck_assert_int_eq(run_opts(&o, hog_main, &(struct hog_main){.co = {0}},
                              sizeof(struct hog_main), NULL, &log),
                     0);
    ck_assert_str_eq(log, "");
    free(log);
    /* and with no limit at all, a slow clock is never looked at */
    clk[1] = 1000000000;
    o.slow_ns = 0;
    ck_assert_int_eq(run_opts(&o, hog_main, &(struct hog_main){.co = {0}},
                              sizeof(struct hog_main), NULL, &log),
                     0);
    ck_assert_str_eq(log, "");
    ck_assert_uint_eq(clk[0], 2000000 * 8); /* only the first run's 8 reads */
    free(log);
}
END_TEST

START_TEST(slow_step_limit_from_environment)
{
    uint64_t clk[2] = {0, 5000000};
    struct loop_opts o = {.clock = fake_clock, .clock_ctx = clk};
    char *log;
    setenv("ASYNC_SLOW_MS", "3", 1);
    ck_assert_int_eq(run_opts(&o, hog_main, &(struct hog_main){.co = {0}},
                              sizeof(struct hog_main), NULL, &log),
                     0);
    unsetenv("ASYNC_SLOW_MS");
    ck_assert_int_eq(count_of(log, "(limit 3.000 ms)"), 4);
    free(log);
    setenv("ASYNC_DEBUG", "1", 1); /* asyncio's default: 100 ms */
    clk[1] = 150000000;
    ck_assert_int_eq(run_opts(&o, hog_main, &(struct hog_main){.co = {0}},
                              sizeof(struct hog_main), NULL, &log),
                     0);
    unsetenv("ASYNC_DEBUG");
    ck_assert_int_eq(count_of(log, "ran 150.000 ms without awaiting (limit 100.000 ms)"), 4);
    free(log);
}
END_TEST

/* ===== task_dump ======================================================= */

static int dump_outer_line, dump_inner_line;

struct dump_inner { co_t co; task_t *target; };
static int dump_inner(co_t *co)
{
    struct dump_inner *f = (struct dump_inner *)co;
    CO_BEGIN(co);
    dump_inner_line = __LINE__ + 1;
    AWAIT(task_join(f->target));
    CO_RETURN(CO_VALUE);
    CO_END;
}

struct dumpee { co_t co; struct dump_inner sub; };
static int dumpee(co_t *co)
{
    struct dumpee *f = (struct dumpee *)co;
    CO_BEGIN(co);
    f->sub.target = TASK_SPAWN(sleeper, struct sleeper, .name = "s");
    dump_outer_line = __LINE__ + 1;
    AWAIT_CO(&f->sub.co, dump_inner);
    CO_RETURN(CO_VALUE);
    CO_END;
}

static char *dump_text;

struct dump_main { co_t co; task_t *d, *busy, *done, *failed; int err; };
static int dump_main(co_t *co)
{
    struct dump_main *f = (struct dump_main *)co;
    struct capture c;
    CO_BEGIN(co);
    f->d = TASK_SPAWN(dumpee, struct dumpee);
    f->done = TASK_SPAWN(ret_fn, struct ret, .v = 5);
    f->failed = TASK_SPAWN(ret_fn, struct ret, .err = -EIO);
    f->busy = TASK_SPAWN(ret_fn, struct ret, .yields = 3);
    AWAIT(task_yield());
    AWAIT(task_yield());
    task_dump(cap_open(&c));
    dump_text = cap_close(&c);
    gate_open_one(&G, 8, 0);
    AWAIT(task_join(f->d));
    AWAIT(task_join(f->busy));
    AWAIT(task_join(f->done));
    AWAIT_CATCH(task_join(f->failed), f->err);
    CO_END;
}

START_TEST(task_dump_shows_state_wait_and_await_chain)
{
    char *log;
    char want[512];
    dump_text = NULL;
    ck_assert_int_eq(RUN(NULL, &log, dump_main, struct dump_main), 0);
    ck_assert_str_eq(log, "");
    free(log);
    ck_assert_ptr_nonnull(dump_text);
    ck_assert_ptr_nonnull(strstr(dump_text, "4 task(s), 1 ready:\n"));
    ck_assert_ptr_nonnull(strstr(dump_text, "  task 'main#1' running\n"));
    snprintf(want, sizeof want,
             "  task 'dumpee#2' parked on join task 'sleeper#6'\n"
             "      at dumpee (%s:%d)\n"
             "      at dump_inner (%s:%d)\n",
             __FILE__, dump_outer_line, __FILE__, dump_inner_line);
    ck_assert_ptr_nonnull(strstr(dump_text, want));
    ck_assert_ptr_nonnull(strstr(dump_text, "  task 'sleeper#6' parked on gate with 1 waiter(s)\n"
                                            "      at sleeper ("));
    ck_assert_ptr_nonnull(strstr(dump_text, "  task 'ret_fn#3' done with value 5\n"));
    ck_assert_ptr_nonnull(strstr(dump_text, "  task 'ret_fn#4' done with error -5 "
                                            "(Input/output error)\n"));
    ck_assert_ptr_nonnull(strstr(dump_text, "  task 'ret_fn#5' ready\n      at ret_fn ("));
    free(dump_text);
}
END_TEST

/* ===== the task dump on SIGUSR1 ========================================= */

/* Everything written to a stream opened with tmpfile(), from the start. */
static char *stream_text(FILE *f)
{
    struct capture c;
    cap_open(&c);
    fflush(f);
    rewind(f);
    int ch;
    while ((ch = getc(f)) != EOF)
        fputc(ch, c.f);
    return cap_close(&c);
}

static int usr1_line;

/* Spawns a stepper, lets it run once, then raises SIGUSR1 in the middle of
 * its own step - the handler runs at once, before raise() returns - and
 * goes on to join the stepper. */
struct usr1_main { co_t co; task_t *w; int raised; };
static int usr1_main(co_t *co)
{
    struct usr1_main *f = (struct usr1_main *)co;
    CO_BEGIN(co);
    f->w = TASK_SPAWN(stepper, struct stepper, .name = "w", .turns = 3, .value = 7);
    AWAIT(task_yield());
    ev("raise");
    f->raised = raise(SIGUSR1);
    ev("after");
    usr1_line = __LINE__ + 1;
    AWAIT(task_join(f->w));
    CO_RETURN(CO_VALUE * 10 + f->raised);
    CO_END;
}

START_TEST(sigusr1_dumps_the_tasks_and_the_program_goes_on)
{
    struct sigaction before, after;
    ck_assert_int_eq(sigaction(SIGUSR1, NULL, &before), 0);
    ck_assert(before.sa_handler == SIG_DFL); /* or this test could not tell */
    FILE *logf = tmpfile();
    ck_assert_ptr_nonnull(logf);
    struct loop_opts o = {.log = logf};
    intptr_t r = 0;
    int rc = loop_run_opts(&o, usr1_main, &(struct usr1_main){.co = {0}},
                           sizeof(struct usr1_main), &r);
    char *log = stream_text(logf);
    fclose(logf);
    ck_assert_int_eq(sigaction(SIGUSR1, NULL, &after), 0);

    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(r, 70); /* the stepper's 7, and raise() returned 0 */
    ck_assert_str_eq(evlog, "w0 raise after w1 w2 w.end");
    /* Once, between steps: after main's second step, with main parked on
     * the join and the stepper ready for its second turn. */
    ck_assert_int_eq(count_of(log, "SIGUSR1"), 1);
    char want[256];
    snprintf(want, sizeof want,
             "async: SIGUSR1: the tasks after 3 steps (the program goes on):\n"
             "2 task(s), 1 ready:\n"
             "  task 'main#1' parked on join task 'stepper#2'\n"
             "      at usr1_main (%s:%d)\n"
             "  task 'stepper#2' ready\n"
             "      at stepper (",
             __FILE__, usr1_line);
    ck_assert_msg(strncmp(log, want, strlen(want)) == 0, "the log:\n%s", log);
    ck_assert_ptr_null(strstr(log, "nobody retrieved"));
    free(log);
    /* The loop put back what it found. */
    ck_assert(after.sa_handler == SIG_DFL);
}
END_TEST

static volatile sig_atomic_t own_handler_ran;
static void own_handler(int sig)
{
    (void)sig;
    own_handler_ran++;
}

START_TEST(sigusr1_handler_of_the_program_is_left_alone)
{
    struct sigaction sa, old, after;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = own_handler;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old), 0);
    own_handler_ran = 0;
    FILE *logf = tmpfile();
    ck_assert_ptr_nonnull(logf);
    struct loop_opts o = {.log = logf};
    intptr_t r = 0;
    int rc = loop_run_opts(&o, usr1_main, &(struct usr1_main){.co = {0}},
                           sizeof(struct usr1_main), &r);
    char *log = stream_text(logf);
    fclose(logf);
    sigaction(SIGUSR1, NULL, &after);
    sigaction(SIGUSR1, &old, NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(r, 70);
    ck_assert_int_eq(own_handler_ran, 1); /* the program's handler got it */
    ck_assert_str_eq(log, "");            /* and the loop dumped nothing */
    free(log);
    ck_assert(after.sa_handler == own_handler);
}
END_TEST

/* ===== traces =========================================================== */

/* A small JSON checker: enough to tell a well-formed trace from a broken one
 * (brackets, commas, strings with escapes, numbers, literals). */
static int json_value(const char **p, int depth);

static void json_ws(const char **p)
{
    while (**p == ' ' || **p == '\n' || **p == '\t' || **p == '\r')
        (*p)++;
}

static int json_string(const char **p)
{
    if (**p != '"')
        return 0;
    for ((*p)++; **p != '"'; (*p)++) {
        if ((unsigned char)**p < 0x20)
            return 0; /* includes the end of the text */
        if (**p == '\\') {
            (*p)++;
            if (**p == 'u') {
                for (int i = 0; i < 4; i++) {
                    (*p)++;
                    if (!strchr("0123456789abcdefABCDEF", **p) || !**p)
                        return 0;
                }
            } else if (!**p || !strchr("\"\\/bfnrt", **p)) {
                return 0;
            }
        }
    }
    (*p)++;
    return 1;
}

static int json_digits(const char **p)
{
    const char *s = *p;
    while (**p >= '0' && **p <= '9')
        (*p)++;
    return *p > s;
}

static int json_number(const char **p)
{
    if (**p == '-')
        (*p)++;
    if (!json_digits(p))
        return 0;
    if (**p == '.') {
        (*p)++;
        if (!json_digits(p))
            return 0;
    }
    if (**p == 'e' || **p == 'E') {
        (*p)++;
        if (**p == '+' || **p == '-')
            (*p)++;
        if (!json_digits(p))
            return 0;
    }
    return 1;
}

static int json_items(const char **p, int depth, char close, int keyed)
{
    (*p)++;
    json_ws(p);
    if (**p == close) {
        (*p)++;
        return 1;
    }
    for (;;) {
        if (keyed) {
            if (!json_string(p))
                return 0;
            json_ws(p);
            if (**p != ':')
                return 0;
            (*p)++;
        }
        if (!json_value(p, depth + 1))
            return 0;
        json_ws(p);
        if (**p == close) {
            (*p)++;
            return 1;
        }
        if (**p != ',')
            return 0;
        (*p)++;
        json_ws(p);
    }
}

static int json_value(const char **p, int depth)
{
    if (depth > 32)
        return 0;
    json_ws(p);
    if (**p == '{')
        return json_items(p, depth, '}', 1);
    if (**p == '[')
        return json_items(p, depth, ']', 0);
    if (**p == '"')
        return json_string(p);
    static const char *const words[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++)
        if (strncmp(*p, words[i], strlen(words[i])) == 0) {
            *p += strlen(words[i]);
            return 1;
        }
    return json_number(p);
}

static int json_valid(const char *s)
{
    if (!json_value(&s, 0))
        return 0;
    json_ws(&s);
    return *s == '\0';
}

START_TEST(json_checker_can_fail)
{
    ck_assert(json_valid("{\"a\":[1,-2.5e3,\"x\\\"y\\u00e9\",true,null],\"b\":{}}"));
    ck_assert(!json_valid("{\"a\":[1,2}"));
    ck_assert(!json_valid("{\"a\":1,}"));
    ck_assert(!json_valid("[1 2]"));
    ck_assert(!json_valid("{\"a\":\"unterminated}"));
    ck_assert(!json_valid("[1],"));
}
END_TEST

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    struct capture c;
    cap_open(&c);
    int ch;
    while ((ch = getc(f)) != EOF)
        fputc(ch, c.f);
    fclose(f);
    return cap_close(&c);
}

static uint64_t trace_steps;

struct traced { co_t co; task_t *a, *b; int err; };
static int traced(co_t *co)
{
    struct traced *f = (struct traced *)co;
    CO_BEGIN(co);
    /* a name JSON must escape */
    f->a = task_spawn(stepper, &(struct stepper){.name = "a", .turns = 2},
                      sizeof(struct stepper), "st\"ep");
    f->b = TASK_SPAWN(sleeper, struct sleeper, .name = "b");
    AWAIT(task_join(f->a));
    task_cancel(f->b);
    AWAIT_CATCH(task_join(f->b), f->err);
    trace_steps = loop_current()->steps + 1; /* this is the last step */
    CO_END;
}

/* Read the trace and remove it (first, so a failed check leaves no file). */
static void check_trace(const char *path)
{
    char *json = read_file(path);
    unlink(path);
    ck_assert_ptr_nonnull(json);
    ck_assert_msg(json_valid(json), "not valid JSON:\n%s", json);
    ck_assert_int_eq(count_of(json, "\"name\":\"thread_name\""), 3); /* one per task */
    ck_assert_ptr_nonnull(strstr(json, "\"args\":{\"name\":\"main#1\"}"));
    ck_assert_ptr_nonnull(strstr(json, "\"args\":{\"name\":\"st\\\"ep#2\"}"));
    ck_assert_ptr_nonnull(strstr(json, "\"args\":{\"name\":\"sleeper#3\"}"));
    ck_assert_int_eq(count_of(json, "\"ph\":\"X\""), (int)trace_steps);
    ck_assert_int_eq(count_of(json, "\"name\":\"spawn\""), 3);
    ck_assert_int_eq(count_of(json, "\"name\":\"cancel\""), 1);
    free(json);
}

START_TEST(trace_path_writes_valid_json)
{
    char path[] = "/tmp/stage02_traceXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    struct loop_opts o = {.trace_path = path};
    char *log;
    trace_steps = 0;
    int rc = run_opts(&o, traced, &(struct traced){.co = {0}}, sizeof(struct traced), NULL, &log);
    check_trace(path);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(log, "");
    free(log);
    ck_assert_uint_eq(trace_steps, 8);
}
END_TEST

START_TEST(trace_from_environment)
{
    char path[] = "/tmp/stage02_traceXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    setenv("ASYNC_TRACE", path, 1);
    char *log;
    trace_steps = 0;
    int rc = RUN(NULL, &log, traced, struct traced);
    unsetenv("ASYNC_TRACE");
    check_trace(path);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

/* In steps the times are ticks, one per event: the same program writes the
 * same bytes however long its steps took. */
START_TEST(trace_in_steps_is_the_same_every_run)
{
    char path[2][32] = {"/tmp/stage02_traceXXXXXX", "/tmp/stage02_traceXXXXXX"};
    char *json[2];
    for (int i = 0; i < 2; i++) {
        int fd = mkstemp(path[i]);
        ck_assert_int_ge(fd, 0);
        close(fd);
        /* the first from opts, the second from the environment */
        struct loop_opts o = {.trace_path = path[i], .trace_steps = i == 0};
        if (i == 1)
            setenv("ASYNC_TRACE_CLOCK", "steps", 1);
        char *log;
        int rc = run_opts(&o, traced, &(struct traced){.co = {0}}, sizeof(struct traced), NULL, &log);
        unsetenv("ASYNC_TRACE_CLOCK");
        json[i] = read_file(path[i]);
        ck_assert_int_eq(rc, 0);
        ck_assert_str_eq(log, "");
        free(log);
    }
    ck_assert_ptr_nonnull(json[0]);
    ck_assert_ptr_nonnull(json[1]);
    ck_assert_str_eq(json[0], json[1]);
    ck_assert_ptr_nonnull(strstr(json[0], "\"otherData\":{\"clock\":\"steps\"}"));
    ck_assert_ptr_nonnull(strstr(json[0], "\"name\":\"spawn\",\"pid\":1,\"tid\":1,\"ts\":0.000}"));
    /* Every tick is used once: a step's start and end, and each mark. */
    int used[64] = {0}, ticks = 0;
    for (const char *p = strstr(json[0], "\"ts\":"); p; p = strstr(p + 1, "\"ts\":")) {
        char *end;
        double ts = strtod(p + 5, &end), dur = 0;
        if (strncmp(end, ",\"dur\":", 7) == 0)
            dur = strtod(end + 7, NULL);
        for (int k = 0; k < (dur > 0 ? 2 : 1); k++) {
            double at = k ? ts + dur : ts;
            ck_assert_msg(at >= 0 && at < 64 && at == (int)at, "tick %f", at);
            used[(int)at]++;
            ticks++;
        }
    }
    ck_assert_int_eq(ticks, 2 * 8 + count_of(json[0], "\"ph\":\"i\""));
    for (int k = 0; k < 64; k++)
        ck_assert_int_eq(used[k], k < ticks ? 1 : 0);
    free(json[0]);
    free(json[1]);
    check_trace(path[0]); /* well-formed, with the same lanes and steps */
    unlink(path[1]);
}
END_TEST

START_TEST(trace_clock_from_environment_is_checked)
{
    char path[] = "/tmp/stage02_traceXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    setenv("ASYNC_TRACE_CLOCK", "ticks", 1);
    struct loop_opts o = {.trace_path = path};
    char *log;
    int rc = run_opts(&o, ret_fn, &(struct ret){.v = 3}, sizeof(struct ret), NULL, &log);
    unsetenv("ASYNC_TRACE_CLOCK");
    char *json = read_file(path);
    unlink(path);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(log, "async: ignoring ASYNC_TRACE_CLOCK=ticks: want steps, or ns "
                          "(the clock, the default)\n");
    ck_assert_ptr_nonnull(json);
    ck_assert_ptr_nonnull(strstr(json, "\"otherData\":{\"clock\":\"ns\"}"));
    free(json);
    free(log);
}
END_TEST

START_TEST(trace_to_bad_path_is_reported_and_harmless)
{
    struct loop_opts o = {.trace_path = "/nonexistent-dir/trace.json"};
    char *log;
    intptr_t r = 0;
    ck_assert_int_eq(run_opts(&o, ret_fn, &(struct ret){.v = 3, .yields = 1},
                              sizeof(struct ret), &r, &log),
                     0);
    ck_assert_int_eq(r, 3);
    ck_assert_str_eq(log, "async: cannot write trace to /nonexistent-dir/trace.json: "
                          "No such file or directory\n");
    free(log);
}
END_TEST

/* ===== many tasks, and outside a loop ================================== */

enum { MANY = 10000 };

struct many { co_t co; task_t **t; int i; intptr_t sum; };
static int many(co_t *co)
{
    struct many *f = (struct many *)co;
    CO_BEGIN(co);
    f->t = malloc(MANY * sizeof *f->t);
    if (!f->t)
        CO_RAISE(-ENOMEM);
    for (f->i = 0; f->i < MANY; f->i++)
        f->t[f->i] = TASK_SPAWN(ret_fn, struct ret, .v = f->i, .yields = f->i % 3);
    for (f->i = 0; f->i < MANY; f->i++) {
        AWAIT(task_join(f->t[f->i]));
        f->sum += CO_VALUE;
    }
    CO_RETURN(f->sum);
    CO_FINALLY
    free(f->t);
    CO_END;
}

START_TEST(ten_thousand_tasks)
{
    intptr_t r = 0;
    char *log;
    ck_assert_int_eq(RUN(&r, &log, many, struct many), 0);
    ck_assert_int_eq(r, (intptr_t)MANY * (MANY - 1) / 2);
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

struct outside { co_t co; };
static int outside(co_t *co)
{
    CO_BEGIN(co);
    AWAIT(task_yield());
    CO_FINALLY
    ev("fin%d", CO_ERROR);
    CO_END;
}

START_TEST(task_operations_outside_a_loop_fail_cleanly)
{
    struct ret fr = {.v = 1};
    errno = 0;
    ck_assert_ptr_null(task_spawn(ret_fn, &fr, sizeof fr, "x"));
    ck_assert_int_eq(errno, EPERM);
    ck_assert_ptr_null(task_current());
    ck_assert_ptr_null(loop_current());
    ck_assert_int_eq(task_cancel(NULL), -EINVAL);
    ck_assert_int_eq(task_wake(NULL, 0, 0), -EINVAL);
    /* an awaited operation raises TASK_ENOLOOP in the coroutine */
    struct outside o;
    co_init(&o.co, outside);
    ck_assert_int_eq(co_next(&o.co, NULL), TASK_ENOLOOP);
    ck_assert_str_eq(evlog, "fin-1102");
    struct capture c;
    task_dump(cap_open(&c));
    char *text = cap_close(&c);
    ck_assert_str_eq(text, "  (no loop running)\n");
    free(text);
}
END_TEST

struct misuse { co_t co; task_t *t; int wake, park; };
static int misuse(co_t *co)
{
    struct misuse *f = (struct misuse *)co;
    CO_BEGIN(co);
    f->t = TASK_SPAWN(ret_fn, struct ret, .v = 1);
    f->wake = task_wake(f->t, 5, 0); /* ready, not parked */
    AWAIT_CATCH(task_park(NULL, NULL), f->park);
    AWAIT(task_join(f->t));
    CO_RETURN(f->wake * 1000 + f->park * 10 + CO_VALUE);
    CO_END;
}

START_TEST(wake_of_unparked_task_and_park_without_wait)
{
    intptr_t r = 0;
    ck_assert_int_eq(LOOP_RUN(&r, misuse, struct misuse), 0);
    ck_assert_int_eq(r, -EINVAL * 1000 - EINVAL * 10 + 1);
}
END_TEST

START_TEST(names_of_states_and_errors)
{
    ck_assert_str_eq(task_state_name(TASK_READY), "ready");
    ck_assert_str_eq(task_state_name(TASK_RUNNING), "running");
    ck_assert_str_eq(task_state_name(TASK_PARKED), "parked");
    ck_assert_str_eq(task_state_name(TASK_DONE), "done");
    ck_assert_str_eq(task_state_name(TASK_CANCELLED), "cancelled");
    ck_assert_str_eq(task_state_name(99), "invalid");
    ck_assert_str_eq(task_strerror(TASK_EBADYIELD), "task yielded without awaiting anything");
    ck_assert_str_eq(task_strerror(TASK_ENOLOOP), "task operation outside a running task");
    ck_assert_str_eq(task_strerror(-EIO), strerror(EIO));
}
END_TEST

/* ===== the test cases =================================================== */

void stage02_add_seeing(Suite *s)
{
    TCase *tc = new_case(s, "reports");
    tcase_add_test(tc, deadlock_is_reported_and_cleaned_up);
    tcase_add_test(tc, deadlock_two_tasks_joining_each_other);
    tcase_add_test(tc, unretrieved_error_is_reported);
    tcase_add_test(tc, detached_failing_task_is_reported);
    tcase_add_test(tc, slow_step_warning_names_task);
    tcase_add_test(tc, no_slow_step_warning_below_threshold);
    tcase_add_test(tc, slow_step_limit_from_environment);
    tcase_add_test(tc, task_dump_shows_state_wait_and_await_chain);
    tcase_add_test(tc, sigusr1_dumps_the_tasks_and_the_program_goes_on);
    tcase_add_test(tc, sigusr1_handler_of_the_program_is_left_alone);

    tc = new_case(s, "trace");
    tcase_add_test(tc, json_checker_can_fail);
    tcase_add_test(tc, trace_path_writes_valid_json);
    tcase_add_test(tc, trace_from_environment);
    tcase_add_test(tc, trace_in_steps_is_the_same_every_run);
    tcase_add_test(tc, trace_clock_from_environment_is_checked);
    tcase_add_test(tc, trace_to_bad_path_is_reported_and_harmless);

    tc = new_case(s, "misc");
    tcase_add_test(tc, ten_thousand_tasks);
    tcase_add_test(tc, task_operations_outside_a_loop_fail_cleanly);
    tcase_add_test(tc, wake_of_unparked_task_and_park_without_wait);
    tcase_add_test(tc, names_of_states_and_errors);
}
