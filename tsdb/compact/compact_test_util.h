// Test helpers for compaction tests and benchmarks: registries with the XOR
// codec and the mmap chunk reader, writing a block from samples, reading a
// block's samples back through the querier (tombstones applied), adding
// tombstones to a block on disk, and temp dirs.
#ifndef TSDB_COMPACT_COMPACT_TEST_UTIL_H_
#define TSDB_COMPACT_COMPACT_TEST_UTIL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tsdb/block/block.h"
#include "tsdb/block/meta.h"
#include "tsdb/chunkenc/chunk.h"
#include "tsdb/chunkenc/registry.h"
#include "tsdb/chunks/chunk_file_reader.h"
#include "tsdb/labels/labels.h"

namespace tsdb::compact::testutil {

using chunkenc::Sample;

// Series labels -> samples (ascending timestamps).
using SeriesMap = std::map<labels::Labels, std::vector<Sample>>;

// XOR codec + the "mmap" and "pread" chunk readers.
struct Env {
  Env();
  chunkenc::CodecRegistry codecs;
  chunks::ChunkFileReaderRegistry readers;
};

struct TestBlockOptions {
  int64_t min_time = 0;
  int64_t max_time = 0;  // exclusive
  int level = 1;
  // Samples per chunk when encoding.
  int per_chunk = 120;
};

// Writes `series` as a block into `dir` (XOR chunks of `per_chunk`).
[[nodiscard]] absl::StatusOr<block::BlockMeta> WriteTestBlock(
    const Env& env, const std::string& dir, const SeriesMap& series,
    const TestBlockOptions& o);

// Opens the block at `dir` with the chunk reader named `reader`.
[[nodiscard]] absl::StatusOr<std::unique_ptr<block::Block>> OpenBlock(
    const Env& env, const std::string& dir, const std::string& reader = "mmap");

// Every series' samples within [minTime, maxTime-1], minus tombstones, keyed
// by Labels::ToString(); series left without samples are absent.
[[nodiscard]] absl::StatusOr<std::map<std::string, std::vector<Sample>>>
ReadSamples(const block::Block& b);

// Deletes [mint, maxt] of the series `lset` in the block at `block_dir` by
// rewriting its tombstones file and meta.json's numTombstones.
[[nodiscard]] absl::Status AddTombstone(const Env& env,
                                        const std::string& block_dir,
                                        const labels::Labels& lset,
                                        int64_t mint, int64_t maxt);

// $TEST_TMPDIR/<name>, emptied and created.
std::string TempDir(const std::string& name);

}  // namespace tsdb::compact::testutil

#endif  // TSDB_COMPACT_COMPACT_TEST_UTIL_H_
