// The segmented WAL under injected faults (testing/fault_file_system.h):
// power loss (unsynced data dropped) and failing writes.
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "plugins/wal/segmented/segmented_wal.h"
#include "testing/fault_file_system.h"
#include "testing/mem_file_system.h"
#include "tsdb/wal/reader.h"

namespace tsdb::plugins {
namespace {

std::string Rec(int i) {
  // Every 7th record spans pages; the rest are small.
  std::mt19937 rng(i);
  std::string s(i % 7 == 0 ? 40000 : 10 + i % 90, '\0');
  for (char& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}

class FaultTest : public ::testing::TestWithParam<wal::Compression> {
 protected:
  FaultTest() : fault_(&mem_) {}
  wal::WalOptions Options(bool sync_on_log) {
    wal::WalOptions o;
    o.fs = &fault_;
    o.dir = "/wal";
    o.compression = GetParam();
    o.segment_size = 4 * wal::kPageSize;
    o.sync_on_log = sync_on_log;
    o.log = [](std::string_view) {};
    return o;
  }
  // Power loss: the process dies and unsynced bytes vanish.
  void PowerLoss(std::unique_ptr<wal::Wal>* w) {
    fault_.SetFilesystemActive(false);
    w->reset();
    ASSERT_TRUE(fault_.DropUnsyncedData().ok());
    fault_.SetFilesystemActive(true);
  }
  std::vector<std::string> Reopen() {
    auto w = OpenSegmentedWal(Options(false));  // repairs
    EXPECT_TRUE(w.ok()) << w.status();
    w->reset();
    auto segs = wal::SegmentsInDir(&mem_, "/wal", 0, -1);
    EXPECT_TRUE(segs.ok());
    wal::Reader r(&mem_, *segs);
    std::vector<std::string> out;
    while (r.Next()) out.emplace_back(r.record());
    EXPECT_TRUE(r.status().ok()) << r.status();
    return out;
  }
  void ExpectPrefix(const std::vector<std::string>& got, size_t at_least,
                    size_t at_most) {
    ASSERT_GE(got.size(), at_least);
    ASSERT_LE(got.size(), at_most);
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], Rec(i)) << i;
  }

  testing::MemFileSystem mem_;
  testing::FaultFileSystem fault_;
};

TEST_P(FaultTest, SyncOnLogSurvivesPowerLoss) {
  auto w = OpenSegmentedWal(Options(true));
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 40; ++i) ASSERT_TRUE((*w)->Log({Rec(i)}).ok());
  PowerLoss(&*w);
  ExpectPrefix(Reopen(), 40, 40);
}

TEST_P(FaultTest, SyncAndClosedSegmentsSurvivePowerLoss) {
  auto w = OpenSegmentedWal(Options(false));
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE((*w)->Log({Rec(i)}).ok());
  ASSERT_TRUE((*w)->Sync().ok());
  for (int i = 20; i < 40; ++i) ASSERT_TRUE((*w)->Log({Rec(i)}).ok());
  // Rolled-over segments were fsynced when closed.
  auto range = (*w)->Segments();
  ASSERT_TRUE(range.ok());
  ASSERT_GT(range->last, 0);
  PowerLoss(&*w);
  ExpectPrefix(Reopen(), 20, 40);
}

TEST_P(FaultTest, CloseMakesEverythingDurable) {
  auto w = OpenSegmentedWal(Options(false));
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 30; ++i) ASSERT_TRUE((*w)->Log({Rec(i)}).ok());
  ASSERT_TRUE((*w)->Close().ok());
  PowerLoss(&*w);
  ExpectPrefix(Reopen(), 30, 30);
}

TEST_P(FaultTest, FailedWriteIsStickyAndRepairedOnOpen) {
  for (int fail_at = 1; fail_at < 30; fail_at += 3) {
    ASSERT_TRUE(mem_.RemoveAll("/wal").ok());
    auto w = OpenSegmentedWal(Options(false));
    ASSERT_TRUE(w.ok());
    fault_.FailWrite(fail_at, /*all_after=*/false);
    size_t acked = 0;
    bool failed = false;
    for (int i = 0; i < 30; ++i) {
      absl::Status s = (*w)->Log({Rec(i)});
      if (s.ok()) {
        ASSERT_FALSE(failed) << "Log succeeded after a failure";
        ++acked;
      } else {
        failed = true;
      }
    }
    ASSERT_TRUE(failed);
    EXPECT_FALSE((*w)->Sync().ok());
    w->reset();
    fault_.FailWrite(-1, false);
    ExpectPrefix(Reopen(), acked, acked + 1);
    if (HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Compression, FaultTest,
                         ::testing::Values(wal::Compression::kNone,
                                           wal::Compression::kSnappy));

}  // namespace
}  // namespace tsdb::plugins
