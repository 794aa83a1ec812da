#!/bin/sh
# The timeline tool (tools/timeline.c) on real traces and on broken ones:
# a real trace gives a well-formed SVG with one lane label per task, the same
# bytes every time; one whose loop waited (stage 3 on) has the loop's lane
# on top, a bar per wait and no task's lines in it; one in ticks
# (ASYNC_TRACE_CLOCK=steps) is drawn in ticks; a long one is cut at 400
# steps, its waits with them, and says so; a truncated,
# empty, garbage or missing input gives exit 1 and a message, never a crash.
# The broken inputs run again under AddressSanitizer + UBSan when gcc has them.
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
bad=0
say() { echo "check-timeline: $*"; bad=$((bad + 1)); }

make --no-print-directory -s build/tools/timeline || { say "cannot build build/tools/timeline"; exit 1; }
tool=build/tools/timeline
small=tools/testdata/small.json
loop=tools/testdata/loop.json # stage 4's delayed_prints, as for its picture

# Inputs: the real trace, a long synthetic one, and the broken ones.
awk 'BEGIN { printf "{\"traceEvents\":[\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"w#1\"}}";
             for (i = 0; i < 500; i++)
                 printf ",\n{\"ph\":\"X\",\"name\":\"w\",\"pid\":1,\"tid\":1,\"ts\":%d.000,\"dur\":1.000,\"args\":{\"from\":\"f (a.c:1)\",\"to\":\"f (a.c:2)\"}}", i * 2;
             print "\n]}" }' > "$tmp/long.json"
awk 'BEGIN { printf "{\"traceEvents\":[\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"w#1\"}}";
             printf ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":0,\"args\":{\"name\":\"loop\"}}";
             for (i = 0; i < 500; i++)
                 printf ",\n{\"ph\":\"X\",\"name\":\"w\",\"pid\":1,\"tid\":1,\"ts\":%d.000,\"dur\":1.000,\"args\":{\"from\":\"f (a.c:1)\",\"to\":\"f (a.c:2)\"}}" \
                        ",\n{\"ph\":\"X\",\"name\":\"wait\",\"pid\":1,\"tid\":0,\"ts\":%d.000,\"dur\":1.000,\"args\":{\"selector\":\"poll\",\"woke\":1}}", i * 2, i * 2 + 1;
             print "\n]}" }' > "$tmp/longloop.json"
size=$(wc -c < "$small")
head -c $((size / 2)) "$small" > "$tmp/truncated.json"
: > "$tmp/empty.json"
printf 'this is not a trace\n' > "$tmp/garbage.json"
printf '{"traceEvents":[{"ph":"X","tid":1,"ts":1,"dur":-5}]}' > "$tmp/negative.json"

xml_ok() { # file: well-formed XML, when python3 can tell
    [ -z "$have_python" ] || python3 -c 'import xml.dom.minidom,sys; xml.dom.minidom.parse(sys.argv[1])' "$1" 2>/dev/null
}
have_python=
if command -v python3 >/dev/null 2>&1; then have_python=1; else echo "check-timeline: no python3: the SVG is not checked for well-formed XML"; fi

# The real trace: exit 0, well-formed, a lane per task, the same bytes twice.
if ! $tool "$small" "$tmp/a.svg" 2>"$tmp/err"; then
    say "failed on $small: $(cat "$tmp/err")"
