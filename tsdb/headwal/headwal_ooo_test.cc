// Out-of-order samples across restarts: the WBL (`wbl/`) gets Samples
// records of the out-of-order samples only, OpenHeadFromDir replays WAL then
// WBL and restores them, MmapMarkers records are skipped, and the
// FreezeOoo / DeleteWblSegmentsBefore protocol keeps exactly the live
// generation's samples.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "plugins/wal/segmented/segmented_wal.h"
#include "testing/mem_file_system.h"
#include "tsdb/head/head.h"
#include "tsdb/head/test_util.h"
#include "tsdb/headwal/headwal.h"
#include "tsdb/headwal/test_util.h"
#include "tsdb/record/record.h"
#include "tsdb/wal/reader.h"

namespace tsdb::headwal {
namespace {

using testing::DumpHead;
using testing::HeadDump;
using testing::SameDump;

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;

labels::Labels L(int i) {
  return labels::Labels::FromPairs(
      {{"__name__", "up"}, {"i", absl::StrCat(i)}});
}

wal::WalOptions WalOpts(io::FileSystem* fs, const std::string& dir) {
  wal::WalOptions wo;
  wo.fs = fs;
  wo.dir = dir;
  wo.segment_size = 32 << 10;
  wo.log = [](std::string_view) {};
  return wo;
}

// A data dir opened with WAL + WBL; closed (flushed) by Close().
struct Running {
  std::unique_ptr<wal::Wal> wal, wbl;
  std::unique_ptr<WalCommitLog> wal_log, wbl_log;
  OpenedHead opened;

  head::Head& head() { return *opened.head; }
  void Close() {
    EXPECT_TRUE(opened.mapper->Close().ok());
    opened.head.reset();
    EXPECT_TRUE(wal->Close().ok());
    EXPECT_TRUE(wbl->Close().ok());
  }
};

std::unique_ptr<Running> Start(io::FileSystem* fs) {
  auto r = std::make_unique<Running>();
  auto w = plugins::OpenSegmentedWal(WalOpts(fs, "/data/wal"));
  EXPECT_TRUE(w.ok()) << w.status();
  auto b = plugins::OpenSegmentedWal(WalOpts(fs, "/data/wbl"));
  EXPECT_TRUE(b.ok()) << b.status();
  if (!w.ok() || !b.ok()) return nullptr;
  r->wal = *std::move(w);
  r->wbl = *std::move(b);
  r->wal_log = std::make_unique<WalCommitLog>(r->wal.get());
  r->wbl_log = std::make_unique<WalCommitLog>(r->wbl.get());
  head::HeadOptions opts = head::testing::TestOptions();
  opts.commit_log = r->wal_log.get();
  opts.ooo_commit_log = r->wbl_log.get();
  opts.ooo_time_window = 2 * kHour;
  opts.ooo_cap_max = 5;
  opts.samples_per_chunk = 20;  // some m-mapped in-order chunks
  auto opened = OpenHeadFromDir(fs, "/data", opts, 2, [](std::string_view) {});
  EXPECT_TRUE(opened.ok()) << opened.status();
  if (!opened.ok()) return nullptr;
  r->opened = *std::move(opened);
  return r;
}

// In-order samples every minute over [from, to) for 5 series, and an
// out-of-order sample 30s before each (so the two interleave).
void Append(head::Head& h, int64_t from, int64_t to, bool ooo) {
  for (int64_t t = from; t < to; t += kMinute) {
    auto app = h.Appender();
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(app->Append(0, L(i), t, static_cast<double>(t + i)).ok());
    }
    ASSERT_TRUE(app->Commit().ok());
  }
  if (!ooo) return;
  for (int64_t t = to - kMinute; t >= from; t -= kMinute) {
    auto app = h.Appender();
    for (int i = 0; i < 5; ++i) {
      const int64_t x = t - 30000;
      ASSERT_TRUE(app->Append(0, L(i), x, static_cast<double>(x + i)).ok());
    }
    ASSERT_TRUE(app->Commit().ok());
  }
}

HeadDump Dump(head::Head& h) {
  auto d = DumpHead(h);
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? *d : HeadDump{};
}

std::vector<std::string> Records(io::FileSystem* fs, const std::string& dir) {
  auto segs = wal::SegmentsInDir(fs, dir, 0, -1);
  EXPECT_TRUE(segs.ok());
  wal::Reader r(fs, *segs);
  std::vector<std::string> out;
  while (r.Next()) out.emplace_back(r.record());
  EXPECT_TRUE(r.status().ok()) << r.status();
  return out;
}

TEST(HeadWalOooTest, WblHoldsOnlyOooSamplesAndRestartRestoresThem) {
  tsdb::testing::MemFileSystem fs;
  HeadDump want;
  {
    auto r = Start(&fs);
    ASSERT_NE(r, nullptr);
    Append(r->head(), 10 * kHour, 11 * kHour, true);
    EXPECT_EQ(r->head().Stats().ooo_samples, 5u * 60);
    want = Dump(r->head());
    r->Close();
  }
  ASSERT_EQ(want.size(), 5u);
  ASSERT_EQ(want.begin()->second.size(), 120u);

  // The WBL: Samples records only, exactly the out-of-order samples.
  int64_t wbl_samples = 0;
  for (const std::string& rec : Records(&fs, "/data/wbl")) {
    ASSERT_EQ(record::Type(rec), record::RecordType::kSamples);
    std::vector<record::RefSample> s;
    ASSERT_TRUE(record::DecodeSamples(rec, &s).ok());
    for (const record::RefSample& x : s) EXPECT_EQ(x.t % kMinute, 30000);
    wbl_samples += static_cast<int64_t>(s.size());
  }
  EXPECT_EQ(wbl_samples, 5 * 60);

  auto r = Start(&fs);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->opened.startup.wbl.samples, 5 * 60);
  EXPECT_EQ(r->opened.startup.wbl.unknown_refs, 0);
  // The WAL has the out-of-order samples too (Prometheus 2.42's layout);
  // its replay skips them.
  const ReplayResult& wal = r->opened.startup.replay;
  EXPECT_EQ(wal.samples + wal.skipped_samples + wal.mmapped_skipped_samples,
            5 * 120);
  EXPECT_GE(wal.skipped_samples + wal.mmapped_skipped_samples, 5 * 60);
  std::string diff;
  EXPECT_TRUE(SameDump(Dump(r->head()), want, &diff)) << diff;
  EXPECT_EQ(r->head().Stats().ooo_samples, 5u * 60);
  r->Close();
}

