// Prometheus 2.42 WAL framing constants and helpers (tsdb/wlog/wlog.go).
//
// A segment is a sequence of 32 KiB pages. Each page holds fragments:
//   byte 0   flags: bits 0-2 fragment type, bit 3 (0x08) snappy-compressed
//            record; other bits ignored by 2.42 readers
//   byte 1-2 BE16 length of the fragment data
//   byte 3-6 BE32 CRC32C of the fragment data
//   data
// A record is one kFull fragment or kFirst, kMiddle*, kLast. A type-0 byte
// means the rest of the page is zero padding. Fragments never cross pages and
// records never cross segments.
//
// Thread safety: constants and pure functions only.
#ifndef TSDB_WAL_FRAMING_H_
#define TSDB_WAL_FRAMING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tsdb/io/file_system.h"
#include "tsdb/wal/wal.h"

namespace tsdb::wal {

inline constexpr uint64_t kFragmentHeaderSize = 7;
inline constexpr uint8_t kTypeMask = 0x07;
inline constexpr uint8_t kSnappyFlag = 0x08;

enum FragmentType : uint8_t {
  kPagePadding = 0,
  kFull = 1,
  kFirst = 2,
  kMiddle = 3,
  kLast = 4,
};

// "00000012": the file name of segment 12.
inline std::string SegmentName(int index) {
  return absl::StrFormat("%08d", index);
}
// "checkpoint.00000012".
inline std::string CheckpointName(int index) {
  return absl::StrFormat("checkpoint.%08d", index);
}

// Indexes of the segment files in `dir` (names of only decimal digits),
// ascending. DataLoss if they are not consecutive ("segments are not
// sequential", as Prometheus). An empty or missing dir gives an empty list.
absl::StatusOr<std::vector<int>> ListSegments(io::FileSystem* fs,
                                              const std::string& dir);

// The newest `checkpoint.N` directory in `dir` (ignoring `checkpoint.N.tmp`):
// its index, or -1 if there is none.
absl::StatusOr<int> LastCheckpoint(io::FileSystem* fs, const std::string& dir);

// Indexes of all `checkpoint.N` directories in `dir`, ascending.
absl::StatusOr<std::vector<int>> ListCheckpoints(io::FileSystem* fs,
                                                 const std::string& dir);

}  // namespace tsdb::wal

#endif  // TSDB_WAL_FRAMING_H_
