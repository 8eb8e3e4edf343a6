// peer_bench: the groupkv-bench workloads against RocksDB or LevelDB, so bench/compare can run
// the very same operations on every engine. It takes groupkv-bench's flags (see its --help)
// plus --engine=rocksdb|leveldb and --config=default|nocompaction, generates keys and values
// with the same splitmix64 streams, and prints the same report lines.
//
// --config=default (the default) opens each engine with its own default options, as a user who
// sets nothing gets them: only create_if_missing is set (and RocksDB's write-path options, whose
// flag defaults are RocksDB's own defaults). What that means is printed in the header and listed
// in docs/BENCHMARKS.md: LevelDB 1.23 a 4 MiB write buffer, an 8 MiB block cache, Snappy,
// 2 MiB tables, no Bloom filter; RocksDB 7.8.3 a 64 MiB write buffer (2 of them), an 8 MiB block
// cache, Snappy, level compaction (L0 trigger 4, 64 MiB files, 256 MiB level base), 2
// background jobs, no Bloom filter.
//
// --config=nocompaction is the write path alone: no compression and a 1 GiB write buffer,
// larger than any write-path benchmark's data, so nothing is flushed or compacted while
// measuring: like groupkv before it had a storage engine, every write goes to the WAL and the
// memtable only.
//
// --cache_size and --write_buffer_size override the configuration's value when given.
//
// Build: g++ -O2 -std=c++17 peer_bench.cc -lrocksdb -lleveldb -lpthread (with peer_common.h and
// peer_engines.h beside it)


#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "peer_common.h"
#include "peer_engines.h"

namespace {

bool ParseBool(const std::string& name, const std::string& v) {
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  Die("--" + name + "=" + v + ": expected true, false, 1 or 0");
}

uint64_t ParseU64(const std::string& name, const std::string& v) {
  char* end = nullptr;
  errno = 0;
  unsigned long long n = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || v[0] == '-')
    Die("--" + name + "=" + v + ": expected a whole number");
  return n;
}

