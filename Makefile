# The course's build.  `make help` lists the targets.
#
# A stage is selected by a goal of its own, so workshop slides can say
#     make stage3 test      make stage3 run      make stage3 diff
# and everything built goes under build/, never into a stage directory.

.DEFAULT_GOAL := help
SHELL := /bin/sh

STAGE_DIRS := $(sort $(wildcard stage0[1-9]_*))
STAGE_NUMS := $(patsubst stage0%,%,$(foreach d,$(STAGE_DIRS),$(firstword $(subst _, ,$(d)))))
NEWEST     := $(lastword $(STAGE_NUMS))
dir_of      = $(filter stage0$(1)_%,$(STAGE_DIRS))

# ---- which stage did the command line name? -------------------------------
STAGE_GOALS := $(filter $(foreach n,$(STAGE_NUMS),stage$(n) stage0$(n)),$(MAKECMDGOALS))
ifneq ($(words $(STAGE_GOALS)),0)
  SEL := $(patsubst stage%,%,$(patsubst stage0%,%,$(lastword $(STAGE_GOALS))))
endif
ACTIONS := test run bench diff trace valgrind
ACTION_GOALS := $(filter $(ACTIONS),$(MAKECMDGOALS))

# ---- compiler and flags ---------------------------------------------------
CC ?= cc
IS_CLANG := $(shell $(CC) --version 2>/dev/null | grep -qi clang && echo 1)
WARN := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wvla -Wformat=2 -Wcast-qual -Wundef
ifneq ($(IS_CLANG),1)
  # Catches the classic generator bug: a C local read after a yield.
  WARN += -Wjump-misses-init
endif
OPT := -O2 -g
ifeq ($(SAN),1)
  OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
endif
# Hardening, where the compiler has it: a stack canary in every function
# with a local array, and glibc's checked string and I/O calls where the
# size is known at compile time (_FORTIFY_SOURCE, which needs optimisation;
# -U first, since some compilers predefine it).  Not with SAN=1, whose own
# checks cover the same ground and report better.
HARDEN := $(shell echo 'int main(void) { return 0; }' | \
            $(CC) -x c -fstack-protector-strong -Werror -o /dev/null - 2>/dev/null && \
            echo -fstack-protector-strong)
ifneq ($(SAN),1)
  HARDEN += -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
endif
# From stage 3 on: the selector backend the loop uses unless ASYNC_SELECTOR
# says otherwise at run time.
SELECTOR ?= select
ifeq ($(filter select poll epoll,$(SELECTOR)),)
  $(error SELECTOR=$(SELECTOR): choose select, poll or epoll)
endif
CFLAGS_ALL := -std=c11 -D_POSIX_C_SOURCE=200809L $(WARN) $(OPT) $(HARDEN) $(CFLAGS) \
              $(if $(filter-out select,$(SELECTOR)),-DSEL_DEFAULT='"$(SELECTOR)"')
LDFLAGS_ALL := $(filter -fsanitize=%,$(OPT)) $(LDFLAGS)
LDLIBS_ALL := -lpthread $(LDLIBS)

CHECK_FLAGS = $(shell pkg-config --cflags --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -pthread)

# gcc without sanitizers with the select backend builds into build/stageN;
# any other variant into build/<variant>/stageN (build/gcc-san-epoll/...), so
# objects built with different flags never mix.
VARIANT := $(notdir $(firstword $(CC)))$(if $(filter 1,$(SAN)),-san)$(if $(filter-out select,$(SELECTOR)),-$(SELECTOR))
BUILD := $(if $(filter cc gcc,$(VARIANT)),build,build/$(VARIANT))

