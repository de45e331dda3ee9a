#include "tsdb/querier/select.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tsdb::querier {
namespace {

using chunkenc::Sample;
using labels::Labels;
using labels::Matcher;
using labels::MatchType;

// A chunk over samples in memory.
class MemChunk final : public chunkenc::Chunk {
 public:
  explicit MemChunk(std::vector<Sample> s) : samples_(std::move(s)) {}
  uint8_t encoding() const override { return 0x7F; }
  std::string_view Bytes() const override { return {}; }
  int NumSamples() const override { return static_cast<int>(samples_.size()); }
  absl::StatusOr<std::unique_ptr<chunkenc::ChunkAppender>> Appender() override {
    return absl::UnimplementedError("read-only");
  }
  std::unique_ptr<chunkenc::SampleIterator> Iterator() const override {
    return VectorSeries(Labels(), samples_)->Iterator();
  }

 private:
  std::vector<Sample> samples_;
};

// One source: series (ref = position + 1), each with chunks of samples.
// Chunk ref = series ref << 16 | chunk index. A chunk ref listed in `broken`
// fails to read.
class FakeSource final : public IndexReader, public ChunkReader {
 public:
  void Add(Labels l, std::vector<std::vector<Sample>> chunks) {
    series_.push_back({std::move(l), std::move(chunks)});
  }
  std::set<ChunkRef> broken;

  absl::StatusOr<std::vector<std::string>> LabelNames() const override {
    return std::vector<std::string>{"l"};
  }
  absl::StatusOr<std::vector<std::string>> LabelValues(
      std::string_view name) const override {
    std::set<std::string> v;
    for (const auto& s : series_) {
      if (s.first.Has(name)) v.insert(std::string(s.first.Get(name)));
    }
    return std::vector<std::string>(v.begin(), v.end());
  }
  std::unique_ptr<postings::Postings> Postings(
      std::string_view name, std::string_view value) const override {
    std::vector<SeriesRef> refs;
    for (size_t i = 0; i < series_.size(); ++i) {
      if (name.empty() || series_[i].first.Get(name) == value) {
        refs.push_back(i + 1);
      }
    }
    return std::make_unique<postings::ListPostings>(refs);
  }
  absl::Status Series(SeriesRef ref, Labels* lset,
                      std::vector<ChunkMeta>* chunks) const override {
    if (ref == 0 || ref > series_.size()) return absl::NotFoundError("ref");
    const auto& s = series_[ref - 1];
    *lset = s.first;
    chunks->clear();
    for (size_t c = 0; c < s.second.size(); ++c) {
      chunks->push_back(
          {ref << 16 | c, s.second[c].front().t, s.second[c].back().t});
    }
    return absl::OkStatus();
  }
  std::unique_ptr<postings::Postings> SortedPostings(
      std::unique_ptr<postings::Postings> p) const override {
    return p;
  }
  absl::StatusOr<std::unique_ptr<chunkenc::Chunk>> Chunk(
      const ChunkMeta& meta) const override {
    if (broken.count(meta.ref)) return absl::DataLossError("broken chunk");
    const auto& s = series_[(meta.ref >> 16) - 1];
    return std::unique_ptr<chunkenc::Chunk>(
        new MemChunk(s.second[meta.ref & 0xFFFF]));
  }

