// Bit streams: the MSB-first bit writer and reader under Prometheus's XOR
// chunk encoding (Go: tsdb/chunkenc/bstream.go).
//
// Bits are packed most significant bit first: WriteBits(0b101, 3) on an
// empty stream yields the byte 0b1010'0000. The unused low bits of the last
// byte are zero.
//
// BitWriter reproduces not only Go's bit content but also its byte length,
// which is part of the on-disk format: Go's writeByte (and therefore every
// writeBits call whose width is a multiple of 8) always leaves a trailing
// byte allocated, so a stream whose last write was byte-sized and ends on a
// byte boundary carries one extra, empty byte. A one-sample XOR chunk is
// 2 + len(varint t) + 8 + 1 bytes because of it. (Prometheus 2.55 changed
// writeByte; 2.42, our target, has the extra byte.)
//
// BitReader is a fast, bounds-checked reader: a 64-bit buffer refilled with
// one unaligned big-endian load while 8 or more bytes remain, byte by byte
// after that. It never reads outside [data, data + size).
//
// Example:
//   BitWriter w;                 // empty stream
//   w.WriteBits(0b101, 3);
//   w.WriteBits(0xABCD, 16);
//   BitReader r(w.data(), w.size());
//   uint64_t v;
//   if (r.ReadBits(3, &v) && r.ReadBits(16, &v)) { ... }
//
// Thread safety: neither class is thread-safe. A BitWriter's buffer is
// reference-counted (shared_data()) so that readers can keep reading the
// bytes they were given while the writer appends: appends never move or
// change bits that were already written (the header rewrite with
// OverwriteByte is the one exception, and it is the caller's business).
#ifndef TSDB_CHUNKENC_BSTREAM_H_
#define TSDB_CHUNKENC_BSTREAM_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

namespace tsdb::chunkenc {

// Forces inlining of the per-bit primitives into decode loops, so that a
// reader kept in a local stays in registers.
#define TSDB_BSTREAM_INLINE inline __attribute__((always_inline))

namespace bstream_internal {

// The low `nbits` (0..64) bits set.
TSDB_BSTREAM_INLINE uint64_t LowMask(int nbits) {
  return nbits >= 64 ? ~uint64_t{0} : (uint64_t{1} << nbits) - 1;
}

inline uint64_t LoadBE64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return __builtin_bswap64(v);
}

inline void StoreBE64(uint8_t* p, uint64_t v) {
  v = __builtin_bswap64(v);
  std::memcpy(p, &v, sizeof(v));
}

}  // namespace bstream_internal

// Appends bits to a growable byte buffer, byte-for-byte as Go's bstream.
//
// State is Go's (stream, count): the bytes, and `count`, the number of
// unused low bits of the last byte (0..8; 8 means the last byte is an empty
// byte that Go's writeByte appended in advance).
class BitWriter final {
 public:
  // An empty stream (no bytes).
  BitWriter();

  // A stream holding a copy of `bytes` whose last byte has `count` unused
  // low bits (0..8), which are cleared. `count` must be 0 if `bytes` is
  // empty. Go's FromData is BitWriter(bytes, 0).
  BitWriter(std::string_view bytes, int count);

  BitWriter(const BitWriter&) = delete;
  BitWriter& operator=(const BitWriter&) = delete;
  BitWriter(BitWriter&&) = default;
  BitWriter& operator=(BitWriter&&) = default;

  // Go's writeBit.
  TSDB_BSTREAM_INLINE void WriteBit(bool bit) {
    EnsureCapacity();
    if (bit)
      buf_[bit_len_ >> 3] |= static_cast<uint8_t>(0x80u >> (bit_len_ & 7));
    ++bit_len_;
    trailing_empty_ = false;
  }

  // Go's writeBits: appends the low `nbits` bits of `value`, most
  // significant first. 0 <= nbits <= 64; bits of `value` above `nbits` are
  // ignored.
  TSDB_BSTREAM_INLINE void WriteBits(uint64_t value, int nbits) {
    WriteBits2(0, 0, value, nbits);
  }

