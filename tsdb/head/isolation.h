// Isolation: which commits a head reader sees, so that no reader ever sees
// part of a commit. EpochReclaimer: when memory unlinked from the head
// (garbage-collected series) can be freed.
//
// Isolation scheme (compare Prometheus's appendID + txRing + isolationState,
// tsdb/isolation.go):
//  - Each Commit takes a sequence number (BeginCommit), appends its samples,
//    and ends (EndCommit). Series record (seq, first sample index) per
//    commit (series.h).
//  - The watermark W is the highest seq such that every commit <= W has
//    ended. A reader takes W when it opens and sees exactly the commits
//    <= W: per series, the samples before the first log entry with seq > W.
//  - Per-series visibility is a prefix of the samples, so a commit that
//    appends to a series after a later commit did (two appenders racing on
//    one series) depends on that later commit: it is not counted as ended
//    until the later one is, and W jumps over both at once. Prometheus hides
//    such samples too (its stopAfter is also a prefix) but lets the earlier
//    commit become visible on its other series first; this scheme does not.
//  - The low watermark (min of W and every open reader's W) tells commits
//    which per-series log entries every present and future reader can see;
//    those are dropped, so a series' log usually holds one entry, inline.
//
// Reclamation: appenders (per batch) and readers pin an epoch while they may
// hold raw MemSeries pointers. Garbage collection unlinks series, then
// retires them at the current epoch; they are freed once no pin taken at or
// before that epoch remains.
//
// Thread safety: all methods may be called concurrently (one std::mutex
// each; low_watermark() and watermark() are atomic loads).
#ifndef TSDB_HEAD_ISOLATION_H_
#define TSDB_HEAD_ISOLATION_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "absl/base/thread_annotations.h"

namespace tsdb::head {

class Isolation final {
 public:
  // Watermark of a reader that sees everything appended (no isolation).
  static constexpr uint64_t kNoIsolation = ~uint64_t{0};

  Isolation() = default;
  Isolation(const Isolation&) = delete;
  Isolation& operator=(const Isolation&) = delete;

  // Starts a commit; returns its sequence number (1, 2, ...).
  uint64_t BeginCommit();
  // Ends commit `seq`. `depends_on`: the highest later seq that must become
  // visible with it (0 if none). REQUIRES: called exactly once per seq.
  void EndCommit(uint64_t seq, uint64_t depends_on);

  // Registers a reader; returns the watermark it reads at.
  uint64_t OpenRead();
  // Unregisters a reader opened at `watermark`.
  void CloseRead(uint64_t watermark);

  uint64_t watermark() const {
    return watermark_atomic_.load(std::memory_order_acquire);
  }
  // Every present and future reader sees commits <= this.
  uint64_t low_watermark() const {
    return low_.load(std::memory_order_acquire);
  }

  size_t open_commits() const;
  size_t open_reads() const;

 private:
  struct Commit {
    bool done = false;
    uint64_t depends_on = 0;
  };
  void UpdateLowLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable std::mutex mu_;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t watermark_ ABSL_GUARDED_BY(mu_) = 0;
  // Commits watermark_+1, watermark_+2, ... that were begun.
  std::deque<Commit> commits_ ABSL_GUARDED_BY(mu_);
  // Open readers: watermark -> count.
  std::map<uint64_t, uint32_t> readers_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> watermark_atomic_{0};
  std::atomic<uint64_t> low_{0};
};

// Epoch-based reclamation of memory unlinked from lock-free structures
// (garbage-collected series, replaced hash tables). A retired object is
// represented by the function that frees it.
class EpochReclaimer final {
 public:
  using FreeFn = std::function<void()>;

  EpochReclaimer() = default;
  EpochReclaimer(const EpochReclaimer&) = delete;
  EpochReclaimer& operator=(const EpochReclaimer&) = delete;

  // While pinned, objects retired later are not freed.
  uint64_t Pin();
  void Unpin(uint64_t epoch);

  // Takes objects already unlinked from every shared index (none of them
  // reachable by a pin taken after this call).
  void Retire(std::vector<FreeFn> frees);
  void Retire(FreeFn free);
  // Returns the free functions of retired objects that no pin can reach any
  // more; the caller runs them (outside any head lock).
  std::vector<FreeFn> TakeReclaimable();
  // Returns every retired object's free function (for destruction;
  // REQUIRES no pins).
  std::vector<FreeFn> TakeAll();
  // Whether anything waits to be reclaimed (a cheap hint).
  bool has_retired() const {
    return has_retired_.load(std::memory_order_relaxed);
  }

  size_t pins() const;

 private:
  struct Retired {
    uint64_t epoch;
    std::vector<FreeFn> frees;
  };

  mutable std::mutex mu_;
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<uint64_t, uint32_t> pins_ ABSL_GUARDED_BY(mu_);
  std::deque<Retired> retired_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> has_retired_{false};
};

}  // namespace tsdb::head

#endif  // TSDB_HEAD_ISOLATION_H_
