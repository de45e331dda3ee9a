// A conformance suite for chunk codecs (tsdb/chunkenc/chunk.h), the C++
// counterpart of the one function Prometheus runs over every chunk encoding
// (tsdb/chunkenc/chunk_test.go), extended to corruption and iterator
// lifetime contracts.
//
// A codec passes the whole suite with one instantiation in its own test:
//
//   #include "testing/chunkenc_conformance.h"
//   INSTANTIATE_TEST_SUITE_P(
//       Xor, ChunkConformanceTest,
//       ::testing::Values(tsdb::conformance::CodecUnderTest{
//           "XOR", tsdb::chunkenc::RegisterXorCodec, 1}),
//       tsdb::conformance::CodecUnderTestName());
//
// (with `using tsdb::conformance::ChunkConformanceTest;`, or the qualified
// name). The fixture builds a CodecRegistry through `register_fn` and looks
// the codec up by `encoding`, so it exercises the codec exactly as the core
// does: through the plugin's registration function and the registry.
//
// What it checks, for any codec: round trips (random bit patterns and
// realistic counters, gauges, constants, jittered 15 s scrapes) compared by
// bits; special doubles (NaNs with payloads, the stale marker, infinities,
// -0.0, denormals, extremes); extreme non-decreasing timestamps (int64
// limits, zero deltas, deltas beyond 2^32 and beyond int64); Seek
// semantics; NextBatch against Next/At; iterators kept while appending;
// FromBytes round trips and appenders re-opened on them; the empty chunk;
// truncation at every length and random corruption (errors or wrong samples,
// never a crash or an out-of-bounds read; run under --config=asan).
//
// The link target is `alwayslink` so the TEST_Ps register in any binary that
// depends on it. All of this is testonly.
#ifndef TESTING_CHUNKENC_CONFORMANCE_H_
#define TESTING_CHUNKENC_CONFORMANCE_H_

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "tsdb/chunkenc/chunk.h"
#include "tsdb/chunkenc/registry.h"

namespace tsdb::conformance {

// The codec a suite instance tests.
struct CodecUnderTest {
  // Used in test names: letters, digits and underscores only.
  std::string name;
  // The plugin's registration function, e.g. RegisterXorCodec.
  std::function<absl::Status(chunkenc::CodecRegistry&)> register_fn;
  // The encoding byte the codec registers under.
  uint8_t encoding = 0;
};

void PrintTo(const CodecUnderTest& codec, std::ostream* os);

// Names instances after CodecUnderTest::name.
struct CodecUnderTestName {
  std::string operator()(
      const ::testing::TestParamInfo<CodecUnderTest>& info) const {
    return info.param.name;
  }
};

class ChunkConformanceTest : public ::testing::TestWithParam<CodecUnderTest> {
 protected:
  void SetUp() override;

  // The codec under test, owned by registry_. Set by SetUp.
  const chunkenc::ChunkCodec* codec() const { return codec_; }

  chunkenc::CodecRegistry registry_;
  const chunkenc::ChunkCodec* codec_ = nullptr;
};

}  // namespace tsdb::conformance

#endif  // TESTING_CHUNKENC_CONFORMANCE_H_
