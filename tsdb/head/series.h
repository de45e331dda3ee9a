// MemSeries: one head series — its interned labels, its chunks (full,
// compacted chunks plus one open chunk being appended to) and the isolation
// log that tells readers which of its samples they may see.
//
// Internal to the head. Ownership: StripeSeries indexes series; the Head
// frees them (after a grace period, see isolation.h) when Truncate garbage-
// collects them.
//
// Thread safety: ref(), hash() and the label ids are immutable once the
// series is published. Everything else REQUIRES mu (a SpinLock): appenders
// take it to validate and to append at Commit, readers to copy chunk bytes
// and compute visibility, Truncate to drop chunks. Critical sections are a
// few hundred nanoseconds at most (copying ~200 chunk bytes, cutting a
// chunk).
//
// Chunk ids: each series numbers its chunks consecutively; the oldest chunk
// in memory has id first_chunk_id(), the open chunk is the last. Truncation
// advances first_chunk_id(), so an id is never reused for another chunk.
//
// Isolation: samples are counted by an absolute index (0 = the series' first
// sample ever). Each commit that appends to the series records (commit
// sequence number, index of its first sample here) in a small log; a reader
// with watermark W sees samples up to the first entry whose sequence number
// is > W. Entries every reader can see are dropped on the next commit.
#ifndef TSDB_HEAD_SERIES_H_
#define TSDB_HEAD_SERIES_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "tsdb/chunkenc/chunk.h"
#include "tsdb/head/ooo.h"
#include "tsdb/head/options.h"
#include "tsdb/head/spin_lock.h"
#include "tsdb/postings/postings.h"

namespace tsdb::chunks {
class ChunkDiskMapper;
}  // namespace tsdb::chunks

namespace tsdb::head {

// Go's rangeForTimestamp: the end of the `width`-aligned range holding t
// (Go's integer division, which truncates towards zero).
constexpr int64_t RangeForTimestamp(int64_t t, int64_t width) {
  return (t / width) * width + width;
}

// Go's computeChunkEndTime: when a chunk started at `start` holding samples
// up to `cur` should end so that chunks up to `max` get equal shares.
constexpr int64_t ComputeChunkEndTime(int64_t start, int64_t cur, int64_t max) {
  const int64_t n = (max - start) / ((cur - start + 1) * 4);
  if (n <= 1) return max;
  return start + (max - start) / n;
}

// What appending needs from the head; shared and immutable.
struct ChunkEnv {
  const chunkenc::ChunkCodec* codec = nullptr;
  int64_t chunk_range = kDefaultChunkRange;
  int samples_per_chunk = kDefaultSamplesPerChunk;
  ChunkCutListener* listener = nullptr;
  // Cut chunks are written here and dropped from memory (nullptr: kept).
  chunks::ChunkDiskMapper* mapper = nullptr;
  // Counters (owned by the head): chunks written to the mapper, and failed
  // writes (the chunk then stays in memory).
  std::atomic<uint64_t>* mapped = nullptr;
  std::atomic<uint64_t>* map_failures = nullptr;
};

enum class Appendability : uint8_t {
  kOk,                // t is after the last sample
  kDuplicateIgnored,  // same t, same value bits: accepted, not stored again
  kOutOfOrder,        // t before the last sample
  kDuplicate,         // same t, different value
};

// Classifies (t, v) against a last sample (last_t, last_v). `has_last`
// false means there is none.
inline Appendability Classify(bool has_last, int64_t last_t, double last_v,
                              int64_t t, double v) {
  if (!has_last || t > last_t) return Appendability::kOk;
  if (t < last_t) return Appendability::kOutOfOrder;
  return __builtin_memcmp(&last_v, &v, sizeof(double)) == 0
             ? Appendability::kDuplicateIgnored
             : Appendability::kDuplicate;
}

// A read-only view of one chunk, valid while mu is held. A chunk in the
// chunk mapper has mapped_ref != 0 and empty bytes (read it through the
// mapper; the bytes are immutable there).
struct ChunkView {
  uint64_t id = 0;
  int64_t min_time = 0;
  int64_t max_time = 0;
  uint32_t num_samples = 0;
  uint64_t first_index = 0;  // absolute index of its first sample
  std::string_view bytes;
  uint64_t mapped_ref = 0;
};

class MemSeries final {
 public:
  // `ids` holds 2 * num_labels symbol ids (name, value, ...).
  MemSeries(SeriesRef ref, uint64_t hash, std::unique_ptr<uint32_t[]> ids,
            uint32_t num_labels);
  ~MemSeries();
  MemSeries(const MemSeries&) = delete;
  MemSeries& operator=(const MemSeries&) = delete;

  SeriesRef ref() const { return ref_; }
  // Only before the series is published.
  void set_ref(SeriesRef ref) { ref_ = ref; }
  uint64_t hash() const { return hash_; }
  const uint32_t* label_ids() const { return ids_.get(); }
  uint32_t num_labels() const { return num_labels_; }

  SpinLock mu;

  // --- Everything below REQUIRES mu. ---