else
    xml_ok "$tmp/a.svg" || say "the SVG for $small is not well-formed XML"
    sed -n 's/.*"name":"thread_name".*"args":{"name":"\([^"]*\)"}}.*/\1/p' "$small" > "$tmp/tasks"
    [ -s "$tmp/tasks" ] || say "$small names no tasks"
    while read -r t; do
        n=$(grep -o "<text x=\"10\" y=\"[0-9.]*\"><title>$t</title>$t</text>" "$tmp/a.svg" | wc -l)
        [ "$n" -eq 1 ] || say "task $t has $n lane labels, not 1"
    done < "$tmp/tasks"
    lanes=$(grep -o '<text x="10" y="[0-9.]*"><title>' "$tmp/a.svg" | wc -l)
    [ "$lanes" -eq "$(wc -l < "$tmp/tasks")" ] || say "$lanes lanes for $(wc -l < "$tmp/tasks") tasks"
    $tool "$small" "$tmp/b.svg" 2>/dev/null && cmp -s "$tmp/a.svg" "$tmp/b.svg" ||
        say "two runs on $small gave different pictures"
fi

# A trace with the loop's lane: well-formed, "loop" the top lane and one
# lane per task under it, a bar per wait, no parked or ready line in it.
if ! $tool "$loop" "$tmp/loop.svg" 2>"$tmp/err"; then
    say "failed on $loop: $(cat "$tmp/err")"
else
    xml_ok "$tmp/loop.svg" || say "the SVG for $loop is not well-formed XML"
    sed -n 's/.*"name":"thread_name".*"args":{"name":"\([^"]*\)"}}.*/\1/p' "$loop" > "$tmp/lanes"
    grep -qx loop "$tmp/lanes" || say "$loop has no loop lane: not the trace this check is for"
    [ "$(grep -cvx loop "$tmp/lanes")" -gt 0 ] || say "$loop names no tasks"
    while read -r t; do
        n=$(grep -o "<text x=\"10\" y=\"[0-9.]*\"><title>$t</title>$t</text>" "$tmp/loop.svg" | wc -l)
        [ "$n" -eq 1 ] || say "lane $t has $n lane labels in the picture of $loop, not 1"
    done < "$tmp/lanes"
    top=$(sed -n 's/.*<text x="10" y="\([0-9.]*\)"><title>\([^<]*\)<\/title>.*/\1 \2/p' "$tmp/loop.svg" | sort -n | head -n 1)
    [ "${top#* }" = loop ] || say "the top lane of $loop's picture is '${top#* }', not loop"
    waits=$(grep -c '"tid":0,.*"ph":"X"\|"ph":"X".*"tid":0,' "$loop")
    bars=$(grep -c '^<g><title>loop wait [0-9]*: in select, .*<rect class="wt" ' "$tmp/loop.svg")
    [ "$bars" -eq "$waits" ] || say "$loop has $waits waits of the loop, its picture $bars bars"
    grep -q '<title>loop \(parked\|ready\)' "$tmp/loop.svg" && say "the loop's lane in $loop's picture has a task's lines"
    grep -q 'the loop waits' "$tmp/loop.svg" || say "the legend of $loop's picture has no entry for the loop's waits"
fi

# 500 steps: the first 400 drawn, and the picture says what was left out.
if $tool "$tmp/long.json" "$tmp/long.svg" 2>"$tmp/err"; then
    bars=$(grep -c '^<rect class="c[0-5]" .*<title>' "$tmp/long.svg")
    [ "$bars" -eq 400 ] || say "the 500-step trace drew $bars steps, not 400"
    grep -q 'Not all is drawn: the earliest 400 steps.*left out: 100 steps' "$tmp/long.svg" ||
        say "the 500-step picture does not say that 100 steps were left out"
    xml_ok "$tmp/long.svg" || say "the SVG for 500 steps is not well-formed XML"
else
    say "failed on 500 steps: $(cat "$tmp/err")"
fi
# The same with a wait of the loop after each step: the waits are cut with them.
if $tool "$tmp/longloop.json" "$tmp/longloop.svg" 2>"$tmp/err"; then
    bars=$(grep -c '^<g><title>loop wait ' "$tmp/longloop.svg")
    [ "$bars" -eq 400 ] || say "the 500-step trace with waits drew $bars waits, not 400"
    grep -q 'Not all is drawn: the earliest 400 steps, 0 marks and 400 waits, in 2 lanes; left out: 100 steps, 0 marks, 100 waits, 0 tasks' \
        "$tmp/longloop.svg" || say "the 500-step picture with waits does not say that 100 steps and 100 waits were left out"
    xml_ok "$tmp/longloop.svg" || say "the SVG for 500 steps with waits is not well-formed XML"
