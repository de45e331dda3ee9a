#include "tsdb/headwal/startup_bench_util.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "plugins/wal/segmented/segmented_wal.h"
#include "tsdb/head/test_util.h"
#include "tsdb/labels/labels.h"

namespace tsdb::headwal::bench {

void Die(std::string_view program, const std::string& msg) {
  std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(program.size()),
               program.data(), msg.c_str());
  std::exit(1);
}

double PeakRssMiB() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
    }
  }
  return -1;
}

void FillFleet(head::Head& h, int series, int samples,
               std::string_view program) {
  std::vector<SeriesRef> refs(series, 0);
  std::vector<double> vals(series, 0);
  uint64_t rng = 88172645463325252ull;
  auto next = [&rng] {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  };
  auto app = h.Appender();
  const int64_t t0 = 1'700'000'000'000;
  for (int k = 0; k < samples; ++k) {
    const int64_t t =
        t0 + int64_t{k} * 15000 + static_cast<int64_t>(next() % 5);  // jitter
    for (int s = 0; s < series; ++s) {
      double& v = vals[s];
      if (s % 3 == 0) {
        v += static_cast<double>(next() % 1000);  // counter
      } else if (s % 3 == 1) {
        v = std::round(50 + 20 * std::sin(k / 40.0 + s) +
                       static_cast<double>(next() % 100) / 10);  // gauge
      } else {
        v = static_cast<double>(next() % 1000000) / 1000;  // noisy gauge
      }
      absl::StatusOr<SeriesRef> r;
      if (refs[s] != 0) {
        r = app->Append(refs[s], {}, t, v);
      } else {
        r = app->Append(
            0,
            labels::Labels::FromPairs(
                {{"__name__", absl::StrCat("node_metric_", s % 200)},
                 {"instance", absl::StrCat("host-", s / 200, ":9100")},
                 {"job", "node"},
                 {"cpu", absl::StrCat(s % 8)}}),
            t, v);
      }
      if (!r.ok()) Die(program, r.status().ToString());
      refs[s] = *r;
    }
    if (absl::Status st = app->Commit(); !st.ok()) Die(program, st.ToString());
  }
}

FilledDir FillDataDir(const std::string& dir, int series, int samples,
                      std::string_view program) {
  FilledDir d;
  wal::WalOptions wo;
  wo.dir = dir + "/wal";
  wo.log = [](std::string_view) {};
  auto w = plugins::OpenSegmentedWal(wo);
  if (!w.ok()) Die(program, w.status().ToString());
  d.wal = std::move(*w);
  d.log = std::make_unique<WalCommitLog>(d.wal.get());
  head::HeadOptions opts;
  opts.codecs = &head::testing::XorRegistry();
  opts.commit_log = d.log.get();
  auto opened = OpenHeadFromDir(nullptr, dir, opts, 1, nullptr);
  if (!opened.ok()) Die(program, opened.status().ToString());
  d.opened = std::move(*opened);
  const auto start = Clock::now();
  FillFleet(*d.opened.head, series, samples, program);
  const head::HeadStats st = d.opened.head->Stats();
  std::printf(
      "fill: %d series x %d samples in %.1f s; %llu chunks mapped, %llu "
      "failures\n",
      series, samples, Since(start),
      static_cast<unsigned long long>(st.chunks_mapped),
      static_cast<unsigned long long>(st.chunk_map_failures));
  return d;
}

void CloseDataDir(FilledDir& d, std::string_view program) {
  if (absl::Status s = d.opened.mapper->Close(); !s.ok()) {
    Die(program, s.ToString());
  }
  if (absl::Status s = d.wal->Close(); !s.ok()) Die(program, s.ToString());
}

}  // namespace tsdb::headwal::bench
