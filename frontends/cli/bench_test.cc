// `tsdb bench write` with small numbers: promtool's stage lines, the sample
// count (rounds of 100 scrapes, as promtool), a data dir that `tsdb dump`
// and `tsdb check` read back completely, label files in promtool's format,
// and --out protection.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "frontends/builtin_plugins.h"
#include "frontends/cli/commands.h"
#include "gtest/gtest.h"

namespace tsdb::cli {
namespace {

namespace fs = std::filesystem;

class BenchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(frontends::RegisterBuiltinPlugins(registry_).ok());
    out_ = ::testing::TempDir() + "/bench_out";
    fs::remove_all(out_);
  }
  Registry registry_;
  std::string out_;
};

TEST_F(BenchTest, SyntheticSeriesAreWrittenAndReadBack) {
  std::ostringstream o;
  absl::Status s =
      BenchWrite({"write", "--out=" + out_, "--metrics=1500", "--scrapes=150"},
                 registry_, o);
  ASSERT_TRUE(s.ok()) << s;
  const std::string text = o.str();
  for (const char* want :
       {">> start stage=readData\n", ">> completed stage=readData duration=",
        ">> start stage=ingestScrapes\n", "ingestion completed\n",
        " > total samples: 300000\n",
        " > samples/sec: ", ">> completed stage=stopStorage duration="}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
  std::ostringstream dump;
  CommonFlags common;
  ASSERT_TRUE(Dump({out_ + "/storage"}, common, registry_, dump).ok());
  const std::string d = dump.str();
  EXPECT_EQ(std::count(d.begin(), d.end(), '\n'), 300000);
  EXPECT_NE(d.find("{__name__=\"bench_metric_7\", instance=\"host-14\", "
                   "job=\"bench\"} 1.23457789e+08 30000\n"),
            std::string::npos)
      << d.substr(0, 300);
  std::ostringstream check;
  EXPECT_TRUE(Check({out_ + "/storage"}, check).ok()) << check.str();
  // A second run replaces the first one's storage.
  std::ostringstream again;
  ASSERT_TRUE(
      BenchWrite({"write", "--out=" + out_, "--metrics=10", "--scrapes=1"},
                 registry_, again)
          .ok());
  EXPECT_NE(again.str().find(" > total samples: 1000\n"), std::string::npos);
}

TEST_F(BenchTest, LabelFileInPromtoolFormat) {
  const std::string file = ::testing::TempDir() + "/series.json";
  std::ofstream(file) << "{\"__name__\":\"a\",\"x\":\"1\"}\n"
                         "{\"x\":\"1\",\"__name__\":\"a\"}\n"  // duplicate
                         "{\"__name__\":\"b\",\"x\":\"2\"}\n"
                         "{\"__name__\":\"c\"}\n";
  std::ostringstream o;
  absl::Status s =
      BenchWrite({"write", "--out", out_, "--metrics=2", "--scrapes=100", file},
                 registry_, o);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_NE(o.str().find(" > total samples: 200\n"), std::string::npos)
      << o.str();
  std::ostringstream dump;
  ASSERT_TRUE(Dump({out_ + "/storage"}, CommonFlags(), registry_, dump).ok());
  EXPECT_NE(dump.str().find("{__name__=\"b\", x=\"2\"}"), std::string::npos);
  EXPECT_EQ(dump.str().find("__name__=\"c\""), std::string::npos);
}

TEST_F(BenchTest, RefusesToClearAForeignDirAndBadFlags) {
  fs::create_directories(out_);
  std::ofstream(out_ + "/precious") << "x";
  std::ostringstream o;
  absl::Status s =
      BenchWrite({"write", "--out=" + out_, "--metrics=1"}, registry_, o);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_TRUE(fs::exists(out_ + "/precious"));
  EXPECT_FALSE(BenchWrite({"write", "--metrics=0"}, registry_, o).ok());
  EXPECT_FALSE(BenchWrite({"read"}, registry_, o).ok());
}

}  // namespace
}  // namespace tsdb::cli
