// Test helpers for the head: a registry holding the XOR codec, small-stripe
// options, and reading a series' samples back through the head's readers.
#ifndef TSDB_HEAD_TEST_UTIL_H_
#define TSDB_HEAD_TEST_UTIL_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "tsdb/block/reader_interface.h"
#include "tsdb/chunkenc/registry.h"
#include "tsdb/head/head.h"

namespace tsdb::head::testing {

// A process-wide registry holding the XOR codec (never destroyed).
const chunkenc::CodecRegistry& XorRegistry();

// Options for tests: XOR, 64 stripes.
HeadOptions TestOptions();

// Opens a head; fails the test on error.
std::unique_ptr<Head> OpenHead(const HeadOptions& opts = TestOptions());

using TV = std::pair<int64_t, double>;

// The samples of series `ref` visible through `index`/`chunks`, in order,
// and the chunk metas they came from.
absl::Status ReadSeries(const IndexReader& index, const ChunkReader& chunks,
                        SeriesRef ref, std::vector<TV>* out,
                        std::vector<ChunkMeta>* metas = nullptr);

// The samples of series `ref` through a fresh snapshot of `head`.
std::vector<TV> ReadAll(Head& head, SeriesRef ref,
                        int64_t mint = std::numeric_limits<int64_t>::min(),
                        int64_t maxt = std::numeric_limits<int64_t>::max());

}  // namespace tsdb::head::testing

#endif  // TSDB_HEAD_TEST_UTIL_H_
