#include "tsdb/head/isolation.h"

#include <vector>

#include "gtest/gtest.h"

namespace tsdb::head {
namespace {

TEST(IsolationTest, WatermarkAdvancesOverEndedPrefix) {
  Isolation iso;
  EXPECT_EQ(iso.watermark(), 0u);
  const uint64_t a = iso.BeginCommit();
  const uint64_t b = iso.BeginCommit();
  const uint64_t c = iso.BeginCommit();
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(c, 3u);
  iso.EndCommit(b, 0);
  EXPECT_EQ(iso.watermark(), 0u);  // a still open
  iso.EndCommit(a, 0);
  EXPECT_EQ(iso.watermark(), 2u);
  iso.EndCommit(c, 0);
  EXPECT_EQ(iso.watermark(), 3u);
  EXPECT_EQ(iso.open_commits(), 0u);
}

TEST(IsolationTest, DependentCommitWaitsForTheLaterOne) {
  Isolation iso;
  const uint64_t a = iso.BeginCommit();  // 1
  const uint64_t b = iso.BeginCommit();  // 2
  // a appended to a series after b did: a depends on b.
  iso.EndCommit(a, b);
  EXPECT_EQ(iso.watermark(), 0u);
  iso.EndCommit(b, 0);
  EXPECT_EQ(iso.watermark(), 2u);
}

TEST(IsolationTest, LowWatermarkFollowsOldestReader) {
  Isolation iso;
  iso.EndCommit(iso.BeginCommit(), 0);
  const uint64_t r = iso.OpenRead();
  EXPECT_EQ(r, 1u);
  iso.EndCommit(iso.BeginCommit(), 0);
  iso.EndCommit(iso.BeginCommit(), 0);
  EXPECT_EQ(iso.watermark(), 3u);
  EXPECT_EQ(iso.low_watermark(), 1u);
  EXPECT_EQ(iso.open_reads(), 1u);
  iso.CloseRead(r);
  EXPECT_EQ(iso.low_watermark(), 3u);
  EXPECT_EQ(iso.open_reads(), 0u);
}

TEST(EpochReclaimerTest, FreesOnlyWhatNoPinCanSee) {
  EpochReclaimer r;
  std::vector<int> freed;
  const uint64_t p1 = r.Pin();
  r.Retire([&] { freed.push_back(1); });
  const uint64_t p2 = r.Pin();  // after 1's retirement: cannot see it
  r.Retire([&] { freed.push_back(2); });
  EXPECT_TRUE(r.has_retired());
  EXPECT_TRUE(r.TakeReclaimable().empty());  // p1 may see both
  r.Unpin(p1);
  for (auto& f : r.TakeReclaimable()) f();
  EXPECT_EQ(freed, std::vector<int>{1});
  r.Unpin(p2);
  for (auto& f : r.TakeReclaimable()) f();
  EXPECT_EQ(freed, (std::vector<int>{1, 2}));
  EXPECT_FALSE(r.has_retired());
  EXPECT_EQ(r.pins(), 0u);
}

}  // namespace
}  // namespace tsdb::head
