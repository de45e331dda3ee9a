#include "tsdb/headwal/headwal.h"

#include <atomic>
#include <chrono>
#include <limits>
#include <memory>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/record/record.h"
#include "tsdb/wal/replay.h"

namespace tsdb::headwal {

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
    std::vector<record::RefSample> s;
    s.reserve(samples.size());
    for (const head::SampleRecord& r : samples) {
      s.push_back(record::RefSample{r.ref, r.t, r.v});
    }
    record::EncodeSamples(s, &samples_rec);
    recs[n++] = samples_rec;
  }
  if (n == 0) return absl::OkStatus();
  return wal_->Log(absl::MakeConstSpan(recs, n));
}

namespace {

// Applies replayed records to the head; one replay appender per shard.
class HeadVisitor final : public wal::ReplayVisitor {
 public:
  HeadVisitor(head::Head* head, int workers, int64_t min_valid_time,
              const chunks::MappedChunks* mapped)
      : head_(head), min_valid_time_(min_valid_time), mapped_(mapped) {
    if (mapped_ != nullptr) {
      // Built before the replay and never resized during it: workers read
      // it concurrently; a shard's thread writes only its own refs' values
      // (OnDuplicateSeries).
      mmaxt_.reserve(mapped_->by_series.size());
      for (const auto& [ref, list] : mapped_->by_series) {
        if (!list.empty()) mmaxt_[ref] = list.back().max_time;
      }
    }
    appenders_.reserve(workers);
    for (int i = 0; i < workers; ++i) {
      appenders_.push_back(
          head->Appender(head::AppenderOptions{.replay = true}));
    }
  }

  absl::Status OnSeries(const std::vector<record::RefSeries>& series) override {
    for (const record::RefSeries& s : series) {
      TSDB_ASSIGN_OR_RETURN(SeriesRef got,
                            head_->CreateSeriesWithRef(s.ref, s.labels));
      if (got != s.ref) {
        // The driver maps repeated label sets itself; a different ref here
        // means the head already held the series (replay into a non-empty
        // head), which is not supported.
        return absl::FailedPreconditionError(
            absl::StrCat("headwal: series ", s.ref, " ", s.labels.ToString(),
                         " already exists in the head as ", got));
      }
      ++created_;
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
    attached_ += static_cast<int64_t>(list.size());
    ++mapped_series_;
    return absl::OkStatus();
  }

  absl::Status OnSamples(
      int shard, const std::vector<record::RefSample>& samples) override {
    head::HeadAppender& app = *appenders_[shard];
    int64_t appended = 0, skipped = 0, too_old = 0, in_mapped = 0;
    const bool check_mapped = !mmaxt_.empty();
    for (const record::RefSample& s : samples) {
      if (s.t < min_valid_time_) {
        ++too_old;
        continue;
      }
      if (check_mapped) {
        auto it = mmaxt_.find(s.ref);
        if (it != mmaxt_.end() && s.t <= it->second) {
          ++in_mapped;  // already in an m-mapped chunk
          continue;
        }
      }
      absl::StatusOr<SeriesRef> r = app.Append(s.ref, no_labels_, s.t, s.v);
      if (r.ok()) {
        ++appended;
      } else if (absl::IsFailedPrecondition(r.status())) {
        ++skipped;  // out of order or duplicate timestamp, as Prometheus
      } else {
        return r.status();
      }
    }
    TSDB_RETURN_IF_ERROR(app.Commit());
    samples_.fetch_add(appended, std::memory_order_relaxed);
    skipped_.fetch_add(skipped, std::memory_order_relaxed);
    too_old_.fetch_add(too_old, std::memory_order_relaxed);
    in_mapped_.fetch_add(in_mapped, std::memory_order_relaxed);
    return absl::OkStatus();
  }

  absl::Status OnTombstones(const std::vector<record::Stone>& stones) override {
    tombstones_ += static_cast<int64_t>(stones.size());
    return absl::OkStatus();
  }

  absl::Status OnDuplicateSeries(int shard, uint64_t ref) override {
    (void)shard;  // the shard's appender has nothing pending (see OnSamples)
    // The m-mapped chunks go too; later samples are all replayed. Only this
    // shard's thread touches this ref's entry.
    auto it = mmaxt_.find(ref);
    if (it != mmaxt_.end()) it->second = std::numeric_limits<int64_t>::min();
    return head_->DropSeriesSamplesForReplay(ref);
  }

  int64_t created() const { return created_; }
  int64_t samples() const { return samples_.load(); }
  int64_t skipped() const { return skipped_.load(); }
  int64_t too_old() const { return too_old_.load(); }
  int64_t tombstones() const { return tombstones_; }
  int64_t attached() const { return attached_; }
  int64_t mapped_series() const { return mapped_series_; }
  int64_t in_mapped() const { return in_mapped_.load(); }

 private:
  head::Head* const head_;
  const labels::Labels no_labels_;  // replayed samples go by ref only
  const int64_t min_valid_time_;
  const chunks::MappedChunks* const mapped_;
  absl::flat_hash_map<uint64_t, int64_t> mmaxt_;  // ref -> last mapped maxt
  int64_t attached_ = 0;                          // calling thread only
  int64_t mapped_series_ = 0;                     // calling thread only
  std::atomic<int64_t> in_mapped_{0};
  std::vector<std::unique_ptr<head::HeadAppender>> appenders_;
  int64_t created_ = 0;     // calling thread only
  int64_t tombstones_ = 0;  // calling thread only
  std::atomic<int64_t> samples_{0};
  std::atomic<int64_t> skipped_{0};
  std::atomic<int64_t> too_old_{0};
};

}  // namespace

namespace {

absl::StatusOr<ReplayResult> Replay(head::Head* head, io::FileSystem* fs,
                                    const std::string& wal_dir, int workers,
                                    wal::LogFn log, int64_t min_valid_time,
                                    const chunks::MappedChunks* mapped) {
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
  absl::StatusOr<wal::ReplayStats> st = wal::ReplayWalDir(opts, &visitor);
  if (!st.ok()) return st.status();
  head->AdvanceLastSeriesRef(static_cast<SeriesRef>(st->max_series_ref));

  out.series = visitor.created();
  out.duplicate_series = st->duplicate_series;
  out.samples = visitor.samples();
  out.skipped_samples = visitor.skipped();
  out.too_old_samples = visitor.too_old();
  out.unknown_ref_samples = st->unknown_ref_samples;
  out.tombstones = visitor.tombstones();
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
    out.orphan_mapped_chunks = total - out.mapped_chunks_attached;
  }
  out.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return out;
}

}  // namespace

