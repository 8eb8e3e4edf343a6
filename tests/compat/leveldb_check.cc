// leveldb_check: reads groupkv's (and LevelDB's) files with LevelDB's own code, linked from
// Debian's libleveldb, so that "LevelDB can read it" is checked by LevelDB itself.
//
// Usage:
//   leveldb_check table FILE EXPECT    open FILE with leveldb::Table::Open (checksums verified),
//                                      iterate it, compare every entry with the lines of EXPECT;
//                                      prints "leveldb-1.23: <FILE name> identical (N entries)"
//                                      or the first difference (exit 1). Then, through the index
//                                      (LevelDB's Seek, internal-key order), every entry must be
//                                      found where it is, and if the table has a bloom filter,
//                                      LevelDB's bloom code must pass every key through the
//                                      filter of its block.
//   leveldb_check dump FILE            print FILE's entries, one line each, in the same format
//   leveldb_check version              print the LevelDB it is linked with, e.g. "leveldb-1.23"
//   leveldb_check live MODEL FILE...   merge the tables FILE... as LevelDB's read path would
//                                      (newest sequence per user key wins, deletions hide) and
//                                      compare the live keys with MODEL (exit 1 on a difference)
//   leveldb_check dumpfile FILE        leveldb::DumpFile: a MANIFEST's VersionEdits, a log's
//                                      batches or a table's entries, as LevelDB prints them
//   (issue 13 adds "db DIR EXPECT": open a copy of a whole groupkv directory with
//    paranoid_checks and compare every key.)
//
// Line format (the contract with groupkv's compat_samples and compat_read examples):
//   <hex internal key> <hex value>     lowercase hex; an empty value is written as "-"
// MODEL lines hold a user key instead of an internal key.

#include <leveldb/db.h>
#include <leveldb/dumpfile.h>
#include <leveldb/comparator.h>
#include <leveldb/env.h>
#include <leveldb/filter_policy.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/table.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "compat_util.h"

namespace {

using compat::Hex;

const std::string kReader = "leveldb-" + std::to_string(leveldb::kMajorVersion) + "." +
                            std::to_string(leveldb::kMinorVersion);

std::string Line(const leveldb::Slice& key, const leveldb::Slice& value) {
  return Hex(key) + " " + (value.empty() ? std::string("-") : Hex(value));
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Reads every entry of the table at `path` with LevelDB's table reader, checksums verified.
// Returns false (after printing why) if the table cannot be opened or read.
bool ReadTable(const std::string& path,
               std::vector<std::pair<std::string, std::string>>* entries) {
  leveldb::Env* env = leveldb::Env::Default();
  uint64_t size = 0;
  leveldb::Status s = env->GetFileSize(path, &size);
  leveldb::RandomAccessFile* raw_file = nullptr;
  if (s.ok()) s = env->NewRandomAccessFile(path, &raw_file);
  if (!s.ok()) {
    std::cerr << kReader << ": " << path << ": " << s.ToString() << "\n";
    return false;
  }
  std::unique_ptr<leveldb::RandomAccessFile> file(raw_file);
  leveldb::Options options;
  options.paranoid_checks = true;  // Table::Open then verifies the index block's checksum too
  leveldb::Table* raw_table = nullptr;
  s = leveldb::Table::Open(options, file.get(), size, &raw_table);
  if (!s.ok()) {
    std::cerr << kReader << ": " << path << ": Table::Open: " << s.ToString() << "\n";
    return false;
  }
  std::unique_ptr<leveldb::Table> table(raw_table);
  leveldb::ReadOptions read_options;
  read_options.verify_checksums = true;
  read_options.fill_cache = false;
  std::unique_ptr<leveldb::Iterator> it(table->NewIterator(read_options));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    entries->emplace_back(it->key().ToString(), it->value().ToString());
  }
  if (!it->status().ok()) {
    std::cerr << kReader << ": " << path << ": reading entry " << entries->size() << ": "
              << it->status().ToString() << "\n";
    return false;
  }
  return true;
}

bool ReadLines(const std::string& path, std::vector<std::string>* lines) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "cannot read " << path << "\n";
    return false;
  }
  std::string line;
  while (std::getline(in, line)) lines->push_back(line);
  return true;
}

