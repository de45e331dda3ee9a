#include "tsdb/db/db.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/fault_file_system.h"
#include "testing/prometheus/prometheus_binaries.h"
#include "tsdb/block/ulid.h"
#include "tsdb/db/db_test_util.h"
#include "tsdb/labels/selector.h"

namespace tsdb::db {
namespace {

using testing::Dump;
using testing::DumpDB;
using testing::QuietOptions;
using testing::TestRegistry;

constexpr int64_t kH = kMillisPerHour;
constexpr int64_t kStep = 15000;

class DBTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ =
        absl::StrCat(::testing::TempDir(), "/db_", info->name(), "_", getpid());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<DB> OpenDB(const Options& o) {
    auto db = DB::Open(dir_, o, &TestRegistry());
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }

  static labels::Labels Series(int i) {
    const std::string n = absl::StrCat(i % 3);
    const std::string inst = absl::StrCat("host-", i);
    return labels::Labels::FromPairs(
        {{"__name__", absl::StrCat("metric_", n)}, {"instance", inst}});
  }

  // Appends series [0, n) at t in [from, to) every kStep, one commit per
  // timestamp; returns what was appended.
  static void Fill(DB& db, int n, int64_t from, int64_t to, Dump* want) {
    auto app = db.Appender();
    std::vector<SeriesRef> refs(n, 0);
    for (int64_t t = from; t < to; t += kStep) {
      for (int i = 0; i < n; ++i) {
        const double v = static_cast<double>(t / kStep + i);
        auto r = app->Append(refs[i], Series(i), t, v);
        ASSERT_TRUE(r.ok()) << r.status();
        refs[i] = *r;
        (*want)[Series(i).ToString()].emplace_back(t, v);
      }
      ASSERT_TRUE(app->Commit().ok());
    }
  }

  static void ExpectSame(const Dump& got, const Dump& want) {
    ASSERT_EQ(got.size(), want.size());
    for (const auto& [k, v] : want) {
      auto it = got.find(k);
      ASSERT_NE(it, got.end()) << k;
      ASSERT_EQ(it->second.size(), v.size()) << k;
      EXPECT_EQ(it->second, v) << k;
    }
  }

