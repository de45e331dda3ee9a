// Test helpers for block tests and benchmarks: registries holding the XOR
// codec and both chunk readers, XOR-encoding of synthetic series, reading a
// whole block back, temp dirs, and running promtool.
#ifndef TSDB_BLOCK_BLOCK_TEST_UTIL_H_
#define TSDB_BLOCK_BLOCK_TEST_UTIL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tsdb/block/block.h"
#include "tsdb/block/block_writer.h"
#include "tsdb/chunkenc/registry.h"
#include "tsdb/chunks/chunk_file_reader.h"
#include "tsdb/labels/labels.h"

namespace tsdb::block::testutil {

struct Sample {
  int64_t t;
  double v;
};

struct TestSeries {
  labels::Labels lset;
  std::vector<Sample> samples;
};

// Codec registry with XOR; chunk reader registry with "mmap" and "pread".
struct Registries {
  Registries();
  chunkenc::CodecRegistry codecs;
  chunks::ChunkFileReaderRegistry readers;
};

// XOR-encodes each series into chunks of `per_chunk` samples, also cutting
// at multiples of `range_ms` (when > 0) like Prometheus's head. Uses a
// test-only transcription of Prometheus's XOR appender (bit-identical), not
// the codec plugin's appender; `r` is unused.
std::vector<SeriesChunks> Encode(const Registries& r,
                                 const std::vector<TestSeries>& series,
                                 size_t per_chunk = 120, int64_t range_ms = 0);

// Every series of the block with its samples (tombstones not applied),
// keyed by Labels::ToString(), via the block's IndexReader and ChunkReader.
absl::StatusOr<std::map<std::string, std::vector<Sample>>> ReadAll(
    const Block& b);

// $TEST_TMPDIR/<name>, emptied.
std::string TempDir(const std::string& name);

// Runs `cmd` through the shell, capturing stdout (+stderr if asked);
// returns the exit status.
int Run(const std::string& cmd, std::string* out, bool with_stderr = false);

// Bitwise-equal values (NaN payloads included).
bool SameBits(double a, double b);

}  // namespace tsdb::block::testutil

#endif  // TSDB_BLOCK_BLOCK_TEST_UTIL_H_
