#include "tsdb/querier/postings_for_matchers.h"

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tsdb::querier {
namespace {

using labels::Labels;
using labels::Matcher;
using labels::MatchType;

// An index over series held in a vector; series ref = position + 1.
class FakeIndex final : public IndexReader {
 public:
  explicit FakeIndex(std::vector<Labels> series) : series_(std::move(series)) {
    for (size_t i = 0; i < series_.size(); ++i) {
      for (const auto& l : series_[i]) {
        postings_[{l.name, l.value}].push_back(i + 1);
      }
      postings_[{"", ""}].push_back(i + 1);
    }
  }
  absl::StatusOr<std::vector<std::string>> LabelNames() const override {
    std::set<std::string> n;
    for (const auto& [k, v] : postings_) {
      if (!k.first.empty()) n.insert(k.first);
    }
    return std::vector<std::string>(n.begin(), n.end());
  }
  absl::StatusOr<std::vector<std::string>> LabelValues(
      std::string_view name) const override {
    std::vector<std::string> out;
    for (const auto& [k, v] : postings_) {
      if (k.first == name && !name.empty()) out.push_back(k.second);
    }
    return out;
  }
  std::unique_ptr<postings::Postings> Postings(
      std::string_view name, std::string_view value) const override {
    auto it = postings_.find({std::string(name), std::string(value)});
    if (it == postings_.end()) {
      return std::make_unique<postings::EmptyPostings>();
    }
    return std::make_unique<postings::ListPostings>(it->second);
  }
  absl::Status Series(SeriesRef ref, Labels* lset,
                      std::vector<ChunkMeta>* chunks) const override {
    *lset = series_[ref - 1];
    chunks->clear();
    return absl::OkStatus();
  }
  std::unique_ptr<postings::Postings> SortedPostings(
      std::unique_ptr<postings::Postings> p) const override {
    return p;
  }

 private:
  std::vector<Labels> series_;
  std::map<std::pair<std::string, std::string>, std::vector<SeriesRef>>
      postings_;
};

std::vector<SeriesRef> Select(const FakeIndex& ix,
                              const std::vector<Matcher>& ms) {
  auto p = PostingsForMatchers(ix, ms);
  EXPECT_TRUE(p.ok()) << p.status();
  std::vector<SeriesRef> out;
  EXPECT_TRUE(postings::ExpandPostings(**p, &out).ok());
  return out;
}

Matcher M(MatchType t, std::string n, std::string v) {
  return *Matcher::Make(t, std::move(n), std::move(v));
}

TEST(PostingsForMatchersTest, EmptyValueRule) {
  const FakeIndex ix({Labels::FromPairs({{"n", "1"}}),
                      Labels::FromPairs({{"n", "1"}, {"foo", "bar"}}),
                      Labels::FromPairs({{"n", "2"}, {"foo", "baz"}})});
  EXPECT_EQ(Select(ix, {M(MatchType::kEqual, "foo", "")}),
            std::vector<SeriesRef>{1});
  EXPECT_EQ(Select(ix, {M(MatchType::kNotEqual, "foo", "")}),
            (std::vector<SeriesRef>{2, 3}));
  EXPECT_EQ(Select(ix, {M(MatchType::kRegexp, "foo", "bar|")}),
            (std::vector<SeriesRef>{1, 2}));
  EXPECT_EQ(Select(ix, {M(MatchType::kNotEqual, "foo", "bar")}),
            (std::vector<SeriesRef>{1, 3}));
  EXPECT_EQ(Select(ix, {M(MatchType::kEqual, "n", "1"),
                        M(MatchType::kNotRegexp, "foo", "ba.")}),
            std::vector<SeriesRef>{1});
  EXPECT_EQ(Select(ix, {M(MatchType::kRegexp, "__name__", "(?s:.*)")}),
            (std::vector<SeriesRef>{1, 2, 3}));
  EXPECT_TRUE(Select(ix, {M(MatchType::kEqual, "missing", "x")}).empty());
}

// Every combination of matcher types against a brute-force scan.
TEST(PostingsForMatchersTest, AgreesWithBruteForceOnRandomData) {
  std::mt19937 rng(11);
  const std::vector<std::string> names = {"a", "b", "c"};
  const std::vector<std::string> values = {"", "x", "y", "xy", "z"};
  const std::vector<std::string> regexes = {"",   "x",  "x|y", "x.*", ".*",
                                            ".+", "x|", "y|z", "[xz]"};
  for (int round = 0; round < 40; ++round) {
    std::vector<Labels> series;
    std::set<std::string> seen;
    for (int i = 0; i < 30; ++i) {
      std::vector<labels::Label> ls = {{"id", std::to_string(i)}};
      for (const auto& n : names) {
        const std::string& v = values[rng() % values.size()];
        if (!v.empty()) ls.push_back({n, v});
      }
      series.push_back(Labels::FromUnsorted(ls));
    }
    const FakeIndex ix(series);
    for (int q = 0; q < 50; ++q) {
      std::vector<Matcher> ms;
      const int nm = 1 + rng() % 3;
      for (int k = 0; k < nm; ++k) {
        const auto t = static_cast<MatchType>(rng() % 4);
        const bool re = t == MatchType::kRegexp || t == MatchType::kNotRegexp;
        ms.push_back(M(t, names[rng() % names.size()],
                       re ? regexes[rng() % regexes.size()]
                          : values[rng() % values.size()]));
      }
      std::vector<SeriesRef> want;
      for (size_t i = 0; i < series.size(); ++i) {
        bool ok = true;
        for (const Matcher& m : ms)
          ok = ok && m.Matches(series[i].Get(m.name()));
        if (ok) want.push_back(i + 1);
      }
      std::string desc;
      for (const Matcher& m : ms) desc += m.ToString() + " ";
      EXPECT_EQ(Select(ix, ms), want) << desc;
    }
  }
}

}  // namespace
}  // namespace tsdb::querier
