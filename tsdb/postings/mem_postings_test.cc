#include "tsdb/postings/mem_postings.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace tsdb::postings {
namespace {

using labels::Labels;
using Refs = std::vector<SeriesRef>;

Refs Expand(std::unique_ptr<Postings> p) {
  Refs out;
  EXPECT_TRUE(ExpandPostings(*p, &out).ok());
  return out;
}

TEST(MemPostingsTest, AddAndGet) {
  MemPostings mp;
  mp.Add(1, Labels::FromPairs({{"a", "1"}, {"b", "x"}}));
  mp.Add(2, Labels::FromPairs({{"a", "2"}, {"b", "x"}}));
  mp.Add(3, Labels::FromPairs({{"a", "1"}}));
  EXPECT_EQ(Expand(mp.Get("a", "1")), (Refs{1, 3}));
  EXPECT_EQ(Expand(mp.Get("b", "x")), (Refs{1, 2}));
  EXPECT_EQ(Expand(mp.Get("b", "y")), Refs{});
  EXPECT_EQ(Expand(mp.Get("c", "1")), Refs{});
  EXPECT_EQ(Expand(mp.Get("", "")), (Refs{1, 2, 3}));
  EXPECT_EQ(Expand(mp.All()), (Refs{1, 2, 3}));
  EXPECT_EQ(mp.LabelNames(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(mp.LabelValues("a"), (std::vector<std::string>{"1", "2"}));
  EXPECT_TRUE(mp.LabelValues("zzz").empty());
  const MemPostings::Stats st = mp.GetStats();
  EXPECT_EQ(st.series, 3u);
  EXPECT_EQ(st.label_names, 2u);
  EXPECT_EQ(st.label_pairs, 3u);
  EXPECT_EQ(st.entries, 5u);
  EXPECT_GT(st.memory_bytes, 0u);
}

TEST(MemPostingsTest, OutOfOrderAddsStaySorted) {
  MemPostings mp;
  const Labels l = Labels::FromPairs({{"job", "x"}});
  for (SeriesRef r : {5, 3, 9, 1, 4, 8, 2, 7, 6}) mp.Add(r, l);
  EXPECT_EQ(Expand(mp.Get("job", "x")), (Refs{1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(MemPostingsTest, BulkLoadSortsOnEnsureOrder) {
  MemPostings mp;
  mp.SetUnordered();
  std::vector<SeriesRef> refs(5000);
  for (size_t i = 0; i < refs.size(); ++i) refs[i] = i + 1;
  std::shuffle(refs.begin(), refs.end(), std::mt19937(7));
  for (SeriesRef r : refs) {
    mp.Add(r, Labels::FromPairs({{"job", "x"}, {"odd", r % 2 ? "1" : "0"}}));
  }
  mp.EnsureOrder(3);
  Refs all = Expand(mp.All());
  Refs want(5000);
  for (size_t i = 0; i < want.size(); ++i) want[i] = i + 1;
  EXPECT_EQ(all, want);
  EXPECT_EQ(Expand(mp.Get("job", "x")), want);
  Refs odd = Expand(mp.Get("odd", "1"));
  ASSERT_EQ(odd.size(), 2500u);
  EXPECT_TRUE(std::is_sorted(odd.begin(), odd.end()));
  EXPECT_EQ(odd.front(), 1u);
  // Ordered again: a late out-of-order add is inserted at its place.
  mp.Add(0, Labels::FromPairs({{"job", "x"}}));
  EXPECT_EQ(Expand(mp.Get("job", "x")).front(), 0u);
  mp.EnsureOrder();  // no-op
  EXPECT_EQ(Expand(mp.Get("job", "x")).size(), 5001u);
}

TEST(MemPostingsTest, DeleteRemovesEmptyListsAndNames) {
  MemPostings mp;
  const Labels l1 = Labels::FromPairs({{"a", "1"}, {"only", "me"}});
  const Labels l2 = Labels::FromPairs({{"a", "1"}});
  const Labels l3 = Labels::FromPairs({{"a", "2"}});
  mp.Add(1, l1);
  mp.Add(2, l2);
  mp.Add(3, l3);
  mp.Delete({{1, l1}, {3, l3}});
  EXPECT_EQ(Expand(mp.Get("a", "1")), (Refs{2}));
  EXPECT_EQ(Expand(mp.Get("a", "2")), Refs{});
  EXPECT_EQ(Expand(mp.All()), (Refs{2}));
  EXPECT_EQ(mp.LabelNames(), (std::vector<std::string>{"a"}));
  EXPECT_EQ(mp.LabelValues("a"), (std::vector<std::string>{"1"}));
  // Unknown refs are ignored.
  mp.Delete({{42, l2}});
  EXPECT_EQ(Expand(mp.All()), (Refs{2}));
}

TEST(MemPostingsTest, GetIsASnapshot) {
  MemPostings mp;
  const Labels l = Labels::FromPairs({{"a", "1"}});
  mp.Add(1, l);
  mp.Add(2, l);
  auto p = mp.Get("a", "1");
  mp.Add(3, l);
  mp.Delete({{1, l}});
  EXPECT_EQ(Expand(std::move(p)), (Refs{1, 2}));
  EXPECT_EQ(Expand(mp.Get("a", "1")), (Refs{2, 3}));
}

TEST(MemPostingsTest, RandomAgainstModel) {
  std::mt19937_64 rng(7);
  MemPostings mp;
  std::map<SeriesRef, Labels> live;
  SeriesRef next = 1;
  for (int round = 0; round < 50; ++round) {
    const int adds = std::uniform_int_distribution<int>(0, 60)(rng);
    for (int i = 0; i < adds; ++i) {
      const SeriesRef ref = next++;
      Labels l =
          Labels::FromPairs({{"a", absl::StrCat(rng() % 5)},
                             {"b", absl::StrCat(rng() % 3)},
                             {rng() % 2 ? "c" : "d", absl::StrCat(rng() % 4)}});
      mp.Add(ref, l);
      live[ref] = l;
    }
    std::vector<std::pair<SeriesRef, Labels>> del;
    for (auto it = live.begin(); it != live.end();) {
      if (rng() % 4 == 0) {
        del.emplace_back(it->first, it->second);
        it = live.erase(it);
      } else {
        ++it;
      }
    }
    mp.Delete(del);

    std::map<std::pair<std::string, std::string>, Refs> want;
    std::set<std::string> names;
    Refs all;
    for (const auto& [ref, l] : live) {
      all.push_back(ref);
      for (const auto& lab : l) {
        want[{lab.name, lab.value}].push_back(ref);
        names.insert(lab.name);
      }
    }
    EXPECT_EQ(Expand(mp.All()), all);
    EXPECT_EQ(mp.LabelNames(),
              std::vector<std::string>(names.begin(), names.end()));
    for (const auto& [key, refs] : want) {
      EXPECT_EQ(Expand(mp.Get(key.first, key.second)), refs);
    }
    EXPECT_EQ(mp.GetStats().label_pairs, want.size());
  }
}

// Many threads adding interleaved refs: every list ends sorted and complete.
TEST(MemPostingsTest, ConcurrentAddsStaySorted) {
  MemPostings mp;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::atomic<SeriesRef> next{1};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        const SeriesRef ref = next.fetch_add(1);
        mp.Add(ref, Labels::FromPairs(
                        {{"mod", absl::StrCat(ref % 7)}, {"job", "j"}}));
      }
    });
  }
  // A concurrent reader always sees sorted snapshots.
  std::thread reader([&] {
    while (!stop.load()) {
      Refs r = Expand(mp.Get("job", "j"));
      ASSERT_TRUE(std::is_sorted(r.begin(), r.end()));
      ASSERT_EQ(std::adjacent_find(r.begin(), r.end()), r.end());
    }
  });
  for (auto& th : threads) th.join();
  stop.store(true);
  reader.join();

  const Refs all = Expand(mp.All());
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], i + 1);
  for (int m = 0; m < 7; ++m) {
    Refs r = Expand(mp.Get("mod", absl::StrCat(m)));
    EXPECT_TRUE(std::is_sorted(r.begin(), r.end()));
    for (SeriesRef x : r) EXPECT_EQ(x % 7, static_cast<SeriesRef>(m));
  }
}

}  // namespace
}  // namespace tsdb::postings
