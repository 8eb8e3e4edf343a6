#!/usr/bin/env bash
# The LevelDB/RocksDB compatibility harness behind `make test-compat` (mk/compat.mk builds the
# C++ programs first). Each step prints one line per file it checked and fails loudly — a
# non-zero exit with the reason — if a check fails or if it checked nothing.
#
#   run.sh BIN WORK [STEP...]     STEP: self samples leveldb-tables manifests directories
#                                 (default: all)
#
#   self            the checkers on tables LevelDB itself writes: LevelDB's table reader agrees
#                   with what was written, sst_dump reads them, and both reject a damaged copy;
#                   the bloom-filter check passes a table filtered as LevelDB's DB filters (on
#                   user keys) and rejects one filtered on whole internal keys
#   samples         (a) every table groupkv's compat_samples example writes is read by
#                   LevelDB 1.23's Table::Open + iterator with identical entries;
#                   (b) RocksDB's sst_dump verifies its checksums ("The file is ok") and its scan
#                   lists identical entries
#   leveldb-tables  (c) groupkv's compat_read example reads every table of a database LevelDB
#                   wrote (Snappy on), and a table with a bloom filter from LevelDB's table
#                   builder, and prints exactly what LevelDB's reader prints
#   manifests       (d) every MANIFEST groupkv's compat_manifest example writes is printed by
#                   leveldb::DumpFile exactly as expected, and RocksDB's ldb manifest_dump reads
#                   one
#   directories     (e) whole directories with LevelDB 1.23's DB::Open (paranoid_checks, never
#                   RepairDB): LevelDB reads exactly what groupkv's compat_db example wrote
#                   after a clean close, and a prefix holding every acknowledged sync write
#                   after kill -9 (three depths); groupkv reads a directory LevelDB left open
#                   (Snappy tables, its WAL tail), writes more, and LevelDB reads that back
#
# BIN holds leveldb_check, leveldb_write and leveldb_db; WORK is emptied and receives every file checked,
# so a failure can be inspected there. CARGO (default cargo) builds and runs the examples.

set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 BIN WORK [self|samples|leveldb-tables|manifests|directories]..." >&2
  exit 2
