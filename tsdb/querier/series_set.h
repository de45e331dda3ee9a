// Query results: a SeriesSet yields Series in label-set order; each Series
// has its labels and a fresh SampleIterator over its samples in the queried
// time range.
//
// Merging: several sources (blocks and the head) may hold the same series
// over different or overlapping time ranges. MergeSeriesSets() combines
// sorted SeriesSets into one, where a series found in several sets becomes
// one Series whose iterator merges the samples by timestamp; where two
// sources hold a sample at the same timestamp, the one from the earlier
// set in the argument list wins (the others are dropped), as Prometheus's
// chaining merge keeps one sample per timestamp.
//
// Ownership: a Series stays valid until the next call to Next() on its set;
// iterators it returns own everything they need. Thread safety: one thread at
// a time per set.
#ifndef TSDB_QUERIER_SERIES_SET_H_
#define TSDB_QUERIER_SERIES_SET_H_

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "tsdb/chunkenc/chunk.h"
#include "tsdb/labels/labels.h"

namespace tsdb::querier {

class Series {
 public:
  virtual ~Series() = default;
  virtual const labels::Labels& Labels() const = 0;
  // A new iterator over the series' samples, ascending by timestamp.
  virtual std::unique_ptr<chunkenc::SampleIterator> Iterator() const = 0;
};

class SeriesSet {
 public:
  virtual ~SeriesSet() = default;
  // Advances to the next series; false at the end or on error.
  virtual bool Next() = 0;
  // REQUIRES: the last Next() returned true.
  virtual const Series& At() const = 0;
  virtual absl::Status status() const = 0;
};

// Merges sets that are each sorted by labels; see the file comment.
std::unique_ptr<SeriesSet> MergeSeriesSets(
    std::vector<std::unique_ptr<SeriesSet>> sets);

// Merges sample iterators that are each ascending by timestamp; on equal
// timestamps the earliest iterator in `its` wins. An iterator that stops
// with an error ends the merge with that error (status()). Cost per sample
// is O(1) while one iterator stays below all others (sources adjacent in
// time), O(len(its)) where they interleave.
std::unique_ptr<chunkenc::SampleIterator> MergeSampleIterators(
    std::vector<std::unique_ptr<chunkenc::SampleIterator>> its);

// A SeriesSet over series held in memory (tests, small results).
std::unique_ptr<SeriesSet> VectorSeriesSet(
    std::vector<std::unique_ptr<Series>> series);

// A Series over samples held in memory.
std::unique_ptr<Series> VectorSeries(labels::Labels lset,
                                     std::vector<chunkenc::Sample> samples);

}  // namespace tsdb::querier

#endif  // TSDB_QUERIER_SERIES_SET_H_
