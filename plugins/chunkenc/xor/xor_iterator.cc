#include "plugins/chunkenc/xor/xor_iterator.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tsdb/base/coding.h"

namespace tsdb::chunkenc::xor_internal {

namespace {

inline int64_t AddWrapping(int64_t t, uint64_t delta) {
  return static_cast<int64_t>(static_cast<uint64_t>(t) + delta);
}

}  // namespace

uint64_t XorIterator::LoadTail(const uint8_t* data, size_t size, size_t p) {
  if (p >= size) return 0;
  if (size >= 8) {
    uint64_t v;
    std::memcpy(&v, data + size - 8, sizeof(v));
    // p > size - 8: drop the bytes before p; zeros come in at the bottom.
    return __builtin_bswap64(v) << (8 * (p - (size - 8)));
  }
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) {
    v = (v << 8) | (p + i < size ? data[p + i] : 0);
  }
  return v;
}

template <bool kChecked>
TSDB_BSTREAM_INLINE uint64_t XorIterator::Peek(const State& s, size_t pos) {
  const size_t p = pos >> 3;
  uint64_t v;
  if (!kChecked || p + 8 <= s.size) [[likely]] {
    std::memcpy(&v, s.data + p, sizeof(v));
    v = __builtin_bswap64(v);
  } else {
    v = LoadTail(s.data, s.size, p);
  }
  return v << (pos & 7);
}

template <bool kChecked>
TSDB_BSTREAM_INLINE uint64_t XorIterator::ReadBits(State& s, unsigned n) {
  uint64_t v;
  if (n <= 57) [[likely]] {
    v = Peek<kChecked>(s, s.pos) >> (64 - n);
  } else {
    // 58..64 bits: the top 32 and the rest from a second load.
    const unsigned lo_bits = n - 32;
    v = (Peek<kChecked>(s, s.pos) >> 32) << lo_bits |
        Peek<kChecked>(s, s.pos + 32) >> (64 - lo_bits);
  }
  s.pos += n;
  return v;
}

XorIterator::XorIterator(const uint8_t* data, size_t size,
                         std::shared_ptr<const uint8_t[]> pin)
    : pin_(std::move(pin)) {
  if (size < 2) {
    error_ = Error::kNoHeader;
    exhausted_ = true;
    return;
  }
  num_total_ = GetBE16(data);
  s_.data = data + 2;
  s_.size = size - 2;
}

absl::Status XorIterator::status() const {
  // A decode error found ahead of the current sample is reported only once
  // the samples before it have been returned.
  if (!exhausted_) return absl::OkStatus();
  switch (error_) {
    case Error::kNone:
      return absl::OkStatus();
    case Error::kNoHeader:
      return absl::DataLossError(
          "XOR chunk: fewer than 2 bytes, no sample count header");
    case Error::kEndOfData:
      return absl::DataLossError(
          absl::StrCat("XOR chunk: unexpected end of data decoding sample ",
                       s_.num_read, " of ", num_total_, " (", s_.size,
                       " bytes of samples after the header)"));
    case Error::kVarint:
      return absl::DataLossError(
          absl::StrCat("XOR chunk: varint overflows 64 bits in sample ",
                       s_.num_read, " of ", num_total_));
    case Error::kWindow:
      return absl::DataLossError(
          absl::StrCat("XOR chunk: value window with ", s_.leading,
                       " leading zeros exceeds 64 bits in sample ", s_.num_read,
                       " of ", num_total_));
  }
  return absl::InternalError("XOR chunk: unknown decoder error");
}

// Errors: bits past the end read as zeros, so a sample's decode ends (or
// stops at a format error) with a check that it stayed within the data; a
// sample cut by the end is kEndOfData even where its zero-padded bits also
// look malformed, as Go reports it.

