#include "tsdb/headwal/headwal.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "tsdb/base/page_buffer.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/record/record.h"
#include "tsdb/wal/reader.h"
#include "tsdb/wal/replay.h"

namespace tsdb::headwal {
namespace {

absl::Status NoWal() {
  return absl::FailedPreconditionError("headwal: commit log has no WAL yet");
}

}  // namespace

absl::Status WalCommitLog::Log(
    const std::vector<head::SeriesRecord>& new_series,
    const std::vector<head::SampleRecord>& samples) {
  std::string series_rec;
  std::string samples_rec;
  std::string_view recs[2];
  size_t n = 0;
  if (!new_series.empty()) {
    std::vector<record::RefSeries> s;
    s.reserve(new_series.size());
    for (const head::SeriesRecord& r : new_series) {
      s.push_back(record::RefSeries{r.ref, r.labels});
    }
    record::EncodeSeries(s, &series_rec);
    recs[n++] = series_rec;
  }
  if (!samples.empty()) {
    // Straight from the appender's rows (no RefSample copy).
    record::EncodeSamplesOf(samples.data(), samples.size(), &samples_rec);
    recs[n++] = samples_rec;
  }
  if (n == 0) return absl::OkStatus();
  if (wal_ == nullptr) return NoWal();
  return wal_->Log(absl::MakeConstSpan(recs, n));
}

namespace {

// Room for n head::SampleRecords, not value-initialized (an implicit-lifetime
// aggregate; OnSamples writes each one it hands on): a vector's resize
// zeroed the whole batch on every call. In huge pages: OnSamples scatters
// into it at random.
class RecordBuffer {
 public:
  head::SampleRecord* Get(size_t n) {
    if (n * sizeof(head::SampleRecord) > mem_.size()) {
      mem_ = PageBuffer(n * sizeof(head::SampleRecord));
    }
    return static_cast<head::SampleRecord*>(mem_.data());
  }

 private:
  PageBuffer mem_;
};

// Applies replayed records to the head; one replay appender per shard.
class HeadVisitor final : public wal::ReplayVisitor {
 public:
  HeadVisitor(head::Head* head, int workers, int64_t min_valid_time,
              const chunks::MappedChunks* mapped)
      : head_(head),
        min_valid_time_(min_valid_time),
        mapped_(mapped),
        mmaxt_(workers),
        batches_(workers),
        sort_tmp_(workers),
        kept_(workers),
        counts_(workers) {
    if (mapped_ != nullptr) {
      // One map per shard (ref % workers, as the replay driver shards), only
      // touched by that shard's worker once the replay runs.
      for (const auto& [ref, list] : mapped_->by_series) {
        if (!list.empty()) {
          mmaxt_[ref % workers][ref] = list.back().max_time;
        }
      }
    }
  }

  // Series are created on the workers, each shard's own (the head's
  // indexes are concurrent; creating 100k series was a tenth of a second of
  // serial work at start-up).
  // (OnShardSeries: the default, OnSeries on the shard's worker.)
  bool SeriesOnShards() const override { return true; }

  absl::Status OnSeries(const std::vector<record::RefSeries>& series) override {
    std::vector<head::Head::NewSeries> in(series.size());
    for (size_t i = 0; i < series.size(); ++i) {
      in[i] = head::Head::NewSeries{series[i].ref, &series[i].labels};
    }
    std::vector<SeriesRef> got;
    TSDB_RETURN_IF_ERROR(head_->CreateSeriesWithRefs(in, &got));
    for (size_t i = 0; i < series.size(); ++i) {
      const record::RefSeries& s = series[i];
      if (got[i] != s.ref) {
        // The driver maps repeated label sets itself; a different ref here
        // means the head already held the series (replay into a non-empty
        // head), which is not supported.
        return absl::FailedPreconditionError(
            absl::StrCat("headwal: series ", s.ref, " ", s.labels.ToString(),
                         " already exists in the head as ", got[i]));
      }
      created_.fetch_add(1, std::memory_order_relaxed);
      if (mapped_ != nullptr) TSDB_RETURN_IF_ERROR(Attach(s.ref));
    }
    return absl::OkStatus();
  }

