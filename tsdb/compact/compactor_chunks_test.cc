// Chunk-level compaction: which chunks are copied byte for byte from the
// parents and which are re-encoded (overlaps, tombstones, range trimming).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tsdb/block/block.h"
#include "tsdb/block/block_writer.h"
#include "tsdb/compact/compact_test_util.h"
#include "tsdb/compact/compactor.h"
#include "tsdb/io/file_system.h"

namespace tsdb::compact {
namespace {

using testutil::Sample;
using testutil::SeriesMap;

constexpr int64_t kH = 3600 * 1000;
constexpr int64_t kStart = 1675152000000;  // 2h-aligned

labels::Labels L(const std::string& i) {
  return labels::Labels::FromPairs({{"__name__", "metric"}, {"i", i}});
}

// Samples every `step` ms over [mint, maxt) with values from `base`.
std::vector<Sample> Samples(int64_t mint, int64_t maxt, int64_t step,
                            double base) {
  std::vector<Sample> out;
  for (int64_t t = mint; t < maxt; t += step) {
    out.push_back({t, base + static_cast<double>(t - mint) / 1000.0});
  }
  return out;
}

// One stored chunk: its meta and its raw record.
struct RawChunk {
  int64_t min_time = 0;
  int64_t max_time = 0;
  uint8_t encoding = 0;
  std::string bytes;
  int num_samples = 0;
};

// Every series' chunks as stored, keyed by Labels::ToString().
std::map<std::string, std::vector<RawChunk>> RawChunks(const block::Block& b) {
  std::map<std::string, std::vector<RawChunk>> out;
  auto p = b.index().Postings("", "");
  while (p->Next()) {
    labels::Labels l;
    std::vector<ChunkMeta> metas;
    EXPECT_TRUE(b.index().Series(p->At(), &l, &metas).ok());
    auto& v = out[l.ToString()];
    for (const ChunkMeta& m : metas) {
      RawChunk c;
      c.min_time = m.min_time;
      c.max_time = m.max_time;
      EXPECT_TRUE(b.chunks().ReadRaw(m.ref, &c.encoding, &c.bytes).ok());
      auto chunk = b.chunks().Chunk(m);
      EXPECT_TRUE(chunk.ok()) << chunk.status();
      if (chunk.ok()) c.num_samples = (*chunk)->NumSamples();
      v.push_back(std::move(c));
    }
  }
  EXPECT_TRUE(p->status().ok());
  return out;
}

void ExpectSameChunk(const RawChunk& got, const RawChunk& want,
                     const std::string& what) {
  EXPECT_EQ(got.min_time, want.min_time) << what;
  EXPECT_EQ(got.max_time, want.max_time) << what;
  EXPECT_EQ(got.encoding, want.encoding) << what;
  EXPECT_TRUE(got.bytes == want.bytes) << what << ": bytes differ";
}

class CompactorChunksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testutil::TempDir(
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }

  std::string Write(const SeriesMap& m, int64_t mint, int64_t maxt,
                    int per_chunk) {
    testutil::TestBlockOptions o;
    o.min_time = mint;
    o.max_time = maxt;
    o.per_chunk = per_chunk;
    auto meta = testutil::WriteTestBlock(env_, dir_, m, o);
    EXPECT_TRUE(meta.ok()) << meta.status();
    return meta.ok() ? io::JoinPath(dir_, meta->ulid.ToString()) : "";
  }

  std::unique_ptr<block::Block> Open(const std::string& dir) {
    auto b = testutil::OpenBlock(env_, dir);
    EXPECT_TRUE(b.ok()) << b.status();
    return b.ok() ? *std::move(b) : nullptr;
  }

  // Compacts and opens the result.
  std::unique_ptr<block::Block> Run(
      const std::vector<const block::Block*>& parents, CompactResult* res) {
    auto r = Compact(io::PosixFileSystem(), dir_, parents, env_.codecs,
                     CompactOptions{});
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || !r->meta) return nullptr;
    *res = *r;
    return Open(io::JoinPath(dir_, r->meta->ulid.ToString()));
  }

  testutil::Env env_;
  std::string dir_;
};

