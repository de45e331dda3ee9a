// The XOR chunk codec (encoding byte 1): Prometheus 2.42's Gorilla-style
// float encoding, bit for bit (delta-of-delta timestamps, XOR'd values).
// The format, its quirks and how compatibility is tested are in
// tsdb/docs/format/xor.md.
//
// This plugin's only export is its registration function:
//
//   tsdb::chunkenc::CodecRegistry registry;
//   TSDB_RETURN_IF_ERROR(tsdb::chunkenc::RegisterXorCodec(registry));
//   TSDB_ASSIGN_OR_RETURN(const ChunkCodec* xor_codec, registry.Get(1));
//
// The codec honours every contract in tsdb/chunkenc/chunk.h; in short:
// - Chunks own their bytes; iterators from Chunk::Iterator() keep their own
//   reference to the bytes they saw, so they survive appends and the chunk.
// - Corrupt or truncated bytes end iteration with a DataLoss status; the
//   decoder never reads outside the bytes it was given.
// - A chunk holds at most 65535 samples (the BE16 header); like Prometheus,
//   the appender does not check this (Prometheus cuts chunks at 120-240).
//
// Thread safety: the codec is immutable and shareable; chunks, appenders and
// iterators are not thread-safe.
#ifndef PLUGINS_CHUNKENC_XOR_XOR_H_
#define PLUGINS_CHUNKENC_XOR_XOR_H_

#include <cstdint>

#include "absl/status/status.h"
#include "tsdb/chunkenc/registry.h"

namespace tsdb::chunkenc {

// The encoding byte the XOR codec registers under (Prometheus's EncXOR).
inline constexpr uint8_t kXorEncoding = 1;

// Registers the XOR codec under byte 1. Fails if the byte is taken.
[[nodiscard]] absl::Status RegisterXorCodec(CodecRegistry& registry);

}  // namespace tsdb::chunkenc

#endif  // PLUGINS_CHUNKENC_XOR_XOR_H_