  // Exactly WriteBits(a, na) followed by WriteBits(b, nb), in one store when
  // na + nb <= 57. Since only Go's last call decides whether an empty
  // trailing byte follows, any run of Go calls can be fused into a pair
  // whose second part is the last call.
  TSDB_BSTREAM_INLINE void WriteBits2(uint64_t a, int na, uint64_t b, int nb) {
    const int total = na + nb;
    if (total <= 0) return;
    if (total <= kMaxFastBits) {
      AppendRaw(((a & bstream_internal::LowMask(na)) << nb) |
                    (b & bstream_internal::LowMask(nb)),
                total);
    } else {
      AppendAny(a, na);
      AppendAny(b, nb);
    }
    // Go's writeBits ends with writeBit unless its width is a multiple of 8,
    // and writeByte leaves an empty trailing byte whenever it ends aligned.
    const int last = nb > 0 ? nb : na;
    trailing_empty_ = (last & 7) == 0 && (bit_len_ & 7) == 0;
  }

  // Go's writeByte.
  TSDB_BSTREAM_INLINE void WriteByte(uint8_t byte) { WriteBits(byte, 8); }

  // Overwrites byte `i` (< size()) in place, e.g. a sample-count header.
  void OverwriteByte(size_t i, uint8_t byte) { buf_[i] = byte; }

  // The stream's bytes; valid until the next write.
  const uint8_t* data() const { return buf_.get(); }
  size_t size() const { return (bit_len_ + 7) / 8 + (trailing_empty_ ? 1 : 0); }
  std::string_view bytes() const {
    return std::string_view(reinterpret_cast<const char*>(buf_.get()), size());
  }

  // Bytes allocated for the stream: starts at 120, then grows by an eighth
  // (at least 64 bytes) when a write needs more; always 8 modulo 16.
  size_t capacity() const { return cap_; }

  // Number of bits written (the position of the next bit).
  size_t bit_length() const { return bit_len_; }
  // Go's `count`: unused low bits of the last byte, 0..8.
  int count() const { return static_cast<int>(size() * 8 - bit_len_); }

  // The buffer behind data(), shared: holding it keeps the first size()
  // bytes of now readable and unchanged (except through OverwriteByte) while
  // this writer appends, reallocates or is destroyed.
  std::shared_ptr<const uint8_t[]> shared_data() const { return buf_; }

 private:
  // Widest write done with a single 64-bit store (the current byte may
  // already hold 7 bits).
  static constexpr int kMaxFastBits = 57;
  // Bytes past the current byte that a single write may touch.
  static constexpr size_t kSlack = 8;

  TSDB_BSTREAM_INLINE void EnsureCapacity() {
    if ((bit_len_ >> 3) + kSlack > cap_) Grow();
  }

  // Appends 0..64 bits without touching trailing_empty_.
  TSDB_BSTREAM_INLINE void AppendAny(uint64_t value, int nbits) {
    if (nbits <= 0) return;
    if (nbits <= kMaxFastBits) {
      AppendRaw(value & bstream_internal::LowMask(nbits), nbits);
    } else {
      AppendRaw((value >> 32) & bstream_internal::LowMask(nbits - 32),
                nbits - 32);
      AppendRaw(value & 0xFFFFFFFFu, 32);
    }
  }

  // Appends 1..57 bits; `value` has no bits above `nbits`.
  TSDB_BSTREAM_INLINE void AppendRaw(uint64_t value, int nbits) {
    EnsureCapacity();
    const size_t i = bit_len_ >> 3;
    const unsigned used = bit_len_ & 7;
    // Keep the `used` high bits of the current byte; zero everything after.
    uint64_t acc = uint64_t{static_cast<uint8_t>(buf_[i] & (0xFF00u >> used))}
                   << 56;
    acc |= value << (64 - used - nbits);
    bstream_internal::StoreBE64(&buf_[i], acc);
    bit_len_ += static_cast<size_t>(nbits);
  }

  void Grow();

