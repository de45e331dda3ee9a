// Table-driven planning cases in the spirit of Prometheus's
// TestLeveledCompactor_plan (tsdb/compact_test.go), written for this port.
#include "tsdb/compact/planner.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tsdb::compact {
namespace {

using block::BlockMeta;

block::Ulid Id(int n) {
  std::array<uint8_t, 16> b{};
  b[15] = static_cast<uint8_t>(n);
  return block::Ulid::FromBytes(b);
}

// Block `n` spanning [mint, maxt).
BlockMeta M(int n, int64_t mint, int64_t maxt, uint64_t series = 0,
            uint64_t tombstones = 0, bool failed = false) {
  BlockMeta m;
  m.ulid = Id(n);
  m.min_time = mint;
  m.max_time = maxt;
  m.stats.num_series = series;
  m.stats.num_tombstones = tombstones;
  m.compaction.failed = failed;
  return m;
}

struct Case {
  std::string name;
  std::vector<BlockMeta> metas;
  std::vector<int> want;  // block numbers, in minTime order
};

TEST(ExponentialBlockRangesTest, Values) {
  constexpr int64_t kH = 3600 * 1000;
  EXPECT_EQ(ExponentialBlockRanges(2 * kH, 5, 3),
            (std::vector<int64_t>{2 * kH, 6 * kH, 18 * kH, 54 * kH, 162 * kH}));
  EXPECT_EQ(ExponentialBlockRanges(20, 3, 3),
            (std::vector<int64_t>{20, 60, 180}));
  EXPECT_TRUE(ExponentialBlockRanges(20, 0, 3).empty());
}

TEST(PlanTest, Table) {
  const std::vector<int64_t> ranges = {20, 60, 180, 540, 1620};
  const std::vector<Case> cases = {
      {"no blocks", {}, {}},
      {"single block is never compacted", {M(1, 0, 20)}, {}},
      {"two blocks: the newest is left out", {M(1, 0, 20), M(2, 20, 40)}, {}},
      {"wait for the next block: three, the fresh one ignored",
       {M(1, 0, 20), M(2, 20, 40), M(3, 40, 60)},
       {}},
      {"block filling the parent range appeared",
       {M(1, 0, 20), M(2, 20, 40), M(3, 40, 60), M(4, 60, 80)},
       {1, 2, 3}},
      {"input order does not matter",
       {M(4, 60, 80), M(2, 20, 40), M(1, 0, 20), M(3, 40, 60)},
       {1, 2, 3}},
      {"gap inside the range still spans it",
       {M(1, 0, 20), M(3, 40, 60), M(4, 60, 80)},
       {1, 3}},
      {"group ending before the last kept block's minTime",
       {M(1, 0, 20), M(2, 20, 40), M(3, 60, 80), M(4, 200, 220)},
       {1, 2}},
      {"highTime is the last kept block, not the newest",
       {M(1, 0, 20), M(2, 20, 40), M(3, 120, 140)},
       {}},
      {"20,20,20,60,60: the first 60-range group",
       {M(1, 0, 20), M(2, 20, 40), M(3, 40, 60), M(4, 60, 120), M(5, 120, 180)},
       {1, 2, 3}},
      {"three 60s fill the 180 range",
       {M(1, 0, 60), M(2, 60, 120), M(3, 120, 180), M(4, 540, 560)},
       {1, 2, 3}},
      {"misaligned blocks are skipped",
       {M(1, 10, 70), M(2, 70, 80), M(3, 80, 100), M(4, 130, 140),
        M(5, 200, 220)},
       {2, 3}},
      {"largest range groups are not compacted further",
       {M(1, 0, 1620), M(2, 1620, 3240), M(3, 3240, 3260)},
       {}},
      {"group with a failed block is skipped",
       {M(1, 0, 20), M(2, 20, 40, 0, 0, true), M(3, 40, 60), M(4, 60, 80)},
       {}},
      {"failed group skipped, next group taken",
       {M(1, 0, 20), M(2, 20, 40, 0, 0, true), M(3, 60, 80), M(4, 80, 100),
        M(5, 120, 140), M(6, 200, 220)},
       {3, 4}},
      {"overlapping blocks first",
       {M(1, 0, 20), M(2, 10, 30), M(3, 30, 40)},
       {1, 2}},
      {"overlap with the newest block is compacted",
       {M(1, 0, 20), M(2, 20, 40), M(3, 30, 50)},
       {2, 3}},
      {"overlap chain is one group",
       {M(1, 0, 20), M(2, 19, 40), M(3, 39, 60), M(4, 70, 80)},
       {1, 2, 3}},
      {"only the first overlap group",
       {M(1, 0, 20), M(2, 10, 20), M(3, 40, 60), M(4, 50, 60)},
       {1, 2}},
      {"contained block overlaps",
       {M(1, 0, 60), M(2, 10, 20), M(3, 60, 80)},
       {1, 2}},
      {"big block with > 5% tombstones",
       {M(1, 0, 180, 10, 1), M(2, 180, 200)},
       {1}},
      {"big block with <= 5% tombstones (5/(100+1))",
       {M(1, 0, 180, 100, 5), M(2, 180, 200)},
       {}},
      {"below ranges[len/2] counts as small",
       {M(1, 0, 60, 10, 5), M(2, 60, 80)},
       {}},
      {"small block entirely deleted", {M(1, 0, 20, 3, 3), M(2, 20, 40)}, {1}},
      {"small block partly deleted", {M(1, 0, 20, 3, 2), M(2, 20, 40)}, {}},
      {"zero series, zero tombstones: nothing",
       {M(1, 0, 20, 0, 0), M(2, 20, 40)},
       {}},
      {"tombstone scan stops at the first small block",
       {M(1, 0, 180, 10, 5), M(2, 180, 200), M(3, 200, 220)},
       {}},
      {"tombstone scan goes newest first",
       {M(1, 0, 180, 10, 5), M(2, 180, 360, 10, 5), M(3, 360, 380)},
       {2}},
      {"newest block's tombstones are ignored",
       {M(1, 0, 20), M(2, 20, 40, 3, 3)},
       {}},
  };
  for (const Case& c : cases) {
    std::vector<block::Ulid> want;
    for (int n : c.want) want.push_back(Id(n));
    EXPECT_EQ(Plan(c.metas, ranges), want) << c.name;
  }
}

TEST(PlanTest, SingleRangeOnlyCompactsOverlaps) {
  const std::vector<int64_t> ranges = {20};
  EXPECT_TRUE(
      Plan({M(1, 0, 20), M(2, 20, 40), M(3, 40, 60), M(4, 60, 80)}, ranges)
          .empty());
  EXPECT_EQ(Plan({M(1, 0, 20), M(2, 10, 40)}, ranges),
            (std::vector<block::Ulid>{Id(1), Id(2)}));
}

TEST(PlanTest, OverlappingDisabled) {
  PlanOptions o;
  o.allow_overlapping = false;
  EXPECT_TRUE(
      Plan({M(1, 0, 20), M(2, 10, 30), M(3, 30, 40)}, {20, 60}, o).empty());
}

std::vector<std::vector<std::pair<int64_t, int64_t>>> Split(
    const std::vector<BlockMeta>& ms, int64_t tr) {
  std::vector<std::vector<std::pair<int64_t, int64_t>>> out;
  for (const auto& g : SplitByRange(ms, tr)) {
    out.emplace_back();
    for (const auto& m : g) out.back().emplace_back(m.min_time, m.max_time);
  }
  return out;
}

TEST(SplitByRangeTest, Cases) {
  using G = std::vector<std::vector<std::pair<int64_t, int64_t>>>;
  EXPECT_EQ(Split({M(1, 0, 10), M(2, 10, 20), M(3, 50, 60), M(4, 90, 100)}, 30),
            (G{{{0, 10}, {10, 20}}, {{50, 60}}, {{90, 100}}}));
  // A block that does not fit its window is dropped.
  EXPECT_EQ(Split({M(1, 0, 10), M(2, 20, 40), M(3, 40, 60)}, 30),
            (G{{{0, 10}}, {{40, 60}}}));
  // Exactly the window.
  EXPECT_EQ(Split({M(1, 0, 30), M(2, 30, 60)}, 30), (G{{{0, 30}}, {{30, 60}}}));
  // Negative times use floor division.
  EXPECT_EQ(Split({M(1, -20, -10), M(2, -10, 0), M(3, 0, 10)}, 30),
            (G{{{-20, -10}, {-10, 0}}, {{0, 10}}}));
  EXPECT_TRUE(Split({}, 30).empty());
}

}  // namespace
}  // namespace tsdb::compact
