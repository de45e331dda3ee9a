// A parser for the OpenMetrics text format, as `promtool tsdb
// create-blocks-from openmetrics` reads it (Prometheus 2.42's
// textparse.OpenMetricsParser), for backfilling.
//
//   # HELP http_requests_total Requests served.
//   # TYPE http_requests_total counter
//   http_requests_total{code="200",path="/"} 1027 1700000000.25
//   # EOF
//
// Accepted: `# HELP`, `# TYPE`, `# UNIT` lines (metadata, not kept), sample
// lines `name[{l="v",...}] value [timestamp] [# {exemplar labels} value
// [ts]]` (exemplars, only on `*_total` and `*_bucket` names as Prometheus
// allows, are checked and skipped), and the mandatory final `# EOF`. Label
// values take the escapes \\ \" \n. Values are Go ParseFloat numbers (+Inf,
// -Inf and NaN, with the bits of Go's math.NaN(), 0x7FF8000000000001, since the
// bits end up in chunks); timestamps are in SECONDS, possibly fractional, and
// become int64(seconds * 1000) milliseconds, as Prometheus converts them.
// Errors are InvalidArgument naming the line number and the line.
//
// Ownership: results are plain values. Thread safety: pure functions.
#ifndef FRONTENDS_CLI_OPENMETRICS_H_
#define FRONTENDS_CLI_OPENMETRICS_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tsdb/labels/labels.h"

namespace tsdb::cli {

struct OpenMetricsSample {
  uint32_t series = 0;          // index into OpenMetricsData::series
  std::optional<int64_t> t_ms;  // absent when the line had no timestamp
  double v = 0;
  uint32_t line = 0;  // 1-based line number
};

struct OpenMetricsData {
  // Distinct label sets (metric name as __name__), in order of first use.
  std::vector<labels::Labels> series;
  // Every sample, in file order.
  std::vector<OpenMetricsSample> samples;
};

absl::StatusOr<OpenMetricsData> ParseOpenMetrics(std::string_view text);

}  // namespace tsdb::cli

#endif  // FRONTENDS_CLI_OPENMETRICS_H_
