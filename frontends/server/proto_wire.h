// Protocol-buffer wire format, read and written by hand over byte spans:
// the remote-write hot path walks a WriteRequest without materializing any
// message object (strings are string_views into the decoded body), and
// remote read writes its responses the same way.
//
//   WireReader r(bytes);
//   uint32_t field; WireType type;
//   while (r.NextField(&field, &type)) {
//     if (field == 1 && type == WireType::kLen) {
//       std::string_view sub; if (!r.ReadLen(&sub)) break; ...
//     } else if (!r.Skip(type)) break;
//   }
//   if (!r.ok()) ... r.error() ...
//
// Readers never read outside their span: truncated or malformed input sets a
// sticky error (error() names what and where) and every later call fails.
// Ownership: a WireReader borrows its bytes. Thread safety: plain values.
#ifndef FRONTENDS_SERVER_PROTO_WIRE_H_
#define FRONTENDS_SERVER_PROTO_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace tsdb::server {

enum class WireType : uint8_t {
  kVarint = 0,
  kFixed64 = 1,
  kLen = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

class WireReader {
 public:
  explicit WireReader(std::string_view bytes)
      : p_(reinterpret_cast<const uint8_t*>(bytes.data())),
        end_(p_ + bytes.size()),
        begin_(p_) {}

  bool ok() const { return error_ == nullptr; }
  bool done() const { return p_ == end_; }
  // What went wrong and at which offset; empty while ok().
  std::string error() const {
    if (error_ == nullptr) return "";
    return std::string(error_) + " at byte " + std::to_string(error_offset_);
  }
  // The current position (start of the next field), as a pointer.
  const char* position() const { return reinterpret_cast<const char*>(p_); }

  // Reads the next field's tag. False at the end of the span or on error.
  bool NextField(uint32_t* field, WireType* type) {
    if (p_ == end_ || error_ != nullptr) return false;
    uint64_t tag;
    if (!ReadVarint(&tag)) return false;
    const uint64_t f = tag >> 3;
    const uint8_t t = tag & 7;
    if (f == 0 || f > 0x1FFFFFFF || t > 5) {
      return Fail("invalid field tag");
    }
    *field = static_cast<uint32_t>(f);
    *type = static_cast<WireType>(t);
    return true;
  }

  bool ReadVarint(uint64_t* v) {
    // Fast path: one byte.
    if (p_ < end_ && *p_ < 0x80) {
      *v = *p_++;
      return true;
    }
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return Fail("truncated varint");
      const uint8_t b = *p_++;
      result |= uint64_t{b & 0x7Fu} << shift;
      if (b < 0x80) {
        if (shift == 63 && b > 1) return Fail("varint overflows 64 bits");
        *v = result;
        return true;
      }
    }
    return Fail("varint longer than 10 bytes");
  }

  bool ReadFixed64(uint64_t* v) {
    if (end_ - p_ < 8) return Fail("truncated fixed64");
    std::memcpy(v, p_, 8);  // little-endian host (x86-64, arm64)
    p_ += 8;
    return true;
  }

  bool ReadDouble(double* d) {
    uint64_t bits;
    if (!ReadFixed64(&bits)) return false;
    std::memcpy(d, &bits, 8);
    return true;
  }

  // A length-delimited field's payload (string, bytes, submessage).
  bool ReadLen(std::string_view* out) {
    uint64_t n;
    if (!ReadVarint(&n)) return false;
    if (n > static_cast<uint64_t>(end_ - p_)) {
      return Fail("length-delimited field runs past its message");
    }
    *out = std::string_view(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return true;
  }

  // Skips a field of wire type `type` (groups are rejected: proto3 has none).
  bool Skip(WireType type) {
    switch (type) {
      case WireType::kVarint: {
        uint64_t v;
        return ReadVarint(&v);
      }
      case WireType::kFixed64:
        if (end_ - p_ < 8) return Fail("truncated fixed64");
        p_ += 8;
        return true;
      case WireType::kLen: {
        std::string_view s;
        return ReadLen(&s);
      }
      case WireType::kFixed32:
        if (end_ - p_ < 4) return Fail("truncated fixed32");
        p_ += 4;
        return true;
      default:
        return Fail("unsupported wire type (group)");
    }
  }

  bool Fail(const char* what) {
    if (error_ == nullptr) {
      error_ = what;
      error_offset_ = static_cast<size_t>(p_ - begin_);
    }
    p_ = end_;
    return false;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  const uint8_t* begin_;
  const char* error_ = nullptr;
  size_t error_offset_ = 0;
};

// Appending encoders.
inline void PutVarint(std::string* out, uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}
inline size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
inline void PutTag(std::string* out, uint32_t field, WireType type) {
  PutVarint(out, (uint64_t{field} << 3) | static_cast<uint8_t>(type));
}
inline void PutLenField(std::string* out, uint32_t field,
                        std::string_view bytes) {
  PutTag(out, field, WireType::kLen);
  PutVarint(out, bytes.size());
  out->append(bytes.data(), bytes.size());
}
inline void PutVarintField(std::string* out, uint32_t field, uint64_t v) {
  PutTag(out, field, WireType::kVarint);
  PutVarint(out, v);
}
inline void PutDoubleField(std::string* out, uint32_t field, double d) {
  PutTag(out, field, WireType::kFixed64);
  char buf[8];
  std::memcpy(buf, &d, 8);
  out->append(buf, 8);
}

}  // namespace tsdb::server

#endif  // FRONTENDS_SERVER_PROTO_WIRE_H_