XorIterator::Error XorIterator::ReadUvarint(State& s, uint64_t* v) {
  // As Go's binary.ReadUvarint: at most 10 bytes, the 10th at most 1.
  uint64_t x = 0;
  unsigned shift = 0;
  for (int i = 0; i < kMaxVarintLen64; ++i) {
    const uint64_t b = ReadBits<true>(s, 8);
    if (b < 0x80) {
      if (i == kMaxVarintLen64 - 1 && b > 1) break;
      *v = x | (b << shift);
      return Error::kNone;
    }
    x |= (b & 0x7Fu) << shift;
    shift += 7;
  }
  return s.pos > s.size * 8 ? Error::kEndOfData : Error::kVarint;
}

XorIterator::Error XorIterator::DecodeHead(State& s) {
  Error e = Error::kNone;
  if (s.num_read == 0) {
    uint64_t zigzag = 0;
    e = ReadUvarint(s, &zigzag);
    if (e == Error::kNone) {
      s.t = ZigZagDecode(zigzag);
      s.vbits = ReadBits<true>(s, 64);
    }
  } else {
    uint64_t delta = 0;
    e = ReadUvarint(s, &delta);
    if (e == Error::kNone) {
      s.tdelta = delta;
      s.t = AddWrapping(s.t, delta);
      e = DecodeValue<true>(s, Peek<true>(s, s.pos));
    }
  }
  if (e == Error::kNone && s.pos > s.size * 8) e = Error::kEndOfData;
  return e;
}

namespace {

// A uvarint of at most 8 bytes at p (8 readable bytes): its length in
// bytes, or 0 if it is longer. The inverted high bits of the bytes mark the
// last byte; the 7-bit groups are then packed pairwise: into 14 bits, 28,
// 56.
inline int ShortUvarint(const uint8_t* p, uint64_t* v) {
  uint64_t x;
  std::memcpy(&x, p, sizeof(x));
  if constexpr (std::endian::native == std::endian::big) {
    x = __builtin_bswap64(x);
  }
  const uint64_t stops = ~x & 0x8080808080808080u;
  if (stops == 0) return 0;
  const int bits = __builtin_ctzll(stops) + 1;  // 8, 16, ..., 64
  x &= 0x7F7F7F7F7F7F7F7Fu >> (64 - bits);
  x = ((x & 0x7F007F007F007F00u) >> 1) | (x & 0x007F007F007F007Fu);
  x = ((x & 0x3FFF00003FFF0000u) >> 2) | (x & 0x00003FFF00003FFFu);
  x = ((x & 0x0FFFFFFF00000000u) >> 4) | (x & 0x000000000FFFFFFFu);
  *v = x;
  return bits / 8;
}

}  // namespace

bool XorIterator::DecodeHeadFast(State& member, int64_t* ts, double* vs) {
  // Sample 0 is a varint (<= 8 bytes here) and 8 value bytes, sample 1 a
  // varint and at most 77 value bits: within the first 40 bytes.
  if (member.size < 40 || member.num_read != 0) return false;
  State s = member;
  uint64_t zigzag, delta;
  const int n0 = ShortUvarint(s.data, &zigzag);
  if (n0 == 0) return false;
  uint64_t v0;
  std::memcpy(&v0, s.data + n0, sizeof(v0));
  v0 = __builtin_bswap64(v0);
  const int n1 = ShortUvarint(s.data + n0 + 8, &delta);
  if (n1 == 0) return false;
  s.t = ZigZagDecode(zigzag);
  s.vbits = v0;
  ts[0] = s.t;
  vs[0] = std::bit_cast<double>(v0);
  s.pos = static_cast<size_t>(n0 + 8 + n1) * 8;
  s.tdelta = delta;
  s.t = AddWrapping(s.t, delta);
  if (DecodeValue<false>(s, Peek<false>(s, s.pos)) != Error::kNone) {
    return false;  // the checked path reports it
  }
  ts[1] = s.t;
  vs[1] = std::bit_cast<double>(s.vbits);
  s.num_read = 2;
  member = s;
  return true;
}

