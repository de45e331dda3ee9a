#include "tsdb/postings/set_ops.h"

#include <algorithm>
#include <functional>
#include <utility>

namespace tsdb::postings {
namespace {

class IntersectPostings final : public Postings {
 public:
  explicit IntersectPostings(std::vector<std::unique_ptr<Postings>> its)
      : its_(std::move(its)) {}

  bool Next() override {
    if (done_) return false;
    started_ = true;
    if (!its_[0]->Next()) return Finish();
    return Align(its_[0]->At());
  }

  bool Seek(SeriesRef v) override {
    if (done_) return false;
    if (started_ && cur_ >= v) return true;
    started_ = true;
    return Align(v);
  }

  SeriesRef At() const override { return cur_; }
  absl::Status status() const override { return status_; }

 private:
  // Moves every input to the smallest common reference >= target.
  bool Align(SeriesRef target) {
    for (;;) {
      bool agreed = true;
      for (auto& it : its_) {
        if (!it->Seek(target)) return Finish();
        if (it->At() > target) {
          target = it->At();
          agreed = false;
          break;
        }
      }
      if (agreed) {
        cur_ = target;
        return true;
      }
    }
  }

  bool Finish() {
    done_ = true;
    for (auto& it : its_) {
      absl::Status s = it->status();
      if (!s.ok()) {
        status_ = std::move(s);
        break;
      }
    }
    return false;
  }

  std::vector<std::unique_ptr<Postings>> its_;
  SeriesRef cur_ = 0;
  bool started_ = false;
  bool done_ = false;
  absl::Status status_;
};

class MergePostings final : public Postings {
 public:
  explicit MergePostings(std::vector<std::unique_ptr<Postings>> its)
      : its_(std::move(its)) {
    heap_.reserve(its_.size());
  }

  bool Next() override {
    if (done_) return false;
    if (!started_) {
      started_ = true;
      for (auto& it : its_) {
        if (it->Next()) {
          heap_.push_back(it.get());
        } else if (!Check(*it)) {
          return false;
        }
      }
      std::make_heap(heap_.begin(), heap_.end(), Greater);
      return Current();
    }
    // Advance every input sitting on the current reference.
    while (!heap_.empty() && heap_.front()->At() == cur_) {
      std::pop_heap(heap_.begin(), heap_.end(), Greater);
      Postings* it = heap_.back();
      if (it->Next()) {
        std::push_heap(heap_.begin(), heap_.end(), Greater);
      } else {
        heap_.pop_back();
        if (!Check(*it)) return false;
      }
    }
    return Current();
  }

  bool Seek(SeriesRef v) override {
    if (done_) return false;
    if (started_ && cur_ >= v) return true;
    if (!started_) {
      started_ = true;
      for (auto& it : its_) {
        if (it->Seek(v)) {
          heap_.push_back(it.get());
        } else if (!Check(*it)) {
          return false;
        }
      }
      std::make_heap(heap_.begin(), heap_.end(), Greater);
      return Current();
    }
    while (!heap_.empty() && heap_.front()->At() < v) {
      std::pop_heap(heap_.begin(), heap_.end(), Greater);
      Postings* it = heap_.back();
      if (it->Seek(v)) {
        std::push_heap(heap_.begin(), heap_.end(), Greater);
      } else {
        heap_.pop_back();
        if (!Check(*it)) return false;
      }
    }
    return Current();
  }

  SeriesRef At() const override { return cur_; }
  absl::Status status() const override { return status_; }

 private:
  static bool Greater(const Postings* a, const Postings* b) {
    return a->At() > b->At();
  }

  // False (and done) if `it` stopped on an error.
  bool Check(const Postings& it) {
    absl::Status s = it.status();
    if (s.ok()) return true;
    status_ = std::move(s);
    done_ = true;
    return false;
  }

  bool Current() {
    if (heap_.empty()) {
      done_ = true;
      return false;
    }
    cur_ = heap_.front()->At();
    return true;
  }

  std::vector<std::unique_ptr<Postings>> its_;
  std::vector<Postings*> heap_;  // min-heap on At()
  SeriesRef cur_ = 0;
  bool started_ = false;
  bool done_ = false;
  absl::Status status_;
};

class WithoutPostings final : public Postings {
 public:
  WithoutPostings(std::unique_ptr<Postings> full,
                  std::unique_ptr<Postings> drop)
      : full_(std::move(full)), drop_(std::move(drop)) {}

  bool Next() override {
    if (done_) return false;
    started_ = true;
    if (!full_->Next()) return Finish(full_->status());
    return Skip();
  }

  bool Seek(SeriesRef v) override {
    if (done_) return false;
    if (started_ && cur_ >= v) return true;
    started_ = true;
    if (!full_->Seek(v)) return Finish(full_->status());
    return Skip();
  }

  SeriesRef At() const override { return cur_; }
  absl::Status status() const override { return status_; }

 private:
  // Moves `full_` forward past references present in `drop_`.
  bool Skip() {
    for (;;) {
      const SeriesRef c = full_->At();
      if (!drop_done_) {
        if (!drop_->Seek(c)) {
          drop_done_ = true;
          absl::Status s = drop_->status();
          if (!s.ok()) return Finish(std::move(s));
        } else if (drop_->At() == c) {
          if (!full_->Next()) return Finish(full_->status());
          continue;
        }
      }
      cur_ = c;
      return true;
    }
  }

  bool Finish(absl::Status s) {
    done_ = true;
    status_ = std::move(s);
    return false;
  }

  std::unique_ptr<Postings> full_;
  std::unique_ptr<Postings> drop_;
  SeriesRef cur_ = 0;
  bool started_ = false;
  bool drop_done_ = false;
  bool done_ = false;
  absl::Status status_;
};

}  // namespace

std::unique_ptr<Postings> Intersect(
    std::vector<std::unique_ptr<Postings>> its) {
  if (its.empty()) return std::make_unique<EmptyPostings>();
  if (its.size() == 1) return std::move(its[0]);
  return std::make_unique<IntersectPostings>(std::move(its));
}

std::unique_ptr<Postings> Merge(std::vector<std::unique_ptr<Postings>> its) {
  if (its.empty()) return std::make_unique<EmptyPostings>();
  if (its.size() == 1) return std::move(its[0]);
  return std::make_unique<MergePostings>(std::move(its));
}

std::unique_ptr<Postings> Without(std::unique_ptr<Postings> full,
                                  std::unique_ptr<Postings> drop) {
  return std::make_unique<WithoutPostings>(std::move(full), std::move(drop));
}

}  // namespace tsdb::postings
