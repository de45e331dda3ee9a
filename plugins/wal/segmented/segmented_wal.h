// The segmented WAL: Prometheus 2.42's write-ahead log format.
//
// A directory of segment files `%08d` (128 MiB by default, a multiple of
// 32 KiB), each a sequence of 32 KiB pages of fragments (tsdb/wal/framing.h).
// Mirrors tsdb/wlog/wlog.go byte for byte:
//   - a page with fewer than 7 bytes left is zero-filled before the next
//     fragment; a fragment may have length 0 (exactly 7 bytes left);
//   - a record that does not fit in the rest of the segment starts a new
//     segment (records never span segments; a record bigger than a segment
//     gets an oversized segment of its own);
//   - opening always starts a new segment (last + 1);
//   - with snappy, each whole record is compressed (block format, with
//     golang/snappy's exact output: go_snappy.h) and kept compressed only
//     when strictly shorter; every fragment carries 0x08;
//   - the partly filled page is written (not padded) at the end of every Log
//     call; a segment is padded to a page boundary and fsynced when it is
//     closed (NextSegment, rollover, Close).
// Differences, all invisible to Prometheus's reader: segment rollover fsyncs
// synchronously (Prometheus does it in a goroutine); the directory is
// fsynced after a segment is created; repair truncates the damaged segment
// after its last good record instead of re-logging its records.
//
// Repair on open (WalOptions::repair_on_open): every segment is read; at the
// first corruption (CRC mismatch, torn record, bad fragment type or
// sequence, non-zero padding, bad snappy data) the segment is truncated to
// the end of its last complete record and every later segment is deleted.
// What was dropped (segment, offset, bytes) goes to WalOptions::log.
//
// Errors: a failed write makes the WAL fail every later Log (sticky status);
// reopening repairs the tail.
// Thread safety: all methods are safe from several threads (one mutex).
#ifndef PLUGINS_WAL_SEGMENTED_SEGMENTED_WAL_H_
#define PLUGINS_WAL_SEGMENTED_SEGMENTED_WAL_H_

#include <memory>

#include "absl/status/statusor.h"
#include "tsdb/wal/reader.h"
#include "tsdb/wal/registry.h"
#include "tsdb/wal/wal.h"

namespace tsdb::plugins {

// What repair found and dropped; zero-valued when the log was intact.
struct WalRepairReport {
  bool corrupted = false;
  int segment = -1;            // the damaged segment
  uint64_t offset = 0;         // first bad byte in it
  uint64_t kept_bytes = 0;     // the segment's new size
  uint64_t dropped_bytes = 0;  // bytes cut from it plus later segments
  int deleted_segments = 0;    // later segments removed
};

// Cuts the WAL in `options.dir` at its first corruption (see above) and
// reports what was dropped. Exposed for tools and tests; Open calls it when
// repair_on_open is set.
absl::StatusOr<WalRepairReport> RepairSegmentedWal(
    const wal::WalOptions& options);

// Cuts the WAL in `options.dir` at `at` (as ReplayStats::corrupt_at reports
// it): segment `at.segment` keeps its first `at.good_end` bytes and every
// later segment is deleted (newest first, then the directory is fsynced).
// For corruption the reader does not see, e.g. a well-framed record whose
// payload does not decode (Prometheus's repair cuts at the position in the
// CorruptionErr). InvalidArgument if `at.good_end` is past the segment's
// end.
absl::StatusOr<WalRepairReport> RepairSegmentedWalAt(
    const wal::WalOptions& options, const wal::Corruption& at);

// Opens the WAL in `options.dir`, creating the directory if needed.
// InvalidArgument for a bad segment size.
absl::StatusOr<std::unique_ptr<wal::Wal>> OpenSegmentedWal(
    const wal::WalOptions& options);

// Registers OpenSegmentedWal as "segmented", with RepairSegmentedWalAt as
// its repairer.
[[nodiscard]] absl::Status RegisterSegmentedWal(wal::WalRegistry& registry);

}  // namespace tsdb::plugins

#endif  // PLUGINS_WAL_SEGMENTED_SEGMENTED_WAL_H_
