// leveldb_db: whole database directories with LevelDB 1.23's DB (leveldb::DB::Open), both
// ways. LevelDB's RepairDB is never used: a directory it cannot open as it is fails the check.
//
// Usage:
//   leveldb_db write DIR MODEL
//       LevelDB writes a new database: Snappy (its default), 64 KiB write buffers (so several
//       tables), overwrites and deletes, an empty key and a binary key; then a last round of
//       writes that stays in its WAL only, and the process exits without closing the DB (so
//       its log is a WAL tail the next opener must replay). MODEL receives the live keys,
//       sorted: "<hex key> <hex value>" (an empty value as "-"); MODEL.deleted the keys deleted
//       and absent at the end, one hex key per line.
//   leveldb_db read DIR MODEL
//       Opens DIR with paranoid_checks and checks that exactly MODEL is live: a Get of every key
//       of MODEL and of MODEL.deleted (which must be NotFound), then a full iterator scan that
//       must list exactly MODEL.
//   leveldb_db prefix DIR ORDER ACKED
//       Opens DIR (left by a killed writer) with paranoid_checks and checks that what it reads
//       is the state after some prefix of the writes in ORDER ("put <hex key> <hex value>" or
//       "del <hex key>", in write order), and that the prefix holds every write listed in ACKED
//       (indexes, from 0, of acknowledged sync writes). The scan and a Get of every key ORDER
//       touches must agree.

#include <leveldb/db.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "compat_util.h"

namespace {

using compat::Hex;
using compat::Unhex;

compat::Xorshift rng(0x853c49e6748fea9bull);

uint64_t Next() { return rng.Next(); }

std::string Key(uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "key%05llu", static_cast<unsigned long long>(n));
  return buf;
}

std::string Value(uint64_t op) {
  uint64_t r = Next();
  if (op % 211 == 3) return std::string(6000 + r % 2000, static_cast<char>('a' + op % 26));
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
      while (v.size() < r % 300) v += "leveldb-" + std::to_string(op) + "-";
      return v;
    }
  }
}

std::string Shown(const std::string& s) { return s.empty() ? "(empty)" : Hex(s).substr(0, 40); }

bool Fail(const std::string& what) {
  std::cerr << "leveldb_db: " << what << "\n";
  return false;
}

bool Check(const leveldb::Status& s, const std::string& what) {
  return s.ok() || Fail(what + ": " + s.ToString());
}

using Model = std::map<std::string, std::string>;

bool SaveModel(const Model& live, const std::set<std::string>& deleted, const std::string& path) {
  std::ofstream out(path);
  for (const auto& kv : live) out << Hex(kv.first) << " " << (kv.second.empty() ? "-" : Hex(kv.second)) << "\n";
  std::ofstream del(path + ".deleted");
  for (const auto& k : deleted) del << Hex(k) << "\n";
  out.close();
  del.close();
  return (out && del) || Fail("cannot write " + path);
}

bool LoadModel(const std::string& path, Model* live, std::set<std::string>* deleted) {
  std::ifstream in(path), del(path + ".deleted");
  if (!in || !del) return Fail("cannot read " + path + " and " + path + ".deleted");
  std::string line, k, v;
  while (std::getline(in, line)) {
    size_t sp = line.find(' ');
    if (sp == std::string::npos || !Unhex(line.substr(0, sp), &k) || !Unhex(line.substr(sp + 1), &v)) {
      return Fail("bad model line: " + line);
    }
    (*live)[k] = v;
  }
  while (std::getline(del, line)) {
    if (!Unhex(line, &k)) return Fail("bad deleted line: " + line);
    deleted->insert(k);
  }
  return true;
}

std::unique_ptr<leveldb::DB> OpenExisting(const std::string& dir) {
  leveldb::Options options;
  options.create_if_missing = false;
  options.paranoid_checks = true;
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir, &raw);
  if (!s.ok()) {
    Fail("DB::Open(" + dir + ", paranoid_checks) failed: " + s.ToString());
    return nullptr;
  }
  return std::unique_ptr<leveldb::DB>(raw);
}

// Every live key and value of the database, by a full scan (checked with verify_checksums).
bool Scan(leveldb::DB* db, Model* out) {
  leveldb::ReadOptions ro;
  ro.verify_checksums = true;
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(ro));
  std::string prev;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string k = it->key().ToString();
    if (!out->empty() && k <= prev) return Fail("the scan is not in increasing key order at " + Shown(k));
    (*out)[k] = it->value().ToString();
    prev = k;
  }
  return Check(it->status(), "scan");
}