// LevelDB's internal-key order (db/dbformat.cc InternalKeyComparator, which is not public):
// user keys bytewise ascending, then the 8-byte tag (sequence << 8 | kind) descending. Only
// Compare matters here: the table is read, never built.
class InternalKeyOrder : public leveldb::Comparator {
 public:
  const char* Name() const override { return "leveldb.InternalKeyComparator"; }
  int Compare(const leveldb::Slice& a, const leveldb::Slice& b) const override {
    if (a.size() < 8 || b.size() < 8) return a.compare(b);  // not internal keys: reported elsewhere
    int r = leveldb::Slice(a.data(), a.size() - 8).compare(leveldb::Slice(b.data(), b.size() - 8));
    if (r != 0) return r;
    uint64_t ta = Tag(a), tb = Tag(b);
    return ta > tb ? -1 : (ta < tb ? 1 : 0);
  }
  void FindShortestSeparator(std::string*, const leveldb::Slice&) const override {}
  void FindShortSuccessor(std::string*) const override {}

  static uint64_t Tag(const leveldb::Slice& k) {
    uint64_t tag = 0;
    for (int i = 7; i >= 0; i--) tag = (tag << 8) | static_cast<unsigned char>(k[k.size() - 8 + i]);
    return tag;
  }
};

const char kFilterName[] = "filter.leveldb.BuiltinBloomFilter2";

bool GetVarint64(const std::string& in, size_t* pos, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift <= 63 && *pos < in.size(); shift += 7) {
    unsigned char b = static_cast<unsigned char>(in[(*pos)++]);
    *v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

uint32_t Fixed32(const std::string& in, size_t pos) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | static_cast<unsigned char>(in[pos + i]);
  return v;
}

// CRC-32C, bit by bit (slow and obviously right; only meta blocks go through it).
uint32_t Crc32c(const char* data, size_t n) {
  uint32_t crc = 0xffffffffu;
  for (size_t i = 0; i < n; i++) {
    crc ^= static_cast<unsigned char>(data[i]);
    for (int j = 0; j < 8; j++) crc = (crc >> 1) ^ ((crc & 1) ? 0x82f63b78u : 0);
  }
  return crc ^ 0xffffffffu;
}

uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

// The contents of the uncompressed block at `offset`, `size` of `file`, its trailer checked.
bool RawBlock(const std::string& file, uint64_t offset, uint64_t size, std::string* out,
              std::string* why) {
  if (offset > file.size() || size > file.size() - offset || file.size() - offset - size < 5) {
    *why = "a block handle points past the end of the file";
    return false;
  }
  const char* p = file.data() + offset;
  if (p[size] != 0) {
    *why = "a compressed meta block (type " + std::to_string(int(p[size])) + ")";
    return false;
  }
  if (Fixed32(file, offset + size + 1) != Mask(Crc32c(p, size + 1))) {
    *why = "a meta block's checksum does not match";
    return false;
  }
  out->assign(p, size);
  return true;
}

