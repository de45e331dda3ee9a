#include "tsdb/headwal/test_util.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include "absl/strings/str_cat.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/labels/matcher.h"
#include "tsdb/querier/select.h"
#include "tsdb/querier/series_set.h"

namespace tsdb::headwal::testing {

absl::StatusOr<HeadDump> DumpHead(head::Head& head) {
  head::HeadReaders r = head.Readers(std::numeric_limits<int64_t>::min(),
                                     std::numeric_limits<int64_t>::max());
  TSDB_ASSIGN_OR_RETURN(
      labels::Matcher all,
      labels::Matcher::Make(labels::MatchType::kRegexp, "__name__", ".*"));
  querier::SelectOptions opts;
  TSDB_ASSIGN_OR_RETURN(std::unique_ptr<querier::SeriesSet> set,
                        querier::Select(*r.index, *r.chunks, {all}, opts));
  HeadDump out;
  while (set->Next()) {
    const querier::Series& s = set->At();
    auto& v = out[s.Labels().ToString()];
    std::unique_ptr<chunkenc::SampleIterator> it = s.Iterator();
    while (it->Next()) v.emplace_back(it->At().t, it->At().v);
    TSDB_RETURN_IF_ERROR(it->status());
  }
  TSDB_RETURN_IF_ERROR(set->status());
  return out;
}

bool SameDump(const HeadDump& a, const HeadDump& b, std::string* diff) {
  for (const auto& [k, v] : b) {
    if (!a.count(k)) {
      *diff = absl::StrCat("missing series ", k);
      return false;
    }
  }
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end()) {
      *diff = absl::StrCat("unexpected series ", k);
      return false;
    }
    if (v.size() != it->second.size()) {
      *diff = absl::StrCat(k, ": ", v.size(), " vs ", it->second.size(),
                           " samples");
      return false;
    }
    for (size_t i = 0; i < v.size(); ++i) {
      const double x = v[i].second, y = it->second[i].second;
      const bool same_value = (std::isnan(x) && std::isnan(y)) ||
                              std::memcmp(&x, &y, sizeof(double)) == 0;
      if (v[i].first != it->second[i].first || !same_value) {
        *diff = absl::StrCat(k, ": sample ", i, " differs: t=", v[i].first,
                             " v=", v[i].second, " vs t=", it->second[i].first,
                             " v=", it->second[i].second);
        return false;
      }
    }
  }
  return true;
}

}  // namespace tsdb::headwal::testing
