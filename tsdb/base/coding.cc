#include "tsdb/base/coding.h"

#include "absl/strings/str_cat.h"

namespace tsdb {

int DecodeUvarint(const uint8_t* p, size_t len, uint64_t* v) {
  uint64_t x = 0;
  unsigned shift = 0;
  for (size_t i = 0; i < len && i < static_cast<size_t>(kMaxVarintLen64); ++i) {
    const uint8_t b = p[i];
    if (b < 0x80) {
      // The 10th byte may only contribute the top bit of a 64-bit value.
      if (i == kMaxVarintLen64 - 1 && b > 1) return 0;
      *v = x | (uint64_t{b} << shift);
      return static_cast<int>(i + 1);
    }
    x |= uint64_t{b & 0x7fu} << shift;
    shift += 7;
  }
  return 0;
}

int DecodeVarint(const uint8_t* p, size_t len, int64_t* v) {
  uint64_t u = 0;
  const int n = DecodeUvarint(p, len, &u);
  if (n > 0) *v = ZigZagDecode(u);
  return n;
}

void AppendBE16(std::string* dst, uint16_t v) {
  uint8_t b[2];
  PutBE16(b, v);
  dst->append(reinterpret_cast<const char*>(b), 2);
}
void AppendBE32(std::string* dst, uint32_t v) {
  uint8_t b[4];
  PutBE32(b, v);
  dst->append(reinterpret_cast<const char*>(b), 4);
}
void AppendBE64(std::string* dst, uint64_t v) {
  uint8_t b[8];
  PutBE64(b, v);
  dst->append(reinterpret_cast<const char*>(b), 8);
}
void AppendUvarint(std::string* dst, uint64_t v) {
  uint8_t b[kMaxVarintLen64];
  dst->append(reinterpret_cast<const char*>(b), EncodeUvarint(b, v));
}
void AppendVarint(std::string* dst, int64_t v) {
  AppendUvarint(dst, ZigZagEncode(v));
}
void AppendUvarintStr(std::string* dst, std::string_view s) {
  AppendUvarint(dst, s.size());
  dst->append(s.data(), s.size());
}

bool Decbuf::Need(size_t n, const char* what) {
  if (!status_.ok()) return false;
  if (Remaining() < n) {
    status_ = absl::DataLossError(
        absl::StrCat("unexpected end of data reading ", what, " at offset ",
                     Offset(), ": need ", n, " bytes, have ", Remaining()));
    return false;
  }
  return true;
}

uint8_t Decbuf::Byte() {
  if (!Need(1, "byte")) return 0;
  return *p_++;
}
uint16_t Decbuf::BE16() {
  if (!Need(2, "BE16")) return 0;
  const uint16_t v = GetBE16(p_);
  p_ += 2;
  return v;
}
uint32_t Decbuf::BE32() {
  if (!Need(4, "BE32")) return 0;
  const uint32_t v = GetBE32(p_);
  p_ += 4;
  return v;
}
uint64_t Decbuf::BE64() {
  if (!Need(8, "BE64")) return 0;
  const uint64_t v = GetBE64(p_);
  p_ += 8;
  return v;
}
uint64_t Decbuf::Uvarint() {
  if (!status_.ok()) return 0;
  uint64_t v = 0;
  const int n = DecodeUvarint(p_, Remaining(), &v);
  if (n <= 0) {
    status_ = absl::DataLossError(
        absl::StrCat("invalid or truncated uvarint at offset ", Offset()));
    return 0;
  }
  p_ += n;
  return v;
}
int64_t Decbuf::Varint() { return ZigZagDecode(Uvarint()); }
std::string_view Decbuf::UvarintStr() {
  const uint64_t n = Uvarint();
  if (!status_.ok()) return {};
  if (!Need(n, "string")) return {};
  std::string_view s(reinterpret_cast<const char*>(p_), n);
  p_ += n;
  return s;
}
std::string_view Decbuf::Bytes(size_t n) {
  if (!Need(n, "bytes")) return {};
  std::string_view s(reinterpret_cast<const char*>(p_), n);
  p_ += n;
  return s;
}
void Decbuf::Skip(size_t n) {
  if (Need(n, "skip")) p_ += n;
}

}  // namespace tsdb
