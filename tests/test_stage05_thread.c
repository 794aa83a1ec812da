/*
 * test_stage05_thread.c - thread_run: the function runs on another thread
 * and its result comes back (a negative one as the error); the loop keeps
 * running while it blocks; many calls at once, more than the pool has
 * workers; cancellation waits for the function to return; a due
 * cancellation runs nothing; no thread and no descriptor outlives the loop;
 * loops one after another.
 *
 * Nothing sleeps for real.  A blocking function here is a read(2) of a
 * pipe that a task of the loop writes to only after some turns of its own:
 * the order of the event log proves the loop ran meanwhile, and a
 * cancellation cannot finish before that write.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stage05_util.h"

#define HOUR 3600000u

/* ---- the blocking functions (they run on a worker thread) ------------------ */

struct th_who { pthread_t who; int v; };
static int th_who(void *arg)
{
    struct th_who *a = arg;
    a->who = pthread_self();
    return a->v;
}

/* Blocks until a byte arrives on fd; returns it.  `returned` is set after
 * the read: the loop side reads it only after the thread_run completed. */
struct th_pipe { int fd; int returned; };
static int th_read(void *arg)
{
    struct th_pipe *p = arg;
    char c = 0;
    ssize_t n = read(p->fd, &c, 1);
    p->returned = 1;
    return n == 1 ? (unsigned char)c : -EIO;
}

static int th_flag(void *arg)
{
    *(int *)arg = 1;
    return 5;
}

/* ===== result and error ======================================================= */

struct th_basic { co_t co; struct th_who *a; pthread_t *me; intptr_t *val; };
static int th_basic(co_t *co)
{
    struct th_basic *f = (struct th_basic *)co;
    CO_BEGIN(co);
    *f->me = pthread_self();
    AWAIT(thread_run(th_who, f->a));
    *f->val = CO_VALUE;
    CO_RETURN(CO_VALUE + 1);
    CO_END;
}

START_TEST(thread_run_runs_on_another_thread)
{
    struct th_who a = {.v = 42};
    a.who = pthread_self();
    pthread_t me;
    intptr_t val = 0, r = 0;
    char *log;
    ck_assert_int_eq(S5_RUN(&r, &log, th_basic, struct th_basic, .a = &a, .me = &me, .val = &val), 0);
    ck_assert_str_eq(log, "");
    free(log);
    ck_assert(pthread_equal(me, pthread_self())); /* the loop runs here */
    ck_assert(!pthread_equal(a.who, me));         /* the function did not */
    ck_assert_int_eq(val, 42);
    ck_assert_int_eq(r, 43);
}
END_TEST

static int th_fail(void *arg)
{
    return *(int *)arg;
}

/* One call per loop run here: several in one loop are the subject of
 * thread_run_one_call_after_another_in_one_loop. */
struct th_err { co_t co; int code; int catch_it; int err; };
static int th_err(co_t *co)
{
    struct th_err *f = (struct th_err *)co;
    CO_BEGIN(co);
    if (f->catch_it) {
        AWAIT_CATCH(thread_run(th_fail, &f->code), f->err);
        ev("caught=%s v%ld", s5_err(f->err), (long)CO_VALUE);
        CO_RETURN(9);
    }
    AWAIT(thread_run(th_fail, &f->code)); /* raised: ends main */
    ev("v%ld", (long)CO_VALUE);
    CO_FINALLY
    ev("fin=%s", s5_err(CO_ERROR));
    CO_END;
}

START_TEST(thread_run_negative_return_is_the_error)
{
    char *log;
    intptr_t r = 0;
    ck_assert_int_eq(S5_RUN(&r, &log, th_err, struct th_err, .code = -EIO, .catch_it = 1), 0);
    ck_assert_int_eq(r, 9);
    ck_assert_str_eq(evlog, "caught=EIO v0 fin=ok");
    free(log);
    evlog[0] = '\0';
    ck_assert_int_eq(S5_RUN(NULL, &log, th_err, struct th_err, .code = -EPERM), -EPERM);
    ck_assert_str_eq(evlog, "fin=EPERM");
    free(log);
    evlog[0] = '\0';
    ck_assert_int_eq(S5_RUN(NULL, &log, th_err, struct th_err, .code = 0), 0);
    ck_assert_str_eq(evlog, "v0 fin=ok");
    free(log);
}
END_TEST