TEST_F(CompactorChunksTest, AdjacentBlocksAreCopiedByteForByte) {
  // Chunks of 50 samples: re-encoding at 120 would change the boundaries.
  std::vector<std::unique_ptr<block::Block>> blocks;
  std::vector<const block::Block*> parents;
  size_t want_chunks = 0;
  for (int b = 0; b < 3; ++b) {
    const int64_t mint = kStart + b * 2 * kH;
    SeriesMap m;
    for (int i = 0; i < 4; ++i) {
      // Series 3 only in the last block; irregular values.
      if (i == 3 && b < 2) continue;
      m[L(std::to_string(i))] =
          Samples(mint, mint + 2 * kH, 15000, 0.1 * i + b);
    }
    blocks.push_back(Open(Write(m, mint, mint + 2 * kH, 50)));
    ASSERT_NE(blocks.back(), nullptr);
    parents.push_back(blocks.back().get());
    want_chunks += m.size() * 10;  // 480 samples / 50 -> 10 chunks
  }
  CompactResult r;
  auto out = Run(parents, &r);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(r.chunks_reencoded, 0u);
  EXPECT_EQ(r.chunks_copied, want_chunks);
  EXPECT_EQ(r.meta->stats.num_chunks, want_chunks);
  EXPECT_EQ(r.num_samples, (3u * 3 + 1) * 480);
  EXPECT_EQ(r.meta->stats.num_samples, r.num_samples);

  auto got = RawChunks(*out);
  std::map<std::string, std::vector<RawChunk>> want;
  for (const auto& b : blocks) {
    for (auto& [k, v] : RawChunks(*b)) {
      want[k].insert(want[k].end(), v.begin(), v.end());
    }
  }
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [k, w] : want) {
    const auto& g = got[k];
    ASSERT_EQ(g.size(), w.size()) << k;
    for (size_t i = 0; i < w.size(); ++i) {
      ExpectSameChunk(g[i], w[i], absl::StrCat(k, " chunk ", i));
    }
  }
}

TEST_F(CompactorChunksTest, TombstonesReencodeOnlyTouchedChunks) {
  // 480 samples in chunks of 100: [0,100) [100,200) [200,300) [300,400)
  // [400,480) (sample indexes; one sample every 15 s).
  SeriesMap m;
  m[L("0")] = Samples(kStart, kStart + 2 * kH, 15000, 3);
  m[L("1")] = Samples(kStart, kStart + 2 * kH, 15000, 7);
  const std::string dir = Write(m, kStart, kStart + 2 * kH, 100);
  auto ts = [](int i) { return kStart + i * 15000; };
  // Series 0: delete samples 150..160 (inside chunk 1) and 200..299
  // (exactly chunk 2: dropped whole).
  ASSERT_TRUE(testutil::AddTombstone(env_, dir, L("0"), ts(150), ts(160)).ok());
  ASSERT_TRUE(testutil::AddTombstone(env_, dir, L("0"), ts(200), ts(299)).ok());
  auto parent = Open(dir);
  ASSERT_NE(parent, nullptr);
  const auto before = RawChunks(*parent);

  CompactResult r;
  auto out = Run({parent.get()}, &r);
  ASSERT_NE(out, nullptr);
  // Series 1: 5 copied. Series 0: chunks 0, 3, 4 copied, chunk 1
  // re-encoded alone, chunk 2 dropped.
  EXPECT_EQ(r.chunks_copied, 8u);
  EXPECT_EQ(r.chunks_reencoded, 1u);
  EXPECT_EQ(r.num_samples, 480u + 480 - 11 - 100);

  auto got = RawChunks(*out);
  const auto& s0 = got[L("0").ToString()];
  const auto& w0 = before.at(L("0").ToString());
  ASSERT_EQ(s0.size(), 4u);
  ExpectSameChunk(s0[0], w0[0], "chunk 0");
  EXPECT_EQ(s0[1].min_time, ts(100));
  EXPECT_EQ(s0[1].max_time, ts(199));
  EXPECT_EQ(s0[1].num_samples, 89);
  EXPECT_FALSE(s0[1].bytes == w0[1].bytes);
  ExpectSameChunk(s0[2], w0[3], "chunk 3");
  ExpectSameChunk(s0[3], w0[4], "chunk 4");
  const auto& s1 = got[L("1").ToString()];
  const auto& w1 = before.at(L("1").ToString());
  ASSERT_EQ(s1.size(), w1.size());
  for (size_t i = 0; i < w1.size(); ++i) {
    ExpectSameChunk(s1[i], w1[i], absl::StrCat("series 1 chunk ", i));
  }
  // And the samples are right.
  auto samples = testutil::ReadSamples(*out);
  ASSERT_TRUE(samples.ok());
  const auto& got0 = samples->at(L("0").ToString());
  ASSERT_EQ(got0.size(), 480u - 11 - 100);
  for (const Sample& s : got0) {
    EXPECT_FALSE(s.t >= ts(150) && s.t <= ts(160)) << s.t;
    EXPECT_FALSE(s.t >= ts(200) && s.t <= ts(299)) << s.t;
  }
}