  // Set by garbage collection when the series is unlinked; an appender that
  // finds it set must look the series up again.
  bool deleted = false;
  // Appenders holding uncommitted samples for this series (GC skips it).
  uint32_t pending = 0;
  // Out-of-order samples (ooo.h); null while there are none.
  std::unique_ptr<OooSeries> ooo;

  // Classifies (t, v) against the last appended sample. After
  // AttachMappedChunks (and before the next append) the last value is
  // unknown until LoadLastValue reads it from the chunk mapper; while it is
  // unknown a sample at the last timestamp is a duplicate.
  Appendability Appendable(int64_t t, double v) const {
    if (!last_value_known_ && t == max_time_) {
      return Appendability::kDuplicate;
    }
    return Classify(appended_ > 0, max_time_, last_value_, t, v);
  }

  // Appends a sample of commit `seq`; REQUIRES Appendable(t, v) == kOk.
  // Cuts a new chunk first when Prometheus 2.42 would (see head.md).
  // `low_watermark`: log entries with seq <= it are dropped. `*depends_on` is
  // raised to the highest later commit that already appended here (that
  // commit must become visible no later than this one). `*new_chunks` is
  // incremented when a chunk is started.
  [[nodiscard]] absl::Status Append(int64_t t, double v, uint64_t seq,
                                    uint64_t low_watermark, const ChunkEnv& env,
                                    uint64_t* depends_on, uint64_t* new_chunks);

  // What AppendRun did; added to (not reset).
  struct AppendRunStats {
    size_t appended = 0;
    size_t skipped = 0;  // Appendable(t, v) != kOk
    int64_t min_time = std::numeric_limits<int64_t>::max();  // of appended
    int64_t max_time = std::numeric_limits<int64_t>::min();
  };
  // WAL replay: the samples of this series in `samples[0, n)` (their refs
  // are not read), appended as commit `seq` exactly as calling Append on
  // each one that is Appendable would (same bytes, chunk cuts, isolation
  // log; the others are skipped), but with the cut checks done per stretch
  // of samples and the chunk appender called once per stretch
  // (ChunkAppender::AppendBatch). A failed chunk cut skips its sample and
  // the first such error is returned after the rest is appended.
  [[nodiscard]] absl::Status AppendRun(const SampleRecord* samples, size_t n,
                                       uint64_t seq, uint64_t low_watermark,
                                       const ChunkEnv& env,
                                       uint64_t* depends_on,
                                       uint64_t* new_chunks,
                                       AppendRunStats* stats);

  // The absolute index one past the last sample a reader with isolation
  // watermark `watermark` may see.
  uint64_t VisibleEnd(uint64_t watermark) const {
    for (const TxEntry& e : tx_) {
      if (e.seq > watermark) return e.start;
    }
    return appended_;
  }

  // Drops chunks whose samples are all before `mint`; returns how many.
  size_t TruncateChunksBefore(int64_t mint);

  // WAL replay of a duplicate series record: drops every chunk and forgets
  // the last sample, so that any timestamp may be appended next (Prometheus
  // 2.42 resets the head chunk and the m-mapped chunks). Returns how many
  // chunks were dropped. REQUIRES: no appender holds pending samples of the
  // series.
  size_t DropAllChunks();

  // Start-up: makes `chunks` (oldest first, in time order, from the chunk
  // mapper) the series' chunks. FailedPrecondition unless the series holds
  // no chunk (and no pending append); samples dropped before (DropAllChunks)
  // keep their isolation indexes.
  [[nodiscard]] absl::Status AttachMappedChunks(
      const std::vector<MappedChunk>& chunks);
  // Start-up from a chunk snapshot, after AttachMappedChunks (if any):
  // makes `chunk` (decoded from the snapshot; holds samples up to
  // `max_time`, the last one with value `last_value`) the open chunk. It is
  // never appended to (no appender): the next Append cuts a new chunk, as
  // Prometheus 2.42 does after loading a snapshot (nextAt = maxTime).
  // FailedPrecondition if the series already has an open chunk or a pending
  // append, InvalidArgument if `chunk` is empty or does not start after the
  // last cut chunk. Defined in head_snapshot.cc.
  [[nodiscard]] absl::Status RestoreOpenChunk(
      std::unique_ptr<chunkenc::Chunk> chunk, int64_t min_time,
      int64_t max_time, double last_value);
  // Whether Appendable(t, ...) needs the value of the last sample, which
  // is still on disk (in the last attached chunk): call LoadLastValue.
  bool NeedsLastValue(int64_t t) const {
    return !last_value_known_ && t == max_time_;
  }
  // Reads the last sample of the last attached chunk through env.mapper
  // and env.codec, so that an identical sample at the last timestamp is
  // accepted (and dropped) as after any append. A chunk that cannot be read
  // or decoded leaves the value unknown (such a sample stays a duplicate).
  void LoadLastValue(const ChunkEnv& env);
  // The max time of the newest chunk in the mapper, or INT64_MIN.
  int64_t mapped_max_time() const;

