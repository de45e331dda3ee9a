// Head: the in-memory block of the most recent samples (Prometheus's Head),
// usable on its own.
//
//   tsdb::chunkenc::CodecRegistry codecs;
//   TSDB_RETURN_IF_ERROR(tsdb::chunkenc::RegisterXorCodec(codecs));
//   tsdb::head::HeadOptions opts;
//   opts.codecs = &codecs;
//   TSDB_ASSIGN_OR_RETURN(std::unique_ptr<Head> head, Head::Open(opts));
//
//   std::unique_ptr<HeadAppender> app = head->Appender();
//   TSDB_ASSIGN_OR_RETURN(SeriesRef ref, app->Append(0, lset, t, v));
//   TSDB_ASSIGN_OR_RETURN(ref, app->Append(ref, {}, t + 15000, v2));  // fast
//   TSDB_RETURN_IF_ERROR(app->Commit());
//
//   HeadReaders r = head->Readers(mint, maxt);   // IndexReader + ChunkReader
//
// Write path: an appender buffers samples, validating each against the
// series' appended samples and its own pending ones (Prometheus 2.42's
// rules and messages, FailedPrecondition): "out of bounds" (before
// MinValidTime()), "out of order sample", "duplicate sample for timestamp"
// (same timestamp, different value bits; identical bits are accepted and
// dropped). Invalid label sets fail with InvalidArgument
// (labels::Labels::Validate). Commit logs the batch through the CommitLog
// hook, then appends to the series' chunks and makes the whole batch visible
// at once (isolation.h).
//
// Series refs count up from 1 (Prometheus's HeadSeriesRef, the refs the WAL
// stores) and are at most kMaxSeriesRef. Labels are interned (symbols.h).
//
// Read path: Readers() returns an IndexReader and a ChunkReader
// (tsdb/block/reader_interface.h) over a consistent snapshot: commits that
// end after it was taken stay invisible to it. Chunk refs are HeadChunkRefs,
// (series ref << 24) | (chunk id & 0xFFFFFF); a ref to a chunk dropped by
// Truncate yields NotFound, never another chunk. Chunks returned are
// snapshots owned by the caller (the open chunk included).
//
// M-mapped chunks: with HeadOptions::chunk_mapper set, each cut chunk is
// written to chunks_head at once and only its (mapper ref, mint, maxt,
// sample count) stays in memory; the ChunkReader reads it back through the
// mapper (ReadChunk + the codec's FromBytes). A chunk read after a Truncate
// deleted its file yields NotFound, as any truncated chunk.
//
// Thread safety: Head's methods may be called concurrently from any number
// of threads. One HeadAppender is used by one thread at a time; any number
// of appenders may commit concurrently. Readers are safe to share.
#ifndef TSDB_HEAD_HEAD_H_
#define TSDB_HEAD_HEAD_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/block/reader_interface.h"
#include "tsdb/chunkenc/chunk.h"
#include "tsdb/head/options.h"
#include "tsdb/head/slot_map.h"
#include "tsdb/labels/labels.h"
#include "tsdb/postings/mem_postings.h"

namespace tsdb::head {

class EpochReclaimer;
class Head;
class Isolation;
class MemSeries;
class StripeSeries;
class SymbolTable;
struct ChunkEnv;

// Head chunk references: Prometheus's HeadChunkRef layout.
inline constexpr int kHeadChunkIdBits = 24;
inline constexpr uint64_t kHeadChunkIdMask =
    (uint64_t{1} << kHeadChunkIdBits) - 1;
inline constexpr SeriesRef kMaxSeriesRef =
    (uint64_t{1} << (64 - kHeadChunkIdBits)) - 1;

inline ChunkRef PackHeadChunkRef(SeriesRef series, uint64_t chunk_id) {
  return (series << kHeadChunkIdBits) | (chunk_id & kHeadChunkIdMask);
}
inline SeriesRef HeadChunkRefSeries(ChunkRef ref) {
  return ref >> kHeadChunkIdBits;
}
inline uint64_t HeadChunkRefId(ChunkRef ref) { return ref & kHeadChunkIdMask; }

struct AppenderOptions {
  // WAL replay: samples are not passed to the CommitLog and the "out of
  // bounds" check is skipped (replayed samples are trusted to be in range).
  bool replay = false;
};

// Buffers a batch of samples and commits it atomically.
//
// An appender may be reused: after Commit or Rollback it starts a new batch.
// Destroying it with a batch open rolls the batch back. An open batch holds
// an epoch pin (isolation.h) that delays freeing garbage-collected series:
// commit or roll back promptly.
//
// Thread safety: one thread at a time.
class HeadAppender final {
 public:
  ~HeadAppender();
  HeadAppender(const HeadAppender&) = delete;
  HeadAppender& operator=(const HeadAppender&) = delete;