  // Attaches the m-mapped chunks of a series just created.
  absl::Status Attach(uint64_t ref) {
    auto it = mapped_->by_series.find(ref);
    if (it == mapped_->by_series.end() || it->second.empty()) {
      return absl::OkStatus();
    }
    std::vector<head::MappedChunk> list;
    list.reserve(it->second.size());
    for (const chunks::MappedChunkInfo& c : it->second) {
      list.push_back(
          head::MappedChunk{c.ref, c.min_time, c.max_time, c.num_samples});
    }
    TSDB_RETURN_IF_ERROR(head_->AttachMappedChunks(ref, list));
    attached_.fetch_add(static_cast<int64_t>(list.size()),
                        std::memory_order_relaxed);
    mapped_series_.fetch_add(1, std::memory_order_relaxed);
    return absl::OkStatus();
  }

  // The samples are handed to the head sorted by ref (a stable LSD radix
  // sort fused with the filtering; one pass while refs fit in 17 bits):
  // the replay driver's batches (up to 512Ki samples) span several scrapes
  // of each series, so the head then visits each series once per batch
  // (one lookup, one lock, its memory in cache for all its samples) instead
  // of once per sample, which missed the cache on the series and its chunk
  // every time. Each series keeps its samples' order.
  absl::Status OnSamples(int shard,
                         absl::Span<const record::RefSample> samples) override {
    int64_t too_old = 0, in_mapped = 0;
    const absl::flat_hash_map<uint64_t, int64_t>& mmaxt = mmaxt_[shard];
    const bool check_mapped = !mmaxt.empty();
    auto keep = [&](const record::RefSample& s) {
      if (s.t < min_valid_time_) {
        ++too_old;
        return false;
      }
      if (check_mapped) {
        auto it = mmaxt.find(s.ref);
        if (it != mmaxt.end() && s.t <= it->second) {
          ++in_mapped;  // already in an m-mapped chunk
          return false;
        }
      }
      return true;
    };
    uint64_t max_ref = 0;
    bool sorted = true;
    for (size_t i = 0; i < samples.size(); ++i) {
      max_ref = std::max<uint64_t>(max_ref, samples[i].ref);
      if (i > 0 && samples[i].ref < samples[i - 1].ref) sorted = false;
    }
    // The records for the head: batch[0, n).
    head::SampleRecord* batch = batches_[shard].Get(samples.size());
    size_t n = 0;
    if (sorted || samples.size() < 4096) {
      for (const record::RefSample& s : samples) {
        if (keep(s)) batch[n++] = head::SampleRecord{s.ref, s.t, s.v};
      }
    } else {
      const int used = 64 - __builtin_clzll(max_ref | 1);
      // One pass (exact order) while the counts fit in L2-sized memory.
      const int passes = used <= 17 ? 1 : (used + 10) / 11;
      const int width = (used + passes - 1) / passes;
      const uint64_t mask = (uint64_t{1} << width) - 1;
      std::vector<uint32_t>& count = counts_[shard];
      count.assign(mask + 2, 0);
      // Pass 0 reads `samples`, filters, and writes to whichever buffer
      // makes the last pass end in `batch`.
      std::vector<uint8_t>& kept = kept_[shard];
      kept.resize(samples.size());
      for (size_t i = 0; i < samples.size(); ++i) {
        kept[i] = keep(samples[i]) ? 1 : 0;
        count[(samples[i].ref & mask) + 1] += kept[i];
        n += kept[i];
      }
      head::SampleRecord* tmp = passes > 1 ? sort_tmp_[shard].Get(n) : nullptr;
      head::SampleRecord* dst = passes % 2 == 1 ? batch : tmp;
      head::SampleRecord* src = passes % 2 == 1 ? tmp : batch;
      for (size_t b = 1; b < count.size(); ++b) count[b] += count[b - 1];
      for (size_t i = 0; i < samples.size(); ++i) {
        if (kept[i] == 0) continue;
        const record::RefSample& s = samples[i];
        dst[count[s.ref & mask]++] = head::SampleRecord{s.ref, s.t, s.v};
      }
      for (int p = 1; p < passes; ++p) {
        std::swap(src, dst);
        const int shift = p * width;
        std::fill(count.begin(), count.end(), 0);
        for (size_t i = 0; i < n; ++i) {
          ++count[((src[i].ref >> shift) & mask) + 1];
        }
        for (size_t b = 1; b < count.size(); ++b) count[b] += count[b - 1];
        for (size_t i = 0; i < n; ++i) {
          dst[count[(src[i].ref >> shift) & mask]++] = src[i];
        }
      }
    }
    // Out of order or duplicate timestamps are skipped, as Prometheus.
    head::ReplaySamplesResult r = head_->ReplaySamples(batch, n);
    if (!r.status.ok()) {
      return absl::InternalError(
          absl::StrCat("head: appending to a chunk: ", r.status.message()));
    }
    samples_.fetch_add(static_cast<int64_t>(r.appended),
                       std::memory_order_relaxed);
    skipped_.fetch_add(static_cast<int64_t>(r.skipped),
                       std::memory_order_relaxed);
    unknown_.fetch_add(static_cast<int64_t>(r.unknown_refs),
                       std::memory_order_relaxed);
    too_old_.fetch_add(too_old, std::memory_order_relaxed);
    in_mapped_.fetch_add(in_mapped, std::memory_order_relaxed);
    return absl::OkStatus();
  }

