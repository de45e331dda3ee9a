// Test helpers for tsdb/headwal: a head's whole content, read back through
// its readers and tsdb/querier's Select, as a map that compares easily.
// Thread safety: as Head's readers (any thread).
#ifndef TSDB_HEADWAL_TEST_UTIL_H_
#define TSDB_HEADWAL_TEST_UTIL_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "tsdb/head/head.h"

namespace tsdb::headwal::testing {

// Labels::ToString() -> samples (t, v) in time order.
using HeadDump = std::map<std::string, std::vector<std::pair<int64_t, double>>>;

// Every sample of every series in `head` (series without samples in range
// are absent, as Select skips them).
absl::StatusOr<HeadDump> DumpHead(head::Head& head);

// Bit-exact comparison of values, except that any two NaNs are equal (text
// dumps lose NaN payloads, e.g. the stale marker's).
bool SameDump(const HeadDump& a, const HeadDump& b, std::string* diff);

}  // namespace tsdb::headwal::testing

#endif  // TSDB_HEADWAL_TEST_UTIL_H_
