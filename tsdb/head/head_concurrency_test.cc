// Concurrency: appenders, readers and truncation at once. Run under
// --config=tsan to prove the read-while-append scheme race-free; the checks
// prove that no reader sees part of a commit.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tsdb/head/head.h"
#include "tsdb/head/test_util.h"

namespace tsdb::head {
namespace {

using labels::Labels;
using testing::OpenHead;
using testing::ReadSeries;
using testing::TestOptions;
using testing::TV;

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// Each writer commits, per round, one sample at the same timestamp to every
// series of its group. A reader snapshot must see the same last timestamp
// in every series of a group: never part of a commit.
TEST(HeadConcurrencyTest, ReadersNeverSeePartOfACommit) {
  auto head = OpenHead();
  constexpr int kWriters = 2;
  constexpr int kSeriesPerWriter = 20;
  constexpr int kRounds = 2000;
  std::vector<std::vector<SeriesRef>> groups(kWriters);
  {
    auto app = head->Appender();
    for (int w = 0; w < kWriters; ++w) {
      for (int s = 0; s < kSeriesPerWriter; ++s) {
        groups[w].push_back(*app->Append(
            0,
            Labels::FromPairs({{"w", absl::StrCat(w)}, {"s", absl::StrCat(s)}}),
            0, 0));
      }
    }
    ASSERT_TRUE(app->Commit().ok());
  }
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      auto app = head->Appender();
      for (int r = 1; r <= kRounds; ++r) {
        for (SeriesRef ref : groups[w]) {
          ASSERT_TRUE(app->Append(ref, {}, r * 1000, r).ok());
        }
        ASSERT_TRUE(app->Commit().ok());
      }
    });
  }
  std::atomic<int> checks{0};
  for (int rd = 0; rd < 2; ++rd) {
    threads.emplace_back([&] {
      do {
        HeadReaders r = head->Readers(kMin, kMax);
        for (int w = 0; w < kWriters; ++w) {
          int64_t last = -1;
          for (SeriesRef ref : groups[w]) {
            std::vector<TV> got;
            ASSERT_TRUE(ReadSeries(*r.index, *r.chunks, ref, &got).ok());
            ASSERT_FALSE(got.empty());
            for (size_t i = 0; i < got.size(); ++i) {
              ASSERT_EQ(got[i].first, static_cast<int64_t>(i) * 1000);
              ASSERT_EQ(got[i].second, static_cast<double>(i));
            }
            if (last == -1) last = got.back().first;
            ASSERT_EQ(got.back().first, last) << "half a commit visible";
          }
        }
        checks.fetch_add(1);
      } while (!done.load());
    });
  }
  for (int w = 0; w < kWriters; ++w) threads[w].join();
  done.store(true);
  for (size_t i = kWriters; i < threads.size(); ++i) threads[i].join();
  EXPECT_GT(checks.load(), 0);
  for (const auto& g : groups) {
    EXPECT_EQ(testing::ReadAll(*head, g[0]).size(),
              static_cast<size_t>(kRounds + 1));
  }
}

// Two writers append to one shared series X and each to its own series in
// the same commits, so commits race on X (one may append to X after a later
// one did). Whatever a reader sees of X from writer w, it must also see in
// w's own series: X's sample and Y_w's sample are one commit.
TEST(HeadConcurrencyTest, CommitsRacingOnOneSeriesStayAtomic) {
  auto head = OpenHead();
  const Labels x = Labels::FromPairs({{"shared", "x"}});
  std::atomic<int64_t> clock{1};
  std::atomic<bool> done{false};
  SeriesRef own[2] = {0, 0};
  {
    auto app = head->Appender();
    own[0] = *app->Append(0, Labels::FromPairs({{"own", "0"}}), 0, 0);
    own[1] = *app->Append(0, Labels::FromPairs({{"own", "1"}}), 0, 0);
    ASSERT_TRUE(app->Append(0, x, 0, -1).ok());
    ASSERT_TRUE(app->Commit().ok());
  }
  const SeriesRef xref = head->GetRef(x);
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      auto app = head->Appender();
      for (int r = 0; r < 5000; ++r) {
        const int64_t t = clock.fetch_add(1);
        // May fail as out of order against the other writer's committed
        // samples; then the batch has only the own series.
        (void)app->Append(xref, {}, t, w);
        ASSERT_TRUE(app->Append(own[w], {}, t, w).ok());
        ASSERT_TRUE(app->Commit().ok());
      }
    });
  }
  std::atomic<int> checks{0};
  threads.emplace_back([&] {
    do {
      HeadReaders r = head->Readers(kMin, kMax);
      std::vector<TV> xs, ys[2];
      ASSERT_TRUE(ReadSeries(*r.index, *r.chunks, xref, &xs).ok());
      ASSERT_TRUE(ReadSeries(*r.index, *r.chunks, own[0], &ys[0]).ok());
      ASSERT_TRUE(ReadSeries(*r.index, *r.chunks, own[1], &ys[1]).ok());
      std::set<int64_t> seen[2];
      for (int w = 0; w < 2; ++w) {
        for (const TV& tv : ys[w]) seen[w].insert(tv.first);
      }
      for (size_t i = 1; i < xs.size(); ++i) {
        ASSERT_LT(xs[i - 1].first, xs[i].first);
        const int w = static_cast<int>(xs[i].second);
        ASSERT_TRUE(seen[w].count(xs[i].first))
            << "x has t=" << xs[i].first << " of writer " << w
            << " but its own series does not";
      }
      checks.fetch_add(1);
    } while (!done.load());
  });
  threads[0].join();
  threads[1].join();
  done.store(true);
  threads[2].join();
  EXPECT_GT(checks.load(), 0);
}

