// Tombstones: deletion intervals per series, in memory and in a block's
// `tombstones` file (Prometheus 2.42, tsdb/tombstones/tombstones.go).
//
// File format:
//   BE32 magic 0x0130BA30 | version byte 1 | entries |
//   BE32 CRC32C(entries)            (the CRC excludes magic and version)
//   entry = uvarint series ref, varint mint, varint maxt (one per interval)
// An empty file is 9 bytes. Prometheus writes entries in Go map order
// (random); we write them sorted by ref then mint, and read any order.
// A missing file reads as no tombstones (as Prometheus does).
//
// Intervals are closed [mint, maxt]. AddInterval merges overlapping and
// adjacent intervals (t and t+1 touch), as Prometheus's Intervals.Add.
//
// Thread safety: MemTombstones is safe for concurrent use (std::shared_mutex).
#ifndef TSDB_TOMBSTONES_TOMBSTONES_H_
#define TSDB_TOMBSTONES_TOMBSTONES_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/io/file_system.h"

namespace tsdb::tombstones {

inline constexpr uint32_t kMagicTombstone = 0x0130BA30;
inline constexpr uint8_t kTombstoneFormatV1 = 1;
inline constexpr char kTombstonesFileName[] = "tombstones";

struct Interval {
  int64_t mint = 0;
  int64_t maxt = 0;

  bool InBounds(int64_t t) const { return mint <= t && t <= maxt; }
  friend bool operator==(const Interval& a, const Interval& b) {
    return a.mint == b.mint && a.maxt == b.maxt;
  }
};

// Sorted, non-overlapping, non-adjacent intervals.
using Intervals = std::vector<Interval>;

// Adds `n` to `in`, merging what overlaps or touches it.
void AddInterval(Intervals* in, Interval n);

// True if `t` lies in one of `in` (binary search).
bool IsDeleted(const Intervals& in, int64_t t);

class MemTombstones final {
 public:
  MemTombstones() = default;
  MemTombstones(const MemTombstones&) = delete;
  MemTombstones& operator=(const MemTombstones&) = delete;

  void AddInterval(uint64_t ref, Interval iv);
  // The intervals of `ref` (empty when none).
  Intervals Get(uint64_t ref) const;
  // Calls fn for every series with intervals, ascending by ref.
  void Iterate(const std::function<void(uint64_t, const Intervals&)>& fn) const;
  // Removes the given series' intervals.
  void DeleteTombstones(const std::vector<uint64_t>& refs);
  // Drops interval parts before t (intervals ending before t vanish).
  void TruncateBefore(int64_t t);
  // Number of intervals in total (meta.json's numTombstones).
  uint64_t NumTombstones() const;
  // Number of series with intervals.
  size_t NumSeries() const;

 private:
  mutable std::shared_mutex mu_;
  std::map<uint64_t, Intervals> intervals_;  // guarded by mu_
};

// The file's bytes for `ts`.
std::string Encode(const MemTombstones& ts);

// Parses a file's bytes. Errors are DataLoss naming `path` and the offset.
absl::StatusOr<std::unique_ptr<MemTombstones>> Decode(std::string_view path,
                                                      std::string_view data);

// Writes `<dir>/tombstones` (through tombstones.tmp, fsync, rename, fsync
// of the dir) and returns the file size.
absl::StatusOr<uint64_t> WriteFile(io::FileSystem* fs, const std::string& dir,
                                   const MemTombstones& ts);

// Reads `<dir>/tombstones`; a missing file yields empty tombstones and
// *size = 0.
absl::StatusOr<std::unique_ptr<MemTombstones>> ReadFile(io::FileSystem* fs,
                                                        const std::string& dir,
                                                        uint64_t* size);

}  // namespace tsdb::tombstones

#endif  // TSDB_TOMBSTONES_TOMBSTONES_H_
