#include "tsdb/compact/retention.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tsdb::compact {
namespace {

block::Ulid Id(int n) {
  std::array<uint8_t, 16> b{};
  b[15] = static_cast<uint8_t>(n);
  return block::Ulid::FromBytes(b);
}

RetentionBlock B(int n, int64_t mint, int64_t maxt, uint64_t size = 0,
                 bool deletable = false) {
  RetentionBlock b;
  b.meta.ulid = Id(n);
  b.meta.min_time = mint;
  b.meta.max_time = maxt;
  b.meta.compaction.deletable = deletable;
  b.size_bytes = size;
  return b;
}

std::vector<block::Ulid> Ids(std::vector<int> ns) {
  std::vector<block::Ulid> out;
  for (int n : ns) out.push_back(Id(n));
  return out;
}

TEST(TimeRetentionTest, RelativeToNewestBlockMaxTime) {
  // maxTimes 100, 200, 300, 400 (newest); retention 150.
  const std::vector<RetentionBlock> bs = {B(1, 0, 100), B(2, 100, 200),
                                          B(3, 200, 300), B(4, 300, 400)};
  // 400-300=100, 400-200=200 > 150: block 2 and everything older.
  EXPECT_EQ(BeyondTimeRetention(bs, 150), Ids({2, 1}));
  // Exactly the retention is kept (strictly greater deletes).
  EXPECT_EQ(BeyondTimeRetention(bs, 200), Ids({1}));
  EXPECT_EQ(BeyondTimeRetention(bs, 300), Ids({}));
  // Disabled.
  EXPECT_TRUE(BeyondTimeRetention(bs, 0).empty());
  EXPECT_TRUE(BeyondTimeRetention({}, 10).empty());
}

TEST(TimeRetentionTest, NewestBlockNeverDeletedAndOrderIgnored) {
  const std::vector<RetentionBlock> bs = {B(3, 1000, 2000), B(1, 0, 10),
                                          B(2, 10, 20)};
  EXPECT_EQ(BeyondTimeRetention(bs, 1), Ids({2, 1}));
  // A single block is never deleted by time, however old.
  EXPECT_TRUE(BeyondTimeRetention({B(1, 0, 10)}, 1).empty());
}

TEST(TimeRetentionTest, OnceOneIsOutEveryOlderOneGoes) {
  // Sorted by maxTime: a long old block (maxt 950) sorts before a short
  // one (maxt 900) even if it starts earlier.
  const std::vector<RetentionBlock> bs = {B(1, 0, 950), B(2, 890, 900),
                                          B(3, 900, 1000)};
  EXPECT_EQ(BeyondTimeRetention(bs, 60), Ids({2}));
  EXPECT_EQ(BeyondTimeRetention(bs, 40), Ids({1, 2}));
}

TEST(SizeRetentionTest, RunningSumNewestToOldest) {
  const std::vector<RetentionBlock> bs = {
      B(1, 0, 100, 100), B(2, 100, 200, 100), B(3, 200, 300, 100)};
  EXPECT_TRUE(BeyondSizeRetention(bs, 0, 300).empty());
  EXPECT_EQ(BeyondSizeRetention(bs, 0, 299), Ids({1}));
  EXPECT_EQ(BeyondSizeRetention(bs, 0, 200), Ids({1}));
  EXPECT_EQ(BeyondSizeRetention(bs, 0, 199), Ids({2, 1}));
  // The head counts first.
  EXPECT_EQ(BeyondSizeRetention(bs, 50, 300), Ids({1}));
  // A head that fills the budget takes the newest block too.
  EXPECT_EQ(BeyondSizeRetention(bs, 300, 300), Ids({3, 2, 1}));
  EXPECT_TRUE(BeyondSizeRetention(bs, 0, 0).empty());
  EXPECT_TRUE(BeyondSizeRetention(bs, 1000, -1).empty());
}

TEST(DeletableBlocksTest, UnionOfMarkedTimeAndSize) {
  const std::vector<RetentionBlock> bs = {
      B(1, 0, 100, 10), B(2, 100, 200, 10), B(3, 200, 300, 500),
      B(4, 300, 400, 10, /*deletable=*/true), B(5, 400, 500, 10)};
  RetentionOptions o;
  EXPECT_EQ(DeletableBlocks(bs, o), Ids({4}));
  o.retention_ms = 350;  // 500-100 = 400 > 350: block 1
  EXPECT_EQ(DeletableBlocks(bs, o), Ids({4, 1}));
  o.max_bytes = 100;  // 10 + 10 + 500 > 100 at block 3
  EXPECT_EQ(DeletableBlocks(bs, o), Ids({4, 3, 2, 1}));
}

}  // namespace
}  // namespace tsdb::compact
