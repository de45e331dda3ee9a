// MemPostings: the head's in-memory inverted index, label name -> label
// value -> ascending list of series references (Prometheus's
// index.MemPostings), plus the list of all series.
//
//   MemPostings mp;
//   mp.Add(ref, lset);                       // when a series is created
//   std::unique_ptr<Postings> p = mp.Get("job", "node");
//   mp.Delete({{ref, lset}});                // when it is garbage-collected
//
// Lists stay sorted whatever order references are added in: an added
// reference is inserted at its place by walking back from the end, which is
// O(1) when references arrive nearly ascending (head series refs are handed
// out in increasing order; concurrent creators may add them slightly out of
// order).
//
// Bulk loading: between SetUnordered() and EnsureOrder() (a start-up that
// restores series in an arbitrary order, e.g. from a chunk snapshot written
// in hash order), Add appends without keeping lists sorted and EnsureOrder()
// sorts every list once: O(n log n) instead of the insertion walk's O(n^2)
// on a list that grows out of order. Lists are not readable in between.
//
// Readers get a snapshot: Get() and All() copy the list under a shared lock,
// so the returned Postings never observes later Adds or Deletes.
//
// Thread safety: all methods may be called concurrently (one
// std::shared_mutex; Add and Delete take it exclusively).
#ifndef TSDB_POSTINGS_MEM_POSTINGS_H_
#define TSDB_POSTINGS_MEM_POSTINGS_H_

#include <cstddef>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "tsdb/labels/labels.h"
#include "tsdb/postings/postings.h"

namespace tsdb::postings {

class MemPostings final {
 public:
  MemPostings() = default;
  MemPostings(const MemPostings&) = delete;
  MemPostings& operator=(const MemPostings&) = delete;

  // Adds `ref` to the list of every label pair of `lset` and to the list of
  // all series. REQUIRES: `ref` is not already present.
  void Add(SeriesRef ref, const labels::Labels& lset);
  // Add(refs[i], *lsets[i]) for i < n, under one lock acquisition.
  void AddAll(const SeriesRef* refs, const labels::Labels* const* lsets,
              size_t n);

  // Starts bulk loading (see above). REQUIRES: no reader until EnsureOrder.
  void SetUnordered();
  // Sorts every list and ends bulk loading (a no-op outside it). Sorting is
  // spread over `threads` threads.
  void EnsureOrder(int threads = 1);

  // Removes each series (its ref and the label set it was added with) from
  // every list it is in; empty lists and names disappear. Refs not present
  // are ignored.
  void Delete(const std::vector<std::pair<SeriesRef, labels::Labels>>& series);

  // A snapshot of the list for name=value; empty if unknown. Get("", "") is
  // All().
  std::unique_ptr<Postings> Get(std::string_view name,
                                std::string_view value) const;
  // A snapshot of the list of all series.
  std::unique_ptr<Postings> All() const;

  // Label names (sorted, unique) of the series present.
  std::vector<std::string> LabelNames() const;
  // Values (sorted, unique) of label `name`; empty if unknown.
  std::vector<std::string> LabelValues(std::string_view name) const;

  struct Stats {
    size_t series = 0;        // length of the all-series list
    size_t label_names = 0;   // distinct names
    size_t label_pairs = 0;   // distinct (name, value) pairs
    size_t entries = 0;       // references over all pair lists
    size_t memory_bytes = 0;  // estimate of heap bytes held
  };
  Stats GetStats() const;

 private:
  using List = std::vector<SeriesRef>;
  using ValueMap = absl::flat_hash_map<std::string, List>;

  static void Insert(List& list, SeriesRef ref);
  void AddLocked(SeriesRef ref, const labels::Labels& lset);  // REQUIRES mu_

  mutable std::shared_mutex mu_;
  absl::flat_hash_map<std::string, ValueMap> lists_;  // GUARDED_BY(mu_)
  List all_;                                          // GUARDED_BY(mu_)
  bool unordered_ = false;                            // GUARDED_BY(mu_)
};

}  // namespace tsdb::postings

#endif  // TSDB_POSTINGS_MEM_POSTINGS_H_
