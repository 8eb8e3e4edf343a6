// peer_bench: the groupkv-bench workloads against RocksDB or LevelDB, so bench/compare can run
// the very same operations on every engine. It takes groupkv-bench's flags (see its --help)
// plus --engine=rocksdb|leveldb, generates keys and values with the same splitmix64 streams,
// and prints the same report lines.
//
// The peers run with no compression and a write buffer larger than any benchmark's data, so
// nothing is flushed or compacted while measuring: like groupkv, every write goes to the WAL
// and the memtable only.
//
// Build: g++ -O2 -std=c++17 peer_bench.cc -lrocksdb -lleveldb -lpthread

#include <leveldb/db.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/statistics.h>
#include <rocksdb/write_batch.h>

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
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// Bigger than every benchmark's data (1 M x 116 bytes plus overhead is about 200 MB).
constexpr size_t kWriteBuffer = size_t{1} << 30;

struct Flags {
  std::string engine;
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
          "peer_bench --engine=rocksdb|leveldb [groupkv-bench flags]\n"
          "Runs groupkv-bench's workloads (same flags, same keys and values, same output) "
          "against RocksDB or LevelDB; see groupkv-bench --help.\n"
          "--statistics (RocksDB only) also prints the group-commit line from RocksDB's "
          "tickers; it slows RocksDB a little, so bench/compare leaves it off.\n");
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
  if (f.threads < 1) Die("--threads must be at least 1");
  if (f.key_size < 8) Die("--key_size must be at least 8");
  if (f.batch_size < 1) Die("--batch_size must be at least 1");
  if (f.num < 1) Die("--num must be at least 1");
  if (f.sync && f.disable_wal) Die("--sync needs the WAL: drop --sync or --disable_wal");
  return f;
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

// --- the engines ------------------------------------------------------------------------------

// One thread's way to build and commit a batch.
class BatchWriter {
 public:
  virtual ~BatchWriter() = default;
  virtual void Clear() = 0;
  virtual void Put(const std::string& key, const char* v, size_t n) = 0;
  virtual std::string Commit() = 0;  // "" on success
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::unique_ptr<BatchWriter> NewWriter() = 0;
  // Returns true if found; an error goes to *err.
  virtual bool Get(const std::string& key, std::string* value, std::string* err) = 0;
  // Write groups, write calls and WAL syncs so far, if the engine counts them.
  virtual bool GroupCounters(uint64_t* groups, uint64_t* calls, uint64_t* syncs) {
    (void)groups, (void)calls, (void)syncs;
    return false;
  }
};

class Rocks : public Engine {
 public:
  explicit Rocks(const Flags& f) {
    rocksdb::Options o;
    o.create_if_missing = true;
    o.compression = rocksdb::kNoCompression;
    o.write_buffer_size = kWriteBuffer;
    o.allow_concurrent_memtable_write = f.allow_concurrent_memtable_write;
    o.enable_pipelined_write = f.enable_pipelined_write;
    o.max_write_batch_group_size_bytes = f.max_write_batch_group_size_bytes;
    o.enable_write_thread_adaptive_yield = f.enable_write_thread_adaptive_yield;
    o.write_thread_max_yield_usec = f.write_thread_max_yield_usec;
    o.write_thread_slow_yield_usec = f.write_thread_slow_yield_usec;
    o.stats_dump_period_sec = 0;
    o.stats_persist_period_sec = 0;
    if (f.statistics) o.statistics = rocksdb::CreateDBStatistics();
    stats_ = o.statistics;
    wo_.sync = f.sync;
    wo_.disableWAL = f.disable_wal;
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(o, f.db, &db);
    if (!s.ok()) Die("opening RocksDB in " + f.db + ": " + s.ToString());
    db_.reset(db);
  }
  ~Rocks() override {
    if (db_) {
      rocksdb::Status s = db_->Close();
      if (!s.ok()) std::fprintf(stderr, "peer_bench: closing RocksDB: %s\n", s.ToString().c_str());
    }
  }
  class Writer : public BatchWriter {
   public:
    Writer(rocksdb::DB* db, const rocksdb::WriteOptions& wo) : db_(db), wo_(wo) {}
    void Clear() override { batch_.Clear(); }
    void Put(const std::string& k, const char* v, size_t n) override {
      batch_.Put(rocksdb::Slice(k), rocksdb::Slice(v, n));
    }
    std::string Commit() override {
      rocksdb::Status s = db_->Write(wo_, &batch_);
      return s.ok() ? "" : s.ToString();
    }