  std::string dir_;
};

TEST_F(DBTest, AppendQueryCloseReopen) {
  Dump want;
  {
    auto db = OpenDB(QuietOptions());
    ASSERT_NE(db, nullptr);
    Fill(*db, 10, 0, 100 * kStep, &want);
    auto got = DumpDB(*db);
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectSame(*got, want);
    ASSERT_TRUE(db->Close().ok());
    EXPECT_TRUE(db->Close().ok());  // idempotent
    EXPECT_EQ(db->Compact().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_FALSE(db->Querier(0, 1).ok());
  }
  auto db = OpenDB(QuietOptions());
  ASSERT_NE(db, nullptr);
  auto got = DumpDB(*db);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(*got, want);
  EXPECT_EQ(db->GetStats().startup.replay.samples, 1000);
}

TEST_F(DBTest, TornWalTailIsCutAfterReplayAndWritingGoesOn) {
  Dump want;
  {
    auto db = OpenDB(QuietOptions());
    ASSERT_NE(db, nullptr);
    Fill(*db, 10, 0, 50 * kStep, &want);
    ASSERT_TRUE(db->Close().ok());
  }
  // A crash in the middle of a write: a full-record fragment header
  // announcing 100 bytes, followed by only 10 of them.
  std::string last;
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/wal")) {
    if (e.is_regular_file() && e.file_size() > 0 && e.path().string() > last) {
      last = e.path().string();
    }
  }
  ASSERT_FALSE(last.empty());
  const uintmax_t good_size = std::filesystem::file_size(last);
  {
    std::ofstream f(last, std::ios::binary | std::ios::app);
    const char torn[] = {1, 0, 100, 0x12, 0x34, 0x56, 0x78, 9, 9,
                         9, 9, 9,   9,    9,    9,    9,    9};
    f.write(torn, sizeof(torn));
  }
  {
    auto db = OpenDB(QuietOptions());
    ASSERT_NE(db, nullptr);
    EXPECT_TRUE(db->GetStats().startup.wal_repaired);
    EXPECT_EQ(db->GetStats().startup.replay.samples, 500);
    // Cut at the end of the last complete record (the page padding after it
    // goes too).
    EXPECT_LE(std::filesystem::file_size(last), good_size);
    auto got = DumpDB(*db);
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectSame(*got, want);
    Fill(*db, 10, 50 * kStep, 60 * kStep, &want);
    ASSERT_TRUE(db->Close().ok());
  }
  auto db = OpenDB(QuietOptions());
  ASSERT_NE(db, nullptr);
  EXPECT_FALSE(db->GetStats().startup.wal_repaired);
  auto got = DumpDB(*db);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(*got, want);
}

TEST_F(DBTest, HeadCompactionWritesBlockTruncatesHeadAndCheckpointsWal) {
  Options o = QuietOptions();
  o.wal_segment_size = 64 * 1024;  // many segments, so a checkpoint happens
  o.wal_compression = wal::Compression::kNone;
  Dump want;
  auto db = OpenDB(o);
  ASSERT_NE(db, nullptr);
  Fill(*db, 30, 0, 3 * kH + 30 * 60 * 1000, &want);
  ASSERT_TRUE(db->Compact().ok());
  std::vector<block::BlockMeta> blocks = db->Blocks();
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].min_time, 0);
  EXPECT_EQ(blocks[0].max_time, 2 * kH);
  EXPECT_EQ(blocks[0].stats.num_samples, 30u * (2 * kH / kStep));
  EXPECT_GE(db->head()->MinTime(), 2 * kH);
  EXPECT_EQ(db->GetStats().checkpoints, 1);
  bool has_checkpoint = false;
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/wal")) {
    if (e.path().filename().string().rfind("checkpoint.", 0) == 0) {
      has_checkpoint = true;
    }
  }
  EXPECT_TRUE(has_checkpoint);
  auto got = DumpDB(*db);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(*got, want);
  ASSERT_TRUE(db->Close().ok());
  db.reset();

  // Restart: block + checkpoint + WAL give back everything, once.
  db = OpenDB(o);
  ASSERT_NE(db, nullptr);
  got = DumpDB(*db);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(*got, want);
  ASSERT_TRUE(db->Close().ok());
  db.reset();

  // promtool reads the same samples from the data dir (block + WAL).
  TSDB_REQUIRE_PROMTOOL(promtool);
  auto r = tsdb::testing::RunCommand({promtool, "tsdb", "dump", dir_});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->exit_code, 0) << r->err;
  tsdb::testing::PromtoolDump pd = tsdb::testing::ParsePromtoolDump(r->out);
  Dump promtool_dump(pd.begin(), pd.end());
  ExpectSame(promtool_dump, want);
}