int Write(const std::string& dir, const std::string& model_path) {
  leveldb::Options options;  // Snappy on, LevelDB's default
  options.create_if_missing = true;
  options.error_if_exists = true;
  options.write_buffer_size = 64 << 10;
  leveldb::DB* raw = nullptr;
  if (!Check(leveldb::DB::Open(options, dir, &raw), "open")) return 1;
  std::unique_ptr<leveldb::DB> db(raw);
  Model live;
  std::set<std::string> deleted;
  leveldb::WriteOptions wo;
  auto put = [&](const std::string& k, const std::string& v) {
    live[k] = v;
    deleted.erase(k);
    return Check(db->Put(wo, k, v), "put");
  };
  auto del = [&](const std::string& k) {
    live.erase(k);
    deleted.insert(k);
    return Check(db->Delete(wo, k), "delete");
  };
  auto round = [&](uint64_t from, uint64_t to) {
    bool ok = true;
    for (uint64_t op = from; ok && op < to; op++) {
      if (op % 50 == 49) {  // a batch: two puts and a delete
        leveldb::WriteBatch batch;
        for (int i = 0; i < 2; i++) {
          std::string k = Key(Next() % 3000), v = Value(op);
          live[k] = v;
          deleted.erase(k);
          batch.Put(k, v);
        }
        std::string k = Key(Next() % 3000);
        live.erase(k);
        deleted.insert(k);
        batch.Delete(k);
        ok = Check(db->Write(wo, &batch), "write batch");
      } else {
        uint64_t r = Next();
        ok = (r % 100 < 15) ? del(Key(r % 3000)) : put(Key(r % 3000), Value(op));
      }
    }
    return ok;
  };
  bool ok = put("", "the empty key") && put(std::string("\0\xff", 2), "a binary key") &&
            round(0, 8000);
  // Wait for the memtable flush and the compactions it started (a manual compaction of a
  // range holding no key does both), so that nothing runs in the background when the process
  // exits below.
  if (ok) {
    leveldb::Slice begin("\xff\xff\xff\xff" "1"), end("\xff\xff\xff\xff" "2");
    db->CompactRange(&begin, &end);
  }
  // The tail: fewer bytes than a write buffer, so they stay in the log only.
  ok = ok && round(8000, 8100) && del(Key(1)) && put(Key(2), "in the WAL tail only");
  if (!ok || !SaveModel(live, deleted, model_path)) return 1;
  std::cout << "leveldb_db: " << live.size() << " live and " << deleted.size()
            << " deleted keys in " << dir << "; left open (its log holds the last writes)\n";
  std::cout.flush();
  // Exit without closing: no memtable flush, no final compaction; the log is the tail.
  std::_Exit(0);
}

int Read(const std::string& dir, const std::string& model_path) {
  Model live;
  std::set<std::string> deleted;
  if (!LoadModel(model_path, &live, &deleted)) return 1;
  std::unique_ptr<leveldb::DB> db = OpenExisting(dir);
  if (!db) return 1;
  leveldb::ReadOptions ro;
  ro.verify_checksums = true;
  std::string got;
  for (const auto& kv : live) {
    leveldb::Status s = db->Get(ro, kv.first, &got);
    if (!s.ok()) return Fail("Get " + Shown(kv.first) + ": " + s.ToString()), 1;
    if (got != kv.second) return Fail("Get " + Shown(kv.first) + " reads another value"), 1;
  }
  for (const auto& k : deleted) {
    leveldb::Status s = db->Get(ro, k, &got);
    if (!s.IsNotFound()) return Fail("deleted key " + Shown(k) + " is not NotFound: " + s.ToString()), 1;
  }
  Model scanned;
  if (!Scan(db.get(), &scanned)) return 1;
  if (scanned != live) {
    auto a = scanned.begin();
    auto b = live.begin();
    while (a != scanned.end() && b != live.end() && *a == *b) ++a, ++b;
    std::string at = a != scanned.end() ? Shown(a->first) : b != live.end() ? Shown(b->first) : "?";
    return Fail("the scan lists " + std::to_string(scanned.size()) + " keys, the model " +
                std::to_string(live.size()) + "; first difference at " + at),
           1;
  }
  std::cout << "leveldb-1.23: opened " << dir << " (paranoid_checks): " << live.size()
            << " keys identical (gets and a scan), " << deleted.size() << " deleted keys absent\n";
  return 0;
}

