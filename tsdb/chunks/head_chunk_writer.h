// HeadChunkWriter: the head's ChunkCutListener that writes every cut chunk
// to `chunks_head` through a ChunkDiskMapper (Prometheus 2.42's
// mmapCurrentHeadChunk) and remembers where it went.
//
//   ChunkDiskMapper* cdm = ...;            // opened and scanned at start-up
//   HeadChunkWriter writer(cdm);
//   head::HeadOptions opts;
//   opts.chunk_cut_listener = &writer;
//   ...
//   TSDB_RETURN_IF_ERROR(writer.status());  // first write error, if any
//   std::optional<MappedChunkMeta> m = writer.Lookup(series, chunk_id);
//
// OnChunkCut is called by the head with the series lock held: it only
// appends the record to the mapper's write buffer (a flush of a full 4 MiB
// buffer may happen inside, as in Prometheus without its write queue). The
// encoding byte is written as the head gives it. A failed write cannot be
// returned to the head (the hook returns void): the first error is kept in
// status(), the chunk stays in the head's memory and in the WAL, and the
// count of failures is kept.
//
// The head itself writes cut chunks and drops their bytes when given the
// mapper as HeadOptions::chunk_mapper (tsdb/docs/format/head_chunks.md,
// "Wiring"); do not use this listener together with that (every chunk
// would be written twice). It remains for tools and tests that only want a
// copy of the cut chunks.
//
// Ownership: `mapper` must outlive the writer. Thread safety: all methods
// are safe from any thread.
#ifndef TSDB_CHUNKS_HEAD_CHUNK_WRITER_H_
#define TSDB_CHUNKS_HEAD_CHUNK_WRITER_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "tsdb/chunks/head_chunks.h"
#include "tsdb/head/options.h"

namespace tsdb::chunks {

// Where a cut head chunk was written, and what it holds.
struct MappedChunkMeta {
  ChunkDiskMapperRef ref = 0;
  int64_t min_time = 0;
  int64_t max_time = 0;
  int num_samples = 0;
};

class HeadChunkWriter final : public head::ChunkCutListener {
 public:
  explicit HeadChunkWriter(ChunkDiskMapper* mapper) : mapper_(mapper) {}

  void OnChunkCut(const head::CutChunkInfo& chunk) override;

  // The first write error (OK if none).
  absl::Status status() const;
  uint64_t chunks_written() const;
  uint64_t write_failures() const;

  // The written chunk `chunk_id` of series `series`, if any.
  std::optional<MappedChunkMeta> Lookup(uint64_t series,
                                        uint64_t chunk_id) const;

  // Forgets chunks with max_time < mint (call with Head::Truncate and
  // ChunkDiskMapper::Truncate).
  void Forget(int64_t mint);

  // Number of chunks remembered.
  size_t size() const;

 private:
  ChunkDiskMapper* const mapper_;
  mutable std::mutex mu_;
  std::map<std::pair<uint64_t, uint64_t>, MappedChunkMeta> refs_
      ABSL_GUARDED_BY(mu_);
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  uint64_t written_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t failures_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tsdb::chunks

#endif  // TSDB_CHUNKS_HEAD_CHUNK_WRITER_H_
