#!/bin/sh
# make stageN diff: what stage N adds to stage N-1, as `diff -ru` prints it.
n=$1
cur=$(ls -d stage0"$n"_* 2>/dev/null | head -n 1)
[ -n "$cur" ] || { echo "no stage $n"; exit 2; }
if [ "$n" -le 1 ]; then
    echo "$cur is the first stage: everything in it is new."
    find "$cur" -type f | sort
    exit 0
fi
prev=$(ls -d stage0$((n - 1))_* 2>/dev/null | head -n 1)
echo "diff -ru $prev $cur"
diff -ru "$prev" "$cur"
[ $? -le 1 ]
