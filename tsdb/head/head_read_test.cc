// The read path: IndexReader / ChunkReader over the head, chunk refs,
// snapshots and truncation.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tsdb/head/head.h"
#include "tsdb/head/test_util.h"
#include "tsdb/postings/set_ops.h"

namespace tsdb::head {
namespace {

using labels::Labels;
using testing::OpenHead;
using testing::ReadAll;
using testing::ReadSeries;
using testing::TV;

constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

std::vector<SeriesRef> Expand(std::unique_ptr<postings::Postings> p) {
  std::vector<SeriesRef> out;
  EXPECT_TRUE(postings::ExpandPostings(*p, &out).ok());
  return out;
}

class HeadReadTest : public ::testing::Test {
 protected:
  HeadReadTest() : head_(OpenHead()) {}

  SeriesRef Add(const Labels& l, int64_t from, int64_t to, int64_t step,
                double v = 1) {
    auto app = head_->Appender();
    SeriesRef ref = 0;
    for (int64_t t = from; t < to; t += step) {
      absl::StatusOr<SeriesRef> r = app->Append(ref, l, t, v);
      EXPECT_TRUE(r.ok()) << r.status();
      ref = *r;
    }
    EXPECT_TRUE(app->Commit().ok());
    return ref;
  }

  std::unique_ptr<Head> head_;
};

TEST_F(HeadReadTest, LabelNamesValuesAndPostings) {
  const SeriesRef a =
      Add(Labels::FromPairs({{"__name__", "up"}, {"job", "a"}}), 0, 1000, 100);
  const SeriesRef b =
      Add(Labels::FromPairs({{"__name__", "up"}, {"job", "b"}}), 0, 1000, 100);
  const SeriesRef c = Add(
      Labels::FromPairs({{"__name__", "cpu"}, {"job", "a"}, {"mode", "idle"}}),
      0, 1000, 100);
  HeadReaders r = head_->Readers(kMin, kMax);
  EXPECT_EQ(*r.index->LabelNames(),
            (std::vector<std::string>{"__name__", "job", "mode"}));
  EXPECT_EQ(*r.index->LabelValues("__name__"),
            (std::vector<std::string>{"cpu", "up"}));
  EXPECT_TRUE(r.index->LabelValues("nope")->empty());
  EXPECT_EQ(Expand(r.index->Postings("job", "a")),
            (std::vector<SeriesRef>{a, c}));
  EXPECT_EQ(Expand(r.index->Postings("", "")),
            (std::vector<SeriesRef>{a, b, c}));
  EXPECT_TRUE(Expand(r.index->Postings("job", "zzz")).empty());

  std::vector<std::unique_ptr<postings::Postings>> both;
  both.push_back(r.index->Postings("__name__", "up"));
  both.push_back(r.index->Postings("job", "a"));
  EXPECT_EQ(Expand(postings::Intersect(std::move(both))),
            (std::vector<SeriesRef>{a}));

  // Label order: cpu{job=a,mode=idle} < up{job=a} < up{job=b}.
  EXPECT_EQ(Expand(r.index->SortedPostings(r.index->Postings("", ""))),
            (std::vector<SeriesRef>{c, a, b}));

  Labels lset;
  std::vector<ChunkMeta> metas;
  ASSERT_TRUE(r.index->Series(c, &lset, &metas).ok());
  EXPECT_EQ(lset.ToString(), "{__name__=\"cpu\", job=\"a\", mode=\"idle\"}");
  ASSERT_EQ(metas.size(), 1u);
  EXPECT_EQ(metas[0].min_time, 0);
  EXPECT_EQ(metas[0].max_time, 900);
  EXPECT_EQ(metas[0].ref, PackHeadChunkRef(c, 0));
  EXPECT_EQ(r.index->Series(99, &lset, &metas).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(HeadReadTest, ChunkRefsIdentifySeriesAndChunk) {
  const SeriesRef a =
      Add(Labels::FromPairs({{"a", "1"}}), 0, 2 * kHour, 15000, 2.5);
  HeadReaders r = head_->Readers(kMin, kMax);
  std::vector<TV> got;
  std::vector<ChunkMeta> metas;
  ASSERT_TRUE(ReadSeries(*r.index, *r.chunks, a, &got, &metas).ok());
  EXPECT_EQ(got.size(), 480u);
  ASSERT_EQ(metas.size(), 4u);
  for (uint64_t i = 0; i < 4; ++i) {
    EXPECT_EQ(HeadChunkRefSeries(metas[i].ref), a);
    EXPECT_EQ(HeadChunkRefId(metas[i].ref), i);
    EXPECT_EQ(metas[i].min_time, static_cast<int64_t>(i) * 1800000);
    EXPECT_EQ(metas[i].max_time, static_cast<int64_t>(i + 1) * 1800000 - 15000);
  }
  // A ref to a chunk that never existed.
  ChunkMeta bogus = metas[0];
  bogus.ref = PackHeadChunkRef(a, 9);
  EXPECT_EQ(r.chunks->Chunk(bogus).status().code(),
            absl::StatusCode::kNotFound);
  bogus.ref = PackHeadChunkRef(12345, 0);
  EXPECT_EQ(r.chunks->Chunk(bogus).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(HeadReadTest, SeriesFiltersChunksByTimeRange) {
  const SeriesRef a = Add(Labels::FromPairs({{"a", "1"}}), 0, 2 * kHour, 15000);
  HeadReaders r = head_->Readers(1800000, 3600000 - 1);
  Labels lset;
  std::vector<ChunkMeta> metas;
  ASSERT_TRUE(r.index->Series(a, &lset, &metas).ok());
  ASSERT_EQ(metas.size(), 1u);
  EXPECT_EQ(HeadChunkRefId(metas[0].ref), 1u);
}

TEST_F(HeadReadTest, OpenChunkIsAStableSnapshot) {
  const SeriesRef a = Add(Labels::FromPairs({{"a", "1"}}), 0, 500, 100);
  HeadReaders r = head_->Readers(kMin, kMax);
  Labels lset;
  std::vector<ChunkMeta> metas;
  ASSERT_TRUE(r.index->Series(a, &lset, &metas).ok());
  absl::StatusOr<std::unique_ptr<chunkenc::Chunk>> c =
      r.chunks->Chunk(metas[0]);
  ASSERT_TRUE(c.ok());
  const std::string bytes((*c)->Bytes());
  Add(Labels::FromPairs({{"a", "1"}}), 500, 1000, 100);
  EXPECT_EQ((*c)->Bytes(), bytes);
  EXPECT_EQ((*c)->NumSamples(), 5);
  // The same reader keeps its snapshot: the chunk is re-encoded to the
  // samples it may see, byte-identical to what it saw before.
  absl::StatusOr<std::unique_ptr<chunkenc::Chunk>> again =
      r.chunks->Chunk(metas[0]);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->Bytes(), bytes);
  std::vector<ChunkMeta> metas2;
  ASSERT_TRUE(r.index->Series(a, &lset, &metas2).ok());
  EXPECT_EQ(metas2, metas);
  // A new reader sees all ten.
  EXPECT_EQ(ReadAll(*head_, a).size(), 10u);
}

TEST_F(HeadReadTest, TruncatedChunkRefsAreNotFound) {
  const SeriesRef a = Add(Labels::FromPairs({{"a", "1"}}), 0, 2 * kHour, 15000);
  HeadReaders r = head_->Readers(kMin, kMax);
  Labels lset;
  std::vector<ChunkMeta> metas;
  ASSERT_TRUE(r.index->Series(a, &lset, &metas).ok());
  ASSERT_EQ(metas.size(), 4u);
  ASSERT_TRUE(head_->Truncate(3600000).ok());  // drops chunks 0 and 1
  EXPECT_EQ(r.chunks->Chunk(metas[0]).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(r.chunks->Chunk(metas[1]).status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<std::unique_ptr<chunkenc::Chunk>> c2 =
      r.chunks->Chunk(metas[2]);
  ASSERT_TRUE(c2.ok());
  auto it = (*c2)->Iterator();
  ASSERT_TRUE(it->Next());
  EXPECT_EQ(it->At().t, 3600000);
  // New readers list only what is left, with the same ids.
  HeadReaders r2 = head_->Readers(kMin, kMax);
  std::vector<ChunkMeta> left;
  ASSERT_TRUE(r2.index->Series(a, &lset, &left).ok());
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0], metas[2]);
  EXPECT_EQ(left[1], metas[3]);
}

TEST_F(HeadReadTest, ReadersMayBeDestroyedInAnyOrder) {
  Add(Labels::FromPairs({{"a", "1"}}), 0, 1000, 100);
  HeadReaders r = head_->Readers(kMin, kMax);
  r.index.reset();
  ChunkMeta m;
  m.ref = PackHeadChunkRef(1, 0);
  EXPECT_TRUE(r.chunks->Chunk(m).ok());
  r.chunks.reset();
}

}  // namespace
}  // namespace tsdb::head
