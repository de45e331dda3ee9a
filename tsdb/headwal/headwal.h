// Wiring of the head block (tsdb/head) to the write-ahead log (tsdb/wal):
// every committed sample is logged before it becomes visible, and a WAL
// directory is replayed into a fresh head at start-up.
//
//   std::unique_ptr<wal::Wal> wal = ...;            // e.g. plugins/wal/*
//   headwal::WalCommitLog log(wal.get());
//   head::HeadOptions opts;  opts.codecs = &codecs;  opts.commit_log = &log;
//   TSDB_ASSIGN_OR_RETURN(auto head, head::Head::Open(opts));
//   TSDB_ASSIGN_OR_RETURN(headwal::ReplayResult r,
//                         headwal::ReplayIntoHead(head.get(), fs, dir, 2, {}));
//
// Replay order matters: replay into the head BEFORE the first append (the
// replayed samples must precede new ones, and new refs must continue above
// the replayed ones). Replay appenders never call the CommitLog, so replaying
// into a head that logs to the same WAL does not duplicate records.
//
// Semantics follow Prometheus 2.42's Head.loadWAL (see tsdb/docs/head.md,
// "WAL wiring and replay"): out-of-order and duplicate-timestamp samples are
// skipped and counted; a duplicate series record drops the samples (and
// m-mapped chunks) replayed so far for that series and gives it the chunks
// m-mapped under the duplicate's ref; tombstone records are returned in
// ReplayResult::tombstones_read for the caller (the DB) to apply. A
// corrupt WAL is repaired by OpenHeadFromDir's WalRepairFn after the replay
// (Prometheus replays first and repairs only then).
#ifndef TSDB_HEADWAL_HEADWAL_H_
#define TSDB_HEADWAL_HEADWAL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/chunks/head_chunks.h"
#include "tsdb/chunks/mapped_chunks_loader.h"
#include "tsdb/head/head.h"
#include "tsdb/head/options.h"
#include "tsdb/headwal/chunk_snapshot.h"
#include "tsdb/io/file_system.h"
#include "tsdb/record/record.h"
#include "tsdb/wal/reader.h"
#include "tsdb/wal/wal.h"

namespace tsdb::headwal {

// head::CommitLog over a wal::Wal: each batch becomes at most two records,
// one Series record (the new series) and one Samples record, in that order,
// written by one Wal::Log call (so they are contiguous in the log). Empty
// parts are not written; an empty batch writes nothing.
//
// Ownership: does not own `wal`, which must outlive it.
// Thread safety: Log may be called from several threads at once (the Wal
// serialises writes; encoding uses per-call buffers).
class WalCommitLog final : public head::CommitLog {
 public:
  explicit WalCommitLog(wal::Wal* wal) : wal_(wal) {}

  // Points the log at `wal` (e.g. a WAL opened after OpenHeadFromDir
  // repaired it). REQUIRES: no Log call runs or has run without a Wal.
  void set_wal(wal::Wal* wal) { wal_ = wal; }

  // Encodes and logs the batch. The Wal's error (e.g. a failed write) is
  // returned unchanged, and the head then makes nothing of the batch
  // visible.
  [[nodiscard]] absl::Status Log(
      const std::vector<head::SeriesRecord>& new_series,
      const std::vector<head::SampleRecord>& samples) override;

  // Logs one Tombstones record (tsdb/record) of `stones` (one row per
  // interval, as Prometheus's Head.Delete writes before applying them);
  // nothing for an empty list. The Wal's error is returned unchanged.
  [[nodiscard]] absl::Status LogTombstones(
      const std::vector<record::Stone>& stones);

