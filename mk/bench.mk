# The benchmark: groupkv-bench (db_bench-style) and bench/compare (groupkv vs RocksDB vs LevelDB).
#   make bench           build target/release/groupkv-bench
#   make bench-compare   the side-by-side run, peers with their default options (the headline)
#                        and with the write path alone; writes docs/bench/* and
#                        docs/BENCHMARKS.md (one to two hours on 2 CPUs; installs
#                        librocksdb-dev, libleveldb-dev and g++ if missing)
#   make bench-quick     every row once at 5 % of the size; prints the tables, writes nothing
#   make bench-modes     groupkv's four write modes side by side, into the same files
# BENCH_COMPARE_FLAGS passes more flags, e.g. BENCH_COMPARE_FLAGS="--only=default/read*".
# Only the smoke test is part of `make test`: timings belong in benchmarks, never in tests.

BENCH_COMPARE_FLAGS ?=

.PHONY: bench bench-compare bench-quick bench-modes test-bench

bench:
	$(CARGO) build --release --bin groupkv-bench

bench-compare: bench
	python3 bench/compare $(BENCH_COMPARE_FLAGS)

bench-quick: bench
	python3 bench/compare --quick $(BENCH_COMPARE_FLAGS)

bench-modes: bench
	python3 bench/compare --modes $(BENCH_COMPARE_FLAGS)

TEST_TARGETS += test-bench

test-bench: bench
	bash bench/smoke target/release/groupkv-bench
	python3 bench/compare --self-test