Flags Parse(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf(
          "peer_bench --engine=rocksdb|leveldb [--config=default|nocompaction] "
          "[groupkv-bench flags]\n"
          "Runs groupkv-bench's workloads (same flags, same keys and values, same output) "
          "against RocksDB or LevelDB; see groupkv-bench --help and the top of "
          "bench/peer_bench.cc.\n\n"
          "Benchmarks:\n"
          "  fillseq           write keys 0, 1, 2, ... into a fresh database\n"
          "  fillrandom        write random keys into a fresh database\n"
          "  overwrite         write random keys into the existing database\n"
          "  readrandom        point-read random keys\n"
          "  readmissing       point-read random keys that are absent: key k with its last "
          "byte '.', just before key k\n"
          "  readseq           iterator scan: each thread seeks to the first key of its share "
          "and reads its share of --reads entries (wrapping to the first entry at the end)\n"
          "  readseq_points    point-read keys 0, 1, 2, ... in order (the old readseq)\n"
          "  seekrandom        a new iterator per operation: seek to a random key, then read "
          "--seek_nexts entries\n"
          "  readwhilewriting  --threads readers point-read random keys while one writer "
          "writes random keys\n"
          "  compact           manual compaction of the whole key range; prints MB/s written "
          "and the write amplification since the database was opened\n"
          "  reopen            close the database if open (cleanly), then time opening it; "
          "first with --use_existing_db it times the recovery of what the last process left\n"
          "  stats             print the engine's statistics text\n\n"
          "Flags beyond groupkv-bench's:\n"
          "  --engine=rocksdb|leveldb\n"
          "  --config=default|nocompaction  each engine's own default options, or no "
          "compression and a 1 GiB write buffer (nothing flushes) [default]\n"
          "  --cache_size=N         block cache bytes; 0 = none (RocksDB no_block_cache, "
          "LevelDB a 0-byte LRU cache) [the configuration's: 8 MiB for both]\n"
          "  --write_buffer_size=N  memtable bytes [the configuration's]\n"
          "  --seek_nexts=N         seekrandom: entries read after each seek [0]\n"
          "  --statistics           (RocksDB only) also print the group-commit line from "
          "RocksDB's tickers; it slows RocksDB a little, so bench/compare leaves it off\n");
      std::exit(0);
    }
    if (arg.rfind("--", 0) != 0) Die("unexpected argument " + arg + " (see --help)");
    std::string body = arg.substr(2), name = body, value;
    bool has_value = false;
    if (auto eq = body.find('='); eq != std::string::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    auto need = [&]() -> std::string {
      if (!has_value) Die("--" + name + " needs a value: --" + name + "=VALUE");
      return value;
    };
    auto boolean = [&]() { return has_value ? ParseBool(name, value) : true; };
    if (name == "engine") {
      f.engine = need();
    } else if (name == "config") {
      f.config = need();
    } else if (name == "cache_size") {
      f.cache_size = static_cast<int64_t>(ParseU64(name, need()));
    } else if (name == "write_buffer_size") {
      f.write_buffer_size = static_cast<int64_t>(ParseU64(name, need()));
    } else if (name == "seek_nexts") {
      f.seek_nexts = ParseU64(name, need());
    } else if (name == "benchmarks") {
      f.benchmarks.clear();
      std::stringstream ss(need());
      std::string b;
      while (std::getline(ss, b, ','))
        if (!b.empty()) f.benchmarks.push_back(b);
    } else if (name == "num") {
      f.num = ParseU64(name, need());
    } else if (name == "reads") {
      f.reads = need() == "-1" ? -1 : static_cast<int64_t>(ParseU64(name, value));
    } else if (name == "threads") {
      f.threads = static_cast<int>(ParseU64(name, need()));
    } else if (name == "key_size") {
      f.key_size = ParseU64(name, need());
    } else if (name == "value_size") {
      f.value_size = ParseU64(name, need());
    } else if (name == "batch_size") {
      f.batch_size = ParseU64(name, need());
    } else if (name == "sync") {
      f.sync = boolean();
    } else if (name == "disable_wal") {
      f.disable_wal = boolean();
    } else if (name == "allow_concurrent_memtable_write") {
      f.allow_concurrent_memtable_write = boolean();
    } else if (name == "enable_pipelined_write") {
      f.enable_pipelined_write = boolean();
    } else if (name == "max_write_batch_group_size_bytes") {
      f.max_write_batch_group_size_bytes = ParseU64(name, need());
    } else if (name == "enable_write_thread_adaptive_yield") {
      f.enable_write_thread_adaptive_yield = boolean();
    } else if (name == "write_thread_max_yield_usec") {
      f.write_thread_max_yield_usec = ParseU64(name, need());
    } else if (name == "write_thread_slow_yield_usec") {
      f.write_thread_slow_yield_usec = ParseU64(name, need());
    } else if (name == "db") {
      f.db = need();
    } else if (name == "use_existing_db") {
      f.use_existing_db = boolean();
    } else if (name == "seed") {
      f.seed = ParseU64(name, need());
    } else if (name == "statistics") {
      f.statistics = boolean();
    } else if (name == "progress") {
      f.progress = boolean();
    } else {
      Die("unknown flag --" + name + " (see --help)");
    }
  }
  if (f.engine != "rocksdb" && f.engine != "leveldb")
    Die("--engine must be rocksdb or leveldb (got \"" + f.engine + "\")");
  if (f.config != "default" && f.config != "nocompaction")
    Die("--config must be default or nocompaction (got \"" + f.config + "\")");
  for (const std::string& b : f.benchmarks)
    if (std::find_if(std::begin(kBenchmarks), std::end(kBenchmarks),
                     [&](const char* k) { return b == k; }) == std::end(kBenchmarks))
      Die("unknown benchmark " + b + " (see --help)");
  if (f.write_buffer_size == 0) Die("--write_buffer_size must be at least 1");
  if (f.threads < 1) Die("--threads must be at least 1");
  if (f.key_size < 8) Die("--key_size must be at least 8");
  if (f.key_size < 9 && std::find(f.benchmarks.begin(), f.benchmarks.end(), "readmissing") !=
                            f.benchmarks.end())
    Die("readmissing needs --key_size of at least 9 (its keys end in '.')");
  if (f.batch_size < 1) Die("--batch_size must be at least 1");
  if (f.num < 1) Die("--num must be at least 1");
  if (f.sync && f.disable_wal) Die("--sync needs the WAL: drop --sync or --disable_wal");
  return f;
}

long PeakRssKib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

// --- the benchmarks ---------------------------------------------------------------------------

