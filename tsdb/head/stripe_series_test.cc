#include "tsdb/head/stripe_series.h"

#include <atomic>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tsdb/head/isolation.h"

namespace tsdb::head {
namespace {

std::unique_ptr<MemSeries> NewSeries(SeriesRef ref, uint64_t hash) {
  return std::make_unique<MemSeries>(ref, hash, std::make_unique<uint32_t[]>(2),
                                     1);
}

class StripeSeriesTest : public ::testing::Test {
 protected:
  ~StripeSeriesTest() override {
    for (auto& f : reclaimer_.TakeAll()) f();
  }
  EpochReclaimer reclaimer_;
};

TEST_F(StripeSeriesTest, InsertLookupCollect) {
  StripeSeries ss(4, &reclaimer_);
  std::vector<std::unique_ptr<MemSeries>> owned;
  for (SeriesRef r = 1; r <= 2000; ++r) {
    owned.push_back(NewSeries(r, r % 7));  // many hash collisions
    MemSeries* s = owned.back().get();
    auto eq = [&](const MemSeries& e) { return e.ref() == r; };
    ASSERT_EQ(ss.InsertByHash(s, eq, [&] { return r; }), s);
    ss.InsertByRef(s);
  }
  for (SeriesRef r = 1; r <= 2000; ++r) {
    ASSERT_NE(ss.GetByRef(r), nullptr);
    ASSERT_EQ(ss.GetByRef(r)->ref(), r);
    ASSERT_EQ(
        ss.GetByHash(r % 7, [&](const MemSeries& e) { return e.ref() == r; }),
        ss.GetByRef(r));
  }
  EXPECT_EQ(ss.GetByRef(2001), nullptr);
  EXPECT_EQ(ss.GetByRef(0), nullptr);

  std::vector<MemSeries*> dead =
      ss.Collect([](MemSeries& s) { return s.ref() % 3 == 0; });
  EXPECT_EQ(dead.size(), 666u);
  for (SeriesRef r = 1; r <= 2000; ++r) {
    const bool gone = r % 3 == 0;
    ASSERT_EQ(ss.GetByRef(r) == nullptr, gone) << r;
    ASSERT_EQ(
        ss.GetByHash(r % 7, [&](const MemSeries& e) { return e.ref() == r; }) ==
            nullptr,
        gone)
        << r;
  }
  size_t n = 0;
  ss.ForEach([&](MemSeries&) { ++n; });
  EXPECT_EQ(n, 2000u - 666u);
  // Tombstones are reused and rebuilds drop them.
  for (SeriesRef r = 3000; r < 5000; ++r) {
    owned.push_back(NewSeries(r, r));
    ss.InsertByRef(owned.back().get());
  }
  for (SeriesRef r = 3000; r < 5000; ++r) ASSERT_NE(ss.GetByRef(r), nullptr);
  EXPECT_GT(ss.MemoryBytes(), 0u);
  EXPECT_EQ(ss.TakeAll().size(), 2000u - 666u + 2000u);
  EXPECT_EQ(ss.GetByRef(1), nullptr);
}

// A prefetch hint is safe for any ref: empty stripes, absent refs, refs of
// collected series (tombstones), and lookups still find what they should.
TEST_F(StripeSeriesTest, PrefetchByRefIsSafeForAnyRef) {
  StripeSeries ss(4, &reclaimer_);
  for (SeriesRef r : {SeriesRef{0}, SeriesRef{1}, ~SeriesRef{0}}) {
    ss.PrefetchByRef(r);  // no tables yet
  }
  std::vector<std::unique_ptr<MemSeries>> owned;
  for (SeriesRef r = 1; r <= 300; ++r) {
    owned.push_back(NewSeries(r, r));
    ss.InsertByRef(owned.back().get());
  }
  ss.Collect([](MemSeries& s) { return s.ref() % 2 == 0; });
  for (SeriesRef r = 0; r <= 400; ++r) {
    ss.PrefetchByRef(r);
    ss.PrefetchByRef(r << 40);
    ASSERT_EQ(ss.GetByRef(r) != nullptr, r >= 1 && r <= 300 && r % 2 == 1) << r;
  }
  ss.TakeAll();
}

// Lock-free lookups racing inserts (with table growth) and deletions.
TEST_F(StripeSeriesTest, ConcurrentLookupsDuringGrowthAndCollection) {
  StripeSeries ss(8, &reclaimer_);
  constexpr SeriesRef kN = 20000;
  std::vector<std::unique_ptr<MemSeries>> owned;
  for (SeriesRef r = 1; r <= kN; ++r) owned.push_back(NewSeries(r, r));
  std::atomic<SeriesRef> inserted{0};
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (SeriesRef r = 1; r <= kN; ++r) {
      ss.InsertByRef(owned[r - 1].get());
      inserted.store(r, std::memory_order_release);
      if (r % 1000 == 0) {
        // Delete refs = 1 (mod 5) among those inserted so far.
        ss.Collect([](MemSeries& s) { return s.ref() % 5 == 1; });
      }
    }
    done.store(true);
  });
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      uint64_t x = 12345 + t;
      while (!done.load()) {
        const uint64_t pin = reclaimer_.Pin();
        const SeriesRef upto = inserted.load(std::memory_order_acquire);
        for (int i = 0; i < 100 && upto > 0; ++i) {
          x = x * 6364136223846793005ull + 1442695040888963407ull;
          const SeriesRef r = 1 + (x >> 33) % upto;
          MemSeries* s = ss.GetByRef(r);
          if (r % 5 != 1) {
            ASSERT_NE(s, nullptr) << r;
          }
          if (s != nullptr) {
            ASSERT_EQ(s->ref(), r);
          }
        }
        reclaimer_.Unpin(pin);
        for (auto& f : reclaimer_.TakeReclaimable()) f();
      }
    });
  }
  writer.join();
  for (auto& r : readers) r.join();
  for (SeriesRef r = 1; r <= kN; ++r) {
    ASSERT_EQ(ss.GetByRef(r) == nullptr, r % 5 == 1) << r;
  }
}

}  // namespace
}  // namespace tsdb::head