TEST_F(CompactorChunksTest, OnlyTheOverlappingRunIsReencoded) {
  // A: [0h, 2h) every 15 s in chunks of 60 (15 min each).
  // B: [1h30, 3h) every 10 s in chunks of 90 (15 min each).
  // A's chunks before 1h30 and B's chunks after 2h are copied; the run in
  // [1h30, 2h) is merged (A wins on equal timestamps) and split at 120.
  SeriesMap a, b;
  a[L("0")] = Samples(kStart, kStart + 2 * kH, 15000, 0);
  b[L("0")] = Samples(kStart + 90 * 60000, kStart + 3 * kH, 10000, 1000);
  auto pa = Open(Write(a, kStart, kStart + 2 * kH, 60));
  auto pb = Open(Write(b, kStart + 90 * 60000, kStart + 3 * kH, 90));
  ASSERT_NE(pa, nullptr);
  ASSERT_NE(pb, nullptr);
  const auto wa = RawChunks(*pa).at(L("0").ToString());
  const auto wb = RawChunks(*pb).at(L("0").ToString());
  ASSERT_EQ(wa.size(), 8u);
  ASSERT_EQ(wb.size(), 6u);

  CompactResult r;
  auto out = Run({pa.get(), pb.get()}, &r);
  ASSERT_NE(out, nullptr);
  // Overlap [1h30, 2h): A chunks 6, 7 (120 samples) + B chunks 0, 1 (180
  // samples; 60 timestamps shared with A) -> 240 samples -> 2 chunks.
  EXPECT_EQ(r.chunks_copied, 6u + 4u);
  EXPECT_EQ(r.chunks_reencoded, 2u);
  const auto got = RawChunks(*out).at(L("0").ToString());
  ASSERT_EQ(got.size(), 12u);
  for (int i = 0; i < 6; ++i) {
    ExpectSameChunk(got[i], wa[i], absl::StrCat("A chunk ", i));
  }
  EXPECT_EQ(got[6].num_samples, 120);
  EXPECT_EQ(got[7].num_samples, 120);
  EXPECT_EQ(got[6].min_time, kStart + 90 * 60000);
  EXPECT_EQ(got[7].max_time, kStart + 2 * kH - 10000);
  for (int i = 0; i < 4; ++i) {
    ExpectSameChunk(got[8 + i], wb[2 + i], absl::StrCat("B chunk ", 2 + i));
  }
  // Samples: A's where both have a timestamp.
  auto samples = testutil::ReadSamples(*out);
  ASSERT_TRUE(samples.ok());
  std::map<int64_t, double> want;
  for (const Sample& s : b[L("0")]) want[s.t] = s.v;
  for (const Sample& s : a[L("0")]) want[s.t] = s.v;
  const auto& g = samples->at(L("0").ToString());
  ASSERT_EQ(g.size(), want.size());
  size_t i = 0;
  for (const auto& [t, v] : want) {
    EXPECT_EQ(g[i].t, t);
    EXPECT_EQ(g[i].v, v) << "t=" << t;
    ++i;
  }
}

TEST_F(CompactorChunksTest, ChunkStraddlingMaxTimeIsTrimmed) {
  // The block claims [0, 1h) but its 2nd chunk (of 100) runs past 1h.
  SeriesMap m;
  m[L("0")] = Samples(kStart, kStart + 2 * kH, 15000, 0);
  auto p = Open(Write(m, kStart, kStart + kH, 200));
  ASSERT_NE(p, nullptr);
  CompactResult r;
  auto out = Run({p.get()}, &r);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(r.chunks_copied, 1u);     // samples 0..199
  EXPECT_EQ(r.chunks_reencoded, 1u);  // samples 200..239 of 200..399
  EXPECT_EQ(r.num_samples, 240u);
  const auto got = RawChunks(*out).at(L("0").ToString());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].num_samples, 40);
  EXPECT_EQ(got[1].max_time, kStart + kH - 15000);
}

