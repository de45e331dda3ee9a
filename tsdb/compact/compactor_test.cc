#include "tsdb/compact/compactor.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tsdb/block/block.h"
#include "tsdb/compact/compact_test_util.h"
#include "tsdb/io/file_system.h"

namespace tsdb::compact {
namespace {

using testutil::Sample;
using testutil::SeriesMap;

constexpr int64_t kH = 3600 * 1000;
constexpr int64_t kStart = 1675152000000;  // 2h-aligned

labels::Labels L(const std::string& name, const std::string& i) {
  return labels::Labels::FromPairs({{"__name__", name}, {"i", i}});
}

// `n` series with samples every 15 s over [mint, maxt).
SeriesMap Series(int n, int64_t mint, int64_t maxt, double offset = 0) {
  SeriesMap m;
  for (int i = 0; i < n; ++i) {
    auto& s = m[L("metric", std::to_string(i))];
    for (int64_t t = mint; t < maxt; t += 15000) {
      s.push_back({t, offset + static_cast<double>(i) + (t - mint) / 1000.0});
    }
  }
  return m;
}

std::map<std::string, std::vector<Sample>> Keyed(const SeriesMap& m) {
  std::map<std::string, std::vector<Sample>> out;
  for (const auto& [l, s] : m) out[l.ToString()] = s;
  return out;
}

void ExpectSame(const std::map<std::string, std::vector<Sample>>& got,
                const std::map<std::string, std::vector<Sample>>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [k, w] : want) {
    auto it = got.find(k);
    ASSERT_NE(it, got.end()) << k;
    ASSERT_EQ(it->second.size(), w.size()) << k;
    for (size_t i = 0; i < w.size(); ++i) {
      EXPECT_EQ(it->second[i].t, w[i].t) << k << " #" << i;
      EXPECT_EQ(it->second[i].v, w[i].v) << k << " #" << i;
    }
  }
}

class CompactorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testutil::TempDir(
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }

  std::unique_ptr<block::Block> Write(const SeriesMap& m, int64_t mint,
                                      int64_t maxt, int level = 1) {
    testutil::TestBlockOptions o;
    o.min_time = mint;
    o.max_time = maxt;
    o.level = level;
    auto meta = testutil::WriteTestBlock(env_, dir_, m, o);
    EXPECT_TRUE(meta.ok()) << meta.status();
    if (!meta.ok()) return nullptr;
    return Open(meta->ulid);
  }

  std::unique_ptr<block::Block> Open(const block::Ulid& id) {
    auto b = testutil::OpenBlock(env_, io::JoinPath(dir_, id.ToString()));
    EXPECT_TRUE(b.ok()) << b.status();
    return b.ok() ? *std::move(b) : nullptr;
  }

  absl::StatusOr<CompactResult> Run(
      const std::vector<const block::Block*>& parents) {
    return Compact(io::PosixFileSystem(), dir_, parents, env_.codecs,
                   CompactOptions{});
  }

  std::vector<std::string> DirEntries() {
    auto names = io::PosixFileSystem()->ListDir(dir_);
    return names.ok() ? *names : std::vector<std::string>{};
  }

  testutil::Env env_;
  std::string dir_;
};

