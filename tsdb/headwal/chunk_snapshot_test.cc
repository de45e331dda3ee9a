// Chunk snapshot on shutdown: a restart from the snapshot (plus m-mapped
// chunks and the WAL after it) gives back exactly the head that was shut
// down; a damaged or unusable snapshot falls back to the whole WAL.
#include "tsdb/headwal/chunk_snapshot.h"

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "plugins/wal/segmented/segmented_wal.h"
#include "testing/mem_file_system.h"
#include "tsdb/head/head.h"
#include "tsdb/head/test_util.h"
#include "tsdb/headwal/headwal.h"
#include "tsdb/headwal/test_util.h"
#include "tsdb/wal/framing.h"
#include "tsdb/wal/reader.h"

namespace tsdb::headwal {
namespace {

using testing::DumpHead;
using testing::HeadDump;
using testing::SameDump;

constexpr int64_t kStep = 15000;
constexpr int kSeries = 30;
constexpr int kSamples = 1000;  // ~4h10m: 8 full chunks per series

labels::Labels L(int i) {
  const std::string v = absl::StrCat(i);
  return labels::Labels::FromPairs({{"__name__", "up"}, {"instance", v}});
}

double ValueAt(int i, int64_t t) {
  if (i == 3 && t == 7 * kStep) return std::nan("");  // a NaN value too
  return std::round(std::sin(static_cast<double>(t) / 3e5 + i) * 1e4) / 100;
}

chunks::ChunkDiskMapperOptions MapperOptions() {
  chunks::ChunkDiskMapperOptions o;
  o.max_file_size = 16 << 10;  // several files
  o.write_buffer_size = 4096;
  o.preallocate_size = 0;
  return o;
}

wal::WalOptions WalOpts(io::FileSystem* fs) {
  wal::WalOptions wo;
  wo.fs = fs;
  wo.dir = "/data/wal";
  wo.segment_size = 64 << 10;
  wo.log = [](std::string_view) {};
  return wo;
}

void Quiet(std::string_view) {}

struct Run {
  int from = 0, to = 0;        // samples [from, to) of every series
  bool use_snapshot = true;    // load one at start-up
  bool write_snapshot = true;  // write one at shutdown
  int series = kSeries;
};

// Opens /data (mapper + WAL, optionally from a snapshot), appends, and
// shuts down (writing a snapshot, or not, as after a crash). Returns the
// head's content just before shutdown.
HeadDump RunOnce(io::FileSystem* fs, const Run& run, StartupResult* st,
                 SnapshotWriteResult* written = nullptr) {
  auto w = plugins::OpenSegmentedWal(WalOpts(fs));
  EXPECT_TRUE(w.ok()) << w.status();
  if (!w.ok()) return {};
  WalCommitLog log(w->get());
  head::HeadOptions opts = head::testing::TestOptions();
  opts.commit_log = &log;
  auto opened = OpenHeadFromDir(fs, "/data", opts, 2, Quiet, INT64_MIN,
                                MapperOptions(), nullptr, run.use_snapshot);
  EXPECT_TRUE(opened.ok()) << opened.status();
  if (!opened.ok()) return {};
  if (st != nullptr) *st = opened->startup;
  head::Head& h = *opened->head;
  auto app = h.Appender();
  for (int k = run.from; k < run.to; ++k) {
    for (int i = 0; i < run.series; ++i) {
      const int64_t t = k * kStep;
      EXPECT_TRUE(app->Append(0, L(i), t, ValueAt(i, t)).ok());
    }
    EXPECT_TRUE(app->Commit().ok());
  }
  auto d = DumpHead(h);
  EXPECT_TRUE(d.ok()) << d.status();
  if (run.write_snapshot) {
    tombstones::MemTombstones stones;
    stones.AddInterval(1, {100, 200});
    stones.AddInterval(2, {-5, 7});
    auto r = WriteChunkSnapshot(h, fs, "/data", w->get(), &stones,
                                plugins::OpenSegmentedWal,
                                wal::Compression::kSnappy, Quiet);
    EXPECT_TRUE(r.ok()) << r.status();
    if (r.ok() && written != nullptr) *written = *r;
  }
  EXPECT_TRUE(opened->mapper->Close().ok());
  EXPECT_TRUE((*w)->Close().ok());
  return d.ok() ? *d : HeadDump{};
}

HeadDump Expected(int n, int series = kSeries) {
  HeadDump want;
  for (int i = 0; i < series; ++i) {
    auto& v = want[L(i).ToString()];
    for (int k = 0; k < n; ++k) {
      v.emplace_back(k * kStep, ValueAt(i, k * kStep));
    }
  }
  return want;
}

std::vector<std::string> Snapshots(tsdb::testing::MemFileSystem& fs) {
  std::vector<std::string> out;
  auto names = fs.ListDir("/data");
  EXPECT_TRUE(names.ok());
  for (const std::string& n : *names) {
    if (absl::StartsWith(n, kChunkSnapshotPrefix)) out.push_back(n);
  }
  return out;
}

// The WAL reader resumes at any record boundary, also inside a page (a
// snapshot Prometheus took while its last page was partly written).
TEST(ChunkSnapshotTest, ReaderResumesInsideAPage) {
  tsdb::testing::MemFileSystem fs;
  auto w = plugins::OpenSegmentedWal(WalOpts(&fs));
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 50; ++i) {
    const std::string rec(100 + i * 37, static_cast<char>('a' + i % 26));
    const std::string_view v[1] = {rec};
    ASSERT_TRUE((*w)->Log(v).ok());
  }
  ASSERT_TRUE((*w)->Close().ok());
  auto segs = wal::SegmentsInDir(&fs, "/data/wal", 0, -1);
  ASSERT_TRUE(segs.ok());
  std::vector<uint64_t> ends;
  {
    wal::Reader r(&fs, *segs);
    while (r.Next()) ends.push_back(r.record_end());
    ASSERT_TRUE(r.status().ok()) << r.status();
  }
  ASSERT_EQ(ends.size(), 50u);
  for (size_t k : {size_t{0}, size_t{7}, size_t{30}, size_t{49}}) {
    std::vector<wal::SegmentFile> from = *segs;
    from.front().start_offset = ends[k];
    wal::Reader r(&fs, from);
    size_t n = 0;
    while (r.Next()) {
      EXPECT_EQ(r.record().size(), 100 + (k + 1 + n) * 37) << k;
      ++n;
    }
    EXPECT_TRUE(r.status().ok()) << k << ": " << r.status();
    EXPECT_EQ(n, 49 - k);
  }
}

TEST(ChunkSnapshotTest, DirName) {
  EXPECT_EQ(ChunkSnapshotDirName(0, 32768), "chunk_snapshot.000000.0000032768");
  EXPECT_EQ(ChunkSnapshotDirName(1234567, 5),
            "chunk_snapshot.1234567.0000000005");
}

TEST(ChunkSnapshotTest, SeriesRecordRoundTripAndLayout) {
  head::SnapshotSeries s;
  s.ref = 0x0102030405060708;
  s.labels = labels::Labels::FromPairs({{"a", "1"}, {"__name__", "x"}});
  s.has_open_chunk = true;
  s.open.min_time = -3;
  s.open.max_time = 1000;
  s.open.encoding = 1;
  s.open.bytes = std::string("\x00\x01\x02", 3);
  s.open.last_value = 2.5;
  std::string rec;
  EncodeSnapshotSeries(s, &rec);
  // type, ref, 2 labels, chunk range 0, has chunk, mint, maxt, encoding,
  // bytes, 4 (t, v) slots.
  ASSERT_EQ(rec.size(), 1 + 8 + 1 + (1 + 8 + 1 + 1) + (1 + 1 + 1 + 1) + 8 + 1 +
                            8 + 8 + 1 + 1 + 3 + 64);
  EXPECT_EQ(rec[0], '\x01');
  EXPECT_EQ(rec.substr(1, 8), "\x01\x02\x03\x04\x05\x06\x07\x08");
  EXPECT_EQ(rec.substr(9, 12), std::string("\x02\x08__name__\x01x", 12));
  EXPECT_EQ(rec.substr(rec.size() - 8), std::string("\x40\x04\0\0\0\0\0\0", 8));
  head::SnapshotSeries got;
  ASSERT_TRUE(DecodeSnapshotSeries(rec, &got).ok());
  EXPECT_EQ(got.ref, s.ref);
  EXPECT_EQ(got.labels, s.labels);
  EXPECT_TRUE(got.has_open_chunk);
  EXPECT_EQ(got.open.min_time, -3);
  EXPECT_EQ(got.open.max_time, 1000);
  EXPECT_EQ(got.open.bytes, s.open.bytes);
  EXPECT_EQ(got.open.last_value, 2.5);
  // Truncated anywhere: an error, never a crash.
  for (size_t n = 0; n < rec.size(); ++n) {
    head::SnapshotSeries t;
    EXPECT_FALSE(DecodeSnapshotSeries(rec.substr(0, n), &t).ok()) << n;
  }
  // Without a head chunk.
  s.has_open_chunk = false;
  rec.clear();
  EncodeSnapshotSeries(s, &rec);
  EXPECT_EQ(rec.back(), '\0');
  ASSERT_TRUE(DecodeSnapshotSeries(rec, &got).ok());
  EXPECT_FALSE(got.has_open_chunk);
}

TEST(ChunkSnapshotTest, TombstonesRecordRoundTrip) {
  std::vector<record::Stone> in = {{1, 100, 200}, {300, -5, 7}};
  std::string rec;
  EncodeSnapshotTombstones(in, &rec);
  // type 2, uvarint length, version 1, entries.
  EXPECT_EQ(rec.substr(0, 3), std::string("\x02\x0a\x01", 3));
  std::vector<record::Stone> out;
  ASSERT_TRUE(DecodeSnapshotTombstones(rec, &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].ref, 300u);
  EXPECT_EQ(out[1].mint, -5);
  EXPECT_EQ(out[1].maxt, 7);
  rec[2] = 2;  // unknown tombstone format
  EXPECT_FALSE(DecodeSnapshotTombstones(rec, &out).ok());
}

TEST(ChunkSnapshotTest, LastAndDelete) {
  tsdb::testing::MemFileSystem fs;
  for (const char* d :
       {"chunk_snapshot.000001.0000000010", "chunk_snapshot.000002.0000000005",
        "chunk_snapshot.000002.0000000100.tmp",
        "chunk_snapshot.000002.0000000007", "chunk_snapshot.x.1", "chunks_head",
        "wal"}) {
    ASSERT_TRUE(fs.CreateDirs(absl::StrCat("/data/", d)).ok());
  }
  auto last = LastChunkSnapshot(&fs, "/data");
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ((*last)->dir, "/data/chunk_snapshot.000002.0000000007");
  EXPECT_EQ((*last)->segment, 2);
  EXPECT_EQ((*last)->offset, 7u);
  auto del = DeleteChunkSnapshots(&fs, "/data", 2, 7);
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(*del, 2);
  EXPECT_EQ(Snapshots(fs),
            (std::vector<std::string>{"chunk_snapshot.000002.0000000007",
                                      "chunk_snapshot.000002.0000000100.tmp",
                                      "chunk_snapshot.x.1"}));
  // A file with a snapshot's name is an error, as in Prometheus.
  ASSERT_TRUE(
      fs.WriteFileContents("/data/chunk_snapshot.000003.0000000000", "x").ok());
  EXPECT_FALSE(LastChunkSnapshot(&fs, "/data").ok());
}

TEST(ChunkSnapshotTest, RestartFromSnapshotGivesTheSameHead) {
  tsdb::testing::MemFileSystem fs;
  StartupResult st;
  SnapshotWriteResult w;
  HeadDump first = RunOnce(&fs, {0, kSamples}, &st, &w);
  std::string diff;
  ASSERT_TRUE(SameDump(first, Expected(kSamples), &diff)) << diff;
  EXPECT_FALSE(st.snapshot.loaded);
  EXPECT_EQ(w.series, kSeries);
  EXPECT_EQ(w.open_chunks, kSeries);
  EXPECT_EQ(w.tombstones, 2);
  // The WAL moved to a new segment; the snapshot names the end of the
  // previous one, a page boundary.
  EXPECT_EQ(w.offset % wal::kPageSize, 0u);
  EXPECT_EQ(Snapshots(fs), std::vector<std::string>{
                               ChunkSnapshotDirName(w.segment, w.offset)});

  // Restart without appending: everything comes from the snapshot and the
  // m-mapped chunks; the WAL after the snapshot is empty.
  HeadDump second = RunOnce(&fs, {kSamples, kSamples}, &st, &w);
  EXPECT_TRUE(SameDump(second, Expected(kSamples), &diff)) << diff;
  EXPECT_TRUE(st.snapshot.loaded) << st.snapshot.ignored_reason;
  EXPECT_EQ(st.snapshot_error, "");
  EXPECT_EQ(st.snapshot.series, kSeries);
  EXPECT_EQ(st.snapshot.open_chunks, kSeries);
  EXPECT_GE(st.snapshot.mapped_chunks_attached, int64_t{kSeries} * 7);
  EXPECT_EQ(st.replay.samples, 0);
  EXPECT_EQ(st.replay.series, 0);
  ASSERT_EQ(st.replay.tombstones_read.size(), 2u);
  EXPECT_EQ(st.replay.tombstones_read[0].ref, 1u);
  EXPECT_EQ(st.replay.tombstones_read[1].mint, -5);
  // The second shutdown replaced the first snapshot.
  EXPECT_EQ(w.deleted_snapshots, 1);
  EXPECT_EQ(Snapshots(fs).size(), 1u);
}

TEST(ChunkSnapshotTest, AppendsAfterLoadingAndRestartAgain) {
  tsdb::testing::MemFileSystem fs;
  RunOnce(&fs, {0, kSamples}, nullptr);
  StartupResult st;
  // New series too (refs continue above the snapshot's).
  HeadDump second =
      RunOnce(&fs, {kSamples, kSamples + 300, true, true, kSeries + 5}, &st);
  ASSERT_TRUE(st.snapshot.loaded);
  HeadDump want = Expected(kSamples + 300, kSeries);
  for (int i = kSeries; i < kSeries + 5; ++i) {
    auto& v = want[L(i).ToString()];
    for (int k = kSamples; k < kSamples + 300; ++k) {
      v.emplace_back(k * kStep, ValueAt(i, k * kStep));
    }
  }
  std::string diff;
  ASSERT_TRUE(SameDump(second, want, &diff)) << diff;
  HeadDump third = RunOnce(&fs, {0, 0, true, false}, &st);
  EXPECT_TRUE(st.snapshot.loaded);
  EXPECT_EQ(st.snapshot.series, kSeries + 5);
  EXPECT_EQ(st.replay.samples, 0);
  EXPECT_TRUE(SameDump(third, want, &diff)) << diff;
  // The full WAL replay agrees.
  HeadDump full = RunOnce(&fs, {0, 0, false, false}, &st);
  EXPECT_FALSE(st.snapshot.loaded);
  EXPECT_TRUE(SameDump(full, want, &diff)) << diff;
}

// A crash after appends that followed a snapshot load: the old snapshot
// plus the WAL written after it.
TEST(ChunkSnapshotTest, SnapshotPlusWalTail) {
  tsdb::testing::MemFileSystem fs;
  RunOnce(&fs, {0, kSamples}, nullptr);
  StartupResult st;
  RunOnce(&fs, {kSamples, kSamples + 250, true, /*write_snapshot=*/false}, &st);
  ASSERT_TRUE(st.snapshot.loaded);
  HeadDump got = RunOnce(&fs, {0, 0, true, false}, &st);
  EXPECT_TRUE(st.snapshot.loaded);
  EXPECT_GT(st.replay.samples, 0);
  std::string diff;
  EXPECT_TRUE(SameDump(got, Expected(kSamples + 250), &diff)) << diff;
}

TEST(ChunkSnapshotTest, CorruptSnapshotFallsBackToTheWholeWal) {
  tsdb::testing::MemFileSystem base;
  SnapshotWriteResult w;
  RunOnce(&base, {0, kSamples}, nullptr, &w);
  const std::string seg = w.dir + "/" + wal::SegmentName(0);
  auto size = base.FileSize(seg);
  ASSERT_TRUE(size.ok());
  ASSERT_GT(*size, 100u);
  for (uint64_t off :
       {uint64_t{0}, uint64_t{3}, uint64_t{20}, *size / 2, *size - 1}) {
    tsdb::testing::MemFileSystem fs;
    for (const std::string& f : base.AllFiles()) {
      auto data = base.ReadFile(f);
      ASSERT_TRUE(data.ok());
      ASSERT_TRUE(fs.CreateDirs(f.substr(0, f.rfind('/'))).ok());
      ASSERT_TRUE(fs.WriteFileContents(f, *data).ok());
    }
    ASSERT_TRUE(fs.CorruptByte(seg, off, 0x5a).ok());
    StartupResult st;
    HeadDump got = RunOnce(&fs, {0, 0, true, false}, &st);
    EXPECT_FALSE(st.snapshot.loaded) << off;
    EXPECT_NE(st.snapshot.ignored_reason, "") << off;
    std::string diff;
    EXPECT_TRUE(SameDump(got, Expected(kSamples), &diff)) << off << diff;
    EXPECT_GT(st.replay.samples, 0);
  }
}

// Two snapshot series with the same labels: the head cannot hold both, so
// the start-up runs again without the snapshot.
TEST(ChunkSnapshotTest, SnapshotTheHeadRejectsFallsBack) {
  tsdb::testing::MemFileSystem fs;
  SnapshotWriteResult w;
  RunOnce(&fs, {0, 300}, nullptr, &w);
  // Rewrite the snapshot with one extra series record that repeats the
  // labels of another under a new ref.
  auto decoded = ReadChunkSnapshot(&fs, w.dir);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->series.size(), size_t{kSeries});
  head::SnapshotSeries dup = decoded->series[0];
  dup.ref = 999;
  ASSERT_TRUE(fs.RemoveAll(w.dir).ok());
  wal::WalOptions wo;
  wo.fs = &fs;
  wo.dir = w.dir;
  wo.log = Quiet;
  auto cp = plugins::OpenSegmentedWal(wo);
  ASSERT_TRUE(cp.ok());
  for (const head::SnapshotSeries& s : decoded->series) {
    std::string rec;
    EncodeSnapshotSeries(s, &rec);
    const std::string_view v[1] = {rec};
    ASSERT_TRUE((*cp)->Log(v).ok());
  }
  std::string rec;
  EncodeSnapshotSeries(dup, &rec);
  const std::string_view v[1] = {rec};
  ASSERT_TRUE((*cp)->Log(v).ok());
  ASSERT_TRUE((*cp)->Close().ok());

