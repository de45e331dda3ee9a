// XOR encode/decode throughput on realistic series: 15 s scrapes, 120
// samples per chunk as Prometheus 2.42 cuts them. Reports samples/s (items)
// and bytes/sample (the chunk bytes incl. the 2-byte header, over the
// samples). Run:
//   bazel run -c opt //plugins/chunkenc/xor:xor_benchmark --
//       --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Everything goes through the registry and the ChunkCodec interface, as the
// engine calls it.
#include <bit>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "plugins/chunkenc/xor/xor.h"
#include "tsdb/chunkenc/registry.h"

namespace tsdb::chunkenc {
namespace {

constexpr int kSamplesPerChunk = 120;
constexpr int kSeries = 1000;

// kCounter: busy request counters (an increment every scrape) - a stress
// case; kGauge: noisy gauges (memory bytes, percentages, temperatures) - a
// stress case; kFleet: a fleet-like mix of series kinds, the realistic case.
enum SeriesKind : int64_t { kCounter = 0, kGauge = 1, kFleet = 2 };

const char* KindName(int64_t kind) {
  switch (kind) {
    case kCounter:
      return "busy counters";
    case kGauge:
      return "noisy gauges";
    default:
      return "fleet mix";
  }
}

// Prometheus (>= 2.32) snaps scrape timestamps to the ideal interval when
// within 2 ms, so most deltas are exactly 15 s; a few scrapes are late.
int64_t NextT(int64_t prev, std::mt19937_64& rng) {
  return prev + 15000 +
         (rng() % 10 == 0 ? static_cast<int64_t>(rng() % 41) - 20 : 0);
}

std::vector<Sample> BusyCounter(int id, std::mt19937_64& rng) {
  std::vector<Sample> s;
  int64_t t = 1700000000000 + id * 137;
  const double rate = 1 + (id % 50) * 3;  // requests per second
  std::poisson_distribution<int> inc(rate * 15);
  double v = static_cast<double>(rng() % 100000);
  for (int i = 0; i < kSamplesPerChunk; ++i) {
    s.push_back({t, v});
    v += inc(rng);
    t = NextT(t, rng);
  }
  return s;
}

std::vector<Sample> NoisyGauge(int id, std::mt19937_64& rng) {
  std::vector<Sample> s;
  int64_t t = 1700000000000 + id * 137;
  std::normal_distribution<double> step(0, 1);
  double v = 50 + id % 40;
  for (int i = 0; i < kSamplesPerChunk; ++i) {
    double out;
    switch (id % 3) {
      case 0:  // memory bytes
        out = std::round(1e8 + v * 1e5 + step(rng) * 4096);
        break;
      case 1:  // a percentage with two decimals
        out = std::round(v * 100) / 100;
        break;
      default:  // a temperature with one decimal
        out = std::round(v * 10) / 10;
        break;
    }
    s.push_back({t, out});
    v += step(rng) * 0.5;
    t = NextT(t, rng);
  }
  return s;
}

// A node/application exporter fleet: per 20 series, 6 constant (info, up,
// limits, config), 5 mostly idle counters (errors, restarts), 3 histogram
// buckets (small increments), 2 byte counters, 2 CPU-seconds counters
// (fractional), 2 noisy gauges.
std::vector<Sample> FleetSeries(int id, std::mt19937_64& rng) {
  const int slot = id % 20;
  if (slot >= 18) return NoisyGauge(id, rng);
  std::vector<Sample> s;
  int64_t t = 1700000000000 + id * 137;
  double v = static_cast<double>(rng() % 1000);
  for (int i = 0; i < kSamplesPerChunk; ++i) {
    s.push_back({t, v});
    t = NextT(t, rng);
    if (slot < 6) {
      continue;  // constant
    } else if (slot < 11) {
      if (rng() % 20 == 0) v += 1;  // idle counter
    } else if (slot < 14) {
      v += static_cast<double>(rng() % 8);  // histogram bucket
    } else if (slot < 16) {
      v += static_cast<double>(100000 + rng() % 5000000);  // bytes
    } else {
      v += static_cast<double>(rng() % 300) / 100;  // CPU seconds
    }
  }
  return s;
}

std::vector<Sample> MakeSeries(int64_t kind, int id, std::mt19937_64& rng) {
  switch (kind) {
    case kCounter:
      return BusyCounter(id, rng);
    case kGauge:
      return NoisyGauge(id, rng);
    default:
      return FleetSeries(id, rng);
  }
}

struct Corpus {
  std::vector<std::vector<Sample>> series;
  std::vector<std::string> chunks;
  size_t samples = 0;
  size_t bytes = 0;
};

const ChunkCodec& Codec() {
  // Never destroyed: a benchmark-process singleton.
  static CodecRegistry* registry = [] {
    auto* r = new CodecRegistry();
    if (!RegisterXorCodec(*r).ok()) std::abort();
    return r;
  }();
  return **registry->Get(kXorEncoding);
}

Corpus MakeCorpus(int64_t kind) {
  std::mt19937_64 rng(42 + kind);
  Corpus c;
  for (int id = 0; id < kSeries; ++id) {
    c.series.push_back(MakeSeries(kind, id, rng));
    std::unique_ptr<Chunk> chunk = Codec().NewChunk();
    auto app = *chunk->Appender();
    for (const Sample& s : c.series.back()) app->Append(s.t, s.v);
    c.chunks.emplace_back(chunk->Bytes());
    c.samples += c.series.back().size();
    c.bytes += chunk->Bytes().size();
  }
  return c;
}

void Report(benchmark::State& state, const Corpus& c) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(c.samples));
  state.counters["bytes/sample"] =
      static_cast<double>(c.bytes) / static_cast<double>(c.samples);
  state.SetLabel(KindName(state.range(0)));
}

