// Opening the persistent blocks of a Prometheus data directory read-only, for
// the CLI. (The DB library opens a data dir with locking, WAL replay and
// compaction; the CLI only reads.)
#ifndef FRONTENDS_CLI_DATA_DIR_H_
#define FRONTENDS_CLI_DATA_DIR_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tsdb/block/block.h"
#include "tsdb/registry/registry.h"

namespace tsdb::cli {

// Every `<ULID>/` directory of `dir` that holds a meta.json, opened and
// sorted by min time (then ULID), as Prometheus orders blocks. Temporary
// directories (`*.tmp-for-creation`, ...) and other entries are skipped.
absl::StatusOr<std::vector<std::unique_ptr<block::Block>>> OpenBlocks(
    const std::string& dir, const Registry& registry,
    const std::string& chunk_reader);

}  // namespace tsdb::cli

#endif  // FRONTENDS_CLI_DATA_DIR_H_
