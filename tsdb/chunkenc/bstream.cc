#include "tsdb/chunkenc/bstream.h"

#include <algorithm>

namespace tsdb::chunkenc {

namespace {
// Go's NewXORChunk starts with capacity 128.
constexpr size_t kInitialCapacity = 128;
}  // namespace

BitWriter::BitWriter() = default;

BitWriter::BitWriter(std::string_view bytes, int count) {
  if (bytes.empty()) return;
  cap_ = std::max(kInitialCapacity, bytes.size() + kSlack);
  buf_ = std::make_shared<uint8_t[]>(cap_);  // zeroed
  std::memcpy(buf_.get(), bytes.data(), bytes.size());
  count = std::clamp(count, 0, 8);
  buf_[bytes.size() - 1] &= static_cast<uint8_t>(0xFFu << count);
  bit_len_ = bytes.size() * 8 - static_cast<size_t>(count);
  trailing_empty_ = count == 8;
}

void BitWriter::Grow() {
  const size_t needed = (bit_len_ >> 3) + kSlack;
  const size_t new_cap = std::max({kInitialCapacity, 2 * cap_, needed});
  std::shared_ptr<uint8_t[]> next = std::make_shared<uint8_t[]>(new_cap);
  if (buf_ != nullptr) std::memcpy(next.get(), buf_.get(), size());
  buf_ = std::move(next);
  cap_ = new_cap;
}

}  // namespace tsdb::chunkenc
