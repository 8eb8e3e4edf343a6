// Helpers shared by the LevelDB compatibility programs: the hex text in which they exchange
// keys and values with the Rust side, and the seeded generator of their workloads.
#pragma once

#include <leveldb/slice.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace compat {

// Lower-case hex of every byte.
inline std::string Hex(const leveldb::Slice& s) {
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

// The bytes of hex text `h` into `out` ("-" is the empty string); false if `h` is not hex.
inline bool Unhex(const std::string& h, std::string* out) {
  out->clear();
  if (h == "-") return true;
  if (h.size() % 2 != 0) return false;
  for (size_t i = 0; i < h.size(); i += 2) {
    char* end = nullptr;
    std::string byte = h.substr(i, 2);
    long v = std::strtol(byte.c_str(), &end, 16);
    if (end != byte.c_str() + 2) return false;
    out->push_back(static_cast<char>(v));
  }
  return true;
}

// xorshift64: the same sequence on every machine.
class Xorshift {
 public:
  explicit Xorshift(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }

 private:
  uint64_t state_;
};

}  // namespace compat
