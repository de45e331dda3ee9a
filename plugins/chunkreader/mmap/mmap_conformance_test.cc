#include "plugins/chunkreader/mmap/mmap_chunk_reader.h"
#include "testing/chunkreader_conformance.h"

namespace tsdb::testing {

INSTANTIATE_TEST_SUITE_P(Mmap, ChunkReaderConformanceTest,
                         ::testing::Values(ChunkReaderPlugin{
                             "mmap", &plugins::RegisterMmapChunkReader}));

}  // namespace tsdb::testing
