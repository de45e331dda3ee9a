// Chunk snapshot on shutdown: Prometheus 2.42's memory snapshot
// (`--enable-feature=memory-snapshot-on-shutdown`), written and read in its
// exact format (tsdb/docs/format/chunk_snapshot.md).
//
// At a clean shutdown, after the last append and before the WAL is closed,
// WriteChunkSnapshot writes `<data>/chunk_snapshot.NNNNNN.MMMMMMMMMM` (N:
// the last WAL segment, M: the byte offset up to which it is written), a
// WAL-format directory with one record per series (its labels and its open
// head chunk), then the tombstones. At start-up OpenHeadFromDir (headwal.h,
// `use_chunk_snapshot`) loads the newest snapshot with LoadChunkSnapshot,
// attaches the m-mapped chunks, and replays only the WAL after (N, M): the
// samples of the open chunks are not decoded and re-appended.
//
//   // shutdown (the DB's Close), after the last append. Close the chunk
//   // mapper first (as Prometheus): chunks cut before the snapshot must be
//   // durable, the WAL before the snapshot is not replayed again.
//   TSDB_RETURN_IF_ERROR(mapper->Close());
//   TSDB_ASSIGN_OR_RETURN(SnapshotWriteResult w,
//       WriteChunkSnapshot(*head, fs, "/data", wal.get(), &tombstones,
//                          plugins::OpenSegmentedWal));
//   TSDB_RETURN_IF_ERROR(wal->Close());
//   // start-up:
//   OpenHeadFromDir(fs, "/data", opts, workers, log, mvt, {}, repair,
//                   /*use_chunk_snapshot=*/true);
//
// Ownership: nothing here keeps a pointer after returning.
// Thread safety: the functions may run concurrently on different data
// directories. WriteChunkSnapshot REQUIRES that nothing appends to the head
// or logs to the WAL meanwhile; LoadChunkSnapshot that nothing uses the
// head yet.
#ifndef TSDB_HEADWAL_CHUNK_SNAPSHOT_H_
#define TSDB_HEADWAL_CHUNK_SNAPSHOT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/chunks/mapped_chunks_loader.h"
#include "tsdb/head/head.h"
#include "tsdb/io/file_system.h"
#include "tsdb/record/record.h"
#include "tsdb/tombstones/tombstones.h"
#include "tsdb/wal/wal.h"

