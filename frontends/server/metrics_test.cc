// ServerMetrics: what /metrics renders, checked by parsing the text format
// back (every line a comment or a valid sample line) and by the values of
// the series a dashboard reads.
#include "frontends/server/metrics.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "frontends/builtin_plugins.h"
#include "gtest/gtest.h"
#include "tsdb/db/db.h"
#include "tsdb/labels/labels.h"

namespace tsdb::server {
namespace {

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         c == ':';
}
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

// The family a sample belongs to: its name without a histogram/summary
// suffix when that family was typed.
std::string FamilyOf(const std::string& name, const std::set<std::string>& t) {
  if (t.count(name)) return name;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s = suffix;
    if (name.size() > s.size() &&
        name.compare(name.size() - s.size(), s.size(), s) == 0) {
      return name.substr(0, name.size() - s.size());
    }
  }
  return name;
}

// Parses text format 0.0.4 into "name{labels as written}" -> value. Adds a
// test failure for a malformed line, a sample whose family has no TYPE line
// before it, a family typed twice, or a series listed twice.
std::map<std::string, double> ParseText(const std::string& text) {
  std::map<std::string, double> out;
  std::set<std::string> typed;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    SCOPED_TRACE(absl::StrCat("line ", n, ": ", line));
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream f(line);
      std::string hash, kind, name, type;
      f >> hash >> kind >> name;
      EXPECT_EQ(hash, "#");
      EXPECT_TRUE(kind == "HELP" || kind == "TYPE");
      EXPECT_FALSE(name.empty());
      if (kind == "TYPE") {
        f >> type;
        EXPECT_TRUE(type == "counter" || type == "gauge" ||
                    type == "histogram" || type == "summary" ||
                    type == "untyped")
            << type;
        EXPECT_TRUE(typed.insert(name).second) << "typed twice";
      }
      continue;
    }
    // name
    size_t i = 0;
    if (!IsNameStart(line[0])) {
      ADD_FAILURE() << "bad metric name";
      continue;
    }
    while (i < line.size() && IsNameChar(line[i])) ++i;
    const std::string name = line.substr(0, i);
    EXPECT_TRUE(typed.count(FamilyOf(name, typed))) << "no TYPE before it";
    // {label="value",...}
    bool ok = true;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (ok && i < line.size() && line[i] != '}') {
        if (!IsNameStart(line[i])) ok = false;
        while (ok && i < line.size() && IsNameChar(line[i])) ++i;
        if (!ok || i + 1 >= line.size() || line[i] != '=' ||
            line[i + 1] != '"') {
          ok = false;
          break;
        }
        i += 2;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\') {
            ok = ok && i + 1 < line.size() &&
                 (line[i + 1] == '\\' || line[i + 1] == '"' ||
                  line[i + 1] == 'n');
            ++i;
          }
          ++i;
        }
        if (i >= line.size()) {
          ok = false;
          break;
        }
        ++i;  // closing quote
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size() || line[i] != '}') ok = false;
      ++i;
    }
    if (!ok || i >= line.size() || line[i] != ' ') {
      ADD_FAILURE() << "bad labels";
      continue;
    }
    const std::string series = line.substr(0, i);
    std::istringstream rest(line.substr(i + 1));
    std::string value, ts, extra;
    rest >> value >> ts >> extra;
    EXPECT_TRUE(extra.empty());
    double v;
    if (value == "NaN") {
      v = std::nan("");
    } else if (value == "+Inf") {
      v = INFINITY;
    } else if (value == "-Inf") {
      v = -INFINITY;
    } else {
      char* end = nullptr;
      v = std::strtod(value.c_str(), &end);
      EXPECT_TRUE(!value.empty() && *end == '\0') << "bad value " << value;
    }
    if (!ts.empty()) {
      char* end = nullptr;
      std::strtoll(ts.c_str(), &end, 10);
      EXPECT_EQ(*end, '\0') << "bad timestamp";
    }
    EXPECT_TRUE(out.emplace(series, v).second) << "series listed twice";
  }
  return out;
}

double Get(const std::map<std::string, double>& m, const std::string& k) {
  auto it = m.find(k);
  if (it == m.end()) {
    ADD_FAILURE() << "missing " << k;
    return std::nan("");
  }
  return it->second;
}

