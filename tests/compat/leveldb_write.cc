// leveldb_write: writes a LevelDB database with LevelDB's defaults (Snappy compression, 4 KiB
// blocks, restart interval 16, no filter), so that groupkv's reader can be checked on tables
// LevelDB itself wrote.
//
// Usage: leveldb_write DIR MODEL
//   DIR    a directory that must not exist yet
//   MODEL  receives the keys that must be live afterwards, sorted, one per line:
//          "<hex user key> <hex value>" (an empty value as "-")
//
//        leveldb_write --table FILE user-key-filter|internal-key-filter
//   writes one table with LevelDB's TableBuilder, as LevelDB's DB would (internal keys, Snappy,
//   10 bloom bits per key), 5000 entries over many blocks. With internal-key-filter the filter
//   hashes whole internal keys instead of user keys, the mistake a reader must catch: the
//   harness uses it to prove that leveldb_check's filter check can fail.
//
// The contents are deterministic: a few thousand keys with overwrites, compressible and
// incompressible values, values larger than a block, an empty key, empty values, binary keys,
// a 1000-byte key, and deletes. A full CompactRange then moves everything into tables; a
// second round of puts and deletes over the same keys is flushed to a newer table so that
// deletion markers and shadowed versions are on disk too.

#include <leveldb/comparator.h>
#include <leveldb/db.h>
#include <leveldb/env.h>
#include <leveldb/filter_policy.h>
#include <leveldb/table_builder.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "compat_util.h"

namespace {

using compat::Hex;

compat::Xorshift rng(0x9e3779b97f4a7c15ull);

uint64_t Next() { return rng.Next(); }

std::string Key(uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "key%06llu", static_cast<unsigned long long>(n));
  return buf;
}

std::string Value(uint64_t op) {
  uint64_t r = Next();
  if (op % 250 == 7) return std::string(10000 + r % 5000, static_cast<char>('a' + op % 26));
  if (op % 333 == 5) {  // larger than a block and incompressible
    std::string v(20000, '\0');
    for (char& c : v) c = static_cast<char>(Next());
    return v;
  }
  switch (r % 10) {
    case 0:
      return "";
    case 1: {  // incompressible
      std::string v(r % 100, '\0');
      for (char& c : v) c = static_cast<char>(Next());
      return v;
    }
    default: {  // compressible, so Snappy keeps the compressed blocks
      std::string v;
      while (v.size() < r % 300) v += "value-" + std::to_string(op) + "-";
      return v;
    }
  }
}

bool Check(const leveldb::Status& s, const char* what) {
  if (!s.ok()) std::cerr << "leveldb_write: " << what << ": " << s.ToString() << "\n";
  return s.ok();
}

// LevelDB's internal-key comparator and the separators its table builder asks for
// (db/dbformat.cc; not public): user keys bytewise, then the tag descending; a shortened user
// key gets the tag of sequence 2^56 - 1, kind 1.
class InternalKeyOrder : public leveldb::Comparator {
 public:
  const char* Name() const override { return "leveldb.InternalKeyComparator"; }
  int Compare(const leveldb::Slice& a, const leveldb::Slice& b) const override {
    int r = User(a).compare(User(b));
    if (r != 0) return r;
    uint64_t ta = Tag(a), tb = Tag(b);
    return ta > tb ? -1 : (ta < tb ? 1 : 0);
  }
  void FindShortestSeparator(std::string* start, const leveldb::Slice& limit) const override {
    std::string user(User(*start).ToString()), tmp(user);
    leveldb::BytewiseComparator()->FindShortestSeparator(&tmp, User(limit));
    Replace(start, user, tmp);
  }
  void FindShortSuccessor(std::string* key) const override {
    std::string user(User(*key).ToString()), tmp(user);
    leveldb::BytewiseComparator()->FindShortSuccessor(&tmp);
    Replace(key, user, tmp);
  }

 private:
  static leveldb::Slice User(const leveldb::Slice& k) { return {k.data(), k.size() - 8}; }
  static uint64_t Tag(const leveldb::Slice& k) {
    uint64_t tag = 0;
    for (int i = 7; i >= 0; i--) tag = (tag << 8) | static_cast<unsigned char>(k[k.size() - 8 + i]);
    return tag;
  }
  static void Replace(std::string* key, const std::string& user, const std::string& tmp) {
    if (tmp.size() < user.size() && leveldb::Slice(user).compare(tmp) < 0) {
      *key = tmp + std::string("\x01\xff\xff\xff\xff\xff\xff\xff", 8);
    }
  }
};

// LevelDB's InternalFilterPolicy: the bloom filter over user keys, under the bloom's name.
class UserKeyBloom : public leveldb::FilterPolicy {
 public:
  explicit UserKeyBloom(bool strip_tag) : strip_(strip_tag) {}
  ~UserKeyBloom() override { delete bloom_; }
  const char* Name() const override { return bloom_->Name(); }
  void CreateFilter(const leveldb::Slice* keys, int n, std::string* dst) const override {
    std::vector<leveldb::Slice> user;
    for (int i = 0; i < n; i++) user.emplace_back(keys[i].data(), keys[i].size() - (strip_ ? 8 : 0));
    bloom_->CreateFilter(user.data(), n, dst);
  }
  bool KeyMayMatch(const leveldb::Slice& key, const leveldb::Slice& filter) const override {
    return bloom_->KeyMayMatch(leveldb::Slice(key.data(), key.size() - 8), filter);
  }

