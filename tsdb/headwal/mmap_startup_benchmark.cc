// Start-up with m-mapped head chunks vs everything replayed from the WAL.
//
//   tools/bazel build -c opt //tsdb/headwal:mmap_startup_benchmark &&
//   bazel-bin/tsdb/headwal/mmap_startup_benchmark [--series=100000]
//       [--samples=480] [--dir=/tmp/mmap_startup_bench] [--reps=2]
//
// 1. (child process) Fills a head opened with OpenHeadFromDir (chunk mapper
//    + snappy segmented WAL): `series` series x `samples` scrapes at 15 s
//    (480 = 2h), node_exporter-like label sets and realistic values
//    (counters growing by varying steps, gauges with noise), one commit per
//    scrape; closes cleanly.
// 2. For each mode, `reps` times, a fresh child process restarts from the
//    directory and reports replay seconds, peak RSS (VmHWM of the child) and
//    head heap bytes per series (Head::MemoryStats):
//      mmap: OpenHeadFromDir (scan chunks_head, attach, replay WAL tail);
//      wal:  a head without mapper, ReplayIntoHead of the whole WAL.
//    The wal mode only reads; the mmap mode writes nothing that changes the
//    next run's input (the replay cuts no chunk: the WAL tail is the open
//    chunk).
#include <sys/wait.h>
#include <unistd.h>

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
  bench::Die("mmap_startup_benchmark", msg);
}

void Fill(const std::string& dir, int series, int samples) {
  bench::FilledDir d =
      bench::FillDataDir(dir, series, samples, "mmap_startup_benchmark");
  bench::CloseDataDir(d, "mmap_startup_benchmark");
}

void Restart(const std::string& dir, bool mmap) {
  head::HeadOptions opts;
  opts.codecs = &head::testing::XorRegistry();
  const auto start = Clock::now();
  std::unique_ptr<head::Head> h;
  OpenedHead opened;
  if (mmap) {
    auto o = OpenHeadFromDir(nullptr, dir, opts, 1, [](std::string_view) {});
    if (!o.ok()) Die(o.status().ToString());
    opened = std::move(*o);
  } else {
    auto o = head::Head::Open(opts);
    if (!o.ok()) Die(o.status().ToString());
    h = std::move(*o);
    auto r = ReplayIntoHead(h.get(), nullptr, dir + "/wal", 1,
                            [](std::string_view) {});
    if (!r.ok()) Die(r.status().ToString());
  }
  const double secs = Since(start);
  head::Head& head = mmap ? *opened.head : *h;
  const head::HeadStats st = head.Stats();
  const head::HeadMemoryStats m = head.MemoryStats();
  const double n = static_cast<double>(st.num_series);
  std::printf(
      "%-4s: %.2f s, peak RSS %.0f MiB, heap/series %.0f B (series+chunks "
      "%.0f B), %llu series, %llu chunks (%llu attached)\n",
      mmap ? "mmap" : "wal", secs, PeakRssMiB(),
      static_cast<double>(m.total) / n, static_cast<double>(m.series) / n,
      static_cast<unsigned long long>(st.num_series),
      static_cast<unsigned long long>(st.num_chunks),
      static_cast<unsigned long long>(st.chunks_attached));
  std::fflush(stdout);
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
  int series = 100000, samples = 480, reps = 2;
  std::string dir = "/tmp/mmap_startup_bench";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--series=", 0) == 0) series = std::atoi(a.c_str() + 9);
    if (a.rfind("--samples=", 0) == 0) samples = std::atoi(a.c_str() + 10);
    if (a.rfind("--reps=", 0) == 0) reps = std::atoi(a.c_str() + 7);
    if (a.rfind("--dir=", 0) == 0) dir = a.substr(6);
  }
  if (std::system(("rm -rf '" + dir + "'").c_str()) != 0) return 1;
  using tsdb::headwal::InChild;
  InChild([&] { tsdb::headwal::Fill(dir, series, samples); });
  for (int r = 0; r < reps; ++r) {
    InChild([&] { tsdb::headwal::Restart(dir, false); });
    InChild([&] { tsdb::headwal::Restart(dir, true); });
  }
  return 0;
}
