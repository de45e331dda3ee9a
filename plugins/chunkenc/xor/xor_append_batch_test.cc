// XorAppender::AppendBatch against Append: the same bytes for any split of
// the samples into batches, on fresh and re-opened chunks.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "plugins/chunkenc/xor/xor.h"
#include "tsdb/chunkenc/registry.h"

namespace tsdb::chunkenc {
namespace {

TEST(XorAppendBatchTest, SameBytesAsAppend) {
  CodecRegistry registry;
  ASSERT_TRUE(RegisterXorCodec(registry).ok());
  const ChunkCodec* codec = *registry.Get(kXorEncoding);
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    const size_t n = rng() % 300;
    std::vector<int64_t> ts(n);
    std::vector<double> vs(n);
    int64_t t = static_cast<int64_t>(rng() % 1000000) - 500000;
    for (size_t i = 0; i < n; ++i) {
      // Regular steps, jitter and rare huge jumps (every dod width).
      const uint64_t r = rng() % 100;
      t += r < 60 ? 15000
                  : (r < 95 ? static_cast<int64_t>(rng() % 40000)
                            : static_cast<int64_t>(rng() >> 20));
      ts[i] = t;
      vs[i] = r < 30 ? 1.0 : static_cast<double>(rng() % 1000) / 7.0;
    }
    std::unique_ptr<Chunk> a = codec->NewChunk();
    std::unique_ptr<Chunk> b = codec->NewChunk();
    auto app_a = a->Appender();
    auto app_b = b->Appender();
    ASSERT_TRUE(app_a.ok() && app_b.ok());
    const size_t reopen_at = n / 2;
    for (size_t i = 0; i < n; ++i) {
      if (i == reopen_at) app_a = a->Appender();  // re-opened mid-way
      (*app_a)->Append(ts[i], vs[i]);
    }
    size_t i = 0;
    while (i < n) {
      size_t m = std::min<size_t>(1 + rng() % 70, n - i);
      if (i < reopen_at && i + m > reopen_at) m = reopen_at - i;
      if (i == reopen_at) app_b = b->Appender();
      (*app_b)->AppendBatch(ts.data() + i, vs.data() + i, m);
      i += m;
    }
    ASSERT_EQ(std::string(a->Bytes()), std::string(b->Bytes()))
        << "round " << round;
    EXPECT_EQ(a->NumSamples(), static_cast<int>(n));
  }
}

}  // namespace
}  // namespace tsdb::chunkenc