else
    say "failed on 500 steps with waits: $(cat "$tmp/err")"
fi

# A trace in ticks (ASYNC_TRACE_CLOCK=steps) is drawn in ticks, not in time.
printf '%s\n' '{"displayTimeUnit":"ns","otherData":{"clock":"steps"},"traceEvents":[' \
    '{"ph":"M","name":"thread_name","pid":1,"tid":1,"args":{"name":"main#1"}},' \
    '{"ph":"i","s":"t","name":"spawn","pid":1,"tid":1,"ts":0.000},' \
    '{"ph":"X","name":"main","pid":1,"tid":1,"ts":1.000,"dur":1.000,"args":{"from":"start of main","to":"end of main"}},' \
    '{"ph":"i","s":"t","name":"done","pid":1,"tid":1,"ts":3.000}' ']}' > "$tmp/steps.json"
if $tool "$tmp/steps.json" "$tmp/steps.svg" 2>"$tmp/err"; then
    grep -q 'drawn from tick 0 to tick 3: time counts events' "$tmp/steps.svg" &&
        grep -q 'main#1 step 1: ran 1 tick at tick 1' "$tmp/steps.svg" &&
        ! grep -q "$(printf '\302\265')s" "$tmp/steps.svg" ||
        say "a trace in ticks is not drawn in ticks"
    xml_ok "$tmp/steps.svg" || say "the SVG for a trace in ticks is not well-formed XML"
else
    say "failed on a trace in ticks: $(cat "$tmp/err")"
fi

# --partial draws what a truncated trace has.
$tool --partial "$tmp/truncated.json" "$tmp/part.svg" 2>/dev/null && xml_ok "$tmp/part.svg" ||
    say "--partial did not draw the truncated trace"

broken() { # tool: each broken input gives exit 1, a message, no sanitizer report
    for f in truncated empty garbage negative missing; do
        "$1" "$tmp/$f.json" "$tmp/out.svg" 2>"$tmp/err" >/dev/null
        rc=$?
        if [ $rc -ne 1 ]; then say "$1 on $f.json: exit $rc, not 1 $(head -c 300 "$tmp/err")"
        elif ! grep -q "^timeline: .*$f.json" "$tmp/err"; then say "$1 on $f.json: no message naming the file"
        elif grep -q 'Sanitizer\|runtime error' "$tmp/err"; then say "$1 on $f.json: $(head -c 300 "$tmp/err")"
        fi
    done
}
broken "$tool"

# Again under the sanitizers, with the real and the long trace too.
cc=$(command -v gcc || echo cc)
if "$cc" -std=c11 -D_POSIX_C_SOURCE=200809L -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
        tools/timeline.c -o "$tmp/timeline-san" 2>/dev/null; then
    # Leaks are not the question (the process ends at once); bad reads are.
    export ASAN_OPTIONS=detect_leaks=0
    broken "$tmp/timeline-san"
    for f in "$small" "$loop" "$tmp/long.json" "$tmp/longloop.json" "$tmp/steps.json"; do
        "$tmp/timeline-san" "$f" "$tmp/san.svg" 2>"$tmp/err" || say "under the sanitizers on $f: $(head -c 300 "$tmp/err")"
    done
    san=" (and under ASan+UBSan)"
else
    echo "check-timeline: $cc cannot build with -fsanitize=address,undefined: that part is skipped"
    san=
fi

if [ "$bad" -ne 0 ]; then echo "check-timeline: $bad problem(s)"; exit 1; fi
echo "check-timeline: the timeline tool draws $small the same way twice, $loop with the loop's lane, and refuses broken traces$san"
