// ReplayWalDir: the start-up replay of a WAL directory into a visitor.
//
// Reads the last `checkpoint.N` (all its segments), then WAL segments from
// max(N + 1, first) to the last, and hands the decoded records to a
// ReplayVisitor (the head implements it). Work is split over threads:
//   decoder threads  the log is cut into ranges of pages (records never
//                    span segments, every page starts at a fragment); each
//                    decoder reads + CRC-checks + decompresses + decodes the
//                    records that START in one range (Reader's range mode),
//                    several ranges at once, a bounded window ahead;
//   calling thread   takes the ranges' records strictly in log order,
//                    checks that each range starts where the previous one
//                    stopped, applies series and tombstones, maps refs, and
//                    shards samples by ref % workers;
//   `workers` threads call OnSamples, each for its shard, in log order.
// Any problem in a range (bad framing, CRC, payload, I/O error, or a range
// start that does not continue the previous range) switches to one
// sequential Reader from the end of the last applied range on, so what is
// applied and the Corruption reported are exactly those of a sequential
// read of the whole log.
// A series record that repeats a label set already seen under another ref
// (a restart re-created the series) is NOT passed to OnSeries; its ref is
// mapped onto the first ref, and its samples arrive under the first ref.
// As in Prometheus 2.42 (head_wal.go: "a duplicate series record is only
// possible when the old samples were already compacted into a block"), the
// samples replayed so far for that series are then discarded: the visitor
// gets OnDuplicateSeries(shard, first_ref) on the series' shard, after all
// earlier samples of it and before any later ones.
// Samples of refs no series record introduced are dropped and counted, as
// Prometheus counts "unknown series references". Types the head does not
// replay (metadata, exemplars, histograms, unknown) are skipped and counted.
// Progress is logged once per segment ("WAL segment loaded segment=3
// maxSegment=7"), to ReplayOptions::log.
//
// Errors: the first error of a visitor callback stops the replay and is
// returned. A corrupt segment (bad framing, CRC, or a record payload that
// does not decode) returns DataLoss naming segment and offset after
// everything before it was applied (callers then repair; see
// plugins/wal/segmented). With ReplayOptions::corruption_in_stats the
// replay instead returns OK with ReplayStats::corruption set and the other
// stats filled in (Prometheus 2.42 replays first and repairs only then).
// Thread safety: OnSeries and OnTombstones run on the calling thread;
// OnSamples(shard, ...) runs on worker threads concurrently with each other
// and with OnSeries/OnTombstones for later records. Every OnSeries call
// happens-before the OnSamples calls for samples of those series.
// A visitor whose SeriesOnShards() is true gets OnShardSeries(shard, ...)
// on the workers instead of OnSeries: the new series of ref r on shard
// r % workers, in log order with that shard's samples (so still before
// them). Creating the series is then spread over the workers instead of
// being serial work of the calling thread. OnTombstones still sees every
// series of the records before it (the driver waits for the workers).
#ifndef TSDB_WAL_REPLAY_H_
#define TSDB_WAL_REPLAY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "tsdb/io/file_system.h"
#include "tsdb/record/record.h"
#include "tsdb/wal/reader.h"
#include "tsdb/wal/wal.h"

