// The "none" WAL: keeps nothing, for ephemeral databases and benchmarks.
//
// Log and Sync succeed without writing; Segments reports no segments;
// NextSegment counts up from 0. Nothing survives a restart.
// Thread safety: all methods are safe from several threads.
#ifndef PLUGINS_WAL_NONE_NONE_WAL_H_
#define PLUGINS_WAL_NONE_NONE_WAL_H_

#include <memory>

#include "absl/status/statusor.h"
#include "tsdb/wal/registry.h"
#include "tsdb/wal/wal.h"

namespace tsdb::plugins {

// Never fails; options other than dir are ignored and nothing is created.
absl::StatusOr<std::unique_ptr<wal::Wal>> OpenNoneWal(
    const wal::WalOptions& options);

// Registers OpenNoneWal as "none".
[[nodiscard]] absl::Status RegisterNoneWal(wal::WalRegistry& registry);

}  // namespace tsdb::plugins

#endif  // PLUGINS_WAL_NONE_NONE_WAL_H_