// A sample >= 2. The timestamp first: a prefix of up to four bits picks the
// width of the delta of delta: 0 -> 0, 10 -> 14 bits, 110 -> 17,
// 1110 -> 20, 1111 -> 64.
//
// Branches rather than selects: the bit position is the critical path. With
// a predicted branch it advances by a constant (or by the value window,
// known from earlier samples) and the next loads issue at once; a select on
// the loaded bits would make every sample wait for its load (measured
// 1.5-2x slower). The price is a misprediction on irregular samples (late
// scrapes, a new value window).
TSDB_BSTREAM_INLINE XorIterator::Error XorIterator::DecodeSample(State& s) {
  // One load serves the timestamp (<= 24 bits on the fast paths) and the
  // value's control bits (<= 13).
  uint64_t x = Peek<false>(s, s.pos);
  if (static_cast<int64_t>(x) >= 0) {
    x <<= 1;
    s.pos += 1;
  } else if ((x >> 62) == 0b10) [[likely]] {
    uint64_t bits = (x >> 48) & 0x3FFF;
    // Two's complement in 14 bits with Go's asymmetric range: values above
    // 2^13 are negative.
    if (bits > (uint64_t{1} << 13)) bits -= uint64_t{1} << 14;
    s.tdelta += bits;
    x <<= 16;
    s.pos += 16;
  } else {
    // Leading ones, 2..4.
    const unsigned ones =
        static_cast<unsigned>(__builtin_clzll(~x | (uint64_t{1} << 59)));
    uint64_t bits;
    if (ones < 4) {
      const unsigned width = ones == 2 ? 17 : 20;
      bits = (x << (ones + 1)) >> (64 - width);
      if (bits > (uint64_t{1} << (width - 1))) bits -= uint64_t{1} << width;
      s.pos += ones + 1 + width;
      x <<= ones + 1 + width;
    } else {
      s.pos += 4;
      bits = ReadBits<false>(s, 64);
      x = Peek<false>(s, s.pos);
    }
    s.tdelta += bits;
  }
  s.t = AddWrapping(s.t, s.tdelta);
  return DecodeValue<false>(s, x);
}

// Value of a sample >= 1: 0 -> same value; 10 -> XOR in the current window;
// 11 -> 5 bits leading zeros, 6 bits significant bits (0 means 64), then the
// XOR's significant bits. `x` holds at least 13 valid bits.
template <bool kChecked>
TSDB_BSTREAM_INLINE XorIterator::Error XorIterator::DecodeValue(State& s,
                                                                uint64_t x) {
  if (static_cast<int64_t>(x) >= 0) {
    s.pos += 1;
    return Error::kNone;
  }
  if ((x >> 62) == 0b11) {
    const unsigned leading = static_cast<unsigned>(x >> 57) & 31;
    // 0 significant bits means 64.
    const unsigned sig = ((static_cast<unsigned>(x >> 51) - 1) & 63) + 1;
    s.leading = leading;
    s.pos += 13;
    if (leading + sig > 64) [[unlikely]] {
      return s.pos > s.size * 8 ? Error::kEndOfData : Error::kWindow;
    }
    s.trailing = 64 - leading - sig;
    s.mbits = sig;
  } else {
    s.pos += 2;
  }
  s.vbits ^= ReadBits<kChecked>(s, s.mbits) << s.trailing;
  return Error::kNone;
}

