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
// Out-of-order samples (HeadOptions::ooo_time_window W > 0; Prometheus
// 2.39+): a sample that cannot be appended in order (older than its series'
// last sample or than MinValidTime()) but is >= MaxTime() - W (MaxTime() as
// of the batch's first Append) goes to the series' out-of-order store
// (ooo.h); an older one fails with "too old sample" (Prometheus's
// ErrTooOldSample) instead of "out of order sample" / "out of bounds". An
// out-of-order sample whose timestamp is already in the series' open
// out-of-order chunk is dropped silently (the first one stays, Prometheus's
// OOOChunk.Insert). Commit logs every sample of the batch to the WAL
// (commit_log, as Prometheus 2.42 does), then the out-of-order ones to the
// WBL (ooo_commit_log, one Samples record); if either write fails nothing
// becomes visible. Out-of-order samples become visible with their commit
// (isolation applies to them too); they do not move MinTime()/MaxTime().
// Readers return them as extra chunks of each series (ids with
// kOooChunkFlag), sorted with the in-order chunks by min time and possibly
// overlapping them; querier::Select merges overlapping chunks. They are
// not dropped by Truncate: the DB compacts them into blocks through
// FreezeOoo / FrozenOooReaders / DropFrozenOoo (below). Replay appenders
// never classify samples as out of order (the WBL replay,
// ReplayOooSamples, restores them). Not done: writing out-of-order chunks
// to chunks_head (they stay in memory).
//
// Chunk snapshot (Prometheus's memory snapshot on shutdown; headwal's
// chunk_snapshot.h): ForEachSeriesForSnapshot exports each series' labels
// and open chunk, RestoreSeries recreates a series with its ref, m-mapped
// chunks and open chunk at start-up (head_snapshot.cc).
//
// Thread safety: Head's methods may be called concurrently from any number
// of threads. One HeadAppender is used by one thread at a time; any number
// of appenders may commit concurrently. Readers are safe to share.
#ifndef TSDB_HEAD_HEAD_H_
#define TSDB_HEAD_HEAD_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
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
// Chunk ids with this bit set name out-of-order chunks (their own id space
// of 23 bits); in-order chunk ids stay below it (8M chunks per series).
inline constexpr uint64_t kOooChunkFlag = uint64_t{1} << (kHeadChunkIdBits - 1);
inline bool IsOooChunkRef(ChunkRef ref) { return (ref & kOooChunkFlag) != 0; }

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

  // A hint from a caller that knows the refs it will append next: starts
  // loading the series `soon` (appended a few calls from now) and the ref
  // index entry of `later` (further ahead), so that Append finds them in
  // cache. Refs may be 0, unknown or stale; does nothing before the batch's
  // first Append (lookups need its epoch pin).
  void PrefetchSeries(SeriesRef soon, SeriesRef later) const;

 private:
  friend class Head;
  HeadAppender(Head* head, AppenderOptions opts);

  struct Pending {
    MemSeries* series;
    int64_t last_t;
    double last_v;
    uint32_t num_samples;  // samples of this series still to apply
    bool has_samples;      // in-order ones (last_t, last_v are set)
    bool any_samples;      // in order or out of order
    // MemSeries::AppendHints at first touch: what Commit prefetches.
    const void* hints[4] = {};
  };

  // How a sample relates to its series.
  enum class Kind : uint8_t { kUnchecked, kInOrder, kOoo, kIgnored };

  void Begin(int64_t t);
  // Finds or creates the batch slot of the series and classifies (t, v)
  // against the series' committed samples (*kind). When the sample exactly
  // duplicates the series' last appended sample, sets *ignored_ref to the
  // series' ref instead (and returns no slot). A created series gets its
  // slot even if the sample is then refused.
  absl::StatusOr<uint32_t> Slot(SeriesRef ref, const labels::Labels& lset,
                                int64_t t, double v, SeriesRef* ignored_ref,
                                Kind* kind);
  // Classifies (t, v) against the committed samples of `s` (REQUIRES s.mu).
  absl::Status ClassifyCommitted(const MemSeries& s, int64_t t, double v,
                                 Kind* kind);
  // A sample that cannot be appended in order: out of order (window), or
  // Prometheus's error for it.
  absl::Status NotInOrder(int64_t t, Kind* kind);
  // Adds an out-of-order sample to the batch.
  SeriesRef AddOoo(uint32_t slot, int64_t t, double v);
  void ReleasePending();
  void Reset();

  Head* const head_;
  const AppenderOptions opts_;
  CommitLog* const log_;  // nullptr: no log (none configured, or replay)
  bool open_ = false;
  uint64_t epoch_ = 0;
  int64_t min_valid_time_ = std::numeric_limits<int64_t>::min();
  const int64_t ooo_window_;  // 0: no out-of-order samples (or replay)
  int64_t ooo_min_t_ = std::numeric_limits<int64_t>::max();  // MaxTime - W
  int64_t mint_ = std::numeric_limits<int64_t>::max();
  int64_t maxt_ = std::numeric_limits<int64_t>::min();
  std::vector<Pending> pending_;
  SlotMap slots_;  // series ref -> pending_ index
  std::vector<SeriesRecord> new_series_;
  std::vector<SampleRecord> samples_;
  std::vector<uint32_t> sample_slots_;     // parallel to samples_; | kOooSlot
  std::vector<SampleRecord> ooo_samples_;  // the out-of-order ones (WBL)
  std::vector<SampleRecord> late_ooo_;     // became out of order at Commit
  uint64_t rejected_too_old_ = 0;
  uint64_t rejected_out_of_order_ = 0;
  uint64_t rejected_out_of_bounds_ = 0;
  uint64_t rejected_duplicate_ = 0;
  // Sequential-ref prefetch (Slot): the last ref looked up, and how many of
  // the recent lookups continued a run of consecutive refs (0..kRunMax).
  SeriesRef last_lookup_ref_ = 0;
  int run_score_ = 0;
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
  // Out-of-order samples (HeadOptions::ooo_time_window): accepted into the
  // out-of-order store (Prometheus's outOfOrderSamplesAppended), refused as
  // "too old sample", dropped as duplicates of the open out-of-order chunk,
  // and in memory now (frozen ones included). Min/max time of those in
  // memory (INT64_MAX / INT64_MIN if none). Failed WBL writes of samples
  // that became out of order only at Commit (kept in memory anyway).
  uint64_t ooo_samples_appended = 0;
  uint64_t ooo_too_old_samples = 0;
  uint64_t ooo_duplicate_samples = 0;
  uint64_t ooo_samples = 0;
  uint64_t ooo_frozen_samples = 0;
  int64_t ooo_min_time = std::numeric_limits<int64_t>::max();
  int64_t ooo_max_time = std::numeric_limits<int64_t>::min();
  uint64_t ooo_late_wbl_failures = 0;
};