/* thread_run(NULL) is -EINVAL; outside a task, TASK_ENOLOOP, and nothing
 * runs. */
struct th_inval { co_t co; int err; };
static int th_inval(co_t *co)
{
    struct th_inval *f = (struct th_inval *)co;
    CO_BEGIN(co);
    AWAIT_CATCH(thread_run(NULL, NULL), f->err);
    ev("null=%s", s5_err(f->err));
    CO_END;
}

struct th_out { co_t co; int *flag; int err; };
static int th_out(co_t *co)
{
    struct th_out *f = (struct th_out *)co;
    CO_BEGIN(co);
    AWAIT_CATCH(thread_run(th_flag, f->flag), f->err);
    CO_RETURN(1);
    CO_END;
}

START_TEST(thread_run_null_is_einval)
{
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, th_inval, struct th_inval), 0);
    ck_assert_str_eq(evlog, "null=EINVAL");
    ck_assert_str_eq(log, "");
    free(log);
}
END_TEST

START_TEST(thread_run_outside_a_task_is_enoloop)
{
    int flag = 0;
    struct th_out f = {.flag = &flag, .err = 1};
    co_init(&f.co, th_out);
    ck_assert_int_eq(co_next(&f.co, NULL), CO_RETURNED);
    ck_assert_int_eq(f.err, TASK_ENOLOOP);
    ck_assert_int_eq(thread_run(th_flag, &flag), TASK_OP_NOW);
    ck_assert_int_eq(flag, 0); /* no loop: nothing was started */
}
END_TEST

/* ===== the loop is not blocked ================================================= */

struct th_writer { co_t co; int fd; int turns, i; char byte; };
static int th_writer(co_t *co)
{
    struct th_writer *f = (struct th_writer *)co;
    CO_BEGIN(co);
    for (f->i = 0; f->i < f->turns; f->i++) {
        ev("w%d", f->i);
        AWAIT(task_yield());
    }
    ev("write");
    if (write(f->fd, &f->byte, 1) != 1)
        CO_RAISE(-EIO);
    CO_END;
}

struct th_noblock { co_t co; int *fds; struct th_pipe p; task_t *w; };
static int th_noblock(co_t *co)
{
    struct th_noblock *f = (struct th_noblock *)co;
    CO_BEGIN(co);
    f->p.fd = f->fds[0];
    f->w = TASK_SPAWN(th_writer, struct th_writer, .fd = f->fds[1], .turns = 5, .byte = 'x');
    AWAIT(thread_run(th_read, &f->p));
    ev("main.got %c returned%d", (char)CO_VALUE, f->p.returned);
    AWAIT(task_join(f->w));
    CO_END;
}

START_TEST(thread_run_does_not_block_the_loop)
{
    int fds[2];
    s5_pipe(fds);
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, th_noblock, struct th_noblock, .fds = fds), 0);
    ck_assert_str_eq(evlog, "w0 w1 w2 w3 w4 write main.got x returned1");
    ck_assert_str_eq(log, "");
    free(log);
    close(fds[0]);
    close(fds[1]);
}
END_TEST

/* ===== many at once ============================================================= */

enum { MANY = 50 };

struct th_sq { pthread_t who; int in; };
static int th_square(void *arg)
{
    struct th_sq *a = arg;
    a->who = pthread_self();
    return a->in * a->in;
}

struct th_child { co_t co; struct th_sq *a; intptr_t *out; };
static int th_child(co_t *co)
{
    struct th_child *f = (struct th_child *)co;
    CO_BEGIN(co);
    AWAIT(thread_run(th_square, f->a));
    *f->out = CO_VALUE;
    CO_END;
}