TEST_F(CompactorTest, ThreeAdjacentBlocksMakeOne6hBlock) {
  SeriesMap all;
  std::vector<std::unique_ptr<block::Block>> blocks;
  for (int i = 0; i < 3; ++i) {
    const int64_t mint = kStart + i * 2 * kH;
    SeriesMap m = Series(20, mint, mint + 2 * kH);
    // A series present only in the middle block.
    if (i == 1) m[L("only_middle", "x")] = {{mint, 1}, {mint + 1000, 2}};
    for (const auto& [l, s] : m) {
      all[l].insert(all[l].end(), s.begin(), s.end());
    }
    blocks.push_back(Write(m, mint, mint + 2 * kH));
    ASSERT_NE(blocks.back(), nullptr);
  }
  std::vector<const block::Block*> parents;
  for (const auto& b : blocks) parents.push_back(b.get());

  auto r = Run(parents);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->meta.has_value());
  const block::BlockMeta& m = *r->meta;
  EXPECT_EQ(m.min_time, kStart);
  EXPECT_EQ(m.max_time, kStart + 6 * kH);
  EXPECT_EQ(m.compaction.level, 2);
  std::vector<block::Ulid> sources;
  for (const auto& b : blocks) sources.push_back(b->meta().ulid);
  std::sort(sources.begin(), sources.end());
  EXPECT_EQ(m.compaction.sources, sources);
  ASSERT_EQ(m.compaction.parents.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(m.compaction.parents[i].ulid, blocks[i]->meta().ulid);
    EXPECT_EQ(m.compaction.parents[i].min_time, blocks[i]->meta().min_time);
    EXPECT_EQ(m.compaction.parents[i].max_time, blocks[i]->meta().max_time);
  }
  EXPECT_EQ(m.stats.num_series, 21u);
  EXPECT_EQ(m.stats.num_samples, 20u * 1440 + 2);
  EXPECT_EQ(r->num_samples, m.stats.num_samples);
  // 1440 samples per series in chunks of 120; 1 chunk for only_middle.
  EXPECT_EQ(m.stats.num_chunks, 20u * 12 + 1);

  auto out = Open(m.ulid);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->meta().compaction.sources, sources);
  auto got = testutil::ReadSamples(*out);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(*got, Keyed(all));
  // Chunks hold at most 120 samples.
  auto p = out->index().Postings("", "");
  while (p->Next()) {
    labels::Labels l;
    std::vector<ChunkMeta> chks;
    ASSERT_TRUE(out->index().Series(p->At(), &l, &chks).ok());
    for (const ChunkMeta& c : chks) {
      auto chunk = out->chunks().Chunk(c);
      ASSERT_TRUE(chunk.ok());
      EXPECT_LE((*chunk)->NumSamples(), 120);
    }
  }
}

TEST_F(CompactorTest, OverlappingBlocksAreDeduplicated) {
  // A: [0h, 2h) every 15 s, B: [1h, 3h) every 10 s, different values.
  SeriesMap a = Series(3, kStart, kStart + 2 * kH, 0);
  SeriesMap b;
  for (int i = 0; i < 3; ++i) {
    auto& s = b[L("metric", std::to_string(i))];
    for (int64_t t = kStart + kH; t < kStart + 3 * kH; t += 10000) {
      s.push_back({t, 1000.0 + i});
    }
  }
  b[L("only_b", "1")] = {{kStart + kH, 7}};
  auto ba = Write(a, kStart, kStart + 2 * kH);
  auto bb = Write(b, kStart + kH, kStart + 3 * kH, 2);
  ASSERT_NE(ba, nullptr);
  ASSERT_NE(bb, nullptr);

  // Expected: union by timestamp, A wins on equal timestamps (listed first).
  std::map<std::string, std::vector<Sample>> want;
  for (const auto& [l, s] : a) {
    std::map<int64_t, double> byt;
    for (const auto& x : b.at(l)) byt[x.t] = x.v;
    for (const auto& x : s) byt[x.t] = x.v;
    auto& w = want[l.ToString()];
    for (const auto& [t, v] : byt) w.push_back({t, v});
  }
  want[L("only_b", "1").ToString()] = {{kStart + kH, 7}};

  auto r = Run({ba.get(), bb.get()});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->meta.has_value());
  EXPECT_EQ(r->meta->compaction.level, 3);
  EXPECT_EQ(r->meta->min_time, kStart);
  EXPECT_EQ(r->meta->max_time, kStart + 3 * kH);
  uint64_t n = 0;
  for (const auto& [k, w] : want) n += w.size();
  EXPECT_EQ(r->meta->stats.num_samples, n);
  auto out = Open(r->meta->ulid);
  ASSERT_NE(out, nullptr);
  auto got = testutil::ReadSamples(*out);
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(*got, want);
}

