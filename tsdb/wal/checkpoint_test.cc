#include "tsdb/wal/checkpoint.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "plugins/wal/segmented/segmented_wal.h"
#include "testing/fault_file_system.h"
#include "testing/mem_file_system.h"
#include "tsdb/wal/framing.h"
#include "tsdb/wal/reader.h"
#include "tsdb/wal/replay.h"
#include "tsdb/wal/wal_test_util.h"

namespace tsdb::wal {
namespace {

class CheckpointTest : public ::testing::TestWithParam<Compression> {
 protected:
  WalOptions Options(io::FileSystem* fs = nullptr) {
    WalOptions o;
    o.fs = fs != nullptr ? fs : &fs_;
    o.dir = "/wal";
    o.compression = GetParam();
    o.log = [](std::string_view) {};
    return o;
  }
  // Segment i holds series 2i+1, 2i+2 and samples at t = 100*i + {0, 50}.
  void WriteSegments(int n) {
    auto w = plugins::OpenSegmentedWal(Options());
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < n; ++i) {
      if (i > 0) {
        ASSERT_TRUE((*w)->NextSegment().ok());
      }
      const uint64_t a = 2 * i + 1, b = 2 * i + 2;
      std::string stones, meta;
      record::EncodeTombstones({{a, 100 * i, 100 * i + 10}}, &stones);
      record::EncodeMetadata({{a, 1, "u" + std::to_string(i), "h"}}, &meta);
      ASSERT_TRUE(
          (*w)->Log({SeriesRec(a, "s" + std::to_string(a)),
                     SeriesRec(b, "s" + std::to_string(b)), meta,
                     SamplesRec({{a, 100 * i, 1}, {b, 100 * i + 50, 2}}),
                     stones})
              .ok());
    }
  }
  ReplayOptions Replay() {
    ReplayOptions r;
    r.fs = &fs_;
    r.dir = "/wal";
    r.log_progress = false;
    return r;
  }
  testing::MemFileSystem fs_;
};

TEST_P(CheckpointTest, FoldsSegmentsFiltersAndDeletes) {
  WriteSegments(4);  // segments 0..3
  auto stats = Checkpoint(
      Options(), plugins::OpenSegmentedWal, 0, 2,
      [](uint64_t ref) { return ref != 2; }, 150);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->total_series, 6);
  EXPECT_EQ(stats->dropped_series, 1);
  EXPECT_EQ(stats->total_samples, 6);
  EXPECT_EQ(stats->dropped_samples, 3);     // t = 0, 50, 100
  EXPECT_EQ(stats->dropped_tombstones, 2);  // maxt 10, 110
  EXPECT_EQ(*fs_.ListDir("/wal"),
            (std::vector<std::string>{"00000003", "checkpoint.00000002"}));
  // Metadata: only the latest per kept series, at the end.
  auto segs = SegmentsInDir(&fs_, "/wal/checkpoint.00000002", 0, -1);
  ASSERT_TRUE(segs.ok());
  Reader r(&fs_, *segs);
  std::string last;
  while (r.Next()) last = std::string(r.record());
  ASSERT_TRUE(r.status().ok());
  std::vector<record::RefMetadata> md;
  ASSERT_TRUE(record::DecodeMetadata(last, &md).ok());
  EXPECT_EQ(md.size(), 3u);  // refs 1, 3, 5

  CollectingVisitor v;
  auto rs = ReplayWalDir(Replay(), &v);
  ASSERT_TRUE(rs.ok()) << rs.status();
  EXPECT_EQ(rs->checkpoint, 2);
  EXPECT_EQ(v.series.size(), 7u);  // 1,3,4,5,6 from checkpoint + 7,8
  EXPECT_FALSE(v.series.count(2));
  EXPECT_EQ(v.samples[4].size(), 1u);  // t = 150
  EXPECT_EQ(v.samples[5].size(), 1u);  // t = 200
  EXPECT_EQ(v.samples[7].size(), 1u);  // segment 3 untouched
  EXPECT_FALSE(v.samples.count(1));    // t = 0 dropped
  EXPECT_EQ(v.stones.size(), 2u);      // maxt 210, 310

  // A second checkpoint folds the first and deletes it.
  auto w = plugins::OpenSegmentedWal(Options());  // segment 4
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Log({SamplesRec({{7, 400, 9}})}).ok());
  ASSERT_TRUE((*w)->NextSegment().ok());  // segment 5
  auto s2 = Checkpoint(
      Options(), plugins::OpenSegmentedWal, 3, 4, [](uint64_t) { return true; },
      0);
  ASSERT_TRUE(s2.ok()) << s2.status();
  EXPECT_EQ(*fs_.ListDir("/wal"),
            (std::vector<std::string>{"00000005", "checkpoint.00000004"}));
  CollectingVisitor v2;
  ASSERT_TRUE(ReplayWalDir(Replay(), &v2).ok());
  EXPECT_EQ(v2.series.size(), 7u);
  EXPECT_EQ(v2.samples[7].size(), 2u);
}

TEST_P(CheckpointTest, GapToLastCheckpointIsAnError) {
  WriteSegments(4);
  ASSERT_TRUE(Checkpoint(
                  Options(), plugins::OpenSegmentedWal, 0, 1,
                  [](uint64_t) { return true; }, 0)
                  .ok());
  auto s = Checkpoint(
      Options(), plugins::OpenSegmentedWal, 3, 3, [](uint64_t) { return true; },
      0);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(CheckpointTest, FailedWriteLeavesWalIntactAndNoTmp) {
  WriteSegments(3);
  const std::vector<std::string> before = *fs_.ListDir("/wal");
  testing::FaultFileSystem fault(&fs_);
  fault.FailWrite(1, /*all_after=*/true);
  auto s = Checkpoint(
      Options(&fault), plugins::OpenSegmentedWal, 0, 1,
      [](uint64_t) { return true; }, 0);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(*fs_.ListDir("/wal"), before);
}

TEST_P(CheckpointTest, CorruptInputIsAnErrorAndDeletesNothing) {
  WriteSegments(3);
  ASSERT_TRUE(fs_.CorruptByte("/wal/00000001", 20, 0xFF).ok());
  const std::vector<std::string> before = *fs_.ListDir("/wal");
  auto s = Checkpoint(
      Options(), plugins::OpenSegmentedWal, 0, 1, [](uint64_t) { return true; },
      0);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(*fs_.ListDir("/wal"), before);
}

INSTANTIATE_TEST_SUITE_P(Compression, CheckpointTest,
                         ::testing::Values(Compression::kNone,
                                           Compression::kSnappy));

}  // namespace
}  // namespace tsdb::wal
