// `tsdb list`: the blocks of a data dir, in promtool's format (Go's
// tabwriter with minwidth 13 and padding 2).
#include <ctime>

#include "absl/strings/str_cat.h"
#include "frontends/cli/commands.h"
#include "frontends/cli/data_dir.h"
#include "frontends/cli/flags.h"
#include "tsdb/base/go_format.h"
#include "tsdb/base/status_macros.h"

namespace tsdb::cli {
namespace {

// time.Unix(ms/1000, 0).UTC().String(), e.g. "2023-01-31 08:00:00 +0000 UTC".
std::string GoUtcTime(int64_t ms) {
  const time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
  return buf;
}

// alecthomas/units Base2Bytes.String(): "1KiB512B", "0B", "2MiB".
std::string Base2Bytes(int64_t n) {
  static const char* kUnits[] = {"", "K", "M", "G", "T", "P", "E"};
  std::string out;
  for (int i = 0; i < 7; ++i) {
    if (n % 1024 != 0 || (i == 0 && n == 0)) {
      out = absl::StrCat(n % 1024, kUnits[i], i == 0 ? "B" : "iB") + out;
    }
    n /= 1024;
    if (n == 0) break;
  }
  return out;
}

// Go's text/tabwriter for rows whose cells end in tabs, except the last.
void WriteTable(const std::vector<std::vector<std::string>>& rows,
                std::ostream& out) {
  constexpr size_t kMinWidth = 13, kPadding = 2;
  std::vector<size_t> width;
  for (const auto& row : rows) {
    for (size_t j = 0; j + 1 < row.size(); ++j) {
      if (width.size() <= j) width.push_back(kMinWidth);
      width[j] = std::max(width[j], row[j].size() + kPadding);
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t j = 0; j < row.size(); ++j) {
      line += row[j];
      if (j + 1 < row.size()) line.append(width[j] - row[j].size(), ' ');
    }
    out << line << "\n";
  }
}

}  // namespace

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
  std::vector<std::vector<std::string>> rows = {
      {"BLOCK ULID", "MIN TIME", "MAX TIME", "DURATION", "NUM SAMPLES",
       "NUM CHUNKS", "NUM SERIES", "SIZE"}};
  for (const auto& b : blocks) {
    const block::BlockMeta& m = b->meta();
    auto t = [&](int64_t ms) {
      return human ? GoUtcTime(ms) : absl::StrCat(ms);
    };
    rows.push_back({m.ulid.ToString(), t(m.min_time), t(m.max_time),
                    FormatGoDuration((m.max_time - m.min_time) * 1000000),
                    absl::StrCat(m.stats.num_samples),
                    absl::StrCat(m.stats.num_chunks),
                    absl::StrCat(m.stats.num_series),
                    human ? Base2Bytes(static_cast<int64_t>(b->Size()))
                          : absl::StrCat(b->Size())});
  }
  WriteTable(rows, out);
  return absl::OkStatus();
}

}  // namespace tsdb::cli