   private:
    rocksdb::DB* db_;
    rocksdb::WriteOptions wo_;
    rocksdb::WriteBatch batch_;
  };
  std::unique_ptr<BatchWriter> NewWriter() override {
    return std::make_unique<Writer>(db_.get(), wo_);
  }
  bool Get(const std::string& key, std::string* value, std::string* err) override {
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, value);
    if (s.ok()) return true;
    if (!s.IsNotFound()) *err = s.ToString();
    return false;
  }

 private:
  bool GroupCounters(uint64_t* groups, uint64_t* calls, uint64_t* syncs) override {
    if (!stats_) return false;
    *groups = stats_->getTickerCount(rocksdb::WRITE_DONE_BY_SELF);
    *calls = *groups + stats_->getTickerCount(rocksdb::WRITE_DONE_BY_OTHER);
    *syncs = stats_->getTickerCount(rocksdb::WAL_FILE_SYNCED);
    return true;
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions wo_;
  std::shared_ptr<rocksdb::Statistics> stats_;
};

class Level : public Engine {
 public:
  explicit Level(const Flags& f) {
    leveldb::Options o;
    o.create_if_missing = true;
    o.compression = leveldb::kNoCompression;
    o.write_buffer_size = kWriteBuffer;
    wo_.sync = f.sync;
    leveldb::DB* db = nullptr;
    leveldb::Status s = leveldb::DB::Open(o, f.db, &db);
    if (!s.ok()) Die("opening LevelDB in " + f.db + ": " + s.ToString());
    db_.reset(db);
  }
  class Writer : public BatchWriter {
   public:
    Writer(leveldb::DB* db, const leveldb::WriteOptions& wo) : db_(db), wo_(wo) {}
    void Clear() override { batch_.Clear(); }
    void Put(const std::string& k, const char* v, size_t n) override {
      batch_.Put(leveldb::Slice(k), leveldb::Slice(v, n));
    }
    std::string Commit() override {
      leveldb::Status s = db_->Write(wo_, &batch_);
      return s.ok() ? "" : s.ToString();
    }

   private:
    leveldb::DB* db_;
    leveldb::WriteOptions wo_;
    leveldb::WriteBatch batch_;
  };
  std::unique_ptr<BatchWriter> NewWriter() override {
    return std::make_unique<Writer>(db_.get(), wo_);
  }
  bool Get(const std::string& key, std::string* value, std::string* err) override {
    leveldb::Status s = db_->Get(leveldb::ReadOptions(), key, value);
    if (s.ok()) return true;
    if (!s.IsNotFound()) *err = s.ToString();
    return false;
  }

 private:
  std::unique_ptr<leveldb::DB> db_;
  leveldb::WriteOptions wo_;
};

std::unique_ptr<Engine> Open(const Flags& f) {
  if (f.engine == "rocksdb") return std::make_unique<Rocks>(f);
  if (f.disable_wal)
    Die("LevelDB cannot skip its WAL (it has no disable_wal option); run it without "
        "--disable_wal");
  return std::make_unique<Level>(f);
}

