#include "tsdb/chunkenc/bstream.h"

#include <algorithm>
#include <cstdint>

namespace tsdb::chunkenc {

namespace {
// Go's NewXORChunk starts with 128; 120 takes the same malloc chunk (below).
constexpr size_t kInitialCapacity = 120;
// The smallest growth step.
constexpr size_t kMinGrowth = 64;

// The buffer size to allocate for at least `want` bytes: make_shared puts a
// 16-byte control block before the bytes, and glibc's malloc adds 8 bytes
// and rounds to 16, so sizes of 8 modulo 16 use their malloc chunk fully.
size_t BufferSize(size_t want) { return ((want + 8 + 15) & ~size_t{15}) - 8; }

uint32_t Saturate32(size_t n) {
  return static_cast<uint32_t>(std::min<size_t>(n, UINT32_MAX));
}
}  // namespace

BitWriter::BitWriter() = default;

BitWriter::BitWriter(std::string_view bytes, int count) {
  if (bytes.empty()) return;
  const size_t cap =
      BufferSize(std::max(kInitialCapacity, bytes.size() + kSlack));
  buf_ = std::make_shared<uint8_t[]>(cap);  // zeroed
  cap_ = Saturate32(cap);
  std::memcpy(buf_.get(), bytes.data(), bytes.size());
  count = std::clamp(count, 0, 8);
  buf_[bytes.size() - 1] &= static_cast<uint8_t>(0xFFu << count);
  bit_len_ = bytes.size() * 8 - static_cast<size_t>(count);
  trailing_empty_ = count == 8;
}

void BitWriter::Grow() {
  const size_t needed = (bit_len_ >> 3) + kSlack;
  // Grow by an eighth (at least 64 bytes), not by doubling: a head holds
  // one open chunk per series, and doubling left ~30% of those buffers
  // unused (tsdb/docs/head.md, "Chunk buffers").
  const size_t cap = cap_;
  const size_t step = std::max<size_t>(kMinGrowth, cap / 8);
  const size_t new_cap =
      BufferSize(std::max({kInitialCapacity, cap + step, needed}));
  std::shared_ptr<uint8_t[]> next = std::make_shared<uint8_t[]>(new_cap);
  if (buf_ != nullptr) std::memcpy(next.get(), buf_.get(), size());
  buf_ = std::move(next);
  cap_ = Saturate32(new_cap);
}

}  // namespace tsdb::chunkenc
