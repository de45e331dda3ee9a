// OooSeries: the out-of-order samples of one head series (Prometheus 2.42's
// oooHeadChunk + oooMmappedChunks of memSeries, kept in memory).
//
//   OooSeries o;
//   o.Insert(t, v, /*seq=*/7, /*gen=*/1, /*cap=*/32);  // false: duplicate t
//   for (const OooChunk& c : o.chunks()) ... c.samples (sorted by t) ...
//   o.DropThrough(1);  // frees generations <= 1 (persisted to blocks)
//
// Samples live in chunks of at most `cap` samples (Prometheus's OOOCapMax,
// 32). Only the newest chunk is open: a sample is inserted there in
// timestamp order; when it is full, or belongs to an older generation (see
// Head::FreezeOoo), a new chunk is started. A sample whose timestamp is
// already in the open chunk is refused (Prometheus's OOOChunk.Insert:
// the first one stays); older chunks are not checked, so chunks may overlap
// and hold equal timestamps (readers merge them).
//
// Each sample keeps the sequence number of the commit that inserted it, so
// that readers see exactly the commits their isolation watermark covers
// (isolation.h). Samples are plain (t, v, seq) rows, not XOR-encoded: the
// out-of-order window is meant to be small, and rows make sorted inserts and
// per-sample visibility trivial (24 bytes per sample instead of ~1.4).
//
// Chunk ids count up per series from 0 and are never reused; generations
// are the head's freeze generations (non-decreasing along `chunks()`, so
// DropThrough removes a prefix).
//
// Internal to the head. Thread safety: none; the owning MemSeries' lock
// guards it.
#ifndef TSDB_HEAD_OOO_H_
#define TSDB_HEAD_OOO_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tsdb::head {

// Prometheus's DefaultOutOfOrderCapMax: samples per out-of-order chunk.
inline constexpr int kDefaultOooCapMax = 32;

struct OooSample {
  int64_t t;
  double v;
  uint64_t seq;  // commit sequence number (0: replayed, always visible)
};

struct OooChunk {
  uint64_t id = 0;                 // per-series id, counting up
  uint64_t gen = 0;                // freeze generation it belongs to
  std::vector<OooSample> samples;  // sorted by t, timestamps unique
};

class OooSeries final {
 public:
  OooSeries() = default;
  OooSeries(const OooSeries&) = delete;
  OooSeries& operator=(const OooSeries&) = delete;

  // Inserts (t, v) into the open chunk of generation `gen`, starting a new
  // chunk first if there is none, it is full (`cap` samples) or of an older
  // generation. Returns false (and stores nothing) if the open chunk already
  // holds timestamp t.
  bool Insert(int64_t t, double v, uint64_t seq, uint64_t gen, size_t cap);

  // Removes the chunks of generations <= gen; returns the samples removed.
  size_t DropThrough(uint64_t gen);

  const std::vector<OooChunk>& chunks() const { return chunks_; }
  bool empty() const { return chunks_.empty(); }
  // The chunk with id `id` (compared modulo 2^bits), or nullptr.
  const OooChunk* Find(uint64_t id, int bits) const;
  // Heap bytes (estimate).
  size_t MemoryBytes() const;

 private:
  std::vector<OooChunk> chunks_;
  uint64_t next_id_ = 0;
};

}  // namespace tsdb::head

#endif  // TSDB_HEAD_OOO_H_