TEST_F(DBTest, AppendersKeepWritingWhileBackgroundCompactionRuns) {
  Options o = QuietOptions();
  o.background = true;
  o.background_interval_ms = 20;
  o.wal_segment_size = 128 * 1024;
  constexpr int kThreads = 4;
  constexpr int kSeriesPerThread = 25;
  constexpr int64_t kEnd = 9 * kH;
  auto db = OpenDB(o);
  ASSERT_NE(db, nullptr);
  std::mutex mu;
  Dump acked;  // guarded by mu
  std::atomic<int64_t> rejected{0};
  // Threads stay within 10 minutes of each other, well inside the
  // appendable window of half a block range.
  std::barrier sync(kThreads);
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      auto app = db->Appender();
      std::vector<SeriesRef> refs(kSeriesPerThread, 0);
      Dump mine;
      int step = 0;
      for (int64_t t = 0; t < kEnd; t += kStep, ++step) {
        if (step % 40 == 0) sync.arrive_and_wait();
        std::vector<std::pair<std::string, double>> batch;
        for (int i = 0; i < kSeriesPerThread; ++i) {
          const labels::Labels lset = Series(th * kSeriesPerThread + i);
          const double v = static_cast<double>(t) + i;
          auto r = app->Append(refs[i], lset, t, v);
          if (!r.ok()) {
            rejected.fetch_add(1);
            continue;
          }
          refs[i] = *r;
          batch.emplace_back(lset.ToString(), v);
        }
        if (app->Commit().ok()) {
          for (auto& [k, v] : batch) mine[k].emplace_back(t, v);
        }
      }
      std::lock_guard<std::mutex> l(mu);
      for (auto& [k, v] : mine) acked[k] = std::move(v);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(rejected.load(), 0);
  ASSERT_TRUE(db->Compact().ok());
  // 9h of data: at least the first three 2h ranges are blocks now.
  const Stats st = db->GetStats();
  EXPECT_GE(st.head_compactions, 3);
  EXPECT_GE(db->head()->MinTime(), 6 * kH);
  auto got = DumpDB(*db);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(*got, acked);
  ASSERT_TRUE(db->Close().ok());
  db = OpenDB(QuietOptions());
  ASSERT_NE(db, nullptr);
  got = DumpDB(*db);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(*got, acked);
}

TEST_F(DBTest, LeveledCompactionMergesBlocksAndDeletesParents) {
  Dump want;
  auto db = OpenDB(QuietOptions());
  ASSERT_NE(db, nullptr);
  Fill(*db, 5, 0, 15 * kH, &want);
  ASSERT_TRUE(db->Compact().ok());
  std::vector<block::BlockMeta> blocks = db->Blocks();
  // Head compaction gives 2h blocks [0,2) ... [10,12); the planner merges
  // [0,6) (all three present and the newest block excluded).
  bool has_6h = false;
  for (const auto& b : blocks) {
    if (b.min_time == 0 && b.max_time == 6 * kH) {
      has_6h = true;
      EXPECT_EQ(b.compaction.level, 2);
      EXPECT_EQ(b.compaction.parents.size(), 3u);
      for (const auto& p : b.compaction.parents) {
        EXPECT_FALSE(std::filesystem::exists(dir_ + "/" + p.ulid.ToString()));
      }
    }
  }
  EXPECT_TRUE(has_6h);
  EXPECT_GT(db->GetStats().compactions, 0);
  auto got = DumpDB(*db);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(*got, want);
}

TEST_F(DBTest, QuerierKeepsReadingBlocksThatCompactionDeleted) {
  for (const char* reader : {"mmap", "pread"}) {
    SCOPED_TRACE(reader);
    std::filesystem::remove_all(dir_);
    Options o = QuietOptions();
    o.chunk_reader = reader;
    o.max_block_duration = 2 * kH;  // no leveled compaction yet
    Dump want;
    auto db = OpenDB(o);
    ASSERT_NE(db, nullptr);
    Fill(*db, 5, 0, 11 * kH, &want);
    ASSERT_TRUE(db->Compact().ok());
    ASSERT_EQ(db->Blocks().size(), 4u);
    ASSERT_TRUE(db->Close().ok());
    db.reset();
    // Reopen with leveled compaction: [0, 6h) replaces the first three
    // blocks and their directories go, while the old querier still reads
    // them.
    o.max_block_duration = 0;
    db = OpenDB(o);
    ASSERT_NE(db, nullptr);
    auto q2 = db->Querier(INT64_MIN, INT64_MAX);
    ASSERT_TRUE(q2.ok());
    const std::string q2_first_block = db->Blocks()[0].ulid.ToString();
    ASSERT_TRUE(db->Compact().ok());
    ASSERT_EQ(db->Blocks().size(), 2u);
    ASSERT_FALSE(std::filesystem::exists(dir_ + "/" + q2_first_block));
    auto ms = labels::ParseSelector("{__name__=~\"metric_.*\"}");
    ASSERT_TRUE(ms.ok());
    auto set = (*q2)->Select(*ms);
    ASSERT_TRUE(set.ok());
    Dump got;
    while ((*set)->Next()) {
      auto it = (*set)->At().Iterator();
      auto& v = got[(*set)->At().Labels().ToString()];
      while (it->Next()) v.emplace_back(it->At().t, it->At().v);
      ASSERT_TRUE(it->status().ok()) << it->status();
    }
    ASSERT_TRUE((*set)->status().ok());
    ExpectSame(got, want);
  }
}

