// Compaction of 3 adjacent 2h blocks into one 6h block.
//
//   tools/bazel run -c opt //tsdb/compact:compactor_benchmark --
//       --benchmark_filter='BM_Compact3x2h/10000/pread:0'
//       --benchmark_repetitions=3
//
// Data: N series (arg), 3 blocks x 2h at 15 s = 480 samples per series per
// block, XOR chunks of 120, node-exporter-like labels; a third each counters
// (integer increments), gauges (one-decimal values changing at 1 in 5
// scrapes) and `up` (constant 1). The parent blocks are generated once per
// process (streamed, not held in memory) and are outside the timing; the
// timing covers opening the 3 blocks (mmap) and Compact() including fsyncs
// and the rename.
// Second arg `pread`: the parents' chunk reader (0 = mmap, 1 = pread).
// Counters: samples/s (items), out_MB (new block size), peak_rss_MB
// (getrusage ru_maxrss after the run, i.e. the process peak; run one size
// per process for a clean figure), rss_before_MB (ru_maxrss before the
// first compaction, i.e. after generating the inputs), end_anon_MB /
// end_file_MB (RssAnon / RssFile right after Compact returns, parents
// still open: heap vs mapped file pages).
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "tsdb/block/block.h"
#include "tsdb/block/block_writer.h"
#include "tsdb/compact/compact_test_util.h"
#include "tsdb/compact/compactor.h"
#include "tsdb/io/file_system.h"

namespace tsdb::compact {
namespace {

constexpr int64_t kStart = 1675152000000;  // 2h-aligned
constexpr int64_t k2h = 2 * 3600 * 1000;
constexpr int kSamples = 480;

testutil::Env& Env() {
  static testutil::Env* e = new testutil::Env();
  return *e;
}

// RssAnon / RssFile of /proc/self/status in MB (current, not peak).
std::pair<double, double> RssAnonFileMb() {
  double anon = 0, file = 0;
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return {0, 0};
  char line[256];
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    long kb = 0;
    if (std::sscanf(line, "RssAnon: %ld", &kb) == 1) anon = kb / 1024.0;
    if (std::sscanf(line, "RssFile: %ld", &kb) == 1) file = kb / 1024.0;
  }
  std::fclose(f);
  return {anon, file};
}

double MaxRssMb() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // KiB on Linux
}

// Generates the series of one block on the fly, in label order.
class GenSource final : public block::SeriesSource {
 public:
  GenSource(int n, int64_t mint, const chunkenc::ChunkCodec* codec)
      : n_(n), mint_(mint), codec_(codec) {
    // Label order: sort the index numbers by their label sets once.
    for (int i = 0; i < n; ++i) order_.push_back(i);
    std::vector<std::pair<labels::Labels, int>> ls;
    for (int i = 0; i < n; ++i) ls.emplace_back(Labels(i), i);
    std::sort(ls.begin(), ls.end());
    for (int i = 0; i < n; ++i) order_[i] = ls[i].second;
  }

  static labels::Labels Labels(int i) {
    static constexpr const char* kNames[] = {
        "node_network_receive_packets_total", "node_memory_usage_percent",
        "up"};
    return labels::Labels::FromPairs(
        {{"__name__", kNames[i % 3]},
         {"instance", absl::StrCat("host-", i / 100, ".example.com:9100")},
         {"job", "node"},
         {"device", absl::StrCat("eth", i % 100)}});
  }

  bool Next(block::SeriesChunks* out) override {
    if (next_ >= order_.size()) return false;
    const int i = order_[next_++];
    std::mt19937_64 rng(static_cast<uint64_t>(i) * 7919 + mint_);
    const int kind = i % 3;
    double v = kind == 0   ? static_cast<double>(rng() % 1000000)
               : kind == 1 ? 40.0
                           : 1.0;
    out->lset = Labels(i);
    out->chunks.clear();
    for (int c = 0; c < kSamples / 120; ++c) {
      auto chunk = codec_->NewChunk();
      auto app = chunk->Appender();
      if (!app.ok()) std::abort();
      block::ChunkData d;
      for (int k = c * 120; k < (c + 1) * 120; ++k) {
        if (kind == 0) {
          v += static_cast<double>(rng() % 200);
        } else if (kind == 1 && rng() % 5 == 0) {
          v = static_cast<double>(rng() % 1000) / 10.0;
        }
        const int64_t t = mint_ + k * 15000LL;
        (*app)->Append(t, v);
        if (k == c * 120) d.min_time = t;
        d.max_time = t;
      }
      d.encoding = codec_->encoding();
      d.bytes = std::string(chunk->Bytes());
      out->chunks.push_back(std::move(d));
    }
    return true;
  }
  absl::Status status() const override { return absl::OkStatus(); }