TEST_F(CompactorChunksTest, RangeIsTheUnionOfTheParents) {
  // A claims [0, 1h) but holds samples up to 1h30 (every 15 s); B is
  // [1h, 2h) every 10 s. As Prometheus, both are read over the union
  // [0, 2h): A's samples past its own maxTime stay and merge with B's (A
  // wins on equal timestamps).
  SeriesMap a, b;
  a[L("0")] = Samples(kStart, kStart + 90 * 60000, 15000, 0);
  b[L("0")] = Samples(kStart + kH, kStart + 2 * kH, 10000, 1000);
  auto pa = Open(Write(a, kStart, kStart + kH, 120));
  auto pb = Open(Write(b, kStart + kH, kStart + 2 * kH, 120));
  ASSERT_NE(pa, nullptr);
  ASSERT_NE(pb, nullptr);
  CompactResult r;
  auto out = Run({pa.get(), pb.get()}, &r);
  ASSERT_NE(out, nullptr);
  std::map<int64_t, double> want;
  for (const Sample& s : b[L("0")]) want[s.t] = s.v;
  for (const Sample& s : a[L("0")]) want[s.t] = s.v;
  EXPECT_EQ(r.num_samples, want.size());
  auto samples = testutil::ReadSamples(*out);
  ASSERT_TRUE(samples.ok());
  const auto& g = samples->at(L("0").ToString());
  ASSERT_EQ(g.size(), want.size());
  size_t i = 0;
  for (const auto& [t, v] : want) {
    EXPECT_EQ(g[i].t, t);
    EXPECT_EQ(g[i].v, v) << "t=" << t;
    ++i;
  }
  // Chunks of 120 samples: A [0, 30m) [30m, 1h) [1h, 1h30), B [1h, 1h20)
  // [1h20, 1h40) [1h40, 2h). A's first two and B's last are copied; A's
  // third and B's first two overlap and are merged.
  EXPECT_EQ(r.chunks_copied, 3u);
}

TEST_F(CompactorChunksTest, OverlappingChunksWithinOneBlockAreMerged) {
  // Hand-made block: one series, chunks [0, 10] (value 1) and [5, 15]
  // (value 2) overlapping; the first chunk wins on shared timestamps.
  auto codec = env_.codecs.Get(1);
  ASSERT_TRUE(codec.ok());
  auto chunk = [&](int64_t from, int64_t to, double v) {
    auto c = (*codec)->NewChunk();
    auto app = c->Appender();
    EXPECT_TRUE(app.ok());
    for (int64_t t = from; t <= to; ++t) (*app)->Append(kStart + t, v);
    block::ChunkData d;
    d.min_time = kStart + from;
    d.max_time = kStart + to;
    d.encoding = 1;
    d.bytes = std::string(c->Bytes());
    return d;
  };
  std::vector<block::SeriesChunks> series(1);
  series[0].lset = L("0");
  series[0].chunks = {chunk(0, 10, 1), chunk(5, 15, 2)};
  block::VectorSeriesSource src(std::move(series));
  block::BlockWriterOptions wo;
  wo.min_time = kStart;
  wo.max_time = kStart + kH;
  auto meta = block::WriteBlock(io::PosixFileSystem(), dir_, src, wo);
  ASSERT_TRUE(meta.ok()) << meta.status();
  auto p = Open(io::JoinPath(dir_, meta->ulid.ToString()));
  ASSERT_NE(p, nullptr);

  CompactResult r;
  auto out = Run({p.get()}, &r);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(r.chunks_copied, 0u);
  EXPECT_EQ(r.chunks_reencoded, 1u);
  EXPECT_EQ(r.num_samples, 16u);
  auto samples = testutil::ReadSamples(*out);
  ASSERT_TRUE(samples.ok());
  const auto& g = samples->at(L("0").ToString());
  ASSERT_EQ(g.size(), 16u);
  for (int64_t t = 0; t <= 15; ++t) {
    EXPECT_EQ(g[t].t, kStart + t);
    EXPECT_EQ(g[t].v, t <= 10 ? 1.0 : 2.0) << t;
  }
}

TEST_F(CompactorChunksTest, CorruptChunkIsAnErrorNamingTheBlock) {
  SeriesMap m;
  m[L("0")] = Samples(kStart, kStart + kH, 15000, 0);
  const std::string dir = Write(m, kStart, kStart + kH, 120);
  // Flip a byte inside the first chunk's data (after the 8-byte segment
  // header, the length varint and the encoding byte).
  {
    const std::string seg = io::JoinPath(dir, "chunks/000001");
    FILE* f = std::fopen(seg.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fseek(f, 20, SEEK_SET);
    const int c = std::fgetc(f);
    std::fseek(f, 20, SEEK_SET);
    std::fputc(c ^ 0xff, f);
    std::fclose(f);
  }
  auto p = Open(dir);
  ASSERT_NE(p, nullptr);
  auto r = Compact(io::PosixFileSystem(), dir_, {p.get()}, env_.codecs,
                   CompactOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(dir), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("metric"), std::string::npos)
      << r.status();
}

}  // namespace
}  // namespace tsdb::compact
