#include "tsdb/block/block.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tsdb/block/block_test_util.h"
#include "tsdb/block/block_writer.h"
#include "tsdb/block/meta.h"
#include "tsdb/io/file_system.h"

namespace tsdb::block {
namespace {

using testutil::Sample;
using testutil::TestSeries;

std::vector<TestSeries> MakeSeries(int n, int samples) {
  std::vector<TestSeries> out;
  for (int i = 0; i < n; ++i) {
    TestSeries s;
    s.lset = labels::Labels::FromPairs(
        {{"__name__", i % 2 ? "up" : "requests_total"},
         {"instance", absl::StrCat("host", i)},
         {"path", "/a\"b\\c ✓"}});
    for (int k = 0; k < samples; ++k) {
      double v = i * 1000.0 + k * 0.5;
      if (k == 3) v = std::numeric_limits<double>::quiet_NaN();
      if (k == 4) v = std::numeric_limits<double>::infinity();
      if (k == 5) v = -std::numeric_limits<double>::infinity();
      s.samples.push_back({1000000 + k * 15000LL, v});
    }
    out.push_back(std::move(s));
  }
  return out;
}

class BlockTest : public ::testing::TestWithParam<const char*> {};

TEST_P(BlockTest, WriteThenReadBack) {
  testutil::Registries reg;
  const std::string dir = testutil::TempDir(absl::StrCat("wr_", GetParam()));
  const std::vector<TestSeries> series = MakeSeries(50, 500);
  VectorSeriesSource src(testutil::Encode(reg, series));
  BlockWriterOptions opts;
  opts.segment_size = 4096;  // forces many segment files
  auto meta = WriteBlock(io::PosixFileSystem(), dir, src, opts);
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_EQ(meta->stats.num_series, 50u);
  EXPECT_EQ(meta->stats.num_samples, 50u * 500);
  EXPECT_EQ(meta->stats.num_chunks, 50u * 5);
  EXPECT_EQ(meta->min_time, 1000000);
  EXPECT_EQ(meta->max_time, 1000000 + 499 * 15000 + 1);
  EXPECT_EQ(meta->compaction.level, 1);
  EXPECT_EQ(meta->compaction.sources, std::vector<Ulid>{meta->ulid});

  const std::string bdir = io::JoinPath(dir, meta->ulid.ToString());
  auto names = io::PosixFileSystem()->ListDir(dir).value();
  EXPECT_EQ(names, std::vector<std::string>{meta->ulid.ToString()});
  auto files = io::PosixFileSystem()->ListDir(bdir).value();
  EXPECT_EQ(files, (std::vector<std::string>{"chunks", "index", "meta.json",
                                             "tombstones"}));
  EXPECT_EQ(io::PosixFileSystem()->FileSize(bdir + "/tombstones").value(), 9u);

  auto b = Block::Open(bdir, reg.readers, GetParam(), &reg.codecs);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_GT((*b)->chunks().files().NumSegments(), 5u);
  EXPECT_EQ(EncodeMeta((*b)->meta()), EncodeMeta(*meta));
  auto all = testutil::ReadAll(**b);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), series.size());
  for (const TestSeries& s : series) {
    const auto& got = (*all)[s.lset.ToString()];
    ASSERT_EQ(got.size(), s.samples.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].t, s.samples[i].t);
      EXPECT_TRUE(testutil::SameBits(got[i].v, s.samples[i].v));
    }
  }
  EXPECT_EQ((*b)->index().LabelValues("__name__").value(),
            (std::vector<std::string>{"requests_total", "up"}));
  uint64_t total = 0;
  for (const char* f : {"/index", "/meta.json", "/tombstones"}) {
    total += io::PosixFileSystem()->FileSize(bdir + f).value();
  }
  const std::vector<std::string> segs =
      io::PosixFileSystem()->ListDir(bdir + "/chunks").value();
  for (const auto& n : segs) {
    total += io::PosixFileSystem()->FileSize(bdir + "/chunks/" + n).value();
  }
  EXPECT_EQ((*b)->Size(), total);
}

