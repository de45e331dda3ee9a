// Staged start-up (OpenHeadFromDir): chunks_head is scanned, its chunks are
// attached to the series the WAL creates, and only the WAL samples after
// them are replayed. A corrupted chunks_head loses nothing: the WAL still
// has the samples of the deleted tail.
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "plugins/wal/segmented/segmented_wal.h"
#include "testing/mem_file_system.h"
#include "tsdb/chunks/head_chunks.h"
#include "tsdb/head/head.h"
#include "tsdb/head/test_util.h"
#include "tsdb/headwal/headwal.h"
#include "tsdb/headwal/test_util.h"
#include "tsdb/record/record.h"

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

// Opens /data (mapper + WAL), appends samples [from, to) to every series,
// and shuts down cleanly. Returns the head's content.
HeadDump RunOnce(io::FileSystem* fs, int from, int to, StartupResult* st) {
  auto w = plugins::OpenSegmentedWal(WalOpts(fs));
  EXPECT_TRUE(w.ok()) << w.status();
  WalCommitLog log(w->get());
  head::HeadOptions opts = head::testing::TestOptions();
  opts.commit_log = &log;
  auto opened = OpenHeadFromDir(
      fs, "/data", opts, 2, [](std::string_view) {}, INT64_MIN,
      MapperOptions());
  EXPECT_TRUE(opened.ok()) << opened.status();
  if (!opened.ok()) return {};
  if (st != nullptr) *st = opened->startup;
  head::Head& h = *opened->head;
  auto app = h.Appender();
  for (int k = from; k < to; ++k) {
    for (int i = 0; i < kSeries; ++i) {
      const int64_t t = k * kStep;
      EXPECT_TRUE(app->Append(0, L(i), t, ValueAt(i, t)).ok());
    }
    EXPECT_TRUE(app->Commit().ok());
  }
  auto d = DumpHead(h);
  EXPECT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(h.Stats().chunk_map_failures, 0u);
  EXPECT_TRUE(opened->mapper->Close().ok());
  EXPECT_TRUE((*w)->Close().ok());
  return d.ok() ? *d : HeadDump{};
}

HeadDump Expected(int n) {
  HeadDump want;
  for (int i = 0; i < kSeries; ++i) {
    auto& v = want[L(i).ToString()];
    for (int k = 0; k < n; ++k)
      v.emplace_back(k * kStep, ValueAt(i, k * kStep));
  }
  return want;
}

TEST(HeadWalMmapTest, RestartAttachesChunksAndSkipsTheirSamples) {
  tsdb::testing::MemFileSystem fs;
  StartupResult st;
  HeadDump first = RunOnce(&fs, 0, kSamples, &st);
  std::string diff;
  ASSERT_TRUE(SameDump(first, Expected(kSamples), &diff)) << diff;
  EXPECT_EQ(st.scan.chunks, 0u);

  // Restart, then append more.
  HeadDump second = RunOnce(&fs, kSamples, kSamples + 200, &st);
  EXPECT_FALSE(st.scan.corruption);
  EXPECT_GE(st.scan.chunks, uint64_t{kSeries} * 7);
  EXPECT_EQ(st.replay.series, kSeries);
  EXPECT_EQ(st.replay.mapped_series, kSeries);
  EXPECT_EQ(st.replay.mapped_chunks_attached,
            static_cast<int64_t>(st.scan.chunks));
  EXPECT_EQ(st.replay.orphan_mapped_chunks, 0);
  // Every sample is either in an m-mapped chunk or replayed, never both.
  EXPECT_GT(st.replay.mmapped_skipped_samples, int64_t{kSeries} * 800);
  EXPECT_EQ(st.replay.mmapped_skipped_samples + st.replay.samples,
            int64_t{kSeries} * kSamples);
  EXPECT_EQ(st.replay.skipped_samples, 0);
  EXPECT_TRUE(SameDump(second, Expected(kSamples + 200), &diff)) << diff;

  // A third start sees chunks from both runs.
  HeadDump third = RunOnce(&fs, kSamples + 200, kSamples + 200, &st);
  EXPECT_TRUE(SameDump(third, Expected(kSamples + 200), &diff)) << diff;
  EXPECT_EQ(st.replay.mmapped_skipped_samples + st.replay.samples,
            int64_t{kSeries} * (kSamples + 200));
}