absl::StatusOr<ReplayResult> ReplayIntoHead(head::Head* head,
                                            io::FileSystem* fs,
                                            const std::string& wal_dir,
                                            int workers, wal::LogFn log,
                                            int64_t min_valid_time) {
  return Replay(head, fs, wal_dir, workers, std::move(log), min_valid_time,
                nullptr);
}

absl::StatusOr<ReplayResult> ReplayIntoHeadWithMappedChunks(
    head::Head* head, io::FileSystem* fs, const std::string& wal_dir,
    int workers, wal::LogFn log, int64_t min_valid_time,
    const chunks::MappedChunks& mapped) {
  if (head != nullptr && head->options().chunk_mapper == nullptr &&
      !mapped.by_series.empty()) {
    return absl::FailedPreconditionError(
        "headwal: m-mapped chunks to attach but the head has no chunk mapper");
  }
  return Replay(head, fs, wal_dir, workers, std::move(log), min_valid_time,
                &mapped);
}

absl::StatusOr<OpenedHead> OpenHeadFromDir(
    io::FileSystem* fs, const std::string& dir, head::HeadOptions opts,
    int workers, wal::LogFn log, int64_t min_valid_time,
    chunks::ChunkDiskMapperOptions mapper_opts) {
  if (fs == nullptr) fs = io::PosixFileSystem();
  const auto start = std::chrono::steady_clock::now();
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
  TSDB_ASSIGN_OR_RETURN(r.replay, ReplayIntoHeadWithMappedChunks(
                                      out.head.get(), fs, dir + "/wal", workers,
                                      log, min_valid_time, mapped));
  return out;
}

}  // namespace tsdb::headwal
