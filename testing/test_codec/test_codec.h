// A trivial, uncompressed chunk codec that lives only in testing/: the second
// codec the conformance suite runs over, proving the suite (and the registry
// boundary) is not shaped around XOR.
//
// Format (encoding byte 0x7E, which Prometheus does not use):
//   BE16 sample count, then per sample BE64 timestamp and BE64 value bits.
//
// Chunks own their bytes; Chunk::Iterator() shares them copy-on-write so the
// iterator survives later appends. At most 65535 samples per chunk.
// Thread safety: the codec is immutable; chunks and iterators are not
// thread-safe.
#ifndef TESTING_TEST_CODEC_TEST_CODEC_H_
#define TESTING_TEST_CODEC_TEST_CODEC_H_

#include <cstdint>

#include "absl/status/status.h"
#include "tsdb/chunkenc/registry.h"

namespace tsdb::test_codec {

inline constexpr uint8_t kUncompressedEncoding = 0x7E;

// Registers the uncompressed test codec under 0x7E.
[[nodiscard]] absl::Status RegisterUncompressedTestCodec(
    chunkenc::CodecRegistry& registry);

}  // namespace tsdb::test_codec

#endif  // TESTING_TEST_CODEC_TEST_CODEC_H_
