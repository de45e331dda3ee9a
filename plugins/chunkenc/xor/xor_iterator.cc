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

XorIterator::XorIterator(const uint8_t* data, size_t size,
                         std::shared_ptr<const uint8_t[]> pin)
    : pin_(std::move(pin)) {
  if (size < 2) {
    error_ = Error::kNoHeader;
    exhausted_ = true;
    return;
  }
  num_total_ = GetBE16(data);
  s_.br = BitReader(data + 2, size - 2);
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
      return absl::DataLossError(absl::StrCat(
          "XOR chunk: unexpected end of data decoding sample ", s_.num_read,
          " of ", num_total_, " at bit ", 16 + s_.br.bit_position()));
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

XorIterator::Error XorIterator::ReadUvarint(BitReader& br, uint64_t* v) {
  // As Go's binary.ReadUvarint: at most 10 bytes, the 10th at most 1.
  uint64_t x = 0;
  unsigned shift = 0;
  for (int i = 0; i < kMaxVarintLen64; ++i) {
    uint8_t b;
    if (!br.ReadByte(&b)) return Error::kEndOfData;
    if (b < 0x80) {
      if (i == kMaxVarintLen64 - 1 && b > 1) return Error::kVarint;
      *v = x | (uint64_t{b} << shift);
      return Error::kNone;
    }
    x |= uint64_t{b & 0x7Fu} << shift;
    shift += 7;
  }
  return Error::kVarint;
}

XorIterator::Error XorIterator::DecodeHead(State& s) {
  if (s.num_read == 0) {
    uint64_t zigzag = 0;
    if (Error e = ReadUvarint(s.br, &zigzag); e != Error::kNone) return e;
    uint64_t v = 0;
    if (!s.br.ReadBits(64, &v)) return Error::kEndOfData;
    s.t = ZigZagDecode(zigzag);
    s.vbits = v;
    return Error::kNone;
  }
  uint64_t delta = 0;
  if (Error e = ReadUvarint(s.br, &delta); e != Error::kNone) return e;
  s.tdelta = delta;
  s.t = AddWrapping(s.t, delta);
  return DecodeValue(s);
}

// Timestamp of a sample >= 2: a prefix of up to four bits picks the width of
// the delta of delta: 0 -> 0, 10 -> 14 bits, 110 -> 17, 1110 -> 20,
// 1111 -> 64.
//
// Branches rather than selects: the bit position is the critical path, and
// a predicted branch (regular scrapes make dod 0 the norm) lets the CPU run
// ahead where a select would make every sample wait for the previous one.
TSDB_BSTREAM_INLINE XorIterator::Error XorIterator::DecodeDod(State& s) {
  BitReader& br = s.br;
  br.Ensure(24);  // 4 prefix bits + 20; fewer only at the end of the data
  const uint64_t peek = br.Peek();
  const unsigned avail = br.available();
  if ((peek >> 63) == 0) {
    if (avail < 1) return Error::kEndOfData;
    br.Consume(1);
  } else {
    // Leading ones, at most 4. Bits past `avail` are zero at the end of the
    // data, so a cut prefix shows as too short below.
    const int ones = __builtin_clzll(~peek | (uint64_t{1} << 59));
    uint64_t bits;
    int64_t dod;
    if (ones < 4) {
      static constexpr int kWidth[4] = {0, 14, 17, 20};
      const int width = kWidth[ones];
      const int total = ones + 1 + width;
      if (static_cast<unsigned>(total) > avail) return Error::kEndOfData;
      bits = (peek << (ones + 1)) >> (64 - width);
      br.Consume(total);
      // Two's complement in `width` bits with Go's asymmetric range: values
      // above 2^(width-1) are negative.
      if (bits > (uint64_t{1} << (width - 1))) bits -= uint64_t{1} << width;
      dod = static_cast<int64_t>(bits);
    } else {
      if (avail < 4) return Error::kEndOfData;
      br.Consume(4);
      if (!br.ReadBits(64, &bits)) return Error::kEndOfData;
      dod = static_cast<int64_t>(bits);
    }
    s.tdelta += static_cast<uint64_t>(dod);
  }
  s.t = AddWrapping(s.t, s.tdelta);
  return Error::kNone;
}

// Value of a sample >= 1: 0 -> same value; 10 -> XOR in the current window;
// 11 -> 5 bits leading zeros, 6 bits significant bits (0 means 64), then the
// XOR's significant bits.
TSDB_BSTREAM_INLINE XorIterator::Error XorIterator::DecodeValue(State& s) {
  BitReader& br = s.br;
  br.Ensure(13);
  const uint64_t peek = br.Peek();
  const unsigned avail = br.available();
  if ((peek >> 63) == 0) {
    if (avail < 1) return Error::kEndOfData;
    br.Consume(1);
    return Error::kNone;
  }
  if ((peek >> 62) == 0b11) {
    if (avail < 13) return Error::kEndOfData;
    const unsigned leading = static_cast<unsigned>(peek >> 57) & 31;
    // 0 significant bits means 64.
    const unsigned sig = ((static_cast<unsigned>(peek >> 51) - 1) & 63) + 1;
    s.leading = leading;
    if (leading + sig > 64) return Error::kWindow;
    s.trailing = 64 - leading - sig;
    br.Consume(13);
  } else {
    if (avail < 2) return Error::kEndOfData;
    br.Consume(2);
  }
  const int mbits = static_cast<int>(64 - s.leading - s.trailing);
  uint64_t bits;
  if (!br.ReadBits(mbits, &bits)) return Error::kEndOfData;
  s.vbits ^= bits << s.trailing;
  return Error::kNone;
}

size_t XorIterator::Decode(int64_t* ts, double* vs, size_t n) {
  size_t i = 0;
  if (error_ != Error::kNone) return 0;
  // Samples 0 and 1 on the member state (rare, not worth a fast path).
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
  while (t_out != t_end) {
    e = DecodeDod(s);
    if (e == Error::kNone) e = DecodeValue(s);
    if (e != Error::kNone) break;
    *t_out++ = s.t;
    *v_out++ = std::bit_cast<double>(s.vbits);
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