struct th_many { co_t co; struct th_sq *a; intptr_t *out; group_t g; int i; };
static int th_many(co_t *co)
{
    struct th_many *f = (struct th_many *)co;
    CO_BEGIN(co);
    group_init(&f->g);
    for (f->i = 0; f->i < MANY; f->i++)
        GROUP_SPAWN(&f->g, th_child, struct th_child, .a = &f->a[f->i], .out = &f->out[f->i]);
    CO_FINALLY
    AWAIT(group_join(&f->g, CO_ERROR));
    CO_END;
}

START_TEST(thread_run_many_at_once)
{
    struct th_sq a[MANY];
    intptr_t out[MANY];
    for (int i = 0; i < MANY; i++) {
        a[i].in = i + 1;
        a[i].who = pthread_self();
        out[i] = -1;
    }
    ck_assert_int_gt(MANY, thread_max_workers()); /* more than the pool has */
    ck_assert_int_ge(thread_max_workers(), 1);
    ck_assert_int_le(thread_max_workers(), 32);
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, th_many, struct th_many, .a = a, .out = out), 0);
    ck_assert_str_eq(log, "");
    free(log);
    int distinct = 0;
    for (int i = 0; i < MANY; i++) {
        ck_assert_int_eq(out[i], (intptr_t)(i + 1) * (i + 1));
        ck_assert(!pthread_equal(a[i].who, pthread_self()));
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = pthread_equal(a[j].who, a[i].who);
        distinct += !seen;
    }
    /* All 50 were out at once (spawned together), on at most the pool's
     * workers. */
    ck_assert_int_ge(distinct, 1);
    ck_assert_int_le(distinct, thread_max_workers());
}
END_TEST

/* ===== cancellation ============================================================= */

/* Cancelled while the function blocks: the task stays parked through main's
 * turns - until main writes the byte and the function returns - and then
 * gets -ECANCELED; the function's result is dropped. */
struct th_victim { co_t co; struct th_pipe *p; struct scope sc; uint64_t ms; int err; };
static int th_victim(co_t *co)
{
    struct th_victim *f = (struct th_victim *)co;
    CO_BEGIN(co);
    if (f->ms)
        scope_fail_after(&f->sc, f->ms);
    AWAIT_CATCH(thread_run(th_read, f->p), f->err);
    f->err = scope_close(&f->sc, f->err);
    ev("T=%s v%ld returned%d@%llu", s5_err(f->err), (long)CO_VALUE, f->p->returned, S5_MS);
    CO_END;
}

struct th_cancel { co_t co; int *fds; struct th_pipe p; task_t *t; int i; char byte; };
static int th_cancel(co_t *co)
{
    struct th_cancel *f = (struct th_cancel *)co;
    CO_BEGIN(co);
    f->p.fd = f->fds[0];
    f->t = TASK_SPAWN(th_victim, struct th_victim, .p = &f->p);
    AWAIT(task_yield());
    task_cancel(f->t);
    ev("cancel T.%s", task_state_name(f->t->state));
    for (f->i = 0; f->i < 3; f->i++) {
        AWAIT(task_yield());
        ev("y%d T.%s returned%d", f->i, task_state_name(f->t->state), f->p.returned);
    }
    AWAIT(sleep_ms(HOUR)); /* the virtual clock jumps: no real wait */
    ev("@%llu T.%s", S5_MS, task_state_name(f->t->state));
    f->byte = 'z';
    if (write(f->fds[1], &f->byte, 1) != 1)
        CO_RAISE(-EIO);
    ev("write");
    AWAIT(task_join(f->t));
    CO_END;
}

START_TEST(thread_run_cancelled_waits_for_the_function)
{
    int fds[2];
    s5_pipe(fds);
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, th_cancel, struct th_cancel, .fds = fds), 0);
    ck_assert_str_eq(evlog, "cancel T.parked y0 T.parked returned0 y1 T.parked returned0 "
                            "y2 T.parked returned0 @3600000 T.parked write "
                            "T=ECANCELED v0 returned1@3600000");
    ck_assert_str_eq(log, "");
    free(log);
    close(fds[0]);
    close(fds[1]);
}
END_TEST