// Flips one byte at each of several positions of the chunks_head files our
// head wrote; after every restart each sample is there, and nothing else.
TEST(HeadWalMmapTest, CorruptChunksHeadLosesNoSample) {
  tsdb::testing::MemFileSystem base;
  ASSERT_TRUE(RunOnce(&base, 0, kSamples, nullptr).size() == kSeries);
  std::vector<std::string> files;
  for (const std::string& f : base.AllFiles()) {
    if (f.find("/chunks_head/") != std::string::npos) files.push_back(f);
  }
  ASSERT_GE(files.size(), 3u);
  const HeadDump want = Expected(kSamples);
  int cases = 0;
  for (size_t fi = 0; fi < files.size(); ++fi) {
    auto size = base.FileSize(files[fi]);
    ASSERT_TRUE(size.ok());
    // The header, the first record's series ref, data and CRC, the middle
    // and the last byte of each file.
    for (uint64_t off :
         std::vector<uint64_t>{1, 8, 40, 60, *size / 2, *size - 1}) {
      if (off >= *size) continue;
      // A fresh copy of the directory for each case.
      tsdb::testing::MemFileSystem fs;
      for (const std::string& f : base.AllFiles()) {
        auto data = base.ReadFile(f);
        ASSERT_TRUE(data.ok());
        ASSERT_TRUE(fs.CreateDirs(f.substr(0, f.rfind('/'))).ok());
        ASSERT_TRUE(fs.WriteFileContents(f, *data).ok());
      }
      ASSERT_TRUE(fs.CorruptByte(files[fi], off, 0x5a).ok());
      StartupResult st;
      HeadDump got = RunOnce(&fs, kSamples, kSamples, &st);
      EXPECT_TRUE(st.scan.corruption)
          << files[fi] << " @" << off << ": " << st.scan.corruption_status;
      std::string diff;
      EXPECT_TRUE(SameDump(got, want, &diff))
          << files[fi] << " @" << off << ": " << diff;
      EXPECT_EQ(st.replay.mmapped_skipped_samples + st.replay.samples,
                int64_t{kSeries} * kSamples);
      ++cases;
    }
  }
  EXPECT_GE(cases, 15);
}

// Writes samples k in [k0, k1) of series i as one XOR chunk under
// `series_ref` into /data/chunks_head.
void WriteChunk(chunks::ChunkDiskMapper& m, uint64_t series_ref, int i, int k0,
                int k1) {
  auto codec = head::testing::XorRegistry().Get(1);
  ASSERT_TRUE(codec.ok());
  std::unique_ptr<chunkenc::Chunk> c = (*codec)->NewChunk();
  auto app = c->Appender();
  ASSERT_TRUE(app.ok());
  for (int k = k0; k < k1; ++k)
    (*app)->Append(k * kStep, ValueAt(i, k * kStep));
  ASSERT_TRUE(m.WriteChunk(series_ref, k0 * kStep, (k1 - 1) * kStep,
                           c->encoding(), c->Bytes())
                  .ok());
}

std::string SeriesRec(uint64_t ref, int i) {
  std::string out;
  record::EncodeSeries({{ref, L(i)}}, &out);
  return out;
}

std::string SamplesRec(uint64_t ref, int i, int k0, int k1) {
  std::vector<record::RefSample> s;
  for (int k = k0; k < k1; ++k) {
    s.push_back({ref, k * kStep, ValueAt(i, k * kStep)});
  }
  std::string out;
  record::EncodeSamples(s, &out);
  return out;
}

