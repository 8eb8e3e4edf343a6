# Reliability harnesses (issue 7; docs/RELIABILITY.md). All of them are cargo integration
# tests: `cargo test` alone runs them with small counts; these targets run the full counts and
# print the figures.
#
#   make test-reliability        part of `make test`: 50 kill -9 cycles per recovery mode looped
#                                (point_in_time, tolerate_corrupted_tail_records, 256 KiB
#                                write buffers), the switch, migration, flush and compaction crash
#                                sweeps (every crash mode at every point), 600 power
#                                losses, 200 images opened under every mode, ..., and
#                                fuzz_table at 10,000 cases per target (issue 12)
#                                (GROUPKV_CRASH_COMPACTION_CYCLES: the kill -9 loop with
#                                compaction running, 30 here, CYCLES in crash-test)
#   make crash-test CYCLES=N     N kill -9 cycles (default 1000), 10x the simulated crashes, and
#                                the slow tests (a 4 GiB - 1 value, needs 16 GiB of memory)
#   make fuzz FUZZ_CASES=N       the proptest fuzz targets (WAL and batch parsers, tables,
#                                MANIFEST/VersionEdit) with N cases each (default 200000);
#                                cargo-fuzz needs nightly and is not part of the build
#
# Reproduce a failure with the seed it prints: GROUPKV_CRASH_SEED=<seed>.

RELIABILITY_TESTS := --test crash_kill9 --test power_loss_sim --test fault_io_sweep \
                     --test corruption_wal --test fuzz_parsers \
                     --test crash_sweep_switch --test migration_crash_sweep \
                     --test crash_sweep_flush --test crash_sweep_compaction --test wal_checksum_layout
RELIABILITY_FIGURES := '^(kill -9|power loss|double crash|disable_wal|I/O error sweep|corruption|fuzz |switch crash sweep|migration crash sweep|flush crash sweep|compaction crash sweep|first-layout conversion crash sweep)'
CYCLES ?= 1000
FUZZ_CASES ?= 200000

.PHONY: test-reliability crash-test fuzz
TEST_TARGETS += test-reliability

# The kill -9 loop runs examples/crash_child: build it fresh so it never runs stale code.
test-reliability:
	@mkdir -p target
	$(CARGO) build --release --quiet --example crash_child
	GROUPKV_CRASH_CYCLES=50 GROUPKV_CRASH_COMPACTION_CYCLES=30 GROUPKV_POWER_LOSS_CRASHES=600 \
	GROUPKV_DOUBLE_CRASH_SEEDS=60 GROUPKV_POWER_LOSS_CONCURRENT=100 GROUPKV_FUZZ_CASES=2000 \
	GROUPKV_MIGRATION_SECOND_CRASHES=4 GROUPKV_SWEEP_ALL_MODES=1 \
	  $(CARGO) test --release $(RELIABILITY_TESTS) -- --nocapture > target/reliability.log 2>&1 \
	  || { cat target/reliability.log; echo "reliability harness failed"; exit 1; }
	GROUPKV_FUZZ_CASES=10000 $(CARGO) test --release --test fuzz_table -- --nocapture \
	  >> target/reliability.log 2>&1 \
	  || { cat target/reliability.log; echo "table fuzzer failed"; exit 1; }
	@echo "== reliability figures (0 violations each):"
	@grep -E $(RELIABILITY_FIGURES) target/reliability.log
	@test "$$(grep -cE $(RELIABILITY_FIGURES) target/reliability.log)" -ge 24 \
	  || { echo "some reliability harness did not report its figure"; exit 1; }

crash-test: stress-crash-test
	@mkdir -p target
	$(CARGO) build --release --quiet --example crash_child
	GROUPKV_CRASH_CYCLES=$(CYCLES) GROUPKV_CRASH_COMPACTION_CYCLES=$(CYCLES) GROUPKV_POWER_LOSS_CRASHES=6000 GROUPKV_DOUBLE_CRASH_SEEDS=600 \
	GROUPKV_POWER_LOSS_CONCURRENT=1000 GROUPKV_SLOW_TESTS=1 \
	  $(CARGO) test --release --test crash_kill9 --test power_loss_sim --test bad_input_rust \
	  -- --nocapture 2>&1 | tee target/crash-test.log
	@! grep -q "test result: FAILED" target/crash-test.log
	@grep -q "test result: ok" target/crash-test.log

fuzz:
	GROUPKV_FUZZ_CASES=$(FUZZ_CASES) $(CARGO) test --release --test fuzz_parsers \
	  --test fuzz_table --test version_manifest_fuzz -- --nocapture
