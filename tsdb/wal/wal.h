// Wal: the write-ahead log behind the head, as a small interface.
//
// A Wal appends whole records (the payloads of tsdb/record) and makes them
// survive a process crash once Log returns OK (they are handed to the OS;
// Sync or WalOptions::sync_on_log also survive power loss). Records are
// numbered by segment: the log is a directory of files `%08d`, and the head
// truncates it by segment index (see tsdb/wal/checkpoint.h). Implementations
// live in plugins/wal/* and are created by name through WalRegistry
// (tsdb/wal/registry.h); plugins/wal/segmented writes Prometheus 2.42's
// format, plugins/wal/none keeps nothing.
//
// Example:
//   WalOptions opts;
//   opts.dir = "/data/wal";
//   TSDB_ASSIGN_OR_RETURN(std::unique_ptr<Wal> wal,
//                         registry.Open("segmented", opts));
//   TSDB_RETURN_IF_ERROR(wal->Log({series_rec, samples_rec}));
//
// Ownership: the caller owns the Wal; WalOptions::fs must outlive it.
// Thread safety: every method may be called from several threads at once;
// Log calls are serialised, so records of one call are contiguous.
#ifndef TSDB_WAL_WAL_H_
#define TSDB_WAL_WAL_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "tsdb/io/file_system.h"

namespace tsdb::wal {

inline constexpr uint64_t kPageSize = 32 * 1024;
inline constexpr uint64_t kDefaultSegmentSize = 128 * 1024 * 1024;

enum class Compression { kNone, kSnappy };

// Receives one line per event worth a log entry (repair, progress).
using LogFn = std::function<void(std::string_view line)>;

// Writes `line` and a newline to stderr; the default LogFn.
void LogToStderr(std::string_view line);

struct WalOptions {
  // Not owned; null means io::PosixFileSystem().
  io::FileSystem* fs = nullptr;
  // The WAL directory (created if missing).
  std::string dir;
  // Bytes per segment; a multiple of kPageSize.
  uint64_t segment_size = kDefaultSegmentSize;
  // Prometheus 2.42 defaults to snappy (--storage.tsdb.wal-compression).
  Compression compression = Compression::kSnappy;
  // fsync the segment at the end of every Log call.
  bool sync_on_log = false;
  // On open, read every segment and cut the log at the first corruption.
  bool repair_on_open = true;
  // Where repair and progress lines go; null means LogToStderr.
  LogFn log;
};

// Inclusive range of segment indexes; {-1, -1} when there are none.
struct SegmentRange {
  int first = -1;
  int last = -1;
};

class Wal {
 public:
  virtual ~Wal() = default;

  // Appends `records` in order, each as one whole record, and flushes them to
  // the OS (and to disk with sync_on_log). On error the log may hold a prefix
  // of the records; the next open repairs a torn tail.
  [[nodiscard]] virtual absl::Status Log(
      absl::Span<const std::string_view> records) = 0;

  // Makes everything logged so far durable (fsync).
  [[nodiscard]] virtual absl::Status Sync() = 0;

  // The segments present in the directory now.
  virtual absl::StatusOr<SegmentRange> Segments() = 0;

  // Closes the current segment (padded, fsynced) and starts the next one;
  // returns the new segment's index. Checkpointing calls this first so that
  // the segments it folds are no longer written.
  virtual absl::StatusOr<int> NextSegment() = 0;

  // Flushes, fsyncs and closes. Further calls fail with FailedPrecondition.
  [[nodiscard]] virtual absl::Status Close() = 0;

  virtual const std::string& dir() const = 0;
};

}  // namespace tsdb::wal

#endif  // TSDB_WAL_WAL_H_
