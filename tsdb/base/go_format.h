// Number formatting that matches Go's fmt, for output that must be
// byte-identical to Prometheus tools (e.g. `promtool tsdb dump` prints
// values with "%g").
#ifndef TSDB_BASE_GO_FORMAT_H_
#define TSDB_BASE_GO_FORMAT_H_

#include <cstdint>
#include <string>

namespace tsdb {

// Go's fmt "%g" for a float64 (strconv.FormatFloat(v, 'g', -1, 64)): the
// shortest decimal that round-trips; exponent form iff the decimal exponent
// is < -4 or >= 6 (Go decides with precision 6 for the shortest form); the
// exponent has a sign and at least two digits; "+Inf", "-Inf", "NaN"; "-0"
// for negative zero. Examples: 1e+06, 123456, 1.5e-05, 0.0001,
// 0.30000000000000004, 1.2345678e+07.
std::string FormatGoFloat(double v);

// Appends FormatGoFloat(v) to `out` without a temporary.
void AppendGoFloat(std::string* out, double v);

// Go's time.Duration.String() for a duration in nanoseconds: "2h0m0s",
// "1m30.5s", "1.5ms", "0s".
std::string FormatGoDuration(int64_t nanos);

}  // namespace tsdb

#endif  // TSDB_BASE_GO_FORMAT_H_
