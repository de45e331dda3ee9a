// Head::ReplaySamples: the WAL replay's append path (Prometheus's
// processWALSamples), without an appender's batch.
//
// An appender validates each sample under the series lock, records it in
// its batch (slot map, pending lists), then takes every series lock again at
// Commit: two visits to each series, whose memory is cold when a record
// holds one sample of each of 100k series. Replay needs no batch (no
// CommitLog, no rollback), so each sample is validated and appended in one
// visit, with the series looked up and prefetched samples ahead; each call
// is one isolation commit, as an appender's.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>

#include "tsdb/head/head.h"
#include "tsdb/head/isolation.h"
#include "tsdb/head/series.h"
#include "tsdb/head/stripe_series.h"

namespace tsdb::head {
namespace {

// How many samples ahead the series is looked up and prefetched.
constexpr size_t kAhead = 16;

}  // namespace

ReplaySamplesResult Head::ReplaySamples(const SampleRecord* samples, size_t n) {
  ReplaySamplesResult out;
  if (n == 0) return out;
  const uint64_t epoch = reclaimer_->Pin();
  const ChunkEnv& env = *env_;
  int64_t mint = std::numeric_limits<int64_t>::max();
  int64_t maxt = std::numeric_limits<int64_t>::min();
  uint64_t new_chunks = 0;
  // One commit for the call: readers meanwhile see all of it or none (a
  // reader's chunk metas and chunks must agree).
  Isolation& iso = *iso_;
  const uint64_t seq = iso.BeginCommit();
  const uint64_t low = iso.low_watermark();
  uint64_t depends_on = 0;
  absl::Status err;
  auto lookup = [&](size_t j) {
    MemSeries* s = series_->GetByRef(samples[j].ref);
    if (s != nullptr) {
      // The fields Append touches span the whole object.
      for (size_t off = 0; off < sizeof(MemSeries); off += 64) {
        __builtin_prefetch(reinterpret_cast<const char*>(s) + off, 1);
      }
    }
    return s;
  };
  MemSeries* ring[kAhead];
  for (size_t j = 0; j < std::min(n, kAhead); ++j) ring[j] = lookup(j);
  for (size_t i = 0; i < n; ++i) {
    MemSeries* s = ring[i % kAhead];
    if (i + kAhead < n) ring[i % kAhead] = lookup(i + kAhead);
    const SampleRecord& r = samples[i];
    if (s == nullptr) {
      ++out.unknown_refs;
      continue;
    }
    std::lock_guard lock(s->mu);
    if (s->Appendable(r.t, r.v) != Appendability::kOk) {
      ++out.skipped;
      continue;
    }
    absl::Status st =
        s->Append(r.t, r.v, seq, low, env, &depends_on, &new_chunks);
    if (!st.ok()) {
      if (err.ok()) err = std::move(st);
      continue;
    }
    ++out.appended;
    mint = std::min(mint, r.t);
    maxt = std::max(maxt, r.t);
  }
  iso.EndCommit(seq, depends_on);
  reclaimer_->Unpin(epoch);
  if (out.appended > 0) {
    InitTime(mint);
    UpdateMinMaxTime(mint, maxt);
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