// The filter block's contents, found through the footer and the metaindex. Returns false with
// `why` empty if the table has no filter, with `why` set if it cannot be read.
bool FindFilter(const std::string& file, std::string* filter, std::string* why) {
  if (file.size() < 48) {
    *why = "shorter than a footer";
    return false;
  }
  size_t pos = file.size() - 48;
  uint64_t meta_offset, meta_size;
  std::string meta;
  if (!GetVarint64(file, &pos, &meta_offset) || !GetVarint64(file, &pos, &meta_size)) {
    *why = "bad footer";
    return false;
  }
  if (!RawBlock(file, meta_offset, meta_size, &meta, why)) return false;
  if (meta.size() < 4) {
    *why = "metaindex too short";
    return false;
  }
  size_t limit = meta.size() - 4 - 4 * size_t{Fixed32(meta, meta.size() - 4)};
  std::string key;
  pos = 0;
  while (pos < limit) {
    uint64_t shared, non_shared, value_len;
    if (!GetVarint64(meta, &pos, &shared) || !GetVarint64(meta, &pos, &non_shared) ||
        !GetVarint64(meta, &pos, &value_len) || shared > key.size() ||
        non_shared + value_len > limit - pos) {
      *why = "malformed metaindex entry";
      return false;
    }
    key = key.substr(0, shared) + meta.substr(pos, non_shared);
    pos += non_shared;
    std::string value = meta.substr(pos, value_len);
    pos += value_len;
    if (key == kFilterName) {
      size_t vpos = 0;
      uint64_t offset, size;
      if (!GetVarint64(value, &vpos, &offset) || !GetVarint64(value, &vpos, &size)) {
        *why = "malformed filter handle";
        return false;
      }
      return RawBlock(file, offset, size, filter, why);
    }
  }
  why->clear();
  return false;
}

// Through the index, with LevelDB's own Seek: every entry is found where it is. Then, if the
// table has a filter, LevelDB's bloom code passes every key through the filter of the block
// that holds it, as LevelDB's DB (which filters on user keys) would.
bool CheckIndexAndFilter(const std::string& path,
                         const std::vector<std::pair<std::string, std::string>>& entries) {
  const std::string name = BaseName(path);
  leveldb::Env* env = leveldb::Env::Default();
  uint64_t size = 0;
  leveldb::RandomAccessFile* raw_file = nullptr;
  leveldb::Status s = env->GetFileSize(path, &size);
  if (s.ok()) s = env->NewRandomAccessFile(path, &raw_file);
  std::unique_ptr<leveldb::RandomAccessFile> file(raw_file);
  InternalKeyOrder order;
  leveldb::Options options;
  options.comparator = &order;
  options.paranoid_checks = true;
  leveldb::Table* raw_table = nullptr;
  if (s.ok()) s = leveldb::Table::Open(options, file.get(), size, &raw_table);
  if (!s.ok()) {
    std::cout << kReader << ": " << name << ": " << s.ToString() << "\n";
    return false;
  }
  std::unique_ptr<leveldb::Table> table(raw_table);
  leveldb::ReadOptions read_options;
  read_options.verify_checksums = true;
  std::unique_ptr<leveldb::Iterator> it(table->NewIterator(read_options));
  for (size_t i = 0; i < entries.size(); i++) {
    it->Seek(entries[i].first);
    if (!it->Valid() || it->key() != leveldb::Slice(entries[i].first) ||
        it->value() != leveldb::Slice(entries[i].second)) {
      std::cout << kReader << ": " << name << ": Seek(entry " << i << ") through the index "
                << "does not find it: " << Hex(entries[i].first).substr(0, 100) << "\n";
      return false;
    }
  }

  std::string contents(size, '\0'), filter, why;
  leveldb::Slice read;
  s = file->Read(0, size, &read, &contents[0]);
  if (!s.ok() || read.size() != size) {
    std::cout << kReader << ": " << name << ": cannot read the file\n";
    return false;
  }
  contents.assign(read.data(), read.size());
  if (!FindFilter(contents, &filter, &why)) {
    if (!why.empty()) {
      std::cout << kReader << ": " << name << ": filter: " << why << "\n";
      return false;
    }
    std::cout << kReader << ": " << name << " every entry found by Seek; no filter\n";
    return true;
  }
  if (filter.size() < 5) {
    std::cout << kReader << ": " << name << ": filter block too short\n";
    return false;
  }
  const unsigned base_lg = static_cast<unsigned char>(filter.back());
  const uint32_t array_offset = Fixed32(filter, filter.size() - 5);
  if (array_offset > filter.size() - 5 || base_lg > 40) {
    std::cout << kReader << ": " << name << ": malformed filter block\n";
    return false;
  }
  const size_t num = (filter.size() - 5 - array_offset) / 4;
  auto filter_for = [&](const std::string& ikey, leveldb::Slice* out) {
    uint64_t index = table->ApproximateOffsetOf(ikey) >> base_lg;
    if (index >= num) return false;  // LevelDB treats this as "may match"
    uint32_t start = Fixed32(filter, array_offset + 4 * index);
    uint32_t limit = index + 1 < num ? Fixed32(filter, array_offset + 4 * (index + 1)) : array_offset;
    if (start > limit || limit > array_offset) return false;
    *out = leveldb::Slice(filter.data() + start, limit - start);
    return true;
  };
  std::unique_ptr<const leveldb::FilterPolicy> bloom(leveldb::NewBloomFilterPolicy(10));
  for (size_t i = 0; i < entries.size(); i++) {
    leveldb::Slice f;
    const std::string& ikey = entries[i].first;
    leveldb::Slice user_key(ikey.data(), ikey.size() - 8);
    if (!filter_for(ikey, &f) || !bloom->KeyMayMatch(user_key, f)) {
      std::cout << kReader << ": " << name << ": the bloom filter rejects entry " << i
                << "'s user key " << Hex(user_key).substr(0, 100) << "\n";
      return false;
    }
  }
  // False positives, for information: user keys absent from the table, each tested against
  // the filter of the block it would be in.
  std::vector<std::string> present;
  for (const auto& e : entries) present.push_back(e.first.substr(0, e.first.size() - 8));
  std::sort(present.begin(), present.end());
  int tested = 0, passed = 0;
  for (uint32_t i = 0; i < 10000; i++) {
    std::string probe = present.empty() ? std::string() : present[i % present.size()];
    probe += "\x01" + std::to_string(i);
    if (std::binary_search(present.begin(), present.end(), probe)) continue;
    std::string ikey = probe + std::string("\x01\xff\xff\xff\xff\xff\xff\xff", 8);
    leveldb::Slice f;
    if (!filter_for(ikey, &f)) continue;
    tested++;
    if (bloom->KeyMayMatch(probe, f)) passed++;
  }
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.2f%%", tested ? 100.0 * passed / tested : 0.0);
  std::cout << kReader << ": " << name << " every entry found by Seek; the bloom filter ("
            << num << " filters) passes all " << entries.size() << " keys and " << rate
            << " of " << tested << " absent keys\n";
  return true;
}