struct ThreadResult {
  uint64_t ops = 0, found = 0, bytes = 0;
  double seconds = 0;
  // When the thread started and ended its share: the benchmark's wall time runs from the first
  // start to the last end (the main thread may wake from the barrier after a short share ended).
  Clock::time_point begin, end;
  Histogram hist;
  std::string error;
};

class Barrier {
 public:
  explicit Barrier(int n) : left_(n) {}
  void Wait() {
    std::unique_lock<std::mutex> l(mu_);
    if (--left_ == 0) {
      cv_.notify_all();
    } else {
      cv_.wait(l, [&] { return left_ == 0; });
    }
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int left_;
};

std::pair<uint64_t, uint64_t> Share(uint64_t total, uint64_t n, uint64_t t) {
  uint64_t base = total / n, extra = total % n;
  return {t * base + std::min(t, extra), base + (t < extra ? 1 : 0)};
}

uint64_t Nanos(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

enum class Kind {
  kWriteSeq,
  kWriteRandom,
  kReadSeqPoints,
  kReadRandom,
  kReadMissing,
  kReadSeq,
  kSeekRandom,
  kReadWhileWriting
};

void WriteLoop(const Flags& f, Engine* e, int t, bool seq, uint64_t first, uint64_t count,
               std::atomic<uint64_t>* done, ThreadResult* r) {
  Rng rng(f.seed, t);
  Values values(f.seed, t, f.value_size);
  std::string key(f.key_size, '0');
  auto w = e->NewWriter();
  auto start = Clock::now();
  uint64_t local = 0;
  for (uint64_t i = 0; i < count;) {
    uint64_t n = std::min<uint64_t>(f.batch_size, count - i);
    w->Clear();
    for (uint64_t j = 0; j < n; j++) {
      MakeKey(&key, seq ? first + i + j : rng.Below(f.num));
      auto v = values.Next();
      w->Put(key, v.first, v.second);
    }
    auto t0 = Clock::now();
    std::string err = w->Commit();
    r->hist.Record(Nanos(Clock::now() - t0));
    if (!err.empty()) {
      r->error = "write of " + std::to_string(n) + " keys: " + err;
      return;
    }
    i += n;
    local += n;
    if (local >= 4096) done->fetch_add(local, std::memory_order_relaxed), local = 0;
  }
  done->fetch_add(local, std::memory_order_relaxed);
  r->seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r->ops = count;
  r->bytes = count * (f.key_size + f.value_size);
}

// Point reads: keys first, first + 1, ... (readseq_points), random keys (readrandom), or
// random absent keys (readmissing: key k with its last byte '.', which sorts just before key k,
// inside the key range, so no engine can rule it out from a file's key range alone).
void ReadLoop(const Flags& f, Engine* e, int t, Kind kind, uint64_t first, uint64_t count,
              std::atomic<uint64_t>* done, ThreadResult* r) {
  Rng rng(f.seed ^ 0x72656164ULL, t);
  std::string key(f.key_size, '0'), value, err;
  if (kind == Kind::kReadMissing) key[f.key_size - 1] = '.';
  auto start = Clock::now();
  uint64_t local = 0;
  for (uint64_t i = 0; i < count; i++) {
    MakeKey(&key, kind == Kind::kReadSeqPoints ? (first + i) % f.num : rng.Below(f.num));
    auto t0 = Clock::now();
    bool found = e->Get(key, &value, &err);
    r->hist.Record(Nanos(Clock::now() - t0));
    if (!err.empty()) {
      r->error = "read: " + err;
      return;
    }
    if (found) r->found++, r->bytes += key.size() + value.size();
    if (++local >= 4096) done->fetch_add(local, std::memory_order_relaxed), local = 0;
  }
  done->fetch_add(local, std::memory_order_relaxed);
  r->seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r->ops = count;
}

// readseq: one iterator; seek to key `first`, then read `count` entries in order, going back to
// the first entry at the end. An operation is one entry; one latency sample covers up to
// kScanRun entries (timing each step would cost as much as the step).
constexpr uint64_t kScanRun = 100;

void ScanLoop(const Flags& f, Engine* e, uint64_t first, uint64_t count,
              std::atomic<uint64_t>* done, ThreadResult* r) {
  std::string key(f.key_size, '0');
  MakeKey(&key, first % f.num);
  auto start = Clock::now();
  auto it = e->NewCursor();
  it->Seek(key);
  uint64_t i = 0;
  while (i < count) {
    auto t0 = Clock::now();
    uint64_t run = std::min(kScanRun, count - i), j = 0;
    for (; j < run; j++) {
      if (!it->Valid()) {
        if (!it->Error().empty()) break;
        it->SeekToFirst();
        if (!it->Valid()) break;  // an empty database
      }
      r->bytes += it->Read();
      it->Next();
    }
    r->hist.Record(Nanos(Clock::now() - t0));
    i += j;
    if (j < run) break;
    done->fetch_add(j, std::memory_order_relaxed);
  }
  if (std::string err = it->Error(); !err.empty()) {
    r->error = "iterator: " + err;
    return;
  }
  r->seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r->ops = i;
  r->found = i;
}

// seekrandom: per operation a new iterator (as db_bench does), a seek to a random key, and
// --seek_nexts entries read after it. Found = the seek landed on the key itself.
void SeekLoop(const Flags& f, Engine* e, int t, uint64_t count, std::atomic<uint64_t>* done,
              ThreadResult* r) {
  Rng rng(f.seed ^ 0x7365656bULL, t);
  std::string key(f.key_size, '0');
  auto start = Clock::now();
  uint64_t local = 0;
  for (uint64_t i = 0; i < count; i++) {
    MakeKey(&key, rng.Below(f.num));
    auto t0 = Clock::now();
    auto it = e->NewCursor();
    it->Seek(key);
    if (it->Valid() && it->KeyIs(key)) r->found++;
    for (uint64_t j = 0; j < f.seek_nexts && it->Valid(); j++) {
      r->bytes += it->Read();
      it->Next();
    }
    std::string err = it->Error();
    it.reset();
    r->hist.Record(Nanos(Clock::now() - t0));
    if (!err.empty()) {
      r->error = "iterator: " + err;
      return;
    }
    if (++local >= 4096) done->fetch_add(local, std::memory_order_relaxed), local = 0;
  }
  done->fetch_add(local, std::memory_order_relaxed);
  r->seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r->ops = count;
}

void PrintRate(const std::string& name, uint64_t ops, double wall, double thread_seconds,
               double bytes, const std::string& note) {
  std::printf("%-12s : %11.3f micros/op %.0f ops/sec %.1f MB/s (%llu ops, %.3f s%s)\n",
              name.c_str(), ops ? thread_seconds * 1e6 / ops : 0.0, wall > 0 ? ops / wall : 0.0,
              wall > 0 ? bytes / 1048576.0 / wall : 0.0, static_cast<unsigned long long>(ops),
              wall, note.c_str());
}

void PrintLatency(const std::string& name, const Histogram& hist) {
  std::printf("%-12s : latency us p50 %.2f p99 %.2f p99.9 %.2f max %.2f (%llu calls)\n",
              name.c_str(), hist.Percentile(50) / 1000, hist.Percentile(99) / 1000,
              hist.Percentile(99.9) / 1000, hist.max / 1000.0,
              static_cast<unsigned long long>(hist.count));
}

void PrintRss(const std::string& name) {
  std::printf("%-12s : peak RSS %ld KiB\n", name.c_str(), PeakRssKib());
  std::fflush(stdout);
}

// Bytes of keys and values written since the database was (re)opened, for the write
// amplification (the engines' counters also start at the open).
uint64_t user_bytes = 0;

void Run(const Flags& f, Engine* e, const std::string& name, Kind kind) {
  uint64_t reads = f.reads < 0 ? f.num : static_cast<uint64_t>(f.reads);
  bool is_write = kind == Kind::kWriteSeq || kind == Kind::kWriteRandom;
  uint64_t total = is_write ? f.num : reads;
  bool rww = kind == Kind::kReadWhileWriting;
  std::vector<ThreadResult> results(f.threads);
  std::atomic<uint64_t> done{0}, bg_writes{0};
  std::atomic<bool> stop{false}, finished{false};
  std::string bg_error;
  Barrier barrier(f.threads + (rww ? 1 : 0) + 1);
  uint64_t g0 = 0, c0 = 0, s0 = 0;
  bool counted = e->GroupCounters(&g0, &c0, &s0);
  std::vector<std::thread> threads;
  for (int t = 0; t < f.threads; t++) {
    threads.emplace_back([&, t] {
      auto [first, count] = Share(total, f.threads, t);
      barrier.Wait();
      results[t].begin = Clock::now();
      switch (kind) {
        case Kind::kWriteSeq:
        case Kind::kWriteRandom:
          WriteLoop(f, e, t, kind == Kind::kWriteSeq, first, count, &done, &results[t]);
          break;
        case Kind::kReadSeq:
          ScanLoop(f, e, first, count, &done, &results[t]);
          break;
        case Kind::kSeekRandom:
          SeekLoop(f, e, t, count, &done, &results[t]);
          break;
        case Kind::kReadWhileWriting:
          ReadLoop(f, e, t, Kind::kReadRandom, first, count, &done, &results[t]);
          break;
        default:
          ReadLoop(f, e, t, kind, first, count, &done, &results[t]);
      }
      results[t].end = Clock::now();
    });
  }
  std::thread writer;
  if (rww) {
    writer = std::thread([&] {
      Rng rng(f.seed ^ 0x77726974ULL, 0);
      Values values(f.seed, f.threads, f.value_size);
      std::string key(f.key_size, '0');
      auto w = e->NewWriter();
      barrier.Wait();
      uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        w->Clear();
        for (size_t j = 0; j < f.batch_size; j++) {
          MakeKey(&key, rng.Below(f.num));
          auto v = values.Next();
          w->Put(key, v.first, v.second);
        }
        std::string err = w->Commit();
        if (!err.empty()) {
          bg_error = "background write: " + err;
          break;
        }
        n += f.batch_size;
      }
      bg_writes = n;
    });
  }
  std::thread monitor;
  if (f.progress) {
    monitor = std::thread([&] {
      auto last = Clock::now();
      while (!finished.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (Clock::now() - last >= std::chrono::seconds(1)) {
          last = Clock::now();
          uint64_t n = done.load();
          std::fprintf(stderr, "... %s: finished %llu of %llu ops (%.0f%%)\n", name.c_str(),
                       static_cast<unsigned long long>(n), static_cast<unsigned long long>(total),
                       100.0 * n / total);
        }
      }
    });
  }
  barrier.Wait();
  for (auto& th : threads) th.join();
  Clock::time_point first_begin = results[0].begin, last_end = results[0].end;
  for (auto& r : results)
    first_begin = std::min(first_begin, r.begin), last_end = std::max(last_end, r.end);
  double wall = std::chrono::duration<double>(last_end - first_begin).count();
  stop = true;
  finished = true;
  if (writer.joinable()) writer.join();
  if (monitor.joinable()) monitor.join();

  Histogram hist;
  uint64_t ops = 0, found = 0, bytes = 0;
  double thread_seconds = 0;
  for (auto& r : results) {
    if (!r.error.empty()) Die(name + " failed: " + r.error);
    hist.Merge(r.hist);
    ops += r.ops, found += r.found, bytes += r.bytes, thread_seconds += r.seconds;
  }
  if (!bg_error.empty()) Die(name + " failed: " + bg_error);
  if (is_write) user_bytes += bytes;
  if (rww) user_bytes += bg_writes.load() * (f.key_size + f.value_size);
  std::string found_note;
  if (!is_write)
    found_note = "; " + std::to_string(found) + " of " + std::to_string(ops) + " found";
  PrintRate(name, ops, wall, thread_seconds, static_cast<double>(bytes), found_note);
  PrintLatency(name, hist);
  uint64_t g1 = 0, c1 = 0, s1 = 0;
  if (counted && (is_write || rww) && e->GroupCounters(&g1, &c1, &s1)) {
    double calls = static_cast<double>(c1 - c0);
    std::printf("%-12s : group commit: %llu groups, mean group size %.2f, %.3f WAL syncs per "
                "write\n",
                name.c_str(), static_cast<unsigned long long>(g1 - g0),
                g1 > g0 ? calls / (g1 - g0) : 0.0, calls > 0 ? (s1 - s0) / calls : 0.0);
  }
  if (rww)
    std::printf("%-12s : background writer: %llu writes (%.0f writes/s)\n", name.c_str(),
                static_cast<unsigned long long>(bg_writes.load()), bg_writes.load() / wall);
  PrintRss(name);
}

// compact: one manual compaction of the whole key range. MB/s = bytes the engine wrote by
// flushing and compacting during the call ÷ its time; the write amplification = everything
// flushes and compactions wrote since the database was opened ÷ the bytes of keys and values
// written since then.
void Compact(Engine* e) {
  EngineBytes b0 = e->FlushAndCompactionBytes();
  auto t0 = Clock::now();
  std::string err = e->CompactAll();
  auto d = Clock::now() - t0;
  if (!err.empty()) Die("compact failed: " + err);
  EngineBytes b1 = e->FlushAndCompactionBytes();
  double wall = std::chrono::duration<double>(d).count();
  double written = b0.known && b1.known ? static_cast<double>(b1.bytes - b0.bytes) : 0.0;
  PrintRate("compact", 1, wall, wall, written, "");
  Histogram hist;
  hist.Record(Nanos(d));
  PrintLatency("compact", hist);
  if (b1.known && user_bytes > 0)
    std::printf("compact      : write amplification %.3f (%llu bytes written by flushes and "
                "compactions for %llu bytes of user data)\n",
                static_cast<double>(b1.bytes) / static_cast<double>(user_bytes),
                static_cast<unsigned long long>(b1.bytes),
                static_cast<unsigned long long>(user_bytes));
  else
    std::printf("compact      : write amplification unknown (%s)\n",
                b1.known ? "no user data written since the database was opened"
                         : "the engine does not report its flush and compaction bytes");
  PrintRss("compact");
}

}  // namespace

