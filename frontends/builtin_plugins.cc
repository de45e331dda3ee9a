#include "frontends/builtin_plugins.h"

#include "plugins/chunkenc/xor/xor.h"
#include "plugins/chunkreader/mmap/mmap_chunk_reader.h"
#include "plugins/chunkreader/pread/pread_chunk_reader.h"
#include "plugins/wal/none/none_wal.h"
#include "plugins/wal/segmented/segmented_wal.h"
#include "tsdb/base/status_macros.h"

namespace tsdb::frontends {

absl::Status RegisterBuiltinPlugins(Registry& registry) {
  // Chunk codecs (keyed by the on-disk encoding byte).
  TSDB_RETURN_IF_ERROR(chunkenc::RegisterXorCodec(registry.codecs));
  // Block chunk file readers (--chunk-reader).
  TSDB_RETURN_IF_ERROR(
      plugins::RegisterMmapChunkReader(registry.chunk_readers));
  TSDB_RETURN_IF_ERROR(
      plugins::RegisterPreadChunkReader(registry.chunk_readers));
  // Write-ahead logs.
  TSDB_RETURN_IF_ERROR(plugins::RegisterSegmentedWal(registry.wals));
  TSDB_RETURN_IF_ERROR(plugins::RegisterNoneWal(registry.wals));
  return absl::OkStatus();
}

}  // namespace tsdb::frontends
