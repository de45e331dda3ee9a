// Conformance suite for ChunkFileReader plugins (tsdb/chunks/
// chunk_file_reader.h). Every plugin must return identical bytes and
// identical errors (same code, same message) for the same files, including
// corrupt ones: bad CRC, ref past the end, segment index past the last file,
// unknown encoding byte (returned as stored), truncated record, bad magic.
//
// A plugin's test instantiates the suite with one line:
//   INSTANTIATE_TEST_SUITE_P(Mmap, ChunkReaderConformanceTest,
//       ::testing::Values(tsdb::testing::ChunkReaderPlugin{
//           "mmap", &tsdb::plugins::RegisterMmapChunkReader}));
#ifndef TESTING_CHUNKREADER_CONFORMANCE_H_
#define TESTING_CHUNKREADER_CONFORMANCE_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "tsdb/chunks/chunk_file_reader.h"

namespace tsdb::testing {

struct ChunkReaderPlugin {
  std::string name;  // the registry name the plugin registers
  absl::Status (*register_fn)(chunks::ChunkFileReaderRegistry&);

  friend void PrintTo(const ChunkReaderPlugin& p, std::ostream* os) {
    *os << p.name;
  }
};

class ChunkReaderConformanceTest
    : public ::testing::TestWithParam<ChunkReaderPlugin> {};

}  // namespace tsdb::testing

#endif  // TESTING_CHUNKREADER_CONFORMANCE_H_
