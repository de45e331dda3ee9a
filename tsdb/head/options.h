// Options and extension hooks of the in-memory head block.
//
// HeadOptions carries Prometheus 2.42's defaults. The head owns none of the
// pointers it is given here: the codec registry, the commit log, the
// lifecycle callback and the chunk listener must outlive the Head.
//
// The hooks are how the rest of the engine attaches to the head:
//  - CommitLog: the write-ahead log. Commit hands it the batch's new series
//    and samples before anything becomes visible; if it fails, nothing does.
//  - SeriesLifecycleCallback: limits and bookkeeping on series creation and
//    garbage collection (Prometheus's SeriesLifecycleCallback).
//  - ChunkCutListener: told about each full chunk when it is cut, so that it
//    can be written to `chunks_head` (m-mapped head chunks).
//
// Thread safety: every hook may be called from several threads at once
// (appenders commit concurrently); implementations synchronize themselves.
#ifndef TSDB_HEAD_OPTIONS_H_
#define TSDB_HEAD_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "tsdb/chunkenc/chunk.h"
#include "tsdb/chunkenc/registry.h"
#include "tsdb/labels/labels.h"
#include "tsdb/postings/postings.h"

namespace tsdb::chunks {
class ChunkDiskMapper;  // tsdb/chunks/head_chunks.h
}  // namespace tsdb::chunks

namespace tsdb::head {

// Prometheus's DefaultBlockDuration: the head chunk range (2h, in ms).
inline constexpr int64_t kDefaultChunkRange = int64_t{2} * 60 * 60 * 1000;
// Prometheus's DefaultStripeSize.
inline constexpr size_t kDefaultStripeSize = 16384;
// Prometheus 2.42's samplesPerChunk (a constant there; a hidden flag since
// 2.45).
inline constexpr int kDefaultSamplesPerChunk = 120;

// A series created by an appender: one row of the WAL's Series record.
struct SeriesRecord {
  SeriesRef ref = 0;
  labels::Labels labels;
};

// One float sample: one row of the WAL's Samples record.
struct SampleRecord {
  SeriesRef ref = 0;
  int64_t t = 0;
  double v = 0;
};

// The write-ahead log as the head sees it.
class CommitLog {
 public:
  virtual ~CommitLog() = default;

  // Persists a batch. Called by HeadAppender::Commit before any of the
  // batch's samples becomes visible (with the series the batch created and
  // its samples in append order), and by HeadAppender::Rollback with the
  // created series and no samples (series exist in memory whatever happens
  // to the batch, so their records must be logged). A non-OK status fails
  // the Commit and nothing of the batch becomes visible.
  [[nodiscard]] virtual absl::Status Log(
      const std::vector<SeriesRecord>& new_series,
      const std::vector<SampleRecord>& samples) = 0;
};

// Told about series creation and deletion (Prometheus's
// SeriesLifecycleCallback). The default methods do nothing.
class SeriesLifecycleCallback {
 public:
  virtual ~SeriesLifecycleCallback() = default;

  // Called before a series is created; a non-OK status refuses the creation
  // (e.g. a series limit) and is returned by the Append that asked for it.
  // May be called for a series that a concurrent appender then creates
  // first, in which case PostCreation is not called for this attempt.
  [[nodiscard]] virtual absl::Status PreCreation(const labels::Labels& lset) {
    (void)lset;
    return absl::OkStatus();
  }
  // Called after a series was created and indexed.
  virtual void PostCreation(const labels::Labels& lset) { (void)lset; }
  // Called after series were garbage-collected by Head::Truncate.
  virtual void PostDeletion(const std::vector<labels::Labels>& deleted) {
    (void)deleted;
  }
};

// A full head chunk that was just cut.
struct CutChunkInfo {
  SeriesRef series = 0;
  uint64_t chunk_id = 0;  // the series' chunk id (see head.h, HeadChunkRef)
  int64_t min_time = 0;
  int64_t max_time = 0;
  int num_samples = 0;
  uint8_t encoding = 0;
  std::string_view bytes;  // valid during the call only
};

// Told about each chunk when it is cut (it is then immutable).
class ChunkCutListener {
 public:
  virtual ~ChunkCutListener() = default;
  // Called from Commit with the series' lock held: keep it short (buffer
  // the bytes) and do not call back into the head.
  virtual void OnChunkCut(const CutChunkInfo& chunk) = 0;
};

// A chunk in the chunk mapper (chunks_head), attached to its series at
// start-up (Head::AttachMappedChunks).
struct MappedChunk {
  uint64_t ref = 0;  // chunks::ChunkDiskMapperRef
  int64_t min_time = 0;
  int64_t max_time = 0;
  uint32_t num_samples = 0;
};

struct HeadOptions {
  // Codecs by encoding byte; required. Head chunks are encoded with
  // `encoding` (1 = XOR, Prometheus's only float encoding).
  const chunkenc::CodecRegistry* codecs = nullptr;
  uint8_t encoding = 1;

  // Width of the aligned ranges head chunks never cross, and twice the
  // distance behind the head's max time that appends may go (Prometheus's
  // chunkRange = min block duration).
  int64_t chunk_range = kDefaultChunkRange;

  // Number of lock stripes of the series maps (power of two).
  size_t stripe_size = kDefaultStripeSize;

  // Target samples per head chunk (2.42: 120); a chunk is cut at twice this
  // at the latest.
  int samples_per_chunk = kDefaultSamplesPerChunk;

  // Hooks; all optional (nullptr = none).
  CommitLog* commit_log = nullptr;
  SeriesLifecycleCallback* lifecycle = nullptr;
  ChunkCutListener* chunk_cut_listener = nullptr;

  // M-mapped head chunks (`chunks_head`, Prometheus's chunkDiskMapper).
  // When set, a chunk is written to the mapper when it is cut (with the
  // series lock held, as Prometheus's mmapCurrentHeadChunk) and the series
  // keeps only (mapper ref, mint, maxt, sample count); readers read it back
  // through the mapper. A failed write keeps the bytes in memory (counted in
  // HeadStats::chunk_map_failures). Head::Truncate also truncates the
  // mapper. REQUIRES: the mapper's start-up scan (IterateAllChunks, e.g.
  // chunks::LoadMappedChunks) ran before the head is used.
  chunks::ChunkDiskMapper* chunk_mapper = nullptr;

  // Out-of-order ingestion (Prometheus 2.39+ `out_of_order_time_window`,
  // in ms; 0 = off, the default). With a window W > 0, a sample that cannot
  // be appended in order (older than its series' last sample, or older than
  // MinValidTime()) but is >= MaxTime() - W is kept in the series'
  // out-of-order store; older ones fail with "too old sample". See head.h.
  int64_t ooo_time_window = 0;
  // Samples per out-of-order chunk (Prometheus's OutOfOrderCapMax, 32).
  int ooo_cap_max = 32;
  // The write-behind log (`wbl/`): Commit logs the batch's out-of-order
  // samples here (CommitLog::Log with no series) after the WAL and before
  // any sample of the batch becomes visible. Optional (nullptr = none).
  CommitLog* ooo_commit_log = nullptr;
};

}  // namespace tsdb::head

#endif  // TSDB_HEAD_OPTIONS_H_