TEST(ServerMetricsTest, HttpSamplesAndProcess) {
  ServerMetrics m;
  m.ObserveHttp("/api/v1/write", 204, 0.01);
  m.ObserveHttp("/api/v1/write", 204, 0.05);
  m.ObserveHttp("/api/v1/write", 204, 0.3);
  m.ObserveHttp("/api/v1/write", 400, 2.5);
  m.ObserveHttp("/api/v1/label/:name/values", 200, 0.001);
  m.AddSamplesAppended(1000);
  m.AddSamplesAppended(234);
  m.AddSamplesRejected("out_of_order", 3);
  m.AddSamplesRejected("out_of_order", 2);
  m.AddSamplesRejected("too_old", 1);
  const std::string text = m.Render(nullptr);
  const auto v = ParseText(text);
  EXPECT_EQ(Get(v,
                "prometheus_http_requests_total{code=\"204\",handler=\"/"
                "api/v1/write\"}"),
            3);
  EXPECT_EQ(Get(v,
                "prometheus_http_requests_total{code=\"400\",handler=\"/"
                "api/v1/write\"}"),
            1);
  EXPECT_EQ(Get(v,
                "prometheus_http_requests_total{code=\"200\",handler=\"/"
                "api/v1/label/:name/values\"}"),
            1);
  // Histogram with Prometheus's buckets.
  EXPECT_EQ(Get(v,
                "prometheus_http_request_duration_seconds_count{handler=\"/"
                "api/v1/write\"}"),
            4);
  EXPECT_EQ(Get(v,
                "prometheus_http_request_duration_seconds_bucket{handler="
                "\"/api/v1/write\",le=\"0.1\"}"),
            2);
  EXPECT_EQ(Get(v,
                "prometheus_http_request_duration_seconds_bucket{handler="
                "\"/api/v1/write\",le=\"0.4\"}"),
            3);
  EXPECT_EQ(Get(v,
                "prometheus_http_request_duration_seconds_bucket{handler="
                "\"/api/v1/write\",le=\"3\"}"),
            4);
  EXPECT_EQ(Get(v,
                "prometheus_http_request_duration_seconds_bucket{handler="
                "\"/api/v1/write\",le=\"+Inf\"}"),
            4);
  EXPECT_NEAR(Get(v,
                  "prometheus_http_request_duration_seconds_sum{handler="
                  "\"/api/v1/write\"}"),
              2.86, 1e-9);
  EXPECT_EQ(Get(v, "ctsdb_remote_write_samples_appended_total"), 1234);
  EXPECT_EQ(Get(v,
                "ctsdb_remote_write_samples_rejected_total{reason=\"out_of_"
                "order\"}"),
            5);
  EXPECT_EQ(
      Get(v, "ctsdb_remote_write_samples_rejected_total{reason=\"too_old\"}"),
      1);
  // Process metrics from /proc/self: plausible values.
  EXPECT_GT(Get(v, "process_resident_memory_bytes"), 1 << 20);
  EXPECT_GE(Get(v, "process_virtual_memory_bytes"),
            Get(v, "process_resident_memory_bytes"));
  EXPECT_GE(Get(v, "process_cpu_seconds_total"), 0);
  EXPECT_GT(Get(v, "process_start_time_seconds"), 1.5e9);
  EXPECT_GE(Get(v, "process_open_fds"), 3);
  EXPECT_GE(Get(v, "process_max_fds"), Get(v, "process_open_fds"));
  // Without a DB, no DB families.
  EXPECT_EQ(v.count("prometheus_tsdb_head_series"), 0u) << text;
  // Families sorted by name.
  std::vector<std::string> types;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      types.push_back(line.substr(7, line.find(' ', 7) - 7));
    }
  }
  EXPECT_TRUE(std::is_sorted(types.begin(), types.end()));
}

TEST(ServerMetricsTest, Observer) {
  ServerMetrics m;
  db::Observer* o = m.observer();
  o->OnCompaction(/*head=*/true, 3.0, absl::OkStatus());
  o->OnCompaction(/*head=*/false, 100.0, absl::OkStatus());
  o->OnCompaction(/*head=*/false, 1.0, absl::InternalError("x"));  // not timed
  o->OnWalFsync(0.002);
  o->OnWalFsync(0.004);
  o->OnCheckpoint(0.5, absl::OkStatus());
  o->OnBlocksDeleted(2, /*by_retention=*/true);
  o->OnBlocksDeleted(3, /*by_retention=*/false);
  const auto v = ParseText(m.Render(nullptr));
  EXPECT_EQ(Get(v, "prometheus_tsdb_compaction_duration_seconds_count"), 2);
  EXPECT_EQ(Get(v,
                "prometheus_tsdb_compaction_duration_seconds_bucket{le="
                "\"2\"}"),
            0);
  EXPECT_EQ(Get(v,
                "prometheus_tsdb_compaction_duration_seconds_bucket{le="
                "\"4\"}"),
            1);
  EXPECT_EQ(Get(v,
                "prometheus_tsdb_compaction_duration_seconds_bucket{le="
                "\"128\"}"),
            2);
  EXPECT_EQ(Get(v,
                "prometheus_tsdb_compaction_duration_seconds_bucket{le="
                "\"8192\"}"),
            2);
  EXPECT_EQ(Get(v, "prometheus_tsdb_compaction_duration_seconds_sum"), 103);
  EXPECT_EQ(Get(v, "prometheus_tsdb_wal_fsync_duration_seconds_count"), 2);
  EXPECT_NEAR(Get(v, "prometheus_tsdb_wal_fsync_duration_seconds_sum"), 0.006,
              1e-12);
  const double median =
      Get(v, "prometheus_tsdb_wal_fsync_duration_seconds{quantile=\"0.5\"}");
  EXPECT_TRUE(median == 0.002 || median == 0.004) << median;
  EXPECT_EQ(Get(v, "ctsdb_tsdb_checkpoint_duration_seconds_count"), 1);
  EXPECT_EQ(Get(v, "ctsdb_tsdb_blocks_deleted_total{reason=\"retention\"}"), 2);
  EXPECT_EQ(Get(v, "ctsdb_tsdb_blocks_deleted_total{reason=\"compaction\"}"),
            3);
}

