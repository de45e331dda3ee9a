// Head::ReplaySamples: the WAL replay's append path. Same chunks as an
// appender would build, skips what is not newer, counts unknown refs, and
// several shards replay concurrently.
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tsdb/head/head.h"
#include "tsdb/head/test_util.h"

namespace tsdb::head {
namespace {

using testing::OpenHead;
using testing::ReadAll;
using testing::TV;

constexpr int64_t kStep = 15000;

labels::Labels SeriesLabels(int i) {
  return labels::Labels::FromPairs(
      {{"__name__", "m"}, {"i", absl::StrCat(i)}, {"job", "j"}});
}

double ValueAt(int i, int64_t k) { return static_cast<double>(k * 7 + i); }

TEST(HeadReplayTest, SameContentAsAppenderAndCounts) {
  constexpr int kSeries = 50;
  constexpr int kSamples = 400;  // several chunks per series
  std::unique_ptr<Head> via_app = OpenHead();
  std::unique_ptr<Head> via_replay = OpenHead();
  for (int i = 0; i < kSeries; ++i) {
    ASSERT_TRUE(via_replay->CreateSeriesWithRef(i + 1, SeriesLabels(i)).ok());
  }
  auto app = via_app->Appender();
  std::vector<SampleRecord> recs;
  for (int k = 0; k < kSamples; ++k) {
    for (int i = 0; i < kSeries; ++i) {
      auto r = app->Append(0, SeriesLabels(i), k * kStep, ValueAt(i, k));
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(*r, static_cast<SeriesRef>(i + 1));
      recs.push_back({static_cast<SeriesRef>(i + 1), k * kStep, ValueAt(i, k)});
    }
    // Out of order, identical and different duplicates, unknown ref.
    if (k == 10) {
      recs.push_back({1, 5 * kStep, 1});
      recs.push_back({2, 10 * kStep, ValueAt(1, 10)});
      recs.push_back({3, 10 * kStep, -1});
      recs.push_back({999, 10 * kStep, 1});
    }
  }
  ASSERT_TRUE(app->Commit().ok());
  ReplaySamplesResult r = via_replay->ReplaySamples(recs.data(), recs.size());
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.appended, uint64_t{kSeries} * kSamples);
  EXPECT_EQ(r.skipped, 3u);
  EXPECT_EQ(r.unknown_refs, 1u);
  for (int i = 0; i < kSeries; ++i) {
    EXPECT_EQ(ReadAll(*via_replay, i + 1), ReadAll(*via_app, i + 1)) << i;
  }
  const HeadStats a = via_app->Stats();
  const HeadStats b = via_replay->Stats();
  EXPECT_EQ(b.samples_appended, a.samples_appended);
  EXPECT_EQ(b.num_chunks, a.num_chunks);
  EXPECT_EQ(b.chunks_created, a.chunks_created);
  EXPECT_EQ(via_replay->MinTime(), 0);
  EXPECT_EQ(via_replay->MaxTime(), (kSamples - 1) * kStep);
  // Appenders continue after the replayed samples; readers see everything.
  auto app2 = via_replay->Appender();
  EXPECT_FALSE(app2->Append(1, {}, (kSamples - 2) * kStep, 0).ok());
  ASSERT_TRUE(app2->Append(1, {}, kSamples * kStep, 1).ok());
  ASSERT_TRUE(app2->Commit().ok());
  EXPECT_EQ(ReadAll(*via_replay, 1).size(), size_t{kSamples} + 1);
}

TEST(HeadReplayTest, ShardsReplayConcurrently) {
  constexpr int kSeries = 64;
  constexpr int kShards = 4;
  constexpr int kSamples = 300;
  std::unique_ptr<Head> h = OpenHead();
  for (int i = 0; i < kSeries; ++i) {
    ASSERT_TRUE(h->CreateSeriesWithRef(i + 1, SeriesLabels(i)).ok());
  }
  std::vector<std::thread> threads;
  std::vector<uint64_t> appended(kShards, 0);
  for (int s = 0; s < kShards; ++s) {
    threads.emplace_back([&, s] {
      std::vector<SampleRecord> batch;
      for (int k = 0; k < kSamples; ++k) {
        for (int i = 0; i < kSeries; ++i) {
          const SeriesRef ref = i + 1;
          if (static_cast<int>(ref % kShards) != s) continue;
          batch.push_back({ref, k * kStep, ValueAt(i, k)});
        }
        if (batch.size() >= 100) {
          appended[s] += h->ReplaySamples(batch.data(), batch.size()).appended;
          batch.clear();
        }
      }
      appended[s] += h->ReplaySamples(batch.data(), batch.size()).appended;
    });
  }
  // A reader meanwhile sees in-order prefixes only.
  std::thread reader([&] {
    for (int round = 0; round < 20; ++round) {
      const std::vector<TV> got = ReadAll(*h, 1);
      for (size_t k = 0; k < got.size(); ++k) {
        ASSERT_EQ(got[k], TV(k * kStep, ValueAt(0, k)));
      }
    }
  });
  for (std::thread& t : threads) t.join();
  reader.join();
  uint64_t total = 0;
  for (uint64_t a : appended) total += a;
  EXPECT_EQ(total, uint64_t{kSeries} * kSamples);
  for (int i = 0; i < kSeries; ++i) {
    const std::vector<TV> got = ReadAll(*h, i + 1);
    ASSERT_EQ(got.size(), size_t{kSamples});
    EXPECT_EQ(got.back(), TV((kSamples - 1) * kStep, ValueAt(i, kSamples - 1)));
  }
}

}  // namespace
}  // namespace tsdb::head
