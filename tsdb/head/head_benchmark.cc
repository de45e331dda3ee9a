// Head benchmarks (Google Benchmark). Run:
//   tools/bazel run -c opt //tsdb/head:head_benchmark --
//     --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
//  - BM_AppendByRef: scrape-like batches (one sample for each of 1000
//    series, then Commit) appended by ref; 1 and 2 threads, each with its
//    own series. items_per_second = samples/s (Append + Commit).
//  - BM_AppendByRefColdSeries/order: remote-write-like: 100k series (far
//    more than the caches hold), batches of 2000 of them x 1 sample by ref
//    with noisy values, cycling through all series. order 0: each batch's
//    refs are consecutive (as senders repeat their creation order); 1: the
//    same refs shuffled (no runs for the appender's prefetch to follow).
//  - BM_AppendByLabelsNewSeries: batches of 1000 new series by labels.
//  - BM_AppendByLabelsExisting: batches of 1000 existing series by labels.
//  - BM_HeapPerSeries: 1M node_exporter-like series with one sample each;
//    reports heap bytes per series (live bytes from a global operator
//    new/delete hook, and mallinfo2's in-use bytes, which include malloc
//    headers).
#include <malloc.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "plugins/chunkenc/xor/xor.h"
#include "tsdb/chunkenc/registry.h"
#include "tsdb/head/head.h"
#include "tsdb/labels/labels.h"

// --- Heap accounting: every operator new/delete of the process. ----------
namespace {
std::atomic<int64_t> g_live_bytes{0};
std::atomic<int64_t> g_live_allocs{0};

void* CountedAlloc(size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  g_live_bytes.fetch_add(static_cast<int64_t>(malloc_usable_size(p)),
                         std::memory_order_relaxed);
  g_live_allocs.fetch_add(1, std::memory_order_relaxed);
  return p;
}
void* CountedAlignedAlloc(size_t n, size_t align) {
  void* p = nullptr;
  if (posix_memalign(&p, std::max(align, sizeof(void*)), n == 0 ? 1 : n) != 0)
    throw std::bad_alloc();
  g_live_bytes.fetch_add(static_cast<int64_t>(malloc_usable_size(p)),
                         std::memory_order_relaxed);
  g_live_allocs.fetch_add(1, std::memory_order_relaxed);
  return p;
}
void CountedFree(void* p) {
  if (p == nullptr) return;
  g_live_bytes.fetch_sub(static_cast<int64_t>(malloc_usable_size(p)),
                         std::memory_order_relaxed);
  g_live_allocs.fetch_sub(1, std::memory_order_relaxed);
  std::free(p);
}
}  // namespace

