/*
 * test_stage03_selector.c - the selector backends driven directly, without
 * the loop: add/mod/del and their errors, what wait() reports (nothing,
 * readable, writable, level-triggered, hang-up, only the events asked for,
 * at most `max`), select's FD_SETSIZE ceiling, a huge timeout; then
 * sel_find() and sel_timeout_ms().
 *
 * The tcases "selector" and "sel_find" of the stage03 suite.  Each selector
 * test runs once per backend (`_i` indexes s3_backends[]).  Every wait here
 * has timeout 0 (or a descriptor already ready), so nothing blocks.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include "stage03_util.h"

static const struct sel_ops *ops_of(int i)
{
    const struct sel_ops *o = sel_find(s3_backends[i]);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(o->name, s3_backends[i]);
    return o;
}

static struct selector *open_sel(const struct sel_ops *o)
{
    struct selector *s = NULL;
    ck_assert_int_eq(o->open(&s), 0);
    ck_assert_ptr_nonnull(s);
    return s;
}

/* The events reported for fd, or -1 if it is not in the list (and it must
 * be there at most once). */
static int events_of(const struct sel_event *ev, int n, int fd)
{
    int found = -1;
    for (int k = 0; k < n; k++) {
        if (ev[k].fd != fd)
            continue;
        ck_assert_msg(found < 0, "fd %d reported twice", fd);
        found = (int)ev[k].events;
    }
    return found;
}

/* ===== add, mod, del ===================================================== */

START_TEST(sel_open_close_leaks_nothing)
{
    const struct sel_ops *o = ops_of(_i);
    int before = s3_nfds();
    struct selector *s[3];
    for (int k = 0; k < 3; k++)
        s[k] = open_sel(o);
    for (int k = 0; k < 3; k++)
        o->close(s[k]);
    ck_assert_int_eq(s3_nfds(), before);
}
END_TEST

START_TEST(sel_add_mod_del_errors)
{
    const struct sel_ops *o = ops_of(_i);
    struct selector *s = open_sel(o);
    int sv[2];
    s3_socketpair(sv);

    ck_assert_int_eq(o->mod(s, sv[0], SEL_READ), -ENOENT); /* never added */
    ck_assert_int_eq(o->del(s, sv[0]), -ENOENT);
    ck_assert_int_eq(o->add(s, sv[0], SEL_READ), 0);
    ck_assert_int_eq(o->add(s, sv[0], SEL_READ), -EEXIST);
    ck_assert_int_eq(o->add(s, sv[0], SEL_WRITE), -EEXIST); /* other events too */
    ck_assert_int_eq(o->mod(s, sv[1], SEL_READ), -ENOENT);  /* its peer is not watched */
    ck_assert_int_eq(o->del(s, sv[1]), -ENOENT);
    ck_assert_int_eq(o->mod(s, sv[0], SEL_WRITE), 0);
    ck_assert_int_eq(o->mod(s, sv[0], SEL_READ | SEL_WRITE), 0);
    ck_assert_int_eq(o->del(s, sv[0]), 0);
    ck_assert_int_eq(o->del(s, sv[0]), -ENOENT); /* gone */
    ck_assert_int_eq(o->mod(s, sv[0], SEL_READ), -ENOENT);
    ck_assert_int_eq(o->add(s, sv[0], SEL_READ), 0); /* and can come back */
    ck_assert_int_eq(o->add(s, sv[1], SEL_WRITE), 0);
    ck_assert_int_lt(o->add(s, -1, SEL_READ), 0);
    ck_assert_int_lt(o->del(s, -1), 0);

    o->close(s); /* with descriptors still registered: frees everything */
    s3_close_pair(sv);
}
END_TEST

/* ===== what wait reports ================================================= */

START_TEST(sel_wait_nothing_ready_returns_0)
{
    const struct sel_ops *o = ops_of(_i);
    struct selector *s = open_sel(o);
    struct sel_event ev[8];
    ck_assert_int_eq(o->wait(s, 0, ev, 8), 0); /* nothing registered */

    int sv[2];
    s3_socketpair(sv);
    ck_assert_int_eq(o->add(s, sv[0], SEL_READ), 0);
    ck_assert_int_eq(o->wait(s, 0, ev, 8), 0); /* registered, nothing to read */
    s3_write(sv[0], "x", 1);                   /* readable at the peer, not here */
    ck_assert_int_eq(o->wait(s, 0, ev, 8), 0);
    o->close(s);
    s3_close_pair(sv);
}
END_TEST

