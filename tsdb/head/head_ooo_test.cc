// Out-of-order samples (HeadOptions::ooo_time_window): acceptance and
// rejection rules, WAL/WBL logging, reading merged with in-order data
// (querier::Select, against a brute-force reference), read options,
// isolation, freeze / frozen readers / drop, truncation, concurrency.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tsdb/head/head.h"
#include "tsdb/head/test_util.h"
#include "tsdb/labels/matcher.h"
#include "tsdb/querier/select.h"

namespace tsdb::head {
namespace {

using labels::Labels;
using testing::TV;

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;

HeadOptions OooOptions(int64_t window) {
  HeadOptions o = testing::TestOptions();
  o.ooo_time_window = window;
  return o;
}

Labels L(const std::string& v) { return Labels::FromPairs({{"s", v}}); }

// Every sample of the series named `name` through `r`, merged by Select.
std::vector<TV> Merged(const HeadReaders& r, const std::string& name,
                       int64_t mint = kMin, int64_t maxt = kMax) {
  querier::SelectOptions o;
  o.mint = mint;
  o.maxt = maxt;
  auto m = labels::Matcher::Make(labels::MatchType::kEqual, "s", name);
  EXPECT_TRUE(m.ok());
  auto set = querier::Select(*r.index, *r.chunks, {*m}, o);
  EXPECT_TRUE(set.ok()) << set.status();
  std::vector<TV> out;
  while ((*set)->Next()) {
    auto it = (*set)->At().Iterator();
    while (it->Next()) out.emplace_back(it->At().t, it->At().v);
    EXPECT_TRUE(it->status().ok()) << it->status();
  }
  EXPECT_TRUE((*set)->status().ok()) << (*set)->status();
  return out;
}

std::vector<TV> Merged(Head& h, const std::string& name,
                       ReadOptions opts = {}) {
  return Merged(h.Readers(kMin, kMax, opts), name);
}

absl::Status AppendOne(Head& h, const std::string& name, int64_t t, double v) {
  auto app = h.Appender();
  absl::StatusOr<SeriesRef> r = app->Append(0, L(name), t, v);
  if (!r.ok()) {
    (void)app->Rollback();
    return r.status();
  }
  return app->Commit();
}

// Records what the head logs.
class RecordingLog final : public CommitLog {
 public:
  absl::Status Log(const std::vector<SeriesRecord>& series,
                   const std::vector<SampleRecord>& samples) override {
    std::lock_guard lock(mu);
    if (fail) return absl::UnavailableError("disk full");
    for (const SeriesRecord& s : series) series_refs.push_back(s.ref);
    for (const SampleRecord& s : samples) times.push_back(s.t);
    ++calls;
    return absl::OkStatus();
  }
  std::mutex mu;
  bool fail = false;
  int calls = 0;
  std::vector<SeriesRef> series_refs;
  std::vector<int64_t> times;
};

TEST(HeadOooTest, DisabledKeepsPrometheusErrors) {
  auto h = testing::OpenHead(OooOptions(0));
  ASSERT_TRUE(AppendOne(*h, "a", 10 * kHour, 1).ok());
  absl::Status st = AppendOne(*h, "a", 10 * kHour - kMinute, 1);
  EXPECT_EQ(st.message(), "out of order sample");
  st = AppendOne(*h, "a", 8 * kHour, 1);
  EXPECT_EQ(st.message(), "out of bounds");
  EXPECT_EQ(h->Stats().ooo_samples_appended, 0u);
}

TEST(HeadOooTest, AcceptsWithinWindowAndRejectsTooOld) {
  auto h = testing::OpenHead(OooOptions(2 * kHour));
  ASSERT_TRUE(AppendOne(*h, "a", 10 * kHour, 1).ok());
  // Older than the last sample, within the window.
  EXPECT_TRUE(AppendOne(*h, "a", 10 * kHour - 30 * kMinute, 2).ok());
  // Before MinValidTime (9h) but within the window: out of order too.
  EXPECT_TRUE(AppendOne(*h, "a", 8 * kHour + 30 * kMinute, 3).ok());
  // Exactly at MaxTime - window: accepted; one ms before: too old.
  EXPECT_TRUE(AppendOne(*h, "a", 8 * kHour, 4).ok());
  absl::Status st = AppendOne(*h, "a", 8 * kHour - 1, 5);
  EXPECT_TRUE(absl::IsFailedPrecondition(st));
  EXPECT_EQ(st.message(), "too old sample");
  // A new series before MinValidTime goes out of order as well.
  EXPECT_TRUE(AppendOne(*h, "b", 8 * kHour + kMinute, 6).ok());
  // Same timestamp as the in-order last sample: Prometheus's rules.
  EXPECT_EQ(AppendOne(*h, "a", 10 * kHour, 7).message(),
            "duplicate sample for timestamp");
  EXPECT_TRUE(AppendOne(*h, "a", 10 * kHour, 1).ok());

  EXPECT_EQ(Merged(*h, "a"), (std::vector<TV>{{8 * kHour, 4},
                                              {8 * kHour + 30 * kMinute, 3},
                                              {10 * kHour - 30 * kMinute, 2},
                                              {10 * kHour, 1}}));
  EXPECT_EQ(Merged(*h, "b"), (std::vector<TV>{{8 * kHour + kMinute, 6}}));
  const HeadStats s = h->Stats();
  EXPECT_EQ(s.ooo_samples_appended, 4u);
  EXPECT_EQ(s.ooo_samples, 4u);
  EXPECT_EQ(s.ooo_too_old_samples, 1u);
  EXPECT_EQ(s.ooo_min_time, 8 * kHour);
  EXPECT_EQ(s.ooo_max_time, 10 * kHour - 30 * kMinute);
  // Out-of-order samples do not move the in-order range.
  EXPECT_EQ(s.min_time, 10 * kHour);
  EXPECT_EQ(s.max_time, 10 * kHour);
}

TEST(HeadOooTest, DuplicateInOpenOooChunkKeepsTheFirst) {
  auto h = testing::OpenHead(OooOptions(kHour));
  ASSERT_TRUE(AppendOne(*h, "a", 100000, 1).ok());
  ASSERT_TRUE(AppendOne(*h, "a", 50000, 2).ok());
  // Same timestamp, other value: silently dropped (Prometheus's
  // OOOChunk.Insert), not an error.
  EXPECT_TRUE(AppendOne(*h, "a", 50000, 3).ok());
  EXPECT_EQ(Merged(*h, "a"), (std::vector<TV>{{50000, 2}, {100000, 1}}));
  EXPECT_EQ(h->Stats().ooo_duplicate_samples, 1u);
  EXPECT_EQ(h->Stats().ooo_samples, 1u);
}

TEST(HeadOooTest, WithinOneBatchOlderThanPendingGoesOutOfOrder) {
  auto h = testing::OpenHead(OooOptions(kHour));
  ASSERT_TRUE(AppendOne(*h, "a", 100000, 1).ok());
  auto app = h->Appender();
  ASSERT_TRUE(app->Append(0, L("a"), 200000, 2).ok());
  ASSERT_TRUE(app->Append(0, L("a"), 150000, 3).ok());  // < pending 200000
  ASSERT_TRUE(app->Append(0, L("a"), 90000, 4).ok());   // < committed
  ASSERT_TRUE(app->Append(0, L("a"), 95000, 5).ok());
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(
      Merged(*h, "a"),
      (std::vector<TV>{
          {90000, 4}, {95000, 5}, {100000, 1}, {150000, 3}, {200000, 2}}));
}

TEST(HeadOooTest, LogsAllToWalAndOooToWbl) {
  RecordingLog wal, wbl;
  HeadOptions o = OooOptions(kHour);
  o.commit_log = &wal;
  o.ooo_commit_log = &wbl;
  auto h = testing::OpenHead(o);
  ASSERT_TRUE(AppendOne(*h, "a", 100000, 1).ok());
  auto app = h->Appender();
  ASSERT_TRUE(app->Append(0, L("a"), 200000, 2).ok());
  ASSERT_TRUE(app->Append(0, L("a"), 50000, 3).ok());
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(wal.times, (std::vector<int64_t>{100000, 200000, 50000}));
  EXPECT_EQ(wbl.times, (std::vector<int64_t>{50000}));
  EXPECT_TRUE(wbl.series_refs.empty());
  // An in-order-only batch writes nothing to the WBL.
  const int calls = wbl.calls;
  ASSERT_TRUE(AppendOne(*h, "a", 300000, 4).ok());
  EXPECT_EQ(wbl.calls, calls);

  // A failed WBL write: nothing of the batch becomes visible.
  wbl.fail = true;
  app = h->Appender();
  ASSERT_TRUE(app->Append(0, L("a"), 400000, 5).ok());
  ASSERT_TRUE(app->Append(0, L("a"), 60000, 6).ok());
  absl::Status st = app->Commit();
  EXPECT_TRUE(absl::IsUnavailable(st));
  EXPECT_NE(st.message().find("write to WBL"), std::string_view::npos);
  EXPECT_EQ(
      Merged(*h, "a"),
      (std::vector<TV>{{50000, 3}, {100000, 1}, {200000, 2}, {300000, 4}}));
  // The head is still usable.
  wbl.fail = false;
  ASSERT_TRUE(AppendOne(*h, "a", 60000, 6).ok());
  EXPECT_EQ(Merged(*h, "a").size(), 5u);
}

TEST(HeadOooTest, ReadOptionsSelectInOrderOrOooChunks) {
  auto h = testing::OpenHead(OooOptions(kHour));
  for (int64_t t = 100; t <= 1000; t += 100) {
    ASSERT_TRUE(AppendOne(*h, "a", t * 1000, 1).ok());
  }
  ASSERT_TRUE(AppendOne(*h, "a", 150000, 2).ok());
  ASSERT_TRUE(AppendOne(*h, "a", 50000, 2).ok());
  EXPECT_EQ(Merged(*h, "a").size(), 12u);
  EXPECT_EQ(Merged(*h, "a", ReadOptions{.exclude_ooo = true}).size(), 10u);
  EXPECT_EQ(Merged(*h, "a", ReadOptions{.only_ooo = true}),
            (std::vector<TV>{{50000, 2}, {150000, 2}}));

  // Chunk metas: sorted by min time, out-of-order ones flagged.
  HeadReaders r = h->Readers(kMin, kMax);
  Labels l;
  std::vector<ChunkMeta> metas;
  ASSERT_TRUE(r.index->Series(h->GetRef(L("a")), &l, &metas).ok());
  ASSERT_GE(metas.size(), 2u);
  EXPECT_TRUE(IsOooChunkRef(metas[0].ref));
  EXPECT_EQ(metas[0].min_time, 50000);
  EXPECT_EQ(metas[0].max_time, 150000);
  for (size_t i = 1; i < metas.size(); ++i) {
    EXPECT_LE(metas[i - 1].min_time, metas[i].min_time);
    EXPECT_FALSE(IsOooChunkRef(metas[i].ref));
  }
  // Range restriction applies to out-of-order chunks too.
  EXPECT_EQ(Merged(h->Readers(40000, 60000), "a", 40000, 60000),
            (std::vector<TV>{{50000, 2}}));
}

TEST(HeadOooTest, ChunksHoldAtMostCapSamples) {
  HeadOptions o = OooOptions(kHour);
  o.ooo_cap_max = 4;
  auto h = testing::OpenHead(o);
  ASSERT_TRUE(AppendOne(*h, "a", 1000000, 1).ok());
  for (int64_t t = 10; t >= 1; --t) {
    ASSERT_TRUE(AppendOne(*h, "a", t * 1000, static_cast<double>(t)).ok());
  }
  HeadReaders r = h->Readers(kMin, kMax, ReadOptions{.only_ooo = true});
  Labels l;
  std::vector<ChunkMeta> metas;
  ASSERT_TRUE(r.index->Series(h->GetRef(L("a")), &l, &metas).ok());
  EXPECT_EQ(metas.size(), 3u);  // 4 + 4 + 2
  for (const ChunkMeta& m : metas) {
    auto c = r.chunks->Chunk(m);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_LE((*c)->NumSamples(), 4);
  }
  std::vector<TV> want;
  for (int64_t t = 1; t <= 10; ++t) {
    want.emplace_back(t * 1000, static_cast<double>(t));
  }
  EXPECT_EQ(Merged(r, "a"), want);
}

TEST(HeadOooTest, IsolationHidesLaterOooCommits) {
  auto h = testing::OpenHead(OooOptions(kHour));
  ASSERT_TRUE(AppendOne(*h, "a", 100000, 1).ok());
  HeadReaders before = h->Readers(kMin, kMax);
  ASSERT_TRUE(AppendOne(*h, "a", 50000, 2).ok());
  EXPECT_EQ(Merged(before, "a"), (std::vector<TV>{{100000, 1}}));
  EXPECT_EQ(Merged(*h, "a").size(), 2u);
}

TEST(HeadOooTest, MergedReadsAgreeWithBruteForce) {
  std::mt19937 rng(3);
  for (int round = 0; round < 20; ++round) {
    HeadOptions o = OooOptions(30 * kMinute);
    o.ooo_cap_max = 1 + static_cast<int>(rng() % 8);
    o.samples_per_chunk = 4 + static_cast<int>(rng() % 8);
    auto h = testing::OpenHead(o);
    std::map<std::string, std::map<int64_t, double>> want;
    int64_t now = 0;
    for (int batch = 0; batch < 60; ++batch) {
      auto app = h->Appender();
      std::map<std::string, std::map<int64_t, double>> pending;
      const int n = 1 + static_cast<int>(rng() % 10);
      for (int k = 0; k < n; ++k) {
        const std::string name(1, static_cast<char>('a' + rng() % 3));
        int64_t t;
        if (rng() % 3 == 0) {
          now += static_cast<int64_t>(rng() % 120) * 1000;
          t = now;
        } else {
          t = now - static_cast<int64_t>(rng() % 45) * kMinute / 1000 * 1000 -
              static_cast<int64_t>(rng() % 1000);
        }
        const double v = static_cast<double>(t) * 0.5;  // one value per t
        if (app->Append(0, L(name), t, v).ok()) pending[name][t] = v;
      }
      ASSERT_TRUE(app->Commit().ok());
      for (auto& [name, m] : pending) want[name].insert(m.begin(), m.end());
    }
    for (const auto& [name, m] : want) {
      const std::vector<TV> expect(m.begin(), m.end());
      EXPECT_EQ(Merged(*h, name), expect) << "round " << round << " " << name;
      // A sub-range.
      const int64_t lo = now / 3, hi = now / 3 * 2;
      std::vector<TV> sub;
      for (const TV& x : expect) {
        if (x.first >= lo && x.first <= hi) sub.push_back(x);
      }
      EXPECT_EQ(Merged(h->Readers(lo, hi), name, lo, hi), sub)
          << "round " << round;
    }
  }
}

TEST(HeadOooTest, FreezeFrozenReadersAndDrop) {
  auto h = testing::OpenHead(OooOptions(kHour));
  ASSERT_TRUE(AppendOne(*h, "a", 1000000, 1).ok());
  ASSERT_TRUE(AppendOne(*h, "a", 500000, 2).ok());
  ASSERT_TRUE(AppendOne(*h, "b", 1000000, 1).ok());
  ASSERT_TRUE(AppendOne(*h, "b", 400000, 3).ok());

  const OooFreeze f = h->FreezeOoo();
  EXPECT_EQ(f.id, 1u);
  EXPECT_EQ(f.num_samples, 2u);
  EXPECT_EQ(f.min_time, 400000);
  EXPECT_EQ(f.max_time, 500000);
  // After the freeze: a new generation, even in the same open chunk range.
  ASSERT_TRUE(AppendOne(*h, "a", 600000, 4).ok());
  ASSERT_TRUE(AppendOne(*h, "a", 450000, 5).ok());

  HeadReaders frozen = h->FrozenOooReaders(kMin, kMax);
  EXPECT_EQ(Merged(frozen, "a"), (std::vector<TV>{{500000, 2}}));
  EXPECT_EQ(Merged(frozen, "b"), (std::vector<TV>{{400000, 3}}));
  EXPECT_EQ(
      Merged(*h, "a"),
      (std::vector<TV>{{450000, 5}, {500000, 2}, {600000, 4}, {1000000, 1}}));
  EXPECT_EQ(h->Stats().ooo_frozen_samples, 2u);
  EXPECT_EQ(h->Stats().ooo_samples, 4u);

  // A reader that listed the frozen chunks before the drop can still read
  // them; one opened after no longer sees them.
  HeadReaders old = h->Readers(kMin, kMax);
  Labels l;
  std::vector<ChunkMeta> metas;
  ASSERT_TRUE(old.index->Series(h->GetRef(L("b")), &l, &metas).ok());
  h->DropFrozenOoo(f.id);
  for (const ChunkMeta& m : metas) {
    EXPECT_TRUE(old.chunks->Chunk(m).ok());
  }
  EXPECT_EQ(Merged(*h, "a"),
            (std::vector<TV>{{450000, 5}, {600000, 4}, {1000000, 1}}));
  EXPECT_EQ(Merged(*h, "b"), (std::vector<TV>{{1000000, 1}}));
  EXPECT_TRUE(Merged(h->FrozenOooReaders(kMin, kMax), "a").empty());
  HeadStats s = h->Stats();
  EXPECT_EQ(s.ooo_frozen_samples, 0u);
  EXPECT_EQ(s.ooo_samples, 2u);
  EXPECT_EQ(s.ooo_min_time, 450000);
  EXPECT_EQ(s.ooo_max_time, 600000);
  // Dropping again (or an unfrozen id) does nothing.
  h->DropFrozenOoo(f.id);
  h->DropFrozenOoo(f.id + 5);
  EXPECT_EQ(h->Stats().ooo_samples, 2u);

  const OooFreeze g = h->FreezeOoo();
  EXPECT_EQ(g.id, 2u);
  EXPECT_EQ(g.num_samples, 2u);
  h->DropFrozenOoo(g.id);
  EXPECT_EQ(Merged(*h, "a"), (std::vector<TV>{{1000000, 1}}));
  s = h->Stats();
  EXPECT_EQ(s.ooo_samples, 0u);
  EXPECT_EQ(s.ooo_min_time, kMax);
  EXPECT_EQ(s.ooo_max_time, kMin);
  const OooFreeze empty = h->FreezeOoo();
  EXPECT_EQ(empty.num_samples, 0u);
  EXPECT_EQ(empty.min_time, kMax);
}

TEST(HeadOooTest, TruncateKeepsSeriesWithOnlyOooSamples) {
  auto h = testing::OpenHead(OooOptions(3 * kHour));
  ASSERT_TRUE(AppendOne(*h, "a", 10 * kHour, 1).ok());
  ASSERT_TRUE(AppendOne(*h, "b", 8 * kHour, 2).ok());  // OOO only
  ASSERT_TRUE(h->Truncate(10 * kHour + 1).ok());
  EXPECT_EQ(h->Stats().num_series, 1u);  // "a" collected, "b" kept
  EXPECT_EQ(Merged(*h, "b"), (std::vector<TV>{{8 * kHour, 2}}));
  const OooFreeze f = h->FreezeOoo();
  h->DropFrozenOoo(f.id);
  ASSERT_TRUE(h->Truncate(10 * kHour + 2).ok());
  EXPECT_EQ(h->Stats().num_series, 0u);
}

TEST(HeadOooTest, ReplayInsertsIntoOooStore) {
  auto h = testing::OpenHead(OooOptions(0));  // replay ignores the window
  ASSERT_TRUE(h->CreateSeriesWithRef(7, L("a")).ok());
  const OooReplayResult r = h->ReplayOooSamples(
      {{7, 300, 1}, {7, 100, 2}, {7, 100, 3}, {9, 100, 4}, {7, 200, 5}});
  EXPECT_EQ(r.inserted, 3u);
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(r.unknown_refs, 1u);
  EXPECT_EQ(Merged(*h, "a"), (std::vector<TV>{{100, 2}, {200, 5}, {300, 1}}));
  EXPECT_EQ(h->Stats().ooo_samples, 3u);
}

// Appenders commit in-order and out-of-order samples to shared series while
// readers merge and a freezer freezes generations: every read is sorted
// without duplicates, and at the end every accepted sample is there.
TEST(HeadOooTest, ConcurrentAppendsReadsAndFreezes) {
  HeadOptions o = OooOptions(kHour);
  o.ooo_cap_max = 8;
  auto h = testing::OpenHead(o);
  constexpr int kWriters = 2;
  constexpr int kBatches = 300;
  std::atomic<bool> stop{false};
  std::vector<std::map<std::string, std::map<int64_t, double>>> accepted(
      kWriters);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937 rng(100 + w);
      for (int b = 0; b < kBatches; ++b) {
        auto app = h->Appender();
        std::map<std::string, std::map<int64_t, double>> pending;
        for (int k = 0; k < 6; ++k) {
          const std::string name(1, static_cast<char>('a' + rng() % 3));
          // Writer w owns timestamps == w (mod kWriters): equal timestamps
          // never carry different values.
          int64_t t =
              (b * 1000 + static_cast<int64_t>(rng() % 3000)) * kWriters + w;
          if (rng() % 2 == 0) t = std::max<int64_t>(w, t - 500000);
          const double v = static_cast<double>(t);
          if (app->Append(0, L(name), t, v).ok()) pending[name][t] = v;
        }
        ASSERT_TRUE(app->Commit().ok());
        for (auto& [n, m] : pending) accepted[w][n].insert(m.begin(), m.end());
      }
    });
  }
  threads.emplace_back([&] {
    while (!stop.load()) {
      for (const char* n : {"a", "b", "c"}) {
        const std::vector<TV> got = Merged(*h, n);
        for (size_t i = 1; i < got.size(); ++i) {
          ASSERT_LT(got[i - 1].first, got[i].first);
        }
      }
    }
  });
  threads.emplace_back([&] {
    while (!stop.load()) {
      (void)h->FreezeOoo();
      std::this_thread::yield();
    }
  });
  for (int w = 0; w < kWriters; ++w) threads[w].join();
  stop.store(true);
  for (size_t i = kWriters; i < threads.size(); ++i) threads[i].join();

  const HeadStats s = h->Stats();
  for (const char* n : {"a", "b", "c"}) {
    std::map<int64_t, double> want;
    for (int w = 0; w < kWriters; ++w) {
      want.insert(accepted[w][n].begin(), accepted[w][n].end());
    }
    // Samples accepted at Append may be dropped at Commit only if a
    // concurrent commit made them too old.
    const std::vector<TV> got = Merged(*h, n);
    std::map<int64_t, double> got_map(got.begin(), got.end());
    for (const auto& [t, v] : got_map) {
      EXPECT_TRUE(want.count(t)) << n << " " << t;
    }
    uint64_t missing = 0;
    for (const auto& [t, v] : want) missing += got_map.count(t) == 0 ? 1 : 0;
    EXPECT_LE(missing, s.commit_dropped + s.ooo_too_old_samples +
                           s.ooo_duplicate_samples);
  }
  // Freeze everything and drop it: only in-order samples remain.
  const OooFreeze f = h->FreezeOoo();
  h->DropFrozenOoo(f.id);
  EXPECT_EQ(h->Stats().ooo_samples, 0u);
  for (const char* n : {"a", "b", "c"}) {
    const size_t all = Merged(*h, n).size();
    EXPECT_EQ(Merged(*h, n, ReadOptions{.exclude_ooo = true}).size(), all);
  }
}

}  // namespace
}  // namespace tsdb::head
