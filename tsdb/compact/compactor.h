// Block compaction: merges N persistent blocks into one new block, as
// Prometheus 2.42's LeveledCompactor.Compact (tsdb/compact.go).
//
// Chunk-level merge, as Prometheus's populateBlock with its compacting
// chunk-series merger: every parent's index is walked in label order
// (postings of all series) and series with equal labels are merged. Per
// series, each parent's chunks are restricted to [minTime, maxTime-1] of
// the new block (the parents' union; block ranges are half-open), as
// Prometheus does, and to the parent's tombstones:
//   - a chunk wholly deleted (one tombstone interval covers it) or outside
//     the range is dropped;
//   - a chunk that overlaps no other chunk of the series and is untouched
//     by tombstones and the range is copied byte for byte (ReadRaw: no
//     decoding, any encoding);
//   - a chunk partly deleted or trimmed by the range is re-encoded alone
//     from its surviving samples (one chunk, as Prometheus);
//   - a run of chunks that overlap in time (vertical compaction of
//     overlapping blocks, or overlapping chunks within a block) is merged
//     by timestamp -- on equal timestamps the parent listed first wins --
//     and re-encoded into chunks of at most `samples_per_chunk` (120)
//     samples (Prometheus's seriesToChunkEncoderSplit) with the codec for
//     `options.encoding` (XOR) taken from the CodecRegistry.
// Adjacent non-overlapping blocks are therefore compacted without decoding
// a single sample.
//
// The result is written with block::WriteBlock (into
// `<dest>/<ULID>.tmp-for-creation`, fsync, rename), so a crash never leaves
// half a block, only a tmp dir that CleanupTmpDirs() removes at start-up.
// Its meta: minTime/maxTime = union of the parents', level = max(parent
// levels) + 1, sources = sorted union of the parents' sources, parents =
// the direct inputs (ulid, minTime, maxTime) in argument order.
//
// A merge with zero samples writes no block; CompactResult says so and the
// caller should mark the parents deletable (MarkDeletable), as Prometheus
// does. On an error the caller may mark the parents failed
// (MarkCompactionFailed) so that the planner skips them.
//
// Example:
//   std::vector<const block::Block*> parents = ...;   // from Plan()
//   TSDB_ASSIGN_OR_RETURN(CompactResult r,
//       Compact(fs, data_dir, parents, registry.codecs, CompactOptions{}));
//   if (!r.meta) for (auto* p : parents) TSDB_RETURN_IF_ERROR(
//       MarkDeletable(fs, p->dir(), p->meta()));
//
// Ownership: the parents and the registry are borrowed for the call.
// Thread safety: Compact only reads the parents (Blocks are immutable) and
// may run concurrently with queries on them; concurrent Compact calls on
// the same parents are the caller's business (the DB runs one at a time).
#ifndef TSDB_COMPACT_COMPACTOR_H_
#define TSDB_COMPACT_COMPACTOR_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/block/block.h"
#include "tsdb/block/meta.h"
#include "tsdb/block/ulid.h"
#include "tsdb/chunkenc/registry.h"
#include "tsdb/chunks/chunk_file_reader.h"
#include "tsdb/io/file_system.h"

namespace tsdb::compact {

struct CompactOptions {
  // The new block's ULID; Ulid::Now() when unset.
  std::optional<block::Ulid> ulid;
  // Samples per re-encoded chunk (Prometheus's seriesToChunkEncoderSplit).
  int samples_per_chunk = 120;
  // Encoding byte of the re-encoded chunks (1 = XOR).
  uint8_t encoding = 1;
  // Chunk segment size of the new block.
  uint64_t segment_size = chunks::kDefaultSegmentSize;
};

struct CompactResult {
  // The new block's meta; nullopt when the merge held no samples and no
  // block was written (the parents are then deletable).
  std::optional<block::BlockMeta> meta;
  uint64_t num_samples = 0;
  // Chunks copied byte for byte from a parent / written anew (merged
  // overlapping runs, partly deleted or trimmed chunks).
  uint64_t chunks_copied = 0;
  uint64_t chunks_reencoded = 0;
};

// The meta the compaction of `parents` gets (everything but stats), as
// Prometheus's CompactBlockMetas. REQUIRES: !parents.empty().
block::BlockMeta CompactBlockMetas(
    const block::Ulid& ulid, const std::vector<block::BlockMeta>& parents);

// Merges `parents` into one new block in `dest_dir`. InvalidArgument for no
// parents; NotFound if `options.encoding` is not registered; read and write
// errors as they come (no block directory is left behind).
[[nodiscard]] absl::StatusOr<CompactResult> Compact(
    io::FileSystem* fs, const std::string& dest_dir,
    const std::vector<const block::Block*>& parents,
    const chunkenc::CodecRegistry& codecs, const CompactOptions& options);

// Rewrites `<block_dir>/meta.json` with compaction.deletable = true.
[[nodiscard]] absl::Status MarkDeletable(io::FileSystem* fs,
                                         const std::string& block_dir,
                                         block::BlockMeta meta);

// Rewrites `<block_dir>/meta.json` with compaction.failed = true.
[[nodiscard]] absl::Status MarkCompactionFailed(io::FileSystem* fs,
                                                const std::string& block_dir,
                                                block::BlockMeta meta);

// Start-up clean-up (Prometheus's removeBestEffortTmpDirs): removes every
// directory in `data_dir` named `<X>.tmp-for-creation`,
// `<X>.tmp-for-deletion` or `<X>.tmp` where X is a ULID or starts with
// "checkpoint." or "chunk_snapshot.". Files and other names are left alone.
// Returns the names removed.
[[nodiscard]] absl::StatusOr<std::vector<std::string>> CleanupTmpDirs(
    io::FileSystem* fs, const std::string& data_dir);

}  // namespace tsdb::compact

#endif  // TSDB_COMPACT_COMPACTOR_H_
