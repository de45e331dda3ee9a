// The XOR codec through the shared chunk codec conformance suite.
#include "plugins/chunkenc/xor/xor.h"
#include "testing/chunkenc_conformance.h"

namespace tsdb::conformance {
namespace {

INSTANTIATE_TEST_SUITE_P(Xor, ChunkConformanceTest,
                         ::testing::Values(CodecUnderTest{
                             "XOR", chunkenc::RegisterXorCodec,
                             chunkenc::kXorEncoding}),
                         CodecUnderTestName());

}  // namespace
}  // namespace tsdb::conformance
