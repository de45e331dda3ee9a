#include "tsdb/chunks/mapped_chunks_loader.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "testing/mem_file_system.h"
#include "tsdb/chunks/head_chunks.h"

namespace tsdb::chunks {
namespace {

constexpr char kDir[] = "/d/chunks_head";

class MappedChunksLoaderTest : public ::testing::Test {
 protected:
  void Write(uint64_t series, int64_t mint, int64_t maxt, uint8_t enc = 1) {
    auto m = ChunkDiskMapper::Open(&fs_, kDir, {});
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE((*m)->IterateAllChunks(
                        [](const MappedChunkInfo&) { return absl::OkStatus(); })
                    .ok());
    // One mapper per call: each write lands in a new file, like restarts.
    ASSERT_TRUE(
        (*m)->WriteChunk(series, mint, maxt, enc, std::string("\0\1x", 3))
            .ok());
    ASSERT_TRUE((*m)->Close().ok());
  }

  MappedChunks Load(int64_t min_valid_time) {
    auto m = ChunkDiskMapper::Open(&fs_, kDir, {});
    EXPECT_TRUE(m.ok());
    auto mc = LoadMappedChunks(**m, min_valid_time);
    EXPECT_TRUE(mc.ok()) << mc.status();
    return std::move(*mc);
  }

  testing::MemFileSystem fs_;
};

TEST_F(MappedChunksLoaderTest, GroupsBySeriesInOrderAndSkipsOldAndOoo) {
  Write(1, 100, 199);
  Write(2, 100, 150);
  Write(1, 200, 299);
  Write(2, 10, 20);  // would be out of sequence, but too old: skipped
  Write(3, 300, 400, kOutOfOrderXorEncoding);
  MappedChunks mc = Load(/*min_valid_time=*/50);
  EXPECT_FALSE(mc.discarded_all);
  EXPECT_FALSE(mc.scan.corruption);
  EXPECT_EQ(mc.skipped_too_old, 1u);
  EXPECT_EQ(mc.skipped_out_of_order, 1u);
  ASSERT_EQ(mc.by_series.size(), 2u);
  ASSERT_EQ(mc.by_series[1].size(), 2u);
  EXPECT_EQ(mc.by_series[1][0].min_time, 100);
  EXPECT_EQ(mc.by_series[1][1].max_time, 299);
  EXPECT_EQ(ChunkDiskMapperRefFile(mc.by_series[1][1].ref), 3u);
  EXPECT_EQ(mc.by_series[2].size(), 1u);
  EXPECT_EQ(mc.by_series[1][0].num_samples, 1);  // BE16 "\0\1"
}

TEST_F(MappedChunksLoaderTest, OutOfSequenceDiscardsEverything) {
  Write(1, 100, 199);
  Write(1, 150, 250);  // overlaps the previous chunk
  MappedChunks mc = Load(0);
  EXPECT_TRUE(mc.discarded_all);
  EXPECT_NE(mc.discard_reason.find("out of sequence"), std::string::npos);
  EXPECT_TRUE(mc.by_series.empty());
  EXPECT_TRUE(fs_.ListDir(kDir)->empty());
  // The next start finds nothing, cleanly.
  MappedChunks again = Load(0);
  EXPECT_FALSE(again.discarded_all);
  EXPECT_TRUE(again.by_series.empty());
}

}  // namespace
}  // namespace tsdb::chunks
