// RocksDB and LevelDB behind one interface, opened as --config says; included once, by
// bench/peer_bench.cc.
#pragma once

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "peer_common.h"

namespace {

// --- the engines ------------------------------------------------------------------------------

// One thread's way to build and commit a batch.
class BatchWriter {
 public:
  virtual ~BatchWriter() = default;
  virtual void Clear() = 0;
  virtual void Put(const std::string& key, const char* v, size_t n) = 0;
  virtual std::string Commit() = 0;  // "" on success
};

// An iterator over the whole database, as both engines' iterators are.
class Cursor {
 public:
  virtual ~Cursor() = default;
  virtual void Seek(const std::string& key) = 0;
  virtual void SeekToFirst() = 0;
  virtual bool Valid() const = 0;
  virtual void Next() = 0;
  virtual bool KeyIs(const std::string& key) const = 0;
  // Touches the entry's key and value as a reader would, and returns their size.
  virtual size_t Read() const = 0;
  virtual std::string Error() const = 0;  // "" when fine
};

// RocksDB's and LevelDB's iterators have the same shape.
template <typename It>
class CursorOf : public Cursor {
 public:
  explicit CursorOf(It* it) : it_(it) {}
  void Seek(const std::string& key) override { it_->Seek(key); }
  void SeekToFirst() override { it_->SeekToFirst(); }
  bool Valid() const override { return it_->Valid(); }
  void Next() override { it_->Next(); }
  bool KeyIs(const std::string& key) const override {
    auto k = it_->key();
    return k.size() == key.size() && std::memcmp(k.data(), key.data(), key.size()) == 0;
  }
  size_t Read() const override {
    auto k = it_->key();
    auto v = it_->value();
    // Read the first byte of each, so that a lazily-loaded value would be paid for.
    volatile char sink = (k.size() ? k.data()[0] : 0) ^ (v.size() ? v.data()[0] : 0);
    (void)sink;
    return k.size() + v.size();
  }
  std::string Error() const override {
    auto s = it_->status();
    return s.ok() ? "" : s.ToString();
  }

