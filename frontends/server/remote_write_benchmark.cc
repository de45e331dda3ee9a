// CPU per sample of the remote-write path (RemoteWriter::Handle: snappy,
// protobuf walk, ref cache, head append, WAL with snappy) on the shape of
// ../shared/bench's `large` workload: 100k series of ~6 labels, requests
// of 2000 series with one sample each, every series in the same request
// slice every round. One thread; the WAL is written to a temp dir.
// interleaved_refs:1 creates the series as concurrent senders may (see
// Fixture::Encode).
//
//   tools/bazel run //frontends:remote_write_benchmark --
//   --benchmark_repetitions=5
//
// An iteration is one scrape round (50 requests, 100k samples); the
// process CPU time per iteration / 100k is the CPU per sample. Round 0
// (series creation) is done before timing.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "frontends/builtin_plugins.h"
#include "frontends/prompb/remote.pb.h"
#include "frontends/server/remote_write.h"
#include "tsdb/db/db.h"

namespace tsdb::server {
namespace {

constexpr int kSeries = 100000;
constexpr int kSlice = 2000;
constexpr int64_t kStart = 1700000000000;
constexpr int64_t kInterval = 15000;

// A node-exporter-like label set for series `s`.
std::vector<std::pair<std::string, std::string>> LabelsOf(int s) {
  const int metric = s % 400;
  std::vector<std::pair<std::string, std::string>> l = {
      {"__name__", absl::StrCat("node_metric_family_", metric, "_total")},
      {"instance", absl::StrCat("host-", s / 400, ".prod.example.org:9100")},
      {"job", "node"},
  };
  if (metric % 3 == 0) l.push_back({"mode", absl::StrCat("m", s % 7)});
  if (metric % 2 == 0) l.push_back({"device", absl::StrCat("sd", s % 5)});
  std::sort(l.begin(), l.end());
  return l;
}

struct Fixture {
  explicit Fixture(bool interleave) : interleave(interleave) {
    if (!frontends::RegisterBuiltinPlugins(registry).ok()) std::abort();
    dir = std::filesystem::temp_directory_path() /
          absl::StrCat("rw_bench_", ::getpid());
    std::filesystem::remove_all(dir);
    db::Options opts;
    opts.background = false;
    opts.log = [](std::string_view, std::string_view) {};
    db = *db::DB::Open(dir.string(), opts, &registry);
    writer = std::make_unique<RemoteWriter>([this] { return db->Appender(); },
                                            RemoteWriteOptions{});
    for (int s = 0; s < kSeries; ++s) labels.push_back(LabelsOf(s));
    Round();  // creates the series
  }
  ~Fixture() {
    writer.reset();
    (void)db->Close();
    std::filesystem::remove_all(dir);
  }

  // The requests of the next round, snappy-compressed. With `interleave`,
  // round 0 creates the series in the order a receiver of 4 concurrent
  // senders may: consecutive refs alternate between 4 slices, so a
  // slice's refs are not consecutive. Else a slice's series get
  // consecutive refs.
  std::vector<Request> Encode() {
    std::vector<Request> out;
    const int64_t t = kStart + round * kInterval;
    std::vector<int> order;
    for (int s = 0; s < kSeries; ++s) order.push_back(s);
    if (round == 0 && interleave) {
      order.clear();
      for (int group = 0; group < kSeries; group += 4 * kSlice) {
        for (int i = 0; i < kSlice; ++i) {
          for (int k = 0; k < 4; ++k) {
            const int s = group + k * kSlice + i;
            if (s < kSeries) order.push_back(s);
          }
        }
      }
    }
    for (int first = 0; first < kSeries; first += kSlice) {
      prometheus::WriteRequest wr;
      for (int j = first; j < first + kSlice && j < kSeries; ++j) {
        const int s = order[j];
        prometheus::TimeSeries* ts = wr.add_timeseries();
        for (const auto& [n, v] : labels[s]) {
          prometheus::Label* l = ts->add_labels();
          l->set_name(n);
          l->set_value(v);
        }
        prometheus::Sample* smp = ts->add_samples();
        smp->set_timestamp(t);
        // Counters of mixed speed, some constant.
        smp->set_value(s % 3 == 0 ? 1.0
                                  : static_cast<double>(round * (s % 97)));
      }
      Request r;
      r.method = "POST";
      r.path = "/api/v1/write";
      r.body = SnappyEncode(wr.SerializeAsString());
      out.push_back(std::move(r));
    }
    ++round;
    return out;
  }

  // Sends one round; returns false on any refusal.
  bool Send(const std::vector<Request>& reqs) {
    for (const Request& r : reqs) {
      WriteOutcome outcome;
      if (writer->Handle(r, &outcome).status != 204) return false;
    }
    return true;
  }
  bool Round() { return Send(Encode()); }

  Registry registry;
  std::filesystem::path dir;
  std::unique_ptr<db::DB> db;
  std::unique_ptr<RemoteWriter> writer;
  std::vector<std::vector<std::pair<std::string, std::string>>> labels;
  const bool interleave;
  int64_t round = 0;
};

Fixture& F(bool interleave) {
  // Never destroyed: they live to exit.
  static Fixture* runs = new Fixture(false);
  static Fixture* interleaved = new Fixture(true);
  return interleave ? *interleaved : *runs;
}

void BM_RemoteWriteRound(benchmark::State& state) {
  Fixture& f = F(state.range(0) != 0);
  int64_t samples = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::vector<Request> reqs = f.Encode();
    state.ResumeTiming();
    if (!f.Send(reqs)) {
      state.SkipWithError("a request was refused");
      return;
    }
    samples += kSeries;
  }
  state.SetItemsProcessed(samples);
}
BENCHMARK(BM_RemoteWriteRound)
    ->ArgNames({"interleaved_refs"})
    ->Arg(0)
    ->Arg(1)
    ->Iterations(24)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tsdb::server

BENCHMARK_MAIN();