TEST_F(DBTest, TimeRetentionDeletesOldBlocks) {
  Options o = QuietOptions();
  o.retention_ms = 6 * kH;
  Dump want;
  auto db = OpenDB(o);
  ASSERT_NE(db, nullptr);
  Fill(*db, 3, 0, 20 * kH, &want);
  ASSERT_TRUE(db->Compact().ok());
  std::vector<block::BlockMeta> blocks = db->Blocks();
  ASSERT_FALSE(blocks.empty());
  int64_t newest = INT64_MIN;
  for (const auto& b : blocks) newest = std::max(newest, b.max_time);
  for (const auto& b : blocks) {
    EXPECT_LE(newest - b.max_time, 6 * kH) << b.ulid.ToString();
  }
  EXPECT_GT(db->GetStats().blocks_deleted_retention, 0);
  auto got = DumpDB(*db, 0, 2 * kH - 1);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());
}

TEST_F(DBTest, DeleteHidesSamplesInBlocksAndHeadAndCleanTombstonesRewrites) {
  Dump want;
  auto db = OpenDB(QuietOptions());
  ASSERT_NE(db, nullptr);
  Fill(*db, 6, 0, 5 * kH, &want);
  ASSERT_TRUE(db->Compact().ok());
  ASSERT_EQ(db->Blocks().size(), 1u);
  auto ms = labels::ParseSelector("{__name__=\"metric_1\"}");
  ASSERT_TRUE(ms.ok());
  // Across the block [0, 2h) and the head [2h, 5h).
  ASSERT_TRUE(db->Delete(kH, 3 * kH, *ms).ok());
  for (auto& [k, v] : want) {
    if (k.find("metric_1") == std::string::npos) continue;
    std::erase_if(
        v, [](const auto& s) { return s.first >= kH && s.first <= 3 * kH; });
  }
  auto got = DumpDB(*db);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(*got, want);
  EXPECT_EQ(db->Blocks()[0].stats.num_tombstones, 2u);

  ASSERT_TRUE(db->CleanTombstones().ok());
  ASSERT_EQ(db->Blocks().size(), 1u);
  EXPECT_EQ(db->Blocks()[0].stats.num_tombstones, 0u);
  got = DumpDB(*db);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(*got, want);
  ASSERT_TRUE(db->Close().ok());
  db = OpenDB(QuietOptions());
  ASSERT_NE(db, nullptr);
  got = DumpDB(*db);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(*got, want);
}

TEST_F(DBTest, SnapshotWithHeadOpensAsItsOwnDB) {
  Dump want;
  auto db = OpenDB(QuietOptions());
  ASSERT_NE(db, nullptr);
  Fill(*db, 4, 0, 4 * kH, &want);
  ASSERT_TRUE(db->Compact().ok());
  const std::string snap = dir_ + "_snapshot";
  std::filesystem::remove_all(snap);
  ASSERT_TRUE(db->Snapshot(snap, /*with_head=*/true).ok());
  EXPECT_FALSE(db->Snapshot(snap, true).ok());  // not empty any more
  auto sdb = DB::Open(snap, QuietOptions(), &TestRegistry());
  ASSERT_TRUE(sdb.ok()) << sdb.status();
  auto got = DumpDB(**sdb);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(*got, want);
  ASSERT_TRUE((*sdb)->Close().ok());
  std::filesystem::remove_all(snap);
}

TEST_F(DBTest, SecondOpenOfTheSameDirFailsNamingThePid) {
  auto db = OpenDB(QuietOptions());
  ASSERT_NE(db, nullptr);
  auto second = DB::Open(dir_, QuietOptions(), &TestRegistry());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find(absl::StrCat(getpid())),
            std::string::npos)
      << second.status();
}