# Each stage directory is a complete snapshot, carrying the demos and
# benchmarks of the stages before it; these lists name the ones each stage
# adds, which `make stageN run` and `make stageN bench` run (EX=name runs any
# demo the stage has, ARGS="..." passes it arguments).  The first demo is the stage's main one: `make run`
# runs the newest stage's.
DEMOS_1 := handrolled numbers compare pipeline delegate driver
DEMOS_2 := interleave join_two gather_three cancel_worker supervise group_fail
DEMOS_3 := echo_server echo_client hello_http
DEMOS_4 := hello_later delayed_prints spawn_join idle_echo
DEMOS_5 := event_wait lock_order queue_workers producer_consumer blocking_call
# Stage 6's main demo is a server that runs until Ctrl-C, so it is the only
# one `make stage6 run` starts: EX=http_journey (a server and three clients
# in one loop) and EX=http_fetch ARGS=URL (the client) run the others.
DEMOS_6 := http_demo
BENCH_1 := resume
BENCH_2 := loop
BENCH_3 := echo selectors c10k
BENCH_4 := timers
BENCH_5 := sync
BENCH_6 := http
demos_of = $(DEMOS_$(1))
# Arguments for the main demo under `make stageN trace`; stage 5's demos take
# --virtual-clock (the sleeps take no real time), earlier ones take none.  The
# trace's times are the real clock's, so a virtual sleep shows as no time.
# (ASYNC_TRACE_CLOCK=steps make stageN trace: a tick per event instead.)
TRACE_ARGS_5 := --virtual-clock
# The demo `make stageN trace` runs, where it is not the main one: stage 6's
# serves until stopped, so its trace is of http_journey, which ends.
TRACE_DEMO_6 := http_journey
trace_demo_of = $(if $(TRACE_DEMO_$(1)),$(TRACE_DEMO_$(1)),$(firstword $(call demos_of,$(1))))

# The GUIDE's pictures: PICTURES_N lists the demos of stage N drawn as
# pictures/stageN-DEMO.svg, PICTURE_ARGS_N_DEMO their arguments.  Each is
# traced with ASYNC_TRACE_CLOCK=steps (a tick per event, so every run writes
# the same bytes) on the select backend (the order in which the selectors
# report descriptors differs, and with it the picture).  Chosen to show each
# chapter's point: stage 4's main demo is one task sleeping once, so its
# picture is delayed_prints; stage 5's is one Event set once, so lock_order
# (a lock hand-off); stage 6's serves until stopped, so http_journey (a
# server and three clients, one of them slow).  A stage without a PICTURES_N
# line has no picture and is not built for one.
PICTURES_2 := interleave
PICTURES_3 := echo_server
PICTURES_4 := delayed_prints
PICTURES_5 := lock_order
PICTURE_ARGS_5_lock_order := --virtual-clock
PICTURES_6 := http_journey

# ---- tools ----------------------------------------------------------------
# One build for every variant: a tool is not part of a stage, and SAN or
# SELECTOR would change nothing it does.
TIMELINE := build/tools/timeline
$(TIMELINE): tools/timeline.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_POSIX_C_SOURCE=200809L $(WARN) -O2 $< -o $@