TEST_P(BlockTest, UnknownEncodingNamesTheByte) {
  testutil::Registries reg;
  const std::string dir = testutil::TempDir(absl::StrCat("enc_", GetParam()));
  std::vector<SeriesChunks> s(1);
  s[0].lset = labels::Labels::FromPairs({{"a", "b"}});
  s[0].chunks.push_back({0, 10, 0xEE, std::string("\x00\x02xyz", 5), -1});
  VectorSeriesSource src(std::move(s));
  auto meta = WriteBlock(io::PosixFileSystem(), dir, src, {});
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_EQ(meta->stats.num_samples, 2u);  // from the BE16 header
  auto b = Block::Open(io::JoinPath(dir, meta->ulid.ToString()), reg.readers,
                       GetParam(), &reg.codecs);
  ASSERT_TRUE(b.ok()) << b.status();
  labels::Labels l;
  std::vector<ChunkMeta> metas;
  auto p = (*b)->index().Postings("a", "b");
  ASSERT_TRUE(p->Next());
  ASSERT_TRUE((*b)->index().Series(p->At(), &l, &metas).ok());
  auto c = (*b)->chunks().Chunk(metas[0]);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(),
                                "unknown chunk encoding byte 238 (0xee)"))
      << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), meta->ulid.ToString()))
      << c.status();
}

INSTANTIATE_TEST_SUITE_P(Readers, BlockTest,
                         ::testing::Values("mmap", "pread"));

TEST(BlockWriterTest, OptionsAndTombstones) {
  testutil::Registries reg;
  const std::string dir = testutil::TempDir("opts");
  VectorSeriesSource src(testutil::Encode(reg, MakeSeries(3, 10)));
  tombstones::MemTombstones ts;
  ts.AddInterval(2, {0, 100});
  ts.AddInterval(3, {5, 6});
  BlockWriterOptions opts;
  opts.ulid = Ulid::Parse("01GR3Z9S7KX0Y8QF3B6D2V5N4M").value();
  opts.min_time = 0;
  opts.max_time = 7200000;
  opts.level = 3;
  opts.sources = {Ulid::New(2), Ulid::New(1)};
  opts.tombstones = &ts;
  auto meta = WriteBlock(io::PosixFileSystem(), dir, src, opts);
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_EQ(meta->min_time, 0);
  EXPECT_EQ(meta->max_time, 7200000);
  EXPECT_EQ(meta->stats.num_tombstones, 2u);
  EXPECT_EQ(meta->compaction.sources[0], opts.sources[1]);  // sorted
  auto b = Block::Open(dir + "/01GR3Z9S7KX0Y8QF3B6D2V5N4M", reg.readers, "mmap",
                       &reg.codecs);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*b)->tombstones().Get(2), (tombstones::Intervals{{0, 100}}));
  EXPECT_EQ((*b)->meta().compaction.level, 3);
}

TEST(BlockWriterTest, NoSamplesNoBlock) {
  const std::string dir = testutil::TempDir("nosamples");
  std::vector<SeriesChunks> s(1);
  s[0].lset = labels::Labels::FromPairs({{"a", "b"}});
  VectorSeriesSource src(std::move(s));
  auto meta = WriteBlock(io::PosixFileSystem(), dir, src, {});
  EXPECT_EQ(meta.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(io::PosixFileSystem()->ListDir(dir).value().empty());
}

TEST(BlockTest, UnknownChunkReaderListsValidNames) {
  testutil::Registries reg;
  const std::string dir = testutil::TempDir("unknown_reader");
  VectorSeriesSource src(testutil::Encode(reg, MakeSeries(1, 10)));
  auto meta = WriteBlock(io::PosixFileSystem(), dir, src, {});
  ASSERT_TRUE(meta.ok());
  auto b = Block::Open(io::JoinPath(dir, meta->ulid.ToString()), reg.readers,
                       "mmapp", &reg.codecs);
  EXPECT_EQ(b.status(),
            absl::NotFoundError(
                "unknown chunk reader \"mmapp\"; valid: mmap, pread"));
}

}  // namespace
}  // namespace tsdb::block