TEST_F(DBTest, UnknownPluginNamesListTheValidOnes) {
  Options o = QuietOptions();
  o.wal = "bogus";
  auto db = DB::Open(dir_, o, &TestRegistry());
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("segmented"), std::string::npos)
      << db.status();
  o = QuietOptions();
  o.chunk_reader = "bogus";
  db = DB::Open(dir_, o, &TestRegistry());
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("mmap"), std::string::npos)
      << db.status();
}

TEST_F(DBTest, SamplesBeforeTheHeadAreOutOfBoundsAfterCompaction) {
  Dump want;
  auto db = OpenDB(QuietOptions());
  ASSERT_NE(db, nullptr);
  Fill(*db, 2, 0, 4 * kH, &want);
  ASSERT_TRUE(db->Compact().ok());
  auto app = db->Appender();
  auto r = app->Append(0, Series(0), kH, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("out of bounds"), std::string::npos)
      << r.status();
}

TEST_F(DBTest, LabelNamesAndValuesSpanBlocksAndHead) {
  Dump want;
  auto db = OpenDB(QuietOptions());
  ASSERT_NE(db, nullptr);
  Fill(*db, 4, 0, 4 * kH, &want);
  ASSERT_TRUE(db->Compact().ok());
  {
    // A range after everything: nothing, as Prometheus.
    auto late = db->Querier(5 * kH, 6 * kH);
    ASSERT_TRUE(late.ok());
    auto n = (*late)->LabelNames({});
    ASSERT_TRUE(n.ok());
    EXPECT_TRUE(n->empty());
  }
  auto q = db->Querier(INT64_MIN, INT64_MAX);
  ASSERT_TRUE(q.ok());
  auto names = (*q)->LabelNames({});
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"__name__", "instance"}));
  auto ms = labels::ParseSelector("{__name__=\"metric_0\"}");
  ASSERT_TRUE(ms.ok());
  auto values = (*q)->LabelValues("instance", *ms);
  ASSERT_TRUE(values.ok());
  EXPECT_EQ(*values, (std::vector<std::string>{"host-0", "host-3"}));
  int series = 0, chunks = 0;
  ASSERT_TRUE((*q)->SelectChunks(*ms,
                                 [&](const ChunkSeries& cs) {
                                   ++series;
                                   chunks += cs.chunks.size();
                                   return absl::OkStatus();
                                 })
                  .ok());
  EXPECT_EQ(series, 2);
  EXPECT_EQ(chunks, 2 * ((4 * kH / kStep + 119) / 120));
}

TEST_F(DBTest, FailedHeadCompactionLeavesNoBlockAndIsRetried) {
  tsdb::testing::FaultFileSystem fs(io::PosixFileSystem());
  Options o = QuietOptions();
  o.fs = &fs;
  o.no_lockfile = true;
  Dump want;
  auto db = OpenDB(o);
  ASSERT_NE(db, nullptr);
  Fill(*db, 10, 0, 3 * kH + 30 * 60 * 1000, &want);
  for (int n : {1, 3, 10}) {
    fs.FailWrite(n, /*all_after=*/true);
    absl::Status s = db->Compact();
    ASSERT_FALSE(s.ok()) << "fault after " << n << " writes";
    EXPECT_NE(s.message().find("persisting head range"), std::string::npos)
        << s;
    EXPECT_TRUE(db->Blocks().empty());
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      const std::string name = e.path().filename().string();
      EXPECT_EQ(name.find(".tmp-for-creation"), std::string::npos) << name;
      EXPECT_FALSE(block::Ulid::Parse(name).ok()) << name;
    }
    auto got = DumpDB(*db);
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectSame(*got, want);
  }
  EXPECT_EQ(db->GetStats().compactions_failed, 3);
  fs.FailWrite(0, false);
  ASSERT_TRUE(db->Compact().ok());
  EXPECT_EQ(db->Blocks().size(), 1u);
  auto got = DumpDB(*db);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(*got, want);
}

