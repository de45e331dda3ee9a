#include "tsdb/base/go_format.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "gtest/gtest.h"

namespace tsdb {
namespace {

double FromBits(uint64_t b) {
  double d;
  std::memcpy(&d, &b, 8);
  return d;
}

// Expected strings are what Go's fmt.Sprintf("%g", v) prints.
TEST(GoFormatTest, MatchesGoPercentG) {
  EXPECT_EQ(FormatGoFloat(0), "0");
  EXPECT_EQ(FormatGoFloat(-0.0), "-0");
  EXPECT_EQ(FormatGoFloat(1), "1");
  EXPECT_EQ(FormatGoFloat(-2.5), "-2.5");
  EXPECT_EQ(FormatGoFloat(123456), "123456");
  EXPECT_EQ(FormatGoFloat(1e6), "1e+06");
  EXPECT_EQ(FormatGoFloat(1234567), "1.234567e+06");
  EXPECT_EQ(FormatGoFloat(12345678), "1.2345678e+07");
  EXPECT_EQ(FormatGoFloat(0.0001), "0.0001");
  EXPECT_EQ(FormatGoFloat(0.00001), "1e-05");
  EXPECT_EQ(FormatGoFloat(1.5e-5), "1.5e-05");
  EXPECT_EQ(FormatGoFloat(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatGoFloat(100), "100");
  EXPECT_EQ(FormatGoFloat(1e21), "1e+21");
  EXPECT_EQ(FormatGoFloat(1e100), "1e+100");
  EXPECT_EQ(FormatGoFloat(std::numeric_limits<double>::max()),
            "1.7976931348623157e+308");
  EXPECT_EQ(FormatGoFloat(std::numeric_limits<double>::denorm_min()), "5e-324");
  EXPECT_EQ(FormatGoFloat(1675168815.123), "1.675168815123e+09");
  EXPECT_EQ(FormatGoFloat(99999.5), "99999.5");
  EXPECT_EQ(FormatGoFloat(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatGoFloat(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatGoFloat(std::nan("")), "NaN");
  // The Prometheus stale marker is a NaN too.
  EXPECT_EQ(FormatGoFloat(FromBits(0x7FF0000000000002ULL)), "NaN");
}

// Expected strings are what Go's time.Duration.String() returns.
TEST(GoFormatTest, DurationMatchesGo) {
  constexpr int64_t kMs = 1000000;
  EXPECT_EQ(FormatGoDuration(0), "0s");
  EXPECT_EQ(FormatGoDuration(7200000 * kMs), "2h0m0s");
  EXPECT_EQ(FormatGoDuration(90500 * kMs), "1m30.5s");
  EXPECT_EQ(FormatGoDuration(1500 * kMs), "1.5s");
  EXPECT_EQ(FormatGoDuration(1500000), "1.5ms");
  EXPECT_EQ(FormatGoDuration(1500), "1.5\u00b5s");
  EXPECT_EQ(FormatGoDuration(999), "999ns");
  EXPECT_EQ(FormatGoDuration(-60000 * kMs), "-1m0s");
  EXPECT_EQ(FormatGoDuration(93600000 * kMs), "26h0m0s");
}

}  // namespace
}  // namespace tsdb
