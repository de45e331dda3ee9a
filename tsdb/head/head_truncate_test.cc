// Truncation: dropping old chunks, garbage-collecting series, postings and
// lifecycle hooks staying consistent, time bounds moving up.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tsdb/head/head.h"
#include "tsdb/head/test_util.h"

namespace tsdb::head {
namespace {

using labels::Labels;
using testing::OpenHead;
using testing::ReadAll;
using testing::TestOptions;
using testing::TV;

constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

class Lifecycle : public SeriesLifecycleCallback {
 public:
  void PostDeletion(const std::vector<Labels>& d) override {
    deleted.insert(deleted.end(), d.begin(), d.end());
  }
  std::vector<Labels> deleted;
};

class HeadTruncateTest : public ::testing::Test {
 protected:
  HeadTruncateTest() {
    HeadOptions opts = TestOptions();
    opts.lifecycle = &lifecycle_;
    head_ = OpenHead(opts);
  }

  SeriesRef Add(const Labels& l, int64_t from, int64_t to, int64_t step) {
    auto app = head_->Appender(AppenderOptions{.replay = true});
    SeriesRef ref = 0;
    for (int64_t t = from; t < to; t += step) {
      absl::StatusOr<SeriesRef> r = app->Append(ref, l, t, 1);
      EXPECT_TRUE(r.ok()) << r.status();
      ref = *r;
    }
    EXPECT_TRUE(app->Commit().ok());
    return ref;
  }

  std::vector<SeriesRef> AllPostings() {
    HeadReaders r = head_->Readers(kMin, kMax);
    std::vector<SeriesRef> out;
    EXPECT_TRUE(
        postings::ExpandPostings(*r.index->Postings("", ""), &out).ok());
    return out;
  }