  StartupResult st;
  HeadDump got = RunOnce(&fs, {0, 0, true, false}, &st);
  EXPECT_FALSE(st.snapshot.loaded);
  EXPECT_TRUE(absl::StrContains(st.snapshot_error, "already exists"))
      << st.snapshot_error;
  std::string diff;
  EXPECT_TRUE(SameDump(got, Expected(300), &diff)) << diff;
}

// A snapshot newer than the WAL (the WAL was removed) is deleted, as
// Prometheus does.
TEST(ChunkSnapshotTest, SnapshotAheadOfTheWalIsDeleted) {
  tsdb::testing::MemFileSystem fs;
  RunOnce(&fs, {0, 100}, nullptr);
  SnapshotWriteResult w;
  RunOnce(&fs, {100, 200}, nullptr, &w);
  ASSERT_GE(w.segment, 1);  // the next WAL starts at segment 0
  ASSERT_EQ(Snapshots(fs).size(), 1u);
  ASSERT_TRUE(fs.RemoveAll("/data/wal").ok());
  ASSERT_TRUE(fs.RemoveAll("/data/chunks_head").ok());
  StartupResult st;
  HeadDump got = RunOnce(&fs, {0, 0, true, false}, &st);
  EXPECT_FALSE(st.snapshot.loaded);
  EXPECT_NE(st.snapshot.ignored_reason, "");
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(Snapshots(fs).empty());
}

}  // namespace
}  // namespace tsdb::headwal