 private:
  const leveldb::FilterPolicy* bloom_ = leveldb::NewBloomFilterPolicy(10);
  bool strip_;
};

std::string InternalKey(const std::string& user, uint64_t seq, int kind) {
  uint64_t tag = (seq << 8) | static_cast<uint64_t>(kind);
  std::string key = user;
  for (int i = 0; i < 8; i++) key.push_back(static_cast<char>(tag >> (8 * i)));
  return key;
}

int WriteTable(const std::string& path, const std::string& mode) {
  if (mode != "user-key-filter" && mode != "internal-key-filter") {
    std::cerr << "leveldb_write: unknown table mode " << mode << "\n";
    return 2;
  }
  InternalKeyOrder order;
  UserKeyBloom filter(mode == "user-key-filter");
  leveldb::Options options;  // Snappy, 4 KiB blocks, restart interval 16
  options.comparator = &order;
  options.filter_policy = &filter;
  leveldb::WritableFile* raw = nullptr;
  if (!Check(leveldb::Env::Default()->NewWritableFile(path, &raw), "create table")) return 1;
  std::unique_ptr<leveldb::WritableFile> file(raw);
  leveldb::TableBuilder builder(options, file.get());
  uint64_t seq = 1;
  for (uint64_t i = 0; i < 2500; i++) {
    std::string user = Key(i * 7);
    builder.Add(InternalKey(user, seq + 1, 0), "");  // a newer deletion, then an older value
    builder.Add(InternalKey(user, seq, 1), Value(i));
    seq += 2;
  }
  bool ok = Check(builder.Finish(), "finish table") && Check(file->Sync(), "sync table") &&
            Check(file->Close(), "close table");
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--table") return WriteTable(argv[2], argv[3]);
  if (argc != 3) {
    std::cerr << "usage: leveldb_write DIR MODEL | --table FILE user-key-filter|internal-key-filter\n";
    return 2;
  }
  leveldb::Options options;  // LevelDB's defaults: Snappy on
  options.create_if_missing = true;
  options.error_if_exists = true;
  leveldb::DB* raw_db = nullptr;
  if (!Check(leveldb::DB::Open(options, argv[1], &raw_db), "open")) return 1;
  std::unique_ptr<leveldb::DB> db(raw_db);
  std::map<std::string, std::string> model;
  leveldb::WriteOptions wo;

  auto put = [&](const std::string& k, const std::string& v) {
    model[k] = v;
    return Check(db->Put(wo, k, v), "put");
  };
  auto del = [&](const std::string& k) {
    model.erase(k);
    return Check(db->Delete(wo, k), "delete");
  };

  bool ok = put("", "the empty key") && put(std::string(1, '\0'), "a zero byte") &&
            put("\xff\xff", "") && put(std::string(1000, 'L'), "a 1000-byte key");
  for (uint64_t op = 0; ok && op < 3000; op++) {
    if (op % 10 == 9) {  // a few in batches of three
      leveldb::WriteBatch batch;
      for (int i = 0; i < 3; i++) {
        std::string k = Key(Next() % 4000), v = Value(op);
        model[k] = v;
        batch.Put(k, v);
      }
      ok = Check(db->Write(wo, &batch), "write batch");
    } else {
      ok = put(Key(Next() % 4000), Value(op));
    }
  }
  for (uint64_t i = 0; ok && i < 300; i++) ok = del(Key(Next() % 4000));
  if (ok) db->CompactRange(nullptr, nullptr);

  // Second round: newer versions and deletion markers over keys already in tables. A manual
  // compaction of a range holding no key flushes the memtable and compacts nothing else.
  for (uint64_t op = 3000; ok && op < 3300; op++) {
    uint64_t r = Next();
    ok = (r % 3 == 0) ? del(Key(r % 4000)) : put(Key(r % 4000), Value(op));
  }
  ok = ok && del(std::string(1, '\0')) && put("", "the empty key, again");
  if (ok) {
    leveldb::Slice begin("\xff\xff\xff\xff\xff" "1"), end("\xff\xff\xff\xff\xff" "2");
    db->CompactRange(&begin, &end);
  }
  db.reset();
  if (!ok) return 1;

  std::ofstream out(argv[2]);
  for (const auto& kv : model) out << Hex(kv.first) << " " << (kv.second.empty() ? "-" : Hex(kv.second)) << "\n";
  out.close();
  if (!out) {
    std::cerr << "leveldb_write: cannot write " << argv[2] << "\n";
    return 1;
  }
  std::cout << "leveldb_write: " << model.size() << " live keys in " << argv[1] << "\n";
  return 0;
}