/* The same with a scope: its deadline (10) passes while the function
 * blocks; the task gets -ETIMEDOUT only once the function returned (20). */
struct th_scope { co_t co; int *fds; struct th_pipe p; task_t *t; char byte; };
static int th_scope(co_t *co)
{
    struct th_scope *f = (struct th_scope *)co;
    CO_BEGIN(co);
    f->p.fd = f->fds[0];
    f->t = TASK_SPAWN(th_victim, struct th_victim, .p = &f->p, .ms = 10);
    AWAIT(sleep_ms(20));
    ev("@%llu T.%s", S5_MS, task_state_name(f->t->state));
    f->byte = 'z';
    if (write(f->fds[1], &f->byte, 1) != 1)
        CO_RAISE(-EIO);
    AWAIT(task_join(f->t));
    CO_END;
}

START_TEST(thread_run_timed_out_waits_for_the_function)
{
    int fds[2];
    s5_pipe(fds);
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, th_scope, struct th_scope, .fds = fds), 0);
    ck_assert_str_eq(evlog, "@20 T.parked T=ETIMEDOUT v0 returned1@20");
    ck_assert_str_eq(log, "");
    free(log);
    close(fds[0]);
    close(fds[1]);
}
END_TEST

/* A cancellation due before thread_run: -ECANCELED at once, and the
 * function never runs (checked after the loop, when no worker is left that
 * could still run it).  From task_cancel, and from an expired scope. */
struct th_due { co_t co; int *flag; struct scope sc; int err; };
static int th_due(co_t *co)
{
    struct th_due *f = (struct th_due *)co;
    CO_BEGIN(co);
    task_cancel(task_current());
    AWAIT_CATCH(thread_run(th_flag, &f->flag[0]), f->err);
    ev("due=%s", s5_err(f->err));
    scope_fail_after(&f->sc, 0);
    AWAIT_CATCH(thread_run(th_flag, &f->flag[1]), f->err);
    f->err = scope_close(&f->sc, f->err);
    ev("scoped=%s", s5_err(f->err));
    AWAIT_CATCH(thread_run(th_flag, &f->flag[2]), f->err); /* and then it runs */
    ev("after=%s v%ld", s5_err(f->err), (long)CO_VALUE);
    CO_END;
}

START_TEST(thread_run_with_a_due_cancellation_runs_nothing)
{
    int flag[3] = {0, 0, 0};
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, th_due, struct th_due, .flag = flag), 0);
    ck_assert_str_eq(evlog, "due=ECANCELED scoped=ETIMEDOUT after=ok v5");
    ck_assert_str_eq(log, "");
    free(log);
    ck_assert_int_eq(flag[0], 0);
    ck_assert_int_eq(flag[1], 0);
    ck_assert_int_eq(flag[2], 1);
}
END_TEST

/* ===== one call after another in one loop ====================================== */

/* The pool is made for the first call and taken down when its last job is
 * collected; the next call in the same loop makes a new one, whose pipe
 * most likely gets the old descriptor numbers.  Every selector must see the
 * new pipe.
 *
 * If the loop never hears of a finished job, main would stay parked for
 * ever; so a watchdog task checks, without waiting, whether the pool's pipe
 * has stayed readable over many turns of the loop while nobody collected
 * (in a working loop it is collected within two turns).  If so it records
 * it and wakes the pool's helper with io_forget, so the test fails instead
 * of hanging (and does not hang valgrind's run, which has no timeouts). */
static int pool_fd(void)
{
    struct loop *l = loop_current();
    for (struct list *p = l->all.next; p != &l->all; p = p->next) {
        task_t *t = list_entry(p, task_t, all);
        if (t->state == TASK_PARKED && t->name && strcmp(t->name, "thread pool") == 0 &&
            strcmp(t->wait->what, "io") == 0 && t->wait_on)
            return ((const struct io_waiter *)t->wait_on)->fd;
    }
    return -1;
}

