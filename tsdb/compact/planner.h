// Compaction planning, as Prometheus 2.42's LeveledCompactor.plan
// (tsdb/compact.go), as pure functions over block metas.
//
// Plan() picks the blocks the next compaction should merge into one:
//   1. Overlapping blocks (sorted by minTime, the first run whose minTime is
//      below the running max of maxTime): a vertical compaction group. Only
//      when `allow_overlapping` (Prometheus always allows it).
//   2. Otherwise the newest block (largest minTime) is left out -- it gives
//      backups a window of one block range -- and for each range r in
//      ranges[1:] the rest are split into r-aligned groups (SplitByRange);
//      the first group with more than one block whose span is exactly r or
//      whose maxTime <= the minTime of the newest block still considered
//      (the second newest overall) is picked. Groups holding
//      a block marked `compaction.failed` are skipped.
//   3. Otherwise, scanning from the newest (still excluding the newest
//      block) back: a block spanning >= ranges[len/2] with
//      numTombstones / (numSeries + 1) > 0.05 is picked alone; the scan stops
//      at the first block shorter than that, which is picked only if it is
//      entirely deleted (numTombstones > 0 && numTombstones >= numSeries).
//   4. Otherwise nothing.
//
// Example:
//   std::vector<int64_t> ranges = ExponentialBlockRanges(2 * kHour, 3, 3);
//   std::vector<block::Ulid> pick = Plan(metas, ranges);
//   if (!pick.empty()) { ...open those blocks, Compact() them... }
//
// Sorting: Prometheus uses Go's unstable sort.Slice on minTime; we use a
// stable sort, so blocks with equal minTime keep their input order.
//
// Thread safety: pure functions, no shared state.
#ifndef TSDB_COMPACT_PLANNER_H_
#define TSDB_COMPACT_PLANNER_H_

#include <cstdint>
#include <vector>

#include "tsdb/block/meta.h"
#include "tsdb/block/ulid.h"

namespace tsdb::compact {

// {min, min*step, min*step^2, ...}, `steps` entries (Prometheus's
// ExponentialBlockRanges; the DB uses (2h, 10, 3) truncated to the max block
// duration).
std::vector<int64_t> ExponentialBlockRanges(int64_t min_size, int steps,
                                            int step_size);

struct PlanOptions {
  // Prometheus's EnableOverlappingCompaction (always true in Prometheus).
  bool allow_overlapping = true;
};

// The ULIDs of the blocks to compact together, in minTime order; empty when
// nothing is due. `ranges` must not be empty (ranges[0] is the head block
// range). `metas` may be in any order.
std::vector<block::Ulid> Plan(const std::vector<block::BlockMeta>& metas,
                              const std::vector<int64_t>& ranges,
                              const PlanOptions& options = {});

// The helpers Plan() uses, exposed for tests. All take metas sorted by
// minTime.

// The first overlapping run (see step 1); empty if none overlap.
std::vector<block::BlockMeta> SelectOverlapping(
    const std::vector<block::BlockMeta>& sorted);

// Step 2 over `sorted` (the newest block already removed): the group to
// compact, or empty. Empty when ranges has fewer than 2 entries.
std::vector<block::BlockMeta> SelectDirs(
    const std::vector<block::BlockMeta>& sorted,
    const std::vector<int64_t>& ranges);

// Groups consecutive blocks lying within the same tr-aligned window
// [t0, t0+tr] (t0 = floor(minTime / tr) * tr); blocks that do not fit in
// their window are skipped. E.g. [0-10, 10-20, 50-60, 90-100] with tr = 30
// gives [0-10, 10-20], [50-60], [90-100].
std::vector<std::vector<block::BlockMeta>> SplitByRange(
    const std::vector<block::BlockMeta>& sorted, int64_t tr);

}  // namespace tsdb::compact

#endif  // TSDB_COMPACT_PLANNER_H_