void* operator new(size_t n) { return CountedAlloc(n); }
void* operator new[](size_t n) { return CountedAlloc(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  try {
    return CountedAlloc(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  try {
    return CountedAlloc(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(size_t n, std::align_val_t a) {
  return CountedAlignedAlloc(n, static_cast<size_t>(a));
}
void* operator new[](size_t n, std::align_val_t a) {
  return CountedAlignedAlloc(n, static_cast<size_t>(a));
}
void operator delete(void* p) noexcept { CountedFree(p); }
void operator delete[](void* p) noexcept { CountedFree(p); }
void operator delete(void* p, size_t) noexcept { CountedFree(p); }
void operator delete[](void* p, size_t) noexcept { CountedFree(p); }
void operator delete(void* p, std::align_val_t) noexcept { CountedFree(p); }
void operator delete[](void* p, std::align_val_t) noexcept { CountedFree(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept {
  CountedFree(p);
}
void operator delete[](void* p, size_t, std::align_val_t) noexcept {
  CountedFree(p);
}

namespace tsdb::head {
namespace {

constexpr int kBatch = 1000;

const chunkenc::CodecRegistry& Registry() {
  static const chunkenc::CodecRegistry* r = [] {
    auto* reg = new chunkenc::CodecRegistry();
    if (!chunkenc::RegisterXorCodec(*reg).ok()) std::abort();
    return reg;
  }();
  return *r;
}

std::unique_ptr<Head> NewHead() {
  HeadOptions opts;
  opts.codecs = &Registry();
  absl::StatusOr<std::unique_ptr<Head>> h = Head::Open(opts);
  if (!h.ok()) std::abort();
  return std::move(*h);
}

// A node_exporter-like label set: series `j` (0..999) of host `host`.
labels::Labels NodeSeries(int host, int j, const std::string& extra = "") {
  static const char* const kNames[] = {"node_cpu_seconds_total",
                                       "node_filesystem_avail_bytes",
                                       "node_network_receive_bytes_total",
                                       "node_disk_read_bytes_total",
                                       "node_filesystem_size_bytes",
                                       "node_network_transmit_bytes_total",
                                       "node_disk_written_bytes_total",
                                       "node_filesystem_files_free",
                                       "node_network_receive_packets_total",
                                       "node_disk_io_time_seconds_total"};
  static const char* const kModes[] = {"idle",    "iowait", "irq",    "nice",
                                       "softirq", "steal",  "system", "user"};
  const int m = j % 50;
  const int k = j / 50;  // 0..19
  const std::string name =
      absl::StrCat(kNames[m % 10], m >= 10 ? absl::StrCat("_", m / 10) : "");
  const std::string instance = absl::StrCat("host-", host, ".example.org:9100");
  std::vector<labels::Label> l = {
      {"__name__", name}, {"instance", instance}, {"job", "node"}};
  switch (m % 3) {
    case 0:
      l.push_back({"cpu", absl::StrCat(k)});
      l.push_back({"mode", kModes[m % 8]});
      break;
    case 1:
      l.push_back(
          {"device", absl::StrCat("/dev/sd",
                                  std::string(1, static_cast<char>('a' + k)))});
      l.push_back({"fstype", "ext4"});
      l.push_back({"mountpoint", absl::StrCat("/srv/data", k)});
      break;
    default:
      l.push_back({"device", absl::StrCat("eth", k)});
      break;
  }
  if (!extra.empty()) l.push_back({"bench", extra});
  return labels::Labels::FromUnsorted(std::move(l));
}

void BM_AppendByRef(benchmark::State& state) {
  static Head* head = NewHead().release();
  static std::atomic<int> run{0};
  // One clock for all threads and runs: every batch is at the head's front.
  static std::atomic<int64_t> clock{0};
  const std::string tag = absl::StrCat("byref-", run.fetch_add(1));
  std::vector<SeriesRef> refs;
  int64_t t = clock.fetch_add(15000);
  {
    auto app = head->Appender();
    for (int j = 0; j < kBatch; ++j) {
      refs.push_back(*app->Append(0, NodeSeries(0, j, tag), t, 0));
    }
    if (!app->Commit().ok()) std::abort();
  }
  auto app = head->Appender();
  double v = 0;
  for (auto _ : state) {
    t = clock.fetch_add(15000);
    v += 1;
    for (int j = 0; j < kBatch; ++j) {
      absl::StatusOr<SeriesRef> r = app->Append(refs[j], {}, t, v + j);
      benchmark::DoNotOptimize(r);
    }
    if (!app->Commit().ok()) std::abort();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_AppendByRef)->Threads(1)->Threads(2)->UseRealTime();

void BM_AppendByRefColdSeries(benchmark::State& state) {
  constexpr int kSeries = 100000;
  constexpr int kRwBatch = 2000;
  std::unique_ptr<Head> head = NewHead();
  std::vector<SeriesRef> refs;
  int64_t t = 1000;
  {
    auto app = head->Appender();
    for (int i = 0; i < kSeries; ++i) {
      refs.push_back(*app->Append(0, NodeSeries(i / 1000, i % 1000), t, 0));
      if (refs.size() % kRwBatch == 0 && !app->Commit().ok()) std::abort();
    }
    if (!app->Commit().ok()) std::abort();
  }
  if (state.range(0) == 1) {
    // Shuffle within each batch (a fixed LCG: reproducible).
    uint64_t x = 42;
    for (int b = 0; b < kSeries; b += kRwBatch) {
      for (int i = kRwBatch - 1; i > 0; --i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        std::swap(refs[b + i], refs[b + static_cast<int>((x >> 33) % (i + 1))]);
      }
    }
  }
  auto app = head->Appender();
  int batch = 0;
  uint64_t noise = 1;
  for (auto _ : state) {
    if (batch == 0) t += 15000;
    const SeriesRef* r = refs.data() + batch * kRwBatch;
    for (int j = 0; j < kRwBatch; ++j) {
      noise = noise * 6364136223846793005ull + 1;
      const double v = static_cast<double>(noise >> 40) / 1024.0;
      absl::StatusOr<SeriesRef> got = app->Append(r[j], {}, t, v);
      benchmark::DoNotOptimize(got);
    }
    if (!app->Commit().ok()) std::abort();
    batch = (batch + 1) % (kSeries / kRwBatch);
  }
  state.SetItemsProcessed(state.iterations() * kRwBatch);
}
BENCHMARK(BM_AppendByRefColdSeries)->Arg(0)->Arg(1)->UseRealTime();

void BM_AppendByLabelsNewSeries(benchmark::State& state) {
  // 200k prepared label sets; a fresh head for each pass over them.
  static const std::vector<labels::Labels>* pool = [] {
    auto* p = new std::vector<labels::Labels>();
    for (int h = 0; h < 200; ++h) {
      for (int j = 0; j < 1000; ++j) p->push_back(NodeSeries(h, j));
    }
    return p;
  }();
  std::unique_ptr<Head> head = NewHead();
  auto app = head->Appender();
  size_t next = 0;
  for (auto _ : state) {
    if (next + kBatch > pool->size()) {
      state.PauseTiming();
      app.reset();
      head = NewHead();
      app = head->Appender();
      next = 0;
      state.ResumeTiming();
    }
    for (int j = 0; j < kBatch; ++j) {
      absl::StatusOr<SeriesRef> r = app->Append(0, (*pool)[next++], 1000, 1);
      benchmark::DoNotOptimize(r);
    }
    if (!app->Commit().ok()) std::abort();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_AppendByLabelsNewSeries)->UseRealTime();

void BM_AppendByLabelsExisting(benchmark::State& state) {
  std::unique_ptr<Head> head = NewHead();
  std::vector<labels::Labels> lsets;
  for (int j = 0; j < kBatch; ++j) lsets.push_back(NodeSeries(1, j));
  auto app = head->Appender();
  int64_t t = 0;
  for (auto _ : state) {
    t += 15000;
    for (int j = 0; j < kBatch; ++j) {
      absl::StatusOr<SeriesRef> r = app->Append(0, lsets[j], t, j);
      benchmark::DoNotOptimize(r);
    }
    if (!app->Commit().ok()) std::abort();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_AppendByLabelsExisting)->UseRealTime();

void BM_HeapPerSeries(benchmark::State& state) {
  constexpr int kHosts = 1000;  // x 1000 series each = 1M series
  for (auto _ : state) {
    const int64_t bytes0 = g_live_bytes.load();
    const int64_t allocs0 = g_live_allocs.load();
    const struct mallinfo2 mi0 = mallinfo2();
    std::unique_ptr<Head> head = NewHead();
    {
      auto app = head->Appender();
      for (int h = 0; h < kHosts; ++h) {
        for (int j = 0; j < 1000; ++j) {
          if (!app->Append(0, NodeSeries(h, j), 1000, j).ok()) std::abort();
        }
        if (!app->Commit().ok()) std::abort();
      }
    }
    const double n = 1e6;
    const struct mallinfo2 mi1 = mallinfo2();
    state.counters["live_bytes_per_series"] =
        static_cast<double>(g_live_bytes.load() - bytes0) / n;
    state.counters["allocs_per_series"] =
        static_cast<double>(g_live_allocs.load() - allocs0) / n;
    state.counters["mallinfo_bytes_per_series"] =
        static_cast<double>((mi1.uordblks + mi1.hblkhd) -
                            (mi0.uordblks + mi0.hblkhd)) /
        n;
    const HeadMemoryStats ms = head->MemoryStats();
    state.counters["estimate_bytes_per_series"] =
        static_cast<double>(ms.total) / n;
    state.PauseTiming();
    head.reset();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_HeapPerSeries)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tsdb::head

BENCHMARK_MAIN();
