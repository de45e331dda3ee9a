#include "tsdb/headwal/headwal.h"

#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "plugins/wal/segmented/segmented_wal.h"
#include "testing/fault_file_system.h"
#include "testing/mem_file_system.h"
#include "tsdb/head/head.h"
#include "tsdb/head/test_util.h"
#include "tsdb/headwal/test_util.h"
#include "tsdb/record/record.h"
#include "tsdb/wal/reader.h"

namespace tsdb::headwal {
namespace {

using ::tsdb::head::Head;
using ::tsdb::head::HeadOptions;
using ::tsdb::headwal::testing::DumpHead;
using ::tsdb::headwal::testing::HeadDump;
using ::tsdb::headwal::testing::SameDump;

labels::Labels L(const std::string& name, const std::string& inst) {
  return labels::Labels::FromPairs({{"__name__", name}, {"instance", inst}});
}

std::string TmpDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(tmp ? tmp : "/tmp") + "/headwal_" + name + "_" +
                    std::to_string(getpid());
  EXPECT_TRUE(io::PosixFileSystem()->RemoveAll(dir).ok());
  return dir;
}

// A Wal that keeps records in memory, or fails every Log.
class FakeWal final : public wal::Wal {
 public:
  absl::Status Log(absl::Span<const std::string_view> recs) override {
    if (fail) return absl::UnavailableError("disk on fire");
    ++calls;
    for (std::string_view r : recs) records.emplace_back(r);
    return absl::OkStatus();
  }
  absl::Status Sync() override { return absl::OkStatus(); }
  absl::StatusOr<wal::SegmentRange> Segments() override {
    return wal::SegmentRange{};
  }
  absl::StatusOr<int> NextSegment() override { return 0; }
  absl::Status Close() override { return absl::OkStatus(); }
  const std::string& dir() const override { return dir_; }

  bool fail = false;
  int calls = 0;
  std::vector<std::string> records;

