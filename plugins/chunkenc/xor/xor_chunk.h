// Internal to the XOR plugin: the chunk and its appender.
//
// XorChunk owns a BitWriter holding the chunk bytes exactly as Prometheus
// 2.42 holds them in memory (header, samples, and Go's occasional empty
// trailing byte). Iterators share the writer's buffer (BitWriter's
// shared_data()), so they outlive appends and the chunk.
//
// Thread safety: not thread-safe.
#ifndef PLUGINS_CHUNKENC_XOR_XOR_CHUNK_H_
#define PLUGINS_CHUNKENC_XOR_XOR_CHUNK_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "tsdb/base/coding.h"
#include "tsdb/chunkenc/bstream.h"
#include "tsdb/chunkenc/chunk.h"

namespace tsdb::chunkenc::xor_internal {

// The value-window sentinel of a fresh appender: no window yet.
inline constexpr uint8_t kNoWindow = 0xFF;

class XorChunk final : public Chunk {
 public:
  // An empty chunk: the two header bytes, count 0.
  XorChunk();
  // A chunk over `stream`. REQUIRES: stream.size() >= 2.
  explicit XorChunk(BitWriter stream);

  uint8_t encoding() const override;
  std::string_view Bytes() const override { return stream_.bytes(); }
  int NumSamples() const override;
  // Re-opens the way Prometheus does (see XorAppender). On bytes that came
  // from FromBytes, writing resumes at the exact bit after the last sample
  // (Go's FromData would resume at the next byte boundary, which Prometheus
  // never exercises: a snapshot-loaded head chunk is cut on the next
  // append), so the result equals re-opening the original chunk.
  absl::StatusOr<std::unique_ptr<ChunkAppender>> Appender() override;
  std::unique_ptr<SampleIterator> Iterator() const override;

 private:
  BitWriter stream_;
};

// Appends to an XorChunk's stream; the chunk must outlive it.
//
// Prometheus's quirk, kept for byte identity: an appender created on a
// non-empty chunk takes its value window (leading/trailing zeros) from the
// iterator state, which is (0, 0) if no window was ever opened (every XOR
// was 0, or there is only one sample). The next non-zero XOR then "fits" the
// 64-bit window and is written as `10` + 64 bits instead of `11` + a new
// window.
class XorAppender final : public ChunkAppender {
 public:
  XorAppender(BitWriter* stream, int64_t t, uint64_t vbits, uint64_t tdelta,
              uint8_t leading, uint8_t trailing)
      : stream_(stream),
        num_(GetBE16(stream->data())),
        t_(t),
        vbits_(vbits),
        tdelta_(tdelta),
        leading_(leading),
        trailing_(trailing) {}

  void Append(int64_t t, double v) override;
  // The encoding of Append, called directly (no dispatch per sample).
  void AppendBatch(const int64_t* t, const double* v, size_t n) override;

 private:
  // Returns the time delta written.
  __attribute__((noinline)) uint64_t AppendHead(int64_t t, uint64_t vbits);
  void WriteValue(uint64_t vbits, uint64_t head, int head_width);

  BitWriter* stream_;
  // The sample count, as in the header. Go re-reads the header on every
  // append; a copy saves a load that would wait on the header stores.
  uint16_t num_;
  int64_t t_;
  uint64_t vbits_;
  uint64_t tdelta_;
  uint8_t leading_;
  uint8_t trailing_;
};

}  // namespace tsdb::chunkenc::xor_internal

#endif  // PLUGINS_CHUNKENC_XOR_XOR_CHUNK_H_
