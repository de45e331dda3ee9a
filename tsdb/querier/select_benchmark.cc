// Read path: querier::Select over persistent blocks and over the head,
// iterating every sample of the selected series.
//
//   tools/bazel build //tsdb/querier:select_benchmark
//   bazel-bin/tsdb/querier/select_benchmark --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
//
// Data: 100k series = 100 metric names (`m0`..`m99`) x 1000 instances
// (`i0`..`i999`), labels {__name__, env="prod", instance, job="job<inst%10>",
// region=<one of 3 by instance>}; one sample every 15 s (one scrape in five
// 1-2 ms late), a third each counters, gauges (one decimal, changing at 1 in
// 5 scrapes) and constant 1 (`up`-like); XOR chunks of 120 samples.
//   blocks/2h:  the newest 2h block (480 samples per series).
//   blocks/24h: 12 adjacent 2h blocks (5760 samples per series), queried
//               as a querier over blocks does: one Select per block, merged
//               with MergeSeriesSets.
//   head/2h:    the same 2h of samples appended to a Head (chunks of 120,
//               the last one open), read through Head::Readers.
// Blocks are written once with block::WriteBlock into
// $SELECT_BENCH_DIR (default /tmp/tsdb_select_benchmark, ~1 GB) and reused
// by later runs (a marker file says they are complete); the head is filled
// once per process. Neither is timed. Blocks are opened with the mmap chunk
// reader and read once before timing (page cache warm).
//
// Queries (arg `q`):
//   0 one:   {__name__="m1", instance="i7"}          1 series
//   1 name:  {__name__="m1"}                         1,000 series
//   2 regex: {__name__=~"m1|m2", job=~"job[0-4]"}    1,000 series
// Time per iteration = one query (Select + every sample via Next/At);
// items/s = samples/s; counters: series and samples per query.
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "plugins/chunkenc/xor/xor.h"
#include "plugins/chunkreader/mmap/mmap_chunk_reader.h"
#include "tsdb/block/block.h"
#include "tsdb/block/block_writer.h"
#include "tsdb/chunkenc/registry.h"
#include "tsdb/head/head.h"
#include "tsdb/io/file_system.h"
#include "tsdb/labels/labels.h"
#include "tsdb/labels/selector.h"
#include "tsdb/querier/select.h"
#include "tsdb/querier/series_set.h"

namespace tsdb::querier {
namespace {

constexpr int64_t kStart = 1675152000000;  // 2h-aligned
constexpr int64_t k2h = 2 * 3600 * 1000;
constexpr int kBlocks = 12;
constexpr int kMetrics = 100;
constexpr int kInstances = 1000;
constexpr int kSeries = kMetrics * kInstances;
constexpr int kSamplesPer2h = 480;
constexpr int kPerChunk = 120;
// Bump when the generated data changes, so cached blocks are rewritten.
constexpr char kDataVersion[] = "select-bench-v1";

constexpr const char* kQueries[] = {
    R"({__name__="m1", instance="i7"})",
    R"({__name__="m1"})",
    R"({__name__=~"m1|m2", job=~"job[0-4]"})",
};

void Die(const std::string& what) {
  std::fprintf(stderr, "select_benchmark: %s\n", what.c_str());
  std::abort();
}

struct Registries {
  Registries() {
    if (!chunkenc::RegisterXorCodec(codecs).ok() ||
        !plugins::RegisterMmapChunkReader(readers).ok()) {
      Die("registering plugins");
    }
  }
  chunkenc::CodecRegistry codecs;
  chunks::ChunkFileReaderRegistry readers;
};

Registries& Reg() {
  static Registries* r = new Registries();
  return *r;
}

labels::Labels SeriesLabels(int i) {
  static constexpr const char* kRegions[] = {"eu-west", "us-east", "ap-south"};
  const int metric = i / kInstances;
  const int inst = i % kInstances;
  return labels::Labels::FromPairs({
      {"__name__", absl::StrCat("m", metric)},
      {"env", "prod"},
      {"instance", absl::StrCat("i", inst)},
      {"job", absl::StrCat("job", inst % 10)},
      {"region", kRegions[inst % 3]},
  });
}

// Series numbers in label order (computed once).
const std::vector<int>& LabelOrder() {
  static const std::vector<int>* order = [] {
    std::vector<std::pair<labels::Labels, int>> ls;
    ls.reserve(kSeries);
    for (int i = 0; i < kSeries; ++i) ls.emplace_back(SeriesLabels(i), i);
    std::sort(ls.begin(), ls.end());
    auto* o = new std::vector<int>();
    o->reserve(kSeries);
    for (const auto& [l, i] : ls) o->push_back(i);
    return o;
  }();
  return *order;
}

// The samples of series `i` in 2h block `b`, deterministic.
void GenSamples(int i, int b, std::vector<chunkenc::Sample>* out) {
  out->clear();
  std::mt19937_64 rng(static_cast<uint64_t>(i) * 7919 + b);
  const int kind = i % 3;
  // Counters continue across blocks: start from a per-block base.
  double v = kind == 0   ? static_cast<double>(rng() % 1000000 + b * 100000)
             : kind == 1 ? 40.0
                         : 1.0;
  const int64_t mint = kStart + b * k2h;
  for (int k = 0; k < kSamplesPer2h; ++k) {
    if (kind == 0) {
      v += static_cast<double>(rng() % 200);
    } else if (kind == 1 && rng() % 5 == 0) {
      v = static_cast<double>(rng() % 1000) / 10.0;
    }
    int64_t t = mint + k * 15000LL;
    if (rng() % 5 == 0) t += 1 + static_cast<int64_t>(rng() % 2);
    out->push_back({t, v});
  }
}

// Streams the series of block `b` in label order, XOR-encoded.
class GenSource final : public block::SeriesSource {
 public:
  GenSource(int b, const chunkenc::ChunkCodec* codec) : b_(b), codec_(codec) {}

