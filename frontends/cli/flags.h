// Minimal kingpin-like argument parsing for the CLI: `--name=value`,
// `--name value`, boolean `--name` / `-x`, and positional arguments.
#ifndef FRONTENDS_CLI_FLAGS_H_
#define FRONTENDS_CLI_FLAGS_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tsdb::cli {

struct ParsedArgs {
  std::map<std::string, std::string> values;  // by long name, without "--"
  std::vector<std::string> positional;
};

// `value_flags`: long names taking a value; `bool_flags`: long names without
// one; `short_names`: single-letter alias -> long name. Unknown flags are an
// error naming them.
absl::StatusOr<ParsedArgs> ParseArgs(
    const std::vector<std::string>& args,
    const std::set<std::string>& value_flags,
    const std::set<std::string>& bool_flags,
    const std::map<char, std::string>& short_names = {});

}  // namespace tsdb::cli

#endif  // FRONTENDS_CLI_FLAGS_H_