struct th_watch { co_t co; int *done; int *stuck_turns; int stuck; };
static int th_watch(co_t *co)
{
    struct th_watch *f = (struct th_watch *)co;
    CO_BEGIN(co);
    while (!*f->done) {
        {
            int fd = pool_fd();
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            if (fd >= 0 && poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN))
                f->stuck++;
            else
                f->stuck = 0;
            if (f->stuck > 50) {
                *f->stuck_turns = f->stuck;
                f->stuck = 0;
                io_forget(fd); /* the helper wakes (-EBADF) and collects anyway */
            }
        }
        if (*f->stuck_turns) /* let the virtual clock run: the helper sleeps */
            AWAIT(sleep_ms(10));
        else
            AWAIT(task_yield());
    }
    CO_END;
}

struct th_seq { co_t co; int *stuck_turns; int done; task_t *w; struct th_who a; int i; };
static int th_seq(co_t *co)
{
    struct th_seq *f = (struct th_seq *)co;
    CO_BEGIN(co);
    f->w = TASK_SPAWN(th_watch, struct th_watch, .done = &f->done, .stuck_turns = f->stuck_turns);
    for (f->i = 1; f->i <= 3; f->i++) {
        f->a.v = f->i * 11;
        AWAIT(thread_run(th_who, &f->a));
        ev("call%d=%ld", f->i, (long)CO_VALUE);
    }
    f->done = 1;
    AWAIT(task_join(f->w));
    CO_END;
}

static const char *const selectors[] = {"select", "poll", "epoll"};

START_TEST(thread_run_one_call_after_another_in_one_loop)
{
    int stuck_turns = 0;
    struct loop_opts o = {0};
    o.virtual_clock = 1;
    o.selector = selectors[_i];
    char *log;
    int rc = run_opts(&o, th_seq, &(struct th_seq){.co = {0}, .stuck_turns = &stuck_turns},
                      sizeof(struct th_seq), NULL, &log);
    if (rc == -ENOSYS) { /* no such backend on this system */
        free(log);
        return;
    }
    int log_empty = strcmp(log, "") == 0;
    free(log); /* before any assertion: under CK_FORK=no a failure leaks nothing */
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(stuck_turns == 0,
                  "%s: a finished job was never collected: the pool's pipe stayed readable for "
                  "%d turns of the loop while its helper waited on it",
                  selectors[_i], stuck_turns);
    ck_assert_str_eq(evlog, "call1=11 call2=22 call3=33");
    ck_assert(log_empty);
}
END_TEST

/* ===== nothing outlives the loop ================================================ */

/* Counts threads and descriptors of the process while a function blocks
 * (more than before: the test would see a leak), then lets it return. */
struct th_counter { co_t co; int wfd; int *during; char byte; };
static int th_counter(co_t *co)
{
    struct th_counter *f = (struct th_counter *)co;
    CO_BEGIN(co);
    AWAIT(task_yield());
    AWAIT(task_yield());
    f->during[0] = s5_count_dir("/proc/self/task");
    f->during[1] = s5_count_dir("/proc/self/fd");
    f->byte = 'q';
    if (write(f->wfd, &f->byte, 1) != 1)
        CO_RAISE(-EIO);
    CO_END;
}

struct th_leak {
    co_t co;
    int *fds;
    int *during;
    struct th_pipe p;
    task_t *c;
    group_t g;
    struct th_sq sq[8];
    intptr_t out[8];
    int i;
};
static int th_leak(co_t *co)
{
    struct th_leak *f = (struct th_leak *)co;
    CO_BEGIN(co);
    f->p.fd = f->fds[0];
    f->c = TASK_SPAWN(th_counter, struct th_counter, .wfd = f->fds[1], .during = f->during);
    /* a few quick ones beside the blocking one */
    group_init(&f->g);
    for (f->i = 0; f->i < 8; f->i++) {
        f->sq[f->i].in = f->i;
        GROUP_SPAWN(&f->g, th_child, struct th_child, .a = &f->sq[f->i], .out = &f->out[f->i]);
    }
    AWAIT(thread_run(th_read, &f->p));
    ev("got %c", (char)CO_VALUE);
    AWAIT(task_join(f->c));
    CO_FINALLY
    AWAIT(group_join(&f->g, CO_ERROR));
    for (f->i = 0; f->i < 8; f->i++)
        if (f->out[f->i] != f->i * f->i)
            ev("out[%d]=%ld", f->i, (long)f->out[f->i]);
    CO_END;
}

