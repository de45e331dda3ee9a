// The Prometheus API handlers (api.h, admin.h) on a real DB in a temp dir,
// and their parameter parsing and JSON writing. Expected answers were taken
// from the real Prometheus 2.42 (see tsdb/docs/server_api.md); the
// byte-for-byte comparison with a live Prometheus is in
// api_prometheus_test.cc.
#include "frontends/server/api.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "frontends/builtin_plugins.h"
#include "frontends/server/admin.h"
#include "gtest/gtest.h"
#include "tsdb/db/db.h"
#include "tsdb/labels/labels.h"

namespace tsdb::server {
namespace {

// ---- ParseApiTime: cases checked against Prometheus 2.42's parseTime ----

TEST(ParseApiTimeTest, AcceptsWhatPrometheusAccepts) {
  const std::vector<std::pair<std::string, int64_t>> cases = {
      {"0", 0},
      {"1.0005", 1000},  // fraction rounded to ms after float arithmetic
      {"1.0015", 1002},
      {"-1.5", -1500},
      {"1_000", 1000000},
      {"1_000.5", 1000500},
      {"+5", 5000},
      {"1e3", 1000000},
      {".5", 500},
      {"5.", 5000},
      {"1.9999", 2000},
      {"0.0005", 1},
      {"-0.0005", -1},
      {"1e-3", 1},
      {"0x1p4", 16000},
      {"0X1P4", 16000},
      {"1795247530.123", 1795247530123},
      {"2026-11-21T07:52:10Z", 1795247530000},
      {"2026-11-21T07:52:10+01:00", 1795243930000},
      {"2026-11-21T07:52:10-00:30", 1795249330000},
      {"2026-11-21T07:52:10+25:00", 1795157530000},  // Go takes any hh:mm
      {"2026-11-21T07:52:10+01:60", 1795240330000},
      {"2026-11-21T07:52:10.5Z", 1795247530500},
      {"2026-11-21T07:52:10,5Z", 1795247530500},
      {"2026-11-21T07:52:10.123456789Z", 1795247530123},
      {"2026-11-21T07:52:10.9999999Z", 1795247530999},
      {"2026-11-21T07:52:10.000000001Z", 1795247530000},
      {"2026-11-21T7:52:10Z", 1795247530000},  // one-digit hour
      {"2024-02-29T00:00:00Z", 1709164800000},
      {"1969-12-31T23:59:59.5Z", -500},
      {"0000-01-01T00:00:00Z", -62167219200000},
      {"-292273086-05-16T16:47:06Z", kApiMinTimeMs},
      {"292277025-08-18T07:12:54.999999999Z", kApiMaxTimeMs},
      {"inf", std::numeric_limits<int64_t>::max()},
      {"-Infinity", std::numeric_limits<int64_t>::min()},
      {"1e300", std::numeric_limits<int64_t>::max()},
  };
  for (const auto& [in, want] : cases) {
    absl::StatusOr<int64_t> got = ParseApiTime(in);
    ASSERT_TRUE(got.ok()) << in << ": " << got.status();
    EXPECT_EQ(*got, want) << in;
  }
}

TEST(ParseApiTimeTest, RefusesWhatPrometheusRefuses) {
  for (const std::string in : {"",
                               "abc",
                               " 5",
                               "5 ",
                               "0x10",
                               "1__0",
                               "_1",
                               "1_",
                               "1e400",
                               "1e",
                               "nan",
                               "NaN",
                               "+nan",
                               "infin",
                               ".",
                               "-",
                               "2026-11-21t07:52:10z",
                               "2026-02-30T00:00:00Z",
                               "2025-02-29T00:00:00Z",
                               "2026-11-21T24:00:00Z",
                               "2026-11-21T23:59:60Z",
                               "2026-11-21T23:60:00Z",
                               "2026-13-01T00:00:00Z",
                               "2026-00-01T00:00:00Z",
                               "2026-11-21T07:52:10.1234567891Z",
                               "2026-11-21T07:52:10.Z",
                               "2026-11-21T07:52:10+0100",
                               "2026-1-21T07:52:10Z",
                               "12026-11-21T07:52:10Z",
                               "2026-11-21 07:52:10Z",
                               "2026-11-21T07:52:10",
                               "2026-11-21",
                               "2026-11-21T07:52:10+01:00x",
                               "2026-11-21T07:52:10Zx"}) {
    absl::StatusOr<int64_t> got = ParseApiTime(in);
    EXPECT_FALSE(got.ok()) << in << " parsed as " << *got;
  }
  EXPECT_EQ(ParseApiTime("abc").status().message(),
            "cannot parse \"abc\" to a valid timestamp");
}

TEST(ParseTimeParamTest, DefaultsAndMessages) {
  Request req;
  req.params = {{"start", ""}, {"end", "12"}, {"end", "zzz"}, {"x", "q"}};
  EXPECT_EQ(*ParseTimeParam(req, "start", 7), 7);    // empty: default
  EXPECT_EQ(*ParseTimeParam(req, "end", 7), 12000);  // first value wins
  EXPECT_EQ(*ParseTimeParam(req, "none", kApiMinTimeMs), kApiMinTimeMs);
  EXPECT_EQ(ParseTimeParam(req, "x", 0).status().message(),
            "invalid parameter \"x\": Invalid time value for 'x': cannot "
            "parse \"q\" to a valid timestamp");
}

// ---- JSON ----

std::string Json(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

TEST(JsonTest, EscapesLikeGoEncodingJson) {
  EXPECT_EQ(Json("plain"), "\"plain\"");
  EXPECT_EQ(Json("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Json("\n\r\t"), "\"\\n\\r\\t\"");
  EXPECT_EQ(Json(std::string("\x01\x08\x0c\x1f", 4)),
            "\"\\u0001\\u0008\\u000c\\u001f\"");
  EXPECT_EQ(Json(std::string("\0", 1)), "\"\\u0000\"");
  EXPECT_EQ(Json("<a&b>"), "\"\\u003ca\\u0026b\\u003e\"");
  EXPECT_EQ(Json("\x7f"), "\"\x7f\"");  // DEL is kept, as Go does
  EXPECT_EQ(Json("ü € 😀"), "\"ü € 😀\"");
  EXPECT_EQ(Json("\xe2\x80\xa8\xe2\x80\xa9"), "\"\\u2028\\u2029\"");
  // Invalid UTF-8: each bad byte is U+FFFD.
  EXPECT_EQ(Json("a\xff"
                 "b"),
            "\"a\\ufffdb\"");
  EXPECT_EQ(Json("\xc3"), "\"\\ufffd\"");                        // truncated
  EXPECT_EQ(Json("\xc0\x80"), "\"\\ufffd\\ufffd\"");             // overlong
  EXPECT_EQ(Json("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
  EXPECT_EQ(Json("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
}

TEST(ApiHelpersTest, GoBoolLabelNamesErrors) {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) {
    EXPECT_TRUE(*ParseGoBool(t)) << t;
  }
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) {
    EXPECT_FALSE(*ParseGoBool(f)) << f;
  }
  EXPECT_EQ(ParseGoBool("yes").status().message(),
            "strconv.ParseBool: parsing \"yes\": invalid syntax");
  EXPECT_TRUE(IsValidLabelName("__name__"));
  EXPECT_TRUE(IsValidLabelName("a9_Z"));
  EXPECT_FALSE(IsValidLabelName(""));
  EXPECT_FALSE(IsValidLabelName("9a"));
  EXPECT_FALSE(IsValidLabelName("foo-bar"));
  EXPECT_FALSE(IsValidLabelName("ü"));
  Response r = ApiErrorResponse(ApiErrorType::kExecution, "boom <x>");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body,
            "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":"
            "\"boom \\u003cx\\u003e\"}");
  EXPECT_EQ(ApiErrorHttpCode(ApiErrorType::kBadData), 400);
  EXPECT_EQ(ApiErrorHttpCode(ApiErrorType::kInternal), 500);
  EXPECT_EQ(ApiErrorHttpCode(ApiErrorType::kUnavailable), 503);
  EXPECT_EQ(SnapshotName(1795247530, 0x4c2ba6444c316824),
            "20261121T075210Z-4c2ba6444c316824");
  EXPECT_EQ(SnapshotName(0, 1), "19700101T000000Z-0000000000000001");
}

// ---- Handlers on a DB ----

constexpr int64_t kT0 = 1700000000000;  // ms
constexpr int64_t kMin = 60 * 1000;

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(frontends::RegisterBuiltinPlugins(registry_).ok());
    dir_ = std::filesystem::path(::testing::TempDir()) /
           absl::StrCat(
               "api_", ::getpid(), "_",
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    db::Options opts;
    opts.background = false;
    opts.log = [](std::string_view, std::string_view) {};
    absl::StatusOr<std::unique_ptr<db::DB>> db =
        db::DB::Open(dir_.string(), opts, &registry_);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
  }
  void TearDown() override {
    if (db_ != nullptr) {
      EXPECT_TRUE(db_->Close().ok());
    }
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Append(const labels::Labels& lset,
              const std::vector<std::pair<int64_t, double>>& samples) {
    std::unique_ptr<db::Appender> app = db_->Appender();
    for (const auto& [t, v] : samples) {
      ASSERT_TRUE(app->Append(0, lset, t, v).ok()) << lset.ToString();
    }
    ASSERT_TRUE(app->Commit().ok());
  }

  // up{job=a,instance=1..2}, up{job=b}, http{job=a,code=200|500} (early:
  // only the first 10 minutes), odd{v="<&>\"ü"}.
  void AddData() {
    for (const char* inst : {"1", "2"}) {
      Append(labels::Labels::FromPairs(
                 {{"__name__", "up"}, {"job", "a"}, {"instance", inst}}),
             {{kT0, 1}, {kT0 + 30 * kMin, 1}});
    }
    Append(labels::Labels::FromPairs(
               {{"__name__", "up"}, {"job", "b"}, {"instance", "1"}}),
           {{kT0, 0}, {kT0 + 30 * kMin, 0}});
    for (const char* code : {"200", "500"}) {
      Append(labels::Labels::FromPairs(
                 {{"__name__", "http"}, {"job", "a"}, {"code", code}}),
             {{kT0, 5}, {kT0 + 10 * kMin, 6}});
    }
    Append(labels::Labels::FromPairs({{"__name__", "odd"}, {"v", "<&>\"ü"}}),
           {{kT0 + 20 * kMin, 1}});
  }

  static Request Get(std::string path,
                     std::vector<std::pair<std::string, std::string>> params) {
    Request r;
    r.method = "GET";
    r.path = std::move(path);
    r.params = std::move(params);
    return r;
  }

  static std::string Ok(std::string data) {
    return absl::StrCat("{\"status\":\"success\",\"data\":", data, "}");
  }
  static std::string BadData(std::string_view msg) {
    return absl::StrCat(
        "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":",
        Json(msg), "}");
  }

  Registry registry_;
  std::filesystem::path dir_;
  std::unique_ptr<db::DB> db_;
};

TEST_F(ApiTest, Series) {
  AddData();
  Response r =
      HandleSeries(db_.get(), Get("/api/v1/series", {{"match[]", "up"}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body,
            Ok("[{\"__name__\":\"up\",\"instance\":\"1\",\"job\":\"a\"},"
               "{\"__name__\":\"up\",\"instance\":\"1\",\"job\":\"b\"},"
               "{\"__name__\":\"up\",\"instance\":\"2\",\"job\":\"a\"}]"));
  // Several match[]: union, sorted, deduplicated.
  r = HandleSeries(db_.get(),
                   Get("/api/v1/series", {{"match[]", "odd"},
                                          {"match[]", "up{job=\"b\"}"},
                                          {"match[]", "{instance=\"1\"}"}}));
  EXPECT_EQ(r.body,
            Ok("[{\"__name__\":\"odd\",\"v\":\"\\u003c\\u0026\\u003e\\\"ü\"},"
               "{\"__name__\":\"up\",\"instance\":\"1\",\"job\":\"a\"},"
               "{\"__name__\":\"up\",\"instance\":\"1\",\"job\":\"b\"}]"));
  // Time range: http's samples end at kT0 + 10m.
  const std::string after = absl::StrCat((kT0 + 15 * kMin) / 1000);
  r = HandleSeries(db_.get(), Get("/api/v1/series",
                                  {{"match[]", "http"}, {"start", after}}));
  EXPECT_EQ(r.body, Ok("[]"));
  r = HandleSeries(
      db_.get(), Get("/api/v1/series",
                     {{"match[]", "http"}, {"end", absl::StrCat(kT0 / 1000)}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(absl::StrContains(r.body, "\"code\":\"500\"")) << r.body;
  // start > end: empty, as Prometheus.
  r = HandleSeries(
      db_.get(),
      Get("/api/v1/series", {{"match[]", "up"}, {"start", "5"}, {"end", "3"}}));
  EXPECT_EQ(r.body, Ok("[]"));
  r = HandleSeries(db_.get(), Get("/api/v1/series", {{"match[]", "nothing"}}));
  EXPECT_EQ(r.body, Ok("[]"));
}

TEST_F(ApiTest, SeriesBadInput) {
  AddData();
  Response r = HandleSeries(db_.get(), Get("/api/v1/series", {}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, BadData("no match[] parameter provided"));
  r = HandleSeries(db_.get(), Get("/api/v1/series", {{"match[]", "{a=\"\"}"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, BadData("invalid parameter \"match[]\": match[] must "
                            "contain at least one non-empty matcher"));
  // One good and one all-empty selector: still refused.
  r = HandleSeries(
      db_.get(),
      Get("/api/v1/series", {{"match[]", "up"}, {"match[]", "{a=~\".*\"}"}}));
  EXPECT_EQ(r.status, 400);
  r = HandleSeries(db_.get(), Get("/api/v1/series", {{"match[]", "up{"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(absl::StartsWith(
      r.body,
      "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid "
      "parameter \\\"match[]\\\": "))
      << r.body;
  r = HandleSeries(
      db_.get(), Get("/api/v1/series", {{"match[]", "up"}, {"start", "abc"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, BadData("invalid parameter \"start\": Invalid time value "
                            "for 'start': cannot parse \"abc\" to a valid "
                            "timestamp"));
  r = HandleSeries(db_.get(),
                   Get("/api/v1/series",
                       {{"match[]", "up"}, {"end", "2026-02-30T00:00:00Z"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(absl::StrContains(r.body, "Invalid time value for 'end'"));
  r = HandleSeries(db_.get(),
                   Get("/api/v1/series", {{"match[]", "{x=~\"(\"}"}}));
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(ApiTest, Labels) {
  AddData();
  Response r = HandleLabels(db_.get(), Get("/api/v1/labels", {}));
  EXPECT_EQ(r.body, Ok("[\"__name__\",\"code\",\"instance\",\"job\",\"v\"]"));
  r = HandleLabels(db_.get(), Get("/api/v1/labels", {{"match[]", "up"}}));
  EXPECT_EQ(r.body, Ok("[\"__name__\",\"instance\",\"job\"]"));
  r = HandleLabels(db_.get(), Get("/api/v1/labels",
                                  {{"match[]", "odd"}, {"match[]", "http"}}));
  EXPECT_EQ(r.body, Ok("[\"__name__\",\"code\",\"job\",\"v\"]"));
  // As Prometheus's head index: names of every head series when the range
  // overlaps the head at all, none when it ends before the head.
  r = HandleLabels(db_.get(),
                   Get("/api/v1/labels",
                       {{"start", absl::StrCat((kT0 + 25 * kMin) / 1000)}}));
  EXPECT_EQ(r.body, Ok("[\"__name__\",\"code\",\"instance\",\"job\",\"v\"]"));
  r = HandleLabels(
      db_.get(),
      Get("/api/v1/labels", {{"end", absl::StrCat((kT0 - kMin) / 1000)}}));
  EXPECT_EQ(r.body, Ok("[]"));
  r = HandleLabels(db_.get(),
                   Get("/api/v1/labels", {{"start", "5"}, {"end", "3"}}));
  EXPECT_EQ(r.body, Ok("[]"));
  // Errors: the parse error without the "invalid parameter" prefix.
  r = HandleLabels(db_.get(), Get("/api/v1/labels", {{"match[]", "{a=\"\"}"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body,
            BadData("match[] must contain at least one non-empty matcher"));
  r = HandleLabels(db_.get(), Get("/api/v1/labels", {{"match[]", "up{"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_FALSE(absl::StrContains(r.body, "invalid parameter")) << r.body;
  r = HandleLabels(db_.get(), Get("/api/v1/labels", {{"end", "x"}}));
  EXPECT_EQ(r.status, 400);
}

TEST_F(ApiTest, LabelValues) {
  AddData();
  Response r =
      HandleLabelValues(db_.get(), "job", Get("/api/v1/label/job/values", {}));
  EXPECT_EQ(r.body, Ok("[\"a\",\"b\"]"));
  r = HandleLabelValues(db_.get(), "__name__", Get("", {}));
  EXPECT_EQ(r.body, Ok("[\"http\",\"odd\",\"up\"]"));
  r = HandleLabelValues(db_.get(), "instance",
                        Get("", {{"match[]", "up{job=\"b\"}"},
                                 {"match[]", "up{instance=\"2\"}"}}));
  EXPECT_EQ(r.body, Ok("[\"1\",\"2\"]"));
  r = HandleLabelValues(db_.get(), "code",
                        Get("", {{"end", absl::StrCat((kT0 - kMin) / 1000)}}));
  EXPECT_EQ(r.body, Ok("[]"));
  r = HandleLabelValues(db_.get(), "nonexistent", Get("", {}));
  EXPECT_EQ(r.body, Ok("[]"));
  r = HandleLabelValues(db_.get(), "foo-bar", Get("", {}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, BadData("invalid label name: \"foo-bar\""));
  r = HandleLabelValues(db_.get(), "job",
                        Get("", {{"match[]", "{job=~\".*\"}"}}));
  EXPECT_EQ(r.status, 400);
  r = HandleLabelValues(db_.get(), "job", Get("", {{"start", "never"}}));
  EXPECT_EQ(r.status, 400);
}

TEST_F(ApiTest, StatusTsdb) {
  Response r = HandleStatusTsdb(db_.get(), Get("/api/v1/status/tsdb", {}));
  EXPECT_EQ(r.status, 200);
  // Prometheus 2.42's answer for an empty head, byte for byte.
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":{\"headStats\":{\"numSeries\":0,"
            "\"numLabelPairs\":0,\"chunkCount\":0,\"minTime\":"
            "9223372036854775807,\"maxTime\":-9223372036854775808},"
            "\"seriesCountByMetricName\":[],\"labelValueCountByLabelName\":[],"
            "\"memoryInBytesByLabelName\":[],\"seriesCountByLabelValuePair\":"
            "[]}}");
  AddData();
  r = HandleStatusTsdb(db_.get(), Get("/api/v1/status/tsdb", {}));
  EXPECT_EQ(r.status, 200);
  // 6 series; pairs: __name__ x3, code x2, instance x2, job x2, v x1 = 10.
  EXPECT_EQ(
      r.body,
      Ok(absl::StrCat(
          "{\"headStats\":{\"numSeries\":6,\"numLabelPairs\":10,"
          "\"chunkCount\":6,\"minTime\":",
          kT0, ",\"maxTime\":", kT0 + 30 * kMin,
          "},\"seriesCountByMetricName\":[{\"name\":\"up\",\"value\":3},"
          "{\"name\":\"http\",\"value\":2},{\"name\":\"odd\",\"value\":1}],"
          "\"labelValueCountByLabelName\":[{\"name\":\"__name__\",\"value\":3},"
          "{\"name\":\"code\",\"value\":2},{\"name\":\"instance\",\"value\":2},"
          "{\"name\":\"job\",\"value\":2},{\"name\":\"v\",\"value\":1}],"
          // Bytes of the values: __name__ 2+4+3, code 6, instance 2, job 2,
          // v 6 ("<&>\"ü": ü is 2 bytes); ties by name.
          "\"memoryInBytesByLabelName\":[{\"name\":\"__name__\",\"value\":9},"
          "{\"name\":\"code\",\"value\":6},{\"name\":\"v\",\"value\":6},"
          "{\"name\":\"instance\",\"value\":2},{\"name\":\"job\",\"value\":2}],"
          "\"seriesCountByLabelValuePair\":[{\"name\":\"job=a\",\"value\":4},"
          "{\"name\":\"__name__=up\",\"value\":3},"
          "{\"name\":\"__name__=http\",\"value\":2},"
          "{\"name\":\"instance=1\",\"value\":2},"
          "{\"name\":\"__name__=odd\",\"value\":1},"
          "{\"name\":\"code=200\",\"value\":1},"
          "{\"name\":\"code=500\",\"value\":1},"
          "{\"name\":\"instance=2\",\"value\":1},"
          "{\"name\":\"job=b\",\"value\":1},"
          "{\"name\":\"v=\\u003c\\u0026\\u003e\\\"ü\",\"value\":1}]}")));
}

TEST_F(ApiTest, StatusTsdbKeepsTopTen) {
  std::unique_ptr<db::Appender> app = db_->Appender();
  // Metric m<k> has k + 1 series, k = 0..14.
  for (int k = 0; k < 15; ++k) {
    for (int i = 0; i <= k; ++i) {
      ASSERT_TRUE(app->Append(0,
                              labels::Labels::FromPairs(
                                  {{"__name__", absl::StrCat("m", k)},
                                   {"i", absl::StrCat(i)}}),
                              kT0, 1)
                      .ok());
    }
  }
  ASSERT_TRUE(app->Commit().ok());
  Response r = HandleStatusTsdb(db_.get(), Get("", {}));
  std::string want = "\"seriesCountByMetricName\":[";
  for (int k = 14; k >= 5; --k) {
    absl::StrAppend(&want, k == 14 ? "" : ",", "{\"name\":\"m", k,
                    "\",\"value\":", k + 1, "}");
  }
  absl::StrAppend(&want, "]");
  EXPECT_TRUE(absl::StrContains(r.body, want)) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "\"numSeries\":120,")) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "\"numLabelPairs\":30,")) << r.body;
}

TEST_F(ApiTest, NullDbIsUnavailable) {
  const std::string want =
      "{\"status\":\"error\",\"errorType\":\"unavailable\",\"error\":\"TSDB "
      "not ready\"}";
  for (const Response& r :
       {HandleSeries(nullptr, Get("", {{"match[]", "up"}})),
        HandleLabels(nullptr, Get("", {})),
        HandleLabelValues(nullptr, "job", Get("", {})),
        HandleStatusTsdb(nullptr, Get("", {})),
        HandleSnapshot(nullptr, dir_.string(), Get("", {})),
        HandleDeleteSeries(nullptr, Get("", {{"match[]", "up"}})),
        HandleCleanTombstones(nullptr, Get("", {}))}) {
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.body, want);
  }
}

TEST_F(ApiTest, ClosedDbIsAnErrorNotACrash) {
  AddData();
  ASSERT_TRUE(db_->Close().ok());
  Response r = HandleSeries(db_.get(), Get("", {{"match[]", "up"}}));
  EXPECT_GE(r.status, 400);
  EXPECT_TRUE(absl::StartsWith(r.body, "{\"status\":\"error\"")) << r.body;
  r = HandleLabels(db_.get(), Get("", {}));
  EXPECT_GE(r.status, 400);
}

// ---- Admin ----

int64_t CountSamples(db::DB& db, const std::string& name) {
  auto q = db.Querier(INT64_MIN, INT64_MAX);
  EXPECT_TRUE(q.ok());
  auto m = labels::Matcher::Make(labels::MatchType::kEqual, "__name__", name);
  auto set = (*q)->Select({*m});
  EXPECT_TRUE(set.ok());
  int64_t n = 0;
  while ((*set)->Next()) {
    auto it = (*set)->At().Iterator();
    while (it->Next()) ++n;
  }
  return n;
}

TEST_F(ApiTest, Snapshot) {
  AddData();
  Response r = HandleSnapshot(db_.get(), dir_.string(),
                              Get("/api/v1/admin/tsdb/snapshot", {}));
  ASSERT_EQ(r.status, 200) << r.body;
  // {"status":"success","data":{"name":"YYYYMMDDTHHMMSSZ-<16 hex>"}}
  const std::string prefix = "{\"status\":\"success\",\"data\":{\"name\":\"";
  ASSERT_TRUE(absl::StartsWith(r.body, prefix)) << r.body;
  const std::string name =
      r.body.substr(prefix.size(), r.body.size() - prefix.size() - 3);
  ASSERT_EQ(name.size(), 33u) << name;
  EXPECT_EQ(name[8], 'T');
  EXPECT_EQ(name.substr(15, 2), "Z-");
  const std::filesystem::path snap = dir_ / "snapshots" / name;
  ASSERT_TRUE(std::filesystem::is_directory(snap)) << snap;
  // With the head: the snapshot holds a block with every series.
  Registry reg;
  ASSERT_TRUE(frontends::RegisterBuiltinPlugins(reg).ok());
  {
    db::Options opts;
    opts.background = false;
    opts.log = [](std::string_view, std::string_view) {};
    auto copy = db::DB::Open(snap.string(), opts, &reg);
    ASSERT_TRUE(copy.ok()) << copy.status();
    EXPECT_EQ(CountSamples(**copy, "up"), 6);
    EXPECT_EQ(CountSamples(**copy, "http"), 4);
    ASSERT_TRUE((*copy)->Close().ok());
  }
  // skip_head=true: no head data in the snapshot.
  r = HandleSnapshot(db_.get(), dir_.string(),
                     Get("", {{"skip_head", "true"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string name2 =
      r.body.substr(prefix.size(), r.body.size() - prefix.size() - 3);
  EXPECT_NE(name2, name);
  {
    db::Options opts;
    opts.background = false;
    opts.log = [](std::string_view, std::string_view) {};
    auto copy = db::DB::Open((dir_ / "snapshots" / name2).string(), opts, &reg);
    ASSERT_TRUE(copy.ok()) << copy.status();
    EXPECT_EQ(CountSamples(**copy, "up"), 0);
    ASSERT_TRUE((*copy)->Close().ok());
  }
  r = HandleSnapshot(db_.get(), dir_.string(),
                     Get("", {{"skip_head", "maybe"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body,
            BadData("invalid parameter \"skip_head\": unable to parse "
                    "boolean: strconv.ParseBool: parsing \"maybe\": invalid "
                    "syntax"));
  // A data dir where snapshots/ cannot be created: 500, no crash.
  const std::filesystem::path file = dir_ / "not_a_dir";
  { std::ofstream(file.string()) << "x"; }
  r = HandleSnapshot(db_.get(), file.string(), Get("", {}));
  EXPECT_EQ(r.status, 500);
  EXPECT_TRUE(absl::StrContains(r.body, "create snapshot directory")) << r.body;
}

TEST_F(ApiTest, DeleteSeriesAndCleanTombstones) {
  AddData();
  Response r = HandleDeleteSeries(db_.get(), Get("", {}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, BadData("no match[] parameter provided"));
  r = HandleDeleteSeries(db_.get(),
                         Get("", {{"match[]", "up"}, {"match[]", "up{"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(CountSamples(*db_, "up"), 6);  // nothing deleted
  r = HandleDeleteSeries(db_.get(),
                         Get("", {{"match[]", "up"}, {"start", "x"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(absl::StrContains(r.body, "Invalid time value for 'start'"));

  // Delete the first sample of up{job="a"} only (end = kT0).
  r = HandleDeleteSeries(db_.get(),
                         Get("", {{"match[]", "up{job=\"a\"}"},
                                  {"end", absl::StrCat(kT0 / 1000)}}));
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.content_type, "");
  EXPECT_EQ(CountSamples(*db_, "up"), 4);
  // Everything of http.
  r = HandleDeleteSeries(db_.get(), Get("", {{"match[]", "http"}}));
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(CountSamples(*db_, "http"), 0);
  EXPECT_EQ(CountSamples(*db_, "odd"), 1);

  r = HandleCleanTombstones(db_.get(), Get("", {}));
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(CountSamples(*db_, "up"), 4);
  EXPECT_EQ(CountSamples(*db_, "http"), 0);
}

}  // namespace
}  // namespace tsdb::server