START_TEST(sel_readable_is_level_triggered)
{
    const struct sel_ops *o = ops_of(_i);
    struct selector *s = open_sel(o);
    struct sel_event ev[8];
    int sv[2];
    s3_socketpair(sv);
    ck_assert_int_eq(o->add(s, sv[0], SEL_READ), 0);
    s3_write(sv[1], "hello", 5);

    int n = o->wait(s, 0, ev, 8);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(ev[0].fd, sv[0]);
    ck_assert_uint_eq(ev[0].events, SEL_READ); /* only what was asked for */
    /* Not read yet: still ready, on every call. */
    for (int k = 0; k < 3; k++) {
        n = o->wait(s, 0, ev, 8);
        ck_assert_int_eq(n, 1);
        ck_assert_int_eq(ev[0].fd, sv[0]);
        ck_assert_uint_eq(ev[0].events & SEL_READ, SEL_READ);
    }
    /* Partly read: still ready. */
    char buf[8];
    ck_assert_int_eq(read(sv[0], buf, 2), 2);
    ck_assert_int_eq(o->wait(s, 0, ev, 8), 1);
    /* Read dry: no longer. */
    ck_assert_int_eq(read(sv[0], buf, sizeof buf), 3);
    ck_assert_int_eq(o->wait(s, 0, ev, 8), 0);
    o->close(s);
    s3_close_pair(sv);
}
END_TEST

START_TEST(sel_reports_only_the_events_asked_for)
{
    const struct sel_ops *o = ops_of(_i);
    struct selector *s = open_sel(o);
    struct sel_event ev[8];
    int sv[2];
    s3_socketpair(sv);

    /* An empty socket is writable, not readable. */
    ck_assert_int_eq(o->add(s, sv[0], SEL_READ), 0);
    ck_assert_int_eq(o->wait(s, 0, ev, 8), 0);
    ck_assert_int_eq(o->mod(s, sv[0], SEL_WRITE), 0);
    ck_assert_int_eq(o->wait(s, 0, ev, 8), 1);
    ck_assert_int_eq(ev[0].fd, sv[0]);
    ck_assert_uint_eq(ev[0].events, SEL_WRITE);
    ck_assert_int_eq(o->mod(s, sv[0], SEL_READ | SEL_WRITE), 0);
    ck_assert_int_eq(o->wait(s, 0, ev, 8), 1);
    ck_assert_uint_eq(ev[0].events, SEL_WRITE);

    /* With data it is both; asked for one, it reports that one. */
    s3_write(sv[1], "x", 1);
    ck_assert_int_eq(o->wait(s, 0, ev, 8), 1);
    ck_assert_uint_eq(ev[0].events, SEL_READ | SEL_WRITE);
    ck_assert_int_eq(o->mod(s, sv[0], SEL_READ), 0);
    ck_assert_int_eq(o->wait(s, 0, ev, 8), 1);
    ck_assert_uint_eq(ev[0].events, SEL_READ);
    ck_assert_int_eq(o->mod(s, sv[0], 0), 0); /* watched for nothing */
    ck_assert_int_eq(o->wait(s, 0, ev, 8), 0);
    o->close(s);
    s3_close_pair(sv);
}
END_TEST

START_TEST(sel_writable_until_full_and_after_drain)
{
    const struct sel_ops *o = ops_of(_i);
    struct selector *s = open_sel(o);
    struct sel_event ev[8];
    int sv[2];
    s3_socketpair(sv);
    ck_assert_int_eq(o->add(s, sv[0], SEL_WRITE), 0);
    ck_assert_int_eq(o->wait(s, 0, ev, 8), 1);
    ck_assert_uint_eq(ev[0].events, SEL_WRITE);

    size_t filled = s3_fill(sv[0]);
    ck_assert_uint_gt(filled, 0);
    ck_assert_int_eq(o->wait(s, 0, ev, 8), 0); /* full: not writable */

    char buf[4096];
    size_t drained = 0;
    for (ssize_t n; (n = read(sv[1], buf, sizeof buf)) > 0;)
        drained += (size_t)n;
    ck_assert_uint_eq(drained, filled);
    ck_assert_int_eq(o->wait(s, 0, ev, 8), 1); /* room again */
    ck_assert_int_eq(ev[0].fd, sv[0]);
    ck_assert_uint_eq(ev[0].events, SEL_WRITE);
    o->close(s);
    s3_close_pair(sv);
}
END_TEST