  // Prometheus 2.42's loadWAL: intervals ending before min_valid_time are
  // dropped, intervals of refs the head does not hold are counted as
  // unknown. The driver already mapped duplicate refs onto the first ref
  // (Prometheus 2.42 does not, and loses such intervals; later versions
  // map them too).
  absl::Status OnTombstones(const std::vector<record::Stone>& stones) override {
    tombstones_ += static_cast<int64_t>(stones.size());
    for (const record::Stone& st : stones) {
      if (st.maxt < min_valid_time_) continue;
      if (!head_->SeriesLabels(st.ref).ok()) {
        ++unknown_tombstones_;
        continue;
      }
      stones_.push_back(st);
    }
    return absl::OkStatus();
  }

  absl::Status OnDuplicateSeries(int shard, uint64_t ref) override {
    (void)shard;  // the shard's appender has nothing pending (see OnSamples)
    return head_->DropSeriesSamplesForReplay(ref);
  }

  // Prometheus 2.42 (loadWAL, resetSeriesWithMMappedChunks): the series'
  // samples and m-mapped chunks replayed so far are dropped and the chunks
  // m-mapped under the duplicate record's own ref `wal_ref` (written after
  // the restart that re-created the series) take their place; later
  // samples up to their max time are skipped like any m-mapped sample.
  absl::Status OnDuplicateSeriesRecord(int shard, uint64_t ref,
                                       uint64_t wal_ref) override {
    if (mapped_ == nullptr) return OnDuplicateSeries(shard, ref);
    std::vector<head::MappedChunk> list;
    auto it = mapped_->by_series.find(wal_ref);
    if (it != mapped_->by_series.end()) {
      list.reserve(it->second.size());
      for (const chunks::MappedChunkInfo& c : it->second) {
        list.push_back(
            head::MappedChunk{c.ref, c.min_time, c.max_time, c.num_samples});
      }
    }
    TSDB_RETURN_IF_ERROR(head_->ResetSeriesWithMappedChunks(ref, list));
    // Only this shard's worker touches this map.
    absl::flat_hash_map<uint64_t, int64_t>& mmaxt = mmaxt_[shard];
    if (list.empty()) {
      mmaxt.erase(ref);
    } else {
      mmaxt[ref] = list.back().max_time;
      attached_.fetch_add(static_cast<int64_t>(list.size()),
                          std::memory_order_relaxed);
    }
    return absl::OkStatus();
  }

