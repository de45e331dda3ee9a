// Writes the samples of one source (an IndexReader + ChunkReader, e.g. a
// head snapshot) in [mint, maxt) as a persistent block: what Prometheus's
// compactor.Write does for head compaction, snapshots and out-of-order
// compaction.
//
// Per series, chunks are copied byte for byte when every chunk's samples
// lie inside the range, none is touched by a deletion and no two chunks
// overlap; otherwise the series' samples in range (overlaps merged, equal
// timestamps kept once: the chunk listed first wins) are re-encoded into
// chunks of `samples_per_chunk` with the codec for `encoding`.
//
// Example:
//   head::HeadReaders r = head->Readers(mint, maxt - 1, {.isolation = false});
//   RangeWriteOptions o{.mint = mint, .maxt = maxt};
//   TSDB_ASSIGN_OR_RETURN(auto meta, WriteRange(fs, dir, *r.index, *r.chunks,
//                                               codecs, o));
//   if (!meta) { ...nothing in range, no block written... }
//
// Ownership: everything is borrowed for the call. Thread safety: reads the
// source only; safe while it is being appended to.
#ifndef TSDB_DB_RANGE_WRITER_H_
#define TSDB_DB_RANGE_WRITER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tsdb/block/block_writer.h"
#include "tsdb/block/meta.h"
#include "tsdb/block/reader_interface.h"
#include "tsdb/chunkenc/registry.h"
#include "tsdb/io/file_system.h"
#include "tsdb/querier/select.h"

namespace tsdb::db {

struct RangeWriteOptions {
  int64_t mint = 0;  // inclusive
  int64_t maxt = 0;  // exclusive; the block's meta gets exactly [mint, maxt)
  // Deleted intervals per series ref; null: nothing deleted.
  const querier::DeletedIntervalsFn* deleted = nullptr;
  int samples_per_chunk = 120;
  uint8_t encoding = 1;
  // meta.json compaction hints (e.g. "from-out-of-order").
  std::vector<std::string> hints;
  uint64_t segment_size = chunks::kDefaultSegmentSize;
};

struct RangeWriteResult {
  std::optional<block::BlockMeta> meta;  // nullopt: no samples, no block
  uint64_t chunks_copied = 0;
  uint64_t chunks_encoded = 0;
};

absl::StatusOr<RangeWriteResult> WriteRange(
    io::FileSystem* fs, const std::string& dir, const IndexReader& index,
    const ChunkReader& chunks, const chunkenc::CodecRegistry& codecs,
    const RangeWriteOptions& options);

}  // namespace tsdb::db

#endif  // TSDB_DB_RANGE_WRITER_H_
