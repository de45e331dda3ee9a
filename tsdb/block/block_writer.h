// BlockWriter: persists series with their encoded chunks as a Prometheus
// 2.42 block directory:
//
//   <dir>/<ULID>/index          index v2 (tsdb/index)
//   <dir>/<ULID>/chunks/000001  chunk segments (tsdb/chunks)
//   <dir>/<ULID>/meta.json      (meta.h)
//   <dir>/<ULID>/tombstones     (tsdb/tombstones; 9 bytes when empty)
//
// Everything is written into `<dir>/<ULID>.tmp-for-creation/`, fsynced, and
// renamed to `<dir>/<ULID>` (then `<dir>` is fsynced), so a crash leaves
// either a whole block or a tmp dir that start-up removes.
//
// The input is any SeriesSource yielding series in strictly increasing label
// order, each with its chunks sorted by time. Chunks are streamed to the
// segment files as they come (one WriteChunks call per series, as
// Prometheus's compactor does); labels and chunk metas are kept in memory
// until the index is written at the end (about 100-200 bytes per series).
// Series without chunks are skipped. Like Prometheus, the symbol table
// always holds the empty string (the head's all-postings key). A source with no
// samples yields FailedPrecondition and no directory (Prometheus writes no
// empty blocks).
//
// Example:
//   VectorSeriesSource src(std::move(series));   // sorted by labels
//   TSDB_ASSIGN_OR_RETURN(BlockMeta meta,
//                         WriteBlock(fs, "/data", src, BlockWriterOptions{}));
//
// Thread safety: WriteBlock may run concurrently for different ULIDs.
#ifndef TSDB_BLOCK_BLOCK_WRITER_H_
#define TSDB_BLOCK_BLOCK_WRITER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/block/meta.h"
#include "tsdb/block/ulid.h"
#include "tsdb/chunks/chunk_file_reader.h"
#include "tsdb/io/file_system.h"
#include "tsdb/labels/labels.h"
#include "tsdb/tombstones/tombstones.h"

namespace tsdb::block {

// One encoded chunk of a series.
struct ChunkData {
  int64_t min_time = 0;  // first sample timestamp
  int64_t max_time = 0;  // last sample timestamp
  uint8_t encoding = 0;  // chunkenc::Encoding byte
  std::string bytes;     // exactly as stored (Chunk::Bytes())
  // Samples in the chunk, for meta.json's numSamples; -1 = read the BE16
  // count every Prometheus encoding (XOR, histogram, float histogram)
  // starts with.
  int32_t num_samples = -1;
};

struct SeriesChunks {
  labels::Labels lset;
  std::vector<ChunkData> chunks;
};

// Yields series in strictly increasing label order.
class SeriesSource {
 public:
  virtual ~SeriesSource() = default;
  // Fills *out with the next series; false at the end or on error.
  virtual bool Next(SeriesChunks* out) = 0;
  // OK unless Next stopped on an error.
  virtual absl::Status status() const = 0;
};

// A SeriesSource over a vector it owns (sorts it by labels first).
class VectorSeriesSource final : public SeriesSource {
 public:
  explicit VectorSeriesSource(std::vector<SeriesChunks> series);
  bool Next(SeriesChunks* out) override;
  absl::Status status() const override { return absl::OkStatus(); }

 private:
  std::vector<SeriesChunks> series_;
  size_t next_ = 0;
};

struct BlockWriterOptions {
  // The block's ULID; a new one (current time) when unset.
  std::optional<Ulid> ulid;
  // meta.json minTime (inclusive) / maxTime (exclusive). Unset: the first
  // chunk's min_time / the last sample's max_time + 1.
  std::optional<int64_t> min_time;
  std::optional<int64_t> max_time;
  // Compaction level (1 for blocks cut from the head), sources (empty: the
  // block itself), parents (omitted when empty), hints.
  int level = 1;
  std::vector<Ulid> sources;
  std::vector<BlockDesc> parents;
  std::vector<std::string> hints;
  // Chunk segment size (Prometheus's 512 MiB default).
  uint64_t segment_size = chunks::kDefaultSegmentSize;
  // Tombstones to store with the block (none when null).
  const tombstones::MemTombstones* tombstones = nullptr;
};

// Writes the block into `dir` and returns its meta (as in meta.json).
absl::StatusOr<BlockMeta> WriteBlock(io::FileSystem* fs, const std::string& dir,
                                     SeriesSource& source,
                                     const BlockWriterOptions& options);

}  // namespace tsdb::block

#endif  // TSDB_BLOCK_BLOCK_WRITER_H_