TEST(HeadWalOooTest, FreezeProtocolKeepsOnlyTheLiveGeneration) {
  tsdb::testing::MemFileSystem fs;
  HeadDump in_order_and_live;
  {
    auto r = Start(&fs);
    ASSERT_NE(r, nullptr);
    Append(r->head(), 10 * kHour, 10 * kHour + 30 * kMinute, true);
    // The DB's out-of-order compaction: cut the WBL, freeze, persist
    // (skipped here), drop, delete the older WBL segments.
    auto next = r->wbl->NextSegment();
    ASSERT_TRUE(next.ok());
    const head::OooFreeze f = r->head().FreezeOoo();
    EXPECT_EQ(f.num_samples, 5u * 30);
    Append(r->head(), 10 * kHour + 30 * kMinute, 11 * kHour, true);
    r->head().DropFrozenOoo(f.id);
    auto deleted = DeleteWblSegmentsBefore(&fs, "/data/wbl", *next);
    ASSERT_TRUE(deleted.ok()) << deleted.status();
    EXPECT_GE(*deleted, 1);
    EXPECT_EQ(r->head().Stats().ooo_samples, 5u * 30);
    in_order_and_live = Dump(r->head());
    r->Close();
  }
  ASSERT_EQ(in_order_and_live.begin()->second.size(), 60u + 30u);
  auto r = Start(&fs);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->opened.startup.wbl.samples, 5 * 30);
  std::string diff;
  EXPECT_TRUE(SameDump(Dump(r->head()), in_order_and_live, &diff)) << diff;
  r->Close();
}

TEST(HeadWalOooTest, MmapMarkersAreSkippedAndUnknownRefsCounted) {
  tsdb::testing::MemFileSystem fs;
  {
    auto w = plugins::OpenSegmentedWal(WalOpts(&fs, "/wbl"));
    ASSERT_TRUE(w.ok());
    std::string samples;
    record::EncodeSamples({{1, 100, 1.5}, {1, 50, 2.5}, {9, 10, 0}}, &samples);
    // An MmapMarkers record (type 5): BE64 series ref, BE64 chunk ref.
    std::string marker(1, '\x05');
    marker.append(std::string(7, '\0') + '\x01');
    marker.append(std::string(7, '\0') + '\x08');
    std::string more;
    record::EncodeSamples({{1, 75, 3.5}}, &more);
    const std::string_view recs[] = {samples, marker, more};
    ASSERT_TRUE((*w)->Log(recs).ok());
    ASSERT_TRUE((*w)->Close().ok());
  }
  auto h = head::testing::OpenHead();
  ASSERT_TRUE(h->CreateSeriesWithRef(1, L(1)).ok());
  auto r = ReplayWblIntoHead(h.get(), &fs, "/wbl", [](std::string_view) {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->samples, 3);
  EXPECT_EQ(r->unknown_refs, 1);
  EXPECT_EQ(r->mmap_markers, 1);
  HeadDump d = Dump(*h);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d.begin()->second, (std::vector<std::pair<int64_t, double>>{
                                   {50, 2.5}, {75, 3.5}, {100, 1.5}}));

  // A missing directory replays nothing.
  auto none = ReplayWblIntoHead(h.get(), &fs, "/nope", nullptr);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->samples, 0);
}

}  // namespace
}  // namespace tsdb::headwal
