#include "tsdb/head/symbols.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace tsdb::head {
namespace {

using labels::Labels;

TEST(SymbolTableTest, InternSharesStrings) {
  SymbolTable t;
  uint32_t a[4], b[4];
  t.Intern(Labels::FromPairs({{"job", "node"}, {"instance", "a"}}), a);
  t.Intern(Labels::FromPairs({{"job", "node"}, {"instance", "b"}}), b);
  // Sorted by name: instance, job.
  EXPECT_EQ(t.Get(a[0]), "instance");
  EXPECT_EQ(t.Get(a[1]), "a");
  EXPECT_EQ(t.Get(a[2]), "job");
  EXPECT_EQ(t.Get(a[3]), "node");
  EXPECT_EQ(a[0], b[0]);
  EXPECT_EQ(a[2], b[2]);
  EXPECT_EQ(a[3], b[3]);
  EXPECT_NE(a[1], b[1]);
  EXPECT_EQ(t.size(), 5u);
}

TEST(SymbolTableTest, ReleaseFreesAndRecyclesIds) {
  SymbolTable t;
  uint32_t a[2], b[2];
  t.Intern(Labels::FromPairs({{"n", "long value that is not inline"}}), a);
  t.Intern(Labels::FromPairs({{"n", "other"}}), b);
  EXPECT_EQ(t.size(), 3u);
  t.Release(a, 2);
  EXPECT_EQ(t.size(), 2u);  // "n" still held by b
  EXPECT_EQ(t.Get(b[0]), "n");
  uint32_t c[2];
  t.Intern(Labels::FromPairs({{"m", "x"}}), c);
  // The freed value's id is reused.
  EXPECT_TRUE(c[0] == a[1] || c[1] == a[1]);
  EXPECT_EQ(t.Get(c[0]), "m");
  EXPECT_EQ(t.Get(c[1]), "x");
  t.Release(b, 2);
  t.Release(c, 2);
  EXPECT_EQ(t.size(), 0u);
}

TEST(SymbolTableTest, ManySymbolsAcrossPagesAndConcurrentReads) {
  SymbolTable t;
  constexpr int kN = 20000;
  std::vector<uint32_t> ids(2 * kN);
  for (int i = 0; i < kN; ++i) {
    t.Intern(Labels::FromPairs({{"k", absl::StrCat("value-", i)}}),
             &ids[2 * i]);
  }
  EXPECT_GT(t.MemoryBytes(), 0u);
  std::vector<std::thread> th;
  // Readers of existing ids while a writer keeps adding symbols (page
  // directory growth included).
  for (int r = 0; r < 2; ++r) {
    th.emplace_back([&] {
      for (int i = 0; i < kN; ++i) {
        ASSERT_EQ(t.Get(ids[2 * i + 1]), absl::StrCat("value-", i));
      }
    });
  }
  th.emplace_back([&] {
    uint32_t tmp[2];
    for (int i = 0; i < kN; ++i) {
      t.Intern(Labels::FromPairs({{"w", absl::StrCat("new-", i)}}), tmp);
    }
  });
  for (auto& x : th) x.join();
  EXPECT_EQ(t.size(), static_cast<size_t>(2 * kN + 2));
}

}  // namespace
}  // namespace tsdb::head
