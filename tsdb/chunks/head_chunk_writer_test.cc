// The head, with a HeadChunkWriter as its ChunkCutListener, writes exactly
// its cut chunks to chunks_head: same series, times and bytes, in cut order,
// and nothing else (the open chunks stay in memory).
#include "tsdb/chunks/head_chunk_writer.h"

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "plugins/chunkenc/xor/xor.h"
#include "testing/mem_file_system.h"
#include "tsdb/chunkenc/registry.h"
#include "tsdb/chunks/head_chunks.h"
#include "tsdb/head/head.h"
#include "tsdb/labels/labels.h"

namespace tsdb::chunks {
namespace {

class HeadChunkWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(chunkenc::RegisterXorCodec(codecs_).ok());
    ChunkDiskMapperOptions o;
    o.write_buffer_size = 1024;  // exercise flushes
    o.max_file_size = 16 << 10;  // and several files
    o.preallocate_size = 0;
    auto m = ChunkDiskMapper::Open(&fs_, "/d/chunks_head", o);
    ASSERT_TRUE(m.ok());
    mapper_ = std::move(*m);
    writer_ = std::make_unique<HeadChunkWriter>(mapper_.get());
    head::HeadOptions opts;
    opts.codecs = &codecs_;
    opts.chunk_cut_listener = writer_.get();
    opts.stripe_size = 64;
    auto h = head::Head::Open(opts);
    ASSERT_TRUE(h.ok()) << h.status();
    head_ = std::move(*h);
  }

  // Checks that the mapper holds exactly the head's full chunks.
  void ExpectFilesMatchHead() {
    // The head's chunks per series, in order.
    head::HeadReaders r = head_->Readers(std::numeric_limits<int64_t>::min(),
                                         std::numeric_limits<int64_t>::max());
    std::map<uint64_t, std::vector<std::pair<ChunkMeta, std::string>>> want;
    size_t full = 0;
    for (SeriesRef ref = 1; ref <= head_->LastSeriesRef(); ++ref) {
      labels::Labels lset;
      std::vector<ChunkMeta> metas;
      ASSERT_TRUE(r.index->Series(ref, &lset, &metas).ok());
      ASSERT_FALSE(metas.empty());
      metas.pop_back();  // the open chunk is not written
      for (const ChunkMeta& m : metas) {
        auto c = r.chunks->Chunk(m);
        ASSERT_TRUE(c.ok());
        want[ref].push_back({m, std::string((*c)->Bytes())});
        ++full;
        // The writer knows where it went.
        auto where = writer_->Lookup(ref, head::HeadChunkRefId(m.ref));
        ASSERT_TRUE(where.has_value());
        EXPECT_EQ(where->min_time, m.min_time);
        EXPECT_EQ(where->max_time, m.max_time);
        EXPECT_EQ(where->num_samples, (*c)->NumSamples());
        HeadChunkRecord rec;
        ASSERT_TRUE(mapper_->ReadChunk(where->ref, &rec).ok());
        EXPECT_EQ(rec.data, (*c)->Bytes());
      }
    }
    EXPECT_GT(full, 0u);
    EXPECT_EQ(writer_->chunks_written(), full);
    EXPECT_TRUE(writer_->status().ok());

    // What a restart's scan finds: the same chunks, per series in order.
    ASSERT_TRUE(mapper_->Close().ok());
    auto m = ChunkDiskMapper::Open(&fs_, "/d/chunks_head", {});
    ASSERT_TRUE(m.ok());
    std::map<uint64_t, std::vector<HeadChunkRecord>> got;
    auto res = (*m)->IterateAllChunks([&](const MappedChunkInfo& c) {
      HeadChunkRecord rec;
      absl::Status s = (*m)->ReadChunk(c.ref, &rec);
      if (!s.ok()) return s;
      EXPECT_EQ(c.encoding, 1);
      got[c.series_ref].push_back(std::move(rec));
      return absl::OkStatus();
    });
    ASSERT_TRUE(res.ok()) << res.status();
    EXPECT_FALSE(res->corruption);
    EXPECT_EQ(res->chunks, full);
    ASSERT_EQ(got.size(), want.size());
    for (const auto& [series, chunks] : want) {
      ASSERT_EQ(got[series].size(), chunks.size()) << series;
      for (size_t i = 0; i < chunks.size(); ++i) {
        EXPECT_EQ(got[series][i].min_time, chunks[i].first.min_time);
        EXPECT_EQ(got[series][i].max_time, chunks[i].first.max_time);
        EXPECT_EQ(got[series][i].data, chunks[i].second);
      }
    }
  }

  chunkenc::CodecRegistry codecs_;
  testing::MemFileSystem fs_;
  std::unique_ptr<ChunkDiskMapper> mapper_;
  std::unique_ptr<HeadChunkWriter> writer_;
  std::unique_ptr<head::Head> head_;
};

TEST_F(HeadChunkWriterTest, WritesExactlyTheCutChunks) {
  auto app = head_->Appender();
  std::vector<SeriesRef> refs;
  for (int s = 0; s < 5; ++s) {
    auto ref = app->Append(
        0,
        labels::Labels::FromPairs({{"__name__", "m"}, {"i", absl::StrCat(s)}}),
        0, 0);
    ASSERT_TRUE(ref.ok());
    refs.push_back(*ref);
  }
  ASSERT_TRUE(app->Commit().ok());
  // 15 s scrapes for ~4.2 h: 120-sample chunks and 2 h boundaries.
  for (int i = 1; i < 1000; ++i) {
    for (size_t s = 0; s < refs.size(); ++s) {
      ASSERT_TRUE(app->Append(refs[s], {}, int64_t{i} * 15000,
                              static_cast<double>(i * (s + 1)))
                      .ok());
    }
    ASSERT_TRUE(app->Commit().ok());
  }
  ExpectFilesMatchHead();
}

TEST_F(HeadChunkWriterTest, ConcurrentAppendersCutIntoOneMapper) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([this, t] {
      auto app = head_->Appender();
      SeriesRef ref = 0;
      for (int i = 0; i < 800; ++i) {
        auto r = app->Append(ref,
                             labels::Labels::FromPairs(
                                 {{"__name__", "m"}, {"t", absl::StrCat(t)}}),
                             int64_t{i} * 1000,
                             i + t);  // all within the appendable window
        ASSERT_TRUE(r.ok()) << r.status();
        ref = *r;
        if (i % 10 == 9) {
          ASSERT_TRUE(app->Commit().ok());
        }
      }
      ASSERT_TRUE(app->Commit().ok());
    });
  }
  for (auto& th : threads) th.join();
  ExpectFilesMatchHead();
}

TEST_F(HeadChunkWriterTest, WriteFailuresAreKept) {
  ASSERT_TRUE(mapper_->Close().ok());  // every write now fails
  auto app = head_->Appender();
  SeriesRef ref = 0;
  for (int i = 0; i < 300; ++i) {
    auto r = app->Append(ref, labels::Labels::FromPairs({{"__name__", "m"}}),
                         int64_t{i} * 15000, i);
    ASSERT_TRUE(r.ok());
    ref = *r;
    ASSERT_TRUE(app->Commit().ok());  // the head does not depend on it
  }
  EXPECT_GT(writer_->write_failures(), 0u);
  EXPECT_TRUE(absl::IsFailedPrecondition(writer_->status()));
  EXPECT_EQ(writer_->chunks_written(), 0u);
  writer_->Forget(std::numeric_limits<int64_t>::max());
  EXPECT_EQ(writer_->size(), 0u);
}

}  // namespace
}  // namespace tsdb::chunks
