#include "tsdb/querier/series_set.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>

namespace tsdb::querier {
namespace {

using chunkenc::Sample;
using chunkenc::SampleIterator;

class VectorSampleIterator final : public SampleIterator {
 public:
  explicit VectorSampleIterator(std::shared_ptr<const std::vector<Sample>> s)
      : samples_(std::move(s)) {}
  bool Next() override {
    if (pos_ < size()) ++pos_;
    return pos_ < size();
  }
  bool Seek(int64_t t) override {
    if (pos_ < 0) pos_ = 0;
    while (pos_ < size() && (*samples_)[pos_].t < t) ++pos_;
    return pos_ < size();
  }
  Sample At() const override { return (*samples_)[pos_]; }
  absl::Status status() const override { return absl::OkStatus(); }

 private:
  int64_t size() const { return static_cast<int64_t>(samples_->size()); }
  std::shared_ptr<const std::vector<Sample>> samples_;
  int64_t pos_ = -1;  // index of the current sample; -1 before the start
};

class VectorSeriesImpl final : public Series {
 public:
  VectorSeriesImpl(labels::Labels l, std::vector<Sample> s)
      : labels_(std::move(l)),
        samples_(std::make_shared<const std::vector<Sample>>(std::move(s))) {}
  const labels::Labels& Labels() const override { return labels_; }
  std::unique_ptr<SampleIterator> Iterator() const override {
    return std::make_unique<VectorSampleIterator>(samples_);
  }

 private:
  labels::Labels labels_;
  std::shared_ptr<const std::vector<Sample>> samples_;
};

class VectorSeriesSetImpl final : public SeriesSet {
 public:
  explicit VectorSeriesSetImpl(std::vector<std::unique_ptr<Series>> s)
      : series_(std::move(s)) {}
  bool Next() override {
    if (pos_ < size()) ++pos_;
    return pos_ < size();
  }
  const Series& At() const override { return *series_[pos_]; }
  absl::Status status() const override { return absl::OkStatus(); }

 private:
  int64_t size() const { return static_cast<int64_t>(series_.size()); }
  std::vector<std::unique_ptr<Series>> series_;
  int64_t pos_ = -1;
};

// Merges ascending iterators; ties go to the lowest index. Keeps every
// iterator's current sample (its head) so that picking the next sample
// needs no virtual call, and, while the current iterator stays strictly
// below every other head (the usual case: sources that do not overlap in
// time, such as adjacent blocks), advances only that iterator without
// scanning the others. Errors are sticky: an iterator that stops with an
// error ends the merge.
class MergingSampleIterator final : public SampleIterator {
 public:
  explicit MergingSampleIterator(
      std::vector<std::unique_ptr<SampleIterator>> its)
      : its_(std::move(its)), heads_(its_.size()), valid_(its_.size(), 0) {}

  bool Next() override {
    if (!status_.ok()) return false;
    if (!started_) {
      started_ = true;
      for (size_t i = 0; i < its_.size(); ++i) {
        if (!Advance(i)) return false;
      }
      return Pick();
    }
    if (cur_ < 0) return false;
    const int64_t t = cur_sample_.t;
    if (next_other_ > t) {
      // Only the current iterator is at t.
      if (!Advance(cur_)) return false;
      if (valid_[cur_] && heads_[cur_].t < next_other_) {
        cur_sample_ = heads_[cur_];
        return true;
      }
      return Pick();
    }
    // Advance every iterator positioned at the current timestamp.
    for (size_t i = 0; i < its_.size(); ++i) {
      if (valid_[i] && heads_[i].t == t && !Advance(i)) return false;
    }
    return Pick();
  }

  bool Seek(int64_t t) override {
    if (!status_.ok()) return false;
    if (started_ && cur_ >= 0 && cur_sample_.t >= t) return true;
    started_ = true;
    for (size_t i = 0; i < its_.size(); ++i) {
      if (valid_[i] && heads_[i].t >= t) continue;  // Seek never goes back
      valid_[i] = its_[i]->Seek(t);
      if (valid_[i]) {
        heads_[i] = its_[i]->At();
      } else if (!Check(i)) {
        return false;
      }
    }
    return Pick();
  }

  Sample At() const override { return cur_sample_; }

  absl::Status status() const override { return status_; }

 private:
  // Moves iterator i to its next sample; false on an error.
  bool Advance(size_t i) {
    valid_[i] = its_[i]->Next();
    if (valid_[i]) {
      heads_[i] = its_[i]->At();
      return true;
    }
    return Check(i);
  }

  // Iterator i has ended: records its error, if any.
  bool Check(size_t i) {
    status_ = its_[i]->status();
    if (status_.ok()) return true;
    cur_ = -1;
    return false;
  }