  // Adds sample (t, v) to the batch and returns the series' ref. A non-zero
  // `ref` of a live series skips the label lookup (`lset` is then ignored);
  // with ref 0 or an unknown ref the series is found, or created, by `lset`.
  // Validation errors leave the batch as it was.
  absl::StatusOr<SeriesRef> Append(SeriesRef ref, const labels::Labels& lset,
                                   int64_t t, double v);

  // Logs the batch (HeadOptions::commit_log), then appends it to the series
  // and makes it visible, all at once to every reader. If logging fails,
  // nothing becomes visible and the error is returned. Samples that a
  // concurrent commit made out of order since Append are dropped (counted
  // in HeadStats::commit_dropped), as Prometheus does.
  [[nodiscard]] absl::Status Commit();

  // Drops the batch. Series it created stay (they exist in memory from
  // Append on) and are logged without samples.
  [[nodiscard]] absl::Status Rollback();

  // Samples in the open batch.
  size_t pending_samples() const { return samples_.size(); }

 private:
  friend class Head;
  HeadAppender(Head* head, AppenderOptions opts);

  struct Pending {
    MemSeries* series;
    int64_t last_t;
    double last_v;
    uint32_t num_samples;  // samples of this series still to apply
    bool has_samples;
  };

  void Begin(int64_t t);
  // Finds or creates the batch slot of the series. When the sample exactly
  // duplicates the series' last appended sample, sets *ignored_ref to the
  // series' ref instead (and returns no slot).
  absl::StatusOr<uint32_t> Slot(SeriesRef ref, const labels::Labels& lset,
                                int64_t t, double v, SeriesRef* ignored_ref);
  void ReleasePending();
  void Reset();

  Head* const head_;
  const AppenderOptions opts_;
  CommitLog* const log_;  // nullptr: no log (none configured, or replay)
  bool open_ = false;
  uint64_t epoch_ = 0;
  int64_t min_valid_time_ = std::numeric_limits<int64_t>::min();
  int64_t mint_ = std::numeric_limits<int64_t>::max();
  int64_t maxt_ = std::numeric_limits<int64_t>::min();
  std::vector<Pending> pending_;
  SlotMap slots_;  // series ref -> pending_ index
  std::vector<SeriesRecord> new_series_;
  std::vector<SampleRecord> samples_;
  std::vector<uint32_t> sample_slots_;  // parallel to samples_
  uint64_t rejected_out_of_order_ = 0;
  uint64_t rejected_out_of_bounds_ = 0;
  uint64_t rejected_duplicate_ = 0;
};

struct HeadStats {
  uint64_t num_series = 0;
  uint64_t num_chunks = 0;  // full + open chunks in memory
  // Min and max sample time; INT64_MAX / INT64_MIN while empty.
  int64_t min_time = std::numeric_limits<int64_t>::max();
  int64_t max_time = std::numeric_limits<int64_t>::min();
  int64_t min_valid_time = std::numeric_limits<int64_t>::min();
  uint64_t series_created = 0;
  uint64_t series_removed = 0;
  uint64_t chunks_created = 0;
  uint64_t chunks_removed = 0;
  uint64_t samples_appended = 0;
  uint64_t out_of_order_samples = 0;  // rejected at Append
  uint64_t out_of_bound_samples = 0;
  uint64_t duplicate_samples = 0;
  uint64_t commit_dropped = 0;  // became out of order between Append/Commit
  // HeadOptions::chunk_mapper: cut chunks written to it (their bytes left
  // memory), failed writes (those chunks stay in memory), chunks attached at
  // start-up.
  uint64_t chunks_mapped = 0;
  uint64_t chunk_map_failures = 0;
  uint64_t chunks_attached = 0;
};

// Estimated heap bytes by part (walks every series: O(series)).
struct HeadMemoryStats {
  size_t series = 0;    // series objects, label ids, chunks
  size_t symbols = 0;   // interned strings
  size_t postings = 0;  // inverted index
  size_t stripes = 0;   // series maps
  size_t total = 0;
};

struct ReadOptions {
  // False: see every appended sample, including parts of commits still in
  // progress (Prometheus disables isolation for head compaction).
  bool isolation = true;
};

// An IndexReader and a ChunkReader over one snapshot of the head. They may
// be destroyed in any order; the snapshot is released with the last one.
// Neither may outlive the Head.
struct HeadReaders {
  std::unique_ptr<IndexReader> index;
  std::unique_ptr<ChunkReader> chunks;
};

class Head final {
 public:
  // InvalidArgument for bad options (no codec registry, an encoding it
  // lacks, a stripe size that is not a power of two, a chunk range <= 0).
  static absl::StatusOr<std::unique_ptr<Head>> Open(const HeadOptions& opts);
  ~Head();
  Head(const Head&) = delete;
  Head& operator=(const Head&) = delete;

