// Test helpers for tsdb/db: a registry holding the built-in plugins, and a
// DB's content as a map that compares easily.
#ifndef TSDB_DB_DB_TEST_UTIL_H_
#define TSDB_DB_DB_TEST_UTIL_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "tsdb/db/db.h"
#include "tsdb/registry/registry.h"

namespace tsdb::db::testing {

// XOR codec, mmap and pread chunk readers, segmented and none WALs.
const Registry& TestRegistry();

// Labels::ToString() -> samples (t, v) in time order.
using Dump = std::map<std::string, std::vector<std::pair<int64_t, double>>>;

// Every sample in [mint, maxt] of the series matching `selector` (default:
// every series).
absl::StatusOr<Dump> DumpDB(DB& db, int64_t mint = INT64_MIN,
                            int64_t maxt = INT64_MAX,
                            const std::string& selector = "{__name__=~\".+\"}");

// Options for tests: no background loop unless asked, no log noise.
Options QuietOptions();

}  // namespace tsdb::db::testing

#endif  // TSDB_DB_DB_TEST_UTIL_H_
