#include "tsdb/wal/framing.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tsdb/base/status_macros.h"

namespace tsdb::wal {
namespace {

bool AllDigits(std::string_view s) {
  if (s.empty() || s.size() > 9) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

void LogToStderr(std::string_view line) {
  std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
}

absl::StatusOr<std::vector<int>> ListSegments(io::FileSystem* fs,
                                              const std::string& dir) {
  std::vector<int> out;
  TSDB_ASSIGN_OR_RETURN(bool exists, fs->Exists(dir));
  if (!exists) return out;
  TSDB_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(dir));
  for (const std::string& n : names) {
    if (!AllDigits(n)) continue;
    out.push_back(std::stoi(n));
  }
  std::sort(out.begin(), out.end());
  for (size_t i = 1; i < out.size(); ++i) {
    if (out[i] != out[i - 1] + 1) {
      return absl::DataLossError(absl::StrCat("segments are not sequential in ",
                                              dir, ": ", out[i - 1], " then ",
                                              out[i]));
    }
  }
  return out;
}

absl::StatusOr<std::vector<int>> ListCheckpoints(io::FileSystem* fs,
                                                 const std::string& dir) {
  std::vector<int> out;
  TSDB_ASSIGN_OR_RETURN(bool exists, fs->Exists(dir));
  if (!exists) return out;
  TSDB_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(dir));
  constexpr std::string_view kPrefix = "checkpoint.";
  for (const std::string& n : names) {
    if (n.rfind(kPrefix, 0) != 0) continue;
    const std::string rest = n.substr(kPrefix.size());
    if (!AllDigits(rest)) continue;  // checkpoint.N.tmp and the like
    out.push_back(std::stoi(rest));
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<int> LastCheckpoint(io::FileSystem* fs, const std::string& dir) {
  TSDB_ASSIGN_OR_RETURN(std::vector<int> cps, ListCheckpoints(fs, dir));
  return cps.empty() ? -1 : cps.back();
}

}  // namespace tsdb::wal
