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

/* ---- the suite, one function per file ------------------------------------ */

Suite *stage06_suite(void);          /* test_stage06.c */
void stage06_parse_tcases(Suite *s); /* test_stage06_parse.c: hparse */
void stage06_client_tcases(Suite *s); /* test_stage06_client.c: client */

#endif