// Removes the database in `dir`, refusing to delete a directory that is not one.
void DestroyDb(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  bool empty = fs::is_empty(dir, ec);
  if (!empty && !fs::exists(fs::path(dir) / "CURRENT", ec))
    Die(dir + " is not empty and holds no database (no CURRENT file); refusing to delete it: "
              "pick an empty --db directory");
  fs::remove_all(dir, ec);
  if (ec) Die("removing " + dir + ": " + ec.message());
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

enum class Kind { kWriteSeq, kWriteRandom, kReadSeq, kReadRandom, kReadWhileWriting };

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

void ReadLoop(const Flags& f, Engine* e, int t, bool seq, uint64_t first, uint64_t count,
              std::atomic<uint64_t>* done, ThreadResult* r) {
  Rng rng(f.seed ^ 0x72656164ULL, t);
  std::string key(f.key_size, '0'), value, err;
  auto start = Clock::now();
  uint64_t local = 0;
  for (uint64_t i = 0; i < count; i++) {
    MakeKey(&key, seq ? (first + i) % f.num : rng.Below(f.num));
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
      if (is_write)
        WriteLoop(f, e, t, kind == Kind::kWriteSeq, first, count, &done, &results[t]);
      else
        ReadLoop(f, e, t, kind == Kind::kReadSeq, first, count, &done, &results[t]);
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
  auto start = Clock::now();
  for (auto& th : threads) th.join();
  double wall = std::chrono::duration<double>(Clock::now() - start).count();
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
  const char* n = name.c_str();
  std::string found_note;
  if (!is_write)
    found_note = "; " + std::to_string(found) + " of " + std::to_string(ops) + " found";
  std::printf("%-12s : %11.3f micros/op %.0f ops/sec %.1f MB/s (%llu ops, %.3f s%s)\n", n,
              ops ? thread_seconds * 1e6 / ops : 0.0, wall > 0 ? ops / wall : 0.0,
              wall > 0 ? bytes / 1048576.0 / wall : 0.0, static_cast<unsigned long long>(ops),
              wall, found_note.c_str());
  std::printf("%-12s : latency us p50 %.2f p99 %.2f p99.9 %.2f max %.2f (%llu calls)\n", n,
              hist.Percentile(50) / 1000, hist.Percentile(99) / 1000,
              hist.Percentile(99.9) / 1000, hist.max / 1000.0,
              static_cast<unsigned long long>(hist.count));
  uint64_t g1 = 0, c1 = 0, s1 = 0;
  if (counted && (is_write || rww) && e->GroupCounters(&g1, &c1, &s1)) {
    double calls = static_cast<double>(c1 - c0);
    std::printf("%-12s : group commit: %llu groups, mean group size %.2f, %.3f WAL syncs per write\n",
                n, static_cast<unsigned long long>(g1 - g0), g1 > g0 ? calls / (g1 - g0) : 0.0,
                calls > 0 ? (s1 - s0) / calls : 0.0);
  }
  if (rww)
    std::printf("%-12s : background writer: %llu writes (%.0f writes/s)\n", n,
                static_cast<unsigned long long>(bg_writes.load()), bg_writes.load() / wall);
  std::printf("%-12s : peak RSS %ld KiB\n", n, PeakRssKib());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Flags f = Parse(argc, argv);
  std::printf("engine:     %s\n", f.engine.c_str());
  std::printf("Keys:       %zu bytes each; Values: %zu bytes each; Entries: %llu; Threads: %d\n",
              f.key_size, f.value_size, static_cast<unsigned long long>(f.num), f.threads);
  std::printf("Writes:     batch_size %zu, sync %d, disable_wal %d\n", f.batch_size, f.sync,
              f.disable_wal);
  std::printf("Database:   %s\n------------------------------------------------\n",
              f.db.c_str());
  if (!f.use_existing_db) DestroyDb(f.db);
  std::unique_ptr<Engine> e = Open(f);
  for (const std::string& name : f.benchmarks) {
    Kind kind;
    if (name == "fillseq") kind = Kind::kWriteSeq;
    else if (name == "fillrandom" || name == "overwrite") kind = Kind::kWriteRandom;
    else if (name == "readrandom") kind = Kind::kReadRandom;
    else if (name == "readseq") kind = Kind::kReadSeq;
    else if (name == "readwhilewriting") kind = Kind::kReadWhileWriting;
    else Die("unknown benchmark " + name);
    if (name.rfind("fill", 0) == 0) {
      if (f.use_existing_db) Die(name + " needs a fresh database; drop --use_existing_db");
      e.reset();
      DestroyDb(f.db);
      e = Open(f);
    }
    Run(f, e.get(), name, kind);
  }
  return 0;
}