namespace tsdb::headwal {

inline constexpr char kChunkSnapshotPrefix[] = "chunk_snapshot.";

// Record types inside a snapshot (the first byte of each record).
inline constexpr uint8_t kSnapshotSeriesRecord = 1;
inline constexpr uint8_t kSnapshotTombstonesRecord = 2;
inline constexpr uint8_t kSnapshotExemplarsRecord = 3;

// "chunk_snapshot.000012.0000032768".
std::string ChunkSnapshotDirName(int segment, uint64_t offset);

// A snapshot directory and the WAL position it covers.
struct ChunkSnapshotRef {
  std::string dir;  // full path
  int segment = 0;
  uint64_t offset = 0;
};

// The newest snapshot in `data_dir` (largest (segment, offset); names that
// do not parse, `.tmp` ones included, are ignored, as Prometheus's
// LastChunkSnapshot), or nullopt. FailedPrecondition if an entry with the
// prefix and a valid name is not a directory.
absl::StatusOr<std::optional<ChunkSnapshotRef>> LastChunkSnapshot(
    io::FileSystem* fs, const std::string& data_dir);

// Removes the snapshots of `data_dir` older than (segment, offset)
// (Prometheus's DeleteChunkSnapshots); returns how many.
absl::StatusOr<int> DeleteChunkSnapshots(io::FileSystem* fs,
                                         const std::string& data_dir,
                                         int segment, uint64_t offset);

// One series record (type 1), appended to `out`.
void EncodeSnapshotSeries(const head::SnapshotSeries& s, std::string* out);
// Decodes a series record; DataLoss naming what is wrong.
absl::Status DecodeSnapshotSeries(std::string_view rec,
                                  head::SnapshotSeries* out);
// The tombstones record (type 2) of `stones` (any order; intervals of one
// ref are written in the given order).
void EncodeSnapshotTombstones(const std::vector<record::Stone>& stones,
                              std::string* out);
absl::Status DecodeSnapshotTombstones(std::string_view rec,
                                      std::vector<record::Stone>* out);

// What a snapshot directory holds, decoded.
struct DecodedChunkSnapshot {
  std::vector<head::SnapshotSeries> series;
  std::vector<record::Stone> tombstones;
  int64_t exemplar_records = 0;  // read and skipped (no exemplar storage)
};

// Reads and decodes every record of the snapshot directory `dir`. DataLoss
// for a corrupt or truncated snapshot or an unknown record type (as
// Prometheus 2.42, which then replays the whole WAL instead).
absl::StatusOr<DecodedChunkSnapshot> ReadChunkSnapshot(io::FileSystem* fs,
                                                       const std::string& dir);

// ReadChunkSnapshot as a stream: the series go to `on_series` in batches of
// up to `batch` (in file order; the callback may move from the vector and
// returns false to stop early, which is not an error); tombstones and the
// exemplar count land in `rest` (its `series` stays empty). Same errors.
absl::Status StreamChunkSnapshot(
    io::FileSystem* fs, const std::string& dir, size_t batch,
    const std::function<bool(std::vector<head::SnapshotSeries>&)>& on_series,
    DecodedChunkSnapshot* rest);

// Opens a WAL writer in Prometheus 2.42's format on WalOptions::dir, e.g.
// plugins::OpenSegmentedWal (tsdb/ does not depend on plugins/).
using WalOpenFn = std::function<absl::StatusOr<std::unique_ptr<wal::Wal>>(
    const wal::WalOptions&)>;

struct SnapshotWriteResult {
  std::string dir;  // the snapshot written
  int segment = 0;
  uint64_t offset = 0;
  int64_t series = 0;
  int64_t open_chunks = 0;
  int64_t tombstones = 0;  // intervals
  int deleted_snapshots = 0;
  uint64_t bytes = 0;  // size of the snapshot's segments
  double seconds = 0;
};

// Writes a snapshot of `head` (every series and its open chunk) and
// `tombstones` (may be null) into `data_dir`, then deletes older snapshots.
// The WAL position: `wal` is moved to a new segment first (Wal::
// NextSegment: the current one is padded, fsynced and closed), and the
// snapshot names that segment and its final size, a page boundary
// (Prometheus 2.42's reader cannot resume inside a padded page). The
// snapshot is written into `<name>.tmp` with `compression`, fsynced and
// renamed; its segments are written by a WAL from `open_wal`. The WAL
// (`wal->dir()`) must be `<data_dir>/wal` for the start-up to match it. Errors
// leave no `.tmp` directory behind when they can. REQUIRES: called after the
// last append and before wal->Close().
absl::StatusOr<SnapshotWriteResult> WriteChunkSnapshot(
    const head::Head& head, io::FileSystem* fs, const std::string& data_dir,
    wal::Wal* wal, const tombstones::MemTombstones* tombstones,
    const WalOpenFn& open_wal,
    wal::Compression compression = wal::Compression::kSnappy,
    wal::LogFn log = nullptr);

// What LoadChunkSnapshot did.
struct SnapshotLoadResult {
  bool loaded = false;  // false: replay the whole WAL
  std::string dir;
  int segment = -1;  // resume the WAL here
  uint64_t offset = 0;
  int64_t series = 0;
  int64_t open_chunks = 0;          // restored
  int64_t open_chunks_too_old = 0;  // max time < min_valid_time: dropped
  int64_t open_chunks_mapped = 0;   // m-mapped after the snapshot: dropped
  int64_t mapped_chunks_attached = 0;
  int64_t exemplar_records = 0;
  std::vector<record::Stone> tombstones;  // for the DB to apply
  std::vector<uint64_t> refs;             // the series restored
  std::string ignored_reason;             // why a snapshot present was not used
  double read_seconds = 0;  // until the last record was read and decoded
  double seconds = 0;       // in all
};

// Start-up stage of OpenHeadFromDir: loads the newest snapshot of
// `data_dir` into the empty `head`, giving each series its chunks from
// `mapped` (removed from it; the rest are for the WAL replay). One thread
// reads and decodes the snapshot while the caller's thread restores what
// is decoded (Head::RestoreSeries), batch by batch. A snapshot that cannot
// be used is ignored and logged (loaded = false, ignored_reason): one newer
// than the WAL's last segment (then every snapshot is deleted, as
// Prometheus); one older than the WAL's checkpoint. Those leave the head
// untouched. An error return means the head is half restored: a corrupt
// snapshot (DataLoss) found part-way, or one the head rejects (e.g. two
// series with the same labels). Discard the head and start again without
// the snapshot (as Prometheus 2.42, which then replays the whole WAL).
absl::StatusOr<SnapshotLoadResult> LoadChunkSnapshot(
    head::Head* head, io::FileSystem* fs, const std::string& data_dir,
    int64_t min_valid_time, chunks::MappedChunks* mapped, wal::LogFn log);

}  // namespace tsdb::headwal

#endif  // TSDB_HEADWAL_CHUNK_SNAPSHOT_H_
