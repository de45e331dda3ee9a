// Shared by the start-up benchmarks (mmap_startup_benchmark,
// snapshot_startup_benchmark): the head they fill, how they time it and
// how they read peak memory. Benchmark binaries only.
#ifndef TSDB_HEADWAL_STARTUP_BENCH_UTIL_H_
#define TSDB_HEADWAL_STARTUP_BENCH_UTIL_H_

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "tsdb/head/head.h"
#include "tsdb/headwal/headwal.h"
#include "tsdb/wal/wal.h"

namespace tsdb::headwal::bench {

using Clock = std::chrono::steady_clock;

inline double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Prints "<program>: <msg>" to stderr and exits 1.
[[noreturn]] void Die(std::string_view program, const std::string& msg);

// Peak resident set of this process, in MiB (VmHWM); -1 if unknown.
double PeakRssMiB();

// Appends `samples` scrapes (15 s apart, 0-4 ms jitter) of `series`
// node_exporter-like series (4 labels; a third counters with varying steps,
// a third smooth gauges, a third noisy 3-decimal gauges), one commit per
// scrape. Dies (as `program`) on any error.
void FillFleet(head::Head& h, int series, int samples,
               std::string_view program);

// A data dir being filled: its segmented WAL, the commit log on it and the
// head opened on the dir (cut chunks go to chunks_head). Members are
// destroyed head first.
struct FilledDir {
  std::unique_ptr<wal::Wal> wal;
  std::unique_ptr<WalCommitLog> log;
  OpenedHead opened;
};

// Opens `dir` (WAL, chunks_head) and fills it with FillFleet, printing the
// time and how many chunks were m-mapped. Dies (as `program`) on any error.
FilledDir FillDataDir(const std::string& dir, int series, int samples,
                      std::string_view program);

// Closes the chunk mapper and the WAL of `d`. Dies on any error.
void CloseDataDir(FilledDir& d, std::string_view program);

}  // namespace tsdb::headwal::bench

#endif  // TSDB_HEADWAL_STARTUP_BENCH_UTIL_H_
