// Set operations over Postings: the building blocks the querier combines to
// evaluate label matchers (Prometheus's tsdb/index Intersect, Merge, Without).
//
//   // {job="node", instance=~"a|b"} minus {mode="idle"}:
//   std::vector<std::unique_ptr<Postings>> alts;
//   alts.push_back(ix.Postings("instance", "a"));
//   alts.push_back(ix.Postings("instance", "b"));
//   std::vector<std::unique_ptr<Postings>> all;
//   all.push_back(ix.Postings("job", "node"));
//   all.push_back(Merge(std::move(alts)));
//   auto p = Without(Intersect(std::move(all)), ix.Postings("mode", "idle"));
//
// Every result is a lazy iterator: it pulls from its inputs on Next/Seek and
// never materializes a list. Inputs must be ascending without duplicates (as
// every Postings is); results are too. Results honour the Postings contract
// for Seek (never moves backwards, stays on a current element >= v).
//
// Errors: the first non-OK status() of any input ends the iteration and is
// reported by the result's status() (sticky).
//
// Ownership: each function takes ownership of its inputs. Thread safety: as
// for any Postings, one thread at a time.
#ifndef TSDB_POSTINGS_SET_OPS_H_
#define TSDB_POSTINGS_SET_OPS_H_

#include <memory>
#include <vector>

#include "tsdb/postings/postings.h"

namespace tsdb::postings {

// References present in every input. No inputs: empty.
std::unique_ptr<Postings> Intersect(std::vector<std::unique_ptr<Postings>> its);

// References present in at least one input (union), deduplicated.
std::unique_ptr<Postings> Merge(std::vector<std::unique_ptr<Postings>> its);

// References of `full` that are not in `drop` (difference).
std::unique_ptr<Postings> Without(std::unique_ptr<Postings> full,
                                  std::unique_ptr<Postings> drop);

}  // namespace tsdb::postings

#endif  // TSDB_POSTINGS_SET_OPS_H_
