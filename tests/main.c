/*
 * main.c - the test runner for one stage.
 *
 * Built once per stage with -DSTAGE=N against that stage's code, it runs the
 * suites of stages 1..N: a later stage must keep every promise an earlier
 * one made.  It prints one closing line per suite and a total, and writes
 * the counts to the file named by its argument for `make test`'s summary.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef STAGE
#error "build with -DSTAGE=N"
#endif

Suite *stage01_suite(void);
Suite *stage02_suite(void);
Suite *stage03_suite(void);
Suite *stage04_suite(void);
Suite *stage05_suite(void);
Suite *stage06_suite(void);

static Suite *(*const suites[])(void) = {
    stage01_suite,
#if STAGE >= 2
    stage02_suite,
#endif
#if STAGE >= 3
    stage03_suite,
#endif
#if STAGE >= 4
    stage04_suite,
#endif
#if STAGE >= 5
    stage05_suite,
#endif
#if STAGE >= 6
    stage06_suite,
#endif
};

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
        SRunner *sr = srunner_create(suites[i]());
        srunner_run_all(sr, CK_NORMAL);
        int run = srunner_ntests_run(sr);
        int bad = srunner_ntests_failed(sr);
        srunner_free(sr);
        printf("stage%02zu: %d passed, %d failed\n", i + 1, run - bad, bad);
        passed += run - bad;
        failed += bad;
    }
    printf("total: %d passed, %d failed\n", passed, failed);
    if (argc > 1) {
        FILE *f = fopen(argv[1], "w");
        if (f) {
            fprintf(f, "%d %d\n", passed, failed);
            fclose(f);
        }
    }
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
