// `tsdb analyze [--limit=20] [--match=SELECTOR] [<db path>] [<block id>]`:
// promtool's `tsdb analyze` (Prometheus 2.42 analyzeBlock): the block's ID,
// duration, series, label names, postings (unique label pairs) and postings
// entries (total label pairs), then six top-`limit` lists:
//   label pairs most involved in churning, label names most involved in
//   churning (per series, the part of the block's range its chunks do not
//   cover, summed per pair / name, divided by the range, truncated),
//   most common label pairs, label names with highest cumulative label value
//   length, highest cardinality labels, highest cardinality metric names.
// The default block is the last one in min-time order (promtool's
// db.Blocks()[len-1]); `<block id>` picks one by ULID.
//
// Ordering: promtool sorts each list by count only, with an unstable sort
// over Go map iteration order, so equal counts come out in random order.
// We break ties by key (bytewise ascending), which makes our output
// deterministic; it equals promtool's except for the order within a run of
// equal counts (and, at the `limit` cut, which of the tied keys are shown).
//
// --match (not in promtool 2.42) restricts everything to the series the
// selector matches: "Series" is then their count and the label statistics
// are computed from them alone. Without it, every series counts and the
// output has promtool's lines exactly.
// `--extended` (promtool's chunk statistics) is not implemented.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "frontends/cli/commands.h"
#include "frontends/cli/data_dir.h"
#include "frontends/cli/flags.h"
#include "tsdb/base/go_format.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/labels/selector.h"
#include "tsdb/querier/postings_for_matchers.h"

namespace tsdb::cli {
namespace {

struct Info {
  std::string key;
  uint64_t metric = 0;
};

void PrintInfo(std::vector<Info> infos, size_t limit, std::ostream& out) {
  std::sort(infos.begin(), infos.end(), [](const Info& a, const Info& b) {
    if (a.metric != b.metric) return a.metric > b.metric;
    return a.key < b.key;
  });
  for (size_t i = 0; i < infos.size() && i < limit; ++i) {
    out << infos[i].metric << " " << infos[i].key << "\n";
  }
}

}  // namespace

absl::Status Analyze(const std::vector<std::string>& args,
                     const CommonFlags& common, const Registry& registry,
                     std::ostream& out) {
  TSDB_ASSIGN_OR_RETURN(ParsedArgs a,
                        ParseArgs(args, {"limit", "match"}, {"extended"}));
  if (a.positional.size() > 2) {
    return absl::InvalidArgumentError(
        "analyze takes at most <db path> and <block id>");
  }
  if (a.values.count("extended") && a.values["extended"] != "false") {
    return absl::UnimplementedError("analyze --extended is not implemented");
  }
  int64_t limit = 20;
  if (a.values.count("limit") &&
      (!absl::SimpleAtoi(a.values["limit"], &limit) || limit < 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--limit: not a count: ", a.values["limit"]));
  }
  const std::string dir = a.positional.empty() ? "data/" : a.positional[0];
  const std::string block_id = a.positional.size() > 1 ? a.positional[1] : "";
  const bool filtered = a.values.count("match") > 0;
  std::vector<labels::Matcher> matchers;
  if (filtered) {
    TSDB_ASSIGN_OR_RETURN(matchers, labels::ParseSelector(a.values["match"]));
  }

  TSDB_ASSIGN_OR_RETURN(auto blocks,
                        OpenBlocks(dir, registry, common.chunk_reader));
  const block::Block* b = nullptr;
  if (!block_id.empty()) {
    for (const auto& c : blocks) {
      if (c->meta().ulid.ToString() == block_id) b = c.get();
    }
  } else if (!blocks.empty()) {
    b = blocks.back().get();
  }
  if (b == nullptr) {
    return absl::NotFoundError(
        block_id.empty()
            ? absl::StrCat("no block in ", dir)
            : absl::StrCat("block ", block_id, " not found in ", dir));
  }
  const block::BlockMeta& meta = b->meta();
  const IndexReader& ir = b->index();
  const int64_t range = meta.max_time - meta.min_time;

  std::map<std::string, uint64_t> names_uncovered, pairs_uncovered, pairs_count;
  std::map<std::string, std::set<std::string>> values_by_name;
  std::map<std::string, uint64_t> series_by_metric;
  uint64_t entries = 0, series = 0;
  std::unique_ptr<postings::Postings> p;
  if (filtered) {
    TSDB_ASSIGN_OR_RETURN(p, querier::PostingsForMatchers(ir, matchers));
  } else {
    p = ir.Postings("", "");
  }
  labels::Labels lset;
  std::vector<ChunkMeta> chks;
  while (p->Next()) {
    TSDB_RETURN_IF_ERROR(ir.Series(p->At(), &lset, &chks));
    ++series;
    // The part of the block's range the series' chunks do not cover (Go
    // uint64 arithmetic).
    const uint64_t covered = chks.empty()
                                 ? 0
                                 : static_cast<uint64_t>(chks.back().max_time -
                                                         chks.front().min_time);
    const uint64_t uncovered = static_cast<uint64_t>(range) - covered;
    for (size_t i = 0; i < lset.size(); ++i) {
      const labels::Label& l = lset[i];
      std::string key = absl::StrCat(l.name, "=", l.value);
      names_uncovered[l.name] += uncovered;
      pairs_uncovered[key] += uncovered;
      ++pairs_count[key];
      ++entries;
      values_by_name[l.name].insert(l.value);
      if (l.name == labels::kMetricName) ++series_by_metric[l.value];
    }
  }
  TSDB_RETURN_IF_ERROR(p->status());

  out << "Block ID: " << meta.ulid.ToString() << "\n";
  out << "Duration: " << FormatGoDuration(range * 1000000) << "\n";
  out << "Series: " << (filtered ? series : meta.stats.num_series) << "\n";
  out << "Label names: " << values_by_name.size() << "\n";
  out << "Postings (unique label pairs): " << pairs_uncovered.size() << "\n";
  out << "Postings entries (total label pairs): " << entries << "\n";
  const size_t lim = static_cast<size_t>(limit);
  auto churn = [&](const std::map<std::string, uint64_t>& m) {
    std::vector<Info> v;
    for (const auto& [k, u] : m) {
      v.push_back({k, static_cast<uint64_t>(static_cast<double>(u) /
                                            static_cast<double>(range))});
    }
    return v;
  };
  out << "\nLabel pairs most involved in churning:\n";
  PrintInfo(churn(pairs_uncovered), lim, out);
  out << "\nLabel names most involved in churning:\n";
  PrintInfo(churn(names_uncovered), lim, out);
  std::vector<Info> v;
  for (const auto& [k, n] : pairs_count) v.push_back({k, n});
  out << "\nMost common label pairs:\n";
  PrintInfo(std::move(v), lim, out);
  v.clear();
  for (const auto& [name, values] : values_by_name) {
    uint64_t len = 0;
    for (const std::string& s : values) len += s.size();
    v.push_back({name, len});
  }
  out << "\nLabel names with highest cumulative label value length:\n";
  PrintInfo(std::move(v), lim, out);
  v.clear();
  for (const auto& [name, values] : values_by_name) {
    v.push_back({name, values.size()});
  }
  out << "\nHighest cardinality labels:\n";
  PrintInfo(std::move(v), lim, out);
  v.clear();
  for (const auto& [name, n] : series_by_metric) v.push_back({name, n});
  out << "\nHighest cardinality metric names:\n";
  PrintInfo(std::move(v), lim, out);
  return absl::OkStatus();
}

}  // namespace tsdb::cli
