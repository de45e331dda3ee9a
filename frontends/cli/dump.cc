// `tsdb dump`: every float sample of a data dir, one line each, exactly as
// `promtool tsdb dump` prints them: `<labels> <%g value> <timestamp ms>`.
#include <limits>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "frontends/cli/commands.h"
#include "frontends/cli/data_dir.h"
#include "frontends/cli/flags.h"
#include "tsdb/base/go_format.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/labels/selector.h"
#include "tsdb/querier/select.h"

namespace tsdb::cli {
namespace {

absl::StatusOr<int64_t> ParseTime(const ParsedArgs& a, const std::string& name,
                                  int64_t def) {
  auto it = a.values.find(name);
  if (it == a.values.end()) return def;
  int64_t v = 0;
  if (!absl::SimpleAtoi(it->second, &v)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", name, ": not an integer timestamp in ms: ", it->second));
  }
  return v;
}

}  // namespace

absl::Status Dump(const std::vector<std::string>& args,
                  const CommonFlags& common, const Registry& registry,
                  std::ostream& out) {
  TSDB_ASSIGN_OR_RETURN(ParsedArgs a,
                        ParseArgs(args, {"min-time", "max-time", "match"}, {}));
  if (a.positional.size() > 1) {
    return absl::InvalidArgumentError("dump takes at most one <db path>");
  }
  const std::string dir = a.positional.empty() ? "data/" : a.positional[0];
  querier::SelectOptions opts;
  TSDB_ASSIGN_OR_RETURN(
      opts.mint, ParseTime(a, "min-time", std::numeric_limits<int64_t>::min()));
  TSDB_ASSIGN_OR_RETURN(
      opts.maxt, ParseTime(a, "max-time", std::numeric_limits<int64_t>::max()));
  const std::string match =
      a.values.count("match") ? a.values["match"] : "{__name__=~'(?s:.*)'}";
  TSDB_ASSIGN_OR_RETURN(std::vector<labels::Matcher> matchers,
                        labels::ParseSelector(match));

  TSDB_ASSIGN_OR_RETURN(auto blocks,
                        OpenBlocks(dir, registry, common.chunk_reader));
  std::vector<querier::DeletedIntervalsFn> deleted;
  deleted.reserve(blocks.size());
  std::vector<std::unique_ptr<querier::SeriesSet>> sets;
  for (const auto& b : blocks) {
    if (b->meta().max_time <= opts.mint || b->meta().min_time > opts.maxt) {
      continue;
    }
    const tombstones::MemTombstones* ts = &b->tombstones();
    deleted.push_back([ts](SeriesRef ref) { return ts->Get(ref); });
    querier::SelectOptions o = opts;
    o.deleted = &deleted.back();
    TSDB_ASSIGN_OR_RETURN(
        auto set, querier::Select(b->index(), b->chunks(), matchers, o));
    sets.push_back(std::move(set));
  }
  auto merged = querier::MergeSeriesSets(std::move(sets));
  std::string line;
  while (merged->Next()) {
    const querier::Series& s = merged->At();
    const std::string lset = s.Labels().ToString();
    auto it = s.Iterator();
    while (it->Next()) {
      const chunkenc::Sample smp = it->At();
      line.assign(lset);
      line.push_back(' ');
      AppendGoFloat(&line, smp.v);
      line.push_back(' ');
      line += std::to_string(smp.t);
      line.push_back('\n');
      out << line;
    }
    TSDB_RETURN_IF_ERROR(it->status());
  }
  return merged->status();
}

}  // namespace tsdb::cli