int Prefix(const std::string& dir, const std::string& order_path, const std::string& acked_path) {
  struct Op {
    bool put;
    std::string key, value;
  };
  std::vector<Op> order;
  std::ifstream in(order_path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string verb, k, v;
    fields >> verb >> k;
    Op op{verb == "put", "", ""};
    bool ok = (verb == "put" || verb == "del") && Unhex(k, &op.key);
    if (op.put) ok = ok && (fields >> v) && Unhex(v, &op.value);
    // The writer appends a line before each write: a kill can cut only the last one short,
    // and that write was never issued.
    if (!ok) {
      if (in.peek() == EOF) break;
      return Fail("bad order line: " + line), 1;
    }
    order.push_back(op);
  }
  long long last_acked = -1;
  size_t acks = 0;
  std::ifstream ack(acked_path);
  while (std::getline(ack, line)) {
    if (line.empty()) continue;
    last_acked = std::max(last_acked, std::atoll(line.c_str()));
    acks++;
  }
  if (order.empty() || acks == 0) return Fail("the writer logged no acknowledged write"), 1;

  std::unique_ptr<leveldb::DB> db = OpenExisting(dir);
  if (!db) return 1;
  Model scanned;
  if (!Scan(db.get(), &scanned)) return 1;
  // A Get of every key the writes touched agrees with the scan.
  leveldb::ReadOptions ro;
  ro.verify_checksums = true;
  std::set<std::string> touched;
  for (const Op& op : order) touched.insert(op.key);
  for (const std::string& k : touched) {
    std::string got;
    leveldb::Status s = db->Get(ro, k, &got);
    auto it = scanned.find(k);
    if (it == scanned.end() ? !s.IsNotFound() : (!s.ok() || got != it->second)) {
      return Fail("Get " + Shown(k) + " disagrees with the scan: " + s.ToString()), 1;
    }
  }
  for (const auto& kv : scanned) {
    if (!touched.count(kv.first)) return Fail("a key never written: " + Shown(kv.first)), 1;
  }
  // Replay the order, counting the keys where the model differs from what LevelDB read: the
  // state after k writes matches where that count is 0.
  Model model;
  size_t differ = scanned.size();  // the model starts empty
  auto same = [&](const std::string& k) {
    auto a = model.find(k);
    auto b = scanned.find(k);
    if (a == model.end() || b == scanned.end()) return a == model.end() && b == scanned.end();
    return a->second == b->second;
  };
  std::vector<size_t> matches;
  if (differ == 0) matches.push_back(0);
  for (size_t i = 0; i < order.size(); i++) {
    const Op& op = order[i];
    bool before = same(op.key);
    if (op.put) {
      model[op.key] = op.value;
    } else {
      model.erase(op.key);
    }
    bool after = same(op.key);
    if (before && !after) differ++;
    if (!before && after) differ--;
    if (differ == 0) matches.push_back(i + 1);
  }
  if (matches.empty()) {
    return Fail("what LevelDB reads in " + dir + " is not the state after any prefix of the " +
                std::to_string(order.size()) + " logged writes"),
           1;
  }
  size_t prefix = matches.back();
  if (static_cast<long long>(prefix) <= last_acked) {
    return Fail("LevelDB reads the state after " + std::to_string(prefix) +
                " writes, but sync write " + std::to_string(last_acked) + " was acknowledged"),
           1;
  }
  std::cout << "leveldb-1.23: opened " << dir << " after kill -9 (paranoid_checks): the state after "
            << prefix << " of " << order.size() << " logged writes (" << scanned.size()
            << " keys), holding all " << acks << " acknowledged sync writes (the last is write "
            << last_acked << ")\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() == 3 && a[0] == "write") return Write(a[1], a[2]);
  if (a.size() == 3 && a[0] == "read") return Read(a[1], a[2]);
  if (a.size() == 4 && a[0] == "prefix") return Prefix(a[1], a[2], a[3]);
  std::cerr << "usage: leveldb_db write DIR MODEL | read DIR MODEL | prefix DIR ORDER ACKED\n";
  return 2;
}
