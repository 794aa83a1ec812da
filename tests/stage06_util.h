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

/* A loopback port with nothing listening: bound, never listened on, closed.
 * Another program could take it meanwhile; on a test machine none does. */
int s6_dead_port(void);

/* Where `name` is on $PATH, into out (n bytes): 1 if it is there and
 * executable, else 0 - how a test learns that curl or python3 is missing. */
int s6_find_in_path(const char *name, char *out, size_t n);

/* The monotonic clock in ms: for the tests that run the demo as a process,
 * where time is real (every other stage-6 test uses the virtual clock). */
long long s6_now_ms(void);

#endif
