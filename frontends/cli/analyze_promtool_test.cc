// `tsdb analyze` against `promtool tsdb analyze` on blocks promtool wrote
// (create-blocks-from openmetrics) from an input with churn (series
// starting and stopping at different times), several metric names and
// cardinalities. The six header lines must be identical. promtool orders
// equal counts randomly (unstable sort over a Go map), we by key: each list
// must equal promtool's complete list (--limit=100000) re-sorted by
// (count desc, key asc), cut at the limit; and the counts printed at the
// default limit must be promtool's. --match is checked against promtool's
// analysis of a block holding only the matching series.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "testing/prometheus/prometheus_binaries.h"

namespace tsdb {
namespace {

using ::tsdb::testing::RunCommand;

// Series s of metric m covers a different part of [t0, t0 + 2h).
std::string Input(bool only_job_a) {
  const int64_t t0 = 1700006400;  // 2h-aligned, seconds
  std::string om;
  const char* metrics[] = {"up", "http_requests_total", "cpu_seconds_total",
                           "mem_bytes"};
  for (int m = 0; m < 4; ++m) {
    for (int s = 0; s < 3 + m * 7; ++s) {
      const std::string job = s % 3 == 0 ? "a" : (s % 3 == 1 ? "bb" : "ccc");
      if (only_job_a && job != "a") continue;
      // The first series of each metric spans the whole range.
      const int start = s == 0 ? 0 : (s * 37) % 100;
      const int end = s == 0 ? 480 : start + 20 + (s * 53 + m * 11) % 300;
      for (int i = start; i < end && i < 480; ++i) {
        om += std::string(metrics[m]) + "{job=\"" + job + "\",instance=\"h" +
              std::to_string(s * (m + 1)) + ".example:9" +
              std::to_string(100 + s) + "\"";
        if (m == 2) om += ",mode=\"m" + std::to_string(s % 5) + "\"";
        om +=
            "} " + std::to_string(i) + " " + std::to_string(t0 + i * 15) + "\n";
      }
    }
  }
  // Interleave nothing: promtool accepts series one after another.
  return om + "# EOF\n";
}

struct Section {
  std::string title;
  std::vector<std::pair<uint64_t, std::string>> rows;
};

// Splits analyze output into its header lines and its sections.
void Parse(const std::string& text, std::vector<std::string>* header,
           std::vector<Section>* sections) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.back() == ':') {
      sections->push_back({line, {}});
    } else if (sections->empty()) {
      header->push_back(line);
    } else {
      const size_t sp = line.find(' ');
      sections->back().rows.emplace_back(std::stoull(line.substr(0, sp)),
                                         line.substr(sp + 1));
    }
  }
}

class AnalyzePromtoolTest : public ::testing::Test {
 protected:
  std::string MakeBlock(const std::string& name, bool only_job_a) {
    const std::string in = dir_ + "/" + name + ".om";
    std::ofstream(in) << Input(only_job_a);
    const std::string data = dir_ + "/" + name;
    auto r = RunCommand({promtool_, "tsdb", "create-blocks-from", "openmetrics",
                         "-q", in, data});
    EXPECT_TRUE(r.ok() && r->exit_code == 0) << (r.ok() ? r->err : "");
    return data;
  }
  std::string Analyze(const std::string& tool, std::vector<std::string> args) {
    std::vector<std::string> argv = {tool};
    if (tool == promtool_) argv.push_back("tsdb");
    argv.push_back("analyze");
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = RunCommand(argv);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r->exit_code, 0) << r->err;
    return r.ok() ? r->out : "";
  }
  // Ours with `flags` vs promtool on `want_data` (complete lists).
  void ExpectSame(const std::string& ours_out, const std::string& want_full,
                  const std::string& want_default, size_t limit,
                  bool compare_block_id) {
    std::vector<std::string> gh, wh, dh;
    std::vector<Section> gs, ws, ds;
    Parse(ours_out, &gh, &gs);
    Parse(want_full, &wh, &ws);
    Parse(want_default, &dh, &ds);
    ASSERT_EQ(gh.size(), 6u);
    ASSERT_EQ(wh.size(), 6u);
    for (size_t i = compare_block_id ? 0 : 1; i < 6; ++i) {
      EXPECT_EQ(gh[i], wh[i]);
    }
    ASSERT_EQ(gs.size(), 6u);
    ASSERT_EQ(ws.size(), 6u);
    ASSERT_EQ(ds.size(), 6u);
    for (size_t i = 0; i < 6; ++i) {
      EXPECT_EQ(gs[i].title, ws[i].title);
      auto want = ws[i].rows;
      std::sort(want.begin(), want.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
      });
      if (want.size() > limit) want.resize(limit);
      EXPECT_EQ(gs[i].rows, want) << gs[i].title;
      // The counts promtool prints at the same limit.
      std::vector<uint64_t> got_counts, want_counts;
      for (const auto& r : gs[i].rows) got_counts.push_back(r.first);
      for (const auto& r : ds[i].rows) want_counts.push_back(r.first);
      EXPECT_EQ(got_counts, want_counts) << gs[i].title;
    }
  }

  void SetUp() override {
    dir_ = ::testing::TempDir() + "/analyze";
    ASSERT_EQ(std::system(
                  ("rm -rf '" + dir_ + "' && mkdir -p '" + dir_ + "'").c_str()),
              0);
  }
  std::string promtool_, dir_;
};

TEST_F(AnalyzePromtoolTest, SameAsPromtool) {
  TSDB_REQUIRE_PROMTOOL(promtool);
  promtool_ = promtool;
  const std::string data = MakeBlock("all", false);
  const std::string full = Analyze(promtool_, {"--limit=100000", data});
  for (size_t limit : {size_t{20}, size_t{3}, size_t{100000}}) {
    const std::string l = "--limit=" + std::to_string(limit);
    const std::string ours = limit == 20 ? Analyze("frontends/tsdb", {data})
                                         : Analyze("frontends/tsdb", {l, data});
    const std::string want = Analyze(promtool_, {l, data});
    ExpectSame(ours, full, want, limit, /*compare_block_id=*/true);
  }
  // The churn lists must not be trivial (all zero) for this to mean much.
  EXPECT_NE(full.find("\n1 "), std::string::npos) << full;
}

TEST_F(AnalyzePromtoolTest, BlockIdArgumentAndErrors) {
  TSDB_REQUIRE_PROMTOOL(promtool);
  promtool_ = promtool;
  const std::string data = MakeBlock("all", false);
  const std::string ours = Analyze("frontends/tsdb", {data});
  const std::string id = ours.substr(10, 26);
  EXPECT_EQ(Analyze("frontends/tsdb", {data, id}), ours);
  auto r = RunCommand({"frontends/tsdb", "analyze", data, "01NOSUCHBLOCK"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_NE(r->err.find("block 01NOSUCHBLOCK not found"), std::string::npos)
      << r->err;
}

TEST_F(AnalyzePromtoolTest, MatchEqualsABlockOfTheMatchingSeries) {
  TSDB_REQUIRE_PROMTOOL(promtool);
  promtool_ = promtool;
  const std::string data = MakeBlock("all", false);
  const std::string only_a = MakeBlock("only_a", true);
  const std::string full = Analyze(promtool_, {"--limit=100000", only_a});
  const std::string want = Analyze(promtool_, {only_a});
  const std::string ours =
      Analyze("frontends/tsdb", {"--match={job=\"a\"}", data});
  ExpectSame(ours, full, want, 20, /*compare_block_id=*/false);
}

}  // namespace
}  // namespace tsdb
