// leveldb_check: reads groupkv's (and LevelDB's) files with LevelDB's own code, linked from
// Debian's libleveldb, so that "LevelDB can read it" is checked by LevelDB itself.
//
// Usage:
//   leveldb_check table FILE EXPECT    open FILE with leveldb::Table::Open (checksums verified),
//                                      iterate it, compare every entry with the lines of EXPECT;
//                                      prints "leveldb-1.23: <FILE name> identical (N entries)"
//                                      or the first difference (exit 1)
//   leveldb_check dump FILE            print FILE's entries, one line each, in the same format
//   leveldb_check version              print the LevelDB it is linked with, e.g. "leveldb-1.23"
//   leveldb_check live MODEL FILE...   merge the tables FILE... as LevelDB's read path would
//                                      (newest sequence per user key wins, deletions hide) and
//                                      compare the live keys with MODEL (exit 1 on a difference)
//   (issue 13 adds: "manifest FILE" through leveldb::DumpFile, and "db DIR EXPECT" opening a
//    whole groupkv directory with paranoid_checks.)
//
// Line format (the contract with groupkv's compat_samples and compat_read examples):
//   <hex internal key> <hex value>     lowercase hex; an empty value is written as "-"
// MODEL lines hold a user key instead of an internal key.

#include <leveldb/db.h>
#include <leveldb/env.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/table.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace {

const std::string kReader = "leveldb-" + std::to_string(leveldb::kMajorVersion) + "." +
                            std::to_string(leveldb::kMinorVersion);

std::string Hex(const leveldb::Slice& s) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() * 2);
  for (size_t i = 0; i < s.size(); i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

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
  return 0;
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

int Usage() {
  std::cerr << "usage: leveldb_check table FILE EXPECT | dump FILE | live MODEL FILE... | "
               "version\n";
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
  if (command == "live" && argc >= 4) {
    return Live(argv[2], std::vector<std::string>(argv + 3, argv + argc));
  }
  return Usage();
}
