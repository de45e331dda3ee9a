#include "tsdb/headwal/headwal.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string_view>
#include <utility>

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
  HeadVisitor(head::Head* head, int workers, int64_t min_valid_time)
      : head_(head), min_valid_time_(min_valid_time) {
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
    }
    return absl::OkStatus();
  }

  absl::Status OnSamples(
      int shard, const std::vector<record::RefSample>& samples) override {
    head::HeadAppender& app = *appenders_[shard];
    int64_t appended = 0, skipped = 0, too_old = 0;
    for (const record::RefSample& s : samples) {
      if (s.t < min_valid_time_) {
        ++too_old;
        continue;
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
    return absl::OkStatus();
  }

  absl::Status OnTombstones(const std::vector<record::Stone>& stones) override {
    tombstones_ += static_cast<int64_t>(stones.size());
    return absl::OkStatus();
  }

  absl::Status OnDuplicateSeries(int shard, uint64_t ref) override {
    (void)shard;  // the shard's appender has nothing pending (see OnSamples)
    return head_->DropSeriesSamplesForReplay(ref);
  }

  int64_t created() const { return created_; }
  int64_t samples() const { return samples_.load(); }
  int64_t skipped() const { return skipped_.load(); }
  int64_t too_old() const { return too_old_.load(); }
  int64_t tombstones() const { return tombstones_; }

 private:
  head::Head* const head_;
  const labels::Labels no_labels_;  // replayed samples go by ref only
  const int64_t min_valid_time_;
  std::vector<std::unique_ptr<head::HeadAppender>> appenders_;
  int64_t created_ = 0;     // calling thread only
  int64_t tombstones_ = 0;  // calling thread only
  std::atomic<int64_t> samples_{0};
  std::atomic<int64_t> skipped_{0};
  std::atomic<int64_t> too_old_{0};
};

}  // namespace

absl::StatusOr<ReplayResult> ReplayIntoHead(head::Head* head,
                                            io::FileSystem* fs,
                                            const std::string& wal_dir,
                                            int workers, wal::LogFn log,
                                            int64_t min_valid_time) {
  if (head == nullptr || workers < 1) {
    return absl::InvalidArgumentError("headwal: null head or workers < 1");
  }
  if (fs == nullptr) fs = io::PosixFileSystem();
  const auto start = std::chrono::steady_clock::now();
  ReplayResult out;
  absl::StatusOr<bool> exists = fs->Exists(wal_dir);
  if (!exists.ok()) return exists.status();
  if (!*exists) return out;

  HeadVisitor visitor(head, workers, min_valid_time);
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
  out.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return out;
}

}  // namespace tsdb::headwal