# ---- per-stage rules ------------------------------------------------------
define STAGE_RULES
S$(1)_DIR   := $(call dir_of,$(1))
S$(1)_OUT   := $(BUILD)/stage$(1)
S$(1)_SRCS  := $$(wildcard $$(S$(1)_DIR)/*.c)
S$(1)_OBJS  := $$(patsubst $$(S$(1)_DIR)/%.c,$$(S$(1)_OUT)/obj/%.o,$$(S$(1)_SRCS))
S$(1)_HDRS  := $$(wildcard $$(S$(1)_DIR)/*.h common/*.h)
S$(1)_LIB   := $$(S$(1)_OUT)/libasync.a
S$(1)_EXES  := $$(patsubst $$(S$(1)_DIR)/examples/%.c,$$(S$(1)_OUT)/examples/%,$$(wildcard $$(S$(1)_DIR)/examples/*.c))
S$(1)_BENCH := $$(patsubst $$(S$(1)_DIR)/bench/%.c,$$(S$(1)_OUT)/bench/%,$$(wildcard $$(S$(1)_DIR)/bench/*.c))
S$(1)_SUITES := $$(wildcard $$(foreach k,$$(wordlist 1,$(1),$$(STAGE_NUMS)),tests/test_stage0$$(k).c \
                   tests/test_stage0$$(k)_*.c tests/stage0$$(k)_*.c))
S$(1)_INC   := -I$$(S$(1)_DIR) -Icommon

$$(S$(1)_OUT)/obj/%.o: $$(S$(1)_DIR)/%.c $$(S$(1)_HDRS)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_ALL) $$(S$(1)_INC) -c $$< -o $$@

$$(S$(1)_LIB): $$(S$(1)_OBJS)
	@rm -f $$@
	$$(AR) rcs $$@ $$^

$$(S$(1)_OUT)/examples/%: $$(S$(1)_DIR)/examples/%.c $$(S$(1)_LIB) $$(S$(1)_HDRS)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_ALL) $$(S$(1)_INC) $$< $$(S$(1)_LIB) $$(LDFLAGS_ALL) $$(LDLIBS_ALL) -o $$@

$$(S$(1)_OUT)/bench/%: $$(S$(1)_DIR)/bench/%.c $$(S$(1)_LIB) $$(S$(1)_HDRS)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_ALL) $$(S$(1)_INC) -DBENCH_DIR='"$$(S$(1)_DIR)/bench"' $$< $$(S$(1)_LIB) $$(LDFLAGS_ALL) $$(LDLIBS_ALL) -o $$@

# Stage 6's tests fail each allocation of a scenario in turn
# (test_stage06_alloc.c), so every malloc, calloc, realloc and free in that
# program goes through the test's wrappers; the stage's code is unchanged.
TEST_LDFLAGS_6 := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free
# The suites may run the stage's demos (stage 5's do), so those are built first.
$$(S$(1)_OUT)/tests/run_tests: tests/main.c $$(S$(1)_SUITES) $$(wildcard tests/*.h) $$(S$(1)_LIB) $$(S$(1)_HDRS) $$(S$(1)_EXES) | check-lib
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_ALL) $$(S$(1)_INC) -Itests -DSTAGE=$(1) -DEXAMPLES_DIR='"$$(S$(1)_OUT)/examples"' tests/main.c $$(S$(1)_SUITES) \
	    $$(S$(1)_LIB) $$(LDFLAGS_ALL) $$(TEST_LDFLAGS_$(1)) $$(CHECK_FLAGS) $$(LDLIBS_ALL) -o $$@

.PHONY: build-$(1) test-$(1) run-$(1) bench-$(1) diff-$(1) trace-$(1) valgrind-$(1)
build-$(1): $$(S$(1)_LIB) $$(S$(1)_EXES)

test-$(1): $$(S$(1)_OUT)/tests/run_tests
	@echo "== stage$(1): suites 1..$(1) against $$(S$(1)_DIR)"
	@$$(S$(1)_OUT)/tests/run_tests $$(S$(1)_OUT)/tests/summary

run-$(1): build-$(1)
	@set -e; for d in $$(if $$(EX),$$(EX),$$(call demos_of,$(1))); do \
	    echo "== $$(S$(1)_DIR)/examples/$$$$d.c"; $$(S$(1)_OUT)/examples/$$$$d $$(ARGS); echo; done

bench-$(1): $$(S$(1)_BENCH) build-$(1)
	@set -e; for b in $$(BENCH_$(1)); do echo "== $$(S$(1)_OUT)/bench/$$$$b"; \
	    $$(S$(1)_OUT)/bench/$$$$b; echo; done

diff-$(1):
	@sh tools/stage-diff.sh $(1)

# The main demo with ASYNC_TRACE set, then the trace drawn as a timeline.
# A stage without trace.c has no loop, so nothing to trace.
ifeq ($$(wildcard $$(S$(1)_DIR)/trace.c),)
trace-$(1):
	@echo "stage $(1) has no loop to trace: its generators are driven by hand (try make stage2 trace)"
else
trace-$(1): build-$(1) $$(TIMELINE)
	@d=$$(call trace_demo_of,$(1)); o=$$(S$(1)_OUT); \
	    echo "== ASYNC_TRACE=$$$$o/trace.json $$$$o/examples/$$$$d$$(if $$(TRACE_ARGS_$(1)), $$(TRACE_ARGS_$(1)))"; \
	    ASYNC_TRACE=$$$$o/trace.json $$$$o/examples/$$$$d $$(TRACE_ARGS_$(1)) || echo "(the demo exited with status $$$$?)"; \
	    $$(TIMELINE) $$$$o/trace.json $$$$o/timeline.svg --title "stage $(1): $$$$d$$(if $$(TRACE_ARGS_$(1)), $$(TRACE_ARGS_$(1)))" || exit 1; \
	    echo; echo "trace:    $$$$o/trace.json"; echo "timeline: $$$$o/timeline.svg"; \
	    echo "Open the trace in https://ui.perfetto.dev (Open trace file) or chrome://tracing (Load); the timeline in a browser."
endif

valgrind-$(1): $$(S$(1)_OUT)/tests/run_tests
	@echo "== stage$(1) under valgrind memcheck"
	@CK_FORK=no CK_DEFAULT_TIMEOUT=120 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible \
	    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
	    $$(S$(1)_OUT)/tests/run_tests
endef
$(foreach n,$(STAGE_NUMS),$(eval $(call STAGE_RULES,$(n))))

# ---- the GUIDE's pictures (PICTURES_N above) --------------------------------
PICTURE_STAGES := $(foreach n,$(STAGE_NUMS),$(if $(PICTURES_$(n)),$(n)))
PICTURE_NAMES  := $(foreach n,$(PICTURE_STAGES),$(foreach d,$(PICTURES_$(n)),stage$(n)-$(d)))
PICTURE_TMP    := build/pictures

# $(call draw_picture,N,DEMO,DIR): trace stage N's DEMO, draw DIR/stageN-DEMO.svg.
# The trace and the demo's output stay under build/pictures/.
define draw_picture
	@p=stage$(1)-$(2); j=$(PICTURE_TMP)/$$p.json; \
	    ASYNC_TRACE=$$j ASYNC_TRACE_CLOCK=steps ASYNC_SELECTOR=select \
	    $(BUILD)/stage$(1)/examples/$(2) $(PICTURE_ARGS_$(1)_$(2)) > $(PICTURE_TMP)/$$p.out 2>&1 || \
	    { echo "pictures: $(BUILD)/stage$(1)/examples/$(2) failed (its output: $(PICTURE_TMP)/$$p.out)"; exit 1; }; \
	    $(TIMELINE) $$j $(3)/$$p.svg --title "stage $(1): $(2)$(if $(PICTURE_ARGS_$(1)_$(2)), $(PICTURE_ARGS_$(1)_$(2)))"

endef

.PHONY: pictures check-pictures
# Rewrite pictures/ (the committed SVGs the GUIDE shows) from fresh runs.
pictures: $(foreach n,$(PICTURE_STAGES),build-$(n)) $(TIMELINE)
	@mkdir -p pictures $(PICTURE_TMP)
	$(foreach n,$(PICTURE_STAGES),$(foreach d,$(PICTURES_$(n)),$(call draw_picture,$(n),$(d),pictures)))
	@for f in pictures/*.svg; do case " $(PICTURE_NAMES) " in *" $$(basename $$f .svg) "*) ;; \
	    *) echo "pictures: $$f is drawn by no PICTURES_N line: remove it (git rm)";; esac; done
	@echo "pictures: $(patsubst %,pictures/%.svg,$(PICTURE_NAMES))"

# The committed pictures must be what the demos draw now: drawn again under
# build/pictures/fresh and compared byte for byte.
check-pictures: $(foreach n,$(PICTURE_STAGES),build-$(n)) $(TIMELINE)
	@rm -rf $(PICTURE_TMP)/fresh; mkdir -p $(PICTURE_TMP)/fresh
	$(foreach n,$(PICTURE_STAGES),$(foreach d,$(PICTURES_$(n)),$(call draw_picture,$(n),$(d),$(PICTURE_TMP)/fresh)))
	@bad=0; for p in $(PICTURE_NAMES); do \
	    if [ ! -f pictures/$$p.svg ]; then echo "check-pictures: pictures/$$p.svg is missing: run make pictures"; bad=$$((bad + 1)); \
	    elif ! cmp -s pictures/$$p.svg $(PICTURE_TMP)/fresh/$$p.svg; then \
	        echo "check-pictures: pictures/$$p.svg is not what its demo draws now ($(PICTURE_TMP)/fresh/$$p.svg): run make pictures"; \
	        bad=$$((bad + 1)); fi; done; \
	for f in pictures/*.svg; do [ -f "$$f" ] || continue; case " $(PICTURE_NAMES) " in *" $$(basename $$f .svg) "*) ;; \
	    *) echo "check-pictures: $$f is drawn by no PICTURES_N line in the Makefile: remove it"; bad=$$((bad + 1));; esac; done; \
	if [ $$bad -ne 0 ]; then echo "check-pictures: $$bad problem(s)"; exit 1; fi; \
	echo "check-pictures: the $(words $(PICTURE_NAMES)) pictures in pictures/ match fresh runs of their demos"

# ---- fuzzing: libFuzzer on the HTTP parsers ------------------------------------
# tests/fuzz/fuzz_T.c for each T of FUZZ_TARGETS, built with clang's
# libFuzzer and ASan+UBSan against stage 6's hparse.c (fuzz_url: client.c's
# URL parser, with the rest of stage 6).  Each run starts from the parser
# tests' inputs (tools/fuzz-seeds.py), what earlier runs found
# (build/fuzz/corpus/T) and every input that once crashed
# (tests/fuzz/regress/T: each crash becomes one, and a regression test in
# test_stage06_parse.c or test_stage06_client.c besides).  A crash stops
# make with the input's path.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_TARGETS := request response chunked url
FUZZ_OUT := $(BUILD)/fuzz
FUZZ_FLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wpedantic -Werror -g -O1 \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_head.h stage06_http/hparse.c stage06_http/hparse.h
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: needs clang (apt-get install -y clang)"; exit 1; }
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Istage06_http $< stage06_http/hparse.c -o $@
# The client's URL parser is in client.c, which needs the rest of the
# library to link.
$(FUZZ_OUT)/fuzz_url: tests/fuzz/fuzz_url.c $(S6_SRCS) $(S6_HDRS)
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: needs clang (apt-get install -y clang)"; exit 1; }
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(S6_INC) $< $(S6_SRCS) -lpthread -o $@

.PHONY: fuzz
fuzz: fuzz-model $(foreach t,$(FUZZ_TARGETS),$(FUZZ_OUT)/fuzz_$(t))
	@set -e; for t in $(FUZZ_TARGETS); do \
	    python3 tools/fuzz-seeds.py $$t $(FUZZ_OUT)/seeds/$$t >/dev/null; \
	    mkdir -p $(FUZZ_OUT)/corpus/$$t; \
	    regress=; [ -d tests/fuzz/regress/$$t ] && regress=tests/fuzz/regress/$$t; \
	    echo "fuzz: $$t for $(FUZZ_SECONDS) s ($$(ls $(FUZZ_OUT)/seeds/$$t | wc -l) seeds)"; \
	    if ! $(FUZZ_OUT)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_OUT)/$$t- $(FUZZ_OUT)/corpus/$$t $(FUZZ_OUT)/seeds/$$t $$regress \
	        > $(FUZZ_OUT)/$$t.log 2>&1; then \
	        tail -n 30 $(FUZZ_OUT)/$$t.log; \
	        echo "fuzz: $$t failed; the input is $(FUZZ_OUT)/$$t-*: add it to tests/fuzz/regress/$$t"; exit 1; fi; \
	    sed -n 's/^stat::number_of_executed_units: */fuzz:   inputs tried: /p; s/^stat::new_units_added: */fuzz:   new inputs kept: /p' \
	        $(FUZZ_OUT)/$$t.log; done; \
	echo "fuzz: no crash, no sanitizer report, no broken invariant in $(FUZZ_TARGETS)"

# The scheduler's model-based fuzzes (tests/test_stage02_model.c and
# tests/test_stage05_model.c), run against stage 5's code under ASan+UBSan
# with MODEL_FUZZ_SEEDS seeds each [100000] from MODEL_FUZZ_START [1], where
# `make test` runs a few thousand.  A seed is one run on every machine, so
# more seeds, not more time, is what finds more: a count keeps a failure
# reproducible (the message names the seed and how to replay it), where a
# time limit would make what was tried depend on the machine.
MODEL_FUZZ_SEEDS ?= 100000
MODEL_FUZZ_START ?= 1
MODEL_FUZZ_OUT := $(BUILD)/fuzz-model
.PHONY: fuzz-model
fuzz-model:
	@$(MAKE) --no-print-directory SAN=1 BUILD=$(MODEL_FUZZ_OUT) $(MODEL_FUZZ_OUT)/stage5/tests/run_tests >/dev/null
	@for s in 2 5; do log=$(MODEL_FUZZ_OUT)/model$$s.log; \
	    echo "fuzz: the stage-$$s model, $(MODEL_FUZZ_SEEDS) seeds from $(MODEL_FUZZ_START) (SAN=1)"; \
	    if ! CK_RUN_SUITE=stage0$$s CK_RUN_CASE=model MODEL_SEED_START=$(MODEL_FUZZ_START) \
	        MODEL_SEEDS=$(MODEL_FUZZ_SEEDS) $(MODEL_FUZZ_OUT)/stage5/tests/run_tests > $$log 2>&1; then \
	        grep -E 'model seed|replay|failing seed|ERROR|runtime error' $$log | head -n 20; \
	        echo "fuzz: the stage-$$s model failed (all of it: $$log)"; exit 1; fi; \
	    echo "fuzz:   $(MODEL_FUZZ_SEEDS) seeds passed"; done

# The same targets without libFuzzer, in `make test` (checks): replay.c
# hands each seed and each regress input to the target once, built with the
# ordinary compiler and flags (so SAN=1 replays them under the sanitizers).
REPLAY_OUT := $(BUILD)/fuzz-replay
$(REPLAY_OUT)/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz_head.h stage06_http/hparse.c stage06_http/hparse.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -Istage06_http $< tests/fuzz/replay.c stage06_http/hparse.c $(LDFLAGS_ALL) -o $@
$(REPLAY_OUT)/replay_url: tests/fuzz/fuzz_url.c tests/fuzz/replay.c $(S6_LIB) $(S6_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(S6_INC) $< tests/fuzz/replay.c $(S6_LIB) $(LDFLAGS_ALL) $(LDLIBS_ALL) -o $@

.PHONY: fuzz-replay
fuzz-replay: $(foreach t,$(FUZZ_TARGETS),$(REPLAY_OUT)/replay_$(t))
	@set -e; for t in $(FUZZ_TARGETS); do \
	    set -- ; [ -d tests/fuzz/regress/$$t ] && set -- tests/fuzz/regress/$$t; \
	    if command -v python3 >/dev/null; then \
	        python3 tools/fuzz-seeds.py $$t $(REPLAY_OUT)/seeds/$$t >/dev/null; set -- "$$@" $(REPLAY_OUT)/seeds/$$t; \
	    else echo "fuzz-replay: no python3, so no seeds: only tests/fuzz/regress"; fi; \
	    printf 'fuzz-replay: %s, the fuzzer'"'"'s oracles on the seeds and regress inputs: ' $$t; \
	    $(REPLAY_OUT)/replay_$$t "$$@"; done

# ---- soak: stage 6's demo under 1,000 connections (tools/soak.py) --------------
# wrk for SOAK_SECONDS [20], then: no errors, descriptors and memory back,
# p99; then past max_conns and past RLIMIT_NOFILE; then SIGTERM, exit 0.
# Skipped (not failed) without wrk.  Loopback only, about 35 s.
.PHONY: soak
soak: build-6
	@python3 tools/soak.py $(BUILD)/stage6/examples/http_demo $(if $(filter 1,$(SAN)),--sanitized)

# ---- the goals people type --------------------------------------------------
.PHONY: help test run bench diff trace valgrind check-lib checks clean $(foreach n,$(STAGE_NUMS),stage$(n) stage0$(n))

# `make stageN` builds; with an action goal beside it the action does the work.
$(foreach n,$(STAGE_NUMS),stage$(n) stage0$(n)): $(if $(ACTION_GOALS),,build-$(SEL))
	@:

ifdef SEL
test: test-$(SEL)
run: run-$(SEL)
bench: bench-$(SEL)
diff: diff-$(SEL)
trace: trace-$(SEL)
valgrind: valgrind-$(SEL)
else
# Every stage, then the repository checks, then one closing line.
test: checks
	@rm -f $(BUILD)/stage*/tests/summary
	@status=0; for n in $(STAGE_NUMS); do $(MAKE) --no-print-directory test-$$n || status=1; echo; done; \
	    sh tools/total.sh $(BUILD) $(STAGE_NUMS); exit $$status
run: build-$(NEWEST)
	@$(BUILD)/stage$(NEWEST)/examples/$(firstword $(call demos_of,$(NEWEST))) $(ARGS)
bench: $(foreach n,$(STAGE_NUMS),bench-$(n))
diff:
	@echo "say which stage: make stage2 diff"; exit 2
trace: trace-$(NEWEST)
valgrind: $(foreach n,$(STAGE_NUMS),valgrind-$(n))
endif

# A stage that does not exist yet: say so rather than "no rule to make target".
stage%:
	@echo "There is no $@ yet: the stages are $(STAGE_DIRS)"; exit 2

check-lib:
	@sh tools/ensure-check.sh

# Repository checks: GUIDE.md quotes match the code, carried code did not drift,
# the timeline tool draws a real trace and refuses broken ones, the committed
# pictures are current.
checks:
	@sh tools/check-guide.sh
	@sh tools/check-drift.sh
	@sh tools/selftest-checks.sh
	@sh tools/check-timeline.sh
	@$(MAKE) --no-print-directory check-pictures
	@$(MAKE) --no-print-directory fuzz-replay

clean:
	rm -rf build

help:
	@echo "The stages: $(STAGE_DIRS)"
	@echo
	@echo "  make stageN            build stage N (stage1 and stage01 both work)"
	@echo "  make stageN test       run the test suites of stages 1..N against stage N"
	@echo "  make stageN run        run stage N's demos (EX=name runs one)"
	@echo "  make stageN bench      run stage N's benchmarks"
	@echo "  make stageN diff       what stage N adds to stage N-1"
	@echo "  make stageN trace      trace stage N's main demo, draw build/stageN/timeline.svg"
	@echo "  make stageN valgrind   stage N's tests under valgrind memcheck"
	@echo "  make test              every stage's tests and the repository checks"
	@echo "  make run               the newest stage's main demo"
	@echo "  make trace             trace the newest stage's main demo"
	@echo "  make pictures          redraw the GUIDE's timelines, pictures/stageN-DEMO.svg (PICTURES_N)"
	@echo "  make bench             every benchmark"
	@echo "  make fuzz              libFuzzer on the HTTP parsers, FUZZ_SECONDS each [60] (clang)"
	@echo "  make fuzz-model        the scheduler's model fuzzes, MODEL_FUZZ_SEEDS each [100000] (SAN=1; part of make fuzz)"
	@echo "  make soak              stage 6's demo under 1,000 connections (wrk), SOAK_SECONDS [20]"
	@echo "  make valgrind          every stage's tests under valgrind"
	@echo "  make checks            GUIDE.md quotes, carried-code drift, the timeline tool,"
	@echo "                         the pictures are current (make check-pictures alone)"
	@echo "  make clean             remove build/"
	@echo
	@echo "Options: SAN=1 (AddressSanitizer + UBSan), CC=clang, SELECTOR=select|poll|epoll"
	@echo "         (the loop's default backend from stage 3 on; ASYNC_SELECTOR overrides it)"
	@echo "At run time: ASYNC_TRACE=file.json (ASYNC_TRACE_CLOCK=steps: in ticks, the same every run),"
	@echo "         ASYNC_DEBUG=1, and kill -USR1 <pid> prints every task without stopping the program"