size_t XorIterator::Decode(int64_t* ts, double* vs, size_t n) {
  size_t i = 0;
  if (error_ != Error::kNone) return 0;
  // Samples 0 and 1: a fast path for the usual case, else checked reads.
  if (s_.num_read == 0 && n >= 2 && num_total_ >= 2 &&
      DecodeHeadFast(s_, ts, vs)) {
    i = 2;
  }
  while (i < n && s_.num_read < 2 && s_.num_read < num_total_) {
    if (Error e = DecodeHead(s_); e != Error::kNone) {
      error_ = e;
      return i;
    }
    ++s_.num_read;
    ts[i] = s_.t;
    vs[i] = std::bit_cast<double>(s_.vbits);
    ++i;
  }
  // The hot loop: a local copy of the state, and few live values (the
  // sample count is settled after the loop) so that all fit in registers.
  State s = s_;
  const size_t left = static_cast<size_t>(num_total_ - s.num_read);
  const size_t count = n - i < left ? n - i : left;
  int64_t* t_out = ts + i;
  double* v_out = vs + i;
  int64_t* const t_end = t_out + count;
  Error e = Error::kNone;
  // Unchecked reads on the chunk's bytes while a sample cannot reach past
  // them...
  const size_t fast_end = s.size > kMaxReach ? (s.size - kMaxReach) * 8 : 0;
  while (t_out != t_end && s.pos < fast_end) {
    e = DecodeSample(s);
    if (e != Error::kNone) [[unlikely]]
      break;
    *t_out++ = s.t;
    *v_out++ = std::bit_cast<double>(s.vbits);
  }
  if (t_out != t_end && e == Error::kNone) {
    // ... then the same on a zero-padded copy of the last (at most
    // kMaxReach) bytes, checking that each sample stayed within them. A
    // sample starts at most kMaxReach bytes in and reads below kMaxReach
    // more, so the padding is never overrun.
    const size_t base = s.pos >> 3;
    const size_t rest = s.size - base;
    uint8_t tail[2 * kMaxReach] = {};
    std::memcpy(tail, s.data + base, rest);
    State st = s;
    st.data = tail;
    st.size = rest;
    st.pos -= base * 8;
    const size_t end_bits = rest * 8;
    while (t_out != t_end) {
      e = DecodeSample(st);
      if (e == Error::kNone && st.pos > end_bits) e = Error::kEndOfData;
      if (e != Error::kNone) break;
      *t_out++ = st.t;
      *v_out++ = std::bit_cast<double>(st.vbits);
    }
    s = st;
    s.data = s_.data;
    s.size = s_.size;
    s.pos += base * 8;
  }
  const size_t done = static_cast<size_t>(t_out - (ts + i));
  s.num_read = static_cast<uint16_t>(s.num_read + done);
  s_ = s;
  if (e != Error::kNone) error_ = e;
  return i + done;
}

bool XorIterator::Refill() {
  if (exhausted_) return false;
  const size_t n = Decode(buf_t_, buf_v_, kBufferSize);
  if (n == 0) {
    exhausted_ = true;  // keeps the last sample current for At()
    return false;
  }
  len_ = static_cast<int>(n);
  cur_ = 0;
  return true;
}

bool XorIterator::Next() {
  if (cur_ + 1 < len_) {
    ++cur_;
    return true;
  }
  return Refill();
}

bool XorIterator::Seek(int64_t t) {
  if (exhausted_) return false;
  if (cur_ < 0 && !Next()) return false;
  while (buf_t_[cur_] < t) {
    int i = cur_ + 1;
    while (i < len_ && buf_t_[i] < t) ++i;
    if (i < len_) {
      cur_ = i;
      return true;
    }
    cur_ = len_ - 1;
    if (!Refill()) return false;
  }
  return true;
}

size_t XorIterator::NextBatch(int64_t* ts, double* vs, size_t n) {
  if (exhausted_ || n == 0) return 0;
  // First what the lookahead buffer holds, then straight into the output.
  size_t i = 0;
  if (cur_ + 1 < len_) {
    i = std::min(n, static_cast<size_t>(len_ - cur_ - 1));
    std::memcpy(ts, buf_t_ + cur_ + 1, i * sizeof(int64_t));
    std::memcpy(vs, buf_v_ + cur_ + 1, i * sizeof(double));
    cur_ += static_cast<int>(i);
    if (i == n) return i;
  }
  const size_t got = Decode(ts + i, vs + i, n - i);
  i += got;
  if (got > 0) {
    // The last sample becomes the current one, as if reached by Next.
    buf_t_[0] = ts[i - 1];
    buf_v_[0] = vs[i - 1];
    cur_ = 0;
    len_ = 1;
  }
  if (i < n) exhausted_ = true;
  return i;
}

}  // namespace tsdb::chunkenc::xor_internal