// What Head::ReplaySamples did.
struct ReplaySamplesResult {
  uint64_t appended = 0;
  uint64_t skipped = 0;       // not newer than the series' last sample
  uint64_t unknown_refs = 0;  // no such series
  // The first error appending to a chunk (the sample is then dropped).
  absl::Status status;
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
  // Out-of-order samples are returned by default (as extra chunks, see
  // above). exclude_ooo: in-order chunks only (in-order head compaction);
  // only_ooo: out-of-order chunks only.
  bool exclude_ooo = false;
  bool only_ooo = false;
};

// A frozen generation of out-of-order samples (Head::FreezeOoo). min_time /
// max_time are INT64_MAX / INT64_MIN when it holds no sample.
struct OooFreeze {
  uint64_t id = 0;
  int64_t min_time = std::numeric_limits<int64_t>::max();
  int64_t max_time = std::numeric_limits<int64_t>::min();
  uint64_t num_samples = 0;
};

// What Head::ReplayOooSamples did.
struct OooReplayResult {
  uint64_t inserted = 0;
  uint64_t duplicates = 0;    // timestamp already in the open OOO chunk
  uint64_t unknown_refs = 0;  // no such series (as Prometheus, skipped)
};

// Chunk snapshots (Prometheus's memory snapshot on shutdown,
// tsdb/headwal/chunk_snapshot.h): the state of one series, as
// Head::ForEachSeriesForSnapshot exports it and Head::RestoreSeries takes it
// back at start-up.
struct SnapshotOpenChunk {
  int64_t min_time = 0;
  int64_t max_time = 0;  // the series' last sample
  uint8_t encoding = 0;
  std::string bytes;      // the chunk's bytes (a copy)
  double last_value = 0;  // the value of the sample at max_time
};
struct SnapshotSeries {
  SeriesRef ref = 0;
  labels::Labels labels;
  // False for a series whose chunks are all cut (or that has none).
  bool has_open_chunk = false;
  SnapshotOpenChunk open;
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

  // Start-up bulk loading: between BeginBulkLoad() and EndBulkLoad() series
  // may be created in any ref order (a chunk snapshot lists them in hash
  // order) at O(1) each in the inverted index, which EndBulkLoad() sorts
  // once. No querier may read the head in between; the start-up
  // (headwal::OpenHeadFromDir) brackets its restore and replay with them.
  void BeginBulkLoad();
  void EndBulkLoad(int threads = 1);

  // WAL replay: creates the series `lset` with the given ref (refs handed
  // out later are larger). Returns the ref of the series with these labels:
  // `ref`, or the existing series' ref if the labels already exist.
  // AlreadyExists if `ref` belongs to another label set; InvalidArgument for
  // ref 0, a ref above kMaxSeriesRef, or invalid labels. Calls the
  // lifecycle hooks like any creation.
  absl::StatusOr<SeriesRef> CreateSeriesWithRef(SeriesRef ref,
                                                const labels::Labels& lset);

