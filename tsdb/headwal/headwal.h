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
// skipped and counted; a duplicate series record drops the samples replayed
// so far for that series; tombstone records are counted but not applied
// (the head has no tombstones yet).
#ifndef TSDB_HEADWAL_HEADWAL_H_
#define TSDB_HEADWAL_HEADWAL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/chunks/head_chunks.h"
#include "tsdb/chunks/mapped_chunks_loader.h"
#include "tsdb/head/head.h"
#include "tsdb/head/options.h"
#include "tsdb/io/file_system.h"
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

  // Encodes and logs the batch. The Wal's error (e.g. a failed write) is
  // returned unchanged, and the head then makes nothing of the batch
  // visible.
  [[nodiscard]] absl::Status Log(
      const std::vector<head::SeriesRecord>& new_series,
      const std::vector<head::SampleRecord>& samples) override;

 private:
  wal::Wal* const wal_;
};

struct ReplayResult {
  int64_t series = 0;            // series created in the head
  int64_t duplicate_series = 0;  // series records mapped onto earlier refs
  int64_t samples = 0;           // samples appended to the head
  int64_t skipped_samples = 0;   // out of order / duplicate timestamp
  int64_t too_old_samples = 0;   // before min_valid_time, dropped
  int64_t unknown_ref_samples = 0;
  int64_t tombstones = 0;  // read, not applied
  int checkpoint = -1;     // checkpoint.N replayed, -1 if none
  int first_segment = -1, last_segment = -1;
  int segments = 0;  // WAL segments replayed
  int64_t max_series_ref = 0;
  double seconds = 0;  // wall time of the replay
  // With m-mapped chunks (ReplayIntoHeadWithMappedChunks):
  int64_t mapped_chunks_attached = 0;   // chunks attached to created series
  int64_t mapped_series = 0;            // series that got m-mapped chunks
  int64_t orphan_mapped_chunks = 0;     // of series no Series record named
  int64_t mmapped_skipped_samples = 0;  // WAL samples already in a chunk
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
// REQUIRES: nothing appends to `head` during the replay.
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
// mmapped_skipped_samples). A duplicate series record drops the series'
// chunks, m-mapped ones included, and its later samples are all replayed.
// Chunks of refs no Series record names are dropped (orphan_mapped_chunks).
// Errors: as ReplayIntoHead, plus FailedPrecondition if `head` has no chunk
// mapper while `mapped` holds chunks.
absl::StatusOr<ReplayResult> ReplayIntoHeadWithMappedChunks(
    head::Head* head, io::FileSystem* fs, const std::string& wal_dir,
    int workers, wal::LogFn log, int64_t min_valid_time,
    const chunks::MappedChunks& mapped);

// What OpenHeadFromDir did at start-up.
struct StartupResult {
  chunks::HeadChunkScanResult scan;   // chunks_head scan; see `corruption`
  uint64_t mapped_too_old = 0;        // chunks before min_valid_time
  uint64_t mapped_out_of_order = 0;   // OOO chunks (0x81), not supported
  bool mapped_discarded_all = false;  // out-of-sequence chunk: files deleted
  std::string discard_reason;
  double load_seconds = 0;  // opening and scanning chunks_head
  ReplayResult replay;      // the WAL replay (its seconds excluded above)
};

// A head with its chunk mapper. Destroy the head first (member order).
struct OpenedHead {
  std::unique_ptr<chunks::ChunkDiskMapper> mapper;
  std::unique_ptr<head::Head> head;
  StartupResult startup;
};

// Staged start-up of a head from a data directory, as Prometheus 2.42:
//  1. opens the chunk mapper on `<dir>/chunks_head` (created if missing);
//  2. opens the head with `opts` and HeadOptions::chunk_mapper = the mapper
//     (so cut chunks of the replay and after go to disk);
//  3. chunks::LoadMappedChunks: scans the files, deletes a damaged tail
//     (reported in startup.scan; the WAL still has those samples) and
//     collects the chunks per series;
//  4. replays `<dir>/wal` (ReplayIntoHeadWithMappedChunks).
// `opts.commit_log` may point at a WAL opened on `<dir>/wal` (replay
// appenders never log). Close the mapper (flushes it) at shutdown, after
// the last append: `mapper->Close()`.
absl::StatusOr<OpenedHead> OpenHeadFromDir(
    io::FileSystem* fs, const std::string& dir, head::HeadOptions opts,
    int workers, wal::LogFn log, int64_t min_valid_time = INT64_MIN,
    chunks::ChunkDiskMapperOptions mapper_opts = {});

}  // namespace tsdb::headwal

#endif  // TSDB_HEADWAL_HEADWAL_H_