int CheckTable(const std::string& path, const std::string& expect_path) {
  std::vector<std::pair<std::string, std::string>> entries;
  std::vector<std::string> expected;
  if (!ReadTable(path, &entries) || !ReadLines(expect_path, &expected)) return 1;
  const std::string name = BaseName(path);
  for (size_t i = 0; i < entries.size() || i < expected.size(); i++) {
    std::string got = i < entries.size() ? Line(entries[i].first, entries[i].second)
                                         : "(end of table)";
    std::string want = i < expected.size() ? expected[i] : "(end of expected entries)";
    if (got != want) {
      std::cout << kReader << ": " << name << " differs at entry " << i << ":\n  expected "
                << want.substr(0, 200) << "\n  read     " << got.substr(0, 200) << "\n";
      return 1;
    }
  }
  std::cout << kReader << ": " << name << " identical (" << entries.size() << " entries)\n";
  return CheckIndexAndFilter(path, entries) ? 0 : 1;
}

int Dump(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> entries;
  if (!ReadTable(path, &entries)) return 1;
  for (const auto& e : entries) std::cout << Line(e.first, e.second) << "\n";
  return std::cout.good() ? 0 : 1;
}

// An internal key is user_key followed by fixed64(sequence << 8 | type), type 1 = value.
bool SplitInternalKey(const std::string& ikey, std::string* user_key, uint64_t* seq,
                      int* type) {
  if (ikey.size() < 8) return false;
  uint64_t tag = 0;
  for (int i = 7; i >= 0; i--) {
    tag = (tag << 8) | static_cast<unsigned char>(ikey[ikey.size() - 8 + i]);
  }
  *user_key = ikey.substr(0, ikey.size() - 8);
  *seq = tag >> 8;
  *type = static_cast<int>(tag & 0xff);
  return *type <= 1;
}

