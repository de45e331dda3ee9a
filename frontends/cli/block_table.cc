#include "frontends/cli/block_table.h"

#include <algorithm>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "tsdb/base/go_format.h"

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

}  // namespace

std::vector<std::string> BlockTableHeader() {
  return {"BLOCK ULID",  "MIN TIME",   "MAX TIME",   "DURATION",
          "NUM SAMPLES", "NUM CHUNKS", "NUM SERIES", "SIZE"};
}

std::vector<std::string> BlockTableRow(const block::Block& b, bool human) {
  const block::BlockMeta& m = b.meta();
  auto t = [&](int64_t ms) { return human ? GoUtcTime(ms) : absl::StrCat(ms); };
  return {m.ulid.ToString(),
          t(m.min_time),
          t(m.max_time),
          FormatGoDuration((m.max_time - m.min_time) * 1000000),
          absl::StrCat(m.stats.num_samples),
          absl::StrCat(m.stats.num_chunks),
          absl::StrCat(m.stats.num_series),
          human ? Base2Bytes(static_cast<int64_t>(b.Size()))
                : absl::StrCat(b.Size())};
}

void WriteBlockTable(const std::vector<std::vector<std::string>>& rows,
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

}  // namespace tsdb::cli