 private:
  std::unique_ptr<It> it_;
};

// Bytes written by flushes and compactions since the database was opened.
struct EngineBytes {
  bool known = false;
  uint64_t bytes = 0;
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::unique_ptr<BatchWriter> NewWriter() = 0;
  // Returns true if found; an error goes to *err.
  virtual bool Get(const std::string& key, std::string* value, std::string* err) = 0;
  virtual std::unique_ptr<Cursor> NewCursor() = 0;
  // A manual compaction of the whole key range; "" on success.
  virtual std::string CompactAll() = 0;
  virtual EngineBytes FlushAndCompactionBytes() = 0;
  virtual std::string StatsText() = 0;
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
    rocksdb::BlockBasedTableOptions t;
    if (f.config == "nocompaction") {
      o.compression = rocksdb::kNoCompression;
      o.write_buffer_size = kNoFlushWriteBuffer;
      o.stats_dump_period_sec = 0;
      o.stats_persist_period_sec = 0;
    }
    if (f.write_buffer_size > 0) o.write_buffer_size = static_cast<size_t>(f.write_buffer_size);
    if (f.cache_size == 0) {
      t.no_block_cache = true;
    } else if (f.cache_size > 0) {
      t.block_cache = rocksdb::NewLRUCache(static_cast<size_t>(f.cache_size));
    }
    if (f.cache_size >= 0)
      o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
    // These flags' defaults are RocksDB's defaults: setting them changes nothing unless asked.
    o.allow_concurrent_memtable_write = f.allow_concurrent_memtable_write;
    o.enable_pipelined_write = f.enable_pipelined_write;
    o.max_write_batch_group_size_bytes = f.max_write_batch_group_size_bytes;
    o.enable_write_thread_adaptive_yield = f.enable_write_thread_adaptive_yield;
    o.write_thread_max_yield_usec = f.write_thread_max_yield_usec;
    o.write_thread_slow_yield_usec = f.write_thread_slow_yield_usec;
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
  std::unique_ptr<Cursor> NewCursor() override {
    return std::make_unique<CursorOf<rocksdb::Iterator>>(db_->NewIterator(rocksdb::ReadOptions()));
  }
  std::string CompactAll() override {
    // The default CompactRangeOptions, as db_bench's compact: the memtable is flushed first
    // and every level is compacted down into the last one.
    rocksdb::Status s = db_->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr);
    return s.ok() ? "" : s.ToString();
  }
  EngineBytes FlushAndCompactionBytes() override {
    // The "Sum" row of the column family's compaction statistics: flushes count as writes
    // into L0 there. In GB with 6 decimals (1 KB resolution).
    std::map<std::string, std::string> m;
    EngineBytes r;
    if (!db_->GetMapProperty(rocksdb::DB::Properties::kCFStats, &m)) return r;
    auto it = m.find("compaction.Sum.WriteGB");
    if (it == m.end()) return r;
    r.known = true;
    r.bytes = static_cast<uint64_t>(std::strtod(it->second.c_str(), nullptr) * 1073741824.0);
    return r;
  }
  std::string StatsText() override {
    std::string s;
    db_->GetProperty(rocksdb::DB::Properties::kStats, &s);
    return s;
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
    if (f.config == "nocompaction") {
      o.compression = leveldb::kNoCompression;
      o.write_buffer_size = kNoFlushWriteBuffer;
    }
    if (f.write_buffer_size > 0) o.write_buffer_size = static_cast<size_t>(f.write_buffer_size);
    if (f.cache_size >= 0) {
      // LevelDB has no "no cache" setting (nullptr means its own 8 MiB cache): a 0-byte LRU
      // cache keeps nothing.
      cache_.reset(leveldb::NewLRUCache(static_cast<size_t>(f.cache_size)));
      o.block_cache = cache_.get();
    }
    wo_.sync = f.sync;
    leveldb::DB* db = nullptr;
    leveldb::Status s = leveldb::DB::Open(o, f.db, &db);
    if (!s.ok()) Die("opening LevelDB in " + f.db + ": " + s.ToString());
    db_.reset(db);
  }
  ~Level() override { db_.reset(); }  // before the cache it uses
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
  std::unique_ptr<Cursor> NewCursor() override {
    return std::make_unique<CursorOf<leveldb::Iterator>>(db_->NewIterator(leveldb::ReadOptions()));
  }
  std::string CompactAll() override {
    // As db_bench's compact: the memtable first, then each level into the next.
    db_->CompactRange(nullptr, nullptr);
    return "";
  }
  EngineBytes FlushAndCompactionBytes() override {
    // leveldb.stats has a row per level whose last column is Write(MB): flushes count as
    // writes into their level there. Whole MB only (%9.0f), so small runs read coarsely.
    EngineBytes r;
    std::string text;
    if (!db_->GetProperty("leveldb.stats", &text)) return r;
    std::istringstream in(text);
    std::string line;
    double mb = 0;
    while (std::getline(in, line)) {
      int level;
      double files, size, secs, read, write;
      if (std::sscanf(line.c_str(), "%d %lf %lf %lf %lf %lf", &level, &files, &size, &secs, &read,
                      &write) == 6)
        mb += write;
    }
    r.known = true;
    r.bytes = static_cast<uint64_t>(mb * 1048576.0);
    return r;
  }
  std::string StatsText() override {
    std::string s;
    db_->GetProperty("leveldb.stats", &s);
    return s;
  }

 private:
  std::unique_ptr<leveldb::Cache> cache_;
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

// What the configuration sets, for the header.
std::string Describe(const Flags& f) {
  std::string s;
  if (f.config == "nocompaction")
    s = "nocompaction: no compression, 1 GiB write buffer (nothing flushes)";
  else if (f.engine == "rocksdb")
    s = "default: RocksDB's defaults (64 MiB write buffer x 2, Snappy, 8 MiB block cache, "
        "level compaction, no Bloom filter)";
  else
    s = "default: LevelDB's defaults (4 MiB write buffer, Snappy, 8 MiB block cache, 2 MiB "
        "tables, no Bloom filter)";
  if (f.write_buffer_size > 0) s += "; write_buffer_size " + std::to_string(f.write_buffer_size);
  if (f.cache_size >= 0) s += "; cache_size " + std::to_string(f.cache_size);
  return s;
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

}  // namespace
