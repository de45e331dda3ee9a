// `tsdb list`: the blocks of a data dir, in promtool's format (Go's
// tabwriter with minwidth 13 and padding 2; block_table.h).
#include "absl/strings/str_cat.h"
#include "frontends/cli/block_table.h"
#include "frontends/cli/commands.h"
#include "frontends/cli/data_dir.h"
#include "frontends/cli/flags.h"
#include "tsdb/base/status_macros.h"

namespace tsdb::cli {

absl::Status List(const std::vector<std::string>& args,
                  const CommonFlags& common, const Registry& registry,
                  std::ostream& out) {
  TSDB_ASSIGN_OR_RETURN(ParsedArgs a, ParseArgs(args, {}, {"human-readable"},
                                                {{'r', "human-readable"}}));
  if (a.positional.size() > 1) {
    return absl::InvalidArgumentError("list takes at most one <db path>");
  }
  const bool human =
      a.values.count("human-readable") && a.values["human-readable"] != "false";
  const std::string dir = a.positional.empty() ? "data/" : a.positional[0];
  TSDB_ASSIGN_OR_RETURN(auto blocks,
                        OpenBlocks(dir, registry, common.chunk_reader));
  std::vector<std::vector<std::string>> rows = {BlockTableHeader()};
  for (const auto& b : blocks) rows.push_back(BlockTableRow(*b, human));
  WriteBlockTable(rows, out);
  return absl::OkStatus();
}

}  // namespace tsdb::cli
