#include "tsdb/querier/series_set.h"

#include <map>
#include <random>
#include <string>
#include <vector>

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
