// DB benchmarks (Google Benchmark). Run:
//   tools/bazel run -c opt //tsdb/db:db_benchmark --
//     --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
//  - BM_DBAppend/<wal>: scrape-like batches (one sample for each of 1000
//    series out of 100k, then Commit) through DB::Appender by ref, with the
//    segmented WAL (snappy, Prometheus's default) or none; items_per_second
//    = samples/s including WAL encoding and writing (no fsync per commit,
//    as Prometheus).
//  - BM_DBHeadCompaction: persists one 2h range of 10k series x 480
//    samples from the head into a block (WriteRange copying head chunks),
//    truncates the head and checkpoints the WAL; items_per_second =
//    samples/s.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "tsdb/db/db.h"
#include "tsdb/db/db_test_util.h"

namespace tsdb::db {
namespace {

std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(base != nullptr ? base : "/tmp", "/dbbench_",
                                 name, "_", getpid());
  std::filesystem::remove_all(dir);
  return dir;
}

labels::Labels SeriesLabels(int i) {
  return labels::Labels::FromPairs(
      {{"__name__", absl::StrCat("metric_", i % 100)},
       {"instance", absl::StrCat("host-", i / 100, ":9100")},
       {"job", "node"}});
}

void BM_DBAppend(benchmark::State& state) {
  const bool wal = state.range(0) == 1;
  constexpr int kSeries = 100000;
  constexpr int kBatch = 1000;
  const std::string dir = TempDir("append");
  Options o = testing::QuietOptions();
  o.wal = wal ? "segmented" : "none";
  auto db = DB::Open(dir, o, &testing::TestRegistry());
  if (!db.ok()) {
    state.SkipWithError(std::string(db.status().message()).c_str());
    return;
  }
  std::vector<labels::Labels> lsets;
  lsets.reserve(kSeries);
  for (int i = 0; i < kSeries; ++i) lsets.push_back(SeriesLabels(i));
  std::vector<SeriesRef> refs(kSeries, 0);
  auto app = (*db)->Appender();
  // Create every series first (not measured).
  for (int i = 0; i < kSeries; ++i) {
    refs[i] = *app->Append(0, lsets[i], 0, 0);
    if (i % kBatch == kBatch - 1) (void)app->Commit();
  }
  (void)app->Commit();
  int64_t t = 15000;
  int next = 0;
  int64_t samples = 0;
  for (auto _ : state) {
    for (int j = 0; j < kBatch; ++j) {
      auto r = app->Append(refs[next], lsets[next], t, static_cast<double>(j));
      benchmark::DoNotOptimize(r);
      if (++next == kSeries) {
        next = 0;
        t += 15000;
      }
    }
    if (!app->Commit().ok()) state.SkipWithError("commit failed");
    samples += kBatch;
  }
  state.SetItemsProcessed(samples);
  (void)(*db)->Close();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_DBAppend)->Arg(1)->Arg(0)->ArgName("wal")->UseRealTime();

void BM_DBHeadCompaction(benchmark::State& state) {
  constexpr int kSeries = 10000;
  constexpr int64_t kStep = 15000;
  constexpr int64_t kRange = 2 * kMillisPerHour;
  int64_t samples = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string dir = TempDir("headcompact");
    Options o = testing::QuietOptions();
    auto db = DB::Open(dir, o, &testing::TestRegistry());
    if (!db.ok()) {
      state.SkipWithError(std::string(db.status().message()).c_str());
      return;
    }
    auto app = (*db)->Appender();
    std::vector<SeriesRef> refs(kSeries, 0);
    // 3h10m: compactable (span > 3h), the first 2h get persisted.
    for (int64_t t = 0; t < kRange * 3 / 2 + 10 * 60 * 1000; t += kStep) {
      for (int i = 0; i < kSeries; ++i) {
        refs[i] = *app->Append(refs[i], SeriesLabels(i), t, t * 0.5 + i);
      }
      (void)app->Commit();
    }
    state.ResumeTiming();
    if (!(*db)->Compact().ok()) state.SkipWithError("compaction failed");
    state.PauseTiming();
    samples += kSeries * (kRange / kStep);
    (void)(*db)->Close();
    db->reset();
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(samples);
}
BENCHMARK(BM_DBHeadCompaction)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace tsdb::db

BENCHMARK_MAIN();
