// ReplayWalDir throughput: the start-up replay of a 10M-sample / 100k-series
// snappy WAL (as //tsdb/headwal:startup_benchmark writes it: commits of 10k
// samples, the first ones with their series) into a visitor that only sums
// the values, i.e. read + CRC + snappy + decode + ref mapping + dispatch.
//   BM_Replay/parallel:0|1/workers:1|2/range_kib:N   items = samples; real
//   time and the process's CPU time (all threads).
//   BM_ReplayIntoHead/workers:1|2   the same WAL into a fresh head
//   (headwal::ReplayIntoHead, default options): what start-up costs.
// Run: tools/bazel run -c opt //tsdb/wal:replay_benchmark --
//        --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
// The WAL is written once to $TEST_TMPDIR (or /tmp)/bm_wal_replay.
#include <atomic>
#include <cstdlib>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "plugins/chunkenc/xor/xor.h"
#include "plugins/wal/segmented/segmented_wal.h"
#include "tsdb/head/head.h"
#include "tsdb/headwal/headwal.h"
#include "tsdb/record/record.h"
#include "tsdb/wal/replay.h"

namespace tsdb::wal {
namespace {

constexpr int kSeries = 100000;
constexpr int kSamplesPerSeries = 100;
constexpr int kCommit = 10000;

const std::string& ReplayWal() {
  static const std::string* dir = [] {
    const char* t = std::getenv("TEST_TMPDIR");
    auto* d = new std::string(std::string(t != nullptr ? t : "/tmp") +
                              "/bm_wal_replay");
    (void)io::PosixFileSystem()->RemoveAll(*d);
    WalOptions o;
    o.dir = *d;
    o.log = [](std::string_view) {};
    auto w = plugins::OpenSegmentedWal(o);
    if (!w.ok()) std::abort();
    std::vector<record::RefSeries> series;
    std::vector<record::RefSample> samples;
    std::string srec, rec;
    for (int i = 0; i < kSamplesPerSeries; ++i) {
      for (int s = 0; s < kSeries; ++s) {
        if (i == 0) {
          series.push_back(
              {static_cast<uint64_t>(s + 1),
               labels::Labels::FromPairs(
                   {{"__name__", "metric_" + std::to_string(s % 100)},
                    {"instance", "host-" + std::to_string(s / 100) + ":9100"},
                    {"job", "node"}})});
        }
        samples.push_back({static_cast<uint64_t>(s + 1),
                           1700000000000 + i * int64_t{15000},
                           static_cast<double>((i * 31 + s) % 1000) * 0.5});
        if (samples.size() == kCommit) {
          srec.clear();
          rec.clear();
          record::EncodeSamples(samples, &rec);
          if (!series.empty()) {
            record::EncodeSeries(series, &srec);
            if (!(*w)->Log({srec, rec}).ok()) std::abort();
          } else if (!(*w)->Log({rec}).ok()) {
            std::abort();
          }
          series.clear();
          samples.clear();
        }
      }
    }
    if (!(*w)->Close().ok()) std::abort();
    return d;
  }();
  return *dir;
}

class SumVisitor final : public ReplayVisitor {
 public:
  absl::Status OnSeries(const std::vector<record::RefSeries>& s) override {
    series += static_cast<int64_t>(s.size());
    return absl::OkStatus();
  }
  absl::Status OnSamples(int, absl::Span<const record::RefSample> s) override {
    double sum = 0;
    for (const record::RefSample& x : s) sum += x.v;
    benchmark::DoNotOptimize(sum);
    total.fetch_add(static_cast<int64_t>(s.size()), std::memory_order_relaxed);
    return absl::OkStatus();
  }
  absl::Status OnTombstones(const std::vector<record::Stone>&) override {
    return absl::OkStatus();
  }
  absl::Status OnDuplicateSeries(int, uint64_t) override {
    return absl::OkStatus();
  }
  int64_t series = 0;
  std::atomic<int64_t> total{0};
};

void BM_Replay(benchmark::State& state) {
  const std::string& dir = ReplayWal();
  int64_t samples = 0;
  for (auto _ : state) {
    SumVisitor v;
    ReplayOptions o;
    o.dir = dir;
    o.parallel_decode = state.range(0) != 0;
    o.workers = static_cast<int>(state.range(1));
    o.range_bytes = static_cast<uint64_t>(state.range(2)) << 10;
    o.log_progress = false;
    auto st = ReplayWalDir(o, &v);
    if (!st.ok() || v.total.load() != int64_t{kSeries} * kSamplesPerSeries) {
      state.SkipWithError("replay failed");
      return;
    }
    samples += v.total.load();
  }
  state.SetItemsProcessed(samples);
}
BENCHMARK(BM_Replay)
    ->ArgNames({"parallel", "workers", "range_kib"})
    ->Args({0, 1, 0})
    ->Args({1, 1, 128})
    ->Args({1, 1, 1024})
    ->Args({0, 2, 0})
    ->Args({1, 2, 128})
    ->Args({1, 2, 1024})
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

const chunkenc::CodecRegistry& Codecs() {
  static const chunkenc::CodecRegistry* r = [] {
    auto* reg = new chunkenc::CodecRegistry();
    if (!chunkenc::RegisterXorCodec(*reg).ok()) std::abort();
    return reg;
  }();
  return *r;
}

void BM_ReplayIntoHead(benchmark::State& state) {
  const std::string& dir = ReplayWal();
  int64_t samples = 0;
  for (auto _ : state) {
    state.PauseTiming();
    head::HeadOptions opts;
    opts.codecs = &Codecs();
    auto h = head::Head::Open(opts);
    if (!h.ok()) std::abort();
    state.ResumeTiming();
    auto r = headwal::ReplayIntoHead(h->get(), nullptr, dir,
                                     static_cast<int>(state.range(0)),
                                     [](std::string_view) {});
    if (!r.ok() || r->samples != int64_t{kSeries} * kSamplesPerSeries) {
      state.SkipWithError("replay failed");
      return;
    }
    samples += r->samples;
    state.PauseTiming();
    h->reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(samples);
}
BENCHMARK(BM_ReplayIntoHead)
    ->ArgNames({"workers"})
    ->Arg(1)
    ->Arg(2)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tsdb::wal

BENCHMARK_MAIN();
