// Select: the series of one source (a block or the head, through its
// IndexReader and ChunkReader) that match the matchers, with their samples
// in [mint, maxt] (inclusive), minus deleted intervals.
//
// Series with no chunk overlapping the range, or whose overlapping chunks are
// wholly deleted, are skipped. Chunks are read lazily, when a series'
// iterator reaches them; a chunk that cannot be read ends that iterator with
// its error (status()).
//
// Ownership: the returned set and its series borrow `index`, `chunks` and
// `deleted`, which must outlive them.
#ifndef TSDB_QUERIER_SELECT_H_
#define TSDB_QUERIER_SELECT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "tsdb/block/reader_interface.h"
#include "tsdb/labels/matcher.h"
#include "tsdb/querier/series_set.h"
#include "tsdb/tombstones/tombstones.h"

namespace tsdb::querier {

// Deleted intervals of a series (sorted, non-overlapping; empty if none).
using DeletedIntervalsFn =
    std::function<tombstones::Intervals(SeriesRef series)>;

struct SelectOptions {
  int64_t mint = INT64_MIN;
  int64_t maxt = INT64_MAX;
  // Series in label order (needed to merge with other sources). Blocks are
  // sorted already; the head sorts on request.
  bool sorted = true;
  // Null: nothing deleted.
  const DeletedIntervalsFn* deleted = nullptr;
};

absl::StatusOr<std::unique_ptr<SeriesSet>> Select(
    const IndexReader& index, const ChunkReader& chunks,
    const std::vector<labels::Matcher>& matchers, const SelectOptions& opts);

}  // namespace tsdb::querier

#endif  // TSDB_QUERIER_SELECT_H_
