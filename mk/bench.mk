# The benchmark: groupkv-bench (db_bench-style) and bench/compare (groupkv vs RocksDB vs LevelDB).
#   make bench           build target/release/groupkv-bench
#   make bench-compare   the side-by-side run; writes docs/bench/* and docs/BENCHMARKS.md
#                        (minutes; installs librocksdb-dev, libleveldb-dev and g++ if missing)
#   make bench-modes     groupkv's four write modes side by side, into the same files
# Only the smoke test is part of `make test`: timings belong in benchmarks, never in tests.

BENCH_COMPARE_FLAGS ?=

.PHONY: bench bench-compare bench-modes test-bench

bench:
	$(CARGO) build --release --bin groupkv-bench

bench-compare: bench
	python3 bench/compare $(BENCH_COMPARE_FLAGS)

bench-modes: bench
	python3 bench/compare --modes $(BENCH_COMPARE_FLAGS)

TEST_TARGETS += test-bench

test-bench: bench
	bash bench/smoke target/release/groupkv-bench
	python3 bench/compare --self-test