// Deterministic version of the race above. Chunk cuts pause commits (the
// listener blocks) so that commit A begins first, commit B appends to X,
// then A appends to X and Y and ends while B is still open. A reader must
// then not see A on Y, because X hides A's sample behind B's.
class PausingListener : public ChunkCutListener {
 public:
  void OnChunkCut(const CutChunkInfo& c) override {
    std::unique_lock lock(mu);
    paused.insert(c.series);
    cv.notify_all();
    cv.wait(lock, [&] { return released.count(c.series) > 0; });
  }
  void WaitPaused(SeriesRef s) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return paused.count(s) > 0; });
  }
  void Release(SeriesRef s) {
    std::lock_guard lock(mu);
    released.insert(s);
    cv.notify_all();
  }
  std::mutex mu;
  std::condition_variable cv;
  std::set<SeriesRef> paused, released;
};

TEST(HeadConcurrencyTest, EarlierCommitEndingFirstWaitsForLaterOne) {
  constexpr int64_t k2h = 2 * 3600 * 1000;
  PausingListener listener;
  HeadOptions opts = TestOptions();
  opts.chunk_cut_listener = &listener;
  auto head = OpenHead(opts);
  SeriesRef pause_a, pause_b, x, y;
  {
    auto app = head->Appender();
    pause_a = *app->Append(0, Labels::FromPairs({{"s", "pa"}}), 0, 0);
    pause_b = *app->Append(0, Labels::FromPairs({{"s", "pb"}}), 0, 0);
    // X and Y start in the range of the later samples: no cuts there.
    x = *app->Append(0, Labels::FromPairs({{"s", "x"}}), k2h, 0);
    y = *app->Append(0, Labels::FromPairs({{"s", "y"}}), k2h, 0);
    ASSERT_TRUE(app->Commit().ok());
  }
  auto a = head->Appender();
  auto b = head->Appender();
  ASSERT_TRUE(a->Append(pause_a, {}, k2h, 1).ok());  // cuts: pauses A
  ASSERT_TRUE(a->Append(x, {}, k2h + 2, 1).ok());
  ASSERT_TRUE(a->Append(y, {}, k2h + 2, 1).ok());
  ASSERT_TRUE(b->Append(x, {}, k2h + 1, 2).ok());    // validated vs committed
  ASSERT_TRUE(b->Append(pause_b, {}, k2h, 2).ok());  // cuts: pauses B

  std::thread ta([&] { ASSERT_TRUE(a->Commit().ok()); });
  listener.WaitPaused(pause_a);  // A has its seq
  std::thread tb([&] { ASSERT_TRUE(b->Commit().ok()); });
  listener.WaitPaused(pause_b);  // B appended to X
  listener.Release(pause_a);
  ta.join();  // A appended to X (after B) and Y, and ended

  std::vector<TV> xs = testing::ReadAll(*head, x);
  std::vector<TV> ys = testing::ReadAll(*head, y);
  EXPECT_EQ(xs.size(), 1u);
  EXPECT_EQ(ys.size(), 1u) << "A visible on Y but not on X";

  listener.Release(pause_b);
  tb.join();
  EXPECT_EQ(testing::ReadAll(*head, x).size(), 3u);
  EXPECT_EQ(testing::ReadAll(*head, y).size(), 2u);
}