  int64_t created() const { return created_.load(); }
  int64_t samples() const { return samples_.load(); }
  int64_t unknown() const { return unknown_.load(); }
  int64_t skipped() const { return skipped_.load(); }
  int64_t too_old() const { return too_old_.load(); }
  int64_t tombstones() const { return tombstones_; }
  int64_t unknown_tombstones() const { return unknown_tombstones_; }
  std::vector<record::Stone> TakeStones() { return std::move(stones_); }
  int64_t attached() const { return attached_.load(); }
  int64_t mapped_series() const { return mapped_series_.load(); }
  int64_t in_mapped() const { return in_mapped_.load(); }

 private:
  head::Head* const head_;
  const int64_t min_valid_time_;
  const chunks::MappedChunks* const mapped_;
  // Per shard: ref -> max time of its last m-mapped chunk.
  std::vector<absl::flat_hash_map<uint64_t, int64_t>> mmaxt_;
  std::atomic<int64_t> attached_{0};
  std::atomic<int64_t> mapped_series_{0};
  std::atomic<int64_t> in_mapped_{0};
  // Per shard: the samples of one OnSamples call that go to the head.
  std::vector<RecordBuffer> batches_;
  // Per shard: OnSamples' sort scratch.
  std::vector<RecordBuffer> sort_tmp_;
  std::vector<std::vector<uint8_t>> kept_;
  std::vector<std::vector<uint32_t>> counts_;
  std::atomic<int64_t> created_{0};
  int64_t tombstones_ = 0;             // calling thread only
  int64_t unknown_tombstones_ = 0;     // calling thread only
  std::vector<record::Stone> stones_;  // calling thread only
  std::atomic<int64_t> samples_{0};
  std::atomic<int64_t> unknown_{0};  // refs the head lacks (never expected)
  std::atomic<int64_t> skipped_{0};
  std::atomic<int64_t> too_old_{0};
};

}  // namespace

namespace {

absl::StatusOr<ReplayResult> Replay(
    head::Head* head, io::FileSystem* fs, const std::string& wal_dir,
    int workers, wal::LogFn log, int64_t min_valid_time,
    const chunks::MappedChunks* mapped,
    const SnapshotLoadResult* resume = nullptr) {
  if (head == nullptr || workers < 1) {
    return absl::InvalidArgumentError("headwal: null head or workers < 1");
  }
  if (fs == nullptr) fs = io::PosixFileSystem();
  const auto start = std::chrono::steady_clock::now();
  ReplayResult out;
  absl::StatusOr<bool> exists = fs->Exists(wal_dir);
  if (!exists.ok()) return exists.status();
  if (!*exists) {
    if (mapped != nullptr) {
      for (const auto& [ref, list] : mapped->by_series) {
        out.orphan_mapped_chunks += static_cast<int64_t>(list.size());
      }
    }
    return out;
  }

  HeadVisitor visitor(head, workers, min_valid_time, mapped);
  wal::ReplayOptions opts;
  opts.fs = fs;
  opts.dir = wal_dir;
  opts.workers = workers;
  opts.log = std::move(log);
  // Corruption comes back in the stats: what precedes it is in the head
  // and the caller decides (error, or repair and go on).
  opts.corruption_in_stats = true;
  if (resume != nullptr && resume->loaded) {
    // After a chunk snapshot: only the WAL written after it; samples may
    // name the series it restored.
    opts.start_segment = resume->segment;
    opts.start_offset = resume->offset;
    opts.existing_refs = resume->refs;
    opts.existing_ref_of = [head](const labels::Labels& l) -> uint64_t {
      return head->GetRef(l);
    };
  }
  absl::StatusOr<wal::ReplayStats> st = wal::ReplayWalDir(opts, &visitor);
  if (!st.ok()) return st.status();
  head->AdvanceLastSeriesRef(static_cast<SeriesRef>(st->max_series_ref));
  out.corruption = st->corruption;
  out.corrupt_at = st->corrupt_at;
  out.corruption_in_checkpoint = st->corruption_in_checkpoint;

  out.series = visitor.created();
  out.duplicate_series = st->duplicate_series;
  out.samples = visitor.samples();
  out.skipped_samples = visitor.skipped();
  out.too_old_samples = visitor.too_old();
  out.unknown_ref_samples = st->unknown_ref_samples + visitor.unknown();
  out.tombstones = visitor.tombstones();
  out.unknown_ref_tombstones = visitor.unknown_tombstones();
  out.tombstones_read = visitor.TakeStones();
  out.checkpoint = st->checkpoint;
  out.first_segment = st->first_segment;
  out.last_segment = st->last_segment;
  out.segments =
      st->first_segment < 0 ? 0 : st->last_segment - st->first_segment + 1;
  out.max_series_ref = st->max_series_ref;
  out.mapped_chunks_attached = visitor.attached();
  out.mapped_series = visitor.mapped_series();
  out.mmapped_skipped_samples = visitor.in_mapped();
  if (mapped != nullptr) {
    int64_t total = 0;
    for (const auto& [ref, list] : mapped->by_series) {
      total += static_cast<int64_t>(list.size());
    }
    // A wal ref repeated by several duplicate records is attached each
    // time: clamp.
    out.orphan_mapped_chunks =
        std::max<int64_t>(0, total - out.mapped_chunks_attached);
  }
  out.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return out;
}

// The public replays report corruption as their error.
absl::StatusOr<ReplayResult> CorruptionAsError(absl::StatusOr<ReplayResult> r) {
  if (r.ok() && !r->corruption.ok()) return r->corruption;
  return r;
}

absl::Status CheckMapper(const head::Head* head,
                         const chunks::MappedChunks& mapped) {
  if (head != nullptr && head->options().chunk_mapper == nullptr &&
      !mapped.by_series.empty()) {
    return absl::FailedPreconditionError(
        "headwal: m-mapped chunks to attach but the head has no chunk mapper");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WalCommitLog::LogTombstones(
    const std::vector<record::Stone>& stones) {
  if (stones.empty()) return absl::OkStatus();
  if (wal_ == nullptr) return NoWal();
  std::string rec;
  record::EncodeTombstones(stones, &rec);
  const std::string_view recs[1] = {rec};
  return wal_->Log(absl::MakeConstSpan(recs, 1));
}

namespace {

// Series are created on several workers, in no global ref order: the
// head's inverted index takes them unordered and sorts once at the end.
struct BulkLoad {
  explicit BulkLoad(head::Head* h, int threads) : head(h), threads(threads) {
    if (head != nullptr) head->BeginBulkLoad();
  }
  ~BulkLoad() {
    if (head != nullptr) head->EndBulkLoad(std::max(1, threads));
  }
  BulkLoad(const BulkLoad&) = delete;
  BulkLoad& operator=(const BulkLoad&) = delete;
  head::Head* head;  // null: nothing to end
  int threads;
};

}  // namespace

absl::StatusOr<ReplayResult> ReplayIntoHead(head::Head* head,
                                            io::FileSystem* fs,
                                            const std::string& wal_dir,
                                            int workers, wal::LogFn log,
                                            int64_t min_valid_time) {
  BulkLoad bulk(head, workers);
  return CorruptionAsError(Replay(head, fs, wal_dir, workers, std::move(log),
                                  min_valid_time, nullptr));
}

absl::StatusOr<ReplayResult> ReplayIntoHeadWithMappedChunks(
    head::Head* head, io::FileSystem* fs, const std::string& wal_dir,
    int workers, wal::LogFn log, int64_t min_valid_time,
    const chunks::MappedChunks& mapped) {
  TSDB_RETURN_IF_ERROR(CheckMapper(head, mapped));
  BulkLoad bulk(head, workers);
  return CorruptionAsError(Replay(head, fs, wal_dir, workers, std::move(log),
                                  min_valid_time, &mapped));
}

absl::StatusOr<OpenedHead> OpenHeadFromDir(
    io::FileSystem* fs, const std::string& dir, head::HeadOptions opts,
    int workers, wal::LogFn log, int64_t min_valid_time,
    chunks::ChunkDiskMapperOptions mapper_opts, WalRepairFn repair,
    bool use_chunk_snapshot) {
  if (fs == nullptr) fs = io::PosixFileSystem();
  const auto start = std::chrono::steady_clock::now();
  // For starting again without the snapshot (see below).
  const head::HeadOptions opts_in = opts;
  const chunks::ChunkDiskMapperOptions mapper_opts_in = mapper_opts;
  OpenedHead out;
  TSDB_ASSIGN_OR_RETURN(out.mapper,
                        chunks::ChunkDiskMapper::Open(fs, dir + "/chunks_head",
                                                      std::move(mapper_opts)));
  opts.chunk_mapper = out.mapper.get();
  TSDB_ASSIGN_OR_RETURN(out.head, head::Head::Open(opts));
  TSDB_ASSIGN_OR_RETURN(chunks::MappedChunks mapped,
                        chunks::LoadMappedChunks(*out.mapper, min_valid_time));
  StartupResult& r = out.startup;
  r.scan = mapped.scan;
  r.mapped_too_old = mapped.skipped_too_old;
  r.mapped_out_of_order = mapped.skipped_out_of_order;
  r.mapped_discarded_all = mapped.discarded_all;
  r.discard_reason = mapped.discard_reason;
  r.load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (log == nullptr) log = wal::LogToStderr;
  if (mapped.scan.corruption) {
    log(absl::StrCat("chunks_head: ", mapped.scan.corruption_status.message(),
                     "; deleted ", mapped.scan.bytes_dropped, " bytes and ",
                     mapped.scan.files_removed,
                     " files, replaying their samples from the WAL"));
  }
  if (mapped.discarded_all) {
    log(absl::StrCat("chunks_head: ", mapped.discard_reason,
                     "; deleted all files, replaying the WAL"));
  }
  TSDB_RETURN_IF_ERROR(CheckMapper(out.head.get(), mapped));
  // Series arrive in the snapshot's hash order: index them unordered, sort
  // once at the end (also when returning early: the head stays consistent).
  BulkLoad end_bulk(out.head.get(), workers);
  if (use_chunk_snapshot) {
    absl::StatusOr<SnapshotLoadResult> snap = LoadChunkSnapshot(
        out.head.get(), fs, dir, min_valid_time, &mapped, log);
    if (!snap.ok()) {
      // The head is half restored: start again without the snapshot (the
      // mapper has not been written to).
      log(
          absl::StrCat("Failed to load chunk snapshot, replaying the whole "
                       "WAL: ",
                       snap.status().message()));
      end_bulk.head = nullptr;
      out.head.reset();
      (void)out.mapper->Close();
      out.mapper.reset();
      TSDB_ASSIGN_OR_RETURN(
          OpenedHead again,
          OpenHeadFromDir(fs, dir, opts_in, workers, log, min_valid_time,
                          mapper_opts_in, std::move(repair), false));
      again.startup.snapshot_error = std::string(snap.status().message());
      if (again.startup.snapshot.ignored_reason.empty()) {
        again.startup.snapshot.ignored_reason = again.startup.snapshot_error;
      }
      return again;
    }
    r.snapshot = std::move(*snap);
  }
  const std::string wal_dir = dir + "/wal";
  TSDB_ASSIGN_OR_RETURN(r.replay,
                        Replay(out.head.get(), fs, wal_dir, workers, log,
                               min_valid_time, &mapped, &r.snapshot));
  if (!r.snapshot.tombstones.empty()) {
    // The snapshot's tombstones precede those logged after it.
    r.replay.tombstones_read.insert(r.replay.tombstones_read.begin(),
                                    r.snapshot.tombstones.begin(),
                                    r.snapshot.tombstones.end());
  }
  if (!r.replay.corruption.ok()) {
    // Prometheus 2.42's DB open: the head keeps what was replayed before
    // the corruption, the WAL is cut there; a corrupt checkpoint is fatal.
    if (repair == nullptr || r.replay.corruption_in_checkpoint ||
        !r.replay.corrupt_at.has_value()) {
      return absl::Status(r.replay.corruption.code(),
                          absl::StrCat(r.replay.corruption_in_checkpoint
                                           ? "backfill checkpoint: "
                                           : "replay WAL: ",
                                       r.replay.corruption.message()));
    }
    log(absl::StrCat("Encountered WAL read error, attempting repair: ",
                     r.replay.corruption.message()));
    absl::Status st = repair(wal_dir, *r.replay.corrupt_at);
    if (!st.ok()) {
      return absl::Status(st.code(),
                          absl::StrCat("repair corrupted WAL: ", st.message()));
    }
    r.wal_repaired = true;
  }
  TSDB_ASSIGN_OR_RETURN(
      r.wbl, ReplayWblIntoHead(out.head.get(), fs, dir + "/wbl", log));
  return out;
}

absl::StatusOr<WblReplayResult> ReplayWblIntoHead(head::Head* head,
                                                  io::FileSystem* fs,
                                                  const std::string& wbl_dir,
                                                  wal::LogFn log) {
  if (head == nullptr) return absl::InvalidArgumentError("headwal: null head");
  if (fs == nullptr) fs = io::PosixFileSystem();
  if (log == nullptr) log = wal::LogToStderr;
  const auto start = std::chrono::steady_clock::now();
  WblReplayResult out;
  TSDB_ASSIGN_OR_RETURN(bool exists, fs->Exists(wbl_dir));
  if (!exists) return out;
  TSDB_ASSIGN_OR_RETURN(std::vector<wal::SegmentFile> segs,
                        wal::SegmentsInDir(fs, wbl_dir, 0, -1));
  if (segs.empty()) return out;
  out.first_segment = segs.front().index;
  out.last_segment = segs.back().index;
  wal::Reader reader(fs, std::move(segs));
  std::vector<record::RefSample> decoded;
  std::vector<head::SampleRecord> batch;
  while (reader.Next()) {
    const std::string_view rec = reader.record();
    switch (record::Type(rec)) {
      case record::RecordType::kSamples: {
        decoded.clear();
        absl::Status st = record::DecodeSamples(rec, &decoded);
        if (!st.ok()) {
          return absl::DataLossError(
              absl::StrCat("wbl ", wbl_dir, ": segment ", reader.segment(),
                           " offset ", reader.offset(), ": ", st.message()));
        }
        batch.clear();
        batch.reserve(decoded.size());
        for (const record::RefSample& x : decoded) {
          batch.push_back(head::SampleRecord{x.ref, x.t, x.v});
        }
        const head::OooReplayResult r = head->ReplayOooSamples(batch);
        out.samples += static_cast<int64_t>(r.inserted);
        out.duplicates += static_cast<int64_t>(r.duplicates);
        out.unknown_refs += static_cast<int64_t>(r.unknown_refs);
        break;
      }
      case record::RecordType::kMmapMarkers:
        // BE64 ref + BE64 chunk ref per row, after the type byte.
        out.mmap_markers += static_cast<int64_t>((rec.size() - 1) / 16);
        break;
      default:
        ++out.other_records;
        break;
    }
  }
  if (!reader.status().ok()) {
    return absl::Status(
        reader.status().code(),
        absl::StrCat("wbl ", wbl_dir, ": ", reader.status().message()));
  }
  out.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (out.samples > 0 || out.unknown_refs > 0) {
    log(absl::StrCat("wbl: replayed ", out.samples, " out-of-order samples (",
                     out.duplicates, " duplicates, ", out.unknown_refs,
                     " of unknown series) from segments ", out.first_segment,
                     "-", out.last_segment));
  }
  return out;
}

absl::StatusOr<int> DeleteWblSegmentsBefore(io::FileSystem* fs,
                                            const std::string& wbl_dir,
                                            int first_kept) {
  if (fs == nullptr) fs = io::PosixFileSystem();
  TSDB_ASSIGN_OR_RETURN(std::vector<wal::SegmentFile> segs,
                        wal::SegmentsInDir(fs, wbl_dir, 0, -1));
  int deleted = 0;
  for (const wal::SegmentFile& f : segs) {
    if (f.index >= first_kept) break;
    TSDB_RETURN_IF_ERROR(fs->RemoveFile(f.path));
    ++deleted;
  }
  if (deleted > 0) TSDB_RETURN_IF_ERROR(fs->SyncDir(wbl_dir));
  return deleted;
}

}  // namespace tsdb::headwal
