// The OpenMetrics parser (openmetrics.h) and import's duration helpers,
// without Prometheus: accepted syntax, Go's NaN bits, seconds -> ms, and
// clear errors naming the line.
#include "frontends/cli/openmetrics.h"

#include <cmath>
#include <cstring>

#include "frontends/cli/commands.h"
#include "gtest/gtest.h"

namespace tsdb::cli {
namespace {

TEST(OpenMetricsTest, ParsesSamplesLabelsAndTimestamps) {
  auto d = ParseOpenMetrics(
      "# HELP a_total Some help.\n# TYPE a_total counter\n"
      "# UNIT a_seconds seconds\n"
      "a_total{x=\"1\",y=\"q\\\"\\\\\\n\"} 1.5 1700000000.123456\n"
      "a_total{x=\"1\",y=\"q\\\"\\\\\\n\"} NaN 1700000001 # {t=\"z\"} 1 2\n"
      "b{} -Inf 1.5\n"
      "c +Inf\n"
      "# EOF\n");
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->series.size(), 3u);
  EXPECT_EQ(d->series[0].ToString(),
            "{__name__=\"a_total\", x=\"1\", y=\"q\\\"\\\\\\n\"}");
  ASSERT_EQ(d->samples.size(), 4u);
  EXPECT_EQ(d->samples[0].series, 0u);
  EXPECT_EQ(*d->samples[0].t_ms, 1700000000123);
  EXPECT_EQ(d->samples[0].v, 1.5);
  uint64_t bits = 0;
  std::memcpy(&bits, &d->samples[1].v, 8);
  EXPECT_EQ(bits, 0x7FF8000000000001u);
  EXPECT_EQ(d->samples[1].series, 0u);
  EXPECT_EQ(*d->samples[2].t_ms, 1500);
  EXPECT_TRUE(std::isinf(d->samples[2].v) && d->samples[2].v < 0);
  EXPECT_FALSE(d->samples[3].t_ms.has_value());
  EXPECT_EQ(d->samples[3].line, 7u);
}

TEST(OpenMetricsTest, ErrorsNameTheLine) {
  struct Case {
    const char* text;
    const char* want;
  };
  const Case cases[] = {
      {"m 1 1\n", "does not end with # EOF"},
      {"m 1 1\n# EOF\nm 2 2\n", "line 3: unexpected data after # EOF"},
      {"m 1 1\n\n# EOF\n", "line 2: unexpected empty line"},
      {"m{a=\"b} 1 1\n# EOF\n", "line 1: unterminated label value"},
      {"m{a=\"b\",} 1 1\n# EOF\n", "expected a label name"},
      {"m{a=\"\\t\"} 1 1\n# EOF\n", "invalid escape"},
      {"m abc 1\n# EOF\n", "invalid value \"abc\""},
      {"m 1 NaN\n# EOF\n", "invalid timestamp"},
      {"m 1 1 extra\n# EOF\n", "unexpected text after the sample"},
      {"# TYPE m foo\n# EOF\n", "invalid metric type"},
      {"# UNIT m_bytes seconds\n# EOF\n", "unit not a suffix"},
      {"# random comment\n# EOF\n", "invalid comment"},
      {"m 1 1 # {a=\"1\"} 1\n# EOF\n", "does not support exemplars"},
      {"9m 1 1\n# EOF\n", "expected a metric name"},
  };
  for (const Case& c : cases) {
    auto d = ParseOpenMetrics(c.text);
    ASSERT_FALSE(d.ok()) << c.text;
    EXPECT_TRUE(absl::IsInvalidArgument(d.status()));
    EXPECT_NE(d.status().message().find(c.want), std::string::npos)
        << c.text << " -> " << d.status();
  }
}

TEST(ImportHelpersTest, GoDurationsAndBlockDuration) {
  EXPECT_EQ(*ParseGoDurationMs("2h"), 7200000);
  EXPECT_EQ(*ParseGoDurationMs("1h30m"), 5400000);
  EXPECT_EQ(*ParseGoDurationMs("1.5s"), 1500);
  EXPECT_EQ(*ParseGoDurationMs("0"), 0);
  EXPECT_FALSE(ParseGoDurationMs("2d").ok());
  EXPECT_FALSE(ParseGoDurationMs("h").ok());
  EXPECT_FALSE(ParseGoDurationMs("").ok());
  const int64_t h = 3600000;
  EXPECT_EQ(CompatibleBlockDuration(0), 2 * h);
  EXPECT_EQ(CompatibleBlockDuration(1 * h), 2 * h);
  EXPECT_EQ(CompatibleBlockDuration(5 * h), 2 * h);
  EXPECT_EQ(CompatibleBlockDuration(6 * h), 6 * h);
  EXPECT_EQ(CompatibleBlockDuration(24 * h), 18 * h);
  EXPECT_EQ(CompatibleBlockDuration(int64_t{1} << 60), 2 * h * 19683);
}

}  // namespace
}  // namespace tsdb::cli