  // CreateSeriesWithRef for each of `in`, with the same results in
  // (*out)[i], but cheaper per series: the lookups' cache misses overlap
  // (each stripe is prefetched a few series ahead), and the symbol table
  // and the inverted index are locked once per batch instead of once per
  // series (so workers creating series concurrently hardly contend).
  // Stops at the first error (series before it in `in` may have been
  // created; they are indexed). Like CreateSeriesWithRef, for start-up:
  // REQUIRES no appender creates series meanwhile (refs are raised past
  // the batch's only at its end).
  struct NewSeries {
    SeriesRef ref = 0;
    const labels::Labels* labels = nullptr;
  };
  absl::Status CreateSeriesWithRefs(absl::Span<const NewSeries> in,
                                    std::vector<SeriesRef>* out);

  // WAL replay of a duplicate series record (Prometheus 2.42's loadWAL):
  // drops every sample of series `ref` appended so far, after which any
  // timestamp may be appended to it. NotFound if there is no such series.
  // REQUIRES: no appender holds pending samples of the series.
  [[nodiscard]] absl::Status DropSeriesSamplesForReplay(SeriesRef ref);

  // WAL replay of a duplicate series record with m-mapped chunks
  // (Prometheus 2.42's resetSeriesWithMMappedChunks): drops every chunk of
  // series `ref` as DropSeriesSamplesForReplay, then makes `chunks` (those
  // written under the duplicate record's ref; may be empty) its chunks as
  // AttachMappedChunks does. NotFound if there is no such series,
  // FailedPrecondition for chunks without a chunk mapper, InvalidArgument
  // for chunks out of order (the series is then left without chunks).
  // REQUIRES: no appender holds pending samples of the series.
  [[nodiscard]] absl::Status ResetSeriesWithMappedChunks(
      SeriesRef ref, const std::vector<MappedChunk>& chunks);

  // WAL replay's append path (Prometheus's processWALSamples): appends each
  // sample directly to series `ref`, the whole call as one commit (readers
  // see all of it or none); no CommitLog, no batch, no "out of bounds"
  // check. A sample not newer than
  // its series' last one (out of order, or a duplicate timestamp, identical
  // or not) is skipped; a ref with no series is counted. Much faster than a
  // replay appender (one visit per sample, series prefetched). REQUIRES:
  // nothing else appends to these series meanwhile (shard replay by ref).
  ReplaySamplesResult ReplaySamples(const SampleRecord* samples, size_t n);

  // Start-up, before the WAL replay appends to series `ref` (Prometheus's
  // loadMmappedChunks): makes `chunks` (chunks in HeadOptions::chunk_mapper,
  // oldest first, each starting after the previous one ended) the series'
  // chunks, visible to every reader; the next sample must be newer than the
  // last chunk's max time. Updates MinTime()/MaxTime(). NotFound if there is
  // no such series, FailedPrecondition if it already holds samples or no
  // chunk mapper is configured, InvalidArgument for chunks out of order.
  [[nodiscard]] absl::Status AttachMappedChunks(
      SeriesRef ref, const std::vector<MappedChunk>& chunks);

  // Chunk snapshot on shutdown: calls fn for every series (any order) with
  // its labels and a copy of its open (in-order) chunk, taken under the
  // series' lock. Out-of-order samples are not exported (the WBL has them).
  // Call after the last append (a concurrent commit may be half exported).
  void ForEachSeriesForSnapshot(
      const std::function<void(const SnapshotSeries&)>& fn) const;

  // Start-up from a chunk snapshot, before the WAL replay (Prometheus's
  // loadChunkSnapshot + loadMmappedChunks): creates series `ref` with
  // `lset`, makes `mapped` (chunks in HeadOptions::chunk_mapper, oldest
  // first; may be empty) its cut chunks and `open` (may be null) its open
  // chunk, all visible at once. As Prometheus, the open chunk is dropped when
  // the last mapped chunk reaches its min time (it was m-mapped after the
  // snapshot) and is never appended to again: the next sample starts a new
  // chunk. Returns whether the open chunk was kept. Updates
  // MinTime()/MaxTime(). AlreadyExists if `ref` or `lset` belongs to
  // another series, InvalidArgument for a ref out of range, invalid labels,
  // chunks out of order or an open chunk whose encoding is not
  // HeadOptions::encoding or whose bytes do not decode (the series then
  // exists without chunks), FailedPrecondition for mapped chunks without a
  // chunk mapper. Safe to call from several threads for different series.
  absl::StatusOr<bool> RestoreSeries(SeriesRef ref, const labels::Labels& lset,
                                     const std::vector<MappedChunk>& mapped,
                                     const SnapshotOpenChunk* open);
  // RestoreSeries' second half, for series created already (e.g. a batch
  // through CreateSeriesWithRefs): attaches `mapped` and `open` to series
  // `ref`. NotFound if there is no such series.
  absl::StatusOr<bool> RestoreSeriesChunks(
      SeriesRef ref, const std::vector<MappedChunk>& mapped,
      const SnapshotOpenChunk* open);

