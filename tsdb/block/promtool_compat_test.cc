// Compatibility with the real Prometheus 2.42 promtool:
//  (a) blocks promtool creates from OpenMetrics input are read by our reader
//      with exactly the input's samples, and re-writing them with our writer
//      reproduces every file byte for byte;
//  (b) blocks we write pass `promtool tsdb analyze`, and `promtool tsdb dump`
//      prints exactly our samples;
//  (c) `promtool tsdb list` shows our meta.json figures.
// Skipped when promtool is missing, unless TSDB_REQUIRE_PROMETHEUS=1.
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "testing/prometheus/prometheus_binaries.h"
#include "tsdb/block/block.h"
#include "tsdb/block/block_test_util.h"
#include "tsdb/block/block_writer.h"
#include "tsdb/block/meta.h"
#include "tsdb/io/file_system.h"
#include "tsdb/labels/labels.h"

namespace tsdb::block {
namespace {

using testutil::Sample;
using testutil::TestSeries;

std::string Promtool() {
  std::optional<std::string> p = ::tsdb::testing::FindPromtool();
  return p.value_or("");
}

#define REQUIRE_PROMTOOL()                                            \
  do {                                                                \
    if (Promtool().empty()) {                                         \
      if (::tsdb::testing::PrometheusRequired()) {                    \
        FAIL() << "promtool not found and TSDB_REQUIRE_PROMETHEUS=1"; \
      }                                                               \
      GTEST_SKIP() << "promtool not found";                           \
    }                                                                 \
  } while (0)

std::string ReadFile(const std::string& path) {
  return io::PosixFileSystem()->ReadFile(path).value_or("<missing>");
}

// Block directories (ULID names) in `dir`.
std::vector<std::string> BlockDirs(const std::string& dir) {
  std::vector<std::string> out;
  const std::vector<std::string> names =
      io::PosixFileSystem()->ListDir(dir).value();
  for (const std::string& n : names) {
    if (n.size() == 26 && Ulid::Parse(n).ok()) out.push_back(n);
  }
  return out;
}

// Label values that exercise quoting: unicode, quotes, backslashes.
const char* const kOddValues[] = {"plain",       "ünïcødé ✓ 日本",  "quote\"d",
                                  "back\\slash", "both \\\" mixed", "a b c"};

// Values covering special floats and %g forms.
double ValueFor(int series, int k) {
  switch ((series * 7 + k) % 23) {
    case 0:
      return std::numeric_limits<double>::quiet_NaN();
    case 1:
      return std::numeric_limits<double>::infinity();
    case 2:
      return -std::numeric_limits<double>::infinity();
    case 3:
      return 1e-300 * (k + 1);
    case 4:
      return 123456789012.5 + k;
    case 5:
      return -0.1 * k;
    case 6:
      return 0.30000000000000004;
    default:
      return series * 10.0 + k * 0.25;
  }
}

// OpenMetrics escaping of a label value: backslash, quote, newline.
std::string OmEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string OmValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return absl::StrFormat("%.17g", v);
}

// ~28h of data at 60s for a handful of series (several 2h blocks).
std::vector<TestSeries> OmSeries() {
  std::vector<TestSeries> out;
  const int64_t start_s = 1675152000;  // 2023-01-31T08:00:00Z
  int idx = 0;
  for (const char* metric : {"http_requests", "temperature"}) {
    for (int v = 0; v < 6; ++v, ++idx) {
      TestSeries s;
      s.lset = labels::Labels::FromPairs({{"__name__", metric},
                                          {"odd", kOddValues[v]},
                                          {"shard", absl::StrCat(v % 2)}});
      for (int k = 0; k < 28 * 60; k += 1 + (idx % 3)) {
        s.samples.push_back({(start_s + k * 60) * 1000, ValueFor(idx, k)});
      }
      out.push_back(std::move(s));
    }
  }
  return out;
}

void ExpectSameSamples(const std::map<std::string, std::vector<Sample>>& got,
                       const std::vector<TestSeries>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (const TestSeries& s : want) {
    auto it = got.find(s.lset.ToString());
    ASSERT_NE(it, got.end()) << s.lset.ToString();
    ASSERT_EQ(it->second.size(), s.samples.size()) << s.lset.ToString();
    for (size_t i = 0; i < s.samples.size(); ++i) {
      const Sample& a = it->second[i];
      const Sample& b = s.samples[i];
      EXPECT_EQ(a.t, b.t);
      if (std::isnan(b.v)) {
        EXPECT_TRUE(std::isnan(a.v)) << s.lset.ToString() << " @" << b.t;
      } else {
        EXPECT_TRUE(testutil::SameBits(a.v, b.v))
            << s.lset.ToString() << " @" << b.t << ": " << a.v << " vs " << b.v;
      }
    }
  }
}

TEST(PromtoolCompatTest, ReadsBlocksMadeByPromtool) {
  REQUIRE_PROMTOOL();
  const std::string dir = testutil::TempDir("promtool_made");
  const std::vector<TestSeries> series = OmSeries();
  {
    std::ofstream om(dir + "/input.om");
    for (const char* metric : {"http_requests", "temperature"}) {
      om << "# TYPE " << metric << " gauge\n";
      for (const TestSeries& s : series) {
        if (s.lset.Get("__name__") != metric) continue;
        for (const Sample& x : s.samples) {
          om << metric << "{odd=\"" << OmEscape(std::string(s.lset.Get("odd")))
             << "\",shard=\"" << s.lset.Get("shard") << "\"} " << OmValue(x.v)
             << " " << x.t / 1000 << "\n";
        }
      }
    }
    om << "# EOF\n";
  }
  std::string out;
  ASSERT_EQ(testutil::Run(absl::StrCat(Promtool(),
                                       " tsdb create-blocks-from openmetrics ",
                                       dir, "/input.om ", dir, "/data"),
                          &out, true),
            0)
      << out;
  const std::vector<std::string> blocks = BlockDirs(dir + "/data");
  ASSERT_GE(blocks.size(), 12u) << out;

  testutil::Registries reg;
  for (const char* reader : {"mmap", "pread"}) {
    std::map<std::string, std::vector<Sample>> all;
    for (const std::string& ulid : blocks) {
      auto b =
          Block::Open(dir + "/data/" + ulid, reg.readers, reader, &reg.codecs);
      ASSERT_TRUE(b.ok()) << b.status();
      ASSERT_TRUE((*b)->index().Verify().ok()) << (*b)->index().Verify();
      auto got = testutil::ReadAll(**b);
      ASSERT_TRUE(got.ok()) << got.status();
      for (auto& [k, v] : *got) {
        all[k].insert(all[k].end(), v.begin(), v.end());
      }
      // Our test encoder re-encodes each of promtool's XOR chunks to the
      // same bytes (so test data elsewhere is Prometheus-exact).
      auto p = (*b)->index().Postings("", "");
      while (p->Next()) {
        TestSeries one;
        std::vector<ChunkMeta> metas;
        ASSERT_TRUE((*b)->index().Series(p->At(), &one.lset, &metas).ok());
        for (const ChunkMeta& m : metas) {
          uint8_t enc;
          std::string raw;
          ASSERT_TRUE((*b)->chunks().ReadRaw(m.ref, &enc, &raw).ok());
          auto chunk = (*b)->chunks().Chunk(m).value();
          auto it = chunk->Iterator();
          one.samples.clear();
          while (it->Next()) one.samples.push_back({it->At().t, it->At().v});
          const std::vector<SeriesChunks> re =
              testutil::Encode(reg, {one}, 1 << 30);
          ASSERT_EQ(re[0].chunks.size(), 1u);
          EXPECT_EQ(re[0].chunks[0].bytes, raw) << one.lset.ToString();
        }
      }
      // meta.json decodes and re-encodes to the same bytes.
      EXPECT_EQ(EncodeMeta((*b)->meta()),
                ReadFile(dir + "/data/" + ulid + "/meta.json"));
    }
    ExpectSameSamples(all, series);
  }
}

// Re-writes every promtool block with our writer (same ULID, same chunks):
// index, chunks, meta.json and tombstones must be byte-identical.
TEST(PromtoolCompatTest, RewritingPromtoolBlocksIsByteIdentical) {
  REQUIRE_PROMTOOL();
  const std::string dir = testutil::TempDir("promtool_rewrite");
  const std::vector<TestSeries> series = OmSeries();
  {
    std::ofstream om(dir + "/input.om");
    for (const char* metric : {"http_requests", "temperature"}) {
      om << "# TYPE " << metric << " gauge\n";
      for (const TestSeries& s : series) {
        if (s.lset.Get("__name__") != metric) continue;
        for (const Sample& x : s.samples) {
          om << metric << "{odd=\"" << OmEscape(std::string(s.lset.Get("odd")))
             << "\",shard=\"" << s.lset.Get("shard") << "\"} " << OmValue(x.v)
             << " " << x.t / 1000 << "\n";
        }
      }
    }
    om << "# EOF\n";
  }
  std::string out;
  ASSERT_EQ(testutil::Run(absl::StrCat(Promtool(),
                                       " tsdb create-blocks-from openmetrics ",
                                       dir, "/input.om ", dir, "/data"),
                          &out, true),
            0)
      << out;
  testutil::Registries reg;
  const std::vector<std::string> blocks = BlockDirs(dir + "/data");
  ASSERT_FALSE(blocks.empty());
  for (const std::string& ulid : blocks) {
    const std::string src_dir = dir + "/data/" + ulid;
    auto b = Block::Open(src_dir, reg.readers, "mmap", &reg.codecs);
    ASSERT_TRUE(b.ok()) << b.status();
    std::vector<SeriesChunks> copy;
    auto p = (*b)->index().Postings("", "");
    while (p->Next()) {
      SeriesChunks sc;
      std::vector<ChunkMeta> metas;
      ASSERT_TRUE((*b)->index().Series(p->At(), &sc.lset, &metas).ok());
      for (const ChunkMeta& m : metas) {
        ChunkData c;
        c.min_time = m.min_time;
        c.max_time = m.max_time;
        ASSERT_TRUE((*b)->chunks().ReadRaw(m.ref, &c.encoding, &c.bytes).ok());
        sc.chunks.push_back(std::move(c));
      }
      copy.push_back(std::move(sc));
    }
    VectorSeriesSource src(std::move(copy));
    BlockWriterOptions opts;
    opts.ulid = (*b)->meta().ulid;
    opts.min_time = (*b)->meta().min_time;
    opts.max_time = (*b)->meta().max_time;
    auto meta = WriteBlock(io::PosixFileSystem(), dir + "/ours", src, opts);
    ASSERT_TRUE(meta.ok()) << meta.status();
    for (const char* f :
         {"/index", "/chunks/000001", "/meta.json", "/tombstones"}) {
      EXPECT_EQ(ReadFile(dir + "/ours/" + ulid + f), ReadFile(src_dir + f))
          << ulid << f;
    }
  }
}

// Our blocks: several 2h blocks of the same series.
struct OurData {
  std::vector<TestSeries> series;
  std::vector<BlockMeta> metas;
};

OurData WriteOurBlocks(const std::string& data_dir) {
  testutil::Registries reg;
  OurData d;
  const int64_t start = 1675152000000;
  for (int i = 0; i < 40; ++i) {
    TestSeries s;
    s.lset = labels::Labels::FromPairs(
        {{"__name__", i % 3 ? "node_cpu_seconds_total" : "up"},
         {"cpu", absl::StrCat(i)},
         {"label", kOddValues[i % 6]}});
    for (int k = 0; k < 3 * 480; ++k) {  // 6h at 15s
      s.samples.push_back({start + k * 15000LL, ValueFor(i, k)});
    }
    d.series.push_back(std::move(s));
  }
  for (int blk = 0; blk < 3; ++blk) {
    const int64_t lo = start + blk * 7200000LL, hi = lo + 7200000LL;
    std::vector<TestSeries> part;
    for (const TestSeries& s : d.series) {
      TestSeries p{s.lset, {}};
      for (const Sample& x : s.samples) {
        if (x.t >= lo && x.t < hi) p.samples.push_back(x);
      }
      part.push_back(std::move(p));
    }
    VectorSeriesSource src(testutil::Encode(reg, part, 120, 7200000));
    BlockWriterOptions opts;
    opts.ulid = Ulid::New(static_cast<uint64_t>(hi));
    opts.min_time = lo;
    opts.max_time = hi;
    auto meta = WriteBlock(io::PosixFileSystem(), data_dir, src, opts);
    EXPECT_TRUE(meta.ok()) << meta.status();
    if (meta.ok()) d.metas.push_back(*meta);
  }
  // promtool's read-only DB wants a WAL directory.
  EXPECT_TRUE(io::PosixFileSystem()->CreateDirs(data_dir + "/wal").ok());
  return d;
}

TEST(PromtoolCompatTest, PromtoolAnalyzesAndDumpsOurBlocks) {
  REQUIRE_PROMTOOL();
  const std::string dir = testutil::TempDir("ours_for_promtool");
  const OurData d = WriteOurBlocks(dir);
  ASSERT_EQ(d.metas.size(), 3u);
  for (const BlockMeta& m : d.metas) {
    std::string out;
    const std::string ulid = m.ulid.ToString();
    ASSERT_EQ(testutil::Run(
                  absl::StrCat(Promtool(), " tsdb analyze ", dir, " ", ulid),
                  &out, true),
              0)
        << out;
    EXPECT_TRUE(absl::StrContains(out, "Block ID: " + ulid)) << out;
    EXPECT_TRUE(absl::StrContains(out, "Series: 40")) << out;
  }
  std::string out;
  ASSERT_EQ(testutil::Run(absl::StrCat(Promtool(), " tsdb dump ", dir), &out),
            0);
  std::map<std::string, std::vector<Sample>> got;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    // `{labels} value timestamp`: labels may contain spaces, so split from
    // the right.
    const size_t ts_at = line.rfind(' ');
    ASSERT_NE(ts_at, absl::string_view::npos) << line;
    const size_t v_at = line.rfind(' ', ts_at - 1);
    ASSERT_NE(v_at, absl::string_view::npos) << line;
    Sample s;
    ASSERT_TRUE(absl::SimpleAtoi(line.substr(ts_at + 1), &s.t)) << line;
    const std::string v(line.substr(v_at + 1, ts_at - v_at - 1));
    char* end = nullptr;
    s.v = std::strtod(v.c_str(), &end);
    ASSERT_EQ(*end, '\0') << line;
    got[std::string(line.substr(0, v_at))].push_back(s);
  }
  ExpectSameSamples(got, d.series);
}

