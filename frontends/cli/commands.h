// The `tsdb` CLI's subcommands, promtool's `tsdb` subcommands and more. Each
// takes its arguments (after the subcommand name) and the filled registry,
// writes its output to `out`, and returns a Status whose message the main
// function prints; a non-OK status exits non-zero.
#ifndef FRONTENDS_CLI_COMMANDS_H_
#define FRONTENDS_CLI_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/registry/registry.h"

namespace tsdb::cli {

struct CommonFlags {
  std::string chunk_reader = "mmap";  // --chunk-reader
};

// tsdb list [-r|--human-readable] [<db path>]
[[nodiscard]] absl::Status List(const std::vector<std::string>& args,
                                const CommonFlags& common,
                                const Registry& registry, std::ostream& out);

// tsdb dump [--min-time=T] [--max-time=T] [--match=SELECTOR] [<db path>]
[[nodiscard]] absl::Status Dump(const std::vector<std::string>& args,
                                const CommonFlags& common,
                                const Registry& registry, std::ostream& out);

// tsdb check [<db path>]: verifies every checksum of the data dir (blocks,
// chunks_head, WAL and checkpoints), one line per file on `out`, then a
// summary. DataLoss when any file is corrupt (the lines name file, offset and
// what was expected).
[[nodiscard]] absl::Status Check(const std::vector<std::string>& args,
                                 std::ostream& out);

// tsdb analyze [--limit=20] [--match=SELECTOR] [<db path>] [<block id>]:
// promtool's `tsdb analyze` (ties in its sorted lists broken by key).
[[nodiscard]] absl::Status Analyze(const std::vector<std::string>& args,
                                   const CommonFlags& common,
                                   const Registry& registry, std::ostream& out);

// tsdb bench write [--out=DIR] [--metrics=N] [--scrapes=N] [<file>]:
// promtool's synthetic ingest benchmark, into a fresh DB with a WAL.
[[nodiscard]] absl::Status BenchWrite(const std::vector<std::string>& args,
                                      const Registry& registry,
                                      std::ostream& out);

// tsdb import openmetrics [-r] [-q] [--max-block-duration=D] <input file>
// [<output dir>]: promtool's `tsdb create-blocks-from openmetrics`.
[[nodiscard]] absl::Status Import(const std::vector<std::string>& args,
                                  const CommonFlags& common,
                                  const Registry& registry, std::ostream& out);

// Go's time.ParseDuration ("2h", "1h30m", "90s"), in milliseconds.
absl::StatusOr<int64_t> ParseGoDurationMs(const std::string& s);
// promtool's getCompatibleBlockDuration: 2h, or the largest of 2h x 3^i
// (i < 10) not above `max_block_duration_ms`.
int64_t CompatibleBlockDuration(int64_t max_block_duration_ms);

// tsdb plugins: the registered implementations of every kind.
[[nodiscard]] absl::Status Plugins(const Registry& registry, std::ostream& out);

}  // namespace tsdb::cli

#endif  // FRONTENDS_CLI_COMMANDS_H_
