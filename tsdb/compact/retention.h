// Retention: which blocks Prometheus 2.42 deletes (tsdb/db.go
// deletableBlocks, BeyondTimeRetention, BeyondSizeRetention), as pure
// functions over block metas and sizes.
//
// Blocks are considered newest first: sorted by maxTime descending (stable,
// where Prometheus's sort.Slice is unstable). Then:
//   - every block whose meta says compaction.deletable (left by a
//     compaction whose result was empty, or whose parents were compacted);
//   - time retention (retention_ms > 0): the first block i > 0 with
//     newest.maxTime - block.maxTime > retention_ms, and every block after
//     it. The reference is the newest block's maxTime, not the wall clock;
//     the newest block itself is never deleted by time;
//   - size retention (max_bytes > 0): a running sum that starts at the
//     head's size (WAL + WBL + chunks_head) and adds each block's size;
//     the first block that makes the sum exceed max_bytes, and every block
//     after it (the newest block included, if the head alone nearly fills
//     the budget).
// Only whole blocks are deleted.
//
// Example:
//   RetentionOptions o{.retention_ms = 15 * 24 * kHour};
//   for (const block::Ulid& u : DeletableBlocks(blocks, o)) Delete(u);
//
// Thread safety: pure functions, no shared state.
#ifndef TSDB_COMPACT_RETENTION_H_
#define TSDB_COMPACT_RETENTION_H_

#include <cstdint>
#include <vector>

#include "tsdb/block/meta.h"
#include "tsdb/block/ulid.h"

namespace tsdb::compact {

struct RetentionBlock {
  block::BlockMeta meta;
  // Bytes on disk (block::Block::Size()).
  uint64_t size_bytes = 0;
};

struct RetentionOptions {
  // --storage.tsdb.retention.time in ms; 0 disables time retention.
  int64_t retention_ms = 0;
  // --storage.tsdb.retention.size in bytes; <= 0 disables size retention.
  int64_t max_bytes = 0;
  // Bytes of the head on disk (WAL + WBL + chunks_head), counted first.
  int64_t head_bytes = 0;
};

// Blocks past time retention, newest first. `blocks` in any order.
std::vector<block::Ulid> BeyondTimeRetention(
    const std::vector<RetentionBlock>& blocks, int64_t retention_ms);

// Blocks past size retention, newest first. `blocks` in any order.
std::vector<block::Ulid> BeyondSizeRetention(
    const std::vector<RetentionBlock>& blocks, int64_t head_bytes,
    int64_t max_bytes);

// Everything the DB deletes at a reload: deletable-marked blocks, then time
// and size retention; each ULID once, newest first.
std::vector<block::Ulid> DeletableBlocks(
    const std::vector<RetentionBlock>& blocks, const RetentionOptions& options);

}  // namespace tsdb::compact

#endif  // TSDB_COMPACT_RETENTION_H_
