#include "plugins/chunkreader/pread/pread_chunk_reader.h"
#include "testing/chunkreader_conformance.h"

namespace tsdb::testing {

INSTANTIATE_TEST_SUITE_P(Pread, ChunkReaderConformanceTest,
                         ::testing::Values(ChunkReaderPlugin{
                             "pread", &plugins::RegisterPreadChunkReader}));

}  // namespace tsdb::testing