fi
BIN=$1
WORK=$2
shift 2
STEPS=("$@")
[ ${#STEPS[@]} -gt 0 ] || STEPS=(self samples leveldb-tables manifests directories)
CARGO=${CARGO:-cargo}
CHECK="$BIN/leveldb_check"
WRITE="$BIN/leveldb_write"
DB="$BIN/leveldb_db"

fail() {
  echo "test-compat FAILED: $*" >&2
  exit 1
}

# RocksDB's sst_dump before 8.4 verifies block checksums only when asked with
# --verify_checksum (facebook/rocksdb PR 11576); without it a damaged block is "ok".
sst_verify() {
  local out
  out=$(sst_dump --file="$1" --command=verify --verify_checksum 2>&1) || true
  grep -q "The file is ok" <<<"$out" || { echo "$out" >&2; return 1; }
}

# sst_dump's scan, converted to the harness's line format: "<hex internal key> <hex value>".
# sst_dump prints "'<HEX user key>' seq:S, type:T => <HEX value>"; the internal key is the user
# key followed by fixed64(S << 8 | T), little-endian. (awk's numbers are exact below 2^53, far
# above any sequence a sample holds; a larger one would show as a difference, not pass.)
sst_scan_lines() {
  sst_dump --file="$1" --command=scan --output_hex --verify_checksum 2>/dev/null | awk '
    /^\047[0-9A-F]*\047 seq:[0-9]+, type:[0-9]+ =>/ {
      q = index(substr($0, 2), "\047")
      key = tolower(substr($0, 2, q - 1))
      rest = substr($0, q + 2)
      sub(/^ seq:/, "", rest); seq = rest + 0
      sub(/^[0-9]+, type:/, "", rest); type = rest + 0
      sub(/^[0-9]+ =>/, "", rest); sub(/^ /, "", rest)
      tag = sprintf("%02x", type)
      for (i = 0; i < 7; i++) { tag = tag sprintf("%02x", seq % 256); seq = int(seq / 256) }
      print key tag " " (rest == "" ? "-" : tolower(rest))
    }'
}

# (b) for one table: verify, then scan and compare with the expected lines.
sst_dump_check() {
  local table=$1 expect=$2 name
  name=$(basename "$table")
  sst_verify "$table" || fail "sst_dump --command=verify did not find $name ok"
  if ! sst_scan_lines "$table" | cmp -s - "$expect"; then
    sst_scan_lines "$table" | diff - "$expect" | head -n 6 | cut -c 1-200 >&2 || true
    fail "sst_dump's scan of $name differs from $(basename "$expect")"
  fi
  echo "rocksdb sst_dump: $name The file is ok; scan identical ($(wc -l <"$expect") entries)"
}

# A copy of $1 with 4 bytes overwritten in the middle of its first data block.
damaged_copy() {
  cp "$1" "$2"
  printf '\125\125\125\125' | dd of="$2" bs=1 seek=100 conv=notrunc status=none
}

step_self() {
  local dir="$WORK/self" tables n=0 out
  mkdir -p "$dir"
  "$WRITE" "$dir/db" "$dir/model" >/dev/null
  tables=("$dir"/db/*.ldb)
  [ -e "${tables[0]}" ] || fail "LevelDB wrote no table in $dir/db"
  "$CHECK" live "$dir/model" "${tables[@]}"
  for t in "${tables[@]}"; do
    local expect="${t%.ldb}.expect" sst="${t%.ldb}.sst"
    "$CHECK" dump "$t" >"$expect"
    [ -s "$expect" ] || fail "leveldb_check dump printed nothing for $t"
    "$CHECK" table "$t" "$expect" >/dev/null || fail "leveldb_check table disagrees with dump on $t"
    cp "$t" "$sst"
    sst_dump_check "$sst" "$expect" >/dev/null
    # The checkers can fail: a wrong expectation and a damaged table are both caught.
    sed '$d' "$expect" >"$expect.short"
    if "$CHECK" table "$t" "$expect.short" >/dev/null; then
      fail "leveldb_check table accepted an expectation missing its last entry ($t)"
    fi
    damaged_copy "$t" "$dir/damaged.ldb"
    if "$CHECK" dump "$dir/damaged.ldb" >/dev/null 2>&1; then
      fail "LevelDB's reader accepted a damaged copy of $t"
    fi
    damaged_copy "$sst" "$dir/damaged.sst"
    if sst_verify "$dir/damaged.sst" 2>/dev/null; then
      fail "sst_dump found a damaged copy of $sst ok"
    fi
    n=$((n + 1))
  done
  # The MANIFEST tool issue 13 needs works on LevelDB's own MANIFEST.
  out=$("$CHECK" dumpfile "$dir"/db/MANIFEST-*) || fail "leveldb_check dumpfile failed: $out"
  grep -q 'AddFile: ' <<<"$out" || fail "leveldb_check dumpfile shows no table in LevelDB's MANIFEST"
  "$WRITE" --table "$dir/filtered.sst" user-key-filter
  "$CHECK" dump "$dir/filtered.sst" >"$dir/filtered.expect"
  out=$("$CHECK" table "$dir/filtered.sst" "$dir/filtered.expect") \
    || fail "leveldb_check rejects a table LevelDB built with a bloom filter: $out"
  grep -q 'the bloom filter (' <<<"$out" \
    || fail "leveldb_check did not check the bloom filter of a table LevelDB built with one"
  sst_dump_check "$dir/filtered.sst" "$dir/filtered.expect" >/dev/null
  "$WRITE" --table "$dir/misfiltered.sst" internal-key-filter
  "$CHECK" dump "$dir/misfiltered.sst" >"$dir/misfiltered.expect"
  if "$CHECK" table "$dir/misfiltered.sst" "$dir/misfiltered.expect" >/dev/null; then
    fail "leveldb_check accepted a bloom filter built on internal keys instead of user keys"
  fi
  echo "self-test: on $((n + 1)) tables LevelDB wrote, LevelDB's reader matches what was" \
    "written, sst_dump agrees, and both reject damaged copies; the filter check rejects a" \
    "filter on internal keys"
}

step_samples() {
  local dir="$WORK/samples" tables
  mkdir -p "$dir"
  "$CARGO" run --release --quiet --example compat_samples -- "$dir" \
    || fail "the compat_samples example failed"
  tables=("$dir"/*.sst)
  [ -e "${tables[0]}" ] || fail "compat_samples wrote no .sst into $dir"
  for t in "${tables[@]}"; do
    local expect="${t%.sst}.expect"
    [ -f "$expect" ] || fail "compat_samples wrote $(basename "$t") without $(basename "$expect")"
    "$CHECK" table "$t" "$expect" || fail "LevelDB does not read $(basename "$t") as expected"
  done
  for t in "${tables[@]}"; do
    sst_dump_check "$t" "${t%.sst}.expect"
  done
  echo "samples: ${#tables[@]} tables written by groupkv, read identically by LevelDB and RocksDB"
}

step_leveldb_tables() {
  local dir="$WORK/leveldb-tables" tables reader
  mkdir -p "$dir"
  reader=$("$CHECK" version)
  "$WRITE" "$dir/db" "$dir/model"
  tables=("$dir"/db/*.ldb)
  [ -e "${tables[0]}" ] || fail "LevelDB wrote no table in $dir/db"
  "$CHECK" live "$dir/model" "${tables[@]}"
  # And one table with a bloom filter, written by LevelDB's table builder as its DB would.
  "$WRITE" --table "$dir/filtered.ldb" user-key-filter
  tables+=("$dir/filtered.ldb")
  "$CARGO" build --release --quiet --example compat_read || fail "cannot build compat_read"
  for t in "${tables[@]}"; do
    local expect="${t%.ldb}.expect" got="${t%.ldb}.groupkv"
    "$CHECK" dump "$t" >"$expect"
    [ -s "$expect" ] || fail "leveldb_check dump printed nothing for $t"
    "$CARGO" run --release --quiet --example compat_read -- "$t" >"$got" \
      || fail "compat_read failed on $(basename "$t")"
    if ! cmp -s "$got" "$expect"; then
      diff "$got" "$expect" | head -n 6 | cut -c 1-200 >&2 || true
      fail "groupkv read $(basename "$t") differently from $reader"
    fi
    echo "groupkv: read $(basename "$t") written by $reader, identical ($(wc -l <"$got") entries)"
  done
}

step_manifests() {
  # (d) MANIFESTs: groupkv's compat_manifest example writes sample databases through its
  # VersionSet (a flush, a compaction with deletes and compact pointers, new WALs, a trivial
  # move, escaped keys; a rotated MANIFEST; an edit fragmented across blocks) and, next to each
  # live MANIFEST, the text leveldb::DumpFile should print for it. LevelDB 1.23 must print
  # exactly that, and RocksDB's ldb must read one sample's MANIFEST into the same files.
  local dir="$WORK/manifests" manifests reader out n
  mkdir -p "$dir"
  reader=$("$CHECK" version)
  "$CARGO" run --release --quiet --example compat_manifest -- "$dir" >/dev/null \
    || fail "the compat_manifest example failed"
  manifests=("$dir"/*/MANIFEST-[0-9][0-9][0-9][0-9][0-9][0-9])
  [ -e "${manifests[0]}" ] || fail "compat_manifest wrote no MANIFEST into $dir"
  for m in "${manifests[@]}"; do
    local expect="$m.expect" got="$m.leveldb"
    [ -s "$expect" ] || fail "compat_manifest wrote $(basename "$m") without an expectation"
    "$CHECK" dumpfile "$m" >"$got" || fail "leveldb::DumpFile failed on $m"
    if ! cmp -s "$got" "$expect"; then
      diff "$got" "$expect" | head -n 8 | cut -c 1-200 >&2 || true
      fail "$reader prints $m differently from what groupkv wrote"
    fi
    # The comparison can fail: an expectation missing its last record is caught.
    n=$(grep -c '^--- offset ' "$expect")
    [ "$n" -ge 2 ] || fail "$m holds $n records; expected a snapshot and edits"
    local last
    last=$(grep -n '^--- offset ' "$expect" | tail -n 1 | cut -d: -f1)
    if head -n "$((last - 1))" "$expect" | cmp -s - "$got"; then
      fail "the MANIFEST comparison accepted a wrong expectation for $m"
    fi
    echo "$reader: $(basename "$m") identical ($n edits) [$(basename "$(dirname "$m")")]"
  done
  # RocksDB's reader: the basic sample's final version, file by file.
  out=$(ldb manifest_dump --path="$dir/basic/MANIFEST-000002" 2>&1) \
    || { echo "$out" >&2; fail "ldb manifest_dump failed on basic/MANIFEST-000002"; }
  for f in ' 9:9017\[' ' 6:6017\[' ' 7:7017\['; do
    grep -q "$f" <<<"$out" || { echo "$out" >&2; fail "ldb manifest_dump does not list$f"; }
  done
  grep -q '^log number: 8$' <<<"$out" || fail "ldb manifest_dump reads another log number"
  echo "rocksdb ldb: manifest_dump read basic/MANIFEST-000002 (log number 8, tables 6, 7, 9)"
}

# The kill -9 writer for step_directories: starts `compat_db kill`, waits until it has
# acknowledged $3 sync writes and flushed at least 3 tables, then kills it with SIGKILL.
kill_writer() {
  local dir=$1 log=$2 acks=$3 pid n t i
  "$CARGO_EXAMPLES/compat_db" kill "$dir" "$log.order" "$log.acked" &
  pid=$!
  for i in $(seq 1 600); do
    n=0
    [ -f "$log.acked" ] && n=$(wc -l <"$log.acked")
    t=$(find "$dir" -name '*.sst' 2>/dev/null | wc -l)
    [ "$n" -ge "$acks" ] && [ "$t" -ge 3 ] && break
    kill -0 "$pid" 2>/dev/null || { wait "$pid" || true; fail "compat_db kill exited by itself"; }
    sleep 0.05
  done
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  [ "$(wc -l <"$log.acked")" -ge "$acks" ] || fail "compat_db kill acknowledged too few writes"
}

step_directories() {
  # (e) Whole directories both ways with LevelDB 1.23's DB (paranoid_checks on; RepairDB is
  # never used): LevelDB opens what groupkv wrote, after a clean close and after kill -9
  # (replaying groupkv's CRC-32C WAL); groupkv opens what LevelDB wrote (Snappy tables, its
  # log left unflushed), writes more, and LevelDB reads the result.
  local dir="$WORK/directories" reader out round acks
  mkdir -p "$dir"
  reader=$("$CHECK" version)
  "$CARGO" build --release --quiet --example compat_db || fail "cannot build compat_db"
  CARGO_EXAMPLES=$("$CARGO" metadata --format-version 1 --no-deps 2>/dev/null |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release/examples
  [ -x "$CARGO_EXAMPLES/compat_db" ] || fail "no compat_db in $CARGO_EXAMPLES"

  # (a) A clean close: several tables, overwrites, deletes, the WAL with its marker.
  "$CARGO_EXAMPLES/compat_db" write "$dir/closed" "$dir/closed.model" || fail "compat_db write failed"
  [ "$(find "$dir/closed" -name '*.sst' | wc -l)" -ge 3 ] || fail "compat_db wrote fewer than 3 tables"
  cp -r "$dir/closed" "$dir/closed.copy"
  "$DB" read "$dir/closed" "$dir/closed.model" \
    || fail "$reader does not read the directory groupkv closed as written"
  # The check can fail: a model missing a live key is caught.
  sed '$d' "$dir/closed.model" >"$dir/short.model"
  cp "$dir/closed.model.deleted" "$dir/short.model.deleted"
  if "$DB" read "$dir/closed.copy" "$dir/short.model" >/dev/null 2>&1; then
    fail "leveldb_db read accepted a model missing a key"
  fi

  # (b) kill -9 mid-run, at three depths: what LevelDB reads is a prefix of the write order
  # holding every acknowledged sync write.
  round=0
  for acks in 300 1500 4000; do
    round=$((round + 1))
    kill_writer "$dir/killed$round" "$dir/killed$round" "$acks"
    cp -r "$dir/killed$round" "$dir/killed$round.copy"
    "$DB" prefix "$dir/killed$round" "$dir/killed$round.order" "$dir/killed$round.acked" \
      || fail "$reader does not read a prefix with every acknowledged write after kill -9 (round $round)"
  done
  # The check can fail: an acknowledgement past everything logged is caught.
  cp "$dir/killed1.acked" "$dir/forged.acked"
  echo 99999999 >>"$dir/forged.acked"
  if "$DB" prefix "$dir/killed1.copy" "$dir/killed1.order" "$dir/forged.acked" >/dev/null 2>&1; then
    fail "leveldb_db prefix accepted an acknowledged write that is not in the directory"
  fi

  # (c) LevelDB's directory (Snappy, 64 KiB write buffers, its log holding the last writes,
  # the process gone without closing) → groupkv reads every key and writes more → LevelDB
  # reads it again.
  "$DB" write "$dir/leveldb" "$dir/leveldb.model" || fail "leveldb_db write failed"
  [ "$(find "$dir/leveldb" -name '*.ldb' | wc -l)" -ge 2 ] || fail "LevelDB wrote fewer than 2 tables"
  [ -n "$(find "$dir/leveldb" -name '*.log' -size +0)" ] || fail "LevelDB left no WAL tail"
  out=$("$CARGO_EXAMPLES/compat_db" extend "$dir/leveldb" "$dir/leveldb.model") \
    || fail "groupkv does not read the directory $reader wrote"
  echo "groupkv: opened a directory written by $reader (Snappy tables, its WAL tail): ${out#compat_db: }"
  "$DB" read "$dir/leveldb" "$dir/leveldb.model" \
    || fail "$reader does not read back the directory groupkv extended"
  echo "whole directories: $reader and groupkv open each other's directories"
}

rm -rf "$WORK"
mkdir -p "$WORK"
for step in "${STEPS[@]}"; do
  case "$step" in
    self) step_self ;;
    samples) step_samples ;;
    leveldb-tables) step_leveldb_tables ;;
    manifests) step_manifests ;;
    directories) step_directories ;;
    *) fail "unknown step $step" ;;
  esac
done
