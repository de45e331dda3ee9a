// HeadAppender: the write path (Prometheus's headAppender).
//
// Append costs one hash lookup in the batch (slots_) when the series is
// already in it; otherwise a ref-stripe lookup, one series lock to validate
// against its appended samples and to mark it pending (so garbage
// collection keeps it), and a slot. Commit takes each series lock once per
// run of consecutive samples of that series. Both prefetch what later
// samples will touch (tsdb/docs/head.md, "Appender"): series of the next
// refs while refs come in runs, and each series' chunk state at Commit.
#include <algorithm>
#include <limits>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/head/head.h"
#include "tsdb/head/isolation.h"
#include "tsdb/head/ooo.h"
#include "tsdb/head/series.h"
#include "tsdb/head/stripe_series.h"

namespace tsdb::head {
namespace {

// How many samples ahead Commit prefetches series and their chunk state.
constexpr size_t kPrefetch = 8;

// Sequential-ref prefetch in Slot: how many refs ahead, and the run score
// (consecutive first touches of ref, ref + 1) above which it is done.
constexpr SeriesRef kRefAhead = 8;
constexpr int kRunMax = 8;

static_assert(MemSeries::kNumAppendHints == 4, "HeadAppender::Pending::hints");

void PrefetchHints(const void* const* hints) {
  for (int i = 0; i < MemSeries::kNumAppendHints; ++i) {
    __builtin_prefetch(hints[i], 1);
  }
}

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
absl::Status TooOldError() {
  return absl::FailedPreconditionError("too old sample");
}

// sample_slots_ entries of out-of-order samples carry this bit.
constexpr uint32_t kOooSlot = uint32_t{1} << 31;

// a - b, saturating at INT64_MIN.
int64_t SubSat(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r))
    return std::numeric_limits<int64_t>::min();
  return r;
}

}  // namespace

std::unique_ptr<HeadAppender> Head::Appender(AppenderOptions opts) {
  return std::unique_ptr<HeadAppender>(new HeadAppender(this, opts));
}

HeadAppender::HeadAppender(Head* head, AppenderOptions opts)
    : head_(head),
      opts_(opts),
      log_(opts.replay ? nullptr : head->opts_.commit_log),
      ooo_window_(
          opts.replay ? 0 : std::max<int64_t>(head->opts_.ooo_time_window, 0)) {
}

HeadAppender::~HeadAppender() {
  if (open_) (void)Rollback();
}

void HeadAppender::Begin(int64_t t) {
  open_ = true;
  epoch_ = head_->reclaimer_->Pin();
  // A fresh head takes its time range from the first sample.
  head_->InitTime(t);
  min_valid_time_ = head_->AppendableMinValidTime();
  if (ooo_window_ > 0) ooo_min_t_ = SubSat(head_->MaxTime(), ooo_window_);
}

absl::Status HeadAppender::NotInOrder(int64_t t, Kind* kind) {
  if (ooo_window_ > 0) {
    if (t >= ooo_min_t_) {
      *kind = Kind::kOoo;
      return absl::OkStatus();
    }
    ++rejected_too_old_;
    return TooOldError();
  }
  if (!opts_.replay && t < min_valid_time_) {
    ++rejected_out_of_bounds_;
    return OutOfBoundsError();
  }
  ++rejected_out_of_order_;
  return OutOfOrderError();
}

absl::Status HeadAppender::ClassifyCommitted(const MemSeries& s, int64_t t,
                                             double v, Kind* kind) {
  // Prometheus's memSeries.appendable: in order only from MinValidTime on.
  if (opts_.replay || t >= min_valid_time_) {
    switch (s.Appendable(t, v)) {
      case Appendability::kOk:
        *kind = Kind::kInOrder;
        return absl::OkStatus();
      case Appendability::kDuplicateIgnored:
        *kind = Kind::kIgnored;
        return absl::OkStatus();
      case Appendability::kDuplicate:
        ++rejected_duplicate_;
        return DuplicateError();
      case Appendability::kOutOfOrder:
        break;
    }
  }
  return NotInOrder(t, kind);
}

