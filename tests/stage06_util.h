/*
 * stage06_util.h - what the stage-6 test files share.
 *
 * The suite is assembled in test_stage06.c from one function per test file,
 * each adding its tcases to the suite it is given: a new file declares its
 * function here and gets one call in stage06_suite().
 */
#ifndef STAGE06_UTIL_H
#define STAGE06_UTIL_H

#include <check.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- the suite, one function per file ------------------------------------ */

Suite *stage06_suite(void);          /* test_stage06.c */
void stage06_parse_tcases(Suite *s); /* test_stage06_parse.c: hparse */
void stage06_client_tcases(Suite *s); /* test_stage06_client.c: client */
void stage06_server_tcases(Suite *s); /* test_stage06_server.c: server */
void stage06_faults_tcases(Suite *s); /* test_stage06_faults.c: bad peers */
void stage06_alloc_tcases(Suite *s); /* test_stage06_alloc.c: no memory */
void stage06_interop_tcases(Suite *s); /* test_stage06_interop.c: curl... */
void stage06_examples_tcases(Suite *s); /* test_stage06_examples.c */
void stage06_stop_tcases(Suite *s);   /* test_stage06_stop.c: SIGTERM under load */

/* ---- shared helpers (stage06_util.c) --------------------------------------- */

/* A plain blocking connection to 127.0.0.1:port, outside any loop: the fd,
 * or -errno.  For a client that must not depend on the code under test. */
int s6_dial(int port);

/* Where `name` is on $PATH, into out (n bytes): 1 if it is there and
 * executable, else 0 - how a test learns that curl or python3 is missing. */
int s6_find_in_path(const char *name, char *out, size_t n);

/* The monotonic clock in ms: for the tests that run the demo as a process,
 * where time is real (every other stage-6 test uses the virtual clock). */
long long s6_now_ms(void);

/* Start argv (argv[0] looked up on $PATH unless it holds a '/') with stdin
 * from /dev/null, stdout onto out_fd and stderr onto err_fd (or out_fd
 * too, if err_fd < 0), in s5_quiet_environ's environment.  The child starts
 * with no signal blocked and SIGINT, SIGTERM, SIGPIPE and SIGCHLD at their
 * defaults, whatever the test runner had: a demo's signals must work as
 * they do for an operator.  Returns 0 and the pid in *pid, or the error
 * posix_spawnp gave. */
int s6_spawn(const char *const argv[], int out_fd, int err_fd, pid_t *pid);

#endif
