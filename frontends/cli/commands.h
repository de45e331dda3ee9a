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

// tsdb plugins: the registered implementations of every kind.
[[nodiscard]] absl::Status Plugins(const Registry& registry, std::ostream& out);

}  // namespace tsdb::cli

#endif  // FRONTENDS_CLI_COMMANDS_H_
