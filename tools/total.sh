#!/bin/sh
# Sum the per-stage counts that the test runners wrote: the last line of
# `make test`.  A stage whose runner never wrote its counts (it did not build,
# or crashed) counts as a failure, so a broken build cannot look green.
build=$1; shift
passed=0; failed=0
for n in "$@"; do
    f="$build/stage$n/tests/summary"
    if [ -f "$f" ]; then
        read p q < "$f"
        passed=$((passed + p)); failed=$((failed + q))
    else
        echo "stage$n: no result (did it build?)"
        failed=$((failed + 1))
    fi
done
echo "all: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
