// Binary coding helpers shared by every on-disk format.
//
// - Big-endian fixed-width integers: every multi-byte fixed integer in every
//   Prometheus TSDB file is big-endian.
// - Varints exactly as Go's encoding/binary: `PutUvarint` is unsigned LEB128
//   (1-10 bytes); `PutVarint` zigzag-encodes first. Decoders reject overlong
//   or truncated input the way Go's binary.Uvarint does (returning 0 bytes
//   consumed), so a corrupt file is reported, never read past its end.
//
// Decbuf is a bounds-checked reader over a byte span with a sticky error,
// shaped like Prometheus's encoding.Decbuf: read many fields, check status()
// once.
#ifndef TSDB_BASE_CODING_H_
#define TSDB_BASE_CODING_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace tsdb {

// Maximum encoded length of a 64-bit varint.
inline constexpr int kMaxVarintLen64 = 10;

inline void PutBE16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void PutBE32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
inline void PutBE64(uint8_t* p, uint64_t v) {
  PutBE32(p, static_cast<uint32_t>(v >> 32));
  PutBE32(p + 4, static_cast<uint32_t>(v));
}
inline uint16_t GetBE16(const uint8_t* p) {
  return static_cast<uint16_t>((uint16_t{p[0]} << 8) | p[1]);
}
inline uint32_t GetBE32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline uint64_t GetBE64(const uint8_t* p) {
  return (uint64_t{GetBE32(p)} << 32) | GetBE32(p + 4);
}

// Zigzag mapping used by Go's PutVarint.
inline uint64_t ZigZagEncode(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t ZigZagDecode(uint64_t u) {
  return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
}

// Writes `v` at `p` (room for kMaxVarintLen64 bytes); returns bytes written.
inline int EncodeUvarint(uint8_t* p, uint64_t v) {
  int n = 0;
  while (v >= 0x80) {
    p[n++] = static_cast<uint8_t>(v) | 0x80;
    v >>= 7;
  }
  p[n++] = static_cast<uint8_t>(v);
  return n;
}
inline int EncodeVarint(uint8_t* p, int64_t v) {
  return EncodeUvarint(p, ZigZagEncode(v));
}
inline int UvarintLen(uint64_t v) {
  int n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Decodes a uvarint from [p, p+len) as Go's binary.Uvarint does. Returns the
// number of bytes read (> 0), or 0 if the input is truncated or the value
// overflows 64 bits.
int DecodeUvarint(const uint8_t* p, size_t len, uint64_t* v);
int DecodeVarint(const uint8_t* p, size_t len, int64_t* v);

// Appending encoders for building buffers.
void AppendBE16(std::string* dst, uint16_t v);
void AppendBE32(std::string* dst, uint32_t v);
void AppendBE64(std::string* dst, uint64_t v);
void AppendUvarint(std::string* dst, uint64_t v);
void AppendVarint(std::string* dst, int64_t v);
// uvarint length followed by the bytes (Prometheus's "ustr").
void AppendUvarintStr(std::string* dst, std::string_view s);

// Bounds-checked decoder over a borrowed byte range with a sticky error:
// after the first failure every read returns 0 / empty and status() says
// what failed and at which offset.
class Decbuf {
 public:
  Decbuf(const uint8_t* data, size_t len)
      : begin_(data), p_(data), end_(data + len) {}
  explicit Decbuf(std::string_view s)
      : Decbuf(reinterpret_cast<const uint8_t*>(s.data()), s.size()) {}

  uint8_t Byte();
  uint16_t BE16();
  uint32_t BE32();
  uint64_t BE64();
  uint64_t Uvarint();
  int64_t Varint();
  // uvarint length + bytes; the view borrows the underlying buffer.
  std::string_view UvarintStr();
  // Next n bytes, borrowed.
  std::string_view Bytes(size_t n);
  void Skip(size_t n);

  size_t Remaining() const { return static_cast<size_t>(end_ - p_); }
  size_t Offset() const { return static_cast<size_t>(p_ - begin_); }
  const uint8_t* Position() const { return p_; }
  bool ok() const { return status_.ok(); }
  const absl::Status& status() const { return status_; }

 private:
  bool Need(size_t n, const char* what);

  const uint8_t* begin_;
  const uint8_t* p_;
  const uint8_t* end_;
  absl::Status status_;
};

}  // namespace tsdb

#endif  // TSDB_BASE_CODING_H_
