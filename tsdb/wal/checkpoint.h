// Checkpoint: folds old WAL segments into `checkpoint.N`, as Prometheus 2.42
// (tsdb/wlog/checkpoint.go) does after each head compaction.
//
// Reads the last checkpoint (if any) and segments [from, to] of the WAL in
// `wal_options.dir`, keeps
//   - series records of series for which keep_series(ref) is true,
//   - samples and exemplars with t >= mint,
//   - tombstone intervals with maxt >= mint,
//   - the latest metadata of each kept series (written at the end),
// re-encodes them (in ~1 MiB Log batches) into a new WAL `checkpoint.<to>.tmp`
// opened through `open_wal` with the same options (so the same compression
// and segment size), closes and fsyncs it, renames it to `checkpoint.<to>`,
// then deletes WAL segments <= to and checkpoints older than `to`. Histogram
// records (types 7, 8) and unknown types are dropped and counted, as
// Prometheus drops unknown types. A corrupt input is an error (the head could
// no longer know which series are lost); nothing is deleted then.
//
// The caller must have moved the live WAL past `to` (Wal::NextSegment), so
// that no segment being read is still written.
// Thread safety: one checkpoint per WAL directory at a time.
#ifndef TSDB_WAL_CHECKPOINT_H_
#define TSDB_WAL_CHECKPOINT_H_

#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "tsdb/wal/registry.h"
#include "tsdb/wal/wal.h"

namespace tsdb::wal {

struct CheckpointStats {
  int64_t total_series = 0, dropped_series = 0;
  int64_t total_samples = 0, dropped_samples = 0;
  int64_t total_tombstones = 0, dropped_tombstones = 0;
  int64_t total_exemplars = 0, dropped_exemplars = 0;
  int64_t dropped_other_records = 0;  // histograms and unknown types
  int checkpoint = -1;                // N of the new checkpoint.N
};

// InvalidArgument if `from` leaves a gap after the last checkpoint.
absl::StatusOr<CheckpointStats> Checkpoint(
    const WalOptions& wal_options, const WalFactory& open_wal, int from, int to,
    const std::function<bool(uint64_t ref)>& keep_series, int64_t mint);

}  // namespace tsdb::wal

#endif  // TSDB_WAL_CHECKPOINT_H_