START_TEST(sel_hangup_reports_readable)
{
    const struct sel_ops *o = ops_of(_i);
    struct selector *s = open_sel(o);
    struct sel_event ev[8];
    int sv[2];
    s3_socketpair(sv);
    ck_assert_int_eq(o->add(s, sv[0], SEL_READ), 0);
    ck_assert_int_eq(o->wait(s, 0, ev, 8), 0);
    close(sv[1]);
    sv[1] = -1;
    for (int k = 0; k < 2; k++) { /* end of file stays readable */
        ck_assert_int_eq(o->wait(s, 0, ev, 8), 1);
        ck_assert_int_eq(ev[0].fd, sv[0]);
        ck_assert_uint_eq(ev[0].events & SEL_READ, SEL_READ);
    }
    char c;
    ck_assert_int_eq(read(sv[0], &c, 1), 0); /* and reading says so */
    o->close(s);
    s3_close_pair(sv);
}
END_TEST

/* Many descriptors: exactly the ready ones are reported, each once, at most
 * `max` per call; removing some (first, middle, last - poll moves its last
 * slot into the hole, select lowers its highest descriptor) leaves the
 * others intact. */
enum { NPAIRS = 24 };

START_TEST(sel_many_descriptors)
{
    const struct sel_ops *o = ops_of(_i);
    struct selector *s = open_sel(o);
    struct sel_event ev[2 * NPAIRS];
    int sv[NPAIRS][2];
    for (int k = 0; k < NPAIRS; k++) {
        s3_socketpair(sv[k]);
        ck_assert_int_eq(o->add(s, sv[k][0], SEL_READ), 0);
    }
    for (int k = 0; k < NPAIRS; k += 3)
        s3_write(sv[k][1], "r", 1);

    int n = o->wait(s, 0, ev, 2 * NPAIRS);
    ck_assert_int_eq(n, (NPAIRS + 2) / 3);
    for (int k = 0; k < NPAIRS; k++)
        ck_assert_int_eq(events_of(ev, n, sv[k][0]), k % 3 == 0 ? SEL_READ : -1);

    ck_assert_int_eq(o->wait(s, 0, ev, 2), 2); /* at most max */

    /* Remove the first and last registered and one in the middle. */
    int gone[] = {0, NPAIRS / 2, NPAIRS - 1};
    for (size_t g = 0; g < sizeof gone / sizeof gone[0]; g++)
        ck_assert_int_eq(o->del(s, sv[gone[g]][0]), 0);
    for (int k = 0; k < NPAIRS; k++)
        if (k % 3 != 0)
            s3_write(sv[k][1], "r", 1); /* now all of them have data */
    n = o->wait(s, 0, ev, 2 * NPAIRS);
    ck_assert_int_eq(n, NPAIRS - 3);
    for (int k = 0; k < NPAIRS; k++) {
        int removed = k == gone[0] || k == gone[1] || k == gone[2];
        ck_assert_int_eq(events_of(ev, n, sv[k][0]), removed ? -1 : SEL_READ);
    }
    o->close(s);
    for (int k = 0; k < NPAIRS; k++)
        s3_close_pair(sv[k]);
}
END_TEST

/* FD_SET beyond FD_SETSIZE writes past the bitmap: select must refuse such
 * a descriptor (-ERANGE); poll and epoll have no such ceiling. */