int Live(const std::string& model_path, const std::vector<std::string>& tables) {
  // user key -> (sequence, type, value) of its newest entry in any table.
  struct Newest {
    uint64_t seq;
    int type;
    std::string value;
  };
  std::map<std::string, Newest> newest;
  size_t total = 0;
  for (const std::string& path : tables) {
    std::vector<std::pair<std::string, std::string>> entries;
    if (!ReadTable(path, &entries)) return 1;
    total += entries.size();
    for (const auto& e : entries) {
      std::string user_key;
      uint64_t seq;
      int type;
      if (!SplitInternalKey(e.first, &user_key, &seq, &type)) {
        std::cout << BaseName(path) << ": malformed internal key " << Hex(e.first) << "\n";
        return 1;
      }
      auto found = newest.find(user_key);
      if (found == newest.end() || found->second.seq < seq) {
        newest[user_key] = Newest{seq, type, e.second};
      }
    }
  }
  std::vector<std::string> live;
  for (const auto& kv : newest) {
    if (kv.second.type == 1) live.push_back(Line(kv.first, kv.second.value));
  }
  std::vector<std::string> model;
  if (!ReadLines(model_path, &model)) return 1;
  for (size_t i = 0; i < live.size() || i < model.size(); i++) {
    std::string got = i < live.size() ? live[i] : "(no more live keys)";
    std::string want = i < model.size() ? model[i] : "(no more written keys)";
    if (got != want) {
      std::cout << kReader << ": the tables' live key " << i << " differs from what was "
                << "written:\n  written " << want.substr(0, 200) << "\n  read    "
                << got.substr(0, 200) << "\n";
      return 1;
    }
  }
  std::cout << kReader << ": " << tables.size() << " tables (" << total
            << " entries) hold exactly the " << live.size() << " live keys written\n";
  return 0;
}

// leveldb::DumpFile writes to a WritableFile: this one is standard output.
class StdoutFile : public leveldb::WritableFile {
 public:
  leveldb::Status Append(const leveldb::Slice& data) override {
    std::cout.write(data.data(), static_cast<std::streamsize>(data.size()));
    return std::cout.good() ? leveldb::Status::OK() : leveldb::Status::IOError("stdout");
  }
  leveldb::Status Close() override { return Flush(); }
  leveldb::Status Flush() override {
    std::cout.flush();
    return std::cout.good() ? leveldb::Status::OK() : leveldb::Status::IOError("stdout");
  }
  leveldb::Status Sync() override { return Flush(); }
};

int DumpWithLevelDB(const std::string& path) {
  StdoutFile out;
  leveldb::Status s = leveldb::DumpFile(leveldb::Env::Default(), path, &out);
  if (!s.ok()) {
    std::cerr << kReader << ": DumpFile " << path << ": " << s.ToString() << "\n";
    return 1;
  }
  return 0;
}

int Usage() {
  std::cerr << "usage: leveldb_check table FILE EXPECT | dump FILE | dumpfile FILE | "
               "live MODEL FILE... | version\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "version") {
    std::cout << kReader << "\n";
    return 0;
  }
  if (argc < 3) return Usage();
  const std::string command = argv[1];
  if (command == "table" && argc == 4) return CheckTable(argv[2], argv[3]);
  if (command == "dump" && argc == 3) return Dump(argv[2]);
  if (command == "dumpfile" && argc == 3) return DumpWithLevelDB(argv[2]);
  if (command == "live" && argc >= 4) {
    return Live(argv[2], std::vector<std::string>(argv + 3, argv + argc));
  }
  return Usage();
}
