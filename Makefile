# groupkv — the two commands a new user needs:
#   make demo   build everything and run the examples against a fresh database
#   make test   every test: Rust (unit, integration, doc), loom models, and each layer's suite
#
# Each layer adds its own targets in mk/<layer>.mk by appending to DEMO_TARGETS / TEST_TARGETS.

CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

DEMO_TARGETS :=
TEST_TARGETS :=

.PHONY: all build demo test test-rust test-loom fmt-check clippy clean
.DEFAULT_GOAL := all

include $(sort $(wildcard mk/*.mk))

all: build

build:
	$(CARGO) build --release --lib --examples

demo: build $(DEMO_TARGETS)
	@echo "== Rust demo: 16 threads writing with sync, reopen, verify"
	$(CARGO) run --release --quiet --example demo

test: fmt-check clippy test-rust test-loom $(TEST_TARGETS)
	@echo "make test: all suites passed"

fmt-check:
	$(CARGO) fmt --all -- --check

test-rust:
	$(CARGO) test --release --all-targets
	$(CARGO) test --release --doc

# The loom models need their own build (--cfg loom swaps every atomic); the grep proves the
# models ran rather than compiling to nothing.
test-loom:
	RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
	  $(CARGO) test --release --test loom_write_thread --test loom_pipelined_switch -- --nocapture 2>&1 | tee target/loom.log
	@grep -q "loom models run: " target/loom.log || { echo "loom models did not run"; exit 1; }
	@grep -E "test result: ok. [1-9][0-9]* passed" target/loom.log >/dev/null

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

clean:
	$(CARGO) clean
