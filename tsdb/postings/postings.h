// Postings: an iterator over ascending series references, the result of
// looking up one (label name, label value) pair in an index, and the input
// and output of the set operations (intersect, merge, without) that evaluate
// label matchers.
//
// The same interface serves the head's in-memory postings (refs are
// HeadSeriesRefs) and a block index's postings (refs are series IDs, i.e.
// entry offset / 16), so the querier treats both alike.
//
// Thread safety: a Postings object is used by one thread at a time.
#ifndef TSDB_POSTINGS_POSTINGS_H_
#define TSDB_POSTINGS_POSTINGS_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace tsdb {

// A series reference: a HeadSeriesRef in the head, a series ID in a block.
using SeriesRef = uint64_t;

namespace postings {

class Postings {
 public:
  virtual ~Postings() = default;

  // Advances to the next reference; false at the end or on error.
  virtual bool Next() = 0;

  // Advances to the first reference >= v. If the current one (from a
  // previous Next or Seek) already is, stays there; never moves backwards.
  // Returns false if there is none.
  virtual bool Seek(SeriesRef v) = 0;

  // REQUIRES: the last Next() or Seek() returned true.
  virtual SeriesRef At() const = 0;

  // OK unless iteration stopped on an error (sticky).
  virtual absl::Status status() const = 0;
};

// Postings over a sorted, deduplicated vector it owns.
class ListPostings final : public Postings {
 public:
  explicit ListPostings(std::vector<SeriesRef> refs) : refs_(std::move(refs)) {}

  bool Next() override {
    if (pos_ + 1 >= static_cast<int64_t>(refs_.size())) {
      pos_ = static_cast<int64_t>(refs_.size());
      return false;
    }
    ++pos_;
    return true;
  }

  bool Seek(SeriesRef v) override {
    if (pos_ < 0) pos_ = 0;
    if (pos_ >= static_cast<int64_t>(refs_.size())) return false;
    if (refs_[pos_] < v) {
      pos_ = std::lower_bound(refs_.begin() + pos_, refs_.end(), v) -
             refs_.begin();
    }
    return pos_ < static_cast<int64_t>(refs_.size());
  }

  SeriesRef At() const override { return refs_[pos_]; }
  absl::Status status() const override { return absl::OkStatus(); }

 private:
  std::vector<SeriesRef> refs_;
  int64_t pos_ = -1;
};

// Postings that are empty; `status` lets an error travel as Postings.
class EmptyPostings final : public Postings {
 public:
  explicit EmptyPostings(absl::Status status = absl::OkStatus())
      : status_(std::move(status)) {}
  bool Next() override { return false; }
  bool Seek(SeriesRef) override { return false; }
  SeriesRef At() const override { return 0; }
  absl::Status status() const override { return status_; }

 private:
  absl::Status status_;
};

// Drains `p` into a vector (tests and small lists). Returns p's status.
inline absl::Status ExpandPostings(Postings& p, std::vector<SeriesRef>* out) {
  while (p.Next()) out->push_back(p.At());
  return p.status();
}

}  // namespace postings
}  // namespace tsdb

#endif  // TSDB_POSTINGS_POSTINGS_H_
