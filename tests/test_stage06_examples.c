/*
 * test_stage06_examples.c - the stage's programs that end by themselves,
 * run as programs (s5_run_program; the demo server is tested in
 * test_stage06_interop.c).
 *
 * http_journey runs a server and three clients in one loop: its output is
 * exact, because the order in which the replies arrive is the lesson (the
 * slow request answers last, the quick one's second request reuses its
 * connection) and the loopback makes it the same every run.  http_fetch is
 * the client on its own: its failures must be reported by name, with exit
 * status 1, and a usage error with 2.  The demo's bad flags end it with 2
 * before it listens.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "stage03_util.h"
#include "stage05_util.h"
#include "stage06_util.h"

#ifndef EXAMPLES_DIR
#error "build with -DEXAMPLES_DIR='\"build/stage6/examples\"'"
#endif

START_TEST(example_http_journey)
{
    struct s5_output o = s5_run_program(EXAMPLES_DIR, "http_journey", NULL);
    s5_assert_exit_0("http_journey", &o);
    s5_assert_same_text("http_journey", o.text,
                        "quick GET /hello -> 200: hello, world\n"
                        "echo  POST /echo -> 200: ping\n"
                        "quick GET /hello -> 200 (same connection): hello, world\n"
                        "slow  GET /sleep?ms=100 -> 200: slept 100 ms\n"
                        "server stopped: 4 requests on 3 connections\n");
    free(o.text);
}
END_TEST

START_TEST(example_http_fetch_refused)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hello", s3_dead_port());
    const char *const args[] = {url, NULL};
    struct s5_output o = s5_run_program(EXAMPLES_DIR, "http_fetch", args);
    ck_assert_msg(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 1, "status %d: %s", o.status,
                  o.text);
    char want[160];
    snprintf(want, sizeof want, "http_fetch: %s: %s\n", url, strerror(ECONNREFUSED));
    ck_assert_msg(strstr(o.text, want) != NULL, "want %s in:\n%s", want, o.text);
    ck_assert_ptr_nonnull(strstr(o.text, "is the server running?"));
    free(o.text);
}
END_TEST

START_TEST(example_http_fetch_bad_urls)
{
    const char *const args[] = {"https://127.0.0.1/", "http://[::1/", NULL};
    struct s5_output o = s5_run_program(EXAMPLES_DIR, "http_fetch", args);
    ck_assert_msg(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 1, "status %d: %s", o.status,
                  o.text);
    ck_assert_ptr_nonnull(strstr(o.text, "only http:// URLs"));
    ck_assert_ptr_nonnull(strstr(o.text, "http_fetch: http://[::1/: "));
    free(o.text);

    const char *const usage[] = {"--help", NULL};
    o = s5_run_program(EXAMPLES_DIR, "http_fetch", usage);
    ck_assert_msg(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 2, "status %d", o.status);
    ck_assert_ptr_nonnull(strstr(o.text, "usage: "));
    free(o.text);
}
END_TEST

/* The demo's flags are checked before anything listens: a typo must not
 * quietly become port 0 (a free port nobody knows) or no workers at all. */
START_TEST(example_http_demo_bad_flags)
{
    static const char *const bad[][3] = {
        {"--port", "80x", NULL},  {"--port", "70000", NULL}, {"--port", "-1", NULL},
        {"--workers", "0", NULL}, {"--workers", "2x", NULL}, {"--workers", "65", NULL},
        {"--nope", NULL, NULL},   {"--port", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct s5_output o = s5_run_program(EXAMPLES_DIR, "http_demo", bad[i]);
        ck_assert_msg(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 2, "%s %s: status %d: %s",
                      bad[i][0], bad[i][1] ? bad[i][1] : "", o.status, o.text);
        ck_assert_msg(strstr(o.text, "serving on") == NULL, "%s: it served", bad[i][0]);
        ck_assert_msg(strstr(o.text, "usage: ") || strstr(o.text, "not a port: "), "%s: %s",
                      bad[i][0], o.text);
        free(o.text);
    }
}
END_TEST

void stage06_examples_tcases(Suite *s)
{
    TCase *tc = tcase_create("examples");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, example_http_journey);
    tcase_add_test(tc, example_http_fetch_refused);
    tcase_add_test(tc, example_http_fetch_bad_urls);
    tcase_add_test(tc, example_http_demo_bad_flags);
    suite_add_tcase(s, tc);
}