  size_t NumChunks() const { return cut_.size() + (open_ != nullptr ? 1 : 0); }
  uint64_t first_chunk_id() const { return first_chunk_id_; }
  // Chunk i (0 = oldest in memory). REQUIRES i < NumChunks().
  ChunkView Chunk(size_t i) const;
  // Calls fn(ChunkView) for every chunk, oldest first.
  template <typename Fn>
  void ForEachChunk(Fn fn) const {
    uint64_t index = appended_ - open_count_;
    for (const CutChunk& c : cut_) index -= c.num_samples;
    const size_t n = NumChunks();
    for (size_t i = 0; i < n; ++i) {
      ChunkView v = ChunkAt(i, index);
      index += v.num_samples;
      fn(v);
    }
  }

  int64_t max_time() const { return max_time_; }
  // The open chunk (null if none) and the last appended value (meaningful
  // while the open chunk exists).
  const chunkenc::Chunk* open_chunk() const { return open_.get(); }
  double last_value() const { return last_value_; }
  int64_t min_time() const;  // of the oldest chunk; INT64_MAX if none
  uint64_t appended() const { return appended_; }

  // Addresses the next Append will touch outside this object (the chunk
  // appender, the open chunk, the first and last bytes of its buffer), as
  // of the last append; for prefetching only: they may be stale or null
  // and must never be dereferenced. REQUIRES mu.
  static constexpr int kNumAppendHints = 4;
  void AppendHints(const void* out[kNumAppendHints]) const {
    out[0] = app_.get();
    out[1] = open_.get();
    // The sample count header is rewritten with each append.
    out[2] = reinterpret_cast<const void*>(chunk_data_);
    out[3] = reinterpret_cast<const void*>(chunk_data_ + chunk_last_);
  }

  // (pending, deleted, ooo: declared next to mu, above, so that they share
  // its 8 bytes and the pointer adds none.)
  // Heap bytes held by this series (estimate).
  size_t MemoryBytes() const;

 private:
  struct TxEntry {
    uint64_t seq;
    uint64_t start;
  };
  // A full chunk: immutable; its bytes in the chunk mapper (mapped_ref !=
  // 0, data null) or in an exact-size buffer.
  struct CutChunk {
    int64_t min_time;
    int64_t max_time;
    std::unique_ptr<char[]> data;
    uint32_t size;
    uint32_t num_samples;
    uint64_t mapped_ref;
  };

  absl::Status CutNewChunk(int64_t t, const ChunkEnv& env);
  // Cuts a new chunk if a sample at `t` must start one (Append's rule);
  // counts it in *new_chunks.
  absl::Status CutIfDue(int64_t t, const ChunkEnv& env, uint64_t* new_chunks);
  // Enters transaction `seq` in tx_ (once per seq; drops entries at or
  // below low_watermark, raises *depends_on to later open ones).
  void LogTx(uint64_t seq, uint64_t low_watermark, uint64_t* depends_on);
  // Refreshes chunk_data_/chunk_last_ after appending to open_.
  void UpdateChunkHints();
  ChunkView ChunkAt(size_t i, uint64_t first_index) const;

  SeriesRef ref_;
  const uint64_t hash_;
  const std::unique_ptr<uint32_t[]> ids_;
  const uint32_t num_labels_;

  uint32_t open_count_ = 0;       // samples in open_
  bool last_value_known_ = true;  // false after AttachMappedChunks
  // Offset of the open chunk's last byte at the last Append, saturated (a
  // hint only; here it fills padding).
  uint16_t chunk_last_ = 0;
  // 32 bits: chunk ids have 24 (HeadChunkRef); this keeps MemSeries at 168
  // bytes, which malloc rounds to 176 (the size it had before chunk_data_).
  uint32_t first_chunk_id_ = 0;
  int64_t max_time_ = std::numeric_limits<int64_t>::min();
  double last_value_ = 0;
  int64_t next_at_ = std::numeric_limits<int64_t>::min();
  int64_t open_min_time_ = 0;
  uint64_t appended_ = 0;  // samples ever appended
  std::unique_ptr<chunkenc::Chunk> open_;
  std::unique_ptr<chunkenc::ChunkAppender> app_;
  // Address of the open chunk's bytes at the last Append: a prefetch hint
  // only (may be stale; an integer, so it is never used as a pointer).
  uintptr_t chunk_data_ = 0;
  std::vector<CutChunk> cut_;
  absl::InlinedVector<TxEntry, 1> tx_;
};

// Starts loading every cache line of `s` for writing (an append reaches
// from its lock to its transaction log at the end; malloc aligns to 16, so
// the object may span one more line than its size suggests). Null is
// ignored; never faults.
inline void PrefetchWholeSeries(const MemSeries* s) {
  if (s == nullptr) return;
  const char* p = reinterpret_cast<const char*>(s);
  for (size_t off = 0; off < sizeof(MemSeries); off += 64) {
    __builtin_prefetch(p + off, 1);
  }
  __builtin_prefetch(p + sizeof(MemSeries) - 1, 1);
}

}  // namespace tsdb::head

#endif  // TSDB_HEAD_SERIES_H_
