// Start-up from a chunk snapshot (memory snapshot on shutdown) vs the same
// directory without using it (m-mapped chunks + the whole WAL).
//
//   tools/bazel build -c opt //tsdb/headwal:snapshot_startup_benchmark &&
//   bazel-bin/tsdb/headwal/snapshot_startup_benchmark [--series=100000]
//       [--samples=240] [--dir=/tmp/snapshot_startup_bench] [--reps=5]
//       [--workers=2] [--reuse]
//
// 1. (child process) Fills a head opened with OpenHeadFromDir (chunk mapper
//    + snappy segmented WAL): `series` series x `samples` scrapes at 15 s
//    (240 x 100k = 24M samples), node_exporter-like label sets and values,
//    one commit per scrape; at shutdown writes a chunk snapshot
//    (WriteChunkSnapshot), then closes the mapper and the WAL.
// 2. `reps` times each, a fresh child process starts from the directory:
//      snapshot: OpenHeadFromDir(use_chunk_snapshot = true): scan
//                chunks_head, restore the snapshot, replay the (empty) WAL
//                after it;
//      wal:      OpenHeadFromDir(use_chunk_snapshot = false): scan
//                chunks_head, replay the whole WAL.
//    Neither writes anything that changes the next run's input. Prints each
//    run and the medians (wall time of OpenHeadFromDir, peak RSS).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "plugins/wal/segmented/segmented_wal.h"
#include "tsdb/head/head.h"
#include "tsdb/head/test_util.h"
#include "tsdb/headwal/headwal.h"
#include "tsdb/headwal/startup_bench_util.h"

namespace tsdb::headwal {
namespace {

using bench::Clock;
using bench::PeakRssMiB;
using bench::Since;

[[noreturn]] void Die(const std::string& msg) {
  bench::Die("snapshot_startup_benchmark", msg);
}

void Fill(const std::string& dir, int series, int samples) {
  bench::FilledDir d =
      bench::FillDataDir(dir, series, samples, "snapshot_startup_benchmark");
  const auto snap_start = Clock::now();
  auto snap =
      WriteChunkSnapshot(*d.opened.head, nullptr, dir, d.wal.get(), nullptr,
                         plugins::OpenSegmentedWal, wal::Compression::kSnappy,
                         [](std::string_view) {});
  if (!snap.ok()) Die(snap.status().ToString());
  std::printf("snapshot: %lld series, %lld open chunks, %.1f MiB in %.2f s\n",
              static_cast<long long>(snap->series),
              static_cast<long long>(snap->open_chunks),
              static_cast<double>(snap->bytes) / (1 << 20), Since(snap_start));
  bench::CloseDataDir(d, "snapshot_startup_benchmark");
}

// Runs in a child; writes "<seconds> <peak RSS MiB>" to `out_fd`.
void Restart(const std::string& dir, bool snapshot, int workers, int out_fd) {
  head::HeadOptions opts;
  opts.codecs = &head::testing::XorRegistry();
  const auto start = Clock::now();
  auto o = OpenHeadFromDir(
      nullptr, dir, opts, workers, [](std::string_view) {}, INT64_MIN, {},
      nullptr, snapshot);
  if (!o.ok()) Die(o.status().ToString());
  const double secs = Since(start);
  const StartupResult& r = o->startup;
  if (snapshot && !r.snapshot.loaded) Die("snapshot not loaded");
  const head::HeadStats st = o->head->Stats();
  std::printf(
      "%-8s: %.3f s (chunks_head %.3f s, snapshot %.3f s (read %.3f s), WAL "
      "%.3f s: %lld "
      "samples), peak RSS %.0f MiB, %llu series, %llu chunks\n",
      snapshot ? "snapshot" : "wal", secs, r.load_seconds, r.snapshot.seconds,
      r.snapshot.read_seconds, r.replay.seconds,
      static_cast<long long>(r.replay.samples), PeakRssMiB(),
      static_cast<unsigned long long>(st.num_series),
      static_cast<unsigned long long>(st.num_chunks));
  std::fflush(stdout);
  const std::string line = absl::StrCat(secs, " ", PeakRssMiB(), "\n");
  if (write(out_fd, line.data(), line.size()) < 0) Die("write");
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

template <typename Fn>
void InChild(Fn fn) {
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid < 0) Die("fork failed");
  if (pid == 0) {
    fn();
    std::fflush(stdout);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Die("child failed");
}

}  // namespace
}  // namespace tsdb::headwal

int main(int argc, char** argv) {
  int series = 100000, samples = 240, reps = 5, workers = 2;
  bool reuse = false;
  std::string dir = "/tmp/snapshot_startup_bench";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--series=", 0) == 0) series = std::atoi(a.c_str() + 9);
    if (a.rfind("--samples=", 0) == 0) samples = std::atoi(a.c_str() + 10);
    if (a.rfind("--reps=", 0) == 0) reps = std::atoi(a.c_str() + 7);
    if (a.rfind("--workers=", 0) == 0) workers = std::atoi(a.c_str() + 10);
    if (a.rfind("--dir=", 0) == 0) dir = a.substr(6);
    if (a == "--reuse") reuse = true;  // restart from an existing --dir
  }
  using tsdb::headwal::InChild;
  if (!reuse) {
    if (std::system(("rm -rf '" + dir + "'").c_str()) != 0) return 1;
    InChild([&] { tsdb::headwal::Fill(dir, series, samples); });
  }
  std::vector<double> secs[2], rss[2];
  for (int r = 0; r < reps; ++r) {
    for (int mode = 0; mode < 2; ++mode) {
      int fds[2];
      if (pipe(fds) != 0) return 1;
      InChild([&] { tsdb::headwal::Restart(dir, mode == 0, workers, fds[1]); });
      close(fds[1]);
      char buf[128] = {};
      const ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
      close(fds[0]);
      if (n <= 0) return 1;
      double s = 0, m = 0;
      if (std::sscanf(buf, "%lf %lf", &s, &m) != 2) return 1;
      secs[mode].push_back(s);
      rss[mode].push_back(m);
    }
  }
  using tsdb::headwal::Median;
  std::printf(
      "median of %d: snapshot %.3f s (%.0f MiB), wal %.3f s (%.0f MiB), "
      "%.1fx\n",
      reps, Median(secs[0]), Median(rss[0]), Median(secs[1]), Median(rss[1]),
      Median(secs[1]) / Median(secs[0]));
  return 0;
}
