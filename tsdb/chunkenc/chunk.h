// Chunk encodings: the interfaces every sample codec implements.
//
// A chunk is a compressed run of (timestamp, value) samples of one series,
// identified on disk by one `Encoding` byte. The byte values are persisted
// identifiers shared with Prometheus and never change meaning: 0 none,
// 1 XOR, 2 histogram, 3 float histogram. A new codec takes a new byte.
//
// Codecs are plugins (plugins/chunkenc/...). The core finds them through a
// CodecRegistry (registry.h) keyed by the encoding byte and never includes a
// plugin.
//
// Example:
//   TSDB_ASSIGN_OR_RETURN(const ChunkCodec* codec, registry.Get(enc_byte));
//   std::unique_ptr<SampleIterator> it = codec->NewIterator(bytes);
//   while (it->Next()) Use(it->At());
//   TSDB_RETURN_IF_ERROR(it->status());
//
// Thread safety: a ChunkCodec is immutable and may be shared by any number of
// threads. A Chunk, its appender and its iterators are not thread-safe;
// callers synchronize (the head block does).
#ifndef TSDB_CHUNKENC_CHUNK_H_
#define TSDB_CHUNKENC_CHUNK_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tsdb::chunkenc {

// The on-disk encoding byte (Prometheus's chunkenc.Encoding).
enum class Encoding : uint8_t {
  kNone = 0,
  kXOR = 1,
  kHistogram = 2,
  kFloatHistogram = 3,
};

// "none", "XOR", "histogram", "floathistogram" (Prometheus's names), or
// "<unknown encoding N>".
std::string EncodingName(uint8_t encoding);

struct Sample {
  int64_t t;  // milliseconds since the Unix epoch
  double v;
};

// Iterates the samples of one chunk in timestamp order.
//
// Errors (corrupt or truncated bytes) end the iteration: Next/Seek return
// false and status() is non-OK from then on (sticky). A decoder never reads
// outside the bytes it was given.
class SampleIterator {
 public:
  virtual ~SampleIterator() = default;

  // Advances to the next sample. Returns false at the end or on error.
  virtual bool Next() = 0;

  // Advances to the first sample with timestamp >= t. If the current sample
  // (from a previous Next or Seek) already qualifies, it stays there; Seek
  // never moves backwards. Returns false if no such sample exists.
  virtual bool Seek(int64_t t) = 0;

  // The current sample. REQUIRES: the last Next() or Seek() returned true.
  virtual Sample At() const = 0;

  // OK unless iteration stopped on an error.
  virtual absl::Status status() const = 0;

  // Decodes up to `n` following samples into `ts` and `vs` (as if by Next and
  // At) and returns how many were written; fewer than `n` means the end or an
  // error (see status()). Codecs override this for speed.
  virtual size_t NextBatch(int64_t* ts, double* vs, size_t n);
};

// Appends samples to a chunk. Callers validate order (Prometheus rejects out
// of order samples before they reach the chunk); a codec may assume
// timestamps are non-decreasing.
class ChunkAppender {
 public:
  virtual ~ChunkAppender() = default;
  virtual void Append(int64_t t, double v) = 0;
  // Appends (t[i], v[i]) for i < n: the same bytes as n calls of Append (the
  // default makes them). One virtual call per run of samples, for the WAL
  // replay (MemSeries::AppendRun); codecs override it to loop without
  // dispatch.
  virtual void AppendBatch(const int64_t* t, const double* v, size_t n) {
    for (size_t i = 0; i < n; ++i) Append(t[i], v[i]);
  }
};

// A chunk of one encoding. Owns its bytes.
class Chunk {
 public:
  virtual ~Chunk() = default;

  virtual uint8_t encoding() const = 0;

  // The encoded bytes, exactly as stored on disk (without the encoding byte).
  // Valid until the next Append through an appender of this chunk.
  virtual std::string_view Bytes() const = 0;

  virtual int NumSamples() const = 0;

  // Returns an appender that continues this chunk. On a chunk that already
  // holds samples (e.g. loaded with FromBytes) the appender is re-opened the
  // way Prometheus re-opens it, so the bytes stay identical to Prometheus's.
  // At most one appender may be used at a time. Fails on corrupt bytes.
  virtual absl::StatusOr<std::unique_ptr<ChunkAppender>> Appender() = 0;

  // Returns an iterator over the samples present now. It stays valid, and
  // keeps yielding exactly those samples, while more samples are appended to
  // this chunk (single-threaded), and until the chunk is destroyed.
  virtual std::unique_ptr<SampleIterator> Iterator() const = 0;
};

// A codec: one encoding byte's implementation. Registered in a CodecRegistry.
class ChunkCodec {
 public:
  virtual ~ChunkCodec() = default;

  // The encoding byte this codec owns.
  virtual uint8_t encoding() const = 0;
  // A short human-readable name, e.g. "XOR".
  virtual std::string_view name() const = 0;

  // A new, empty chunk.
  virtual std::unique_ptr<Chunk> NewChunk() const = 0;

  // A chunk holding a copy of `data` (bytes read from disk). Validates what
  // can be validated cheaply (e.g. the header); errors deeper in the data
  // surface through the iterator's status().
  virtual absl::StatusOr<std::unique_ptr<Chunk>> FromBytes(
      std::string_view data) const = 0;

  // A zero-copy iterator over borrowed bytes; `data` must outlive it.
  virtual std::unique_ptr<SampleIterator> NewIterator(
      std::string_view data) const = 0;
};

}  // namespace tsdb::chunkenc

#endif  // TSDB_CHUNKENC_CHUNK_H_
