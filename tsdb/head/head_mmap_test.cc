// Head with HeadOptions::chunk_mapper: cut chunks live only in chunks_head,
// queries return exactly what a head without a mapper returns, memory is
// released, failed writes keep the bytes, truncation deletes files, and
// appends, reads and truncation run concurrently.
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/fault_file_system.h"
#include "testing/mem_file_system.h"
#include "tsdb/chunks/head_chunks.h"
#include "tsdb/head/head.h"
#include "tsdb/head/test_util.h"

namespace tsdb::head {
namespace {

using testing::OpenHead;
using testing::ReadAll;
using testing::TestOptions;
using testing::TV;

constexpr int64_t kStep = 15000;

double ValueAt(int series, int64_t t) {
  return std::sin(static_cast<double>(t) / 1e6 + series) * 1000 +
         static_cast<double>(t % 7);
}

labels::Labels SeriesLabels(int i) {
  const std::string v = absl::StrCat(i);
  return labels::Labels::FromPairs({{"__name__", "m"}, {"i", v}, {"job", "j"}});
}

std::unique_ptr<chunks::ChunkDiskMapper> OpenMapper(io::FileSystem* fs,
                                                    uint64_t max_file_size) {
  chunks::ChunkDiskMapperOptions o;
  o.write_buffer_size = 4096;
  o.max_file_size = max_file_size;
  o.preallocate_size = 0;
  auto m = chunks::ChunkDiskMapper::Open(fs, "/d/chunks_head", o);
  EXPECT_TRUE(m.ok()) << m.status();
  auto scan = (*m)->IterateAllChunks(
      [](const chunks::MappedChunkInfo&) { return absl::OkStatus(); });
  EXPECT_TRUE(scan.ok()) << scan.status();
  return std::move(*m);
}

// Appends `n` samples from t0 to `num_series` series, in batches of one
// sample per series.
void Fill(Head& head, int num_series, int64_t t0, int n) {
  auto app = head.Appender();
  for (int k = 0; k < n; ++k) {
    const int64_t t = t0 + k * kStep;
    for (int i = 0; i < num_series; ++i) {
      ASSERT_TRUE(app->Append(0, SeriesLabels(i), t, ValueAt(i, t)).ok());
    }
    ASSERT_TRUE(app->Commit().ok());
  }
}

std::vector<TV> Expected(int series, int64_t t0, int n) {
  std::vector<TV> out;
  for (int k = 0; k < n; ++k) {
    const int64_t t = t0 + k * kStep;
    out.emplace_back(t, ValueAt(series, t));
  }
  return out;
}

TEST(HeadMmapTest, QueriesEqualHeadWithoutMapper) {
  ::tsdb::testing::MemFileSystem fs;
  auto mapper = OpenMapper(&fs, 64 << 10);
  HeadOptions mo = TestOptions();
  mo.chunk_mapper = mapper.get();
  std::unique_ptr<Head> mapped = OpenHead(mo);
  std::unique_ptr<Head> plain = OpenHead();
  constexpr int kSeries = 40;
  constexpr int kSamples = 2000;  // ~8h: 16 chunks per series
  Fill(*mapped, kSeries, 1000, kSamples);
  Fill(*plain, kSeries, 1000, kSamples);

  const HeadStats st = mapped->Stats();
  EXPECT_EQ(st.chunk_map_failures, 0u);
  EXPECT_EQ(st.chunks_mapped, st.num_chunks - kSeries);  // all but the open
  EXPECT_GT(st.chunks_mapped, uint64_t{kSeries} * 10);
  EXPECT_EQ(plain->Stats().chunks_mapped, 0u);
  EXPECT_GT(mapper->FileNumbers().size(), 1u);

  const std::vector<std::pair<int64_t, int64_t>> ranges = {
      {std::numeric_limits<int64_t>::min(),
       std::numeric_limits<int64_t>::max()},
      {1000 + 500 * kStep, 1000 + 1300 * kStep},
      {1000 + 1990 * kStep, std::numeric_limits<int64_t>::max()}};
  for (int i = 0; i < kSeries; ++i) {
    const SeriesRef ref = mapped->GetRef(SeriesLabels(i));
    ASSERT_EQ(ref, plain->GetRef(SeriesLabels(i)));
    EXPECT_EQ(ReadAll(*mapped, ref), Expected(i, 1000, kSamples));
    for (const auto& [lo, hi] : ranges) {
      EXPECT_EQ(ReadAll(*mapped, ref, lo, hi), ReadAll(*plain, ref, lo, hi))
          << "series " << i << " [" << lo << ", " << hi << "]";
    }
  }
  // Chunk metas (refs and times) are the same too.
  HeadReaders a = mapped->Readers(0, std::numeric_limits<int64_t>::max());
  HeadReaders b = plain->Readers(0, std::numeric_limits<int64_t>::max());
  for (SeriesRef ref = 1; ref <= kSeries; ++ref) {
    labels::Labels la, lb;
    std::vector<ChunkMeta> ma, mb;
    ASSERT_TRUE(a.index->Series(ref, &la, &ma).ok());
    ASSERT_TRUE(b.index->Series(ref, &lb, &mb).ok());
    ASSERT_EQ(ma.size(), mb.size());
    for (size_t j = 0; j < ma.size(); ++j) {
      EXPECT_EQ(ma[j].ref, mb[j].ref);
      EXPECT_EQ(ma[j].min_time, mb[j].min_time);
      EXPECT_EQ(ma[j].max_time, mb[j].max_time);
      auto ca = a.chunks->Chunk(ma[j]);
      auto cb = b.chunks->Chunk(mb[j]);
      ASSERT_TRUE(ca.ok()) << ca.status();
      ASSERT_TRUE(cb.ok()) << cb.status();
      EXPECT_EQ((*ca)->Bytes(), (*cb)->Bytes());
    }
  }
}

TEST(HeadMmapTest, MemoryStatsShowBytesReleased) {
  ::tsdb::testing::MemFileSystem fs;
  auto mapper = OpenMapper(&fs, 1 << 20);
  HeadOptions mo = TestOptions();
  mo.chunk_mapper = mapper.get();
  std::unique_ptr<Head> mapped = OpenHead(mo);
  std::unique_ptr<Head> plain = OpenHead();
  constexpr int kSeries = 100;
  Fill(*mapped, kSeries, 0, 480);  // 2h at 15 s: 3 full chunks + 1 open
  Fill(*plain, kSeries, 0, 480);
  const size_t m = mapped->MemoryStats().series;
  const size_t p = plain->MemoryStats().series;
  // Three full chunks of ~120 realistic samples are well over 300 bytes per
  // series; the mapped head keeps only their metadata.
  EXPECT_LT(m + kSeries * 300, p) << "mapped " << m << " plain " << p;
}

TEST(HeadMmapTest, WriteFailureKeepsBytesInMemory) {
  ::tsdb::testing::MemFileSystem mem;
  ::tsdb::testing::FaultFileSystem fs(&mem);
  auto mapper = OpenMapper(&fs, 1 << 20);
  HeadOptions mo = TestOptions();
  mo.chunk_mapper = mapper.get();
  std::unique_ptr<Head> head = OpenHead(mo);
  fs.SetFilesystemActive(false);  // every file creation fails
  Fill(*head, 5, 0, 600);
  const HeadStats st = head->Stats();
  EXPECT_EQ(st.chunks_mapped, 0u);
  EXPECT_EQ(st.chunk_map_failures, st.num_chunks - 5);
  EXPECT_GT(st.chunk_map_failures, 0u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(ReadAll(*head, head->GetRef(SeriesLabels(i))),
              Expected(i, 0, 600));
  }
  // Writes work again: later chunks go to disk, older ones stay in memory,
  // and reads mix both.
  fs.SetFilesystemActive(true);
  auto app = head->Appender();
  for (int k = 600; k < 1200; ++k) {
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(app->Append(head->GetRef(SeriesLabels(i)), {}, k * kStep,
                              ValueAt(i, k * kStep))
                      .ok());
    }
    ASSERT_TRUE(app->Commit().ok());
  }
  EXPECT_GT(head->Stats().chunks_mapped, 0u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(ReadAll(*head, head->GetRef(SeriesLabels(i))),
              Expected(i, 0, 1200));
  }
}

TEST(HeadMmapTest, TruncateDeletesUnreferencedFiles) {
  ::tsdb::testing::MemFileSystem fs;
  auto mapper = OpenMapper(&fs, 8 << 10);
  HeadOptions mo = TestOptions();
  mo.chunk_mapper = mapper.get();
  std::unique_ptr<Head> head = OpenHead(mo);
  constexpr int kSamples = 2400;  // 10h
  Fill(*head, 10, 0, kSamples);
  const size_t before = mapper->FileNumbers().size();
  ASSERT_GT(before, 3u);
  const int64_t mint = 6 * kDefaultChunkRange / 2;  // 6h
  ASSERT_TRUE(head->Truncate(mint).ok());
  const size_t after = mapper->FileNumbers().size();
  EXPECT_LT(after, before);
  for (int i = 0; i < 10; ++i) {
    std::vector<TV> want;
    for (const TV& s : Expected(i, 0, kSamples)) {
      if (s.first >= mint) want.push_back(s);
    }
    EXPECT_EQ(ReadAll(*head, head->GetRef(SeriesLabels(i)), mint,
                      std::numeric_limits<int64_t>::max()),
              want);
  }
}

TEST(HeadMmapTest, AttachMappedChunks) {
  ::tsdb::testing::MemFileSystem fs;
  {
    auto mapper = OpenMapper(&fs, 1 << 20);
    HeadOptions mo = TestOptions();
    mo.chunk_mapper = mapper.get();
    std::unique_ptr<Head> src = OpenHead(mo);
    Fill(*src, 1, 0, 400);  // 3 full chunks written, 1 open
    ASSERT_TRUE(mapper->Close().ok());
  }
  // "Restart": scan the files, attach them to the series.
  auto m = chunks::ChunkDiskMapper::Open(&fs, "/d/chunks_head", {});
  ASSERT_TRUE(m.ok());
  std::vector<MappedChunk> metas;
  ASSERT_TRUE((*m)->IterateAllChunks([&](const chunks::MappedChunkInfo& c) {
                    metas.push_back(MappedChunk{c.ref, c.min_time, c.max_time,
                                                c.num_samples});
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_EQ(metas.size(), 3u);
  HeadOptions mo = TestOptions();
  mo.chunk_mapper = m->get();
  std::unique_ptr<Head> dst = OpenHead(mo);
  EXPECT_EQ(dst->AttachMappedChunks(1, metas).code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(dst->CreateSeriesWithRef(1, SeriesLabels(0)).ok());
  std::vector<MappedChunk> reversed(metas.rbegin(), metas.rend());
  EXPECT_EQ(dst->AttachMappedChunks(1, reversed).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(dst->AttachMappedChunks(1, metas).ok());
  EXPECT_EQ(dst->AttachMappedChunks(1, metas).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(dst->Stats().chunks_attached, 3u);
  EXPECT_EQ(dst->MinTime(), 0);
  EXPECT_EQ(dst->MaxTime(), metas.back().max_time);
  const int n = static_cast<int>(metas.back().max_time / kStep) + 1;
  EXPECT_EQ(ReadAll(*dst, 1), Expected(0, 0, n));
  // Appends continue after the last mapped sample; older ones are refused.
  auto app = dst->Appender();
  EXPECT_FALSE(app->Append(1, {}, metas.back().max_time, 1).ok());
  for (int k = n; k < 600; ++k) {
    ASSERT_TRUE(app->Append(1, {}, k * kStep, ValueAt(0, k * kStep)).ok());
  }
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(ReadAll(*dst, 1), Expected(0, 0, 600));

  std::unique_ptr<Head> no_mapper = OpenHead();
  EXPECT_EQ(no_mapper->AttachMappedChunks(1, metas).code(),
            absl::StatusCode::kFailedPrecondition);
}

// Writes 3 full chunks of series 0 to chunks_head, then opens a head on
// them with the chunks attached to ref 1 (a restart without WAL samples
// after the last chunk).
std::unique_ptr<Head> HeadWithAttachedChunks(
    ::tsdb::testing::MemFileSystem* fs,
    std::unique_ptr<chunks::ChunkDiskMapper>* mapper,
    std::vector<MappedChunk>* metas) {
  {
    auto m = OpenMapper(fs, 1 << 20);
    HeadOptions mo = TestOptions();
    mo.chunk_mapper = m.get();
    std::unique_ptr<Head> src = OpenHead(mo);
    Fill(*src, 1, 0, 400);
    EXPECT_TRUE(m->Close().ok());
  }
  auto m = chunks::ChunkDiskMapper::Open(fs, "/d/chunks_head", {});
  EXPECT_TRUE(m.ok());
  EXPECT_TRUE((*m)->IterateAllChunks([&](const chunks::MappedChunkInfo& c) {
                    metas->push_back(MappedChunk{c.ref, c.min_time, c.max_time,
                                                 c.num_samples});
                    return absl::OkStatus();
                  })
                  .ok());
  *mapper = std::move(*m);
  HeadOptions mo = TestOptions();
  mo.chunk_mapper = mapper->get();
  std::unique_ptr<Head> h = OpenHead(mo);
  EXPECT_TRUE(h->CreateSeriesWithRef(1, SeriesLabels(0)).ok());
  EXPECT_TRUE(h->AttachMappedChunks(1, *metas).ok());
  return h;
}

TEST(HeadMmapTest, SampleAtLastMappedTimestamp) {
  ::tsdb::testing::MemFileSystem fs;
  std::unique_ptr<chunks::ChunkDiskMapper> mapper;
  std::vector<MappedChunk> metas;
  std::unique_ptr<Head> h = HeadWithAttachedChunks(&fs, &mapper, &metas);
  ASSERT_EQ(metas.size(), 3u);
  const int64_t last = metas.back().max_time;
  const int n = static_cast<int>(last / kStep) + 1;
  auto app = h->Appender();
  // A different value at the last timestamp: Prometheus's duplicate error.
  auto dup = app->Append(1, {}, last, ValueAt(0, last) + 1);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().message(), "duplicate sample for timestamp");
  // The identical sample (read back from chunks_head) is accepted and
  // dropped, as after any append; by labels too.
  auto same = app->Append(1, {}, last, ValueAt(0, last));
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(*same, 1u);
  auto by_labels = app->Append(0, SeriesLabels(0), last, ValueAt(0, last));
  ASSERT_TRUE(by_labels.ok()) << by_labels.status();
  EXPECT_EQ(*by_labels, 1u);
  auto older = app->Append(1, {}, last - kStep, ValueAt(0, last - kStep));
  ASSERT_FALSE(older.ok());
  EXPECT_EQ(older.status().message(), "out of order sample");
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(ReadAll(*h, 1), Expected(0, 0, n));
  // Identical after a batch that appended nothing, then newer ones append.
  ASSERT_TRUE(app->Append(1, {}, last, ValueAt(0, last)).ok());
  ASSERT_TRUE(app->Append(1, {}, last + kStep, ValueAt(0, last + kStep)).ok());
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(ReadAll(*h, 1), Expected(0, 0, n + 1));
}

TEST(HeadMmapTest, SampleAtLastMappedTimestampUnreadableChunk) {
  ::tsdb::testing::MemFileSystem fs;
  std::unique_ptr<chunks::ChunkDiskMapper> mapper;
  std::vector<MappedChunk> metas;
  std::unique_ptr<Head> h = HeadWithAttachedChunks(&fs, &mapper, &metas);
  ASSERT_EQ(metas.size(), 3u);
  // The file is gone: the last value stays unknown, so any sample at the
  // last timestamp is refused (never silently taken as identical).
  ASSERT_TRUE(mapper->Truncate(std::numeric_limits<int64_t>::max()).ok());
  auto app = h->Appender();
  const int64_t last = metas.back().max_time;
  auto r = app->Append(1, {}, last, ValueAt(0, last));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "duplicate sample for timestamp");
}

TEST(HeadMmapTest, ResetSeriesWithMappedChunks) {
  ::tsdb::testing::MemFileSystem fs;
  std::unique_ptr<chunks::ChunkDiskMapper> mapper;
  std::vector<MappedChunk> metas;
  std::unique_ptr<Head> h = HeadWithAttachedChunks(&fs, &mapper, &metas);
  ASSERT_EQ(metas.size(), 3u);
  const int64_t last = metas.back().max_time;
  const int n = static_cast<int>(last / kStep) + 1;
  {
    auto app = h->Appender(AppenderOptions{.replay = true});
    for (int k = n; k < n + 10; ++k) {
      ASSERT_TRUE(app->Append(1, {}, k * kStep, ValueAt(0, k * kStep)).ok());
    }
    ASSERT_TRUE(app->Commit().ok());
  }
  EXPECT_EQ(ReadAll(*h, 1), Expected(0, 0, n + 10));
  // Replace everything with the last chunk only.
  ASSERT_TRUE(h->ResetSeriesWithMappedChunks(1, {metas.back()}).ok());
  const int first = static_cast<int>(metas.back().min_time / kStep);
  EXPECT_EQ(ReadAll(*h, 1), Expected(0, first * kStep, n - first));
  EXPECT_EQ(h->Stats().chunks_attached, 4u);
  {
    // Appends continue after that chunk.
    auto app = h->Appender(AppenderOptions{.replay = true});
    EXPECT_FALSE(app->Append(1, {}, last - kStep, 0).ok());
    ASSERT_TRUE(
        app->Append(1, {}, last + kStep, ValueAt(0, last + kStep)).ok());
    ASSERT_TRUE(app->Commit().ok());
  }
  EXPECT_EQ(ReadAll(*h, 1), Expected(0, first * kStep, n - first + 1));
  // With no chunks the series is empty and takes any timestamp.
  ASSERT_TRUE(h->ResetSeriesWithMappedChunks(1, {}).ok());
  EXPECT_TRUE(ReadAll(*h, 1).empty());
  {
    auto app = h->Appender(AppenderOptions{.replay = true});
    ASSERT_TRUE(app->Append(1, {}, 0, ValueAt(0, 0)).ok());
    ASSERT_TRUE(app->Commit().ok());
  }
  EXPECT_EQ(ReadAll(*h, 1), Expected(0, 0, 1));
  EXPECT_EQ(h->ResetSeriesWithMappedChunks(99, {}).code(),
            absl::StatusCode::kNotFound);
  std::vector<MappedChunk> reversed(metas.rbegin(), metas.rend());
  EXPECT_EQ(h->ResetSeriesWithMappedChunks(1, reversed).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(HeadMmapTest, ConcurrentAppendReadTruncate) {
  ::tsdb::testing::MemFileSystem fs;
  auto mapper = OpenMapper(&fs, 16 << 10);
  HeadOptions mo = TestOptions();
  mo.chunk_mapper = mapper.get();
  mo.samples_per_chunk = 8;  // cut often
  mo.chunk_range = 100 * kStep;
  std::unique_ptr<Head> head = OpenHead(mo);
  constexpr int kSeries = 20;
  constexpr int kSamples = 1500;
  std::atomic<bool> done{false};
  std::atomic<int64_t> truncated{std::numeric_limits<int64_t>::min()};
  std::atomic<bool> truncate_started{false};
  std::thread writer([&] {
    auto app = head->Appender();
    for (int k = 0; k < kSamples; ++k) {
      const int64_t t = k * kStep;
      for (int i = 0; i < kSeries; ++i) {
        ASSERT_TRUE(app->Append(0, SeriesLabels(i), t, ValueAt(i, t)).ok());
      }
      ASSERT_TRUE(app->Commit().ok());
    }
    done.store(true);
  });
  std::thread truncator([&] {
    // At least one truncation even if the writer finishes first (a busy
    // machine may not schedule this thread while it runs).
    while (!done.load() ||
           truncated.load() == std::numeric_limits<int64_t>::min()) {
      const int64_t maxt = head->MaxTime();
      if (maxt > 400 * kStep) {
        const int64_t mint = maxt - 300 * kStep;
        truncate_started.store(true);
        ASSERT_TRUE(head->Truncate(mint).ok());
        truncated.store(mint);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  auto reader = [&] {
    while (!done.load()) {
      HeadReaders r = head->Readers(std::numeric_limits<int64_t>::min(),
                                    std::numeric_limits<int64_t>::max());
      for (int i = 0; i < kSeries; ++i) {
        const SeriesRef ref = head->GetRef(SeriesLabels(i));
        if (ref == 0) continue;
        labels::Labels lset;
        std::vector<ChunkMeta> metas;
        if (!r.index->Series(ref, &lset, &metas).ok()) continue;
        for (const ChunkMeta& m : metas) {
          auto c = r.chunks->Chunk(m);
          if (!c.ok()) {
            // Only a concurrent truncation may take a chunk away.
            ASSERT_EQ(c.status().code(), absl::StatusCode::kNotFound)
                << c.status();
            ASSERT_TRUE(truncate_started.load()) << c.status();
            continue;
          }
          auto it = (*c)->Iterator();
          while (it->Next()) {
            const chunkenc::Sample s = it->At();
            ASSERT_EQ(s.v, ValueAt(i, s.t)) << "t=" << s.t;
          }
          ASSERT_TRUE(it->status().ok());
        }
      }
    }
  };
  std::thread r1(reader), r2(reader);
  writer.join();
  truncator.join();
  r1.join();
  r2.join();
  EXPECT_GT(head->Stats().chunks_mapped, 0u);
  EXPECT_EQ(head->Stats().chunk_map_failures, 0u);
  const int64_t lo = truncated.load();
  ASSERT_NE(lo, std::numeric_limits<int64_t>::min());
  for (int i = 0; i < kSeries; ++i) {
    std::vector<TV> want;
    for (const TV& s : Expected(i, 0, kSamples)) {
      if (s.first >= lo) want.push_back(s);
    }
    // Whole chunks come back: keep the samples in range.
    std::vector<TV> got;
    for (const TV& s : ReadAll(*head, head->GetRef(SeriesLabels(i)), lo,
                               std::numeric_limits<int64_t>::max())) {
      if (s.first >= lo) got.push_back(s);
    }
    EXPECT_EQ(got, want);
  }
}

}  // namespace
}  // namespace tsdb::head
