// The uncompressed test codec through the shared conformance suite.
#include "testing/chunkenc_conformance.h"
#include "testing/test_codec/test_codec.h"

namespace tsdb::conformance {
namespace {

INSTANTIATE_TEST_SUITE_P(Uncompressed, ChunkConformanceTest,
                         ::testing::Values(CodecUnderTest{
                             "Uncompressed",
                             test_codec::RegisterUncompressedTestCodec,
                             test_codec::kUncompressedEncoding}),
                         CodecUnderTestName());

}  // namespace
}  // namespace tsdb::conformance