TEST(PromtoolCompatTest, PromtoolListsOurMeta) {
  REQUIRE_PROMTOOL();
  const std::string dir = testutil::TempDir("ours_for_list");
  const OurData d = WriteOurBlocks(dir);
  std::string out;
  ASSERT_EQ(
      testutil::Run(absl::StrCat(Promtool(), " tsdb list ", dir), &out, true),
      0)
      << out;
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), d.metas.size() + 1) << out;
  for (const BlockMeta& m : d.metas) {
    bool found = false;
    for (const std::string& line : lines) {
      std::vector<std::string> f =
          absl::StrSplit(line, ' ', absl::SkipWhitespace());
      if (f.empty() || f[0] != m.ulid.ToString()) continue;
      found = true;
      ASSERT_EQ(f.size(), 8u) << line;
      EXPECT_EQ(f[1], absl::StrCat(m.min_time));
      EXPECT_EQ(f[2], absl::StrCat(m.max_time));
      EXPECT_EQ(f[3], "2h0m0s");
      EXPECT_EQ(f[4], absl::StrCat(m.stats.num_samples));
      EXPECT_EQ(f[5], absl::StrCat(m.stats.num_chunks));
      EXPECT_EQ(f[6], absl::StrCat(m.stats.num_series));
    }
    EXPECT_TRUE(found) << m.ulid.ToString() << "\n" << out;
  }
}

}  // namespace
}  // namespace tsdb::block