absl::StatusOr<uint32_t> HeadAppender::Slot(SeriesRef ref,
                                            const labels::Labels& lset,
                                            int64_t t, double v,
                                            SeriesRef* ignored_ref,
                                            Kind* kind) {
  MemSeries* s = nullptr;
  if (ref != 0) {
    // Senders tend to repeat the order in which they created their series
    // (a scrape, a remote-write shard), so a batch's refs come in runs of
    // consecutive refs. The lookup below waits on a cache miss (the series);
    // while in a run, start fetching the series a few refs ahead so that
    // their lookups hit. Out of a run this costs a compare.
    StripeSeries& series = *head_->series_;
    // Two stages: the ref-table slot 2 x kRefAhead ahead, then the series
    // kRefAhead ahead, whose slot load then hits (that load waited on a
    // miss every 8 refs, a slot line's worth).
    if (ref == last_lookup_ref_ + 1) {
      if (run_score_ < kRunMax) ++run_score_;
      if (run_score_ >= 2) {
        series.PrefetchRefSlot(ref + 2 * kRefAhead);
        series.PrefetchByRef(ref + kRefAhead);
      }
    } else {
      if (run_score_ > 0) --run_score_;
      if (run_score_ >= 2) {
        for (SeriesRef k = 1; k <= kRefAhead; ++k) {
          series.PrefetchRefSlot(ref + kRefAhead + k);
          series.PrefetchByRef(ref + k);
        }
      }
    }
    last_lookup_ref_ = ref;
    s = series.GetByRef(ref);
  }
  const void* hints[MemSeries::kNumAppendHints] = {};
  for (;;) {
    bool created = false;
    if (s == nullptr) {
      TSDB_ASSIGN_OR_RETURN(Head::GetOrCreateResult r,
                            head_->GetOrCreate(lset));
      s = r.series;
      created = r.created;
      if (!created) {
        const uint32_t slot = slots_.Find(s->ref());
        if (slot != SlotMap::kNotFound) return slot;  // kind unchecked
      }
    }
    if (!created) {
      std::lock_guard lock(s->mu);
      if (s->deleted) {
        // Garbage-collected after we found it: look it up again by labels.
        s = nullptr;
        continue;
      }
      // After start-up the last sample may still be on disk only.
      if (s->NeedsLastValue(t)) s->LoadLastValue(*head_->env_);
      if ((opts_.replay || t >= min_valid_time_) &&
          s->Appendable(t, v) == Appendability::kOk) [[likely]] {
        *kind = Kind::kInOrder;
      } else {
        TSDB_RETURN_IF_ERROR(ClassifyCommitted(*s, t, v, kind));
        if (*kind == Kind::kIgnored) {
          *ignored_ref = s->ref();
          return 0;
        }
      }
      ++s->pending;
      // Where Commit will append (read under the lock, prefetched there a
      // few samples ahead; prefetching here too measured no better).
      s->AppendHints(hints);
    }
    const uint32_t slot = static_cast<uint32_t>(pending_.size());
    Pending& p = pending_.emplace_back(Pending{s, 0, 0, 0, false, false});
    std::copy(hints, hints + MemSeries::kNumAppendHints, p.hints);
    slots_.Insert(s->ref(), slot);
    // Only a CommitLog needs the created series' labels.
    if (created && log_ != nullptr) {
      bool stripped = false;  // empty-valued labels were dropped
      for (const labels::Label& l : lset) stripped |= l.value.empty();
      new_series_.push_back(
          SeriesRecord{s->ref(), stripped ? head_->LabelsOf(*s) : lset});
    }
    if (created) {
      // Nothing committed yet: in order unless before MinValidTime (only
      // possible with an out-of-order window).
      if (opts_.replay || t >= min_valid_time_) {
        *kind = Kind::kInOrder;
      } else {
        TSDB_RETURN_IF_ERROR(NotInOrder(t, kind));
      }
    }
    return slot;
  }
}

void HeadAppender::PrefetchSeries(SeriesRef soon, SeriesRef later) const {
  if (!open_) return;
  const StripeSeries& series = *head_->series_;
  if (later != 0) series.PrefetchRefSlot(later);
  if (soon != 0) series.PrefetchByRef(soon);
}