 private:
  int n_;
  int64_t mint_;
  const chunkenc::ChunkCodec* codec_;
  std::vector<int> order_;
  size_t next_ = 0;
};

std::string BenchDir() {
  const char* t = std::getenv("TEST_TMPDIR");
  return io::JoinPath(t ? t : "/tmp", "tsdb_compactor_benchmark");
}

// The 3 parent block dirs for `n` series, written on first use.
std::vector<std::string> Parents(int n) {
  static auto* cache = new std::map<int, std::vector<std::string>>();
  auto it = cache->find(n);
  if (it != cache->end()) return it->second;
  const std::string dir = absl::StrCat(BenchDir(), "/in_", n);
  (void)io::PosixFileSystem()->RemoveAll(dir);
  (void)io::PosixFileSystem()->CreateDirs(dir);
  auto codec = Env().codecs.Get(1);
  if (!codec.ok()) std::abort();
  std::vector<std::string> dirs;
  for (int b = 0; b < 3; ++b) {
    GenSource src(n, kStart + b * k2h, *codec);
    block::BlockWriterOptions o;
    o.min_time = kStart + b * k2h;
    o.max_time = kStart + (b + 1) * k2h;
    auto meta = block::WriteBlock(io::PosixFileSystem(), dir, src, o);
    if (!meta.ok()) std::abort();
    dirs.push_back(io::JoinPath(dir, meta->ulid.ToString()));
  }
  return (*cache)[n] = dirs;
}

// Args: series, chunk reader of the parents (0 = mmap, 1 = pread).
void BM_Compact3x2h(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::string reader = state.range(1) == 0 ? "mmap" : "pread";
  const std::vector<std::string> in = Parents(n);
  const double rss_before = MaxRssMb();
  const std::string out_dir = absl::StrCat(BenchDir(), "/out_", n);
  double out_mb = 0;
  double anon_mb = 0;
  double file_mb = 0;
  for (auto _ : state) {
    state.PauseTiming();
    (void)io::PosixFileSystem()->RemoveAll(out_dir);
    (void)io::PosixFileSystem()->CreateDirs(out_dir);
    state.ResumeTiming();
    std::vector<std::unique_ptr<block::Block>> blocks;
    std::vector<const block::Block*> parents;
    for (const std::string& d : in) {
      auto b = testutil::OpenBlock(Env(), d, reader);
      if (!b.ok()) {
        state.SkipWithError(std::string(b.status().message()).c_str());
        return;
      }
      parents.push_back(b->get());
      blocks.push_back(*std::move(b));
    }
    auto r = Compact(io::PosixFileSystem(), out_dir, parents, Env().codecs,
                     CompactOptions{});
    if (!r.ok() || !r->meta) {
      state.SkipWithError(r.ok() ? "empty result"
                                 : std::string(r.status().message()).c_str());
      return;
    }
    state.PauseTiming();
    std::tie(anon_mb, file_mb) = RssAnonFileMb();
    auto ob = testutil::OpenBlock(
        Env(), io::JoinPath(out_dir, r->meta->ulid.ToString()));
    out_mb = ob.ok() ? static_cast<double>((*ob)->Size()) / 1e6 : 0;
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * int64_t{3} * n * kSamples);
  state.counters["out_MB"] = out_mb;
  state.counters["rss_before_MB"] = rss_before;
  state.counters["peak_rss_MB"] = MaxRssMb();
  state.counters["end_anon_MB"] = anon_mb;
  state.counters["end_file_MB"] = file_mb;
  (void)io::PosixFileSystem()->RemoveAll(out_dir);
}
BENCHMARK(BM_Compact3x2h)
    ->ArgNames({"", "pread"})
    ->ArgsProduct({{1000, 10000, 100000}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

}  // namespace
}  // namespace tsdb::compact

BENCHMARK_MAIN();
