#include "plugins/chunkenc/xor/xor.h"

#include <memory>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "plugins/chunkenc/xor/xor_chunk.h"
#include "plugins/chunkenc/xor/xor_iterator.h"
#include "tsdb/chunkenc/bstream.h"

namespace tsdb::chunkenc {

namespace {

class XorCodec final : public ChunkCodec {
 public:
  uint8_t encoding() const override { return kXorEncoding; }
  std::string_view name() const override { return "XOR"; }

  std::unique_ptr<Chunk> NewChunk() const override {
    return std::make_unique<xor_internal::XorChunk>();
  }

  absl::StatusOr<std::unique_ptr<Chunk>> FromBytes(
      std::string_view data) const override {
    if (data.size() < 2) {
      return absl::DataLossError(
          absl::StrCat("XOR chunk: ", data.size(),
                       " bytes, need at least 2 for the sample count header"));
    }
    // Go's FromData: the bytes, with no unused bits known in the last byte;
    // Appender() finds the exact position by decoding.
    return std::make_unique<xor_internal::XorChunk>(BitWriter(data, 0));
  }

  std::unique_ptr<SampleIterator> NewIterator(
      std::string_view data) const override {
    return std::make_unique<xor_internal::XorIterator>(
        reinterpret_cast<const uint8_t*>(data.data()), data.size(), nullptr);
  }
};

}  // namespace

absl::Status RegisterXorCodec(CodecRegistry& registry) {
  return registry.Register(std::make_unique<XorCodec>());
}

}  // namespace tsdb::chunkenc