/* /proc/self/task may list a thread for a moment after pthread_join has
 * returned (the kernel reaps it just after waking the joiner): look again
 * a bounded number of times, yielding the CPU, never sleeping. */
static int settled_count(const char *path, int want)
{
    int n = s5_count_dir(path);
    for (int i = 0; i < 100000 && n != want; i++) {
        sched_yield();
        n = s5_count_dir(path);
    }
    return n;
}

START_TEST(thread_run_leaves_no_thread_or_descriptor_behind)
{
    int threads0 = s5_count_dir("/proc/self/task");
    int fd0 = s5_count_dir("/proc/self/fd");
    ck_assert_int_ge(threads0, 1);
    ck_assert_int_ge(fd0, 0);
    int fds[2];
    s5_pipe(fds);
    int during[2] = {0, 0};
    char *log;
    ck_assert_int_eq(S5_RUN(NULL, &log, th_leak, struct th_leak, .fds = fds, .during = during), 0);
    ck_assert_str_eq(evlog, "got q");
    ck_assert_str_eq(log, "");
    free(log);
    close(fds[0]);
    close(fds[1]);
    /* While the function blocked there was a worker and the pool's pipe. */
    ck_assert_int_gt(during[0], threads0);
    ck_assert_int_ge(during[1], fd0 + 4); /* our pipe, and the pool's */
    ck_assert_int_eq(settled_count("/proc/self/task", threads0), threads0);
    ck_assert_int_eq(s5_count_dir("/proc/self/fd"), fd0);
}
END_TEST

/* Loops one after the other each get a pool of their own. */
struct th_again { co_t co; int v; struct th_who a; };
static int th_again(co_t *co)
{
    struct th_again *f = (struct th_again *)co;
    CO_BEGIN(co);
    f->a.v = f->v;
    AWAIT(thread_run(th_who, &f->a));
    CO_RETURN(CO_VALUE * 10);
    CO_END;
}

START_TEST(thread_run_in_loops_one_after_another)
{
    int threads0 = s5_count_dir("/proc/self/task");
    for (int i = 1; i <= 3; i++) {
        intptr_t r = 0;
        char *log;
        ck_assert_int_eq(S5_RUN(&r, &log, th_again, struct th_again, .v = i), 0);
        ck_assert_str_eq(log, "");
        free(log);
        ck_assert_int_eq(r, i * 10);
        ck_assert_int_eq(settled_count("/proc/self/task", threads0), threads0);
    }
}
END_TEST

void stage05_add_thread(Suite *s)
{
    TCase *tc = s5_case(s, "thread_run");
    tcase_add_test(tc, thread_run_runs_on_another_thread);
    tcase_add_test(tc, thread_run_negative_return_is_the_error);
    tcase_add_test(tc, thread_run_null_is_einval);
    tcase_add_test(tc, thread_run_outside_a_task_is_enoloop);
    tcase_add_test(tc, thread_run_does_not_block_the_loop);
    tcase_add_test(tc, thread_run_many_at_once);
    tcase_add_test(tc, thread_run_cancelled_waits_for_the_function);
    tcase_add_test(tc, thread_run_timed_out_waits_for_the_function);
    tcase_add_test(tc, thread_run_with_a_due_cancellation_runs_nothing);
    tcase_add_loop_test(tc, thread_run_one_call_after_another_in_one_loop, 0, 3);
    tcase_add_test(tc, thread_run_leaves_no_thread_or_descriptor_behind);
    tcase_add_test(tc, thread_run_in_loops_one_after_another);
}
