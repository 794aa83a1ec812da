#!/bin/sh
# The timeline tool (tools/timeline.c) on a real trace and on broken ones:
# a real trace gives a well-formed SVG with one lane label per task, the same
# bytes every time; one in ticks (ASYNC_TRACE_CLOCK=steps) is drawn in
# ticks; a long one is cut at 400 steps and says so; a truncated,
# empty, garbage or missing input gives exit 1 and a message, never a crash.
# The broken inputs run again under AddressSanitizer + UBSan when gcc has them.
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
bad=0
say() { echo "check-timeline: $*"; bad=$((bad + 1)); }

make --no-print-directory -s build/tools/timeline || { say "cannot build build/tools/timeline"; exit 1; }
tool=build/tools/timeline
small=tools/testdata/small.json

# Inputs: the real trace, a long synthetic one, and the broken ones.
awk 'BEGIN { printf "{\"traceEvents\":[\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"w#1\"}}";
             for (i = 0; i < 500; i++)
                 printf ",\n{\"ph\":\"X\",\"name\":\"w\",\"pid\":1,\"tid\":1,\"ts\":%d.000,\"dur\":1.000,\"args\":{\"from\":\"f (a.c:1)\",\"to\":\"f (a.c:2)\"}}", i * 2;
             print "\n]}" }' > "$tmp/long.json"
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
    for f in "$small" "$tmp/long.json" "$tmp/steps.json"; do
        "$tmp/timeline-san" "$f" "$tmp/san.svg" 2>"$tmp/err" || say "under the sanitizers on $f: $(head -c 300 "$tmp/err")"
    done
    san=" (and under ASan+UBSan)"
else
    echo "check-timeline: $cc cannot build with -fsanitize=address,undefined: that part is skipped"
    san=
fi

if [ "$bad" -ne 0 ]; then echo "check-timeline: $bad problem(s)"; exit 1; fi
echo "check-timeline: the timeline tool draws $small the same way twice and refuses broken traces$san"
