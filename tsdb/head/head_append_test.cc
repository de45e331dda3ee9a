// The write path: appends by ref and by labels, validation rules (one test
// each), Commit/Rollback, the CommitLog hook, replay and lifecycle hooks.
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tsdb/head/head.h"
#include "tsdb/head/test_util.h"

namespace tsdb::head {
namespace {

using labels::Labels;
using testing::OpenHead;
using testing::ReadAll;
using testing::TestOptions;
using testing::TV;

constexpr int64_t kHour = 3600 * 1000;

const Labels kA = Labels::FromPairs({{"__name__", "up"}, {"job", "a"}});
const Labels kB = Labels::FromPairs({{"__name__", "up"}, {"job", "b"}});

class RecordingLog : public CommitLog {
 public:
  absl::Status Log(const std::vector<SeriesRecord>& series,
                   const std::vector<SampleRecord>& samples) override {
    std::lock_guard lock(mu);
    ++calls;
    for (const SeriesRecord& s : series) this->series.push_back(s);
    for (const SampleRecord& s : samples) this->samples.push_back(s);
    return fail;
  }
  std::mutex mu;
  int calls = 0;
  std::vector<SeriesRecord> series;
  std::vector<SampleRecord> samples;
  absl::Status fail;
};

class Lifecycle : public SeriesLifecycleCallback {
 public:
  absl::Status PreCreation(const Labels& l) override {
    ++pre;
    if (l.Get("job") == "refused") {
      return absl::ResourceExhaustedError("series limit reached");
    }
    return absl::OkStatus();
  }
  void PostCreation(const Labels& l) override { created.push_back(l); }
  void PostDeletion(const std::vector<Labels>& d) override {
    deleted.insert(deleted.end(), d.begin(), d.end());
  }
  int pre = 0;
  std::vector<Labels> created;
  std::vector<Labels> deleted;
};

TEST(HeadAppendTest, AppendByLabelsThenByRef) {
  auto head = OpenHead();
  auto app = head->Appender();
  absl::StatusOr<SeriesRef> ref = app->Append(0, kA, 1000, 1);
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(*ref, 1u);  // refs count up from 1
  EXPECT_EQ(*app->Append(*ref, {}, 2000, 2), 1u);
  EXPECT_EQ(*app->Append(0, kB, 1000, 3), 2u);
  EXPECT_EQ(app->pending_samples(), 3u);
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(ReadAll(*head, 1), (std::vector<TV>{{1000, 1}, {2000, 2}}));
  EXPECT_EQ(ReadAll(*head, 2), (std::vector<TV>{{1000, 3}}));
  EXPECT_EQ(head->GetRef(kA), 1u);
  EXPECT_EQ(head->GetRef(Labels::FromPairs({{"x", "y"}})), 0u);
  EXPECT_EQ(*head->SeriesLabels(2), kB);
  EXPECT_EQ(head->SeriesLabels(3).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(head->MinTime(), 1000);
  EXPECT_EQ(head->MaxTime(), 2000);
  const HeadStats st = head->Stats();
  EXPECT_EQ(st.num_series, 2u);
  EXPECT_EQ(st.num_chunks, 2u);
  EXPECT_EQ(st.samples_appended, 3u);
}

// Append by ref prefetches ahead while refs come in runs (ref, ref + 1,
// ...): runs, breaks, reversed order, unknown refs inside a run and series
// garbage-collected from the middle of a run must all append exactly.
TEST(HeadAppendTest, AppendByRefInRunsAndOutOfThem) {
  auto head = OpenHead();
  constexpr int kSeries = 300;
  std::vector<SeriesRef> refs;
  {
    auto app = head->Appender();
    for (int i = 0; i < kSeries; ++i) {
      absl::StatusOr<SeriesRef> ref = app->Append(
          0, Labels::FromPairs({{"__name__", "m"}, {"i", std::to_string(i)}}),
          1000, i);
      ASSERT_TRUE(ref.ok()) << ref.status();
      refs.push_back(*ref);
    }
    ASSERT_TRUE(app->Commit().ok());
  }
  for (int i = 1; i < kSeries; ++i) ASSERT_EQ(refs[i], refs[i - 1] + 1);
  std::vector<std::vector<TV>> want(kSeries);
  for (int i = 0; i < kSeries; ++i) want[i].push_back({1000, double(i)});
  auto append_round = [&](int64_t t, const std::vector<int>& order) {
    auto app = head->Appender();
    for (int i : order) {
      absl::StatusOr<SeriesRef> ref = app->Append(refs[i], {}, t, t + i);
      ASSERT_TRUE(ref.ok()) << i << " " << ref.status();
      ASSERT_EQ(*ref, refs[i]);
      want[i].push_back({t, double(t + i)});
    }
    // An unknown ref right after a run: not found, nothing appended.
    EXPECT_EQ(app->Append(refs.back() + 1, {}, t, 0).status().code(),
              absl::StatusCode::kInvalidArgument);
    ASSERT_TRUE(app->Commit().ok());
  };
  std::vector<int> forward, backward, broken;
  for (int i = 0; i < kSeries; ++i) forward.push_back(i);
  for (int i = kSeries - 1; i >= 0; --i) backward.push_back(i);
  for (int i = 0; i < kSeries; ++i) broken.push_back((i * 7) % kSeries);
  append_round(2000, forward);
  append_round(3000, backward);
  append_round(4000, broken);
  // Runs of 20 with gaps of 5.
  std::vector<int> gappy;
  for (int i = 0; i < kSeries; ++i) {
    if (i % 25 < 20) gappy.push_back(i);
  }
  append_round(5000, gappy);
  for (int i = 0; i < kSeries; ++i) {
    ASSERT_EQ(ReadAll(*head, refs[i]), want[i]) << i;
  }
}

// PrefetchSeries is a hint: any ref (0, unknown, far past the last), before
// or after the batch opens, changes nothing.
TEST(HeadAppendTest, PrefetchSeriesAcceptsAnyRefAndChangesNothing) {
  auto head = OpenHead();
  SeriesRef a = 0, b = 0;
  {
    auto app = head->Appender();
    app->PrefetchSeries(1, 2);  // before the batch opens: nothing to pin
    a = *app->Append(0, kA, 1000, 1);
    b = *app->Append(0, kB, 1000, 2);
    ASSERT_TRUE(app->Commit().ok());
  }
  auto app = head->Appender();
  app->PrefetchSeries(0, 0);
  ASSERT_TRUE(app->Append(a, {}, 2000, 3).ok());
  for (SeriesRef r : {SeriesRef{0}, a, b, b + 1, b + 1000, SeriesRef{1} << 40,
                      ~SeriesRef{0}}) {
    app->PrefetchSeries(r, r);
    app->PrefetchSeries(b, r);
  }
  ASSERT_TRUE(app->Append(b, {}, 2000, 4).ok());
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(ReadAll(*head, a), (std::vector<TV>{{1000, 1}, {2000, 3}}));
  EXPECT_EQ(ReadAll(*head, b), (std::vector<TV>{{1000, 2}, {2000, 4}}));
}

TEST(HeadAppendTest, SamplesInvisibleUntilCommit) {
  auto head = OpenHead();
  auto app = head->Appender();
  ASSERT_TRUE(app->Append(0, kA, 1000, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  HeadReaders before = head->Readers(0, 10000);
  ASSERT_TRUE(app->Append(1, {}, 2000, 2).ok());
  // Pending: nobody sees it.
  EXPECT_EQ(ReadAll(*head, 1), (std::vector<TV>{{1000, 1}}));
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(ReadAll(*head, 1), (std::vector<TV>{{1000, 1}, {2000, 2}}));
  // A snapshot taken before the commit keeps not seeing it.
  std::vector<TV> got;
  ASSERT_TRUE(testing::ReadSeries(*before.index, *before.chunks, 1, &got).ok());
  EXPECT_EQ(got, (std::vector<TV>{{1000, 1}}));
}

TEST(HeadAppendTest, RollbackDropsSamplesKeepsSeries) {
  auto head = OpenHead();
  auto app = head->Appender();
  ASSERT_TRUE(app->Append(0, kA, 1000, 1).ok());
  ASSERT_TRUE(app->Rollback().ok());
  EXPECT_TRUE(ReadAll(*head, 1).empty());
  EXPECT_EQ(head->GetRef(kA), 1u);  // the series exists from Append on
  // The appender is reusable.
  EXPECT_EQ(*app->Append(0, kA, 1000, 1), 1u);
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(ReadAll(*head, 1), (std::vector<TV>{{1000, 1}}));
}

TEST(HeadAppendTest, DestroyingAnOpenAppenderRollsBack) {
  auto head = OpenHead();
  {
    auto app = head->Appender();
    ASSERT_TRUE(app->Append(0, kA, 1000, 1).ok());
  }
  EXPECT_TRUE(ReadAll(*head, 1).empty());
  EXPECT_EQ(head->Stats().samples_appended, 0u);
}

TEST(HeadAppendTest, UnknownRefFallsBackToLabels) {
  auto head = OpenHead();
  auto app = head->Appender();
  EXPECT_EQ(*app->Append(777, kA, 1000, 1), 1u);  // created by labels
  EXPECT_EQ(*app->Append(888, kA, 2000, 1), 1u);  // found by labels
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(ReadAll(*head, 1).size(), 2u);
}

TEST(HeadAppendTest, UnknownRefWithoutLabelsIsInvalid) {
  auto head = OpenHead();
  auto app = head->Appender();
  absl::StatusOr<SeriesRef> r = app->Append(5, {}, 1000, 1);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "empty labelset");
}

TEST(HeadAppendTest, OutOfOrderSampleAgainstCommitted) {
  auto head = OpenHead();
  auto app = head->Appender();
  ASSERT_TRUE(app->Append(0, kA, 2000, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  absl::StatusOr<SeriesRef> r = app->Append(1, {}, 1000, 1);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), "out of order sample");
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(head->Stats().out_of_order_samples, 1u);
}

TEST(HeadAppendTest, OutOfOrderSampleAgainstPending) {
  auto head = OpenHead();
  auto app = head->Appender();
  ASSERT_TRUE(app->Append(0, kA, 2000, 1).ok());
  absl::StatusOr<SeriesRef> r = app->Append(1, {}, 1000, 1);
  EXPECT_EQ(r.status().message(), "out of order sample");
  // The failed append left the batch as it was.
  ASSERT_TRUE(app->Append(1, {}, 3000, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(ReadAll(*head, 1), (std::vector<TV>{{2000, 1}, {3000, 1}}));
}

TEST(HeadAppendTest, DuplicateSampleAgainstCommitted) {
  auto head = OpenHead();
  auto app = head->Appender();
  ASSERT_TRUE(app->Append(0, kA, 1000, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  absl::StatusOr<SeriesRef> r = app->Append(1, {}, 1000, 2);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), "duplicate sample for timestamp");
}

TEST(HeadAppendTest, DuplicateSampleAgainstPending) {
  auto head = OpenHead();
  auto app = head->Appender();
  ASSERT_TRUE(app->Append(0, kA, 1000, 1).ok());
  absl::StatusOr<SeriesRef> r = app->Append(1, {}, 1000, 2);
  EXPECT_EQ(r.status().message(), "duplicate sample for timestamp");
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(head->Stats().duplicate_samples, 1u);
}

TEST(HeadAppendTest, IdenticalDuplicateAcceptedSilently) {
  auto head = OpenHead();
  auto app = head->Appender();
  ASSERT_TRUE(app->Append(0, kA, 1000, 1.5).ok());
  EXPECT_EQ(*app->Append(1, {}, 1000, 1.5), 1u);  // pending duplicate
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(*app->Append(1, {}, 1000, 1.5), 1u);  // committed duplicate
  EXPECT_EQ(*app->Append(0, kA, 1000, 1.5), 1u);  // by labels too
  // Stale markers (a NaN) compare by bits.
  const double stale = std::bit_cast<double>(uint64_t{0x7FF0000000000002});
  ASSERT_TRUE(app->Append(1, {}, 2000, stale).ok());
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(*app->Append(1, {}, 2000, stale), 1u);
  EXPECT_EQ(app->Append(1, {}, 2000, std::nan("")).status().message(),
            "duplicate sample for timestamp");
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(ReadAll(*head, 1).size(), 2u);
  EXPECT_EQ(head->Stats().samples_appended, 2u);
}

TEST(HeadAppendTest, OutOfBoundsBehindTheAppendableWindow) {
  auto head = OpenHead();
  auto app = head->Appender();
  ASSERT_TRUE(app->Append(0, kA, 10 * kHour, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  // Half a chunk range (1h) behind the head's max time is the limit.
  absl::StatusOr<SeriesRef> r = app->Append(0, kB, 9 * kHour - 1, 1);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), "out of bounds");
  EXPECT_TRUE(app->Append(0, kB, 9 * kHour, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(head->Stats().out_of_bound_samples, 1u);
}

TEST(HeadAppendTest, OutOfBoundsBeforeTruncation) {
  auto head = OpenHead();
  auto app = head->Appender();
  ASSERT_TRUE(app->Append(0, kA, 1000, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  ASSERT_TRUE(head->Truncate(5000).ok());
  EXPECT_GE(head->MinValidTime(), 5000);
  EXPECT_EQ(app->Append(0, kB, 4999, 1).status().message(), "out of bounds");
  EXPECT_TRUE(app->Append(0, kB, 5000, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
}

TEST(HeadAppendTest, InvalidLabels) {
  auto head = OpenHead();
  auto app = head->Appender();
  absl::StatusOr<SeriesRef> r =
      app->Append(0, Labels::FromPairs({{"a", "1"}, {"a", "2"}}), 1000, 1);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "label name \"a\" is not unique");
  r = app->Append(0, Labels(), 1000, 1);
  EXPECT_EQ(r.status().message(), "empty labelset");
  EXPECT_EQ(head->Stats().num_series, 0u);
}

TEST(HeadAppendTest, EmptyValuedLabelsAreDropped) {
  RecordingLog log;
  HeadOptions opts = TestOptions();
  opts.commit_log = &log;
  auto head = OpenHead(opts);
  auto app = head->Appender();
  std::vector<labels::Label> with_empty = {{"a", "1"}, {"b", ""}};
  const SeriesRef r1 = *app->Append(0, Labels::FromSorted(with_empty), 1000, 1);
  const SeriesRef r2 =
      *app->Append(0, Labels::FromPairs({{"a", "1"}}), 2000, 1);
  EXPECT_EQ(r1, r2);
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(*head->SeriesLabels(r1), Labels::FromPairs({{"a", "1"}}));
  ASSERT_EQ(log.series.size(), 1u);
  EXPECT_EQ(log.series[0].labels, Labels::FromPairs({{"a", "1"}}));
}

TEST(HeadAppendTest, CommitLogSeesSeriesAndSamplesBeforeVisibility) {
  RecordingLog log;
  HeadOptions opts = TestOptions();
  opts.commit_log = &log;
  auto head = OpenHead(opts);
  auto app = head->Appender();
  ASSERT_TRUE(app->Append(0, kA, 1000, 1).ok());
  ASSERT_TRUE(app->Append(0, kB, 1000, 2).ok());
  ASSERT_TRUE(app->Append(1, {}, 2000, 3).ok());
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(log.calls, 1);
  ASSERT_EQ(log.series.size(), 2u);
  EXPECT_EQ(log.series[0].ref, 1u);
  EXPECT_EQ(log.series[0].labels, kA);
  EXPECT_EQ(log.series[1].ref, 2u);
  ASSERT_EQ(log.samples.size(), 3u);
  EXPECT_EQ(log.samples[2].ref, 1u);
  EXPECT_EQ(log.samples[2].t, 2000);
  EXPECT_EQ(log.samples[2].v, 3);

  // Existing series are not logged again.
  ASSERT_TRUE(app->Append(1, {}, 3000, 4).ok());
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(log.series.size(), 2u);
  EXPECT_EQ(log.samples.size(), 4u);
}

TEST(HeadAppendTest, FailingCommitLogMakesNothingVisible) {
  RecordingLog log;
  log.fail = absl::UnavailableError("disk full");
  HeadOptions opts = TestOptions();
  opts.commit_log = &log;
  auto head = OpenHead(opts);
  auto app = head->Appender();
  ASSERT_TRUE(app->Append(0, kA, 1000, 1).ok());
  absl::Status st = app->Commit();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("disk full"), std::string::npos);
  EXPECT_TRUE(ReadAll(*head, 1).empty());
  EXPECT_EQ(head->Stats().samples_appended, 0u);
  // The failed batch left nothing pending: the next one works.
  log.fail = absl::OkStatus();
  ASSERT_TRUE(app->Append(1, {}, 1000, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(ReadAll(*head, 1), (std::vector<TV>{{1000, 1}}));
}

TEST(HeadAppendTest, RollbackLogsCreatedSeriesOnly) {
  RecordingLog log;
  HeadOptions opts = TestOptions();
  opts.commit_log = &log;
  auto head = OpenHead(opts);
  auto app = head->Appender();
  ASSERT_TRUE(app->Append(0, kA, 1000, 1).ok());
  ASSERT_TRUE(app->Rollback().ok());
  ASSERT_EQ(log.series.size(), 1u);
  EXPECT_EQ(log.series[0].labels, kA);
  EXPECT_TRUE(log.samples.empty());
}

// The batch form answers as CreateSeriesWithRef one by one would.
TEST(HeadAppendTest, ReplayBatchCreationMatchesOneByOne) {
  const Labels with_empty =
      Labels::FromPairs({{"__name__", "up"}, {"job", "b"}, {"x", ""}});
  const Labels kC = Labels::FromPairs({{"__name__", "up"}, {"job", "c"}});
  auto one = OpenHead(TestOptions());
  auto batch = OpenHead(TestOptions());
  ASSERT_EQ(*one->CreateSeriesWithRef(3, kC), 3u);
  std::vector<SeriesRef> out;
  ASSERT_TRUE(batch->CreateSeriesWithRefs({{3, &kC}}, &out).ok());
  // New, new, the same labels again (in the batch), labels with an empty
  // value (the same series as kB), labels that exist from before.
  const std::vector<Head::NewSeries> in = {
      {42, &kA}, {7, &kB}, {50, &kA}, {9, &with_empty}, {11, &kC}};
  std::vector<SeriesRef> want;
  for (const Head::NewSeries& n : in) {
    want.push_back(*one->CreateSeriesWithRef(n.ref, *n.labels));
  }
  ASSERT_TRUE(batch->CreateSeriesWithRefs(in, &out).ok());
  EXPECT_EQ(out, want);
  EXPECT_EQ(out, (std::vector<SeriesRef>{42, 7, 42, 7, 3}));
  EXPECT_EQ(batch->Stats().num_series, one->Stats().num_series);
  EXPECT_EQ(batch->LastSeriesRef(), 42u);
  EXPECT_EQ(*batch->SeriesLabels(7), kB);
  // Appends find them.
  auto replay = batch->Appender(AppenderOptions{.replay = true});
  ASSERT_TRUE(replay->Append(42, {}, 1000, 1).ok());
  ASSERT_TRUE(replay->Commit().ok());
  EXPECT_EQ(ReadAll(*batch, 42), (std::vector<TV>{{1000, 1}}));
}

// A label set repeated within a batch reaches the lifecycle hooks once.
TEST(HeadAppendTest, ReplayBatchCreationCallsHooksOncePerLabelSet) {
  Lifecycle lc;
  HeadOptions opts = TestOptions();
  opts.lifecycle = &lc;
  auto head = OpenHead(opts);
  std::vector<SeriesRef> out;
  ASSERT_TRUE(
      head->CreateSeriesWithRefs({{42, &kA}, {7, &kB}, {50, &kA}}, &out).ok());
  EXPECT_EQ(out, (std::vector<SeriesRef>{42, 7, 42}));
  EXPECT_EQ(lc.pre, 2);
  EXPECT_EQ(lc.created, (std::vector<Labels>{kA, kB}));
  // A refused series stops the batch before anything is created.
  const Labels refused = Labels::FromPairs({{"job", "refused"}});
  const Labels kC = Labels::FromPairs({{"job", "c"}});
  EXPECT_EQ(
      head->CreateSeriesWithRefs({{60, &kC}, {61, &refused}}, &out).code(),
      absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(head->SeriesLabels(60).ok());
}

TEST(HeadAppendTest, ReplayBatchCreationErrors) {
  auto head = OpenHead(TestOptions());
  std::vector<SeriesRef> out;
  ASSERT_TRUE(head->CreateSeriesWithRefs({{42, &kA}}, &out).ok());
  const Labels kX = Labels::FromPairs({{"x", "1"}});
  const Labels bad = Labels::FromPairs({{"", "1"}});  // empty name
  // A ref another label set holds (before, or earlier in the batch), ref 0,
  // invalid labels.
  EXPECT_EQ(head->CreateSeriesWithRefs({{5, &kB}, {42, &kX}}, &out).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(head->CreateSeriesWithRefs({{8, &kB}, {8, &kX}}, &out).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(head->CreateSeriesWithRefs({{0, &kB}}, &out).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(head->CreateSeriesWithRefs({{9, &bad}}, &out).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(head->SeriesLabels(9).ok());
  EXPECT_FALSE(head->SeriesLabels(5).ok());  // the batch stopped first
}

TEST(HeadAppendTest, ReplayCreatesSeriesWithGivenRefs) {
  RecordingLog log;
  HeadOptions opts = TestOptions();
  opts.commit_log = &log;
  auto head = OpenHead(opts);
  EXPECT_EQ(*head->CreateSeriesWithRef(42, kA), 42u);
  EXPECT_EQ(*head->CreateSeriesWithRef(7, kB), 7u);
  // Same labels again: the existing ref.
  EXPECT_EQ(*head->CreateSeriesWithRef(50, kA), 42u);
  EXPECT_EQ(head->CreateSeriesWithRef(42, Labels::FromPairs({{"x", "1"}}))
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(head->CreateSeriesWithRef(0, kA).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(head->LastSeriesRef(), 42u);

  // Replayed samples skip the log and the bounds check.
  auto replay = head->Appender(AppenderOptions{.replay = true});
  ASSERT_TRUE(replay->Append(42, {}, 10 * kHour, 1).ok());
  ASSERT_TRUE(replay->Append(7, {}, 1000, 2).ok());
  ASSERT_TRUE(replay->Commit().ok());
  EXPECT_EQ(log.calls, 0);
  EXPECT_EQ(ReadAll(*head, 7), (std::vector<TV>{{1000, 2}}));

  // New series continue after the highest replayed ref.
  auto app = head->Appender();
  EXPECT_EQ(*app->Append(0, Labels::FromPairs({{"new", "1"}}), 10 * kHour, 1),
            43u);
  ASSERT_TRUE(app->Commit().ok());
}

TEST(HeadAppendTest, LifecycleCanRefuseCreation) {
  Lifecycle lc;
  HeadOptions opts = TestOptions();
  opts.lifecycle = &lc;
  auto head = OpenHead(opts);
  auto app = head->Appender();
  absl::StatusOr<SeriesRef> r =
      app->Append(0, Labels::FromPairs({{"job", "refused"}}), 1000, 1);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(head->Stats().num_series, 0u);
  ASSERT_TRUE(app->Append(0, kA, 1000, 1).ok());
  ASSERT_TRUE(app->Append(0, kA, 2000, 1).ok());  // existing: no new hook call
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(lc.pre, 2);
  ASSERT_EQ(lc.created.size(), 1u);
  EXPECT_EQ(lc.created[0], kA);
}

TEST(HeadAppendTest, OpenRejectsBadOptions) {
  HeadOptions opts = TestOptions();
  opts.codecs = nullptr;
  EXPECT_FALSE(Head::Open(opts).ok());
  opts = TestOptions();
  opts.stripe_size = 48;
  EXPECT_FALSE(Head::Open(opts).ok());
  opts = TestOptions();
  opts.encoding = 9;
  EXPECT_EQ(Head::Open(opts).status().code(), absl::StatusCode::kNotFound);
  opts = TestOptions();
  opts.chunk_range = 0;
  EXPECT_FALSE(Head::Open(opts).ok());
}

TEST(HeadAppendTest, DefaultsArePrometheuss) {
  HeadOptions opts;
  EXPECT_EQ(opts.chunk_range, 2 * kHour);
  EXPECT_EQ(opts.stripe_size, 16384u);
  EXPECT_EQ(opts.samples_per_chunk, 120);
  EXPECT_EQ(opts.encoding, 1);
}

TEST(HeadAppendTest, DropSeriesSamplesForReplay) {
  auto head = OpenHead();
  const Labels a = Labels::FromPairs({{"__name__", "a"}});
  const Labels b = Labels::FromPairs({{"__name__", "b"}});
  ASSERT_EQ(*head->CreateSeriesWithRef(3, a), 3u);
  ASSERT_EQ(*head->CreateSeriesWithRef(4, b), 4u);
  auto app = head->Appender(AppenderOptions{.replay = true});
  for (int64_t t = 0; t < 300; ++t) {  // several chunks
    ASSERT_TRUE(app->Append(3, {}, t * 1000, 1).ok());
  }
  ASSERT_TRUE(app->Append(4, {}, 5000, 2).ok());
  ASSERT_TRUE(app->Commit().ok());
  const uint64_t chunks = head->Stats().num_chunks;
  ASSERT_GT(chunks, 2u);

  ASSERT_TRUE(head->DropSeriesSamplesForReplay(3).ok());
  EXPECT_TRUE(ReadAll(*head, 3).empty());
  EXPECT_EQ(ReadAll(*head, 4), (std::vector<TV>{{5000, 2}}));
  EXPECT_EQ(head->Stats().num_chunks, 1u);
  // Any timestamp may follow, even before the dropped samples.
  ASSERT_TRUE(app->Append(3, {}, 10, 7).ok());
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(ReadAll(*head, 3), (std::vector<TV>{{10, 7}}));
  EXPECT_EQ(head->DropSeriesSamplesForReplay(99).code(),
            absl::StatusCode::kNotFound);

  head->AdvanceLastSeriesRef(10);
  head->AdvanceLastSeriesRef(5);  // never lowers
  EXPECT_EQ(head->LastSeriesRef(), 10u);
  auto app2 = head->Appender();
  EXPECT_EQ(*app2->Append(0, Labels::FromPairs({{"__name__", "c"}}), 1e6, 1),
            11u);
}

}  // namespace
}  // namespace tsdb::head
