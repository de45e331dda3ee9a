// The "mmap" chunk file reader: maps every segment file read-only for the
// reader's lifetime and reads records straight out of the mappings.
//
// Register it with RegisterMmapChunkReader(registry) (frontends and tests);
// the core never includes this header. Thread safety: Read is safe from any
// number of threads (the mappings are immutable).
#ifndef PLUGINS_CHUNKREADER_MMAP_MMAP_CHUNK_READER_H_
#define PLUGINS_CHUNKREADER_MMAP_MMAP_CHUNK_READER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/chunks/chunk_file_reader.h"

namespace tsdb::plugins {

inline constexpr char kMmapChunkReaderName[] = "mmap";

// Opens `segment_paths` (index i = ref segment i), checking each header.
absl::StatusOr<std::unique_ptr<chunks::ChunkFileReader>> OpenMmapChunkReader(
    const std::vector<std::string>& segment_paths);

// Adds "mmap" to `registry`.
[[nodiscard]] absl::Status RegisterMmapChunkReader(
    chunks::ChunkFileReaderRegistry& registry);

}  // namespace tsdb::plugins

#endif  // PLUGINS_CHUNKREADER_MMAP_MMAP_CHUNK_READER_H_
