#include "tsdb/head/series.h"

#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "tsdb/head/test_util.h"

namespace tsdb::head {
namespace {

constexpr int64_t kHour = 3600 * 1000;

class Recorder : public ChunkCutListener {
 public:
  void OnChunkCut(const CutChunkInfo& c) override { cuts.push_back(c); }
  std::vector<CutChunkInfo> cuts;
};

class SeriesTest : public ::testing::Test {
 protected:
  SeriesTest() : series_(1, 0, std::make_unique<uint32_t[]>(2), 1) {
    env_.codec = *testing::XorRegistry().Get(1);
    env_.chunk_range = 2 * kHour;
    env_.samples_per_chunk = 120;
    env_.listener = &recorder_;
  }

  // Appends as commit seq_+1; by default every earlier commit counts as
  // seen by all readers (low watermark seq - 1).
  void Append(int64_t t, double v = 1.0, bool keep_log = false) {
    std::lock_guard lock(series_.mu);
    ASSERT_EQ(series_.Appendable(t, v), Appendability::kOk) << t;
    uint64_t dep = 0, chunks = 0;
    const uint64_t seq = ++seq_;
    ASSERT_TRUE(
        series_.Append(t, v, seq, keep_log ? 0 : seq - 1, env_, &dep, &chunks)
            .ok());
  }

  std::vector<ChunkView> Chunks() {
    std::vector<ChunkView> out;
    std::lock_guard lock(series_.mu);
    series_.ForEachChunk([&](const ChunkView& c) { out.push_back(c); });
    return out;
  }

  ChunkEnv env_;
  Recorder recorder_;
  MemSeries series_;
  uint64_t seq_ = 0;
};

TEST(ChunkRangeTest, GoArithmetic) {
  EXPECT_EQ(RangeForTimestamp(0, 7200000), 7200000);
  EXPECT_EQ(RangeForTimestamp(7199999, 7200000), 7200000);
  EXPECT_EQ(RangeForTimestamp(7200000, 7200000), 14400000);
  // Go's division truncates towards zero.
  EXPECT_EQ(RangeForTimestamp(-1, 7200000), 7200000);
  EXPECT_EQ(RangeForTimestamp(-7200001, 7200000), 0);
  // 30 samples 15 s apart from 0: 4 chunks fit the range.
  EXPECT_EQ(ComputeChunkEndTime(0, 29 * 15000, 7200000), 1800000);
  // The rate is too low for more than one chunk: keep the range end.
  EXPECT_EQ(ComputeChunkEndTime(0, 29 * 60000, 7200000), 7200000);
}

TEST_F(SeriesTest, FifteenSecondsGives120PerChunkAnd4Per2h) {
  for (int64_t t = 0; t < 2 * kHour; t += 15000) Append(t);
  const std::vector<ChunkView> chunks = Chunks();
  ASSERT_EQ(chunks.size(), 4u);
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].num_samples, 120u) << i;
    EXPECT_EQ(chunks[i].min_time, static_cast<int64_t>(i) * 1800000) << i;
    EXPECT_EQ(chunks[i].id, i);
  }
  // The next 2h range starts a new chunk.
  Append(2 * kHour);
  EXPECT_EQ(Chunks().size(), 5u);
  ASSERT_EQ(recorder_.cuts.size(), 4u);
  EXPECT_EQ(recorder_.cuts[3].num_samples, 120);
  EXPECT_EQ(recorder_.cuts[3].max_time, 2 * kHour - 15000);
  EXPECT_EQ(recorder_.cuts[3].chunk_id, 3u);
  EXPECT_EQ(recorder_.cuts[3].encoding, 1);
  EXPECT_EQ(recorder_.cuts[3].series, 1u);
}

TEST_F(SeriesTest, ChunksNeverCrossAlignedBoundaries) {
  // Start 10 samples before a 2h boundary, unaligned.
  const int64_t start = 4 * kHour - 10 * 15000 + 7;
  for (int64_t t = start; t < start + 6 * kHour; t += 15000) Append(t);
  const std::vector<ChunkView> chunks = Chunks();
  ASSERT_GT(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].num_samples, 10u);
  for (const ChunkView& c : chunks) {
    EXPECT_EQ(RangeForTimestamp(c.min_time, 2 * kHour),
              RangeForTimestamp(c.max_time, 2 * kHour))
        << c.min_time << ".." << c.max_time;
  }
}

