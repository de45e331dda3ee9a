#include "plugins/chunkenc/xor/xor_chunk.h"

#include <algorithm>
#include <bit>
#include <utility>

#include "plugins/chunkenc/xor/xor.h"
#include "plugins/chunkenc/xor/xor_iterator.h"
#include "tsdb/base/coding.h"

namespace tsdb::chunkenc::xor_internal {

namespace {

// Go's bitRange: -(2^(n-1) - 1) <= x <= 2^(n-1). Note the asymmetry.
constexpr bool FitsDod(int64_t x, int nbits) {
  return -((int64_t{1} << (nbits - 1)) - 1) <= x &&
         x <= (int64_t{1} << (nbits - 1));
}

void WriteVarintBytes(BitWriter* w, const uint8_t* bytes, int n) {
  for (int i = 0; i < n; ++i) w->WriteByte(bytes[i]);
}

}  // namespace

// A head holds one open chunk per series: 40 bytes is a 48-byte malloc chunk.
static_assert(sizeof(XorChunk) <= 40);

XorChunk::XorChunk() : stream_(std::string_view("\0\0", 2), 0) {}

XorChunk::XorChunk(BitWriter stream) : stream_(std::move(stream)) {}

uint8_t XorChunk::encoding() const { return kXorEncoding; }

int XorChunk::NumSamples() const { return GetBE16(stream_.data()); }

std::unique_ptr<SampleIterator> XorChunk::Iterator() const {
  return std::make_unique<XorIterator>(stream_.data(), stream_.size(),
                                       stream_.shared_data());
}

absl::StatusOr<std::unique_ptr<ChunkAppender>> XorChunk::Appender() {
  // Like Go: decode everything to learn the state the appender would have
  // had, had it appended all samples itself.
  XorIterator it(stream_.data(), stream_.size(), nullptr);
  while (it.Next()) {
  }
  if (absl::Status s = it.status(); !s.ok()) return s;

  // Resume right after the last sample's bits. Keep Go's empty trailing byte
  // if the bytes have one (then the position is byte-aligned).
  const size_t bits = 16 + it.bit_position();
  size_t size = (bits + 7) / 8;
  int count = static_cast<int>(size * 8 - bits);
  if (count == 0 && stream_.size() > size) {
    ++size;
    count = 8;
  }
  if (size != stream_.size() || count != stream_.count()) {
    // Fresh storage: iterators handed out earlier keep the old bytes.
    stream_ = BitWriter(stream_.bytes().substr(0, size), count);
  }

  if (it.num_total() == 0) {
    return std::make_unique<XorAppender>(&stream_, 0, 0, 0, kNoWindow, 0);
  }
  return std::make_unique<XorAppender>(&stream_, it.At().t, it.value_bits(),
                                       it.t_delta(), it.leading(),
                                       it.trailing());
}

// Samples 0 and 1: varint timestamp (delta), out of the hot path.
uint64_t XorAppender::AppendHead(int64_t t, uint64_t vbits) {
  uint8_t buf[kMaxVarintLen64];
  if (num_ == 0) {
    WriteVarintBytes(stream_, buf, EncodeVarint(buf, t));
    stream_->WriteBits(vbits, 64);
    return 0;
  }
  const uint64_t tdelta = static_cast<uint64_t>(t) - static_cast<uint64_t>(t_);
  WriteVarintBytes(stream_, buf, EncodeUvarint(buf, tdelta));
  WriteValue(vbits, 0, 0);
  return tdelta;
}

void XorAppender::Append(int64_t t, double v) {
  const uint64_t vbits = std::bit_cast<uint64_t>(v);
  uint64_t tdelta;
  if (__builtin_expect(num_ < 2, 0)) {
    tdelta = AppendHead(t, vbits);
  } else {
    // Go's uint64 arithmetic: timestamps may wrap; decoding wraps back.
    tdelta = static_cast<uint64_t>(t) - static_cast<uint64_t>(t_);
    const int64_t dod = static_cast<int64_t>(tdelta - tdelta_);
    const uint64_t udod = static_cast<uint64_t>(dod);
    if (__builtin_expect(FitsDod(dod, 20), 1)) {
      // The delta of delta as prefix + payload bits, picked by table rather
      // than by branches (jittered scrapes make the bucket unpredictable).
      // Go writes prefix and payload with two calls; only the value's last
      // call matters for the stream's length, so all is fused with it.
      static constexpr uint64_t kPrefix[4] = {0, uint64_t{0b10} << 14,
                                              uint64_t{0b110} << 17,
                                              uint64_t{0b1110} << 20};
      static constexpr uint64_t kMask[4] = {0, 0x3FFF, 0x1FFFF, 0xFFFFF};
      static constexpr int kWidth[4] = {1, 16, 20, 24};
      const int bucket = dod == 0 ? 0
                                  : 1 + static_cast<int>(!FitsDod(dod, 14)) +
                                        static_cast<int>(!FitsDod(dod, 17));
      WriteValue(vbits, kPrefix[bucket] | (udod & kMask[bucket]),
                 kWidth[bucket]);
    } else {
      stream_->WriteBits(0b1111, 4);
      stream_->WriteBits(udod, 64);
      WriteValue(vbits, 0, 0);
    }
  }
  t_ = t;
  vbits_ = vbits;
  tdelta_ = tdelta;
  num_ = static_cast<uint16_t>(num_ + 1);  // wraps like Go's
  stream_->OverwriteByte(0, static_cast<uint8_t>(num_ >> 8));
  stream_->OverwriteByte(1, static_cast<uint8_t>(num_));
}

void XorAppender::AppendBatch(const int64_t* t, const double* v, size_t n) {
  for (size_t i = 0; i < n; ++i) XorAppender::Append(t[i], v[i]);
}

// Writes `head` (head_width <= 24 bits, which Go wrote before the value)
// and then the value's XOR against the previous one: 0 if equal; else 10 and
// the XOR in the current window if it fits; else 11, 5 bits of leading zeros,
// 6 bits of significant bits (64 does not fit and is written as 0, which is
// otherwise unused: 0 significant bits means x == 0) and the significant
// bits. The three cases are picked with selects, not branches: for busy
// series they alternate unpredictably.
TSDB_BSTREAM_INLINE void XorAppender::WriteValue(uint64_t vbits, uint64_t head,
                                                 int head_width) {
  const uint64_t x = vbits ^ vbits_;
  const bool nonzero = x != 0;
  // Any non-zero stand-in keeps the bit counts defined when x == 0.
  const uint64_t xs = x | static_cast<uint64_t>(!nonzero);
  // The 5-bit field holds at most 31.
  const int leading = std::min(std::countl_zero(xs), 31);
  const int trailing = std::countr_zero(xs);
  const bool reuse = nonzero && leading_ != kNoWindow && leading >= leading_ &&
                     trailing >= trailing_;
  const bool open = nonzero && !reuse;
  const int sig = 64 - leading - trailing;
  const int window_bits = 64 - leading_ - trailing_;  // meaningful if reuse

  const uint64_t control = open ? (uint64_t{0b11} << 11) |
                                      (static_cast<uint64_t>(leading) << 6) |
                                      static_cast<uint64_t>(sig & 63)
                                : (reuse ? uint64_t{0b10} : 0);
  const int control_bits = open ? 13 : (reuse ? 2 : 1);
  const uint64_t payload = open ? x >> trailing : (reuse ? x >> trailing_ : 0);
  const int payload_bits = open ? sig : (reuse ? window_bits : 0);
  stream_->WriteBits2((head << control_bits) | control,
                      head_width + control_bits, payload, payload_bits);
  if (open) {
    leading_ = static_cast<uint8_t>(leading);
    trailing_ = static_cast<uint8_t>(trailing);
  }
}

}  // namespace tsdb::chunkenc::xor_internal
