# groupkv-stress, the whole-engine stress and crash test (issue 16; docs/RELIABILITY.md,
# "Whole-engine stress"). Three cargo integration tests drive it:
#   stress_crash_loop   groupkv-stress --crash_loop: kill -9 cycles, every recovery mode
#   stress_power_loss   the stress mix in process on MemFs, power loss at random points; each
#                       image opened under all four recovery modes
#   stress_io_errors    the stress mix on a MemFs that fails with ENOSPC or EIO for good
#
#   make test-stress                          part of `make test` (about a minute)
#   make stress-crash-test STRESS_CYCLES=N    the long run (`make crash-test` runs it too)
#
# Reproduce a failure with the seed it prints: GROUPKV_CRASH_SEED=<seed> (tests) or
# groupkv-stress --seed=<seed>.

STRESS_TESTS := --test stress_crash_loop --test stress_power_loss --test stress_io_errors
STRESS_FIGURES := '^stress (crash loop|power loss|io errors): [0-9]'
STRESS_CYCLES ?= 1000
STRESS_POWER_LOSSES ?= 10000
STRESS_IO_ERRORS ?= 1000

.PHONY: test-stress stress-crash-test
TEST_TARGETS += test-stress

test-stress:
	@mkdir -p target
	GROUPKV_STRESS_CYCLES=20 GROUPKV_STRESS_POWER_LOSSES=300 GROUPKV_STRESS_IO_ERRORS=40 \
	  $(CARGO) test --release $(STRESS_TESTS) -- --nocapture > target/stress.log 2>&1 \
	  || { cat target/stress.log; echo "stress harness failed"; exit 1; }
	@echo "== stress figures (0 violations each):"
	@grep -E $(STRESS_FIGURES) target/stress.log
	@test "$$(grep -E $(STRESS_FIGURES) target/stress.log | grep -c ', 0 violations')" -eq 3 \
	  || { echo "some stress harness did not report its figure"; exit 1; }

stress-crash-test:
	@mkdir -p target
	GROUPKV_STRESS_CYCLES=$(STRESS_CYCLES) GROUPKV_STRESS_POWER_LOSSES=$(STRESS_POWER_LOSSES) \
	GROUPKV_STRESS_IO_ERRORS=$(STRESS_IO_ERRORS) \
	  $(CARGO) test --release $(STRESS_TESTS) -- --nocapture --test-threads=1 2>&1 \
	  | tee target/stress-crash-test.log
	@! grep -q "test result: FAILED" target/stress-crash-test.log
	@test "$$(grep -E $(STRESS_FIGURES) target/stress-crash-test.log | grep -c ', 0 violations')" -eq 3
