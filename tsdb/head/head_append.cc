// HeadAppender: the write path (Prometheus's headAppender).
//
// Append costs one hash lookup in the batch (slots_) when the series is
// already in it; otherwise a ref-stripe lookup, one series lock to validate
// against its appended samples and to mark it pending (so garbage
// collection keeps it), and a slot. Commit takes each series lock once per
// run of consecutive samples of that series.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/head/head.h"
#include "tsdb/head/isolation.h"
#include "tsdb/head/series.h"
#include "tsdb/head/stripe_series.h"

namespace tsdb::head {
namespace {

// How many samples ahead Commit prefetches series.
constexpr size_t kPrefetch = 8;

// Prometheus 2.42's storage errors (stable messages).
absl::Status OutOfBoundsError() {
  return absl::FailedPreconditionError("out of bounds");
}
absl::Status OutOfOrderError() {
  return absl::FailedPreconditionError("out of order sample");
}
absl::Status DuplicateError() {
  return absl::FailedPreconditionError("duplicate sample for timestamp");
}

}  // namespace

std::unique_ptr<HeadAppender> Head::Appender(AppenderOptions opts) {
  return std::unique_ptr<HeadAppender>(new HeadAppender(this, opts));
}

HeadAppender::HeadAppender(Head* head, AppenderOptions opts)
    : head_(head),
      opts_(opts),
      log_(opts.replay ? nullptr : head->opts_.commit_log) {}

HeadAppender::~HeadAppender() {
  if (open_) (void)Rollback();
}

void HeadAppender::Begin(int64_t t) {
  open_ = true;
  epoch_ = head_->reclaimer_->Pin();
  // A fresh head takes its time range from the first sample.
  head_->InitTime(t);
  min_valid_time_ = head_->AppendableMinValidTime();
}

absl::StatusOr<uint32_t> HeadAppender::Slot(SeriesRef ref,
                                            const labels::Labels& lset,
                                            int64_t t, double v,
                                            SeriesRef* ignored_ref) {
  MemSeries* s = ref != 0 ? head_->series_->GetByRef(ref) : nullptr;
  for (;;) {
    bool created = false;
    if (s == nullptr) {
      TSDB_ASSIGN_OR_RETURN(Head::GetOrCreateResult r,
                            head_->GetOrCreate(lset));
      s = r.series;
      created = r.created;
      if (!created) {
        const uint32_t slot = slots_.Find(s->ref());
        if (slot != SlotMap::kNotFound) return slot;
      }
    }
    if (!created) {
      std::lock_guard lock(s->mu);
      if (s->deleted) {
        // Garbage-collected after we found it: look it up again by labels.
        s = nullptr;
        continue;
      }
      switch (s->Appendable(t, v)) {
        case Appendability::kOk:
          break;
        case Appendability::kDuplicateIgnored:
          *ignored_ref = s->ref();
          return 0;
        case Appendability::kOutOfOrder:
          ++rejected_out_of_order_;
          return OutOfOrderError();
        case Appendability::kDuplicate:
          ++rejected_duplicate_;
          return DuplicateError();
      }
      ++s->pending;
    }
    const uint32_t slot = static_cast<uint32_t>(pending_.size());
    pending_.push_back(Pending{s, 0, 0, 0, false});
    slots_.Insert(s->ref(), slot);
    // Only a CommitLog needs the created series' labels.
    if (created && log_ != nullptr) {
      bool stripped = false;  // empty-valued labels were dropped
      for (const labels::Label& l : lset) stripped |= l.value.empty();
      new_series_.push_back(
          SeriesRecord{s->ref(), stripped ? head_->LabelsOf(*s) : lset});
    }
    return slot;
  }
}

absl::StatusOr<SeriesRef> HeadAppender::Append(SeriesRef ref,
                                               const labels::Labels& lset,
                                               int64_t t, double v) {
  if (!open_) Begin(t);
  if (!opts_.replay && t < min_valid_time_) {
    ++rejected_out_of_bounds_;
    return OutOfBoundsError();
  }
  uint32_t slot = ref != 0 ? slots_.Find(ref) : SlotMap::kNotFound;
  if (slot == SlotMap::kNotFound) {
    SeriesRef ignored_ref = 0;
    TSDB_ASSIGN_OR_RETURN(slot, Slot(ref, lset, t, v, &ignored_ref));
    if (ignored_ref != 0) return ignored_ref;
  }
  Pending& p = pending_[slot];
  if (p.has_samples) {
    switch (Classify(true, p.last_t, p.last_v, t, v)) {
      case Appendability::kOk:
        break;
      case Appendability::kDuplicateIgnored:
        return p.series->ref();
      case Appendability::kOutOfOrder:
        ++rejected_out_of_order_;
        return OutOfOrderError();
      case Appendability::kDuplicate:
        ++rejected_duplicate_;
        return DuplicateError();
    }
  }
  p.last_t = t;
  p.last_v = v;
  p.has_samples = true;
  ++p.num_samples;
  const SeriesRef sref = p.series->ref();
  samples_.push_back(SampleRecord{sref, t, v});
  sample_slots_.push_back(slot);
  mint_ = std::min(mint_, t);
  maxt_ = std::max(maxt_, t);
  return sref;
}

absl::Status HeadAppender::Commit() {
  if (!open_) return absl::OkStatus();
  if (log_ != nullptr && (!samples_.empty() || !new_series_.empty())) {
    absl::Status st = log_->Log(new_series_, samples_);
    if (!st.ok()) {
      ReleasePending();
      Reset();
      return absl::Status(st.code(),
                          absl::StrCat("write to WAL: ", st.message()));
    }
  }
  if (!samples_.empty()) head_->UpdateMinMaxTime(mint_, maxt_);

  Isolation& iso = *head_->iso_;
  const uint64_t seq = iso.BeginCommit();
  const uint64_t low = iso.low_watermark();
  const ChunkEnv& env = *head_->env_;
  uint64_t depends_on = 0;
  uint64_t new_chunks = 0;
  uint64_t dropped = 0;
  absl::Status err;
  MemSeries* locked = nullptr;
  const size_t n = samples_.size();
  for (size_t i = 0; i < n; ++i) {
    // The series of a batch are spread over memory; fetch ahead.
    if (i + kPrefetch < n) {
      __builtin_prefetch(pending_[sample_slots_[i + kPrefetch]].series, 1);
    }
    Pending& p = pending_[sample_slots_[i]];
    MemSeries* s = p.series;
    if (s != locked) {
      if (locked != nullptr) locked->mu.unlock();
      s->mu.lock();
      locked = s;
    }
    const SampleRecord& r = samples_[i];
    if (s->Appendable(r.t, r.v) != Appendability::kOk) {
      ++dropped;
    } else {
      absl::Status st =
          s->Append(r.t, r.v, seq, low, env, &depends_on, &new_chunks);
      if (!st.ok() && err.ok()) err = std::move(st);
    }
    if (--p.num_samples == 0) --s->pending;
  }
  if (locked != nullptr) locked->mu.unlock();
  // Series created by this batch that got no sample.
  for (Pending& p : pending_) {
    if (!p.has_samples) {
      std::lock_guard lock(p.series->mu);
      --p.series->pending;
    }
  }
  iso.EndCommit(seq, depends_on);

  head_->samples_appended_.fetch_add(samples_.size() - dropped,
                                     std::memory_order_relaxed);
  if (dropped > 0) {
    head_->commit_dropped_.fetch_add(dropped, std::memory_order_relaxed);
  }
  if (new_chunks > 0) {
    head_->num_chunks_.fetch_add(new_chunks, std::memory_order_relaxed);
    head_->chunks_created_.fetch_add(new_chunks, std::memory_order_relaxed);
  }
  Reset();
  if (!err.ok()) {
    return absl::InternalError(
        absl::StrCat("head: appending to a chunk: ", err.message()));
  }
  return absl::OkStatus();
}

absl::Status HeadAppender::Rollback() {
  if (!open_) return absl::OkStatus();
  ReleasePending();
  absl::Status st;
  if (log_ != nullptr && !new_series_.empty()) {
    st = log_->Log(new_series_, {});
  }
  Reset();
  return st;
}

void HeadAppender::ReleasePending() {
  for (Pending& p : pending_) {
    std::lock_guard lock(p.series->mu);
    --p.series->pending;
  }
}

void HeadAppender::Reset() {
  if (rejected_out_of_order_ > 0) {
    head_->out_of_order_.fetch_add(rejected_out_of_order_,
                                   std::memory_order_relaxed);
  }
  if (rejected_out_of_bounds_ > 0) {
    head_->out_of_bounds_.fetch_add(rejected_out_of_bounds_,
                                    std::memory_order_relaxed);
  }
  if (rejected_duplicate_ > 0) {
    head_->duplicates_.fetch_add(rejected_duplicate_,
                                 std::memory_order_relaxed);
  }
  rejected_out_of_order_ = rejected_out_of_bounds_ = rejected_duplicate_ = 0;
  pending_.clear();
  slots_.Clear();
  new_series_.clear();
  samples_.clear();
  sample_slots_.clear();
  mint_ = std::numeric_limits<int64_t>::max();
  maxt_ = std::numeric_limits<int64_t>::min();
  head_->reclaimer_->Unpin(epoch_);
  open_ = false;
  head_->Reclaim();
}

}  // namespace tsdb::head
