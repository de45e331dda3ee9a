// The "pread" chunk file reader: keeps every segment file open and reads
// each record with positional reads (one pread for records up to 512 bytes,
// two for longer ones). Uses no address space for the files, so it suits
// 32-bit hosts and very large data dirs.
//
// Register it with RegisterPreadChunkReader(registry) (frontends and tests);
// the core never includes this header. Thread safety: Read is safe from any
// number of threads (pread has no shared file position).
#ifndef PLUGINS_CHUNKREADER_PREAD_PREAD_CHUNK_READER_H_
#define PLUGINS_CHUNKREADER_PREAD_PREAD_CHUNK_READER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/chunks/chunk_file_reader.h"

namespace tsdb::plugins {

inline constexpr char kPreadChunkReaderName[] = "pread";

// Opens `segment_paths` (index i = ref segment i) through the POSIX file
// system, checking each header.
absl::StatusOr<std::unique_ptr<chunks::ChunkFileReader>> OpenPreadChunkReader(
    const std::vector<std::string>& segment_paths);

// Adds "pread" to `registry`.
[[nodiscard]] absl::Status RegisterPreadChunkReader(
    chunks::ChunkFileReaderRegistry& registry);

}  // namespace tsdb::plugins

#endif  // PLUGINS_CHUNKREADER_PREAD_PREAD_CHUNK_READER_H_
