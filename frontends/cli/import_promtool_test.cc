// `tsdb import openmetrics` against `promtool tsdb create-blocks-from
// openmetrics` on the same generated input: the printed block tables, the
// `promtool tsdb list` of both output dirs (ULIDs masked: they hold the
// creation time), the `promtool tsdb dump` of both and every block file
// (meta.json with ULIDs masked) are identical; with --max-block-duration
// and -r too. Bad input fails in both, or is accepted by both with the
// same samples.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "testing/prometheus/prometheus_binaries.h"

namespace tsdb {
namespace {

using ::tsdb::testing::RunCommand;

// ~40 series over ~16 h, fractional-second timestamps, special values,
// escapes, HELP/TYPE/UNIT lines, an exemplar, interleaved series.
std::string Input() {
  std::mt19937 rng(11);
  std::string om =
      "# HELP req_total Requests.\n# TYPE req_total counter\n"
      "# UNIT lat_seconds seconds\n";
  const int64_t t0 = 1699990000;
  const char* kVals[] = {"plain", "q\\\"uote", "back\\\\slash", "nl\\nx",
                         "ünï ☃"};
  for (int i = 0; i < 600; ++i) {
    for (int s = 0; s < 40; ++s) {
      if ((s + i) % 7 == 3) continue;  // gaps
      std::string v;
      switch ((s * 3 + i) % 9) {
        case 0:
          v = "NaN";
          break;
        case 1:
          v = i % 100 == 1 ? "+Inf" : "-Inf";
          break;
        case 2:
          v = std::to_string(rng() % 100000) + "e-3";
          break;
        default:
          v = std::to_string(i * (s + 1));
      }
      std::string ts = std::to_string(t0 + i * 97 + s);
      if (s % 3 == 0) ts += "." + std::to_string(rng() % 1000);
      om += "req_total{job=\"j" + std::to_string(s % 4) + "\",inst=\"" +
            std::to_string(s) + "\",v=\"" + kVals[s % 5] + "\"} " + v + " " +
            ts;
      if (s == 5 && i % 50 == 0) om += " # {trace_id=\"abc\"} 1.0 " + ts;
      om += "\n";
    }
  }
  om += "# EOF\n";
  return om;
}

std::string MaskUlids(const std::string& s) {
  static const std::regex kUlid("[0-9A-HJKMNP-TV-Z]{26}");
  return std::regex_replace(s, kUlid, "<ULID>");
}

class ImportPromtoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/import";
    ASSERT_EQ(std::system(
                  ("rm -rf '" + dir_ + "' && mkdir -p '" + dir_ + "'").c_str()),
              0);
  }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string p = dir_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  testing::CommandResult Run(std::vector<std::string> argv) {
    auto r = RunCommand(argv);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : testing::CommandResult{};
  }
  void ExpectSameImport(const std::string& input,
                        const std::vector<std::string>& flags,
                        const std::string& tag) {
    std::vector<std::string> p = {promtool_, "tsdb", "create-blocks-from",
                                  "openmetrics"};
    p.insert(p.end(), flags.begin(), flags.end());
    p.push_back(input);
    p.push_back(dir_ + "/promtool_" + tag);
    std::vector<std::string> o = {"frontends/tsdb", "import", "openmetrics"};
    o.insert(o.end(), flags.begin(), flags.end());
    o.push_back(input);
    o.push_back(dir_ + "/ours_" + tag);
    const auto want = Run(p);
    ASSERT_EQ(want.exit_code, 0) << want.err;
    const auto got = Run(o);
    ASSERT_EQ(got.exit_code, 0) << got.err;
    EXPECT_EQ(MaskUlids(got.out), MaskUlids(want.out)) << tag;
    for (const char* side : {"promtool_", "ours_"}) {
      ASSERT_EQ(std::system(
                    ("mkdir -p '" + dir_ + "/" + side + tag + "/wal'").c_str()),
                0);
    }
    const auto list_want =
        Run({promtool_, "tsdb", "list", dir_ + "/promtool_" + tag});
    const auto list_got =
        Run({promtool_, "tsdb", "list", dir_ + "/ours_" + tag});
    EXPECT_EQ(MaskUlids(list_got.out), MaskUlids(list_want.out)) << tag;
    const auto dump_want =
        Run({promtool_, "tsdb", "dump", dir_ + "/promtool_" + tag});
    const auto dump_got =
        Run({promtool_, "tsdb", "dump", dir_ + "/ours_" + tag});
    ASSERT_EQ(dump_want.exit_code, 0) << dump_want.err;
    ASSERT_EQ(dump_got.exit_code, 0) << dump_got.err;
    EXPECT_GT(dump_want.out.size(), 100000u);
    EXPECT_TRUE(dump_got.out == dump_want.out) << tag << ": dumps differ";
    // Block files byte for byte (ULIDs order blocks by creation time, which
    // is window order in both); meta.json differs in the ULID only.
    const auto want_blocks = Blocks(dir_ + "/promtool_" + tag);
    const auto got_blocks = Blocks(dir_ + "/ours_" + tag);
    ASSERT_EQ(got_blocks.size(), want_blocks.size());
    for (size_t i = 0; i < got_blocks.size(); ++i) {
      for (const char* f : {"index", "chunks/000001", "tombstones"}) {
        EXPECT_TRUE(Slurp(got_blocks[i] + "/" + f) ==
                    Slurp(want_blocks[i] + "/" + f))
            << tag << " block " << i << " " << f << " differs";
      }
      EXPECT_EQ(MaskUlids(Slurp(got_blocks[i] + "/meta.json")),
                MaskUlids(Slurp(want_blocks[i] + "/meta.json")));
    }
  }
  static std::vector<std::string> Blocks(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (e.path().filename().string().size() == 26) {
        out.push_back(e.path().string());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  static std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::string promtool_, dir_;
};

TEST_F(ImportPromtoolTest, SameBlocksAndSamplesAsPromtool) {
  TSDB_REQUIRE_PROMTOOL(promtool);
  promtool_ = promtool;
  const std::string in = Write("in.om", Input());
  ExpectSameImport(in, {}, "default");
  ExpectSameImport(in, {"-r"}, "human");
  ExpectSameImport(in, {"--max-block-duration=24h"}, "24h");
  ExpectSameImport(in, {"--max-block-duration=1h"}, "1h");
}

// Inputs promtool rejects, and inputs it accepts although they are not
// clean (out-of-order or duplicate samples within one batch of 5000 are
// dropped): we agree on the exit status and, when it succeeds, the samples.
TEST_F(ImportPromtoolTest, BadInputLikePromtool) {
  TSDB_REQUIRE_PROMTOOL(promtool);
  promtool_ = promtool;
  std::string cross_batch;  // 5000 samples commit; then one out of order
  for (int i = 0; i < 5000; ++i) {
    cross_batch +=
        "m " + std::to_string(i) + " " + std::to_string(1700000000 + i) + "\n";
  }
  const std::string cross_dup =
      cross_batch + "m 1 " + std::to_string(1700000000 + 4999) + "\n# EOF\n";
  cross_batch += "m 1 1700000100\n# EOF\n";
  const std::vector<std::pair<std::string, bool>> cases = {
      {"m 1\n# EOF\n", false},                             // no timestamp
      {"m 1 1700000000\n", false},                         // no # EOF
      {"m{a=\"b} 1 1700000000\n# EOF\n", false},           // unterminated
      {"m 1 1700000000\n# EOF\nm 1 1700000001\n", false},  // after EOF
      {"# UNIT m_bytes seconds\nm 1 1\n# EOF\n", false},   // bad unit
      {"m_total 1 1700000000 # {a=\"1\"} 2 1700000000\n# EOF\n", true},
      {"m 1 1700000000 # {a=\"1\"} 2\n# EOF\n", false},   // not a counter
      {"m 2 1700000010\nm 1 1700000000\n# EOF\n", true},  // OOO in batch
      {"m 2 1700000010\nm 1 1700000010\n# EOF\n", true},  // dup in batch
      {cross_batch, false},  // out of order across batches
      {cross_dup, false},    // duplicate across batches
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string& text = cases[i].first;
    const std::string tag = std::to_string(i);
    const std::string in = Write("bad" + tag + ".om", text);
    const auto want = Run({promtool_, "tsdb", "create-blocks-from",
                           "openmetrics", in, dir_ + "/pb" + tag});
    const auto got = Run(
        {"frontends/tsdb", "import", "openmetrics", in, dir_ + "/ob" + tag});
    const std::string what = text.substr(0, 60);
    EXPECT_EQ(want.exit_code == 0, cases[i].second) << what << want.err;
    EXPECT_EQ(got.exit_code == 0, cases[i].second) << what << got.err;
    if (!cases[i].second) {
      EXPECT_NE(got.err.find("tsdb import: "), std::string::npos) << got.err;
      continue;
    }
    ASSERT_EQ(std::system(("mkdir -p '" + dir_ + "/pb" + tag + "/wal' '" +
                           dir_ + "/ob" + tag + "/wal'")
                              .c_str()),
              0);
    EXPECT_EQ(Run({promtool_, "tsdb", "dump", dir_ + "/ob" + tag}).out,
              Run({promtool_, "tsdb", "dump", dir_ + "/pb" + tag}).out)
        << what;
  }
}

}  // namespace
}  // namespace tsdb
