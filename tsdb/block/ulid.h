// ULID: the 128-bit block identifier Prometheus uses (github.com/oklog/ulid):
// 48-bit big-endian Unix time in milliseconds followed by 80 random bits,
// written as 26 characters of Crockford base32
// ("0123456789ABCDEFGHJKMNPQRSTVWXYZ"). Block directories are named by it;
// sorting the strings sorts by creation time.
//
// Thread safety: Ulid is a value type. Ulid::New is thread-safe.
#ifndef TSDB_BLOCK_ULID_H_
#define TSDB_BLOCK_ULID_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tsdb::block {

class Ulid final {
 public:
  Ulid() { bytes_.fill(0); }

  // A new ULID for `ms` (milliseconds since the epoch) with random bits from
  // the OS (std::random_device).
  static Ulid New(uint64_t ms);
  // A new ULID for the current time.
  static Ulid Now();
  // From 16 raw bytes.
  static Ulid FromBytes(const std::array<uint8_t, 16>& b);
  // Parses the 26-character form (case-insensitive, as oklog/ulid).
  // InvalidArgument for a bad length, character or a value over 2^128-1.
  static absl::StatusOr<Ulid> Parse(std::string_view s);

  // The 26-character upper-case form.
  std::string ToString() const;
  // The 48-bit timestamp in milliseconds.
  uint64_t Time() const;
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }

  friend bool operator==(const Ulid& a, const Ulid& b) {
    return a.bytes_ == b.bytes_;
  }
  friend bool operator!=(const Ulid& a, const Ulid& b) { return !(a == b); }
  friend bool operator<(const Ulid& a, const Ulid& b) {
    return a.bytes_ < b.bytes_;
  }

 private:
  std::array<uint8_t, 16> bytes_;
};

}  // namespace tsdb::block

#endif  // TSDB_BLOCK_ULID_H_