namespace tsdb::wal {

class ReplayVisitor {
 public:
  virtual ~ReplayVisitor() = default;
  [[nodiscard]] virtual absl::Status OnSeries(
      const std::vector<record::RefSeries>& series) = 0;
  // True: new series go to OnShardSeries on the workers (see above).
  virtual bool SeriesOnShards() const { return false; }
  // The new series of one record whose ref % workers is `shard`. Runs on
  // `shard`'s worker, concurrently with the other shards' calls.
  [[nodiscard]] virtual absl::Status OnShardSeries(
      int shard, const std::vector<record::RefSeries>& series) {
    (void)shard;
    return OnSeries(series);
  }
  // `shard` is in [0, ReplayOptions::workers); all samples of one ref go to
  // one shard.
  [[nodiscard]] virtual absl::Status OnSamples(
      int shard, absl::Span<const record::RefSample> samples) = 0;
  [[nodiscard]] virtual absl::Status OnTombstones(
      const std::vector<record::Stone>& stones) = 0;
  // A later series record repeated the labels of `ref`: drop the samples
  // (and chunks) replayed so far for `ref`. Runs on `shard`'s worker.
  [[nodiscard]] virtual absl::Status OnDuplicateSeries(int shard,
                                                       uint64_t ref) = 0;
  // What the driver calls for a duplicate series record: as
  // OnDuplicateSeries, also naming the repeated record's own ref `wal_ref`
  // (whose samples now arrive under `ref`; Prometheus 2.42 gives `ref` the
  // m-mapped chunks written under `wal_ref`). The default forwards to
  // OnDuplicateSeries.
  [[nodiscard]] virtual absl::Status OnDuplicateSeriesRecord(int shard,
                                                             uint64_t ref,
                                                             uint64_t wal_ref) {
    (void)wal_ref;
    return OnDuplicateSeries(shard, ref);
  }
};

struct ReplayOptions {
  io::FileSystem* fs = nullptr;  // null: io::PosixFileSystem()
  std::string dir;               // the WAL directory
  int workers = 1;               // sample shards / threads, >= 1
  LogFn log;                     // null: LogToStderr; per-segment progress
  bool log_progress = true;
  // A corrupt WAL ends the replay with OK and ReplayStats::corruption set
  // (instead of a DataLoss error).
  bool corruption_in_stats = false;
  // Resuming after a chunk snapshot (Prometheus 2.42's Head.Init): replay
  // segments from `start_segment` on, the first from byte `start_offset`
  // (a record boundary). The checkpoint is replayed only if its index is
  // >= start_segment (then the segments after it, as without a start).
  // -1: replay from the checkpoint.
  int start_segment = -1;
  uint64_t start_offset = 0;
  // Series that exist before the replay (restored from the snapshot):
  // samples and tombstones may name these refs without a series record.
  std::vector<uint64_t> existing_refs;
  // The ref of an existing series with these labels, or 0 (e.g.
  // Head::GetRef). A series record repeating such labels under another ref
  // is a duplicate of it; under the same ref it is skipped. Optional.
  std::function<uint64_t(const labels::Labels&)> existing_ref_of;
  // Decoding: threads (0: the number of cores, at most 8), bytes per range
  // (0: 128 KiB; rounded up to whole 32 KiB pages), and false to read the
  // whole log with one sequential Reader on the calling thread (tests
  // compare both).
  int decoders = 0;
  uint64_t range_bytes = 0;
  bool parallel_decode = true;
};

struct ReplayStats {
  int checkpoint = -1;  // N of the checkpoint replayed, -1 if none
  int first_segment = -1, last_segment = -1;
  int64_t records = 0;
  int64_t series = 0;            // passed to OnSeries / OnShardSeries
  int64_t duplicate_series = 0;  // mapped onto an earlier ref
  int64_t samples = 0;           // passed to OnSamples
  int64_t unknown_ref_samples = 0;
  int64_t tombstones = 0;
  int64_t max_series_ref = 0;  // the head's next ref starts above this
  std::map<std::string, int64_t> skipped_records;  // by type name
  // With ReplayOptions::corruption_in_stats: OK, or the DataLoss that ended
  // the replay early; then `corrupt_at` says where the log must be cut (the
  // damaged segment and the end of its last record that was applied) and
  // `corruption_in_checkpoint` whether it lies in the checkpoint (which
  // repair cannot fix; Prometheus fails the start-up).
  absl::Status corruption;
  std::optional<Corruption> corrupt_at;
  bool corruption_in_checkpoint = false;
};

absl::StatusOr<ReplayStats> ReplayWalDir(const ReplayOptions& options,
                                         ReplayVisitor* visitor);

}  // namespace tsdb::wal

#endif  // TSDB_WAL_REPLAY_H_
