// BlockMeta: a block's meta.json, read and written exactly as Prometheus
// 2.42 does (tsdb/block.go): Go's json.MarshalIndent with a tab indent,
// struct field order, omitempty fields left out, no trailing newline,
// written through meta.json.tmp + fsync + rename.
//
//   {
//   	"ulid": "01GR3Z9S7KX0Y8QF3B6D2V5N4M",
//   	"minTime": 1675152000000,
//   	"maxTime": 1675159200000,        <- exclusive
//   	"stats": {"numSamples", "numSeries", "numChunks", "numTombstones"}
//   	"compaction": {"level", "sources", "deletable", "parents", "failed",
//   	               "hints"},
//   	"version": 1
//   }
//
// Thread safety: value types and free functions; no shared state.
#ifndef TSDB_BLOCK_META_H_
#define TSDB_BLOCK_META_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/block/ulid.h"
#include "tsdb/io/file_system.h"

namespace tsdb::block {

inline constexpr char kMetaFileName[] = "meta.json";
inline constexpr int kMetaVersion1 = 1;

struct BlockStats {
  uint64_t num_samples = 0;
  uint64_t num_series = 0;
  uint64_t num_chunks = 0;
  uint64_t num_tombstones = 0;
};

struct BlockDesc {
  Ulid ulid;
  int64_t min_time = 0;
  int64_t max_time = 0;
};

struct BlockMetaCompaction {
  int level = 0;
  std::vector<Ulid> sources;
  bool deletable = false;
  std::vector<BlockDesc> parents;
  bool failed = false;
  std::vector<std::string> hints;  // e.g. "from-out-of-order"
};

struct BlockMeta {
  Ulid ulid;
  int64_t min_time = 0;  // inclusive, ms
  int64_t max_time = 0;  // exclusive, ms
  BlockStats stats;
  BlockMetaCompaction compaction;
  int version = kMetaVersion1;
};

// The exact bytes Prometheus writes for `meta`.
std::string EncodeMeta(const BlockMeta& meta);

// Parses meta.json bytes. InvalidArgument/DataLoss naming `path` for bad
// JSON, missing or mistyped fields, or a version other than 1.
absl::StatusOr<BlockMeta> DecodeMeta(std::string_view path,
                                     std::string_view data);

// Writes `<dir>/meta.json` via meta.json.tmp (fsync, rename, fsync dir);
// returns the file size.
absl::StatusOr<uint64_t> WriteMetaFile(io::FileSystem* fs,
                                       const std::string& dir,
                                       const BlockMeta& meta);

// Reads `<dir>/meta.json`; *size gets the file size when non-null.
absl::StatusOr<BlockMeta> ReadMetaFile(io::FileSystem* fs,
                                       const std::string& dir,
                                       uint64_t* size = nullptr);

}  // namespace tsdb::block

#endif  // TSDB_BLOCK_META_H_
