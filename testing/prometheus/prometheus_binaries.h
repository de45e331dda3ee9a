// Finding and running the real Prometheus 2.42 tools (Debian package
// `prometheus`) in compatibility tests.
//
// Tests call TSDB_REQUIRE_PROMTOOL() (or _PROMETHEUS) first: when the binary
// is missing the test is skipped, unless the environment sets
// TSDB_REQUIRE_PROMETHEUS=1 (CI does), in which case it fails.
#ifndef TESTING_PROMETHEUS_PROMETHEUS_BINARIES_H_
#define TESTING_PROMETHEUS_PROMETHEUS_BINARIES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace tsdb::testing {

// The path of `promtool` / `prometheus` on PATH or in /usr/bin.
std::optional<std::string> FindPromtool();
std::optional<std::string> FindPrometheus();

// True if TSDB_REQUIRE_PROMETHEUS=1.
bool PrometheusRequired();

struct CommandResult {
  int exit_code = 0;
  std::string out;  // standard output
  std::string err;  // standard error
};

// `promtool tsdb dump` output parsed: series (its labels exactly as printed)
// -> (timestamp, value) in output order. promtool prints values with Go's
// shortest round-trip %g, so strtod gives back the exact doubles (every NaN
// comes back as the same NaN).
using PromtoolDump =
    std::map<std::string, std::vector<std::pair<int64_t, double>>>;
PromtoolDump ParsePromtoolDump(std::string_view text);

// Runs `argv` (no shell; argv[0] is looked up in PATH when it has no
// slash), capturing both output streams. Errors only if the process could
// not be started.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv);

}  // namespace tsdb::testing

// Binds `var` to the path of promtool, or skips/fails the test.
#define TSDB_REQUIRE_PROMTOOL(var)                                        \
  std::string var;                                                        \
  if (auto tsdb_found_ = ::tsdb::testing::FindPromtool()) {               \
    var = *tsdb_found_;                                                   \
  } else if (::tsdb::testing::PrometheusRequired()) {                     \
    FAIL() << "promtool not found and TSDB_REQUIRE_PROMETHEUS=1";         \
  } else {                                                                \
    GTEST_SKIP() << "promtool not installed (Debian package prometheus)"; \
  }

#endif  // TESTING_PROMETHEUS_PROMETHEUS_BINARIES_H_
