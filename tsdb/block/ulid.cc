#include "tsdb/block/ulid.h"

#include <chrono>
#include <random>

#include "absl/strings/str_cat.h"

namespace tsdb::block {
namespace {

constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int DecodeChar(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  for (int i = 10; i < 32; ++i) {
    if (kAlphabet[i] == c) return i;
  }
  return -1;
}

}  // namespace

Ulid Ulid::New(uint64_t ms) {
  Ulid u;
  for (int i = 0; i < 6; ++i) {
    u.bytes_[i] = static_cast<uint8_t>(ms >> (8 * (5 - i)));
  }
  std::random_device rd;
  for (int i = 6; i < 16; i += 2) {
    const uint32_t r = rd();
    u.bytes_[i] = static_cast<uint8_t>(r);
    u.bytes_[i + 1] = static_cast<uint8_t>(r >> 8);
  }
  return u;
}

Ulid Ulid::Now() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return New(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now).count()));
}

Ulid Ulid::FromBytes(const std::array<uint8_t, 16>& b) {
  Ulid u;
  u.bytes_ = b;
  return u;
}

std::string Ulid::ToString() const {
  // 130 bits of output for 128 bits of input: the first character holds the
  // top 3 bits (two implicit leading zero bits).
  std::string out(26, '0');
  int bit = -2;  // position of the first output bit, in input bits
  for (int c = 0; c < 26; ++c, bit += 5) {
    int v = 0;
    for (int k = 0; k < 5; ++k) {
      const int b = bit + k;
      v <<= 1;
      if (b >= 0) v |= (bytes_[b / 8] >> (7 - b % 8)) & 1;
    }
    out[c] = kAlphabet[v];
  }
  return out;
}

absl::StatusOr<Ulid> Ulid::Parse(std::string_view s) {
  if (s.size() != 26) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid ULID \"", std::string(s), "\": want 26 characters"));
  }
  Ulid u;
  int bit = -2;
  for (int c = 0; c < 26; ++c, bit += 5) {
    const int v = DecodeChar(s[c]);
    if (v < 0 || (c == 0 && v > 7)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid ULID \"", std::string(s), "\""));
    }
    for (int k = 0; k < 5; ++k) {
      const int b = bit + k;
      if (b < 0) continue;
      if ((v >> (4 - k)) & 1) {
        u.bytes_[b / 8] =
            static_cast<uint8_t>(u.bytes_[b / 8] | (1 << (7 - b % 8)));
      }
    }
  }
  return u;
}

uint64_t Ulid::Time() const {
  uint64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = (ms << 8) | bytes_[i];
  return ms;
}

}  // namespace tsdb::block
