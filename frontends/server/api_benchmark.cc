// Cost of the API handlers and /metrics on a head of 100k series
// (__name__ m0..m99 x instance 0..999, job j0..j9; one sample each):
//
//   tools/bazel run //frontends:server_api_benchmark
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "frontends/builtin_plugins.h"
#include "frontends/server/api.h"
#include "frontends/server/metrics.h"
#include "tsdb/db/db.h"
#include "tsdb/labels/labels.h"

namespace tsdb::server {
namespace {

struct Fixture {
  Fixture() {
    if (!frontends::RegisterBuiltinPlugins(registry).ok()) std::abort();
    dir = std::filesystem::temp_directory_path() /
          absl::StrCat("api_bench_", ::getpid());
    std::filesystem::remove_all(dir);
    db::Options opts;
    opts.background = false;
    opts.wal = "none";
    opts.log = [](std::string_view, std::string_view) {};
    db = *db::DB::Open(dir.string(), opts, &registry);
    std::unique_ptr<db::Appender> app = db->Appender();
    for (int m = 0; m < 100; ++m) {
      for (int i = 0; i < 1000; ++i) {
        const labels::Labels lset = labels::Labels::FromPairs(
            {{"__name__", absl::StrCat("m", m)},
             {"instance", absl::StrCat("host-", i, ".example.org:9100")},
             {"job", absl::StrCat("j", i % 10)}});
        if (!app->Append(0, lset, 1700000000000, i).ok()) std::abort();
      }
    }
    if (!app->Commit().ok()) std::abort();
  }
  ~Fixture() {
    (void)db->Close();
    std::filesystem::remove_all(dir);
  }
  Registry registry;
  std::filesystem::path dir;
  std::unique_ptr<db::DB> db;
};

Fixture& F() {
  static Fixture* f = new Fixture();  // never destroyed: lives to exit
  return *f;
}

Request Params(std::vector<std::pair<std::string, std::string>> p) {
  Request r;
  r.method = "GET";
  r.params = std::move(p);
  return r;
}

void Run(benchmark::State& state, const std::function<Response()>& fn) {
  size_t bytes = 0;
  for (auto _ : state) {
    Response r = fn();
    if (r.status != 200) state.SkipWithError(r.body.c_str());
    bytes = r.body.size();
    benchmark::DoNotOptimize(r);
  }
  state.counters["body_bytes"] = static_cast<double>(bytes);
}

void BM_SeriesAll(benchmark::State& state) {
  db::DB* db = F().db.get();
  const Request req = Params({{"match[]", "{__name__=~\".+\"}"}});
  Run(state, [&] { return HandleSeries(db, req); });
  state.SetItemsProcessed(state.iterations() * 100000);
}
BENCHMARK(BM_SeriesAll)->Unit(benchmark::kMillisecond);

void BM_SeriesOneMetric(benchmark::State& state) {
  db::DB* db = F().db.get();
  const Request req = Params({{"match[]", "m42"}});
  Run(state, [&] { return HandleSeries(db, req); });
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_SeriesOneMetric)->Unit(benchmark::kMicrosecond);

void BM_LabelValuesInstance(benchmark::State& state) {
  db::DB* db = F().db.get();
  const Request req = Params({});
  Run(state, [&] { return HandleLabelValues(db, "instance", req); });
}
BENCHMARK(BM_LabelValuesInstance)->Unit(benchmark::kMicrosecond);

void BM_LabelsMatch(benchmark::State& state) {
  db::DB* db = F().db.get();
  const Request req = Params({{"match[]", "{job=\"j3\"}"}});
  Run(state, [&] { return HandleLabels(db, req); });
}
BENCHMARK(BM_LabelsMatch)->Unit(benchmark::kMillisecond);

void BM_StatusTsdb(benchmark::State& state) {
  db::DB* db = F().db.get();
  const Request req = Params({});
  Run(state, [&] { return HandleStatusTsdb(db, req); });
}
BENCHMARK(BM_StatusTsdb)->Unit(benchmark::kMillisecond);

void BM_MetricsRender(benchmark::State& state) {
  db::DB* db = F().db.get();
  ServerMetrics m;
  for (int i = 0; i < 20; ++i) m.ObserveHttp(absl::StrCat("/h", i), 200, 0.1);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string s = m.Render(db);
    bytes = s.size();
    benchmark::DoNotOptimize(s);
  }
  state.counters["body_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_MetricsRender)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tsdb::server

BENCHMARK_MAIN();
