// Parses a PromQL series selector such as
//   up
//   {__name__=~'(?s:.*)'}
//   http_requests_total{job="api", code!~"5.."}
// into label matchers, as `promtool tsdb dump --match` and the HTTP API's
// `match[]` accept them. A bare metric name becomes `__name__="name"`.
// Strings may be double-quoted or single-quoted (with Go's escapes such as
// \n, \", \xhh, \uhhhh and octal \ooo) or back-quoted (raw).
//
// Errors are InvalidArgument naming the position, e.g.
//   parse error at char 5: unexpected end of input in label matchers
// As Prometheus's parser.ParseMetricSelector, a selector whose matchers all
// match the empty string is accepted (promtool's default dump selector is
// one); the HTTP API rejects those itself.
#ifndef TSDB_LABELS_SELECTOR_H_
#define TSDB_LABELS_SELECTOR_H_

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tsdb/labels/matcher.h"

namespace tsdb::labels {

absl::StatusOr<std::vector<Matcher>> ParseSelector(std::string_view input);

}  // namespace tsdb::labels

#endif  // TSDB_LABELS_SELECTOR_H_
