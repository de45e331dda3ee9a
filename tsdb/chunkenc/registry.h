// CodecRegistry: the chunk codecs a program knows, keyed by encoding byte.
//
// Filled once at start-up by explicit registration functions that plugins
// export (e.g. plugins/chunkenc/xor: RegisterXorCodec), called from one list
// in frontends/builtin_plugins.cc; tests build a registry holding exactly the
// codecs they need. There are no static registrars.
//
// Thread safety: Register is not thread-safe and must finish before the
// registry is shared; Get and the accessors are safe from any thread after.
#ifndef TSDB_CHUNKENC_REGISTRY_H_
#define TSDB_CHUNKENC_REGISTRY_H_

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/chunkenc/chunk.h"

namespace tsdb::chunkenc {

class CodecRegistry final {
 public:
  CodecRegistry() = default;
  CodecRegistry(const CodecRegistry&) = delete;
  CodecRegistry& operator=(const CodecRegistry&) = delete;

  // Takes ownership. AlreadyExists if the codec's encoding byte is taken;
  // InvalidArgument for a null codec or the reserved byte 0 (none).
  [[nodiscard]] absl::Status Register(std::unique_ptr<ChunkCodec> codec);

  // The codec for `encoding`, or NotFound naming the byte (and the known
  // ones) for an unknown encoding. The pointer lives as long as the registry.
  [[nodiscard]] absl::StatusOr<const ChunkCodec*> Get(uint8_t encoding) const;

  // Registered encoding bytes, ascending.
  std::vector<uint8_t> Encodings() const;

 private:
  std::array<std::unique_ptr<ChunkCodec>, 256> codecs_;
};

}  // namespace tsdb::chunkenc

#endif  // TSDB_CHUNKENC_REGISTRY_H_