void BM_XorEncode(benchmark::State& state) {
  const Corpus c = MakeCorpus(state.range(0));
  const ChunkCodec& codec = Codec();
  for (auto _ : state) {
    for (const std::vector<Sample>& series : c.series) {
      std::unique_ptr<Chunk> chunk = codec.NewChunk();
      auto app = *chunk->Appender();
      for (const Sample& s : series) app->Append(s.t, s.v);
      benchmark::DoNotOptimize(chunk->Bytes().data());
    }
  }
  Report(state, c);
}

// Both decode benchmarks fold every sample into a cheap integer checksum
// (no floating-point add chain), so they measure the decoder, not the
// consumer.
void BM_XorDecodeNextAt(benchmark::State& state) {
  const Corpus c = MakeCorpus(state.range(0));
  const ChunkCodec& codec = Codec();
  for (auto _ : state) {
    uint64_t sum = 0;
    for (const std::string& bytes : c.chunks) {
      std::unique_ptr<SampleIterator> it = codec.NewIterator(bytes);
      while (it->Next()) {
        const Sample s = it->At();
        sum += static_cast<uint64_t>(s.t) ^ std::bit_cast<uint64_t>(s.v);
      }
    }
    benchmark::DoNotOptimize(sum);
  }
  Report(state, c);
}

void BM_XorDecodeNextBatch(benchmark::State& state) {
  const Corpus c = MakeCorpus(state.range(0));
  const ChunkCodec& codec = Codec();
  int64_t ts[kSamplesPerChunk];
  double vs[kSamplesPerChunk];
  for (auto _ : state) {
    uint64_t sum = 0;
    for (const std::string& bytes : c.chunks) {
      std::unique_ptr<SampleIterator> it = codec.NewIterator(bytes);
      const size_t n = it->NextBatch(ts, vs, kSamplesPerChunk);
      for (size_t i = 0; i < n; ++i) {
        sum += static_cast<uint64_t>(ts[i]) ^ std::bit_cast<uint64_t>(vs[i]);
      }
    }
    benchmark::DoNotOptimize(sum);
  }
  Report(state, c);
}

BENCHMARK(BM_XorEncode)->Arg(kFleet)->Arg(kCounter)->Arg(kGauge);
BENCHMARK(BM_XorDecodeNextAt)->Arg(kFleet)->Arg(kCounter)->Arg(kGauge);
BENCHMARK(BM_XorDecodeNextBatch)->Arg(kFleet)->Arg(kCounter)->Arg(kGauge);

}  // namespace
}  // namespace tsdb::chunkenc
