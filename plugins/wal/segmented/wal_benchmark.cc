// WAL benchmarks on the real file system (TEST_TMPDIR or /tmp):
//   BM_Log:    encode + Log of samples records of 500 samples, snappy on/off,
//              sync-per-Log on/off; items = samples.
//   BM_Replay: read + CRC + snappy + decode + dispatch of a WAL of 10M
//              samples over 100k series (written once, snappy on) to a
//              summing visitor, 1 and 2 workers; items = samples.
// Run: tools/bazel run -c opt //plugins/wal/segmented:wal_benchmark --
//        --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <atomic>
#include <cstdlib>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "plugins/wal/segmented/segmented_wal.h"
#include "tsdb/record/record.h"
#include "tsdb/wal/replay.h"

namespace tsdb::plugins {
namespace {

std::string TmpDir(const std::string& name) {
  const char* t = std::getenv("TEST_TMPDIR");
  return std::string(t != nullptr ? t : "/tmp") + "/" + name;
}

void RemoveAll(const std::string& dir) {
  (void)io::PosixFileSystem()->RemoveAll(dir);
}

void BM_Log(benchmark::State& state) {
  const bool snappy = state.range(0) != 0;
  const bool sync = state.range(1) != 0;
  const std::string dir = TmpDir("bm_log_wal");
  RemoveAll(dir);
  wal::WalOptions o;
  o.dir = dir;
  o.compression = snappy ? wal::Compression::kSnappy : wal::Compression::kNone;
  o.sync_on_log = sync;
  auto w = OpenSegmentedWal(o);
  if (!w.ok()) {
    state.SkipWithError(std::string(w.status().message()).c_str());
    return;
  }
  std::vector<record::RefSample> samples(500);
  std::string rec;
  int64_t t = 1700000000000;
  double v = 0;
  for (auto _ : state) {
    t += 15000;
    for (size_t i = 0; i < samples.size(); ++i) {
      v += 1.5;
      samples[i] = {i + 1, t, v};
    }
    rec.clear();
    record::EncodeSamples(samples, &rec);
    if (!(*w)->Log({rec}).ok()) state.SkipWithError("Log failed");
  }
  state.SetItemsProcessed(state.iterations() * samples.size());
  (void)(*w)->Close();
  RemoveAll(dir);
}
BENCHMARK(BM_Log)
    ->ArgNames({"snappy", "sync"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({0, 1})
    ->Args({1, 1})
    ->UseRealTime();

constexpr int kSeries = 100000;
constexpr int kSamplesPerSeries = 100;

// Writes the 10M-sample WAL once per process.
const std::string& ReplayWal() {
  static const std::string* dir = [] {
    auto* d = new std::string(TmpDir("bm_replay_wal"));
    RemoveAll(*d);
    wal::WalOptions o;
    o.dir = *d;
    o.log = [](std::string_view) {};
    auto w = OpenSegmentedWal(o);
    if (!w.ok()) std::abort();
    std::vector<record::RefSeries> series;
    std::string rec;
    for (int s = 0; s < kSeries; ++s) {
      series.push_back({static_cast<uint64_t>(s + 1),
                        labels::Labels::FromPairs(
                            {{"__name__", "metric_" + std::to_string(s % 100)},
                             {"instance", "host-" + std::to_string(s)},
                             {"job", "bench"}})});
      if (series.size() == 1000) {
        rec.clear();
        record::EncodeSeries(series, &rec);
        if (!(*w)->Log({rec}).ok()) std::abort();
        series.clear();
      }
    }
    std::vector<record::RefSample> samples;
    for (int r = 0; r < kSamplesPerSeries; ++r) {
      const int64_t t = 1700000000000 + r * int64_t{15000};
      for (int s = 0; s < kSeries; ++s) {
        samples.push_back({static_cast<uint64_t>(s + 1), t, r * 1.5 + s});
        if (samples.size() == 500) {
          rec.clear();
          record::EncodeSamples(samples, &rec);
          if (!(*w)->Log({rec}).ok()) std::abort();
          samples.clear();
        }
      }
    }
    if (!(*w)->Close().ok()) std::abort();
    return d;
  }();
  return *dir;
}

class SumVisitor final : public wal::ReplayVisitor {
 public:
  absl::Status OnSeries(const std::vector<record::RefSeries>& s) override {
    series += s.size();
    return absl::OkStatus();
  }
  absl::Status OnSamples(int, absl::Span<const record::RefSample> s) override {
    double sum = 0;
    for (const auto& x : s) sum += x.v;
    total.fetch_add(s.size(), std::memory_order_relaxed);
    benchmark::DoNotOptimize(sum);
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
    wal::ReplayOptions o;
    o.dir = dir;
    o.workers = static_cast<int>(state.range(0));
    o.log_progress = false;
    auto stats = wal::ReplayWalDir(o, &v);
    if (!stats.ok() || v.total.load() != int64_t{kSeries} * kSamplesPerSeries) {
      state.SkipWithError("replay failed");
      return;
    }
    samples += v.total.load();
  }
  state.SetItemsProcessed(samples);
}
BENCHMARK(BM_Replay)
    ->ArgName("workers")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace tsdb::plugins

BENCHMARK_MAIN();