// Many threads creating the same and different series at once.
TEST(HeadConcurrencyTest, ConcurrentCreationYieldsOneSeriesPerLabelSet) {
  auto head = OpenHead();
  constexpr int kThreads = 4;
  constexpr int kSeries = 500;
  std::vector<std::vector<SeriesRef>> refs(kThreads,
                                           std::vector<SeriesRef>(kSeries));
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      auto app = head->Appender();
      for (int i = 0; i < kSeries; ++i) {
        const int s = (i * 7 + th * 13) % kSeries;  // different orders
        // The same sample everywhere: identical duplicates are accepted.
        absl::StatusOr<SeriesRef> r = app->Append(
            0, Labels::FromPairs({{"s", absl::StrCat(s)}, {"job", "x"}}), 1000,
            1);
        ASSERT_TRUE(r.ok()) << r.status();
        refs[th][s] = *r;
      }
      // Commits race on every series; later ones drop their copy.
      ASSERT_TRUE(app->Commit().ok());
    });
  }
  for (auto& t : threads) t.join();
  for (int s = 0; s < kSeries; ++s) {
    for (int th = 1; th < kThreads; ++th) ASSERT_EQ(refs[th][s], refs[0][s]);
  }
  const HeadStats st = head->Stats();
  EXPECT_EQ(st.num_series, static_cast<uint64_t>(kSeries));
  EXPECT_EQ(head->LastSeriesRef(), static_cast<SeriesRef>(kSeries));
  EXPECT_EQ(st.samples_appended, static_cast<uint64_t>(kSeries));
  HeadReaders r = head->Readers(kMin, kMax);
  std::vector<SeriesRef> all;
  ASSERT_TRUE(
      postings::ExpandPostings(*r.index->Postings("job", "x"), &all).ok());
  ASSERT_EQ(all.size(), static_cast<size_t>(kSeries));
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
}

// Replay workers creating series in batches at once (CreateSeriesWithRefs,
// as the WAL replay's shards do), some label sets under two refs: one ref
// wins per label set, every batch learns the winner, and the index (bulk
// loaded, as at start-up) lists each series once, sorted.
TEST(HeadConcurrencyTest, ConcurrentBatchCreationYieldsOneSeriesPerLabelSet) {
  auto head = OpenHead();
  head->BeginBulkLoad();
  constexpr int kThreads = 2;
  constexpr int kPerThread = 3000;
  constexpr int kBatch = 250;
  // Thread t creates refs t*kPerThread+1...; label set i of thread 1 equals
  // label set i of thread 0 when i % 3 == 0.
  auto labels_of = [](int th, int i) {
    const int id = (i % 3 == 0) ? i : th * kPerThread + i;
    return Labels::FromPairs({{"s", absl::StrCat(id)}, {"job", "x"}});
  };
  std::vector<std::vector<SeriesRef>> got(kThreads);
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      std::vector<Labels> lsets;
      for (int i = 0; i < kPerThread; ++i) lsets.push_back(labels_of(th, i));
      for (int b = 0; b < kPerThread; b += kBatch) {
        std::vector<Head::NewSeries> in;
        for (int i = b; i < b + kBatch; ++i) {
          in.push_back(
              {static_cast<SeriesRef>(th * kPerThread + i + 1), &lsets[i]});
        }
        std::vector<SeriesRef> out;
        absl::Status st = head->CreateSeriesWithRefs(in, &out);
        ASSERT_TRUE(st.ok()) << st;
        got[th].insert(got[th].end(), out.begin(), out.end());
      }
    });
  }
  for (auto& t : threads) t.join();
  head->EndBulkLoad(2);
  const int shared = (kPerThread + 2) / 3;
  for (int i = 0; i < kPerThread; ++i) {
    if (i % 3 == 0) {
      ASSERT_EQ(got[0][i], got[1][i]) << i;
      ASSERT_TRUE(got[0][i] == static_cast<SeriesRef>(i + 1) ||
                  got[0][i] == static_cast<SeriesRef>(kPerThread + i + 1));
    } else {
      ASSERT_EQ(got[0][i], static_cast<SeriesRef>(i + 1));
      ASSERT_EQ(got[1][i], static_cast<SeriesRef>(kPerThread + i + 1));
    }
    absl::StatusOr<Labels> l = head->SeriesLabels(got[1][i]);
    ASSERT_TRUE(l.ok()) << l.status();
    EXPECT_EQ(*l, labels_of(1, i));
  }
  const uint64_t want = 2 * kPerThread - shared;
  EXPECT_EQ(head->Stats().num_series, want);
  EXPECT_LE(head->LastSeriesRef(), static_cast<SeriesRef>(2 * kPerThread));
  HeadReaders r = head->Readers(kMin, kMax);
  std::vector<SeriesRef> all;
  ASSERT_TRUE(
      postings::ExpandPostings(*r.index->Postings("job", "x"), &all).ok());
  ASSERT_EQ(all.size(), want);
  EXPECT_TRUE(
      std::adjacent_find(all.begin(), all.end(), [](SeriesRef a, SeriesRef b) {
        return a >= b;
      }) == all.end());
}