TEST(ServerMetricsTest, DbFamilies) {
  Registry registry;
  ASSERT_TRUE(frontends::RegisterBuiltinPlugins(registry).ok());
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) /
      absl::StrCat("metrics_", ::getpid());
  std::filesystem::remove_all(dir);
  ServerMetrics m;
  db::Options opts;
  opts.background = false;
  opts.log = [](std::string_view, std::string_view) {};
  opts.observer = m.observer();
  auto db = db::DB::Open(dir.string(), opts, &registry);
  ASSERT_TRUE(db.ok()) << db.status();
  // Empty head: Prometheus's sentinels.
  auto v = ParseText(m.Render(db->get()));
  EXPECT_EQ(Get(v, "prometheus_tsdb_head_series"), 0);
  EXPECT_EQ(Get(v, "prometheus_tsdb_head_min_time"), 9223372036854775807.0);

  const int64_t t0 = 1700000000000;
  std::unique_ptr<db::Appender> app = (*db)->Appender();
  for (int s = 0; s < 5; ++s) {
    const labels::Labels lset =
        labels::Labels::FromPairs({{"__name__", "m"}, {"s", absl::StrCat(s)}});
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(app->Append(0, lset, t0 + i * 15000, i).ok());
    }
  }
  ASSERT_TRUE(app->Commit().ok());
  // One out-of-order sample, refused.
  EXPECT_FALSE(
      app->Append(0, labels::Labels::FromPairs({{"__name__", "m"}, {"s", "0"}}),
                  t0, 1)
          .ok());
  ASSERT_TRUE(app->Rollback().ok());

  v = ParseText(m.Render(db->get()));
  EXPECT_EQ(Get(v, "prometheus_tsdb_head_series"), 5);
  EXPECT_EQ(Get(v, "prometheus_tsdb_head_chunks"), 5);
  EXPECT_EQ(Get(v, "prometheus_tsdb_head_series_created_total"), 5);
  EXPECT_EQ(
      Get(v, "prometheus_tsdb_head_samples_appended_total{type=\"float\"}"),
      50);
  EXPECT_EQ(
      Get(v, "prometheus_tsdb_head_samples_appended_total{type=\"histogram\"}"),
      0);
  EXPECT_EQ(
      Get(v, "prometheus_tsdb_out_of_order_samples_total{type=\"float\"}"), 1);
  EXPECT_EQ(Get(v, "prometheus_tsdb_head_min_time"), t0);
  EXPECT_EQ(Get(v, "prometheus_tsdb_head_max_time"), t0 + 9 * 15000);
  EXPECT_EQ(Get(v, "prometheus_tsdb_head_max_time_seconds"),
            (t0 + 9 * 15000) / 1000);
  EXPECT_EQ(Get(v, "prometheus_tsdb_lowest_timestamp"), t0);
  EXPECT_EQ(Get(v, "prometheus_tsdb_blocks_loaded"), 0);
  EXPECT_EQ(Get(v, "prometheus_tsdb_compactions_total"), 0);

  // Persisting the head: a block, a compaction counted and timed.
  ASSERT_TRUE((*db)->CompactHead().ok());
  v = ParseText(m.Render(db->get()));
  EXPECT_EQ(Get(v, "prometheus_tsdb_blocks_loaded"), 1);
  EXPECT_GT(Get(v, "prometheus_tsdb_storage_blocks_bytes"), 0);
  EXPECT_GE(Get(v, "prometheus_tsdb_compactions_total"), 1);
  EXPECT_GE(Get(v, "prometheus_tsdb_compaction_duration_seconds_count"), 1);
  ASSERT_TRUE((*db)->Close().ok());
  db->reset();
  std::filesystem::remove_all(dir);
}

// Many threads observing and rendering at once (for TSan).
TEST(ServerMetricsTest, Concurrent) {
  ServerMetrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < 200; ++i) {
        m.ObserveHttp(absl::StrCat("/h", i % 3), 200 + (i + t) % 2, 0.001);
        m.AddSamplesAppended(1);
        m.AddSamplesRejected(t % 2 ? "a" : "b", 1);
        m.observer()->OnWalFsync(0.001);
        if (i % 50 == 0) (void)m.Render(nullptr);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  const auto v = ParseText(m.Render(nullptr));
  EXPECT_EQ(Get(v, "ctsdb_remote_write_samples_appended_total"), 800);
  double total = 0;
  for (const auto& [k, val] : v) {
    if (k.rfind("prometheus_http_requests_total{", 0) == 0) total += val;
  }
  EXPECT_EQ(total, 800);
}

}  // namespace
}  // namespace tsdb::server