TEST_F(DBTest, SizeRetentionKeepsTheNewestBlocksWithinTheBudget) {
  Dump want;
  Options o = QuietOptions();
  {
    auto db = OpenDB(o);
    ASSERT_NE(db, nullptr);
    Fill(*db, 20, 0, 16 * kH, &want);
    ASSERT_TRUE(db->Compact().ok());
    ASSERT_GE(db->Blocks().size(), 2u);
  }
  // Budget: the head's files plus about one block.
  uint64_t head_bytes = 0;
  for (const char* d : {"/wal", "/chunks_head"}) {
    for (const auto& e :
         std::filesystem::recursive_directory_iterator(dir_ + d)) {
      if (e.is_regular_file()) head_bytes += e.file_size();
    }
  }
  o.max_bytes = static_cast<int64_t>(head_bytes) + 30 * 1024;
  auto db = OpenDB(o);
  ASSERT_NE(db, nullptr);
  const std::vector<block::BlockMeta> blocks = db->Blocks();
  ASSERT_FALSE(blocks.empty());
  EXPECT_GT(db->GetStats().blocks_deleted_retention, 0);
  EXPECT_LE(db->GetStats().blocks_bytes, 30 * 1024);
  // What is left is the newest data.
  int64_t newest = 0;
  for (const auto& b : blocks) newest = std::max(newest, b.max_time);
  EXPECT_EQ(newest, 14 * kH);  // head compaction stopped at [12h, 14h)
}

TEST_F(DBTest, OutOfOrderWindowAcceptsSurvivesRestartAndEndsInBlocks) {
  Options o = QuietOptions();
  o.out_of_order_time_window = 2 * kH;
  Dump want;
  auto db = OpenDB(o);
  ASSERT_NE(db, nullptr);
  Fill(*db, 3, 0, 3 * kH, &want);
  const labels::Labels lset = Series(0);
  auto& want0 = want[lset.ToString()];
  {
    auto app = db->Appender();
    // Between in-order samples, inside the window: accepted.
    for (int64_t t = 2 * kH + 7; t < 3 * kH; t += 10 * kStep) {
      ASSERT_TRUE(app->Append(0, lset, t, -1.0 * t).ok()) << t;
      want0.emplace_back(t, -1.0 * t);
    }
    ASSERT_TRUE(app->Commit().ok());
    // Older than max time - window: refused.
    auto r = app->Append(0, lset, kH / 2 + 3, 1);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("too old sample"), std::string::npos)
        << r.status();
    ASSERT_TRUE(app->Rollback().ok());
  }
  std::sort(want0.begin(), want0.end());
  auto got = DumpDB(*db);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(*got, want);
  EXPECT_GT(db->head()->Stats().ooo_samples, 0u);

  // Restart: the WBL brings the out-of-order samples back.
  ASSERT_TRUE(db->Close().ok());
  db = OpenDB(o);
  ASSERT_NE(db, nullptr);
  got = DumpDB(*db);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(*got, want);

  // More in-order data, then compaction: in-order blocks, an out-of-order
  // block, merged by vertical compaction.
  {
    Dump more;
    Fill(*db, 3, 3 * kH, 6 * kH, &more);
    for (auto& [k, v] : more) {
      want[k].insert(want[k].end(), v.begin(), v.end());
    }
  }
  ASSERT_TRUE(db->Compact().ok());
  EXPECT_EQ(db->GetStats().ooo_compactions, 1);
  EXPECT_EQ(db->head()->Stats().ooo_samples, 0u);
  std::vector<block::BlockMeta> blocks = db->Blocks();
  ASSERT_FALSE(blocks.empty());
  for (size_t i = 1; i < blocks.size(); ++i) {
    EXPECT_LE(blocks[i - 1].max_time, blocks[i].min_time) << "overlap";
  }
  got = DumpDB(*db);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(*got, want);
  ASSERT_TRUE(db->Close().ok());
  db.reset();

  TSDB_REQUIRE_PROMTOOL(promtool);
  auto r = tsdb::testing::RunCommand({promtool, "tsdb", "dump", dir_});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->exit_code, 0) << r->err;
  tsdb::testing::PromtoolDump pd = tsdb::testing::ParsePromtoolDump(r->out);
  ExpectSame(Dump(pd.begin(), pd.end()), want);
}

