// The `tsdb` CLI against the real promtool 2.42 on the same data dir (made
// by `promtool tsdb create-blocks-from openmetrics`): `list`, `list -r` and
// `dump` (with and without --match and time bounds, through both chunk
// readers) must print byte-identical output.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "testing/prometheus/prometheus_binaries.h"

namespace tsdb {
namespace {

using ::tsdb::testing::RunCommand;

std::string WriteInput(const std::string& dir) {
  std::mt19937 rng(7);
  std::string om = "# HELP m A metric.\n# TYPE m gauge\n";
  const int64_t t0 = 1700000000;  // seconds, as OpenMetrics wants
  const char* kValues[] = {"a\\\"b\\\\c", "ünïcødé ☃", "plain"};
  for (int s = 0; s < 3; ++s) {
    for (int i = 0; i < 1800; ++i) {  // 30 h at 60 s: several blocks
      std::string v;
      switch ((s + i) % 5) {
        case 0:
          v = std::to_string(rng() % 1000000) + ".25";
          break;
        case 1:
          v = std::to_string(i * 1.5);
          break;
        case 2:
          v = i % 50 == 0 ? "NaN" : "1e+07";
          break;
        case 3:
          v = i % 70 == 0 ? "+Inf" : (i % 71 == 0 ? "-Inf" : "0.0001");
          break;
        default:
          v = "1.2345678e-05";
          break;
      }
      om += "m{inst=\"i" + std::to_string(s) + "\",v=\"" + kValues[s] + "\"} " +
            v + " " + std::to_string(t0 + i * 60) + "\n";
    }
  }
  om += "# EOF\n";
  const std::string path = dir + "/input.om";
  std::ofstream(path) << om;
  return path;
}

class TsdbCliPromtoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TSDB_REQUIRE_PROMTOOL(promtool);
    promtool_ = promtool;
    dir_ = ::testing::TempDir() + "/cli_promtool";
    ASSERT_EQ(std::system(
                  ("rm -rf '" + dir_ + "' && mkdir -p '" + dir_ + "'").c_str()),
              0);
    data_ = dir_ + "/data";
    auto r = RunCommand({promtool_, "tsdb", "create-blocks-from", "openmetrics",
                         WriteInput(dir_), data_});
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->exit_code, 0) << r->err;
    // promtool dump needs a wal/ dir when the range reaches the head.
    ASSERT_EQ(std::system(("mkdir -p '" + data_ + "/wal'").c_str()), 0);
  }

  void ExpectSame(std::vector<std::string> args) {
    std::vector<std::string> p = {promtool_, "tsdb"};
    p.insert(p.end(), args.begin(), args.end());
    p.push_back(data_);
    auto want = RunCommand(p);
    ASSERT_TRUE(want.ok());
    ASSERT_EQ(want->exit_code, 0) << want->err;
    for (const char* reader : {"mmap", "pread"}) {
      std::vector<std::string> o = {"frontends/tsdb",
                                    std::string("--chunk-reader=") + reader};
      o.insert(o.end(), args.begin(), args.end());
      o.push_back(data_);
      auto got = RunCommand(o);
      ASSERT_TRUE(got.ok());
      ASSERT_EQ(got->exit_code, 0) << got->err;
      EXPECT_EQ(got->out, want->out)
          << "args: " << args[0] << " reader " << reader;
    }
    if (args[0] == "dump") {
      EXPECT_GT(want->out.size(), 1000u);
    }
  }

  std::string promtool_, dir_, data_;
};

TEST_F(TsdbCliPromtoolTest, ListIsIdentical) {
  ExpectSame({"list"});
  ExpectSame({"list", "-r"});
}

TEST_F(TsdbCliPromtoolTest, DumpIsIdentical) {
  ExpectSame({"dump"});
  ExpectSame({"dump", "--match={inst=~\"i[02]\"}"});
  ExpectSame({"dump", "--min-time=1700030000000", "--max-time=1700070000000",
              "--match=m{v!=\"plain\"}"});
}

TEST(TsdbCliTest, ClearErrors) {
  auto r = RunCommand({"frontends/tsdb", "list", "/nonexistent/dir"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_NE(r->err.find("/nonexistent/dir"), std::string::npos) << r->err;
  r = RunCommand({"frontends/tsdb", "dump", "--match={a=~\"(\"}", "."});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_NE(r->err.find("invalid regular expression"), std::string::npos)
      << r->err;
  r = RunCommand({"frontends/tsdb", "--chunk-reader=nope", "list", "."});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 2);
  EXPECT_NE(r->err.find("valid: mmap, pread"), std::string::npos) << r->err;
  r = RunCommand({"frontends/tsdb", "frobnicate"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 2);
}

}  // namespace
}  // namespace tsdb