START_TEST(sel_fd_beyond_fd_setsize)
{
    const struct sel_ops *o = ops_of(_i);
    int sv[2];
    s3_socketpair(sv);
    int hi = s3_high_fd(sv[0]);
    if (hi < 0) {
        s3_close_pair(sv);
        return; /* the limits cannot reach FD_SETSIZE here (said why) */
    }
    ck_assert_int_ge(hi, FD_SETSIZE);
    struct selector *s = open_sel(o);
    struct sel_event ev[4];
    s3_write(sv[1], "x", 1);
    if (strcmp(o->name, "select") == 0) {
        ck_assert_int_eq(o->add(s, hi, SEL_READ), -ERANGE);
        ck_assert_int_eq(o->mod(s, hi, SEL_READ), -ENOENT);
        ck_assert_int_eq(o->del(s, hi), -ENOENT);
        ck_assert_int_eq(o->wait(s, 0, ev, 4), 0);
    } else {
        ck_assert_int_eq(o->add(s, hi, SEL_READ), 0);
        ck_assert_int_eq(o->wait(s, 0, ev, 4), 1);
        ck_assert_int_eq(ev[0].fd, hi);
        ck_assert_uint_eq(ev[0].events, SEL_READ);
        ck_assert_int_eq(o->del(s, hi), 0);
        ck_assert_int_eq(o->wait(s, 0, ev, 4), 0);
    }
    o->close(s);
    close(hi);
    s3_close_pair(sv);
}
END_TEST

/* "Wait up to timeout_ns": any non-negative timeout is valid, however large
 * (stage 4's timers compute them).  With a descriptor already ready the
 * call returns at once. */
START_TEST(sel_wait_huge_timeout)
{
    const struct sel_ops *o = ops_of(_i);
    struct selector *s = open_sel(o);
    struct sel_event ev[4];
    int sv[2];
    s3_socketpair(sv);
    ck_assert_int_eq(o->add(s, sv[0], SEL_READ), 0);
    s3_write(sv[1], "x", 1);
    const int64_t timeouts[] = {INT64_C(365) * 86400 * 1000000000, INT64_MAX - 1000, INT64_MAX};
    for (size_t k = 0; k < sizeof timeouts / sizeof timeouts[0]; k++) {
        int n = o->wait(s, timeouts[k], ev, 4);
        ck_assert_msg(n == 1, "%s: wait(%lld ns) with a ready descriptor returned %d",
                      o->name, (long long)timeouts[k], n);
        ck_assert_int_eq(ev[0].fd, sv[0]);
    }
    o->close(s);
    s3_close_pair(sv);
}
END_TEST

/* ===== sel_find and sel_timeout_ms ======================================= */

/* Restores ASYNC_SELECTOR as it was when the test began. */
static char *saved_env;
static int had_env;

static void save_env(void)
{
    const char *v = getenv("ASYNC_SELECTOR");
    had_env = v != NULL;
    saved_env = v ? strdup(v) : NULL;
}

static void restore_env(void)
{
    if (had_env)
        setenv("ASYNC_SELECTOR", saved_env, 1);
    else
        unsetenv("ASYNC_SELECTOR");
    free(saved_env);
    saved_env = NULL;
}

START_TEST(sel_find_by_name)
{
    for (int k = 0; k < S3_NBACKENDS; k++) {
        const struct sel_ops *o = sel_find(s3_backends[k]);
        ck_assert_ptr_nonnull(o);
        ck_assert_str_eq(o->name, s3_backends[k]);
    }
    ck_assert_ptr_eq(sel_find("select"), &sel_select_ops);
    ck_assert_ptr_eq(sel_find("poll"), &sel_poll_ops);
#ifdef __linux__
    ck_assert_ptr_eq(sel_find("epoll"), &sel_epoll_ops);
#endif
    ck_assert_ptr_null(sel_find("kqueue"));
    ck_assert_ptr_null(sel_find("POLL")); /* exact names */
    ck_assert_ptr_null(sel_find("pol"));
    ck_assert_ptr_null(sel_find("polll"));
}
END_TEST

START_TEST(sel_find_default_and_env)
{
    save_env();
    unsetenv("ASYNC_SELECTOR");
    const struct sel_ops *def = sel_find(NULL);
    ck_assert_ptr_nonnull(def); /* the build's choice */
    ck_assert_ptr_eq(sel_find(""), def);
    ck_assert_ptr_eq(sel_find(def->name), def);

    setenv("ASYNC_SELECTOR", "poll", 1);
    ck_assert_ptr_eq(sel_find(NULL), &sel_poll_ops);
    ck_assert_ptr_eq(sel_find(""), &sel_poll_ops);
    ck_assert_ptr_eq(sel_find("select"), &sel_select_ops); /* a name wins */
    setenv("ASYNC_SELECTOR", "", 1);
    ck_assert_ptr_eq(sel_find(NULL), def);
    setenv("ASYNC_SELECTOR", "bogus", 1);
    ck_assert_ptr_null(sel_find(NULL));
    restore_env();
}
END_TEST