TEST_F(DBTest, ChunkSnapshotOnShutdownRestoresTheHeadWithoutTheOldWal) {
  Options o = QuietOptions();
  o.snapshot_on_shutdown = true;
  Dump want;
  {
    auto db = OpenDB(o);
    ASSERT_NE(db, nullptr);
    Fill(*db, 20, 0, kH, &want);
    auto ms = labels::ParseSelector("{__name__=\"metric_2\"}");
    ASSERT_TRUE(ms.ok());
    ASSERT_TRUE(db->Delete(0, 10 * kStep, *ms).ok());
    for (auto& [k, v] : want) {
      if (k.find("metric_2") == std::string::npos) continue;
      std::erase_if(v, [](const auto& smp) { return smp.first <= 10 * kStep; });
    }
    ASSERT_TRUE(db->Close().ok());
  }
  bool has_snapshot = false;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    if (e.path().filename().string().rfind("chunk_snapshot.", 0) == 0) {
      has_snapshot = true;
    }
  }
  ASSERT_TRUE(has_snapshot);
  auto db = OpenDB(o);
  ASSERT_NE(db, nullptr);
  const Stats st = db->GetStats();
  EXPECT_TRUE(st.startup.snapshot.loaded);
  EXPECT_EQ(st.startup.replay.samples, 0);  // nothing after the snapshot
  auto got = DumpDB(*db);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(*got, want);
  // Appends continue; a restart without the feature replays the whole WAL.
  {
    Dump more;
    Fill(*db, 20, kH, kH + 10 * kStep, &more);
    for (auto& [k, v] : more) want[k].insert(want[k].end(), v.begin(), v.end());
  }
  ASSERT_TRUE(db->Close().ok());
  db = OpenDB(QuietOptions());
  ASSERT_NE(db, nullptr);
  got = DumpDB(*db);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(*got, want);
}

std::string Gunzip(const std::string& path) {
  auto r = tsdb::testing::RunCommand({"gzip", "-dc", path});
  return r.ok() && r->exit_code == 0 ? r->out : std::string();
}

// Data dirs the real Prometheus 2.42 wrote (WAL with and without snappy,
// chunks_head): the DB opens them and serves exactly what promtool dumped.
TEST_F(DBTest, OpensDataDirsWrittenByPrometheus) {
  for (const char* golden :
       {"testing/golden/wal/snappy", "testing/golden/wal/none",
        "testing/golden/chunks_head"}) {
    SCOPED_TRACE(golden);
    std::filesystem::remove_all(dir_);
    std::filesystem::copy(std::string(golden) + "/data", dir_,
                          std::filesystem::copy_options::recursive);
    tsdb::testing::PromtoolDump pd = tsdb::testing::ParsePromtoolDump(
        Gunzip(std::string(golden) + "/dump.txt.gz"));
    ASSERT_FALSE(pd.empty());
    auto db = OpenDB(QuietOptions());
    ASSERT_NE(db, nullptr);
    auto got = DumpDB(*db);
    ASSERT_TRUE(got.ok()) << got.status();
    // promtool prints NaN payloads alike; compare NaN as equal.
    Dump want(pd.begin(), pd.end());
    ASSERT_EQ(got->size(), want.size());
    for (auto& [k, v] : want) {
      auto& g = (*got)[k];
      ASSERT_EQ(g.size(), v.size()) << k;
      for (size_t i = 0; i < v.size(); ++i) {
        ASSERT_EQ(g[i].first, v[i].first) << k;
        if (std::isnan(v[i].second)) {
          EXPECT_TRUE(std::isnan(g[i].second)) << k;
        } else {
          EXPECT_EQ(g[i].second, v[i].second) << k;
        }
      }
    }
  }
}

}  // namespace
}  // namespace tsdb::db
