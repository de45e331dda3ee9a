// Head::ReplaySamples: the WAL replay's append path (Prometheus's
// processWALSamples), without an appender's batch.
//
// An appender validates each sample under the series lock, records it in
// its batch (slot map, pending lists), then takes every series lock again at
// Commit: two visits to each series, whose memory is cold when a record
// holds one sample of each of 100k series. Replay needs no batch (no
// CommitLog, no rollback), so each sample is validated and appended in one
// visit; consecutive samples of one series (the replay sorts its batches by
// ref) share one lookup and one lock and are appended by one
// MemSeries::AppendRun call, and the series of the next block of runs are
// looked up together and prefetched (and, one block later, their chunk
// state). Each call is one isolation commit, as an appender's.
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "tsdb/head/head.h"
#include "tsdb/head/isolation.h"
#include "tsdb/head/series.h"
#include "tsdb/head/stripe_series.h"

namespace tsdb::head {
namespace {

// Runs of samples of one series per lookup block (see ReplaySamples).
constexpr size_t kRuns = 32;

}  // namespace

ReplaySamplesResult Head::ReplaySamples(const SampleRecord* samples, size_t n) {
  ReplaySamplesResult out;
  if (n == 0) return out;
  const uint64_t epoch = reclaimer_->Pin();
  const ChunkEnv& env = *env_;
  MemSeries::AppendRunStats stats;
  uint64_t new_chunks = 0;
  // One commit for the call: readers meanwhile see all of it or none (a
  // reader's chunk metas and chunks must agree).
  Isolation& iso = *iso_;
  const uint64_t seq = iso.BeginCommit();
  const uint64_t low = iso.low_watermark();
  uint64_t depends_on = 0;
  absl::Status err;
  // Runs of samples of one series (callers may group them; the WAL replay
  // sorts a batch by ref) take the series lock once. Runs are handled in
  // blocks: the series of block k + 1 are looked up in a tight loop (the
  // lookups are independent, so their cache misses overlap) and prefetched
  // before block k is appended.
  struct Run {
    size_t begin, end;
    MemSeries* s;
  };
  Run runs[2][kRuns];
  auto plan = [&](size_t from, Run* out) {
    size_t c = 0;
    while (from < n && c < kRuns) {
      size_t e = from + 1;
      while (e < n && samples[e].ref == samples[from].ref) ++e;
      out[c++] = Run{from, e, nullptr};
      from = e;
    }
    for (size_t j = 0; j < c; ++j) {
      out[j].s = series_->GetByRef(samples[out[j].begin].ref);
    }
    for (size_t j = 0; j < c; ++j) {
      PrefetchWholeSeries(out[j].s);
    }
    return c;
  };
  size_t count = plan(0, runs[0]);
  for (int b = 0; count > 0; b ^= 1) {
    const size_t next_from = runs[b][count - 1].end;
    const size_t next_count = plan(next_from, runs[b ^ 1]);
    // The series of this block were prefetched one block ago; now prefetch
    // what their appends touch beyond them (chunk appender, open chunk and
    // its buffer), all at once so that the misses overlap.
    for (size_t k = 0; k < count; ++k) {
      MemSeries* s = runs[b][k].s;
      if (s == nullptr) continue;
      const void* hints[MemSeries::kNumAppendHints];
      {
        std::lock_guard lock(s->mu);
        s->AppendHints(hints);
      }
      for (const void* h : hints) {
        if (h != nullptr) __builtin_prefetch(h, 1);
      }
    }
    for (size_t k = 0; k < count; ++k) {
      const Run& run = runs[b][k];
      MemSeries* s = run.s;
      if (s == nullptr) {
        out.unknown_refs += run.end - run.begin;
        continue;
      }
      std::lock_guard lock(s->mu);
      absl::Status st =
          s->AppendRun(samples + run.begin, run.end - run.begin, seq, low, env,
                       &depends_on, &new_chunks, &stats);
      if (!st.ok() && err.ok()) err = std::move(st);
    }
    count = next_count;
  }
  iso.EndCommit(seq, depends_on);
  reclaimer_->Unpin(epoch);
  out.appended += stats.appended;
  out.skipped += stats.skipped;
  if (out.appended > 0) {
    InitTime(stats.min_time);
    UpdateMinMaxTime(stats.min_time, stats.max_time);
    samples_appended_.fetch_add(out.appended, std::memory_order_relaxed);
  }
  if (new_chunks > 0) {
    num_chunks_.fetch_add(new_chunks, std::memory_order_relaxed);
    chunks_created_.fetch_add(new_chunks, std::memory_order_relaxed);
  }
  out.status = std::move(err);
  return out;
}

}  // namespace tsdb::head