  std::unique_ptr<HeadAppender> Appender(AppenderOptions opts = {});

  // WAL replay: creates the series `lset` with the given ref (refs handed
  // out later are larger). Returns the ref of the series with these labels:
  // `ref`, or the existing series' ref if the labels already exist.
  // AlreadyExists if `ref` belongs to another label set; InvalidArgument for
  // ref 0, a ref above kMaxSeriesRef, or invalid labels. Calls the
  // lifecycle hooks like any creation.
  absl::StatusOr<SeriesRef> CreateSeriesWithRef(SeriesRef ref,
                                                const labels::Labels& lset);

  // WAL replay of a duplicate series record (Prometheus 2.42's loadWAL):
  // drops every sample of series `ref` appended so far, after which any
  // timestamp may be appended to it. NotFound if there is no such series.
  // REQUIRES: no appender holds pending samples of the series.
  [[nodiscard]] absl::Status DropSeriesSamplesForReplay(SeriesRef ref);

  // Start-up, before the WAL replay appends to series `ref` (Prometheus's
  // loadMmappedChunks): makes `chunks` (chunks in HeadOptions::chunk_mapper,
  // oldest first, each starting after the previous one ended) the series'
  // chunks, visible to every reader; the next sample must be newer than the
  // last chunk's max time. Updates MinTime()/MaxTime(). NotFound if there is
  // no such series, FailedPrecondition if it already holds samples or no
  // chunk mapper is configured, InvalidArgument for chunks out of order.
  [[nodiscard]] absl::Status AttachMappedChunks(
      SeriesRef ref, const std::vector<MappedChunk>& chunks);

  // Drops chunks whose samples are all before `mint`, garbage-collects
  // series left without chunks and without pending appends (PostDeletion),
  // updates the postings and raises MinTime()/MinValidTime() to at least
  // `mint`. Does nothing if MinTime() >= mint (Prometheus's truncateMemory).
  // Readers opened before keep reading their series safely; their refs to
  // dropped chunks yield NotFound.
  [[nodiscard]] absl::Status Truncate(int64_t mint);

  // A snapshot for reading chunks overlapping [mint, maxt].
  HeadReaders Readers(int64_t mint, int64_t maxt, ReadOptions opts = {});

  // The labels of series `ref`; NotFound if there is none.
  absl::StatusOr<labels::Labels> SeriesLabels(SeriesRef ref) const;
  // The ref of the series `lset`, or 0 (Prometheus's GetRef).
  SeriesRef GetRef(const labels::Labels& lset) const;

