// The `tsdb` CLI against the real promtool 2.42 on the same data dir (made
// by `promtool tsdb create-blocks-from openmetrics`): `list`, `list -r` and
// `dump` (with and without --match and time bounds, through both chunk
// readers) must print byte-identical output. `dump` also reads the WAL:
// of the WAL dirs the real Prometheus wrote (testing/golden/wal), of our own
// WAL (tsdb/headwal:wal_writer) alone and next to blocks.
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

// Files and sizes under `dir` (to check that `tsdb dump` writes nothing).
std::string Listing(const std::string& dir) {
  auto r = RunCommand({"/usr/bin/find", dir, "-printf", "%p %s %T@\\n"});
  EXPECT_TRUE(r.ok());
  return r.ok() ? r->out : "";
}

TEST_F(TsdbCliPromtoolTest, DumpWithOurWalAndBlocksIsIdentical) {
  // Blocks span [t0, t0 + 30 h); the WAL starts 1 h before their end, so
  // promtool drops its first hour (Head.Init(maxBlockTime)), and adds new
  // series in reverse label order.
  ASSERT_EQ(std::system(("rm -rf '" + data_ + "/wal'").c_str()), 0);
  const int64_t start = int64_t{1700000000} * 1000 + int64_t{29} * 3600 * 1000;
  auto w = RunCommand({"tsdb/headwal/wal_writer", data_ + "/wal", "40", "150",
                       std::to_string(start), "60000"});
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(w->exit_code, 0) << w->err;
  const std::string before = Listing(data_);
  auto ours = RunCommand({"frontends/tsdb", "dump", data_});
  ASSERT_TRUE(ours.ok());
  EXPECT_EQ(Listing(data_), before) << "tsdb dump modified the data dir";
  ExpectSame({"dump"});
  ExpectSame({"dump", "--match={i=~\"1.*\"}"});
  ExpectSame({"dump", "--min-time=" + std::to_string(start + 3600 * 1000),
              "--max-time=" + std::to_string(start + 7200 * 1000)});
}

class WalOnlyDumpTest : public ::testing::TestWithParam<std::string> {};

// Head-only data dirs: Prometheus's golden WALs and our own (snappy, none,
// and one with duplicate series records from a simulated restart, where
// Prometheus drops the first incarnation's samples). Without time bounds
// promtool prints label order, with them series creation order (see
// frontends/cli/dump.cc). promtool opens the WAL for writing, so it dumps a
// copy.
TEST_P(WalOnlyDumpTest, DumpIsIdentical) {
  TSDB_REQUIRE_PROMTOOL(promtool);
  const std::string tmp = ::testing::TempDir() + "/wal_only_" + GetParam();
  ASSERT_EQ(
      std::system(("rm -rf '" + tmp + "' && mkdir -p '" + tmp + "'").c_str()),
      0);
  std::string data = tmp + "/data";
  if (GetParam() == "golden_snappy" || GetParam() == "golden_none") {
    data = "testing/golden/wal/" + GetParam().substr(7) + "/data";
  } else {
    std::vector<std::string> argv = {"tsdb/headwal/wal_writer",
                                     data + "/wal",
                                     "300",
                                     "50",
                                     "1000",
                                     "15000",
                                     GetParam() == "none" ? "none" : "snappy"};
    if (GetParam() == "restart") argv.push_back("restart");
    auto w = RunCommand(argv);
    ASSERT_TRUE(w.ok());
    ASSERT_EQ(w->exit_code, 0) << w->err;
  }
  ASSERT_EQ(std::system(("cp -r '" + data + "' '" + tmp + "/copy'").c_str()),
            0);
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{
           {}, {"--min-time=-1000", "--max-time=4000000000000"}}) {
    const std::string before = Listing(data);
    std::vector<std::string> o = {"frontends/tsdb", "dump"};
    o.insert(o.end(), flags.begin(), flags.end());
    o.push_back(data);
    auto ours = RunCommand(o);
    ASSERT_TRUE(ours.ok());
    ASSERT_EQ(ours->exit_code, 0) << ours->err;
    EXPECT_EQ(Listing(data), before) << "tsdb dump modified the data dir";
    std::vector<std::string> p = {promtool, "tsdb", "dump"};
    p.insert(p.end(), flags.begin(), flags.end());
    p.push_back(tmp + "/copy");
    auto want = RunCommand(p);
    ASSERT_TRUE(want.ok());
    ASSERT_EQ(want->exit_code, 0) << want->err;
    EXPECT_GT(want->out.size(), 10000u);
    EXPECT_TRUE(ours->out == want->out)
        << "dumps differ, flags: " << (flags.empty() ? "none" : flags[0]);
  }
}

INSTANTIATE_TEST_SUITE_P(All, WalOnlyDumpTest,
                         ::testing::Values("golden_snappy", "golden_none",
                                           "snappy", "none", "restart"));

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