// Out of line and cold: more call sites of samples_'s emplace_back made GCC
// outline the in-order one (~9% of append-by-ref time).
[[gnu::noinline, gnu::cold]] SeriesRef HeadAppender::AddOoo(uint32_t slot,
                                                            int64_t t,
                                                            double v) {
  Pending& p = pending_[slot];
  ++p.num_samples;
  const SeriesRef sref = p.series->ref();
  // Lvalues: push_back(const&), not the emplace_back the hot path uses.
  const SampleRecord rec{sref, t, v};
  const uint32_t flagged = slot | kOooSlot;
  samples_.push_back(rec);
  sample_slots_.push_back(flagged);
  ooo_samples_.push_back(rec);
  return sref;
}

absl::StatusOr<SeriesRef> HeadAppender::Append(SeriesRef ref,
                                               const labels::Labels& lset,
                                               int64_t t, double v) {
  if (!open_) Begin(t);
  // With an out-of-order window, older samples may still be accepted: the
  // checks below decide (as Prometheus's Append).
  if (!opts_.replay && ooo_window_ == 0 && t < min_valid_time_) {
    ++rejected_out_of_bounds_;
    return OutOfBoundsError();
  }
  uint32_t slot = ref != 0 ? slots_.Find(ref) : SlotMap::kNotFound;
  Kind kind = Kind::kUnchecked;
  if (slot == SlotMap::kNotFound) {
    SeriesRef ignored_ref = 0;
    TSDB_ASSIGN_OR_RETURN(slot, Slot(ref, lset, t, v, &ignored_ref, &kind));
    if (ignored_ref != 0) return ignored_ref;
  }
  Pending& p = pending_[slot];
  if (kind == Kind::kUnchecked && !p.has_samples && ooo_window_ > 0) {
    // The series' samples in this batch so far were all out of order: check
    // against its committed samples again.
    std::lock_guard lock(p.series->mu);
    if (p.series->NeedsLastValue(t)) p.series->LoadLastValue(*head_->env_);
    TSDB_RETURN_IF_ERROR(ClassifyCommitted(*p.series, t, v, &kind));
    if (kind == Kind::kIgnored) return p.series->ref();
  }
  if (kind != Kind::kOoo && p.has_samples) {
    switch (Classify(true, p.last_t, p.last_v, t, v)) {
      case Appendability::kOk:
        break;
      case Appendability::kDuplicateIgnored:
        return p.series->ref();
      case Appendability::kOutOfOrder:
        TSDB_RETURN_IF_ERROR(NotInOrder(t, &kind));
        break;
      case Appendability::kDuplicate:
        ++rejected_duplicate_;
        return DuplicateError();
    }
  }
  p.any_samples = true;
  if (kind == Kind::kOoo) [[unlikely]] {
    return AddOoo(slot, t, v);
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
  // With a window, any sample may end up out of order (a concurrent commit
  // can overtake an in-order one): hold FreezeOoo off from the WBL write
  // through the inserts (head.h, "WBL protocol").
  std::shared_lock<std::shared_mutex> freeze_lock;
  if (ooo_window_ > 0 && !samples_.empty()) {
    while (head_->ooo_exclusive_waiting_.load(std::memory_order_acquire) > 0) {
      std::this_thread::yield();
    }
    freeze_lock = std::shared_lock<std::shared_mutex>(head_->ooo_mu_);
  }
  CommitLog* const wbl = opts_.replay ? nullptr : head_->opts_.ooo_commit_log;
  if (wbl != nullptr && !ooo_samples_.empty()) {
    absl::Status st = wbl->Log({}, ooo_samples_);
    if (!st.ok()) {
      ReleasePending();
      Reset();
      return absl::Status(st.code(),
                          absl::StrCat("write to WBL: ", st.message()));
    }
  }
  const uint64_t gen = head_->ooo_gen_.load(std::memory_order_acquire);
  const size_t ooo_cap =
      static_cast<size_t>(std::max(head_->opts_.ooo_cap_max, 1));
  if (!samples_.empty() && mint_ <= maxt_) {
    head_->UpdateMinMaxTime(mint_, maxt_);
  }

  Isolation& iso = *head_->iso_;
  const uint64_t seq = iso.BeginCommit();
  const uint64_t low = iso.low_watermark();
  const ChunkEnv& env = *head_->env_;
  uint64_t depends_on = 0;
  uint64_t new_chunks = 0;
  uint64_t dropped = 0;
  uint64_t in_order = 0;
  uint64_t ooo_inserted = 0;
  uint64_t ooo_dups = 0;
  uint64_t too_old = 0;
  int64_t ooo_mint = std::numeric_limits<int64_t>::max();
  int64_t ooo_maxt = std::numeric_limits<int64_t>::min();
  auto insert_ooo = [&](MemSeries* s, const SampleRecord& r) {
    if (s->ooo == nullptr) s->ooo = std::make_unique<OooSeries>();
    if (s->ooo->Insert(r.t, r.v, seq, gen, ooo_cap)) {
      ++ooo_inserted;
      ooo_mint = std::min(ooo_mint, r.t);
      ooo_maxt = std::max(ooo_maxt, r.t);
      return true;
    }
    ++ooo_dups;
    return false;
  };
  absl::Status err;
  MemSeries* locked = nullptr;
  const size_t n = samples_.size();
  for (size_t i = 0; i < n; ++i) {
    // The series of a batch are spread over memory; fetch ahead.
    if (i + kPrefetch < n) {
      const Pending& ahead = pending_[sample_slots_[i + kPrefetch] & ~kOooSlot];
      // Every line: Commit also reaches the end (tx_), which Slot did not.
      PrefetchWholeSeries(ahead.series);
      PrefetchHints(ahead.hints);
    }
    const uint32_t raw = sample_slots_[i];
    Pending& p = pending_[raw & ~kOooSlot];
    MemSeries* s = p.series;
    if (s != locked) {
      if (locked != nullptr) locked->mu.unlock();
      s->mu.lock();
      locked = s;
    }
    const SampleRecord& r = samples_[i];
    if ((raw & kOooSlot) != 0) {
      insert_ooo(s, r);
    } else {
      const Appendability a = s->Appendable(r.t, r.v);
      if (a == Appendability::kOk) {
        absl::Status st =
            s->Append(r.t, r.v, seq, low, env, &depends_on, &new_chunks);
        if (st.ok()) {
          ++in_order;
        } else if (err.ok()) {
          err = std::move(st);
        }
      } else if (a == Appendability::kOutOfOrder && ooo_window_ > 0) {
        // A concurrent commit overtook it: out of order now (Prometheus
        // re-classifies at Commit too).
        if (r.t >= ooo_min_t_) {
          if (insert_ooo(s, r)) late_ooo_.push_back(r);
        } else {
          ++too_old;
          ++dropped;
        }
      } else {
        ++dropped;
      }
    }
    if (--p.num_samples == 0) --s->pending;
  }
  if (locked != nullptr) locked->mu.unlock();
  // Series created by this batch that got no sample.
  for (Pending& p : pending_) {
    if (!p.any_samples) {
      std::lock_guard lock(p.series->mu);
      --p.series->pending;
    }
  }
  if (ooo_inserted > 0) {
    head_->NoteOooInserted(ooo_inserted, ooo_mint, ooo_maxt);
    head_->ooo_appended_.fetch_add(ooo_inserted, std::memory_order_relaxed);
  }
  if (wbl != nullptr && !late_ooo_.empty()) {
    // Best effort, as Prometheus's WBL write: the samples are in memory
    // already (and in the WAL).
    if (!wbl->Log({}, late_ooo_).ok()) {
      head_->ooo_late_wbl_failures_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (freeze_lock.owns_lock()) freeze_lock.unlock();
  iso.EndCommit(seq, depends_on);

  head_->samples_appended_.fetch_add(in_order, std::memory_order_relaxed);
  if (dropped > 0) {
    head_->commit_dropped_.fetch_add(dropped, std::memory_order_relaxed);
  }
  if (too_old > 0) {
    head_->ooo_too_old_.fetch_add(too_old, std::memory_order_relaxed);
  }
  if (ooo_dups > 0) {
    head_->ooo_duplicates_.fetch_add(ooo_dups, std::memory_order_relaxed);
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
  if (rejected_too_old_ > 0) {
    head_->ooo_too_old_.fetch_add(rejected_too_old_, std::memory_order_relaxed);
  }
  rejected_out_of_order_ = rejected_out_of_bounds_ = rejected_duplicate_ = 0;
  rejected_too_old_ = 0;
  ooo_samples_.clear();
  late_ooo_.clear();
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