  int64_t MinTime() const { return min_time_.load(std::memory_order_acquire); }
  int64_t MaxTime() const { return max_time_.load(std::memory_order_acquire); }
  // No sample older than this is accepted (except by replay).
  int64_t MinValidTime() const {
    return min_valid_time_.load(std::memory_order_acquire);
  }
  // Whether any sample was ever appended (MinTime is set).
  bool initialized() const {
    return MinTime() != std::numeric_limits<int64_t>::max();
  }
  // WAL replay: refs handed out later are larger than `ref` (Prometheus's
  // lastSeriesID after replay, which counts duplicate series records too).
  void AdvanceLastSeriesRef(SeriesRef ref) {
    SeriesRef last = last_ref_.load(std::memory_order_relaxed);
    while (last < ref && !last_ref_.compare_exchange_weak(
                             last, ref, std::memory_order_acq_rel)) {
    }
  }
  // The highest series ref handed out so far.
  SeriesRef LastSeriesRef() const {
    return last_ref_.load(std::memory_order_acquire);
  }
  const HeadOptions& options() const { return opts_; }

  HeadStats Stats() const;
  HeadMemoryStats MemoryStats() const;

 private:
  friend class HeadAppender;
  friend class HeadIndexReader;
  friend class HeadChunkReader;
  friend class HeadReadState;

  Head(const HeadOptions& opts, const chunkenc::ChunkCodec* codec);

  struct GetOrCreateResult {
    MemSeries* series;
    bool created;
  };
  // Finds or creates the series `lset`. A created series starts with one
  // pending append (the caller's). REQUIRES: an epoch pin (lookups are
  // lock-free).
  absl::StatusOr<GetOrCreateResult> GetOrCreate(const labels::Labels& lset);
  MemSeries* FindByLabels(const labels::Labels& lset, uint64_t hash) const;
  bool LabelsEqual(const MemSeries& s, const labels::Labels& lset) const;
  labels::Labels LabelsOf(const MemSeries& s) const;
  int Compare(const MemSeries& a, const MemSeries& b) const;

  void InitTime(int64_t t);
  void UpdateMinMaxTime(int64_t mint, int64_t maxt);
  int64_t AppendableMinValidTime() const;
  void FreeSeries(MemSeries* s);
  // Frees what garbage collection retired and no pin can reach any more.
  void Reclaim();

  const HeadOptions opts_;
  const chunkenc::ChunkCodec* const codec_;
  std::unique_ptr<ChunkEnv> env_;
  std::unique_ptr<SymbolTable> symbols_;
  std::unique_ptr<EpochReclaimer> reclaimer_;
  std::unique_ptr<StripeSeries> series_;
  std::unique_ptr<postings::MemPostings> postings_;
  std::unique_ptr<Isolation> iso_;
  std::mutex truncate_mu_;

  std::atomic<SeriesRef> last_ref_{0};
  std::atomic<int64_t> min_time_{std::numeric_limits<int64_t>::max()};
  std::atomic<int64_t> max_time_{std::numeric_limits<int64_t>::min()};
  std::atomic<int64_t> min_valid_time_{std::numeric_limits<int64_t>::min()};

  std::atomic<uint64_t> num_series_{0};
  std::atomic<uint64_t> num_chunks_{0};
  std::atomic<uint64_t> series_created_{0};
  std::atomic<uint64_t> series_removed_{0};
  std::atomic<uint64_t> chunks_created_{0};
  std::atomic<uint64_t> chunks_removed_{0};
  std::atomic<uint64_t> samples_appended_{0};
  std::atomic<uint64_t> out_of_order_{0};
  std::atomic<uint64_t> out_of_bounds_{0};
  std::atomic<uint64_t> duplicates_{0};
  std::atomic<uint64_t> commit_dropped_{0};
  std::atomic<uint64_t> chunks_mapped_{0};
  std::atomic<uint64_t> chunk_map_failures_{0};
  std::atomic<uint64_t> chunks_attached_{0};
};

}  // namespace tsdb::head

#endif  // TSDB_HEAD_HEAD_H_
