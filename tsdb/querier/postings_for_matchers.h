// Series selection: the postings (series refs) of an index that satisfy all
// of a list of label matchers, as Prometheus's PostingsForMatchers computes
// them.
//
// A series without label `l` counts as having l="" for every matcher on `l`:
// `{l=""}` selects series without `l`, `{l!=""}` series with it, and
// `{l=~"a|"}` series with l="a" or without `l`. Equality and literal-set
// regexes look postings up directly; other matchers scan the label's values.
// The result is ascending by ref (block order for blocks; creation order for
// the head — sort with IndexReader::SortedPostings when needed).
#ifndef TSDB_QUERIER_POSTINGS_FOR_MATCHERS_H_
#define TSDB_QUERIER_POSTINGS_FOR_MATCHERS_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "tsdb/block/reader_interface.h"
#include "tsdb/labels/matcher.h"
#include "tsdb/postings/postings.h"

namespace tsdb::querier {

// Errors from the index (e.g. corrupt label values) are returned directly or
// through the returned Postings' status().
absl::StatusOr<std::unique_ptr<postings::Postings>> PostingsForMatchers(
    const IndexReader& index, const std::vector<labels::Matcher>& matchers);

}  // namespace tsdb::querier

#endif  // TSDB_QUERIER_POSTINGS_FOR_MATCHERS_H_
