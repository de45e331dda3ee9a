// Compatibility with the real Prometheus 2.42 (testing/golden/chunks_head,
// see regen.sh there):
//  - we read the chunks_head Prometheus wrote: every record's CRC is valid,
//    every chunk decodes with the XOR codec, and every sample decoded is in
//    `promtool tsdb dump`'s output under one consistent label set per series;
//  - Prometheus reads the chunks_head we write: the same records re-written
//    by ChunkDiskMapper plus one chunk of samples that exist nowhere else
//    (not in the WAL), and promtool's dump shows exactly the golden samples
//    plus those.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "plugins/chunkenc/xor/xor.h"
#include "testing/prometheus/prometheus_binaries.h"
#include "tsdb/base/go_format.h"
#include "tsdb/chunkenc/registry.h"
#include "tsdb/chunks/head_chunks.h"
#include "tsdb/io/file_system.h"

namespace tsdb::chunks {
namespace {

std::string Runfile(const std::string& rel) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* ws = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr || ws == nullptr) return rel;
  return absl::StrCat(srcdir, "/", ws, "/", rel);
}

std::string TmpDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return io::JoinPath(tmp != nullptr ? tmp : "/tmp", name);
}

// Copies golden data/<sub> into `dst` (the scan may repair the copy).
void CopyGolden(const std::string& sub, const std::string& dst) {
  io::FileSystem* fs = io::PosixFileSystem();
  const std::string src = Runfile("testing/golden/chunks_head/data/" + sub);
  ASSERT_TRUE(fs->RemoveAll(dst).ok());
  ASSERT_TRUE(fs->CreateDirs(dst).ok());
  auto names = fs->ListDir(src);
  ASSERT_TRUE(names.ok()) << names.status();
  for (const std::string& n : *names) {
    auto bytes = fs->ReadFile(io::JoinPath(src, n));
    ASSERT_TRUE(bytes.ok());
    auto f = fs->NewWritableFile(io::JoinPath(dst, n));
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(*bytes).ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
}

// promtool dump lines of `gz` (gzip'ed) or of a data dir.
std::vector<std::string> Lines(const std::string& out) {
  std::vector<std::string> lines;
  for (absl::string_view l : absl::StrSplit(out, '\n')) {
    if (!l.empty()) lines.emplace_back(l);
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::vector<std::string> GoldenDump() {
  auto dump = testing::RunCommand(
      {"/bin/gzip", "-dc", Runfile("testing/golden/chunks_head/dump.txt.gz")});
  EXPECT_TRUE(dump.ok()) << dump.status();
  EXPECT_EQ(dump->exit_code, 0) << dump->err;
  return Lines(dump->out);
}

struct GoldenRecord {
  MappedChunkInfo info;
  std::string data;
};

struct Golden {
  std::vector<GoldenRecord> records;
  // Label sets (as promtool prints them) that hold every sample of the
  // series' chunks.
  std::map<uint64_t, std::set<std::string>> series_labels;
  size_t samples = 0;
  HeadChunkScanResult result;
};

// Scans a copy of the golden chunks_head and checks every chunk against
// promtool's dump.
void LoadGolden(const chunkenc::ChunkCodec* xor_codec, Golden* g) {
  // "<t> <value>" -> label sets having that sample.
  std::map<std::string, std::set<std::string>> by_sample;
  for (const std::string& line : GoldenDump()) {
    const size_t close = line.rfind('}');
    ASSERT_NE(close, std::string::npos) << line;
    std::vector<std::string> vt = absl::StrSplit(line.substr(close + 2), ' ');
    ASSERT_EQ(vt.size(), 2u) << line;
    by_sample[vt[1] + " " + vt[0]].insert(line.substr(0, close + 1));
  }
  ASSERT_FALSE(by_sample.empty());

  const std::string dir = TmpDir("golden_chunks_head");
  CopyGolden("chunks_head", dir);
  auto m = ChunkDiskMapper::Open(io::PosixFileSystem(), dir, {});
  ASSERT_TRUE(m.ok()) << m.status();
  auto res = (*m)->IterateAllChunks([&](const MappedChunkInfo& c) {
    HeadChunkRecord rec;
    absl::Status s = (*m)->ReadChunk(c.ref, &rec);  // checks the CRC again
    if (!s.ok()) return s;
    EXPECT_EQ(c.encoding, 1);
    EXPECT_EQ(ChunkDiskMapperRefFile(c.ref), 1u);
    auto chunk = xor_codec->FromBytes(rec.data);
    if (!chunk.ok()) return chunk.status();
    EXPECT_EQ((*chunk)->NumSamples(), c.num_samples);
    auto it = (*chunk)->Iterator();
    int n = 0;
    int64_t first = 0, last = 0;
    bool have_cand = g->series_labels.count(c.series_ref) > 0;
    std::set<std::string> cand;
    if (have_cand) cand = g->series_labels[c.series_ref];
    while (it->Next()) {
      const chunkenc::Sample smp = it->At();
      if (n == 0) first = smp.t;
      last = smp.t;
      ++n;
      ++g->samples;
      auto found =
          by_sample.find(absl::StrCat(smp.t, " ", FormatGoFloat(smp.v)));
      if (found == by_sample.end()) {
        ADD_FAILURE() << "sample " << smp.t << " " << smp.v << " of series "
                      << c.series_ref << " not in promtool's dump";
        continue;
      }
      if (!have_cand) {
        cand = found->second;
        have_cand = true;
      } else {
        std::set<std::string> both;
        for (const std::string& l : cand) {
          if (found->second.count(l) > 0) both.insert(l);
        }
        cand = std::move(both);
      }
    }
    EXPECT_TRUE(it->status().ok());
    EXPECT_EQ(n, c.num_samples);
    EXPECT_EQ(first, c.min_time);
    EXPECT_EQ(last, c.max_time);
    EXPECT_FALSE(cand.empty())
        << "no label set in the dump holds all samples of series "
        << c.series_ref;
    g->series_labels[c.series_ref] = cand;
    g->records.push_back({c, rec.data});
    return absl::OkStatus();
  });
  ASSERT_TRUE(res.ok()) << res.status();
  g->result = *res;
  // A clean scan changes nothing (the 128 KiB zero tail stays).
  EXPECT_EQ(*io::PosixFileSystem()->FileSize(io::JoinPath(dir, "000001")),
            131072u);
}

class HeadChunksGoldenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(chunkenc::RegisterXorCodec(codecs_).ok());
    xor_ = *codecs_.Get(1);
  }
  chunkenc::CodecRegistry codecs_;
  const chunkenc::ChunkCodec* xor_ = nullptr;
};

TEST_F(HeadChunksGoldenTest, ReadsWhatPrometheusWrote) {
  Golden g;
  LoadGolden(xor_, &g);
  std::printf("golden: %llu chunks, %zu samples, %zu series\n",
              static_cast<unsigned long long>(g.result.chunks), g.samples,
              g.series_labels.size());
  EXPECT_FALSE(g.result.corruption) << g.result.corruption_status;
  EXPECT_GT(g.result.chunks, 20u);
  EXPECT_GT(g.samples, 2000u);
  EXPECT_EQ(g.result.files, 1u);
}

TEST_F(HeadChunksGoldenTest, PrometheusReadsWhatWeWrote) {
  TSDB_REQUIRE_PROMTOOL(promtool);
  Golden g;
  LoadGolden(xor_, &g);
  ASSERT_FALSE(g.records.empty());

  // A series whose labels are known for sure, and its first chunk.
  uint64_t target = 0;
  for (const auto& [series, cand] : g.series_labels) {
    if (cand.size() == 1) {
      target = series;
      break;
    }
  }
  ASSERT_NE(target, 0u);
  int64_t first_mint = 0;
  for (const GoldenRecord& r : g.records) {
    if (r.info.series_ref == target) {
      first_mint = r.info.min_time;
      break;
    }
  }
  // Ten samples before anything Prometheus saw: only our file has them.
  std::unique_ptr<chunkenc::Chunk> extra = xor_->NewChunk();
  auto app = extra->Appender();
  ASSERT_TRUE(app.ok());
  std::vector<std::string> want = GoldenDump();
  const std::string lset = *g.series_labels[target].begin();
  for (int i = 0; i < 10; ++i) {
    const int64_t t = first_mint - 100000 + i * 1000;
    const double v = 12345.5 + i;
    (*app)->Append(t, v);
    want.push_back(absl::StrCat(lset, " ", FormatGoFloat(v), " ", t));
  }
  std::sort(want.begin(), want.end());

  // data/: the golden WAL and a chunks_head written by us.
  const std::string data = TmpDir("ours");
  CopyGolden("wal", io::JoinPath(data, "wal"));
  {
    auto m = ChunkDiskMapper::Open(io::PosixFileSystem(),
                                   io::JoinPath(data, "chunks_head"), {});
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE((*m)->WriteChunk(target, first_mint - 100000,
                                 first_mint - 100000 + 9000, 1, extra->Bytes())
                    .ok());
    for (const GoldenRecord& r : g.records) {
      ASSERT_TRUE((*m)->WriteChunk(r.info.series_ref, r.info.min_time,
                                   r.info.max_time, r.info.encoding, r.data)
                      .ok());
    }
    ASSERT_TRUE((*m)->Close().ok());
  }
  const std::string ours = io::JoinPath(data, "chunks_head/000001");
  const uint64_t size = *io::PosixFileSystem()->FileSize(ours);

  auto dump = testing::RunCommand({promtool, "tsdb", "dump", data});
  ASSERT_TRUE(dump.ok()) << dump.status();
  ASSERT_EQ(dump->exit_code, 0) << dump->err;
  const std::vector<std::string> got = Lines(dump->out);
  EXPECT_EQ(got.size(), want.size());
  EXPECT_TRUE(got == want) << "promtool's dump differs";
  // Prometheus deletes chunks_head files it finds corrupt; ours stays.
  EXPECT_EQ(*io::PosixFileSystem()->FileSize(ours), size);
}

}  // namespace
}  // namespace tsdb::chunks
