#!/bin/sh
# The repository checks must be able to fail: feed each one a broken input
# and expect it to object.  Runs in a scratch directory; touches nothing.
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
here=$(pwd)
fail=0
expect_fail() { # what, command...
    what=$1; shift
    if "$@" >/dev/null 2>&1; then echo "selftest: $what was not caught"; fail=1; fi
}

# check-guide: an edited quote, an unmarked block, a missing file.
mkdir -p "$tmp/g/src" && printf 'int a;\nint b;\n' > "$tmp/g/src/x.c"
printf '<!-- from: src/x.c -->\n```c\nint a;\nint c;\n```\n' > "$tmp/g/edited.md"
printf 'text\n```c\nint a;\n```\n' > "$tmp/g/unmarked.md"
printf '<!-- from: src/none.c -->\n```c\nint a;\n```\n' > "$tmp/g/missing.md"
printf '<!-- from: src/x.c -->\n```c\nint a;\n...\nint b;\n```\n' > "$tmp/g/good.md"
for f in edited unmarked missing; do
    expect_fail "check-guide on $f.md" sh -c "cd '$tmp/g' && sh '$here/tools/check-guide.sh' $f.md"
done
(cd "$tmp/g" && sh "$here/tools/check-guide.sh" good.md >/dev/null) ||
    { echo "selftest: check-guide rejected a correct quote"; fail=1; }

# check-drift: an undeclared change, a stale declaration.
mkdir -p "$tmp/d/stage01_a" "$tmp/d/stage02_b" "$tmp/d/tools"
echo one > "$tmp/d/stage01_a/f.c"; echo two > "$tmp/d/stage02_b/f.c"
: > "$tmp/d/tools/carried.txt"
expect_fail "check-drift on an undeclared change" sh -c "cd '$tmp/d' && sh '$here/tools/check-drift.sh'"
echo one > "$tmp/d/stage02_b/f.c"
echo "stage02_b f.c 2.1" > "$tmp/d/tools/carried.txt"
expect_fail "check-drift on a stale entry" sh -c "cd '$tmp/d' && sh '$here/tools/check-drift.sh'"
echo three > "$tmp/d/stage02_b/f.c"
echo 'stage02_b f.c GUIDE ch.2 "Why f changes"' > "$tmp/d/tools/carried.txt"
printf '### Something else\n' > "$tmp/d/GUIDE.md"
expect_fail "check-drift on a GUIDE section that does not exist" sh -c "cd '$tmp/d' && sh '$here/tools/check-drift.sh'"
printf '### Why f changes\n' > "$tmp/d/GUIDE.md"
(cd "$tmp/d" && sh "$here/tools/check-drift.sh" >/dev/null) ||
    { echo "selftest: check-drift rejected a declared change with its section"; fail=1; }

[ $fail -eq 0 ] && echo "selftest: the repository checks catch what they should"
exit $fail
