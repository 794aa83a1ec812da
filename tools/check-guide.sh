#!/bin/sh
# Every C block in GUIDE.md must match the source it names, so the guide can
# never drift from the code (the libdill tutorial's open issue #58).
#
# In GUIDE.md a ```c block is preceded by one of
#     <!-- from: stage02_loop/loop.c -->   the lines must appear in that file,
#                                          in order and contiguous; a line
#                                          that is just "..." skips lines
#     <!-- sketch -->                      illustration, not checked
# A ```c block with neither is an error.
guide=${1:-GUIDE.md}
[ -f "$guide" ] || { echo "check-guide: $guide is missing"; exit 1; }
awk 'BEGIN { marked = -5 }
function trim_right(s) { sub(/[ \t\r]+$/, "", s); return s }
function is_elision(s) { return s ~ /^[ \t]*(\.\.\.|\/\* \.\.\. \*\/|\/\/ \.\.\.)[ \t]*$/ }
function load(path,    line, n) {
    if (path in loaded) return loaded[path]
    n = 0
    while ((getline line < path) > 0) { n++; F[path, n] = trim_right(line) }
    close(path)
    loaded[path] = n
    return n
}
function match_at(path, n, s, first,    i, j) {
    i = s
    for (j = first; j <= m; j++) {
        if (is_elision(B[j])) {
            if (j == m) return 1
            while (i <= n && F[path, i] != B[j + 1]) i++
            if (i > n) return 0
            continue
        }
        if (i > n || F[path, i] != B[j]) return 0
        i++
    }
    return 1
}
function check_block(path, start,    n, s, first) {
    if (path == "") return
    if ((getline dummy < path) < 0) {
        printf "%s:%d: quoted file %s does not exist\n", FILENAME, start, path; bad++; return
    }
    close(path)
    n = load(path)
    first = 1
    while (first <= m && is_elision(B[first])) first++
    if (first > m) return
    for (s = 1; s <= n; s++)
        if (F[path, s] == B[first] && match_at(path, n, s, first))
            return
    printf "%s:%d: this block does not match %s\n", FILENAME, start, path
    for (s = 1; s <= m; s++) printf "    | %s\n", B[s]
    bad++
}
/^<!-- from: .* -->[ \t]*$/ { p = $0; sub(/^<!-- from: /, "", p); sub(/ -->[ \t]*$/, "", p); pending = p; marked = NR; next }
/^<!-- sketch -->[ \t]*$/ { pending = ""; marked = NR; sketch = 1; next }
/^```c[ \t]*$/ {
    if (marked != NR - 1) { printf "%s:%d: C block without <!-- from: FILE --> or <!-- sketch -->\n", FILENAME, NR; bad++ }
    inblock = 1; m = 0; start = NR; path = (marked == NR - 1 && !sketch) ? pending : ""; sketch = 0; next
}
inblock && /^```[ \t]*$/ { inblock = 0; check_block(path, start); blocks++; next }
inblock { B[++m] = trim_right($0); next }
{ sketch = 0 }
END {
    if (bad) { printf "check-guide: %d problem(s) in %s\n", bad, FILENAME; exit 1 }
    printf "check-guide: %d C block(s) in %s match their sources\n", blocks, FILENAME
}' "$guide"
