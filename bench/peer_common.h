// Shared by bench/peer_bench.cc (its only includer, in one translation unit): the flags, the
// key and value generators and the latency histogram, each the same as groupkv-bench's.
#pragma once

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// --config=nocompaction: bigger than every write-path benchmark's data (1 M x 116 bytes plus
// overhead is about 200 MB).
constexpr size_t kNoFlushWriteBuffer = size_t{1} << 30;

// Every benchmark this driver knows, in the order of its --help.
const char* const kBenchmarks[] = {"fillseq",    "fillrandom",     "overwrite", "readrandom",
                                   "readmissing", "readseq",       "readseq_points",
                                   "seekrandom", "readwhilewriting", "compact", "reopen",
                                   "stats"};

struct Flags {
  std::string engine;
  std::string config = "default";  // or "nocompaction"
  int64_t cache_size = -1;         // bytes of block cache; -1: the configuration's
  int64_t write_buffer_size = -1;  // bytes; -1: the configuration's
  uint64_t seek_nexts = 0;         // seekrandom: entries read after each seek
  std::vector<std::string> benchmarks{"fillseq",    "fillrandom", "overwrite",
                                      "readrandom", "readseq",    "readwhilewriting"};
  uint64_t num = 1000000;
  int64_t reads = -1;
  int threads = 1;
  size_t key_size = 16;
  size_t value_size = 100;
  size_t batch_size = 1;
  bool sync = false;
  bool disable_wal = false;
  bool allow_concurrent_memtable_write = true;
  bool enable_pipelined_write = false;
  uint64_t max_write_batch_group_size_bytes = 1 << 20;
  // RocksDB only (LevelDB writers always block on a condition variable).
  bool enable_write_thread_adaptive_yield = true;
  uint64_t write_thread_max_yield_usec = 100;
  uint64_t write_thread_slow_yield_usec = 3;
  std::string db = "/tmp/peer-bench";
  bool use_existing_db = false;
  uint64_t seed = 301;
  bool progress = true;
  // RocksDB only: collect its tickers and print the group-commit line (costs a little speed,
  // so bench/compare leaves it off).
  bool statistics = false;
};

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "peer_bench: %s\n", msg.c_str());
  std::exit(1);
}

// --- the same generators as src/bin/groupkv-bench/workload.rs --------------------------------

struct Rng {
  uint64_t s;
  Rng(uint64_t seed, uint64_t thread) : s(seed + thread) {}
  uint64_t Next() {
    s += 0x9e3779b97f4a7c15ULL;
    uint64_t z = s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return Next() % n; }
};

void MakeKey(std::string* key, uint64_t k) {
  for (int i = 0; i < 8; i++) (*key)[i] = static_cast<char>(k >> (56 - 8 * i));
}

struct Values {
  std::string data;
  size_t pos = 0, size;
  Values(uint64_t seed, uint64_t thread, size_t size) : size(size) {
    size_t len = std::max<size_t>(1 << 20, 2 * size);
    Rng rng(seed ^ 0x00005eed0f7a1ULL, thread);
    while (data.size() < len) {
      uint64_t r = rng.Next();
      data.append(reinterpret_cast<const char*>(&r), 8);  // little-endian, as to_le_bytes
    }
    data.resize(len);
  }
  std::pair<const char*, size_t> Next() {
    if (pos + size > data.size()) pos = 0;
    const char* p = data.data() + pos;
    pos += size;
    return {p, size};
  }
};

// --- the histogram of src/bin/groupkv-bench/histogram.rs --------------------------------------

struct Histogram {
  static constexpr uint64_t kLinear = 128;
  static constexpr int kSubBits = 6;
  static constexpr size_t kSub = 1 << kSubBits;
  static constexpr size_t kBuckets = kLinear + (64 - 7) * kSub;
  std::vector<uint64_t> buckets = std::vector<uint64_t>(kBuckets, 0);
  uint64_t count = 0, min = UINT64_MAX, max = 0;

  static size_t BucketOf(uint64_t v) {
    if (v < kLinear) return v;
    int msb = 63 - __builtin_clzll(v);
    size_t sub = (v >> (msb - kSubBits)) & (kSub - 1);
    return kLinear + (msb - 7) * kSub + sub;
  }
  static uint64_t Floor(size_t b) {
    if (b < kLinear) return b;
    int msb = static_cast<int>((b - kLinear) / kSub + 7);
    uint64_t sub = (b - kLinear) % kSub;
    return (uint64_t{1} << msb) | (sub << (msb - kSubBits));
  }
  void Record(uint64_t v) {
    buckets[BucketOf(v)]++;
    count++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  void Merge(const Histogram& o) {
    for (size_t i = 0; i < kBuckets; i++) buckets[i] += o.buckets[i];
    count += o.count;
    min = std::min(min, o.min);
    max = std::max(max, o.max);
  }
  double Percentile(double p) const {
    if (count == 0) return 0;
    double r = std::ceil(p / 100.0 * static_cast<double>(count));
    uint64_t rank = r < 1 ? 1 : static_cast<uint64_t>(r);
    uint64_t seen = 0;
    for (size_t b = 0; b < kBuckets; b++) {
      seen += buckets[b];
      if (buckets[b] > 0 && seen >= rank) {
        double lo = Floor(b), hi = b + 1 < kBuckets ? Floor(b + 1) : max;
        double mid = (lo + hi) / 2;
        return std::min<double>(std::max<double>(mid, min), max);
      }
    }
    return max;
  }
};

}  // namespace
