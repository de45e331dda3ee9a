// A compaction that fails at any write leaves no block directory, only (at
// most) a tmp dir that CleanupTmpDirs removes; the parents are untouched.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "testing/fault_file_system.h"
#include "tsdb/compact/compact_test_util.h"
#include "tsdb/compact/compactor.h"
#include "tsdb/io/file_system.h"

namespace tsdb::compact {
namespace {

constexpr int64_t kH = 3600 * 1000;
constexpr int64_t kStart = 1675152000000;

TEST(CompactorFaultTest, FailedWriteAtEveryPointLeavesNoBlock) {
  testutil::Env env;
  io::FileSystem* posix = io::PosixFileSystem();
  const std::string dir = testutil::TempDir("fault");
  std::vector<std::unique_ptr<block::Block>> blocks;
  std::vector<const block::Block*> parents;
  std::vector<std::string> parent_names;
  testutil::SeriesMap all;
  for (int b = 0; b < 3; ++b) {
    testutil::SeriesMap m;
    for (int i = 0; i < 3; ++i) {
      auto& s = m[labels::Labels::FromPairs(
          {{"__name__", "m"}, {"i", std::to_string(i)}})];
      for (int64_t t = kStart + b * 2 * kH; t < kStart + (b + 1) * 2 * kH;
           t += 60000) {
        s.push_back({t, static_cast<double>(t % 1000 + i)});
      }
    }
    auto meta = testutil::WriteTestBlock(
        env, dir, m, {kStart + b * 2 * kH, kStart + (b + 1) * 2 * kH, 1, 120});
    ASSERT_TRUE(meta.ok()) << meta.status();
    parent_names.push_back(meta->ulid.ToString());
    auto opened =
        testutil::OpenBlock(env, io::JoinPath(dir, meta->ulid.ToString()));
    ASSERT_TRUE(opened.ok());
    parents.push_back(opened->get());
    blocks.push_back(*std::move(opened));
  }
  std::sort(parent_names.begin(), parent_names.end());

  int failures = 0;
  for (int n = 1; n < 500; ++n) {
    testing::FaultFileSystem fs(posix);
    fs.FailWrite(n, /*all_after=*/true);
    auto r = Compact(&fs, dir, parents, env.codecs, CompactOptions{});
    if (r.ok()) {
      ASSERT_TRUE(r->meta.has_value());
      EXPECT_GT(failures, 3);  // several write points were exercised
      auto out =
          testutil::OpenBlock(env, io::JoinPath(dir, r->meta->ulid.ToString()));
      ASSERT_TRUE(out.ok()) << out.status();
      auto got = testutil::ReadSamples(**out);
      ASSERT_TRUE(got.ok());
      EXPECT_EQ(got->size(), 3u);
      return;
    }
    ++failures;
    // No new block: only the parents and possibly a tmp dir.
    auto names = posix->ListDir(dir);
    ASSERT_TRUE(names.ok());
    for (const std::string& name : *names) {
      const bool parent = std::find(parent_names.begin(), parent_names.end(),
                                    name) != parent_names.end();
      EXPECT_TRUE(parent || absl::StrContains(name, ".tmp"))
          << "n=" << n << " left " << name;
    }
    auto removed = CleanupTmpDirs(posix, dir);
    ASSERT_TRUE(removed.ok()) << removed.status();
    names = posix->ListDir(dir);
    ASSERT_TRUE(names.ok());
    EXPECT_EQ(*names, parent_names) << "n=" << n;
  }
  FAIL() << "compaction never succeeded";
}

}  // namespace
}  // namespace tsdb::compact