  Lifecycle lifecycle_;
  std::unique_ptr<Head> head_;
};

const Labels kOld = Labels::FromPairs({{"job", "old"}, {"only", "old"}});
const Labels kLive = Labels::FromPairs({{"job", "live"}});

TEST_F(HeadTruncateTest, GarbageCollectsSeriesWithoutChunks) {
  const SeriesRef old = Add(kOld, 0, kHour, 15000);
  const SeriesRef live = Add(kLive, 0, 4 * kHour, 15000);
  EXPECT_EQ(head_->Stats().num_series, 2u);
  const uint64_t chunks_before = head_->Stats().num_chunks;

  ASSERT_TRUE(head_->Truncate(2 * kHour).ok());

  EXPECT_EQ(head_->Stats().num_series, 1u);
  EXPECT_EQ(head_->Stats().series_removed, 1u);
  EXPECT_LT(head_->Stats().num_chunks, chunks_before);
  ASSERT_EQ(lifecycle_.deleted.size(), 1u);
  EXPECT_EQ(lifecycle_.deleted[0], kOld);
  EXPECT_EQ(AllPostings(), std::vector<SeriesRef>{live});
  EXPECT_EQ(head_->SeriesLabels(old).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(head_->GetRef(kOld), 0u);

  HeadReaders r = head_->Readers(kMin, kMax);
  EXPECT_EQ(*r.index->LabelValues("job"), std::vector<std::string>{"live"});
  EXPECT_TRUE(r.index->LabelValues("only")->empty());
  std::vector<TV> got = ReadAll(*head_, live);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.front().first, 2 * kHour);  // whole chunks before it dropped
}

TEST_F(HeadTruncateTest, RaisesMinTimeAndMinValidTime) {
  Add(kLive, 0, 4 * kHour, 15000);
  EXPECT_EQ(head_->MinTime(), 0);
  ASSERT_TRUE(head_->Truncate(2 * kHour).ok());
  EXPECT_EQ(head_->MinTime(), 2 * kHour);
  EXPECT_EQ(head_->MinValidTime(), 2 * kHour);
  // Lower or equal: nothing to do.
  ASSERT_TRUE(head_->Truncate(kHour).ok());
  EXPECT_EQ(head_->MinTime(), 2 * kHour);
}

TEST_F(HeadTruncateTest, MinTimeMovesUpToTheOldestSampleLeft) {
  Add(kOld, 0, 1000, 100);
  Add(kLive, 3 * kHour, 4 * kHour, 15000);
  ASSERT_TRUE(head_->Truncate(1000).ok());
  // The oldest sample left is at 3h, and appends may reach back to 4h-15s
  // minus 1h: the head starts at the lower of the two.
  EXPECT_EQ(head_->MinTime(), 3 * kHour - 15000);
}

TEST_F(HeadTruncateTest, SeriesWithPendingAppendsSurvive) {
  auto app = head_->Appender(AppenderOptions{.replay = true});
  const SeriesRef fresh = *app->Append(0, kOld, 5 * kHour, 1);
  Add(kLive, 4 * kHour, 5 * kHour, 15000);
  // `fresh` has no chunk yet but a pending sample: it must stay.
  ASSERT_TRUE(head_->Truncate(4 * kHour).ok());
  EXPECT_TRUE(lifecycle_.deleted.empty());
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(ReadAll(*head_, fresh), (std::vector<TV>{{5 * kHour, 1}}));
}

TEST_F(HeadTruncateTest, RolledBackSeriesAreCollected) {
  auto app = head_->Appender();
  ASSERT_TRUE(app->Append(0, kOld, 1000, 1).ok());
  ASSERT_TRUE(app->Rollback().ok());
  ASSERT_TRUE(head_->Truncate(500).ok());  // head min 1000: no-op
  ASSERT_TRUE(head_->Truncate(2000).ok());
  EXPECT_EQ(head_->Stats().num_series, 0u);
  ASSERT_EQ(lifecycle_.deleted.size(), 1u);
}

TEST_F(HeadTruncateTest, StaleRefOfCollectedSeriesFallsBackToLabels) {
  const SeriesRef old = Add(kOld, 0, 1000, 100);
  Add(kLive, 3 * kHour, 4 * kHour, 15000);
  ASSERT_TRUE(head_->Truncate(2 * kHour).ok());
  auto app = head_->Appender();
  absl::StatusOr<SeriesRef> r = app->Append(old, kOld, 4 * kHour, 1);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(*r, old);  // re-created under a new ref
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(ReadAll(*head_, *r), (std::vector<TV>{{4 * kHour, 1}}));
  EXPECT_EQ(head_->GetRef(kOld), *r);
}

TEST_F(HeadTruncateTest, OpenReaderKeepsWorkingAcrossCollection) {
  const SeriesRef old = Add(kOld, 0, 1000, 100);
  Add(kLive, 3 * kHour, 4 * kHour, 15000);
  HeadReaders r = head_->Readers(kMin, kMax);
  ASSERT_TRUE(head_->Truncate(2 * kHour).ok());
  Labels lset;
  std::vector<ChunkMeta> metas;
  EXPECT_EQ(r.index->Series(old, &lset, &metas).code(),
            absl::StatusCode::kNotFound);
  // The reader's postings snapshot may still list it; its chunks are gone.
  ChunkMeta m;
  m.ref = PackHeadChunkRef(old, 0);
  EXPECT_EQ(r.chunks->Chunk(m).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(HeadTruncateTest, MemoryStatsShrink) {
  for (int i = 0; i < 200; ++i) {
    Add(Labels::FromPairs({{"i", std::to_string(i)}, {"job", "old"}}), 0, 1000,
        100);
  }
  Add(kLive, 3 * kHour, 4 * kHour, 15000);
  const HeadMemoryStats before = head_->MemoryStats();
  EXPECT_GT(before.series, 0u);
  EXPECT_EQ(before.total,
            before.series + before.symbols + before.postings + before.stripes);
  ASSERT_TRUE(head_->Truncate(2 * kHour).ok());
  const HeadMemoryStats after = head_->MemoryStats();
  EXPECT_LT(after.series, before.series / 10);
  EXPECT_LT(after.postings, before.postings);
}

}  // namespace
}  // namespace tsdb::head