// Prometheus 2.42 (loadWAL, resetSeriesWithMMappedChunks): on a duplicate
// series record (a restart re-created series 0 as ref 7 after its old
// samples went to a block), the chunks m-mapped under ref 1 are dropped and
// those m-mapped under ref 7 take their place; ref 7's WAL samples up to
// their max time are skipped. Here the WAL no longer has ref 7's samples
// that are in its chunk before k = 105 (say a checkpoint dropped them):
// only the chunk has them.
TEST(HeadWalMmapTest, DuplicateSeriesRecordTakesChunksOfItsRef) {
  tsdb::testing::MemFileSystem fs;
  {
    auto m = chunks::ChunkDiskMapper::Open(&fs, "/data/chunks_head",
                                           MapperOptions());
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE((*m)->IterateAllChunks([](const chunks::MappedChunkInfo&) {
                      return absl::OkStatus();
                    })
                    .ok());
    WriteChunk(**m, 1, 0, 0, 10);     // old series ref 1: k 0..9
    WriteChunk(**m, 2, 1, 0, 10);     // series 1, no duplicate
    WriteChunk(**m, 7, 0, 100, 110);  // re-created as ref 7: k 100..109
    WriteChunk(**m, 42, 5, 0, 10);    // a ref no series record names
    ASSERT_TRUE((*m)->Close().ok());
  }
  {
    wal::WalOptions wo = WalOpts(&fs);
    auto w = plugins::OpenSegmentedWal(wo);
    ASSERT_TRUE(w.ok());
    for (const std::string& r :
         {SeriesRec(1, 0), SeriesRec(2, 1), SamplesRec(1, 0, 0, 13),
          SamplesRec(2, 1, 0, 13), SeriesRec(7, 0), SamplesRec(7, 0, 105, 113),
          SamplesRec(2, 1, 13, 15)}) {
      std::string_view v = r;
      ASSERT_TRUE((*w)->Log({&v, 1}).ok());
    }
    ASSERT_TRUE((*w)->Close().ok());
  }
  for (int workers : {1, 2, 3}) {
    tsdb::testing::MemFileSystem copy;
    for (const std::string& f : fs.AllFiles()) {
      ASSERT_TRUE(copy.CreateDirs(f.substr(0, f.rfind('/'))).ok());
      ASSERT_TRUE(copy.WriteFileContents(f, *fs.ReadFile(f)).ok());
    }
    auto opened = OpenHeadFromDir(
        &copy, "/data", head::testing::TestOptions(), workers,
        [](std::string_view) {}, INT64_MIN, MapperOptions());
    ASSERT_TRUE(opened.ok()) << opened.status();
    const ReplayResult& r = opened->startup.replay;
    EXPECT_EQ(r.series, 2);
    EXPECT_EQ(r.duplicate_series, 1);
    EXPECT_EQ(r.mapped_chunks_attached, 3);  // refs 1, 2, then 7
    EXPECT_EQ(r.orphan_mapped_chunks, 1);    // ref 42
    // Ref 1: k 0..9 in its chunk; ref 2: k 0..9; ref 7: k 105..109.
    EXPECT_EQ(r.mmapped_skipped_samples, 10 + 10 + 5);
    auto got = DumpHead(*opened->head);
    ASSERT_TRUE(got.ok());
    HeadDump want;
    for (int k = 100; k < 113; ++k) {
      want[L(0).ToString()].emplace_back(k * kStep, ValueAt(0, k * kStep));
    }
    for (int k = 0; k < 15; ++k) {
      want[L(1).ToString()].emplace_back(k * kStep, ValueAt(1, k * kStep));
    }
    std::string diff;
    EXPECT_TRUE(SameDump(*got, want, &diff)) << "workers " << workers << diff;
    EXPECT_TRUE(opened->mapper->Close().ok());
  }
}

// A duplicate series record whose ref has no m-mapped chunks leaves the
// series without chunks: every later sample is replayed.
TEST(HeadWalMmapTest, DuplicateSeriesRecordWithoutChunksReplaysAll) {
  tsdb::testing::MemFileSystem fs;
  {
    auto m = chunks::ChunkDiskMapper::Open(&fs, "/data/chunks_head",
                                           MapperOptions());
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE((*m)->IterateAllChunks([](const chunks::MappedChunkInfo&) {
                      return absl::OkStatus();
                    })
                    .ok());
    WriteChunk(**m, 1, 0, 0, 10);
    ASSERT_TRUE((*m)->Close().ok());
  }
  {
    auto w = plugins::OpenSegmentedWal(WalOpts(&fs));
    ASSERT_TRUE(w.ok());
    for (const std::string& r : {SeriesRec(1, 0), SamplesRec(1, 0, 0, 12),
                                 SeriesRec(7, 0), SamplesRec(7, 0, 3, 6)}) {
      std::string_view v = r;
      ASSERT_TRUE((*w)->Log({&v, 1}).ok());
    }
    ASSERT_TRUE((*w)->Close().ok());
  }
  auto opened = OpenHeadFromDir(
      &fs, "/data", head::testing::TestOptions(), 2, [](std::string_view) {},
      INT64_MIN, MapperOptions());
  ASSERT_TRUE(opened.ok()) << opened.status();
  auto got = DumpHead(*opened->head);
  ASSERT_TRUE(got.ok());
  HeadDump want;
  for (int k = 3; k < 6; ++k) {
    want[L(0).ToString()].emplace_back(k * kStep, ValueAt(0, k * kStep));
  }
  std::string diff;
  EXPECT_TRUE(SameDump(*got, want, &diff)) << diff;
  EXPECT_TRUE(opened->mapper->Close().ok());
}

}  // namespace
}  // namespace tsdb::headwal