struct ret7 { co_t co; };
static int ret7(co_t *co)
{
    CO_BEGIN(co);
    CO_RETURN(7);
    CO_END;
}

START_TEST(loop_run_unknown_selector_is_enosys)
{
    intptr_t r = -1;
    char *log;
    struct loop_opts o = {.selector = "bogus"};
    ck_assert_int_eq(run_opts(&o, ret7, &(struct ret7){.co = {0}}, sizeof(struct ret7), &r, &log), -ENOSYS);
    ck_assert_int_eq(r, -1);
    free(log);
    ck_assert_ptr_null(loop_current()); /* nothing left behind: */
    ck_assert_int_eq(LOOP_RUN(&r, ret7, struct ret7), 0);
    ck_assert_int_eq(r, 7);

    save_env();
    setenv("ASYNC_SELECTOR", "bogus", 1);
    r = -1;
    ck_assert_int_eq(LOOP_RUN(&r, ret7, struct ret7), -ENOSYS);
    struct loop_opts p = {.selector = "poll"}; /* an explicit choice wins */
    ck_assert_int_eq(run_opts(&p, ret7, &(struct ret7){.co = {0}}, sizeof(struct ret7), &r, &log), 0);
    ck_assert_int_eq(r, 7);
    free(log);
    restore_env();
}
END_TEST

START_TEST(sel_timeout_ms_rounds_up)
{
    ck_assert_int_eq(sel_timeout_ms(0), 0);
    ck_assert_int_eq(sel_timeout_ms(1), 1);
    ck_assert_int_eq(sel_timeout_ms(999999), 1);
    ck_assert_int_eq(sel_timeout_ms(1000000), 1);
    ck_assert_int_eq(sel_timeout_ms(1000001), 2);
    ck_assert_int_eq(sel_timeout_ms(INT64_C(2500000000)), 2500);
    ck_assert_int_eq(sel_timeout_ms(-1), -1);
    ck_assert_int_eq(sel_timeout_ms(-7), -1);
    ck_assert_int_eq(sel_timeout_ms(INT64_MIN), -1);
    ck_assert_int_eq(sel_timeout_ms((int64_t)INT_MAX * 1000000), INT_MAX);
    ck_assert_int_eq(sel_timeout_ms((int64_t)INT_MAX * 1000000 + 1), INT_MAX);
    ck_assert_int_eq(sel_timeout_ms((int64_t)INT_MAX * 1000000 - 1), INT_MAX);
    ck_assert_int_eq(sel_timeout_ms((int64_t)INT_MAX * 1000000 + 1000000), INT_MAX);
    ck_assert_int_eq(sel_timeout_ms(INT64_MAX), INT_MAX);
}
END_TEST

void stage03_add_selector(Suite *s)
{
    TCase *tc = s3_case(s, "selector");
    s3_add(tc, sel_open_close_leaks_nothing);
    s3_add(tc, sel_add_mod_del_errors);
    s3_add(tc, sel_wait_nothing_ready_returns_0);
    s3_add(tc, sel_readable_is_level_triggered);
    s3_add(tc, sel_reports_only_the_events_asked_for);
    s3_add(tc, sel_writable_until_full_and_after_drain);
    s3_add(tc, sel_hangup_reports_readable);
    s3_add(tc, sel_many_descriptors);
    s3_add(tc, sel_fd_beyond_fd_setsize);
    s3_add(tc, sel_wait_huge_timeout);

    tc = s3_case(s, "sel_find");
    tcase_add_test(tc, sel_find_by_name);
    tcase_add_test(tc, sel_find_default_and_env);
    tcase_add_test(tc, loop_run_unknown_selector_is_enosys);
    tcase_add_test(tc, sel_timeout_ms_rounds_up);
}