int main(int argc, char** argv) {
  Flags f = Parse(argc, argv);
  std::printf("engine:     %s\n", f.engine.c_str());
  std::printf("Options:    %s\n", Describe(f).c_str());
  std::printf("Keys:       %zu bytes each; Values: %zu bytes each; Entries: %llu; Threads: %d\n",
              f.key_size, f.value_size, static_cast<unsigned long long>(f.num), f.threads);
  std::printf("Writes:     batch_size %zu, sync %d, disable_wal %d\n", f.batch_size, f.sync,
              f.disable_wal);
  std::printf("Database:   %s\n------------------------------------------------\n",
              f.db.c_str());
  std::fflush(stdout);
  for (const std::string& name : f.benchmarks)
    if (name.rfind("fill", 0) == 0 && f.use_existing_db)
      Die(name + " needs a fresh database; drop --use_existing_db");
  if (!f.use_existing_db) DestroyDb(f.db);
  std::unique_ptr<Engine> e;
  for (size_t i = 0; i < f.benchmarks.size(); i++) {
    const std::string& name = f.benchmarks[i];
    if (name == "reopen") {
      // A clean close (untimed), then the open alone is timed. As the first benchmark the
      // process has not opened the database yet: this times the recovery of whatever the
      // previous process left (bench/compare kills a writer with SIGKILL before it).
      e.reset();
      auto t0 = Clock::now();
      e = Open(f);
      auto d = Clock::now() - t0;
      user_bytes = 0;
      double wall = std::chrono::duration<double>(d).count();
      PrintRate(name, 1, wall, wall, 0, "");
      Histogram hist;
      hist.Record(Nanos(d));
      PrintLatency(name, hist);
      PrintRss(name);
      continue;
    }
    if (name.rfind("fill", 0) == 0) {
      // A fill starts from an empty database, as in db_bench.
      e.reset();
      DestroyDb(f.db);
      user_bytes = 0;
    }
    if (!e) e = Open(f);
    if (name == "compact") {
      Compact(e.get());
    } else if (name == "stats") {
      std::printf("stats        : %s statistics follow\n%s\n", f.engine.c_str(),
                  e->StatsText().c_str());
      std::fflush(stdout);
    } else {
      Kind kind = name == "fillseq"            ? Kind::kWriteSeq
                  : name == "fillrandom"       ? Kind::kWriteRandom
                  : name == "overwrite"        ? Kind::kWriteRandom
                  : name == "readrandom"       ? Kind::kReadRandom
                  : name == "readmissing"      ? Kind::kReadMissing
                  : name == "readseq"          ? Kind::kReadSeq
                  : name == "readseq_points"   ? Kind::kReadSeqPoints
                  : name == "seekrandom"       ? Kind::kSeekRandom
                                               : Kind::kReadWhileWriting;
      Run(f, e.get(), name, kind);
    }
  }
  return 0;
}
