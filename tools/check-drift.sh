#!/bin/sh
# Code carried from one stage to the next must stay identical unless the
# stage says it changes it.  tools/carried.txt lists, per stage, the carried
# files it changes and the GUIDE.md section that explains why.  This fails
# when any other carried file differs from the previous stage's copy (silent
# drift, or a fix not carried forward), and when a listed file does not in
# fact differ (a stale entry).
list=tools/carried.txt
bad=0
declared() { grep -v '^#' "$list" | awk -v s="$1" -v f="$2" '$1 == s && $2 == f { found = 1 } END { exit !found }'; }
prev=""
for cur in $(ls -d stage0[1-9]_* 2>/dev/null | sort); do
    if [ -n "$prev" ]; then
        for f in $(cd "$prev" && find . -type f | sed 's|^\./||' | sort); do
            [ -f "$cur/$f" ] || continue
            if cmp -s "$prev/$f" "$cur/$f"; then
                if declared "$cur" "$f"; then
                    echo "check-drift: $list says $cur changes $f, but it is identical to $prev/$f"
                    bad=$((bad + 1))
                fi
            elif ! declared "$cur" "$f"; then
                echo "check-drift: $cur/$f differs from $prev/$f and $list does not say why"
                bad=$((bad + 1))
            fi
        done
    fi
    prev=$cur
done
# Each entry names, in quotes, a heading of GUIDE.md that must exist.
guide=GUIDE.md
grep -v '^#' "$list" | grep . | while IFS= read -r entry; do
    title=$(printf '%s\n' "$entry" | sed -n 's/^[^"]*"\([^"]*\)".*/\1/p')
    if [ -z "$title" ]; then
        echo "check-drift: entry without a quoted GUIDE section: $entry"; echo x
    elif ! grep -qxF "### $title" "$guide" 2>/dev/null && ! grep -qxF "#### $title" "$guide" 2>/dev/null; then
        echo "check-drift: $guide has no section \"$title\" (named in $list)"; echo x
    fi
done > "${TMPDIR:-/tmp}/check-drift.$$"
if grep -q . "${TMPDIR:-/tmp}/check-drift.$$"; then
    grep -v '^x$' "${TMPDIR:-/tmp}/check-drift.$$"
    bad=$((bad + $(grep -c '^x$' "${TMPDIR:-/tmp}/check-drift.$$")))
fi
rm -f "${TMPDIR:-/tmp}/check-drift.$$"
if [ "$bad" -ne 0 ]; then echo "check-drift: $bad problem(s)"; exit 1; fi
echo "check-drift: carried code matches between consecutive stages"