  // Picks the smallest head (lowest index on ties) and the smallest head
  // among the others.
  bool Pick() {
    cur_ = -1;
    next_other_ = INT64_MAX;
    for (size_t i = 0; i < its_.size(); ++i) {
      if (!valid_[i]) continue;
      const int64_t t = heads_[i].t;
      if (cur_ < 0 || t < cur_sample_.t) {
        if (cur_ >= 0) next_other_ = std::min(next_other_, cur_sample_.t);
        cur_ = static_cast<int>(i);
        cur_sample_ = heads_[i];
      } else {
        next_other_ = std::min(next_other_, t);
      }
    }
    return cur_ >= 0;
  }

  std::vector<std::unique_ptr<SampleIterator>> its_;
  std::vector<Sample> heads_;
  std::vector<char> valid_;
  bool started_ = false;
  int cur_ = -1;
  Sample cur_sample_{0, 0};
  int64_t next_other_ = INT64_MAX;  // smallest head t among the others
  absl::Status status_;
};

// The series of one label set found in several sets.
class MergedSeries final : public Series {
 public:
  MergedSeries(labels::Labels l, std::vector<const Series*> parts)
      : labels_(std::move(l)), parts_(std::move(parts)) {}
  const labels::Labels& Labels() const override { return labels_; }
  std::unique_ptr<SampleIterator> Iterator() const override {
    std::vector<std::unique_ptr<SampleIterator>> its;
    its.reserve(parts_.size());
    for (const Series* p : parts_) its.push_back(p->Iterator());
    return MergeSampleIterators(std::move(its));
  }

 private:
  labels::Labels labels_;
  std::vector<const Series*> parts_;
};

class MergingSeriesSet final : public SeriesSet {
 public:
  explicit MergingSeriesSet(std::vector<std::unique_ptr<SeriesSet>> sets)
      : sets_(std::move(sets)), valid_(sets_.size(), false) {}

  bool Next() override {
    if (!started_) {
      started_ = true;
      for (size_t i = 0; i < sets_.size(); ++i) valid_[i] = sets_[i]->Next();
    } else {
      for (size_t i : current_) valid_[i] = sets_[i]->Next();
    }
    current_.clear();
    cur_.reset();
    for (size_t i = 0; i < sets_.size(); ++i) {
      if (!sets_[i]->status().ok()) return false;
    }
    const labels::Labels* min = nullptr;
    for (size_t i = 0; i < sets_.size(); ++i) {
      if (!valid_[i]) continue;
      const labels::Labels& l = sets_[i]->At().Labels();
      const int c = min == nullptr ? -1 : labels::Labels::Compare(l, *min);
      if (c < 0) {
        min = &l;
        current_.assign(1, i);
      } else if (c == 0) {
        current_.push_back(i);
      }
    }
    if (current_.empty()) return false;
    if (current_.size() == 1) return true;
    std::vector<const Series*> parts;
    for (size_t i : current_) parts.push_back(&sets_[i]->At());
    cur_ = std::make_unique<MergedSeries>(*min, std::move(parts));
    return true;
  }

  const Series& At() const override {
    if (cur_ != nullptr) return *cur_;
    return sets_[current_[0]]->At();
  }

  absl::Status status() const override {
    for (const auto& s : sets_) {
      if (absl::Status st = s->status(); !st.ok()) return st;
    }
    return absl::OkStatus();
  }

 private:
  std::vector<std::unique_ptr<SeriesSet>> sets_;
  std::vector<bool> valid_;
  std::vector<size_t> current_;
  std::unique_ptr<MergedSeries> cur_;
  bool started_ = false;
};

}  // namespace

std::unique_ptr<SeriesSet> MergeSeriesSets(
    std::vector<std::unique_ptr<SeriesSet>> sets) {
  if (sets.size() == 1) return std::move(sets[0]);
  return std::make_unique<MergingSeriesSet>(std::move(sets));
}

std::unique_ptr<SampleIterator> MergeSampleIterators(
    std::vector<std::unique_ptr<SampleIterator>> its) {
  if (its.size() == 1) return std::move(its[0]);
  return std::make_unique<MergingSampleIterator>(std::move(its));
}

std::unique_ptr<SeriesSet> VectorSeriesSet(
    std::vector<std::unique_ptr<Series>> series) {
  return std::make_unique<VectorSeriesSetImpl>(std::move(series));
}

std::unique_ptr<Series> VectorSeries(labels::Labels lset,
                                     std::vector<Sample> samples) {
  return std::make_unique<VectorSeriesImpl>(std::move(lset),
                                            std::move(samples));
}

}  // namespace tsdb::querier
