// leveldb_write: writes a LevelDB database with LevelDB's defaults (Snappy compression, 4 KiB
// blocks, restart interval 16, no filter), so that groupkv's reader can be checked on tables
// LevelDB itself wrote.
//
// Usage: leveldb_write DIR MODEL
//   DIR    a directory that must not exist yet
//   MODEL  receives the keys that must be live afterwards, sorted, one per line:
//          "<hex user key> <hex value>" (an empty value as "-")
//
// The contents are deterministic: a few thousand keys with overwrites, compressible and
// incompressible values, values larger than a block, an empty key, empty values, binary keys,
// a 1000-byte key, and deletes. A full CompactRange then moves everything into tables; a
// second round of puts and deletes over the same keys is flushed to a newer table so that
// deletion markers and shadowed versions are on disk too.

#include <leveldb/db.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>

namespace {

uint64_t state = 0x9e3779b97f4a7c15ull;

uint64_t Next() {  // xorshift64: the same sequence on every machine
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

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

std::string Hex(const std::string& s) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

bool Check(const leveldb::Status& s, const char* what) {
  if (!s.ok()) std::cerr << "leveldb_write: " << what << ": " << s.ToString() << "\n";
  return s.ok();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: leveldb_write DIR MODEL\n";
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