TEST_F(CompactorTest, IdenticalOverlappingBlocksCollapse) {
  SeriesMap a = Series(5, kStart, kStart + 2 * kH);
  auto b1 = Write(a, kStart, kStart + 2 * kH);
  auto b2 = Write(a, kStart, kStart + 2 * kH);
  auto r = Run({b1.get(), b2.get()});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->meta.has_value());
  EXPECT_EQ(r->meta->stats.num_samples, 5u * 480);
  auto out = Open(r->meta->ulid);
  auto got = testutil::ReadSamples(*out);
  ASSERT_TRUE(got.ok());
  ExpectSame(*got, Keyed(a));
}

TEST_F(CompactorTest, TombstonesAreApplied) {
  SeriesMap a = Series(3, kStart, kStart + 2 * kH);
  auto meta = testutil::WriteTestBlock(env_, dir_, a,
                                       {kStart, kStart + 2 * kH, 1, 120});
  ASSERT_TRUE(meta.ok());
  const std::string bdir = io::JoinPath(dir_, meta->ulid.ToString());
  // Delete the middle hour of series 0 and all of series 2.
  ASSERT_TRUE(testutil::AddTombstone(env_, bdir, L("metric", "0"),
                                     kStart + 30 * 60000, kStart + 90 * 60000)
                  .ok());
  ASSERT_TRUE(
      testutil::AddTombstone(env_, bdir, L("metric", "2"), INT64_MIN, INT64_MAX)
          .ok());
  auto b = Open(meta->ulid);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->meta().stats.num_tombstones, 2u);

  auto want = Keyed(a);
  want.erase(L("metric", "2").ToString());
  auto& s0 = want[L("metric", "0").ToString()];
  s0.erase(std::remove_if(s0.begin(), s0.end(),
                          [](const Sample& s) {
                            return s.t >= kStart + 30 * 60000 &&
                                   s.t <= kStart + 90 * 60000;
                          }),
           s0.end());

  auto r = Run({b.get()});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->meta.has_value());
  EXPECT_EQ(r->meta->stats.num_series, 2u);
  EXPECT_EQ(r->meta->stats.num_tombstones, 0u);
  auto out = Open(r->meta->ulid);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->tombstones().NumTombstones(), 0u);
  auto got = testutil::ReadSamples(*out);
  ASSERT_TRUE(got.ok());
  ExpectSame(*got, want);
}

TEST_F(CompactorTest, EverythingDeletedWritesNoBlock) {
  SeriesMap a = Series(2, kStart, kStart + 2 * kH);
  auto meta = testutil::WriteTestBlock(env_, dir_, a,
                                       {kStart, kStart + 2 * kH, 1, 120});
  ASSERT_TRUE(meta.ok());
  const std::string bdir = io::JoinPath(dir_, meta->ulid.ToString());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(testutil::AddTombstone(env_, bdir,
                                       L("metric", std::to_string(i)),
                                       INT64_MIN, INT64_MAX)
                    .ok());
  }
  auto b = Open(meta->ulid);
  auto r = Run({b.get()});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->meta.has_value());
  EXPECT_EQ(r->num_samples, 0u);
  EXPECT_EQ(DirEntries(), std::vector<std::string>{meta->ulid.ToString()});

  // The caller then marks the parent deletable.
  ASSERT_TRUE(MarkDeletable(io::PosixFileSystem(), bdir, b->meta()).ok());
  auto reread = block::ReadMetaFile(io::PosixFileSystem(), bdir);
  ASSERT_TRUE(reread.ok());
  EXPECT_TRUE(reread->compaction.deletable);
  EXPECT_FALSE(reread->compaction.failed);
  ASSERT_TRUE(MarkCompactionFailed(io::PosixFileSystem(), bdir, *reread).ok());
  reread = block::ReadMetaFile(io::PosixFileSystem(), bdir);
  ASSERT_TRUE(reread.ok());
  EXPECT_TRUE(reread->compaction.failed);
}

