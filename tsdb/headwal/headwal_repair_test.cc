// Start-up with a damaged WAL (OpenHeadFromDir with a WalRepairFn), as
// Prometheus 2.42's DB open: the WAL is replayed once; at the first
// corruption the head keeps every record before it, the WAL is cut there,
// and the next start-up (and new appends) find a clean log.
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "plugins/wal/segmented/segmented_wal.h"
#include "testing/mem_file_system.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/head/head.h"
#include "tsdb/head/test_util.h"
#include "tsdb/headwal/headwal.h"
#include "tsdb/headwal/test_util.h"
#include "tsdb/record/record.h"
#include "tsdb/wal/framing.h"
#include "tsdb/wal/reader.h"

namespace tsdb::headwal {
namespace {

using testing::DumpHead;
using testing::HeadDump;
using testing::SameDump;

constexpr int64_t kStep = 15000;
// Many series, few batches: one Samples record is ~1 KiB (the WAL spans
// several segments) and no chunk is cut (chunks_head stays empty, so the
// head holds exactly the WAL's samples).
constexpr int kSeries = 100;

labels::Labels L(int i) {
  return labels::Labels::FromPairs(
      {{"__name__", "up"}, {"instance", absl::StrCat(i)}});
}

double ValueAt(int i, int64_t t) {
  return std::round(std::sin(static_cast<double>(t) / 3e5 + i) * 1e4) / 100;
}

// Batches [0, n) of every series.
HeadDump Expected(int n) {
  HeadDump want;
  for (int i = 0; i < kSeries; ++i) {
    auto& v = want[L(i).ToString()];
    for (int k = 0; k < n; ++k) {
      v.emplace_back(k * kStep, ValueAt(i, k * kStep));
    }
  }
  return want;
}

wal::WalOptions WalOpts(io::FileSystem* fs) {
  wal::WalOptions wo;
  wo.fs = fs;
  wo.dir = "/data/wal";
  wo.segment_size = 32 << 10;  // several segments
  wo.repair_on_open = false;   // OpenHeadFromDir repaired it already
  wo.log = [](std::string_view) {};
  return wo;
}

WalRepairFn Repair(io::FileSystem* fs, int* calls) {
  return [fs, calls](const std::string& dir, const wal::Corruption& at) {
    ++*calls;
    wal::WalOptions o;
    o.fs = fs;
    o.dir = dir;
    o.log = [](std::string_view) {};
    return plugins::RepairSegmentedWalAt(o, at).status();
  };
}

// Starts a head on /data (repairing), opens the WAL afterwards, appends
// batches [from, to) (one Samples record each) and shuts down.
absl::StatusOr<HeadDump> StartAndAppend(io::FileSystem* fs, int from, int to,
                                        StartupResult* st, int* repairs) {
  WalCommitLog log(nullptr);  // the WAL is opened after the repair
  head::HeadOptions opts = head::testing::TestOptions();
  opts.commit_log = &log;
  std::vector<std::string> lines;
  TSDB_ASSIGN_OR_RETURN(OpenedHead opened,
                        OpenHeadFromDir(
                            fs, "/data", opts, 2,
                            [&](std::string_view l) { lines.emplace_back(l); },
                            INT64_MIN, {}, Repair(fs, repairs)));
  if (st != nullptr) *st = opened.startup;
  TSDB_ASSIGN_OR_RETURN(std::unique_ptr<wal::Wal> w,
                        plugins::OpenSegmentedWal(WalOpts(fs)));
  log.set_wal(w.get());
  auto app = opened.head->Appender();
  for (int k = from; k < to; ++k) {
    for (int i = 0; i < kSeries; ++i) {
      const int64_t t = k * kStep;
      TSDB_RETURN_IF_ERROR(app->Append(0, L(i), t, ValueAt(i, t)).status());
    }
    TSDB_RETURN_IF_ERROR(app->Commit());
  }
  TSDB_ASSIGN_OR_RETURN(HeadDump d, DumpHead(*opened.head));
  TSDB_RETURN_IF_ERROR(opened.mapper->Close());
  TSDB_RETURN_IF_ERROR(w->Close());
  return d;
}

struct RecordPos {
  int segment;
  uint64_t start;
  uint64_t end;
};

std::vector<RecordPos> Records(io::FileSystem* fs, absl::Status* status) {
  auto segs = wal::SegmentsInDir(fs, "/data/wal", 0, -1);
  EXPECT_TRUE(segs.ok());
  wal::Reader r(fs, *segs);
  std::vector<RecordPos> out;
  while (r.Next()) out.push_back({r.segment(), r.offset(), r.record_end()});
  *status = r.status();
  return out;
}

enum class Damage { kFlipByte, kTornTail };

class RepairTest : public ::testing::TestWithParam<Damage> {};

TEST_P(RepairTest, PrefixKeptWalCutAndUsableAfterwards) {
  tsdb::testing::MemFileSystem fs;
  constexpr int kBatches = 110;
  int repairs = 0;
  ASSERT_TRUE(StartAndAppend(&fs, 0, kBatches, nullptr, &repairs).ok());
  absl::Status rs;
  const std::vector<RecordPos> recs = Records(&fs, &rs);
  ASSERT_TRUE(rs.ok()) << rs;
  // Record 0 holds the series, record j >= 1 batch j - 1.
  ASSERT_EQ(recs.size(), size_t{kBatches} + 1);
  ASSERT_GE(recs.back().segment, 2);  // damage before the last segments
  // The damaged record: early in its segment for a flipped byte (later
  // segments are dropped), the last one for a torn tail.
  size_t k = 0;
  if (GetParam() == Damage::kFlipByte) {
    k = recs.size() / 2;
    const std::string seg =
        io::JoinPath("/data/wal", wal::SegmentName(recs[k].segment));
    ASSERT_TRUE(fs.CorruptByte(seg, recs[k].start + 9, 0x40).ok());
  } else {
    k = recs.size() - 1;
    const std::string seg =
        io::JoinPath("/data/wal", wal::SegmentName(recs[k].segment));
    ASSERT_TRUE(fs.Truncate(seg, (recs[k].start + recs[k].end) / 2).ok());
  }
  const int kept = static_cast<int>(k) - 1;  // batches before record k
  StartupResult st;
  auto got = StartAndAppend(&fs, kept, kept, &st, &repairs);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(repairs, 1);
  EXPECT_TRUE(st.wal_repaired);
  EXPECT_EQ(st.replay.corruption.code(), absl::StatusCode::kDataLoss);
  ASSERT_TRUE(st.replay.corrupt_at.has_value());
  EXPECT_EQ(st.replay.corrupt_at->segment, recs[k].segment);
  EXPECT_EQ(st.replay.samples, int64_t{kSeries} * kept);
  std::string diff;
  EXPECT_TRUE(SameDump(*got, Expected(kept), &diff)) << diff;
  // The WAL now ends after record k - 1: later segments are gone.
  const std::vector<RecordPos> after = Records(&fs, &rs);
  ASSERT_TRUE(rs.ok()) << rs;
  ASSERT_EQ(after.size(), k);
  EXPECT_EQ(after.back().segment, recs[k - 1].segment);
  EXPECT_EQ(after.back().end, recs[k - 1].end);

  // New appends go to a new segment; the next start needs no repair and
  // has everything.
  got = StartAndAppend(&fs, kept, kBatches, &st, &repairs);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(repairs, 1);
  EXPECT_FALSE(st.wal_repaired);
  EXPECT_TRUE(st.replay.corruption.ok());
  EXPECT_TRUE(SameDump(*got, Expected(kBatches), &diff)) << diff;
  got = StartAndAppend(&fs, kBatches, kBatches, &st, &repairs);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(st.wal_repaired);
  EXPECT_TRUE(SameDump(*got, Expected(kBatches), &diff)) << diff;
}

INSTANTIATE_TEST_SUITE_P(Damage, RepairTest,
                         ::testing::Values(Damage::kFlipByte,
                                           Damage::kTornTail),
                         [](const auto& info) {
                           return info.param == Damage::kFlipByte
                                      ? std::string("FlipByte")
                                      : std::string("TornTail");
                         });

void WriteRecords(io::FileSystem* fs, const std::string& dir,
                  const std::vector<std::string>& recs) {
  wal::WalOptions wo = WalOpts(fs);
  wo.dir = dir;
  auto w = plugins::OpenSegmentedWal(wo);
  ASSERT_TRUE(w.ok()) << w.status();
  for (const std::string& r : recs) {
    std::string_view v = r;
    ASSERT_TRUE((*w)->Log({&v, 1}).ok());
  }
  ASSERT_TRUE((*w)->Close().ok());
}

std::string SeriesRec(uint64_t ref, int i) {
  std::string out;
  record::EncodeSeries({{ref, L(i)}}, &out);
  return out;
}

std::string SamplesRec(uint64_t ref, int64_t t, double v) {
  std::string out;
  record::EncodeSamples({{ref, t, v}}, &out);
  return out;
}

// A well-framed record whose payload does not decode: the framing is
// intact, so only the replay sees it; the cut comes from the replay.
TEST(WalRepairTest, UndecodableRecordCutWhereReplayStopped) {
  tsdb::testing::MemFileSystem fs;
  WriteRecords(&fs, "/data/wal",
               {SeriesRec(1, 0), SamplesRec(1, 0, ValueAt(0, 0)),
                std::string("\x02\x00\x01", 3),
                SamplesRec(1, kStep, ValueAt(0, kStep))});
  int repairs = 0;
  StartupResult st;
  auto got = StartAndAppend(&fs, 1, 3, &st, &repairs);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(st.wal_repaired);
  EXPECT_EQ(st.replay.samples, 1);
  HeadDump want = Expected(3);
  for (int i = 1; i < kSeries; ++i) {
    want[L(i).ToString()].erase(want[L(i).ToString()].begin());
  }
  std::string diff;
  EXPECT_TRUE(SameDump(*got, want, &diff)) << diff;
  absl::Status rs;
  // 2 kept; then series + samples, samples.
  EXPECT_EQ(Records(&fs, &rs).size(), 2u + 3u);
  got = StartAndAppend(&fs, 3, 3, &st, &repairs);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(st.wal_repaired);
  EXPECT_EQ(repairs, 1);
  EXPECT_TRUE(SameDump(*got, want, &diff)) << diff;
}

TEST(WalRepairTest, WithoutRepairCorruptionIsAnError) {
  tsdb::testing::MemFileSystem fs;
  WriteRecords(
      &fs, "/data/wal",
      {SeriesRec(1, 0), SamplesRec(1, 0, 1), std::string("\x02\x00\x01", 3)});
  head::HeadOptions opts = head::testing::TestOptions();
  auto opened = OpenHeadFromDir(&fs, "/data", opts, 1, [](std::string_view) {});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(opened.status().message().find("replay WAL"), std::string::npos)
      << opened.status();
  // The WAL was left as it was.
  absl::Status rs;
  EXPECT_EQ(Records(&fs, &rs).size(), 3u);
}

TEST(WalRepairTest, CorruptCheckpointIsFatal) {
  tsdb::testing::MemFileSystem fs;
  const std::string cp = io::JoinPath("/data/wal", wal::CheckpointName(0));
  WriteRecords(
      &fs, cp,
      {SeriesRec(1, 0), SamplesRec(1, 0, 1), std::string("\x02\x00\x01", 3)});
  WriteRecords(&fs, "/data/wal", {SamplesRec(1, kStep, 2)});
  int repairs = 0;
  auto got = StartAndAppend(&fs, 2, 2, nullptr, &repairs);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(got.status().message().find("backfill checkpoint"),
            std::string::npos)
      << got.status();
  EXPECT_EQ(repairs, 0);
}

}  // namespace
}  // namespace tsdb::headwal