  // Invariant: bytes at index >= size() (up to cap_) are zero.
  // (32 bytes in all: a head keeps one writer per series.)
  std::shared_ptr<uint8_t[]> buf_;
  size_t bit_len_ = 0;
  // Saturates at 4 GiB (then every write grows the buffer: slow, correct).
  uint32_t cap_ = 0;
  // Go's count == 8: an empty byte follows bit_len_ (which is aligned).
  bool trailing_empty_ = false;
};

// Reads bits MSB-first from borrowed bytes; never reads outside them.
//
// Reads that ask for more bits than remain fail (return false); what a
// failed read consumed is unspecified, so callers treat failure as final.
class BitReader final {
 public:
  BitReader() = default;
  BitReader(const uint8_t* data, size_t size)
      : begin_(data), p_(data), end_(data + size) {}

  // Reads `nbits` (1..64) into the low bits of *v.
  TSDB_BSTREAM_INLINE bool ReadBits(int nbits, uint64_t* v) {
    if (nbits <= kMaxFastBits) {
      if (!Ensure(nbits)) return false;
      *v = buf_ >> (64 - nbits);
      Consume(nbits);
      return true;
    }
    const int hi_bits = nbits - 32;
    if (!Ensure(hi_bits)) return false;
    const uint64_t hi = buf_ >> (64 - hi_bits);
    Consume(hi_bits);
    if (!Ensure(32)) return false;
    *v = (hi << 32) | (buf_ >> 32);
    Consume(32);
    return true;
  }

  TSDB_BSTREAM_INLINE bool ReadBit(bool* bit) {
    if (!Ensure(1)) return false;
    *bit = (buf_ >> 63) != 0;
    Consume(1);
    return true;
  }

  TSDB_BSTREAM_INLINE bool ReadByte(uint8_t* byte) {
    uint64_t v;
    if (!ReadBits(8, &v)) return false;
    *byte = static_cast<uint8_t>(v);
    return true;
  }

  // Makes at least `nbits` (<= 56) bits available to Peek; false if fewer
  // than that remain in the stream (then available() tells how many do).
  TSDB_BSTREAM_INLINE bool Ensure(int nbits) {
    if (avail_ >= static_cast<unsigned>(nbits)) return true;
    Refill();
    return avail_ >= static_cast<unsigned>(nbits);
  }

  // The next 64 bits, MSB first, of which the first available() are stream
  // bits; the rest are zero or stream bits not yet counted. Does not consume.
  uint64_t Peek() const { return buf_; }
  unsigned available() const { return avail_; }

  // Consumes `nbits` (0..available(), < 64) bits.
  TSDB_BSTREAM_INLINE void Consume(int nbits) {
    buf_ <<= nbits;
    avail_ -= static_cast<unsigned>(nbits);
  }

  // Bits consumed so far.
  size_t bit_position() const {
    return static_cast<size_t>(p_ - begin_) * 8 - avail_;
  }
  // Bits not yet consumed.
  size_t bits_remaining() const {
    return static_cast<size_t>(end_ - p_) * 8 + avail_;
  }

 private:
  static constexpr int kMaxFastBits = 56;

  // Tops the buffer up to at least 56 bits, or to everything that remains.
  // REQUIRES: avail_ < 56.
  TSDB_BSTREAM_INLINE void Refill() {
    if (end_ - p_ >= 8) {
      // Loads 8 bytes but counts only whole bytes that fit; the partially
      // counted byte is loaded again (ORing equal bits) next time.
      buf_ |= bstream_internal::LoadBE64(p_) >> avail_;
      p_ += (63 - avail_) >> 3;
      avail_ |= 56;
      return;
    }
    while (avail_ <= 56 && p_ < end_) {
      buf_ |= uint64_t{*p_++} << (56 - avail_);
      avail_ += 8;
    }
  }

  const uint8_t* begin_ = nullptr;
  const uint8_t* p_ = nullptr;
  const uint8_t* end_ = nullptr;
  // Unconsumed bits, next bit in the MSB. Bits below the first avail_ are
  // zero or equal to the stream bits that follow.
  uint64_t buf_ = 0;
  unsigned avail_ = 0;
};

}  // namespace tsdb::chunkenc

#endif  // TSDB_CHUNKENC_BSTREAM_H_
