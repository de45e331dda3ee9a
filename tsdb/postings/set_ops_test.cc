#include "tsdb/postings/set_ops.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace tsdb::postings {
namespace {

using Refs = std::vector<SeriesRef>;

std::unique_ptr<Postings> L(Refs r) {
  return std::make_unique<ListPostings>(std::move(r));
}

Refs Expand(Postings& p) {
  Refs out;
  EXPECT_TRUE(ExpandPostings(p, &out).ok());
  return out;
}

// The Postings contract over a sorted vector, written independently of
// ListPostings so the test does not trust the code it checks.
class Model {
 public:
  explicit Model(Refs r) : r_(std::move(r)) {}
  bool Next() {
    ++pos_;
    return pos_ < static_cast<int64_t>(r_.size());
  }
  bool Seek(SeriesRef v) {
    if (pos_ < 0) pos_ = 0;
    while (pos_ < static_cast<int64_t>(r_.size()) && r_[pos_] < v) ++pos_;
    return pos_ < static_cast<int64_t>(r_.size());
  }
  SeriesRef At() const { return r_[pos_]; }

 private:
  Refs r_;
  int64_t pos_ = -1;
};

Refs RandomSet(std::mt19937_64& rng, int max_len, SeriesRef universe) {
  std::set<SeriesRef> s;
  const int n = std::uniform_int_distribution<int>(0, max_len)(rng);
  for (int i = 0; i < n; ++i) {
    s.insert(std::uniform_int_distribution<SeriesRef>(1, universe)(rng));
  }
  return Refs(s.begin(), s.end());
}

Refs BruteIntersect(const std::vector<Refs>& sets) {
  if (sets.empty()) return {};
  Refs out = sets[0];
  for (size_t i = 1; i < sets.size(); ++i) {
    Refs next;
    std::set_intersection(out.begin(), out.end(), sets[i].begin(),
                          sets[i].end(), std::back_inserter(next));
    out = std::move(next);
  }
  return out;
}

Refs BruteMerge(const std::vector<Refs>& sets) {
  std::set<SeriesRef> s;
  for (const Refs& r : sets) s.insert(r.begin(), r.end());
  return Refs(s.begin(), s.end());
}

Refs BruteWithout(const Refs& a, const Refs& b) {
  Refs out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(),
                      std::back_inserter(out));
  return out;
}

// Drives `p` and a model of `expected` with the same random Next/Seek calls.
void CheckAgainstModel(std::mt19937_64& rng, Postings& p, const Refs& expected,
                       SeriesRef universe) {
  Model m(expected);
  for (int step = 0; step < 200; ++step) {
    bool want, got;
    if (rng() % 3 == 0) {
      want = m.Next();
      got = p.Next();
    } else {
      const SeriesRef v =
          std::uniform_int_distribution<SeriesRef>(0, universe + 2)(rng);
      want = m.Seek(v);
      got = p.Seek(v);
    }
    ASSERT_EQ(got, want) << "step " << step;
    if (!want) break;
    ASSERT_EQ(p.At(), m.At()) << "step " << step;
  }
  EXPECT_TRUE(p.status().ok());
}

TEST(SetOpsTest, IntersectSimple) {
  std::vector<std::unique_ptr<Postings>> in;
  in.push_back(L({1, 2, 3, 4, 5, 9}));
  in.push_back(L({2, 4, 5, 9, 10}));
  in.push_back(L({0, 2, 5, 9}));
  auto p = Intersect(std::move(in));
  EXPECT_EQ(Expand(*p), (Refs{2, 5, 9}));
}

TEST(SetOpsTest, MergeSimple) {
  std::vector<std::unique_ptr<Postings>> in;
  in.push_back(L({1, 3, 5}));
  in.push_back(L({2, 3, 6}));
  in.push_back(L({}));
  auto p = Merge(std::move(in));
  EXPECT_EQ(Expand(*p), (Refs{1, 2, 3, 5, 6}));
}

TEST(SetOpsTest, WithoutSimple) {
  auto p = Without(L({1, 2, 3, 4, 5}), L({2, 4, 6}));
  EXPECT_EQ(Expand(*p), (Refs{1, 3, 5}));
}