  bool Next(block::SeriesChunks* out) override {
    const std::vector<int>& order = LabelOrder();
    if (next_ >= order.size()) return false;
    const int i = order[next_++];
    out->lset = SeriesLabels(i);
    out->chunks.clear();
    GenSamples(i, b_, &samples_);
    for (size_t c = 0; c < samples_.size(); c += kPerChunk) {
      auto chunk = codec_->NewChunk();
      auto app = chunk->Appender();
      if (!app.ok()) Die(std::string(app.status().message()));
      const size_t end = std::min(samples_.size(), c + kPerChunk);
      for (size_t k = c; k < end; ++k) {
        (*app)->Append(samples_[k].t, samples_[k].v);
      }
      block::ChunkData d;
      d.min_time = samples_[c].t;
      d.max_time = samples_[end - 1].t;
      d.encoding = codec_->encoding();
      d.bytes = std::string(chunk->Bytes());
      out->chunks.push_back(std::move(d));
    }
    return true;
  }
  absl::Status status() const override { return absl::OkStatus(); }

 private:
  const int b_;
  const chunkenc::ChunkCodec* codec_;
  size_t next_ = 0;
  std::vector<chunkenc::Sample> samples_;
};

std::string DataDir() {
  const char* d = std::getenv("SELECT_BENCH_DIR");
  return d != nullptr ? d : "/tmp/tsdb_select_benchmark";
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Block b lives in <dir>/b<b>/<ULID>; <dir>/<version> marks the set
// complete.
std::vector<std::unique_ptr<block::Block>> OpenOrWriteBlocks() {
  io::FileSystem* fs = io::PosixFileSystem();
  const std::string dir = DataDir();
  const std::string marker = io::JoinPath(dir, kDataVersion);
  if (!Exists(marker)) {
    std::fprintf(stderr, "select_benchmark: writing %d blocks into %s\n",
                 kBlocks, dir.c_str());
    (void)fs->RemoveAll(dir);
    auto codec = Reg().codecs.Get(1);
    if (!codec.ok()) Die("no XOR codec");
    for (int b = 0; b < kBlocks; ++b) {
      const std::string bdir = io::JoinPath(dir, absl::StrCat("b", b));
      if (absl::Status s = fs->CreateDirs(bdir); !s.ok()) {
        Die(std::string(s.message()));
      }
      GenSource src(b, *codec);
      block::BlockWriterOptions o;
      o.min_time = kStart + b * k2h;
      o.max_time = kStart + (b + 1) * k2h;
      auto meta = block::WriteBlock(fs, bdir, src, o);
      if (!meta.ok()) Die(std::string(meta.status().message()));
    }
    auto f = fs->NewWritableFile(marker);
    if (!f.ok() || !(*f)->Close().ok()) Die("writing " + marker);
  }
  std::vector<std::unique_ptr<block::Block>> blocks;
  for (int b = 0; b < kBlocks; ++b) {
    const std::string bdir = io::JoinPath(dir, absl::StrCat("b", b));
    auto names = fs->ListDir(bdir);
    if (!names.ok() || names->size() != 1) Die("bad block dir " + bdir);
    auto blk =
        block::Block::Open(io::JoinPath(bdir, names->front()), Reg().readers,
                           plugins::kMmapChunkReaderName, &Reg().codecs);
    if (!blk.ok()) Die(std::string(blk.status().message()));
    blocks.push_back(*std::move(blk));
  }
  return blocks;
}

const std::vector<std::unique_ptr<block::Block>>& Blocks() {
  static auto* blocks =
      new std::vector<std::unique_ptr<block::Block>>(OpenOrWriteBlocks());
  return *blocks;
}

// The newest 2h block's samples, appended to a head.
head::Head& Head() {
  static head::Head* h = [] {
    head::HeadOptions opts;
    opts.codecs = &Reg().codecs;
    auto hd = head::Head::Open(opts);
    if (!hd.ok()) Die(std::string(hd.status().message()));
    const int b = kBlocks - 1;
    std::unique_ptr<head::HeadAppender> app = (*hd)->Appender();
    std::vector<chunkenc::Sample> samples;
    std::vector<SeriesRef> refs(kSeries, 0);
    // The head accepts samples down to maxt - chunk_range/2 only, so append
    // in 30-minute windows, every series per window (regenerating its
    // samples, cheaper than holding them all), committing every 10 series.
    constexpr int kWindows = 4;
    constexpr int kPerWindow = kSamplesPer2h / kWindows;
    for (int w = 0; w < kWindows; ++w) {
      for (int i = 0; i < kSeries; ++i) {
        GenSamples(i, b, &samples);
        const labels::Labels lset =
            refs[i] == 0 ? SeriesLabels(i) : labels::Labels();
        for (int k = w * kPerWindow; k < (w + 1) * kPerWindow; ++k) {
          auto r = app->Append(refs[i], lset, samples[k].t, samples[k].v);
          if (!r.ok()) Die(std::string(r.status().message()));
          refs[i] = *r;
        }
        if (i % 10 == 9 || i == kSeries - 1) {
          if (absl::Status s = app->Commit(); !s.ok()) {
            Die(std::string(s.message()));
          }
        }
      }
    }
    return hd->release();
  }();
  return *h;
}

struct QueryResult {
  int64_t series = 0;
  int64_t samples = 0;
  double sum = 0;
};

// Iterates every sample of every series of `set`.
QueryResult Drain(SeriesSet& set) {
  QueryResult r;
  while (set.Next()) {
    ++r.series;
    std::unique_ptr<chunkenc::SampleIterator> it = set.At().Iterator();
    while (it->Next()) {
      r.sum += it->At().v;
      ++r.samples;
    }
    if (!it->status().ok()) Die(std::string(it->status().message()));
  }
  if (!set.status().ok()) Die(std::string(set.status().message()));
  return r;
}

std::vector<labels::Matcher> Query(int q) {
  auto m = labels::ParseSelector(kQueries[q]);
  if (!m.ok()) Die(std::string(m.status().message()));
  return *std::move(m);
}

// One query over the newest `n` blocks.
QueryResult QueryBlocks(int n, const std::vector<labels::Matcher>& matchers) {
  const auto& blocks = Blocks();
  std::vector<std::unique_ptr<SeriesSet>> sets;
  for (int b = kBlocks - n; b < kBlocks; ++b) {
    SelectOptions o;
    o.mint = blocks[b]->meta().min_time;
    o.maxt = blocks[b]->meta().max_time - 1;
    auto set = Select(blocks[b]->index(), blocks[b]->chunks(), matchers, o);
    if (!set.ok()) Die(std::string(set.status().message()));
    sets.push_back(*std::move(set));
  }
  if (sets.size() == 1) return Drain(*sets.front());
  std::unique_ptr<SeriesSet> merged = MergeSeriesSets(std::move(sets));
  return Drain(*merged);
}

void Report(benchmark::State& state, const QueryResult& r) {
  state.SetItemsProcessed(state.iterations() * r.samples);
  state.counters["series"] = static_cast<double>(r.series);
  state.counters["samples"] = static_cast<double>(r.samples);
  state.SetLabel(kQueries[state.range(1)]);
}

// Args: hours (2 or 24), query.
void BM_SelectBlocks(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0)) / 2;
  const std::vector<labels::Matcher> matchers =
      Query(static_cast<int>(state.range(1)));
  QueryResult r = QueryBlocks(n, matchers);  // warm the page cache
  for (auto _ : state) {
    r = QueryBlocks(n, matchers);
    benchmark::DoNotOptimize(r.sum);
  }
  Report(state, r);
}
BENCHMARK(BM_SelectBlocks)
    ->ArgNames({"hours", "q"})
    ->ArgsProduct({{2, 24}, {0, 1, 2}})
    ->Unit(benchmark::kMicrosecond);

// Args: hours (2), query.
void BM_SelectHead(benchmark::State& state) {
  head::Head& h = Head();
  const std::vector<labels::Matcher> matchers =
      Query(static_cast<int>(state.range(1)));
  QueryResult r;
  for (auto _ : state) {
    head::HeadReaders rd = h.Readers(h.MinTime(), h.MaxTime());
    SelectOptions o;
    o.mint = h.MinTime();
    o.maxt = h.MaxTime();
    auto set = Select(*rd.index, *rd.chunks, matchers, o);
    if (!set.ok()) Die(std::string(set.status().message()));
    r = Drain(**set);
    benchmark::DoNotOptimize(r.sum);
  }
  Report(state, r);
}
BENCHMARK(BM_SelectHead)
    ->ArgNames({"hours", "q"})
    ->ArgsProduct({{2}, {0, 1, 2}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tsdb::querier

BENCHMARK_MAIN();
