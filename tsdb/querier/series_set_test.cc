#include "tsdb/querier/series_set.h"

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace tsdb::querier {
namespace {

using chunkenc::Sample;
using labels::Labels;

std::vector<Sample> Drain(chunkenc::SampleIterator& it) {
  std::vector<Sample> out;
  while (it.Next()) out.push_back(it.At());
  EXPECT_TRUE(it.status().ok());
  return out;
}

std::vector<std::pair<int64_t, double>> Pairs(const std::vector<Sample>& s) {
  std::vector<std::pair<int64_t, double>> out;
  for (const Sample& x : s) out.emplace_back(x.t, x.v);
  return out;
}

std::unique_ptr<chunkenc::SampleIterator> Iter(std::vector<Sample> s) {
  return VectorSeries(Labels::FromPairs({{"a", "b"}}), std::move(s))
      ->Iterator();
}

TEST(MergeSampleIteratorsTest, InterleavesAndDedupsFirstWins) {
  std::vector<std::unique_ptr<chunkenc::SampleIterator>> its;
  its.push_back(Iter({{1, 10}, {3, 30}, {5, 50}}));
  its.push_back(Iter({{2, 20}, {3, 99}, {6, 60}}));
  its.push_back(Iter({}));
  auto m = MergeSampleIterators(std::move(its));
  EXPECT_EQ(Pairs(Drain(*m)),
            (std::vector<std::pair<int64_t, double>>{
                {1, 10}, {2, 20}, {3, 30}, {5, 50}, {6, 60}}));
}

TEST(MergeSampleIteratorsTest, SeekSemantics) {
  std::vector<std::unique_ptr<chunkenc::SampleIterator>> its;
  its.push_back(Iter({{1, 1}, {4, 4}}));
  its.push_back(Iter({{2, 2}, {8, 8}}));
  auto m = MergeSampleIterators(std::move(its));
  ASSERT_TRUE(m->Seek(3));
  EXPECT_EQ(m->At().t, 4);
  ASSERT_TRUE(m->Seek(2));  // never backwards
  EXPECT_EQ(m->At().t, 4);
  ASSERT_TRUE(m->Next());
  EXPECT_EQ(m->At().t, 8);
  EXPECT_FALSE(m->Seek(9));
  EXPECT_FALSE(m->Next());
}

// Fails with `err` after yielding `samples`.
class FailingIterator final : public chunkenc::SampleIterator {
 public:
  FailingIterator(std::vector<Sample> samples, absl::Status err)
      : samples_(std::move(samples)), err_(std::move(err)) {}
  bool Next() override {
    if (++pos_ < samples_.size()) return true;
    status_ = err_;
    return false;
  }
  bool Seek(int64_t t) override {
    while (pos_ == SIZE_MAX || (pos_ < samples_.size() && samples_[pos_].t < t))
      if (!Next()) return false;
    return pos_ < samples_.size();
  }
  Sample At() const override { return samples_[pos_]; }
  absl::Status status() const override { return status_; }

 private:
  std::vector<Sample> samples_;
  absl::Status err_;
  absl::Status status_;
  size_t pos_ = SIZE_MAX;
};

TEST(MergeSampleIteratorsTest, ErrorOfAnyIteratorEndsTheMerge) {
  std::vector<std::unique_ptr<chunkenc::SampleIterator>> its;
  its.push_back(Iter({{1, 1}, {2, 2}, {10, 10}}));
  its.push_back(std::make_unique<FailingIterator>(
      std::vector<Sample>{{3, 3}}, absl::DataLossError("bad chunk")));
  auto m = MergeSampleIterators(std::move(its));
  std::vector<int64_t> got;
  while (m->Next()) got.push_back(m->At().t);
  EXPECT_EQ(got, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_TRUE(absl::IsDataLoss(m->status())) << m->status();
  EXPECT_FALSE(m->Next());
}

TEST(MergeSampleIteratorsTest, MatchesBruteForceOnRandomRuns) {
  // Sources made of runs that are sometimes disjoint (the fast path) and
  // sometimes interleaved or tied (the full pick), with Seeks mixed in.
  std::mt19937_64 rng(7);
  for (int round = 0; round < 300; ++round) {
    const int n = 1 + static_cast<int>(rng() % 4);
    std::vector<std::vector<Sample>> srcs(n);
    std::map<int64_t, double> want;  // first source wins on ties
    for (int i = n - 1; i >= 0; --i) {
      int64_t t = static_cast<int64_t>(rng() % 50);
      const int len = static_cast<int>(rng() % 30);
      for (int k = 0; k < len; ++k) {
        t += 1 + static_cast<int64_t>(rng() % (rng() % 2 ? 2 : 40));
        srcs[i].push_back({t, static_cast<double>(i * 1000 + k)});
      }
    }
    for (int i = n - 1; i >= 0; --i) {
      for (const Sample& s : srcs[i]) want[s.t] = s.v;
    }
    std::vector<std::unique_ptr<chunkenc::SampleIterator>> its;
    for (auto& s : srcs) its.push_back(Iter(s));
    auto m = MergeSampleIterators(std::move(its));
    auto w = want.begin();
    bool ok = true;
    while (ok && w != want.end()) {
      if (rng() % 8 == 0) {
        // Seek to a random point ahead (possibly the current one).
        const int64_t target = w->first + static_cast<int64_t>(rng() % 20);
        while (w != want.end() && w->first < target) ++w;
        ok = m->Seek(target);
      } else {
        ok = m->Next();
      }
      if (w == want.end()) {
        EXPECT_FALSE(ok) << "round " << round;
        break;
      }
      ASSERT_TRUE(ok) << "round " << round;
      EXPECT_EQ(m->At().t, w->first) << "round " << round;
      EXPECT_EQ(m->At().v, w->second) << "round " << round;
      ++w;
    }
    EXPECT_EQ(w, want.end());
    EXPECT_FALSE(m->Next()) << "round " << round;
    EXPECT_TRUE(m->status().ok());
  }
}

TEST(MergeSeriesSetsTest, MatchesBruteForceOnRandomSets) {
  std::mt19937 rng(3);
  for (int round = 0; round < 50; ++round) {
    const int nsets = 1 + rng() % 4;
    // Reference: label value -> timestamp -> value of the first set.
    std::map<std::string, std::map<int64_t, double>> want;
    std::vector<std::unique_ptr<SeriesSet>> sets;
    for (int s = 0; s < nsets; ++s) {
      std::map<std::string, std::vector<Sample>> series;
      const int n = rng() % 6;
      for (int i = 0; i < n; ++i) {
        const std::string v =
            std::string(1, static_cast<char>('a' + rng() % 8));
        auto& samples = series[v];
        if (!samples.empty()) continue;
        int64_t t = rng() % 5;
        for (int k = 0; k < 5; ++k) {
          t += 1 + rng() % 3;
          samples.push_back({t, static_cast<double>(s * 100 + k)});
          want[v].emplace(t, s * 100 + k);  // emplace: first set wins
        }
      }
      std::vector<std::unique_ptr<Series>> vec;
      for (auto& [v, samples] : series) {
        vec.push_back(VectorSeries(Labels::FromPairs({{"l", v}}), samples));
      }
      sets.push_back(VectorSeriesSet(std::move(vec)));
    }
    auto merged = MergeSeriesSets(std::move(sets));
    auto w = want.begin();
    while (merged->Next()) {
      ASSERT_NE(w, want.end());
      EXPECT_EQ(merged->At().Labels().Get("l"), w->first);
      auto it = merged->At().Iterator();
      std::vector<std::pair<int64_t, double>> expect(w->second.begin(),
                                                     w->second.end());
      EXPECT_EQ(Pairs(Drain(*it)), expect) << "series " << w->first;
      ++w;
    }
    EXPECT_TRUE(merged->status().ok());
    EXPECT_EQ(w, want.end());
  }
}

}  // namespace
}  // namespace tsdb::querier
