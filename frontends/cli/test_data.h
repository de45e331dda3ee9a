// Test helper: small, complete data dirs for the CLI's tests, written with
// our own writers (no Prometheus needed):
//
//   <dir>/<ULID>/{meta.json,index,chunks/000001,tombstones}   two blocks
//   <dir>/chunks_head/000001                                  head chunks
//   <dir>/wal/00000000..00000001, wal/checkpoint.00000000/    WAL records
//
//   tsdb::Registry registry;  ...RegisterBuiltinPlugins(registry)...
//   TestDataDir d = *MakeTestDataDir(registry, ::testing::TempDir() + "/x");
//   // d.index_path, d.wal_segment_path, ... name one file of each kind.
//
// Ownership: the caller owns the dir. Thread safety: none needed (tests
// call it from one thread).
#ifndef FRONTENDS_CLI_TEST_DATA_H_
#define FRONTENDS_CLI_TEST_DATA_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tsdb/registry/registry.h"

namespace tsdb::cli::testing {

struct TestDataDir {
  std::string dir;
  std::vector<std::string> blocks;  // block dirs, oldest first
  // One file of each kind (in the newest block for block files).
  std::string meta_path, index_path, chunk_segment_path, tombstones_path;
  std::string head_chunks_path, wal_segment_path, checkpoint_segment_path;
};

// Creates (replacing) `dir` with the layout above. `registry` must hold the
// XOR codec and the "segmented" WAL.
absl::StatusOr<TestDataDir> MakeTestDataDir(const Registry& registry,
                                            const std::string& dir);

}  // namespace tsdb::cli::testing

#endif  // FRONTENDS_CLI_TEST_DATA_H_