  // Drops chunks whose samples are all before `mint`, garbage-collects
  // series left without chunks and without pending appends (PostDeletion),
  // updates the postings and raises MinTime()/MinValidTime() to at least
  // `mint`. Does nothing if MinTime() >= mint (Prometheus's truncateMemory).
  // Readers opened before keep reading their series safely; their refs to
  // dropped chunks yield NotFound.
  [[nodiscard]] absl::Status Truncate(int64_t mint);

  // A snapshot for reading chunks overlapping [mint, maxt].
  HeadReaders Readers(int64_t mint, int64_t maxt, ReadOptions opts = {});

  // --- Out-of-order compaction (the DB's compactOOOHead) ---
  //
  // Out-of-order samples belong to generations. FreezeOoo atomically ends
  // the live generation: every out-of-order sample inserted so far (by
  // commits that completed their inserts; commits in flight finish first)
  // becomes frozen, later ones go to a fresh live generation. Readers keep
  // seeing frozen and live samples until DropFrozenOoo. Returns the frozen
  // generation (id, time range and sample count of that generation alone;
  // generations frozen earlier and not dropped are not counted). Ids count
  // up from 1.
  //
  // WBL protocol: call wbl->NextSegment() BEFORE FreezeOoo (remember the
  // new segment index N); after the frozen data is persisted and
  // DropFrozenOoo(id), delete WBL segments < N
  // (headwal::DeleteWblSegmentsBefore). Every sample logged in a segment
  // < N was inserted by a commit that FreezeOoo waited for, so it is frozen
  // (a commit holds out FreezeOoo from its WBL write through its inserts).
  OooFreeze FreezeOoo();
  // Readers over the frozen, not yet dropped generations only (out-of-order
  // chunks overlapping [mint, maxt]; no isolation, nothing of them changes
  // any more), for writing them into blocks.
  HeadReaders FrozenOooReaders(int64_t mint, int64_t maxt);
  // Frees the frozen generations <= id (persisted into blocks by the DB).
  // Walks every series. Readers opened before stay safe: chunks their
  // IndexReader listed stay readable through them; series they look up
  // afterwards no longer show the dropped samples.
  void DropFrozenOoo(uint64_t id);

  // WBL replay (after the WAL replay created the series): inserts samples
  // into the out-of-order store of their series (live generation, visible
  // at once), as Prometheus's loadWBL. REQUIRES: nothing appends
  // concurrently to the same series.
  OooReplayResult ReplayOooSamples(const std::vector<SampleRecord>& samples);

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

  // Out-of-order generations. Commits with out-of-order samples hold
  // ooo_mu_ shared from their WBL write through their inserts; FreezeOoo
  // holds it exclusively.
  std::shared_mutex ooo_mu_;
  // Exclusive lockers waiting: new commits let them in first (glibc's
  // rwlock prefers readers, which could starve FreezeOoo).
  std::atomic<int> ooo_exclusive_waiting_{0};
  std::unique_lock<std::shared_mutex> LockOooExclusive();
  std::atomic<uint64_t> ooo_gen_{1};             // the live generation
  std::atomic<uint64_t> ooo_frozen_through_{0};  // frozen: gen <= this
  std::atomic<uint64_t> ooo_dropped_through_{0};
  std::atomic<uint64_t> ooo_live_samples_{0};  // of the live generation
  std::atomic<int64_t> ooo_live_min_{std::numeric_limits<int64_t>::max()};
  std::atomic<int64_t> ooo_live_max_{std::numeric_limits<int64_t>::min()};
  std::atomic<int64_t> ooo_min_{std::numeric_limits<int64_t>::max()};
  std::atomic<int64_t> ooo_max_{std::numeric_limits<int64_t>::min()};
  std::atomic<uint64_t> ooo_samples_{0};  // in memory
  std::atomic<uint64_t> ooo_frozen_samples_{0};
  std::atomic<uint64_t> ooo_appended_{0};
  std::atomic<uint64_t> ooo_too_old_{0};
  std::atomic<uint64_t> ooo_duplicates_{0};
  std::atomic<uint64_t> ooo_late_wbl_failures_{0};
  // Records an insert into the live generation (REQUIRES ooo_mu_ shared).
  void NoteOooInserted(uint64_t n, int64_t mint, int64_t maxt);
};

}  // namespace tsdb::head

#endif  // TSDB_HEAD_HEAD_H_