// Commit prefetches what AppendHints names; stale hints would only cost
// time, so check that they follow the open chunk, across growth and cuts.
TEST_F(SeriesTest, AppendHintsFollowTheOpenChunk) {
  auto hints = [&] {
    std::vector<const void*> out(MemSeries::kNumAppendHints);
    std::lock_guard lock(series_.mu);
    series_.AppendHints(out.data());
    return out;
  };
  for (int i = 0; i < 300; ++i) {
    // Noisy values: the chunk grows past its first buffer.
    Append(int64_t{i} * 15000, std::sin(i) * 1e6);
    const std::vector<const void*> h = hints();
    const std::vector<ChunkView> chunks = Chunks();
    std::lock_guard lock(series_.mu);
    ASSERT_EQ(h[1], series_.open_chunk()) << i;
    ASSERT_NE(h[0], nullptr) << i;
    const std::string_view bytes = chunks.back().bytes;
    ASSERT_EQ(h[2], bytes.data()) << i;
    ASSERT_EQ(h[3], bytes.data() + bytes.size() - 1) << i;
  }
  EXPECT_GT(Chunks().size(), 1u);  // cuts happened
}

TEST_F(SeriesTest, HardCutAt240Samples) {
  // 30 slow samples keep the predicted end at the range end; then the rate
  // jumps and the chunk is cut at twice the target.
  int64_t t = 0;
  for (int i = 0; i < 30; ++i, t += 60000) Append(t);
  for (int i = 0; i < 500; ++i, t += 1) Append(t);
  const std::vector<ChunkView> chunks = Chunks();
  ASSERT_GE(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].num_samples, 240u);
  for (const ChunkView& c : chunks) EXPECT_LE(c.num_samples, 240u);
}

TEST_F(SeriesTest, VisibilityFollowsCommitLog) {
  Append(1000, 1, /*keep_log=*/true);  // seq 1
  Append(2000, 1, /*keep_log=*/true);  // seq 2
  std::lock_guard lock(series_.mu);
  EXPECT_EQ(series_.VisibleEnd(0), 0u);
  EXPECT_EQ(series_.VisibleEnd(1), 1u);
  EXPECT_EQ(series_.VisibleEnd(2), 2u);
  EXPECT_EQ(series_.VisibleEnd(~uint64_t{0}), 2u);
}

TEST_F(SeriesTest, EarlierCommitAfterLaterOneDependsOnIt) {
  std::lock_guard lock(series_.mu);
  uint64_t dep = 0, chunks = 0;
  ASSERT_TRUE(series_.Append(1, 1, /*seq=*/5, 0, env_, &dep, &chunks).ok());
  EXPECT_EQ(dep, 0u);
  ASSERT_TRUE(series_.Append(2, 1, /*seq=*/4, 0, env_, &dep, &chunks).ok());
  EXPECT_EQ(dep, 5u);
  EXPECT_EQ(series_.VisibleEnd(3), 0u);
  EXPECT_EQ(series_.VisibleEnd(5), 2u);
}

TEST_F(SeriesTest, ClassifyRules) {
  EXPECT_EQ(Classify(false, 0, 0, 5, 1), Appendability::kOk);
  EXPECT_EQ(Classify(true, 5, 1, 6, 1), Appendability::kOk);
  EXPECT_EQ(Classify(true, 5, 1, 4, 1), Appendability::kOutOfOrder);
  EXPECT_EQ(Classify(true, 5, 1, 5, 1), Appendability::kDuplicateIgnored);
  EXPECT_EQ(Classify(true, 5, 1, 5, 2), Appendability::kDuplicate);
  // Bits, not values: 0.0 and -0.0 differ.
  EXPECT_EQ(Classify(true, 5, 0.0, 5, -0.0), Appendability::kDuplicate);
}

TEST_F(SeriesTest, TruncateDropsWholeChunksAndAdvancesIds) {
  for (int64_t t = 0; t < 2 * kHour; t += 15000) Append(t);
  std::lock_guard lock(series_.mu);
  EXPECT_EQ(series_.TruncateChunksBefore(1800000), 1u);  // [0, 1785000]
  EXPECT_EQ(series_.NumChunks(), 3u);
  EXPECT_EQ(series_.first_chunk_id(), 1u);
  EXPECT_EQ(series_.Chunk(0).id, 1u);
  EXPECT_EQ(series_.Chunk(0).first_index, 120u);
  EXPECT_EQ(series_.min_time(), 1800000);
  // The open chunk goes too once all of it is old.
  EXPECT_EQ(series_.TruncateChunksBefore(3 * kHour), 3u);
  EXPECT_EQ(series_.NumChunks(), 0u);
  EXPECT_EQ(series_.first_chunk_id(), 4u);
  // Its last sample still bounds new appends.
  EXPECT_EQ(series_.Appendable(2 * kHour - 15000, 1.0),
            Appendability::kDuplicateIgnored);
}

}  // namespace
}  // namespace tsdb::head
