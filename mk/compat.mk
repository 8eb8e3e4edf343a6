# Compatibility with LevelDB and RocksDB (issues 12 and 13; docs/file-formats.md): LevelDB's own
# code and RocksDB's sst_dump read the tables groupkv writes, and groupkv reads tables LevelDB
# wrote; LevelDB opens whole groupkv directories and groupkv opens LevelDB's.
#
#   make test-compat        part of `make test`: every step of tests/compat/run.sh
#   make test-compat-self   only the checkers, on tables LevelDB itself writes (needs no
#                           groupkv example; proves each checker can fail)
#
# Installs Debian's libleveldb-dev (LevelDB 1.23), rocksdb-tools (sst_dump) and g++ when they
# are missing (as root, like c-tools in mk/c.mk). The C++ programs are built into
# target/compat/; every file checked is left in target/compat/work/ for inspection.

COMPAT_BUILD := target/compat
COMPAT_CXX ?= g++
COMPAT_CXXFLAGS := -std=c++17 -O1 -g -Wall -Wextra -Werror
COMPAT_PROGRAMS := $(COMPAT_BUILD)/leveldb_check $(COMPAT_BUILD)/leveldb_write \
                   $(COMPAT_BUILD)/leveldb_db

TEST_TARGETS += test-compat

.PHONY: compat-tools compat-programs test-compat test-compat-self

compat-tools:
	@missing=""; \
	command -v $(COMPAT_CXX) >/dev/null 2>&1 || missing="$$missing g++"; \
	command -v sst_dump >/dev/null 2>&1 || missing="$$missing rocksdb-tools"; \
	if ! command -v $(COMPAT_CXX) >/dev/null 2>&1 || \
	   ! echo '#include <leveldb/table.h>' | $(COMPAT_CXX) -x c++ -fsyntax-only - 2>/dev/null; then \
	  missing="$$missing libleveldb-dev"; \
	fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "the compatibility tests need:$$missing; install them (apt-get install$$missing) or run as root" >&2; \
	    exit 1; \
	  fi; \
	  echo "== installing$$missing for the compatibility tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(COMPAT_BUILD)/%: tests/compat/%.cc tests/compat/compat_util.h | compat-tools
	@mkdir -p $(@D)
	$(COMPAT_CXX) $(COMPAT_CXXFLAGS) $< -o $@ -lleveldb

compat-programs: compat-tools $(COMPAT_PROGRAMS)

# (a) LevelDB reads groupkv's sample tables, (b) sst_dump verifies and scans them, (c) groupkv
# reads LevelDB's tables, (d) LevelDB and RocksDB read groupkv's MANIFESTs, (e) whole
# directories both ways: LevelDB's DB opens groupkv's (closed, and killed with -9), groupkv
# opens LevelDB's and LevelDB reads back what groupkv added.
# The grep proves every step reported: a step that checked nothing cannot pass silently.
test-compat: compat-programs
	@mkdir -p $(COMPAT_BUILD)
	CARGO="$(CARGO)" bash -o pipefail -c 'bash tests/compat/run.sh $(COMPAT_BUILD) \
	  $(COMPAT_BUILD)/work 2>&1 | tee $(COMPAT_BUILD)/test-compat.log'
	@for want in '^self-test: ' '^leveldb-1\.23: .*\.sst identical' \
	    '^rocksdb sst_dump: .* The file is ok' '^groupkv: read .* written by leveldb-1\.23, identical' \
	    '^leveldb-1\.23: opened .*closed (paranoid_checks): .* keys identical' \
	    '^leveldb-1\.23: opened .*killed3 after kill -9 (paranoid_checks)' \
	    '^groupkv: opened a directory written by leveldb-1\.23' \
	    '^whole directories: leveldb-1\.23 and groupkv open each other'"'"'s directories'; do \
	  grep -q "$$want" $(COMPAT_BUILD)/test-compat.log || \
	    { echo "test-compat: no line matching $$want: a step checked nothing" >&2; exit 1; }; \
	done
	@echo "test-compat: LevelDB and RocksDB read groupkv's tables; groupkv reads LevelDB's;" \
	  "LevelDB and groupkv open each other's directories"

test-compat-self: compat-programs
	bash tests/compat/run.sh $(COMPAT_BUILD) $(COMPAT_BUILD)/work-self self
