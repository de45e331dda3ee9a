// Block write and read throughput.
//
//   tools/bazel run -c opt //tsdb/block:block_benchmark --
//       --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//
// Data: N series (arg) x 2h at 15 s = 480 samples per series (one scrape in
// five 1-2 ms late), XOR-encoded in 4 chunks of 120 (encoded once,
// outside the timings), node-exporter-like labels. A third each: counters
// (integer increments of 0-199 per scrape), gauges (one-decimal values that
// change at 1 in 5 scrapes) and `up` (constant 1).
//   BM_WriteBlock: WriteBlock (chunks, index, meta, tombstones, fsyncs,
//                  rename); bytes/s = block bytes written per second.
//   BM_ReadBlock/<reader>: open the block and decode every sample through
//                  IndexReader + ChunkReader; items/s = samples/s.
// Counters: bytes_per_sample = block size on disk / samples.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "tsdb/block/block.h"
#include "tsdb/block/block_test_util.h"
#include "tsdb/block/block_writer.h"
#include "tsdb/io/file_system.h"

namespace tsdb::block {
namespace {

constexpr int64_t kStart = 1675152000000;  // 2h-aligned
constexpr int kSamples = 480;

testutil::Registries& Reg() {
  static testutil::Registries* r = new testutil::Registries();
  return *r;
}

// Encoded series per size, built once.
const std::vector<SeriesChunks>& Data(int n) {
  static auto* cache = new std::map<int, std::vector<SeriesChunks>>();
  auto it = cache->find(n);
  if (it != cache->end()) return it->second;
  std::mt19937_64 rng(42);
  std::vector<testutil::TestSeries> series;
  series.reserve(n);
  for (int i = 0; i < n; ++i) {
    testutil::TestSeries s;
    const int kind = i % 3;
    static constexpr const char* kNames[] = {
        "node_network_receive_packets_total", "node_memory_usage_percent",
        "up"};
    s.lset = labels::Labels::FromPairs(
        {{"__name__", kNames[kind]},
         {"instance", absl::StrCat("host-", i / 100, ".example.com:9100")},
         {"job", "node"},
         {"device", absl::StrCat("eth", i % 100)}});
    double v = kind == 0   ? static_cast<double>(rng() % 1000000)
               : kind == 1 ? 40.0
                           : 1.0;
    s.samples.reserve(kSamples);
    for (int k = 0; k < kSamples; ++k) {
      if (kind == 0) {
        v += static_cast<double>(rng() % 200);  // packets per 15 s
      } else if (kind == 1 && rng() % 5 == 0) {
        v = static_cast<double>(rng() % 1000) / 10.0;  // one decimal
      }
      // Scrape jitter: one scrape in five lands 1-2 ms late.
      const int64_t jitter = rng() % 5 == 0 ? 1 + rng() % 2 : 0;
      s.samples.push_back({kStart + k * 15000LL + jitter, v});
    }
    series.push_back(std::move(s));
  }
  std::vector<SeriesChunks> enc = testutil::Encode(Reg(), series, 120, 7200000);
  std::sort(enc.begin(), enc.end(),
            [](const SeriesChunks& a, const SeriesChunks& b) {
              return a.lset < b.lset;
            });
  return (*cache)[n] = std::move(enc);
}

// Copies series out of a shared vector (the writer consumes its input).
class CopySource final : public SeriesSource {
 public:
  explicit CopySource(const std::vector<SeriesChunks>& s) : s_(s) {}
  bool Next(SeriesChunks* out) override {
    if (i_ >= s_.size()) return false;
    *out = s_[i_++];
    return true;
  }
  absl::Status status() const override { return absl::OkStatus(); }

 private:
  const std::vector<SeriesChunks>& s_;
  size_t i_ = 0;
};

std::string BenchDir() {
  const char* t = std::getenv("TEST_TMPDIR");
  return io::JoinPath(t ? t : "/tmp", "tsdb_block_benchmark");
}

uint64_t DirSize(const std::string& block) {
  auto b = Block::Open(block, Reg().readers, "pread", &Reg().codecs);
  return b.ok() ? (*b)->Size() : 0;
}

void BM_WriteBlock(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::vector<SeriesChunks>& data = Data(n);
  const std::string dir = BenchDir() + "/write";
  uint64_t bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    (void)io::PosixFileSystem()->RemoveAll(dir);
    (void)io::PosixFileSystem()->CreateDirs(dir);
    CopySource src(data);
    state.ResumeTiming();
    auto meta = WriteBlock(io::PosixFileSystem(), dir, src, {});
    if (!meta.ok()) {
      state.SkipWithError(std::string(meta.status().message()).c_str());
      return;
    }
    state.PauseTiming();
    bytes = DirSize(io::JoinPath(dir, meta->ulid.ToString()));
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes * state.iterations()));
  state.counters["bytes_per_sample"] =
      static_cast<double>(bytes) / (static_cast<double>(n) * kSamples);
  state.counters["block_MB"] = static_cast<double>(bytes) / 1e6;
  (void)io::PosixFileSystem()->RemoveAll(dir);
}

// One block per size, written on first use.
std::string ReadBlockDir(int n) {
  static auto* dirs = new std::map<int, std::string>();
  auto it = dirs->find(n);
  if (it != dirs->end()) return it->second;
  const std::string dir = BenchDir() + absl::StrCat("/read", n);
  (void)io::PosixFileSystem()->RemoveAll(dir);
  (void)io::PosixFileSystem()->CreateDirs(dir);
  CopySource src(Data(n));
  auto meta = WriteBlock(io::PosixFileSystem(), dir, src, {});
  if (!meta.ok()) std::abort();
  return (*dirs)[n] = io::JoinPath(dir, meta->ulid.ToString());
}

void ReadBlock(benchmark::State& state, const char* reader) {
  const int n = static_cast<int>(state.range(0));
  const std::string dir = ReadBlockDir(n);
  int64_t samples = 0;
  std::vector<int64_t> ts(256);
  std::vector<double> vs(256);
  for (auto _ : state) {
    auto b = Block::Open(dir, Reg().readers, reader, &Reg().codecs);
    if (!b.ok()) {
      state.SkipWithError(std::string(b.status().message()).c_str());
      return;
    }
    auto p = (*b)->index().Postings("", "");
    labels::Labels lset;
    std::vector<ChunkMeta> metas;
    double sum = 0;
    while (p->Next()) {
      if (!(*b)->index().Series(p->At(), &lset, &metas).ok()) std::abort();
      for (const ChunkMeta& m : metas) {
        auto c = (*b)->chunks().Chunk(m);
        if (!c.ok()) std::abort();
        auto it = (*c)->Iterator();
        size_t got;
        while ((got = it->NextBatch(ts.data(), vs.data(), ts.size())) > 0) {
          samples += static_cast<int64_t>(got);
          sum += vs[0];
        }
      }
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(samples);
  state.counters["bytes_per_sample"] =
      static_cast<double>(DirSize(dir)) / (static_cast<double>(n) * kSamples);
}

void BM_ReadBlockMmap(benchmark::State& state) { ReadBlock(state, "mmap"); }
void BM_ReadBlockPread(benchmark::State& state) { ReadBlock(state, "pread"); }

BENCHMARK(BM_WriteBlock)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK(BM_ReadBlockMmap)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK(BM_ReadBlockPread)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace
}  // namespace tsdb::block

BENCHMARK_MAIN();