 private:
  wal::Wal* wal_;
};

struct ReplayResult {
  int64_t series = 0;            // series created in the head
  int64_t duplicate_series = 0;  // series records mapped onto earlier refs
  int64_t samples = 0;           // samples appended to the head
  int64_t skipped_samples = 0;   // out of order / duplicate timestamp
  int64_t too_old_samples = 0;   // before min_valid_time, dropped
  int64_t unknown_ref_samples = 0;
  int64_t tombstones = 0;  // intervals read from Tombstones records
  // The intervals to apply (Prometheus's head tombstones), in log order:
  // refs mapped through duplicate series records like samples; intervals
  // ending before min_valid_time dropped; those of refs the head does not
  // hold dropped and counted in unknown_ref_tombstones.
  std::vector<record::Stone> tombstones_read;
  int64_t unknown_ref_tombstones = 0;
  int checkpoint = -1;  // checkpoint.N replayed, -1 if none
  int first_segment = -1, last_segment = -1;
  int segments = 0;  // WAL segments replayed
  int64_t max_series_ref = 0;
  double seconds = 0;  // wall time of the replay
  // With m-mapped chunks (ReplayIntoHeadWithMappedChunks):
  int64_t mapped_chunks_attached = 0;   // chunks attached to created series
  int64_t mapped_series = 0;            // series that got m-mapped chunks
  int64_t orphan_mapped_chunks = 0;     // of series no Series record named
  int64_t mmapped_skipped_samples = 0;  // WAL samples already in a chunk
  // Internal to OpenHeadFromDir (the public replays return `corruption` as
  // their error): where the WAL stopped being readable.
  absl::Status corruption;
  std::optional<wal::Corruption> corrupt_at;
  bool corruption_in_checkpoint = false;
};

// Replays the WAL in `wal_dir` (checkpoint + segments, tsdb/wal/replay.h)
// into `head` with `workers` (>= 1) sample threads, each with its own replay
// appender. A missing or empty directory replays nothing (OK). Afterwards
// the head hands out series refs above the highest replayed ref. Progress
// lines go to `log` (null: wal::LogToStderr). The WAL is only read.
// Samples older than `min_valid_time` are dropped (Prometheus's
// Head.Init(minValidTime): a read-only open passes the last block's max
// time, so that samples already in blocks are not loaded twice).
//
// Errors: DataLoss for a corrupt WAL (what came before the corruption stays
// in the head; open the WAL with repair and replay again into a fresh head),
// AlreadyExists if a series record's ref is taken by another label set in
// `head`, FailedPrecondition if its label set already exists in `head`
// under another ref (replay into a non-empty head), and any other head
// error.
// REQUIRES: nothing appends to or reads `head` during the replay (it bulk
// loads the head's inverted index: Head::BeginBulkLoad).
absl::StatusOr<ReplayResult> ReplayIntoHead(head::Head* head,
                                            io::FileSystem* fs,
                                            const std::string& wal_dir,
                                            int workers, wal::LogFn log,
                                            int64_t min_valid_time = INT64_MIN);

// ReplayIntoHead with m-mapped head chunks (Prometheus 2.42's Head.Init,
// stage 2 of tsdb/docs/format/head_chunks.md "Wiring"): `mapped` is the
// result of chunks::LoadMappedChunks on the mapper given to `head` as
// HeadOptions::chunk_mapper. When a Series record creates ref R, R's
// m-mapped chunks are attached (Head::AttachMappedChunks); R's samples at
// or before its last m-mapped chunk's max time are skipped (counted in
// mmapped_skipped_samples). A duplicate series record with ref D for the
// series R drops R's chunks, m-mapped ones included, and attaches the
// chunks m-mapped under D instead (Head::ResetSeriesWithMappedChunks, as
// Prometheus 2.42's resetSeriesWithMMappedChunks: they were written after
// the restart that re-created the series); later samples of D (replayed as
// R) up to their max time are skipped. Chunks of refs no Series record
// names are dropped (orphan_mapped_chunks).
// Errors: as ReplayIntoHead, plus FailedPrecondition if `head` has no chunk
// mapper while `mapped` holds chunks.
absl::StatusOr<ReplayResult> ReplayIntoHeadWithMappedChunks(
    head::Head* head, io::FileSystem* fs, const std::string& wal_dir,
    int workers, wal::LogFn log, int64_t min_valid_time,
    const chunks::MappedChunks& mapped);

// What ReplayWblIntoHead did.
struct WblReplayResult {
  int64_t samples = 0;        // inserted into the out-of-order store
  int64_t duplicates = 0;     // timestamp already in the open OOO chunk
  int64_t unknown_refs = 0;   // samples of series the head does not have
  int64_t mmap_markers = 0;   // MmapMarkers rows (type 5), not needed here
  int64_t other_records = 0;  // any other record type (skipped)
  int first_segment = -1, last_segment = -1;
  double seconds = 0;
};

// Replays the write-behind log in `wbl_dir` (Prometheus 2.39+'s `wbl/`: a
// WAL-format directory of Samples records of out-of-order samples, plus
// MmapMarkers records) into the head's out-of-order store
// (Head::ReplayOooSamples), after the WAL replay created the series
// (Prometheus's loadWBL). MmapMarkers only say where Prometheus m-mapped an
// OOO chunk; the samples of every such chunk are in the WBL before the
// marker (the WBL is only truncated after OOO compaction), so replaying all
// Samples records restores every out-of-order sample and the markers are
// skipped (the OOO chunks in chunks_head are not needed). A missing or
// empty directory replays nothing. DataLoss on a corrupt WBL (what precedes
// the damage stays in the head). REQUIRES: nothing appends meanwhile.
absl::StatusOr<WblReplayResult> ReplayWblIntoHead(head::Head* head,
                                                  io::FileSystem* fs,
                                                  const std::string& wbl_dir,
                                                  wal::LogFn log = nullptr);

// After out-of-order compaction (head.h, FreezeOoo "WBL protocol"): deletes
// the segments of `wbl_dir` with an index below `first_kept` (the index
// NextSegment returned before FreezeOoo). Returns how many were deleted.
absl::StatusOr<int> DeleteWblSegmentsBefore(io::FileSystem* fs,
                                            const std::string& wbl_dir,
                                            int first_kept);

// What OpenHeadFromDir did at start-up.
struct StartupResult {
  chunks::HeadChunkScanResult scan;   // chunks_head scan; see `corruption`
  uint64_t mapped_too_old = 0;        // chunks before min_valid_time
  uint64_t mapped_out_of_order = 0;   // OOO chunks (0x81), not supported
  bool mapped_discarded_all = false;  // out-of-sequence chunk: files deleted
  std::string discard_reason;
  double load_seconds = 0;  // opening and scanning chunks_head
  ReplayResult replay;      // the WAL replay (its seconds excluded above)
  // The replay hit corruption (replay.corruption, replay.corrupt_at) and the
  // WalRepairFn cut the WAL there.
  bool wal_repaired = false;
  WblReplayResult wbl;  // `<dir>/wbl` replay (none: all zero)
  // use_chunk_snapshot: what loading the snapshot did (snapshot.loaded:
  // the WAL was replayed from its position; its tombstones come first in
  // replay.tombstones_read). snapshot_error: a snapshot that could not be
  // restored into the head (the start-up then ran again without it).
  SnapshotLoadResult snapshot;
  std::string snapshot_error;
};

// A head with its chunk mapper. Destroy the head first (member order).
struct OpenedHead {
  std::unique_ptr<chunks::ChunkDiskMapper> mapper;
  std::unique_ptr<head::Head> head;
  StartupResult startup;
};

// Cuts the WAL in `wal_dir` at `at` (the damaged segment keeps its first
// `at.good_end` bytes, later segments are deleted), e.g.
//   [&](const std::string& d, const wal::Corruption& at) {
//     wal::WalOptions o;  o.fs = fs;  o.dir = d;
//     return plugins::RepairSegmentedWalAt(o, at).status();
//   }
// Passed in because tsdb/ does not depend on plugins/.
using WalRepairFn = std::function<absl::Status(const std::string& wal_dir,
                                               const wal::Corruption& at)>;

// Staged start-up of a head from a data directory, as Prometheus 2.42:
//  1. opens the chunk mapper on `<dir>/chunks_head` (created if missing);
//  2. opens the head with `opts` and HeadOptions::chunk_mapper = the mapper
//     (so cut chunks of the replay and after go to disk);
//  3. chunks::LoadMappedChunks: scans the files, deletes a damaged tail
//     (reported in startup.scan; the WAL still has those samples) and
//     collects the chunks per series;
//  3b. with `use_chunk_snapshot` (Prometheus's memory snapshot on
//     shutdown, chunk_snapshot.h): loads the newest `<dir>/chunk_snapshot.N.M`
//     (LoadChunkSnapshot: its series, their open chunks and m-mapped
//     chunks); a corrupt or stale one is logged and ignored;
//  4. replays `<dir>/wal` (ReplayIntoHeadWithMappedChunks), after a loaded
//     snapshot only from its segment N, offset M;
//  5. replays `<dir>/wbl` when present (ReplayWblIntoHead; out-of-order
//     samples, whatever HeadOptions::ooo_time_window says).
// WAL corruption (Prometheus 2.42's DB open): with `repair`, the head keeps
// every record before the corruption, `repair` cuts the WAL there
// (startup.wal_repaired) and start-up goes on; the WAL is read once.
// Without `repair`, or if the corruption is in the checkpoint (fatal in
// Prometheus too), DataLoss. With `repair`, open the WAL for writing only
// AFTER this returns (with repair_on_open off: it is repaired already),
// since repair deletes the segments after the damaged one; a WalCommitLog
// created without a Wal can be pointed at it then (set_wal).
// `opts.commit_log` may point at a WAL opened on `<dir>/wal` (replay
// appenders never log), `opts.ooo_commit_log` at one on `<dir>/wbl`. Close the
// mapper (flushes it) at shutdown, after the last append: `mapper->Close()`.
absl::StatusOr<OpenedHead> OpenHeadFromDir(
    io::FileSystem* fs, const std::string& dir, head::HeadOptions opts,
    int workers, wal::LogFn log, int64_t min_valid_time = INT64_MIN,
    chunks::ChunkDiskMapperOptions mapper_opts = {},
    WalRepairFn repair = nullptr, bool use_chunk_snapshot = false);

}  // namespace tsdb::headwal

#endif  // TSDB_HEADWAL_HEADWAL_H_