 private:
  std::vector<std::pair<Labels, std::vector<std::vector<Sample>>>> series_;
};

std::vector<int64_t> Times(chunkenc::SampleIterator& it) {
  std::vector<int64_t> out;
  while (it.Next()) out.push_back(it.At().t);
  return out;
}

std::vector<std::vector<Sample>> Chunks(
    std::initializer_list<std::vector<int64_t>> ts) {
  std::vector<std::vector<Sample>> out;
  for (const auto& c : ts) {
    std::vector<Sample> s;
    for (int64_t t : c) s.push_back({t, static_cast<double>(t)});
    out.push_back(s);
  }
  return out;
}

Matcher All() { return *Matcher::Make(MatchType::kRegexp, "l", ".+"); }

TEST(SelectTest, TrimsToRangeAndSkipsEmptySeries) {
  FakeSource src;
  src.Add(Labels::FromPairs({{"l", "a"}}), Chunks({{1, 2, 3}, {10, 11, 12}}));
  src.Add(Labels::FromPairs({{"l", "b"}}), Chunks({{20, 30}}));
  SelectOptions o;
  o.mint = 2;
  o.maxt = 11;
  auto set = Select(src, src, {All()}, o);
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_TRUE((*set)->Next());
  EXPECT_EQ((*set)->At().Labels().Get("l"), "a");
  auto it = (*set)->At().Iterator();
  EXPECT_EQ(Times(*it), (std::vector<int64_t>{2, 3, 10, 11}));
  EXPECT_FALSE((*set)->Next());  // b has nothing in [2, 11]
  EXPECT_TRUE((*set)->status().ok());
}

TEST(SelectTest, AppliesDeletedIntervals) {
  FakeSource src;
  src.Add(Labels::FromPairs({{"l", "a"}}), Chunks({{1, 2, 3}, {10, 11, 12}}));
  src.Add(Labels::FromPairs({{"l", "b"}}), Chunks({{5, 6}}));
  DeletedIntervalsFn del = [](SeriesRef ref) {
    if (ref == 1) return tombstones::Intervals{{2, 2}, {11, 100}};
    return tombstones::Intervals{{0, 10}};  // b wholly deleted
  };
  SelectOptions o;
  o.deleted = &del;
  auto set = Select(src, src, {All()}, o);
  ASSERT_TRUE(set.ok());
  ASSERT_TRUE((*set)->Next());
  auto it = (*set)->At().Iterator();
  EXPECT_EQ(Times(*it), (std::vector<int64_t>{1, 3, 10}));
  EXPECT_FALSE((*set)->Next());
}

TEST(SelectTest, SeekSkipsChunksAndRespectsRange) {
  FakeSource src;
  src.Add(Labels::FromPairs({{"l", "a"}}),
          Chunks({{1, 2, 3}, {10, 11, 12}, {20, 21}}));
  SelectOptions o;
  o.maxt = 20;
  auto set = Select(src, src, {All()}, o);
  ASSERT_TRUE(set.ok());
  ASSERT_TRUE((*set)->Next());
  auto it = (*set)->At().Iterator();
  ASSERT_TRUE(it->Seek(4));
  EXPECT_EQ(it->At().t, 10);
  ASSERT_TRUE(it->Seek(5));  // never backwards
  EXPECT_EQ(it->At().t, 10);
  ASSERT_TRUE(it->Seek(13));
  EXPECT_EQ(it->At().t, 20);
  EXPECT_FALSE(it->Next());  // 21 > maxt
  EXPECT_FALSE(it->Seek(0));
}

TEST(SelectTest, UnreadableChunkEndsIteratorWithError) {
  FakeSource src;
  src.Add(Labels::FromPairs({{"l", "a"}}), Chunks({{1, 2}, {3, 4}}));
  src.broken.insert(uint64_t{1} << 16 | 1);
  auto set = Select(src, src, {All()}, {});
  ASSERT_TRUE(set.ok());
  ASSERT_TRUE((*set)->Next());
  auto it = (*set)->At().Iterator();
  EXPECT_EQ(Times(*it), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(it->status().code(), absl::StatusCode::kDataLoss);
}

// Random series, ranges and deletions against a brute-force filter.
TEST(SelectTest, AgreesWithBruteForce) {
  std::mt19937 rng(5);
  for (int round = 0; round < 200; ++round) {
    FakeSource src;
    std::map<std::string, std::vector<int64_t>> all;
    const int nseries = 1 + rng() % 4;
    for (int s = 0; s < nseries; ++s) {
      std::vector<std::vector<Sample>> chunks;
      int64_t t = rng() % 5;
      const std::string name(1, static_cast<char>('a' + s));
      for (int c = 0; c < 1 + static_cast<int>(rng() % 4); ++c) {
        std::vector<Sample> samples;
        for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) {
          samples.push_back({t, 0});
          all[name].push_back(t);
          t += 1 + rng() % 3;
        }
        chunks.push_back(samples);
      }
      src.Add(Labels::FromPairs({{"l", name}}), chunks);
    }
    SelectOptions o;
    o.mint = rng() % 20;
    o.maxt = o.mint + rng() % 30;
    const tombstones::Interval d{static_cast<int64_t>(rng() % 30),
                                 static_cast<int64_t>(rng() % 30)};
    DeletedIntervalsFn del = [&](SeriesRef) {
      return d.mint <= d.maxt ? tombstones::Intervals{d}
                              : tombstones::Intervals{};
    };
    o.deleted = &del;
    std::map<std::string, std::vector<int64_t>> want;
    for (const auto& [name, ts] : all) {
      for (int64_t t : ts) {
        if (t >= o.mint && t <= o.maxt &&
            !(d.mint <= d.maxt && d.InBounds(t))) {
          want[name].push_back(t);
        }
      }
    }
    std::map<std::string, std::vector<int64_t>> got;
    auto set = Select(src, src, {All()}, o);
    ASSERT_TRUE(set.ok());
    while ((*set)->Next()) {
      auto it = (*set)->At().Iterator();
      auto ts = Times(*it);
      // A selected series may come out empty only if its chunk range
      // overlapped but every sample in it was deleted or outside.
      if (!ts.empty()) got[std::string((*set)->At().Labels().Get("l"))] = ts;
    }
    EXPECT_EQ(got, want) << "round " << round;
  }
}

// Overlapping chunks of one series (the head's out-of-order chunks, blocks
// of vertical compaction): merged by timestamp, one sample per timestamp,
// the chunk listed first winning; Seek agrees with the merged sequence.
TEST(SelectTest, MergesOverlappingChunksAgainstBruteForce) {
  std::mt19937 rng(11);
  for (int round = 0; round < 300; ++round) {
    std::vector<std::vector<Sample>> chunks;
    const int nchunks = 1 + static_cast<int>(rng() % 5);
    for (int c = 0; c < nchunks; ++c) {
      std::set<int64_t> ts;
      const int64_t base = rng() % 40;
      const int n = 1 + static_cast<int>(rng() % 8);
      for (int k = 0; k < n; ++k) ts.insert(base + rng() % 20);
      std::vector<Sample> samples;
      for (int64_t t : ts) samples.push_back({t, c * 1000.0 + t});
      chunks.push_back(samples);
    }
    std::stable_sort(
        chunks.begin(), chunks.end(),
        [](const auto& a, const auto& b) { return a.front().t < b.front().t; });
    SelectOptions o;
    o.mint = rng() % 30;
    o.maxt = o.mint + rng() % 40;
    std::map<int64_t, double> want;  // first listed chunk wins
    for (const auto& c : chunks) {
      for (const Sample& x : c) {
        if (x.t >= o.mint && x.t <= o.maxt) want.emplace(x.t, x.v);
      }
    }
    FakeSource src;
    src.Add(Labels::FromPairs({{"l", "a"}}), chunks);
    auto set = Select(src, src, {All()}, o);
    ASSERT_TRUE(set.ok());
    std::map<int64_t, double> got;
    std::vector<int64_t> order;
    if ((*set)->Next()) {
      auto it = (*set)->At().Iterator();
      while (it->Next()) {
        got[it->At().t] = it->At().v;
        order.push_back(it->At().t);
      }
      EXPECT_TRUE(it->status().ok());
      EXPECT_FALSE((*set)->Next());
    }
    EXPECT_EQ(got, want) << "round " << round;
    EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
    EXPECT_EQ(order.size(), got.size()) << "duplicate timestamps";

    // Seeks (non-decreasing) land on the first sample >= target.
    set = Select(src, src, {All()}, o);
    ASSERT_TRUE(set.ok());
    if (!(*set)->Next()) continue;
    auto it = (*set)->At().Iterator();
    int64_t target = 0;
    for (int k = 0; k < 6; ++k) {
      target += rng() % 15;
      auto w = want.lower_bound(target);
      const bool ok = it->Seek(target);
      ASSERT_EQ(ok, w != want.end()) << "round " << round << " seek " << target;
      if (!ok) break;
      EXPECT_EQ(it->At().t, w->first);
      EXPECT_EQ(it->At().v, w->second);
      target = it->At().t;
    }
  }
}

}  // namespace
}  // namespace tsdb::querier
