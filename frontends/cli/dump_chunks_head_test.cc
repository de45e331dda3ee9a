// `tsdb dump` of data dirs with m-mapped head chunks (chunks_head):
//  - the dir the real Prometheus 2.42 wrote (testing/golden/chunks_head)
//    dumps exactly as promtool did (its dump.txt.gz), also after a byte of
//    its chunks_head file is flipped (the samples then come from the WAL);
//  - a generated dir whose chunks_head holds samples the WAL does not
//    (blocks + chunks_head + checkpoint + WAL) dumps as the live promtool
//    dumps a copy of it;
// and the data dir is byte-for-byte unchanged afterwards (promtool itself
// writes: it adds a WAL segment and may repair chunks_head).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "frontends/builtin_plugins.h"
#include "frontends/cli/test_data.h"
#include "gtest/gtest.h"
#include "testing/prometheus/prometheus_binaries.h"

namespace tsdb::cli {
namespace {

namespace fs = std::filesystem;
using ::tsdb::testing::RunCommand;

std::string Runfile(const std::string& rel) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* ws = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr || ws == nullptr) return rel;
  return absl::StrCat(srcdir, "/", ws, "/", rel);
}

// Every file under `dir` (symlinks followed) -> its bytes.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(
           dir, fs::directory_options::follow_directory_symlink)) {
    if (fs::is_directory(e.path())) {
      out[e.path().string() + "/"] = "";
      continue;
    }
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    out[e.path().string()] = ss.str();
  }
  return out;
}

// A real copy (no symlinks) of `src` at `dst`.
void CopyDir(const std::string& src, const std::string& dst) {
  fs::remove_all(dst);
  fs::copy(src, dst, fs::copy_options::recursive);
}

std::string GoldenDump() {
  auto r = RunCommand(
      {"/bin/gzip", "-dc", Runfile("testing/golden/chunks_head/dump.txt.gz")});
  EXPECT_TRUE(r.ok());
  return r.ok() ? r->out : "";
}

struct Dumped {
  int exit_code = -1;
  std::string out, err;
};

Dumped OurDump(const std::string& dir) {
  auto r = RunCommand({"frontends/tsdb", "dump", dir});
  EXPECT_TRUE(r.ok());
  if (!r.ok()) return {};
  return {r->exit_code, r->out, r->err};
}

TEST(DumpChunksHeadTest, PrometheusGoldenDirDumpsAsPromtool) {
  const std::string data = Runfile("testing/golden/chunks_head/data");
  // A real copy: runfiles are symlinks, and we check the files themselves.
  const std::string copy = ::testing::TempDir() + "/golden_copy";
  CopyDir(data, copy);
  const auto before = Snapshot(copy);
  ASSERT_GT(before.size(), 3u);
  Dumped d = OurDump(copy);
  ASSERT_EQ(d.exit_code, 0) << d.err;
  const std::string want = GoldenDump();
  ASSERT_GT(want.size(), 10000u);
  EXPECT_TRUE(d.out == want) << "dump differs from promtool's golden dump";
  EXPECT_TRUE(Snapshot(copy) == before) << "tsdb dump modified the data dir";
}

TEST(DumpChunksHeadTest, CorruptChunksHeadFileIsNotRepairedOnDisk) {
  const std::string copy = ::testing::TempDir() + "/golden_corrupt";
  CopyDir(Runfile("testing/golden/chunks_head/data"), copy);
  {
    // A byte of the first record's chunk data.
    std::fstream f(copy + "/chunks_head/000001",
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8 + 24 + 1 + 1 + 5);
    f.put('\x5a');
  }
  const auto before = Snapshot(copy);
  Dumped d = OurDump(copy);
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_NE(d.err.find("checksum mismatch"), std::string::npos) << d.err;
  EXPECT_NE(d.err.find("not on disk"), std::string::npos) << d.err;
  // Every sample is still in the WAL.
  EXPECT_TRUE(d.out == GoldenDump()) << "dump differs from promtool's";
  EXPECT_TRUE(Snapshot(copy) == before) << "tsdb dump modified the data dir";
}

TEST(DumpChunksHeadTest, TornWalIsNotRepairedOnDisk) {
  const std::string copy = ::testing::TempDir() + "/golden_torn";
  CopyDir(Runfile("testing/golden/chunks_head/data"), copy);
  const std::string seg = copy + "/wal/00000000";
  // Cut the segment inside its records (the file keeps its zero tail out).
  fs::resize_file(seg, 20000);
  const auto before = Snapshot(copy);
  Dumped d = OurDump(copy);
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_NE(d.err.find("warning: WAL replay stopped at " + seg),
            std::string::npos)
      << d.err;
  EXPECT_NE(d.err.find("not repaired: read-only"), std::string::npos) << d.err;
  EXPECT_GT(d.out.size(), 1000u);
  EXPECT_LT(d.out.size(), GoldenDump().size());
  EXPECT_TRUE(Snapshot(copy) == before) << "tsdb dump modified the data dir";
}

TEST(DumpChunksHeadTest, GeneratedDirWithBlocksChunksHeadAndWal) {
  TSDB_REQUIRE_PROMTOOL(promtool);
  Registry registry;
  ASSERT_TRUE(frontends::RegisterBuiltinPlugins(registry).ok());
  const std::string dir = ::testing::TempDir() + "/gen";
  auto made = testing::MakeTestDataDir(registry, dir + "/data");
  ASSERT_TRUE(made.ok()) << made.status();
  // Without its chunks_head the WAL misses samples (the generator writes
  // chunk-only samples): make sure the chunks matter.
  CopyDir(dir + "/data", dir + "/no_chunks_head");
  fs::remove_all(dir + "/no_chunks_head/chunks_head");
  const Dumped without = OurDump(dir + "/no_chunks_head");
  ASSERT_EQ(without.exit_code, 0) << without.err;

  CopyDir(dir + "/data", dir + "/promtool_copy");
  const auto before = Snapshot(dir + "/data");
  const Dumped d = OurDump(dir + "/data");
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_TRUE(Snapshot(dir + "/data") == before)
      << "tsdb dump modified the data dir";
  auto want = RunCommand({promtool, "tsdb", "dump", dir + "/promtool_copy"});
  ASSERT_TRUE(want.ok());
  ASSERT_EQ(want->exit_code, 0) << want->err;
  EXPECT_GT(want->out.size(), 10000u);
  EXPECT_TRUE(d.out == want->out) << "dump differs from promtool's";
  EXPECT_NE(d.out, without.out);
}

}  // namespace
}  // namespace tsdb::cli