TEST_F(CompactorTest, SamplesAtOrAfterMaxTimeAreDropped) {
  // The block claims [start, start+1h) but holds samples up to start+2h.
  SeriesMap a = Series(1, kStart, kStart + 2 * kH);
  auto b = Write(a, kStart, kStart + kH);
  ASSERT_NE(b, nullptr);
  auto r = Run({b.get()});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->meta.has_value());
  EXPECT_EQ(r->meta->stats.num_samples, 240u);  // [start, start+1h) / 15 s
  EXPECT_EQ(r->meta->max_time, kStart + kH);
}

TEST_F(CompactorTest, NoParentsIsAnError) {
  auto r = Run({});
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
}

TEST_F(CompactorTest, UnknownEncodingIsAnError) {
  auto b = Write(Series(1, kStart, kStart + kH), kStart, kStart + kH);
  CompactOptions o;
  o.encoding = 77;
  auto r = Compact(io::PosixFileSystem(), dir_, {b.get()}, env_.codecs, o);
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_EQ(DirEntries().size(), 1u);
}

TEST(CompactBlockMetasTest, LevelSourcesParents) {
  auto id = [](int n) {
    std::array<uint8_t, 16> b{};
    b[15] = static_cast<uint8_t>(n);
    return block::Ulid::FromBytes(b);
  };
  block::BlockMeta a, b;
  a.ulid = id(10);
  a.min_time = 100;
  a.max_time = 200;
  a.compaction.level = 2;
  a.compaction.sources = {id(3), id(1)};
  b.ulid = id(11);
  b.min_time = 50;
  b.max_time = 150;
  b.compaction.level = 1;
  b.compaction.sources = {id(2), id(3)};
  block::BlockMeta m = CompactBlockMetas(id(20), {a, b});
  EXPECT_EQ(m.ulid, id(20));
  EXPECT_EQ(m.min_time, 50);
  EXPECT_EQ(m.max_time, 200);
  EXPECT_EQ(m.compaction.level, 3);
  EXPECT_EQ(m.compaction.sources,
            (std::vector<block::Ulid>{id(1), id(2), id(3)}));
  ASSERT_EQ(m.compaction.parents.size(), 2u);
  EXPECT_EQ(m.compaction.parents[0].ulid, id(10));
  EXPECT_EQ(m.compaction.parents[1].min_time, 50);
}

TEST(CleanupTmpDirsTest, RemovesOnlyTmpDirs) {
  io::FileSystem* fs = io::PosixFileSystem();
  const std::string dir = testutil::TempDir("cleanup");
  const std::string u = "01GR3Z9S7KX0Y8QF3B6D2V5N4M";
  const std::vector<std::string> tmp = {
      u + ".tmp-for-creation", "01GR3Z9S7KX0Y8QF3B6D2V5N4N.tmp-for-deletion",
      "01GR3Z9S7KX0Y8QF3B6D2V5N4P.tmp", "checkpoint.00000012.tmp",
      "chunk_snapshot.000001.0000000123.tmp"};
  const std::vector<std::string> keep = {u, "wal", "chunks_head",
                                         "notaulid.tmp-for-creation"};
  for (const auto& d : tmp) {
    ASSERT_TRUE(fs->CreateDirs(io::JoinPath(dir, d + "/chunks")).ok());
  }
  for (const auto& d : keep)
    ASSERT_TRUE(fs->CreateDirs(io::JoinPath(dir, d)).ok());
  // A file with a tmp name is not a block dir: kept.
  const std::string file = "01GR3Z9S7KX0Y8QF3B6D2V5N4Q.tmp";
  {
    auto f = fs->NewWritableFile(io::JoinPath(dir, file));
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  auto removed = CleanupTmpDirs(fs, dir);
  ASSERT_TRUE(removed.ok()) << removed.status();
  auto sorted_tmp = tmp;
  std::sort(sorted_tmp.begin(), sorted_tmp.end());
  EXPECT_EQ(*removed, sorted_tmp);
  auto left = fs->ListDir(dir);
  ASSERT_TRUE(left.ok());
  auto want = keep;
  want.push_back(file);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*left, want);
}

}  // namespace
}  // namespace tsdb::compact