TEST(SetOpsTest, EmptyInputs) {
  EXPECT_TRUE(Expand(*Intersect({})).empty());
  EXPECT_TRUE(Expand(*Merge({})).empty());
  EXPECT_TRUE(Expand(*Without(L({}), L({1}))).empty());
  EXPECT_EQ(Expand(*Without(L({1, 2}), L({}))), (Refs{1, 2}));
}

TEST(SetOpsTest, SeekStaysOnCurrent) {
  std::vector<std::unique_ptr<Postings>> in;
  in.push_back(L({10, 20, 30}));
  in.push_back(L({20, 30}));
  auto p = Merge(std::move(in));
  ASSERT_TRUE(p->Seek(15));
  EXPECT_EQ(p->At(), 20u);
  ASSERT_TRUE(p->Seek(5));  // never backwards
  EXPECT_EQ(p->At(), 20u);
  ASSERT_TRUE(p->Next());
  EXPECT_EQ(p->At(), 30u);
  EXPECT_FALSE(p->Seek(31));
  EXPECT_FALSE(p->Next());
}

TEST(SetOpsTest, ErrorsPropagate) {
  auto err = [] {
    return std::make_unique<EmptyPostings>(absl::DataLossError("bad"));
  };
  {
    std::vector<std::unique_ptr<Postings>> in;
    in.push_back(L({1, 2}));
    in.push_back(err());
    auto p = Intersect(std::move(in));
    EXPECT_FALSE(p->Next());
    EXPECT_EQ(p->status().code(), absl::StatusCode::kDataLoss);
  }
  {
    std::vector<std::unique_ptr<Postings>> in;
    in.push_back(L({1, 2}));
    in.push_back(err());
    auto p = Merge(std::move(in));
    EXPECT_FALSE(p->Next());
    EXPECT_EQ(p->status().code(), absl::StatusCode::kDataLoss);
  }
  {
    auto p = Without(L({1, 2}), err());
    EXPECT_FALSE(p->Next());
    EXPECT_EQ(p->status().code(), absl::StatusCode::kDataLoss);
  }
}

TEST(SetOpsTest, RandomAgainstBruteForce) {
  std::mt19937_64 rng(42);
  for (int iter = 0; iter < 2000; ++iter) {
    const SeriesRef universe =
        std::uniform_int_distribution<SeriesRef>(1, 300)(rng);
    const int k = std::uniform_int_distribution<int>(1, 5)(rng);
    std::vector<Refs> sets;
    for (int i = 0; i < k; ++i) sets.push_back(RandomSet(rng, 80, universe));

    auto make = [&] {
      std::vector<std::unique_ptr<Postings>> v;
      for (const Refs& r : sets) v.push_back(L(r));
      return v;
    };
    {
      auto p = Intersect(make());
      CheckAgainstModel(rng, *p, BruteIntersect(sets), universe);
      auto q = Intersect(make());
      EXPECT_EQ(Expand(*q), BruteIntersect(sets));
    }
    {
      auto p = Merge(make());
      CheckAgainstModel(rng, *p, BruteMerge(sets), universe);
      auto q = Merge(make());
      EXPECT_EQ(Expand(*q), BruteMerge(sets));
    }
    {
      const Refs& a = sets[0];
      const Refs b = sets.size() > 1 ? sets[1] : Refs{};
      auto p = Without(L(a), L(b));
      CheckAgainstModel(rng, *p, BruteWithout(a, b), universe);
      auto q = Without(L(a), L(b));
      EXPECT_EQ(Expand(*q), BruteWithout(a, b));
    }
    {
      // Nested: (s0 ∪ s1) ∩ s2 \ s3.
      if (sets.size() >= 4) {
        std::vector<std::unique_ptr<Postings>> u;
        u.push_back(L(sets[0]));
        u.push_back(L(sets[1]));
        std::vector<std::unique_ptr<Postings>> in;
        in.push_back(Merge(std::move(u)));
        in.push_back(L(sets[2]));
        auto p = Without(Intersect(std::move(in)), L(sets[3]));
        const Refs want = BruteWithout(
            BruteIntersect({BruteMerge({sets[0], sets[1]}), sets[2]}), sets[3]);
        CheckAgainstModel(rng, *p, want, universe);
      }
    }
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace tsdb::postings
