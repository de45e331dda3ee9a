// The read side of Prometheus 2.42's HTTP API over a db::DB, answering with
// Prometheus's JSON shapes, status codes and error messages:
//
//   GET/POST /api/v1/series?match[]=<selector>&start=&end=
//       {"status":"success","data":[{"__name__":"up","job":"x"},...]}
//   GET/POST /api/v1/labels[?match[]=...&start=&end=]
//       {"status":"success","data":["__name__","job",...]}
//   GET /api/v1/label/<name>/values[?match[]=...&start=&end=]
//       {"status":"success","data":["a","b",...]}
//   GET /api/v1/status/tsdb
//       {"status":"success","data":{"headStats":{...},
//        "seriesCountByMetricName":[{"name":..,"value":..}],...}}
//
//   Response r = HandleSeries(db, Request{.method = "GET",
//                                         .path = "/api/v1/series",
//                                         .params = {{"match[]", "up"}}});
//
// Errors have Prometheus's shape and codes:
//   {"status":"error","errorType":"bad_data","error":"..."}     400
//   errorType "execution" 422, "internal" 500, "unavailable" 503.
// Parameters follow Prometheus's rules: the first value of a parameter
// counts (match[] may repeat); start/end are unix seconds with fractions
// (rounded to the millisecond as Prometheus rounds) or RFC 3339, and default
// to Prometheus's min/max time sentinels; every match[] needs a matcher that
// does not match the empty string. A null `db` (still starting) answers 503
// "unavailable" as Prometheus does while its TSDB is not ready.
//
// JSON is written by hand (not through a DOM) with Go's encoding/json
// escaping (<, > and & as \u003c..., invalid UTF-8 as \ufffd, U+2028/2029
// escaped), so our answers are byte-identical to Prometheus's for the same
// data and listing 100k series builds no intermediate tree.
//
// Ownership: handlers borrow `db` for the call. Thread safety: all functions
// may be called from any number of threads at once (the DB is thread-safe).
#ifndef FRONTENDS_SERVER_API_H_
#define FRONTENDS_SERVER_API_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "frontends/server/http.h"
#include "tsdb/db/db.h"
#include "tsdb/labels/matcher.h"

namespace tsdb::server {

// GET/POST /api/v1/series.
Response HandleSeries(db::DB* db, const Request& req);
// GET/POST /api/v1/labels.
Response HandleLabels(db::DB* db, const Request& req);
// GET /api/v1/label/<name>/values; `name` is the decoded path segment.
Response HandleLabelValues(db::DB* db, std::string_view name,
                           const Request& req);
// GET /api/v1/status/tsdb.
Response HandleStatusTsdb(db::DB* db, const Request& req);

// ---- Helpers shared with admin.cc (and tested on their own) ----

// Prometheus's API time bounds (web/api/v1 minTime/maxTime) in ms, and the
// RFC 3339 forms its UI sends for them (accepted by ParseApiTime).
inline constexpr int64_t kApiMinTimeMs = -9223309901257974000;
inline constexpr int64_t kApiMaxTimeMs = 9223309901257974999;
inline constexpr std::string_view kApiMinTimeFormatted =
    "-292273086-05-16T16:47:06Z";
inline constexpr std::string_view kApiMaxTimeFormatted =
    "292277025-08-18T07:12:54.999999999Z";

// Prometheus's parseTime, in ms: a float as Go's strconv.ParseFloat reads it
// (decimal or hex with a p exponent, `_` between digits, inf/nan) taken as
// unix seconds with the fraction rounded to the millisecond, or RFC 3339
// with up to 9 fractional digits (`.` or `,`), or one of the two sentinels.
// Deliberate differences: NaN is refused and values past the int64 range of
// milliseconds (Inf included) are clamped, where Go's overflowing
// conversions give arbitrary times. InvalidArgument:
//   cannot parse "abc" to a valid timestamp
absl::StatusOr<int64_t> ParseApiTime(std::string_view s);

// The first value of parameter `name`, or nullptr.
const std::string* FormValue(const Request& req, std::string_view name);
// Every value of parameter `name`, in order.
std::vector<std::string_view> FormValues(const Request& req,
                                         std::string_view name);

// Prometheus's parseTimeParam: the parameter's value (default if absent or
// empty). Errors are the final bad_data message:
//   invalid parameter "start": Invalid time value for 'start': cannot ...
absl::StatusOr<int64_t> ParseTimeParam(const Request& req,
                                       std::string_view name,
                                       int64_t default_ms);

// Prometheus's error types (web/api/v1 errorType) and their HTTP codes.
enum class ApiErrorType {
  kBadData,      // 400
  kExecution,    // 422
  kInternal,     // 500
  kUnavailable,  // 503
  kNotFound,     // 404
  kTimeout,      // 503
  kCanceled,     // 503
};
std::string_view ApiErrorTypeName(ApiErrorType t);
int ApiErrorHttpCode(ApiErrorType t);

// {"status":"error","errorType":"...","error":"..."} with its status code.
Response ApiErrorResponse(ApiErrorType type, std::string_view message);
// The same with a status' message.
Response ApiErrorResponse(ApiErrorType type, const absl::Status& status);
// {"status":"success","data":<data_json>} (200); `data_json` is raw JSON.
Response ApiSuccessResponse(std::string_view data_json);
// 204 No Content, no body and no content type (what Prometheus answers for
// a successful call without data, e.g. the admin endpoints).
Response NoContentResponse();

// Appends `s` as a JSON string literal (with quotes), escaped exactly as
// Go's encoding/json escapes it (HTML-safe).
void AppendJsonString(std::string* out, std::string_view s);

// Prometheus's parseMatchersParam: parses every selector and requires each
// to have a matcher that does not match "". InvalidArgument with the parse
// error or "match[] must contain at least one non-empty matcher".
absl::StatusOr<std::vector<std::vector<labels::Matcher>>> ParseMatchersParam(
    const std::vector<std::string_view>& selectors);

// Go's strconv.ParseBool; InvalidArgument with Go's message
// `strconv.ParseBool: parsing "x": invalid syntax`.
absl::StatusOr<bool> ParseGoBool(std::string_view s);

// Prometheus's label name rule (model.LabelNameRE): [a-zA-Z_][a-zA-Z0-9_]*.
bool IsValidLabelName(std::string_view name);

}  // namespace tsdb::server

#endif  // FRONTENDS_SERVER_API_H_