// Two batches racing to create the same ref with different labels: one
// wins, the other gets AlreadyExists, and the loser leaves no trace.
TEST(HeadConcurrencyTest, BatchCreationRacingOnOneRefKeepsOneSeries) {
  const Labels la = Labels::FromPairs({{"job", "a"}});
  const Labels lb = Labels::FromPairs({{"job", "b"}});
  for (int round = 0; round < 100; ++round) {
    auto head = OpenHead();
    absl::Status sa, sb;
    std::thread ta([&] {
      std::vector<SeriesRef> out;
      sa = head->CreateSeriesWithRefs({{7, &la}}, &out);
    });
    std::thread tb([&] {
      std::vector<SeriesRef> out;
      sb = head->CreateSeriesWithRefs({{7, &lb}}, &out);
    });
    ta.join();
    tb.join();
    ASSERT_NE(sa.ok(), sb.ok()) << sa << " / " << sb;
    const absl::Status& lost = sa.ok() ? sb : sa;
    EXPECT_EQ(lost.code(), absl::StatusCode::kAlreadyExists) << lost;
    absl::StatusOr<Labels> l = head->SeriesLabels(7);
    ASSERT_TRUE(l.ok()) << l.status();
    EXPECT_EQ(*l, sa.ok() ? la : lb);
    EXPECT_EQ(head->Stats().num_series, 1u);
    EXPECT_EQ(head->GetRef(sa.ok() ? lb : la), 0u);
  }
}

// Churn: writers keep creating short-lived series, a truncator keeps
// garbage-collecting them, readers keep reading. Checks memory safety (run
// under asan/tsan) and that live series stay readable.
TEST(HeadConcurrencyTest, TruncationRacingAppendsAndReads) {
  HeadOptions opts = TestOptions();
  opts.chunk_range = 100000;  // appends may go 50 s behind the max
  auto head = OpenHead(opts);
  std::atomic<int64_t> now{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      auto app = head->Appender();
      for (int r = 0; r < 3000; ++r) {
        const int64_t t = (r + 1) * 1000;
        int64_t cur = now.load();
        while (cur < t && !now.compare_exchange_weak(cur, t)) {
        }
        // A stable series and a series that lives 10 rounds.
        absl::StatusOr<SeriesRef> a = app->Append(
            0, Labels::FromPairs({{"stable", absl::StrCat(w)}}), t, r);
        ASSERT_TRUE(a.ok() ||
                    a.status().code() == absl::StatusCode::kFailedPrecondition)
            << a.status();
        absl::StatusOr<SeriesRef> b = app->Append(
            0,
            Labels::FromPairs(
                {{"churn", absl::StrCat(w, "-", r / 10)}, {"job", "c"}}),
            t, r);
        ASSERT_TRUE(b.ok() ||
                    b.status().code() == absl::StatusCode::kFailedPrecondition)
            << b.status();
        ASSERT_TRUE(app->Commit().ok());
      }
    });
  }
  threads.emplace_back([&] {
    while (!done.load()) {
      ASSERT_TRUE(head->Truncate(now.load() - 20000).ok());
      std::this_thread::yield();
    }
  });
  threads.emplace_back([&] {
    while (!done.load()) {
      HeadReaders r = head->Readers(kMin, kMax);
      std::unique_ptr<postings::Postings> p = r.index->Postings("", "");
      while (p->Next()) {
        std::vector<TV> got;
        absl::Status st = ReadSeries(*r.index, *r.chunks, p->At(), &got);
        ASSERT_TRUE(st.ok() || st.code() == absl::StatusCode::kNotFound) << st;
        ASSERT_TRUE(std::is_sorted(got.begin(), got.end()));
      }
      (void)head->Stats();
    }
  });
  threads[0].join();
  threads[1].join();
  done.store(true);
  threads[2].join();
  threads[3].join();
  ASSERT_TRUE(head->Truncate(now.load() - 20000).ok());
  const HeadStats st = head->Stats();
  EXPECT_GT(st.series_removed, 0u);
  EXPECT_LT(st.num_series, 20u);
  EXPECT_EQ(st.series_created - st.series_removed, st.num_series);
}

}  // namespace
}  // namespace tsdb::head