 private:
  std::string dir_ = "fake";
};

TEST(WalCommitLogTest, OneSeriesAndOneSamplesRecordPerCommit) {
  FakeWal w;
  WalCommitLog log(&w);
  HeadOptions opts = head::testing::TestOptions();
  opts.commit_log = &log;
  auto h = head::testing::OpenHead(opts);
  auto app = h->Appender();
  ASSERT_TRUE(app->Append(0, L("a", "1"), 1000, 1.5).ok());
  ASSERT_TRUE(app->Append(0, L("b", "1"), 1000, 2.5).ok());
  ASSERT_TRUE(app->Append(0, L("a", "1"), 2000, 3.5).ok());
  ASSERT_TRUE(app->Commit().ok());
  ASSERT_EQ(w.calls, 1);
  ASSERT_EQ(w.records.size(), 2u);
  EXPECT_EQ(record::Type(w.records[0]), record::RecordType::kSeries);
  EXPECT_EQ(record::Type(w.records[1]), record::RecordType::kSamples);
  std::vector<record::RefSeries> series;
  ASSERT_TRUE(record::DecodeSeries(w.records[0], &series).ok());
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].labels, L("a", "1"));
  EXPECT_EQ(series[1].labels, L("b", "1"));
  std::vector<record::RefSample> samples;
  ASSERT_TRUE(record::DecodeSamples(w.records[1], &samples).ok());
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_EQ(samples[0].ref, series[0].ref);
  EXPECT_EQ(samples[2].t, 2000);

  // Existing series only: just a Samples record.
  ASSERT_TRUE(app->Append(0, L("b", "1"), 3000, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  ASSERT_EQ(w.records.size(), 3u);
  EXPECT_EQ(record::Type(w.records[2]), record::RecordType::kSamples);

  // Rollback logs the created series only; an empty commit logs nothing.
  ASSERT_TRUE(app->Append(0, L("c", "1"), 3000, 1).ok());
  ASSERT_TRUE(app->Rollback().ok());
  ASSERT_EQ(w.records.size(), 4u);
  EXPECT_EQ(record::Type(w.records[3]), record::RecordType::kSeries);
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(w.records.size(), 4u);
}

TEST(WalCommitLogTest, FailedLogFailsCommitAndHidesBatch) {
  FakeWal w;
  WalCommitLog log(&w);
  HeadOptions opts = head::testing::TestOptions();
  opts.commit_log = &log;
  auto h = head::testing::OpenHead(opts);
  auto app = h->Appender();
  ASSERT_TRUE(app->Append(0, L("a", "1"), 1000, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  w.fail = true;
  ASSERT_TRUE(app->Append(0, L("a", "1"), 2000, 2).ok());
  ASSERT_TRUE(app->Append(0, L("z", "1"), 2000, 2).ok());
  absl::Status st = app->Commit();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  auto dump = DumpHead(*h);
  ASSERT_TRUE(dump.ok()) << dump.status();
  HeadDump want{{L("a", "1").ToString(), {{1000, 1.0}}}};
  std::string diff;
  EXPECT_TRUE(SameDump(*dump, want, &diff)) << diff;
}

TEST(WalCommitLogTest, FailedSegmentWriteFailsCommit) {
  tsdb::testing::FaultFileSystem fs(io::PosixFileSystem());
  wal::WalOptions wo;
  wo.fs = &fs;
  wo.dir = TmpDir("fault");
  wo.log = [](std::string_view) {};
  auto w = plugins::OpenSegmentedWal(wo);
  ASSERT_TRUE(w.ok()) << w.status();
  WalCommitLog log(w->get());
  HeadOptions opts = head::testing::TestOptions();
  opts.commit_log = &log;
  auto h = head::testing::OpenHead(opts);
  auto app = h->Appender();
  ASSERT_TRUE(app->Append(0, L("a", "1"), 1000, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  fs.FailWrite(1, /*all_after=*/true);
  ASSERT_TRUE(app->Append(0, L("a", "1"), 2000, 2).ok());
  EXPECT_FALSE(app->Commit().ok());
  auto dump = DumpHead(*h);
  ASSERT_TRUE(dump.ok());
  EXPECT_EQ((*dump)[L("a", "1").ToString()].size(), 1u);
}

// With sync_on_log, every acknowledged commit survives a power loss
// (unsynced data dropped, WAL repaired on open, replayed into a new head).
TEST(WalCommitLogTest, SyncedCommitsSurvivePowerLoss) {
  tsdb::testing::MemFileSystem mem;
  tsdb::testing::FaultFileSystem fs(&mem);
  wal::WalOptions wo;
  wo.fs = &fs;
  wo.dir = "/data/wal";
  wo.segment_size = wal::kPageSize;
  wo.sync_on_log = true;
  wo.log = [](std::string_view) {};
  HeadDump want;
  {
    auto w = plugins::OpenSegmentedWal(wo);
    ASSERT_TRUE(w.ok()) << w.status();
    WalCommitLog log(w->get());
    HeadOptions opts = head::testing::TestOptions();
    opts.commit_log = &log;
    auto h = head::testing::OpenHead(opts);
    auto app = h->Appender();
    for (int i = 0; i < 300; ++i) {
      ASSERT_TRUE(
          app->Append(0, L("m", std::to_string(i % 17)), i * 1000, i).ok());
      ASSERT_TRUE(app->Commit().ok());
    }
    auto d = DumpHead(*h);
    ASSERT_TRUE(d.ok());
    want = *d;
    // An unacknowledged batch in flight when the power goes.
    ASSERT_TRUE(app->Append(0, L("m", "late"), 1'000'000, 1).ok());
    fs.SetFilesystemActive(false);
    EXPECT_FALSE(app->Commit().ok());
    w->reset();
    ASSERT_TRUE(fs.DropUnsyncedData().ok());
    fs.SetFilesystemActive(true);
  }
  {
    auto w = plugins::OpenSegmentedWal(wo);  // repairs
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE((*w)->Close().ok());
  }
  auto h = head::testing::OpenHead();
  auto r = ReplayIntoHead(h.get(), &fs, wo.dir, 2, [](std::string_view) {});
  ASSERT_TRUE(r.ok()) << r.status();
  auto got = DumpHead(*h);
  ASSERT_TRUE(got.ok());
  std::string diff;
  EXPECT_TRUE(SameDump(*got, want, &diff)) << diff;
}

struct RoundTripParam {
  wal::Compression compression;
  int workers;
};

class RoundTripTest : public ::testing::TestWithParam<RoundTripParam> {};

TEST_P(RoundTripTest, ReplayRestoresSeriesAndSamples) {
  const std::string dir =
      TmpDir("rt" + std::to_string(static_cast<int>(GetParam().compression)) +
             "_" + std::to_string(GetParam().workers));
  wal::WalOptions wo;
  wo.dir = dir;
  wo.compression = GetParam().compression;
  wo.segment_size = wal::kPageSize;  // several segments
  wo.log = [](std::string_view) {};
  HeadDump want;
  SeriesRef max_ref = 0;
  {
    auto w = plugins::OpenSegmentedWal(wo);
    ASSERT_TRUE(w.ok()) << w.status();
    WalCommitLog log(w->get());
    HeadOptions opts = head::testing::TestOptions();
    opts.commit_log = &log;
    auto h = head::testing::OpenHead(opts);
    auto app = h->Appender();
    uint64_t x = 1;
    for (int batch = 0; batch < 200; ++batch) {
      for (int s = 0; s < 50; ++s) {
        const int64_t t = int64_t{batch} * 15000 + s;
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        const double v =
            batch % 7 == 0 ? static_cast<double>(x >> 11) : batch * 1.25 + s;
        ASSERT_TRUE(
            app->Append(0, L("m" + std::to_string(s % 10), std::to_string(s)),
                        t, v)
                .ok());
      }
      // An out-of-order sample is rejected at Append and never logged.
      EXPECT_FALSE(app->Append(0, L("m0", "0"), -1, 0).ok());
      ASSERT_TRUE(app->Commit().ok());
    }
    auto d = DumpHead(*h);
    ASSERT_TRUE(d.ok());
    want = *d;
    max_ref = h->LastSeriesRef();
    ASSERT_TRUE((*w)->Close().ok());
  }
  ASSERT_EQ(want.size(), 50u);

  auto h = head::testing::OpenHead();
  auto r = ReplayIntoHead(h.get(), nullptr, dir, GetParam().workers,
                          [](std::string_view) {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->series, 50);
  EXPECT_EQ(r->samples, 200 * 50);
  EXPECT_EQ(r->skipped_samples, 0);
  EXPECT_GT(r->segments, 1);
  auto got = DumpHead(*h);
  ASSERT_TRUE(got.ok()) << got.status();
  std::string diff;
  EXPECT_TRUE(SameDump(*got, want, &diff)) << diff;

  // New series continue above the replayed refs; appends keep working.
  auto app = h->Appender();
  auto ref = app->Append(0, L("new", "x"), 10'000'000, 1);
  ASSERT_TRUE(ref.ok());
  EXPECT_GT(*ref, max_ref);
  ASSERT_TRUE(app->Commit().ok());
}

INSTANTIATE_TEST_SUITE_P(
    All, RoundTripTest,
    ::testing::Values(RoundTripParam{wal::Compression::kSnappy, 1},
                      RoundTripParam{wal::Compression::kSnappy, 3},
                      RoundTripParam{wal::Compression::kNone, 1},
                      RoundTripParam{wal::Compression::kNone, 2}));

// Writes raw records into a fresh segmented WAL.
void WriteRecords(const std::string& dir,
                  const std::vector<std::string>& recs) {
  wal::WalOptions wo;
  wo.dir = dir;
  wo.log = [](std::string_view) {};
  auto w = plugins::OpenSegmentedWal(wo);
  ASSERT_TRUE(w.ok()) << w.status();
  for (const std::string& r : recs) {
    std::string_view v = r;
    ASSERT_TRUE((*w)->Log({&v, 1}).ok());
  }
  ASSERT_TRUE((*w)->Close().ok());
}

std::string Series(const std::vector<record::RefSeries>& s) {
  std::string out;
  record::EncodeSeries(s, &out);
  return out;
}
std::string Samples(const std::vector<record::RefSample>& s) {
  std::string out;
  record::EncodeSamples(s, &out);
  return out;
}

TEST(ReplayIntoHeadTest, OutOfOrderSkippedAndDuplicateSeriesResets) {
  const std::string dir = TmpDir("dup");
  WriteRecords(dir,
               {Series({{1, L("a", "1")}, {2, L("b", "1")}}),
                Samples({{1, 100, 1}, {2, 100, 1}, {1, 200, 2}}),
                // Out of order, and same timestamp with another value: skipped.
                Samples({{1, 150, 9}, {1, 200, 7}, {1, 300, 3}}),
                // A restart re-created a (ref 7): samples so far are dropped,
                // as Prometheus 2.42 does.
                Series({{7, L("a", "1")}}), Samples({{7, 50, 5}, {2, 200, 2}}),
                // Unknown ref: dropped and counted.
                Samples({{99, 100, 1}})});
  for (int workers : {1, 2}) {
    auto h = head::testing::OpenHead();
    auto r =
        ReplayIntoHead(h.get(), nullptr, dir, workers, [](std::string_view) {});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->series, 2);
    EXPECT_EQ(r->duplicate_series, 1);
    EXPECT_EQ(r->skipped_samples, 2);
    EXPECT_EQ(r->unknown_ref_samples, 1);
    EXPECT_EQ(r->max_series_ref, 7);
    auto got = DumpHead(*h);
    ASSERT_TRUE(got.ok());
    HeadDump want{{L("a", "1").ToString(), {{50, 5.0}}},
                  {L("b", "1").ToString(), {{100, 1.0}, {200, 2.0}}}};
    std::string diff;
    EXPECT_TRUE(SameDump(*got, want, &diff)) << diff;
    auto app = h->Appender();
    auto ref = app->Append(0, L("c", "1"), 1000, 1);
    ASSERT_TRUE(ref.ok());
    EXPECT_EQ(*ref, 8u);
    ASSERT_TRUE(app->Commit().ok());
  }
}

std::string Tombstones(const std::vector<record::Stone>& s) {
  std::string out;
  record::EncodeTombstones(s, &out);
  return out;
}

bool SameStones(const std::vector<record::Stone>& a,
                const std::vector<record::Stone>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].ref != b[i].ref || a[i].mint != b[i].mint ||
        a[i].maxt != b[i].maxt) {
      return false;
    }
  }
  return true;
}

std::string StonesString(const std::vector<record::Stone>& s) {
  std::string out;
  for (const record::Stone& x : s) {
    out += "{" + std::to_string(x.ref) + "," + std::to_string(x.mint) + "," +
           std::to_string(x.maxt) + "} ";
  }
  return out;
}

TEST(WalCommitLogTest, LogTombstonesWritesOneRecord) {
  FakeWal w;
  WalCommitLog log(&w);
  ASSERT_TRUE(log.LogTombstones({}).ok());
  EXPECT_EQ(w.calls, 0);
  ASSERT_TRUE(log.LogTombstones({{3, 10, 20}, {3, 30, 40}, {5, -5, 5}}).ok());
  ASSERT_EQ(w.records.size(), 1u);
  EXPECT_EQ(record::Type(w.records[0]), record::RecordType::kTombstones);
  std::vector<record::Stone> got;
  ASSERT_TRUE(record::DecodeTombstones(w.records[0], &got).ok());
  EXPECT_TRUE(SameStones(got, {{3, 10, 20}, {3, 30, 40}, {5, -5, 5}}))
      << StonesString(got);
  w.fail = true;
  EXPECT_EQ(log.LogTombstones({{3, 1, 2}}).code(),
            absl::StatusCode::kUnavailable);
  // Without a Wal (to be set after a repairing start-up): an error, no crash.
  WalCommitLog none(nullptr);
  EXPECT_EQ(none.LogTombstones({{3, 1, 2}}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(none.Log({}, {{3, 1, 2}}).code(),
            absl::StatusCode::kFailedPrecondition);
  none.set_wal(&w);
  w.fail = false;
  EXPECT_TRUE(none.LogTombstones({{3, 1, 2}}).ok());
}

TEST(ReplayIntoHeadTest, TombstonesLoggedThroughTheHeadComeBack) {
  const std::string dir = TmpDir("stones");
  SeriesRef a = 0, b = 0;
  {
    wal::WalOptions wo;
    wo.dir = dir;
    wo.log = [](std::string_view) {};
    auto w = plugins::OpenSegmentedWal(wo);
    ASSERT_TRUE(w.ok()) << w.status();
    WalCommitLog log(w->get());
    HeadOptions opts = head::testing::TestOptions();
    opts.commit_log = &log;
    auto h = head::testing::OpenHead(opts);
    auto app = h->Appender();
    a = *app->Append(0, L("a", "1"), 1000, 1);
    b = *app->Append(0, L("b", "1"), 1000, 2);
    ASSERT_TRUE(app->Commit().ok());
    ASSERT_TRUE(log.LogTombstones({{a, 100, 200}, {b, 0, 50}}).ok());
    ASSERT_TRUE(app->Append(a, {}, 2000, 3).ok());
    ASSERT_TRUE(app->Commit().ok());
    // An interval of a ref no series record names, and one that ends
    // before the minimum valid time used below.
    ASSERT_TRUE(log.LogTombstones({{99, 0, 10}, {a, -100, -50}}).ok());
    ASSERT_TRUE((*w)->Close().ok());
  }
  for (int workers : {1, 3}) {
    auto h = head::testing::OpenHead();
    auto r = ReplayIntoHead(
        h.get(), nullptr, dir, workers, [](std::string_view) {}, -10);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->tombstones, 4);
    EXPECT_EQ(r->unknown_ref_tombstones, 1);
    EXPECT_TRUE(SameStones(r->tombstones_read, {{a, 100, 200}, {b, 0, 50}}))
        << StonesString(r->tombstones_read);
    EXPECT_EQ(r->samples, 3);
  }
}

TEST(ReplayIntoHeadTest, TombstonesOfDuplicateSeriesMapToFirstRef) {
  const std::string dir = TmpDir("dupstones");
  WriteRecords(dir,
               {Series({{1, L("a", "1")}, {2, L("b", "1")}}),
                Samples({{1, 100, 1}, {2, 100, 1}}), Tombstones({{1, 0, 10}}),
                // A restart re-created a as ref 7; later deletions name 7.
                Series({{7, L("a", "1")}}), Samples({{7, 200, 2}}),
                Tombstones({{7, 150, 250}, {2, 90, 95}})});
  for (int workers : {1, 2}) {
    auto h = head::testing::OpenHead();
    auto r =
        ReplayIntoHead(h.get(), nullptr, dir, workers, [](std::string_view) {});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->duplicate_series, 1);
    EXPECT_EQ(r->unknown_ref_tombstones, 0);
    EXPECT_TRUE(SameStones(r->tombstones_read,
                           {{1, 0, 10}, {1, 150, 250}, {2, 90, 95}}))
        << StonesString(r->tombstones_read);
  }
}

TEST(ReplayIntoHeadTest, MissingDirectoryReplaysNothing) {
  auto h = head::testing::OpenHead();
  auto r = ReplayIntoHead(h.get(), nullptr, TmpDir("missing"), 1,
                          [](std::string_view) {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->series, 0);
  EXPECT_EQ(r->segments, 0);
}

}  // namespace
}  // namespace tsdb::headwal
