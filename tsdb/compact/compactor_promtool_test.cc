// The compacted block is accepted by the real promtool 2.42: `tsdb analyze`
// reads it, and `tsdb dump` prints exactly the expected samples. Skipped when
// promtool is missing unless TSDB_REQUIRE_PROMETHEUS=1.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "testing/prometheus/prometheus_binaries.h"
#include "tsdb/base/go_format.h"
#include "tsdb/compact/compact_test_util.h"
#include "tsdb/compact/compactor.h"
#include "tsdb/io/file_system.h"

namespace tsdb::compact {
namespace {

constexpr int64_t kH = 3600 * 1000;
constexpr int64_t kStart = 1675152000000;

TEST(CompactorPromtoolTest, AnalyzeAndDumpAcceptTheResult) {
  TSDB_REQUIRE_PROMTOOL(promtool);
  io::FileSystem* fs = io::PosixFileSystem();
  testutil::Env env;
  const std::string src_dir = testutil::TempDir("promtool_src");
  const std::string data_dir = testutil::TempDir("promtool_data");

  // Three adjacent 2h blocks plus one overlapping the middle one, 30 series
  // with fractional values; one tombstone in the first block.
  std::map<std::string, std::map<int64_t, double>> want;
  std::vector<std::unique_ptr<block::Block>> blocks;
  auto add_block = [&](int64_t mint, int64_t maxt, int64_t step, double base) {
    testutil::SeriesMap m;
    for (int i = 0; i < 30; ++i) {
      labels::Labels l = labels::Labels::FromPairs(
          {{"__name__", "m"}, {"job", "j"}, {"i", std::to_string(i)}});
      auto& s = m[l];
      for (int64_t t = mint; t < maxt; t += step) {
        const double v = base + i * 0.1 + static_cast<double>(t - kStart) / 7e3;
        s.push_back({t, v});
        // Earlier blocks win on equal timestamps (emplace keeps the first).
        want[l.ToString()].emplace(t, v);
      }
    }
    auto meta = testutil::WriteTestBlock(env, src_dir, m, {mint, maxt, 1, 120});
    ASSERT_TRUE(meta.ok()) << meta.status();
    const std::string bdir = io::JoinPath(src_dir, meta->ulid.ToString());
    if (blocks.empty()) {
      // Delete 20 minutes of series i=3 in the first block.
      labels::Labels l = labels::Labels::FromPairs(
          {{"__name__", "m"}, {"job", "j"}, {"i", "3"}});
      const int64_t lo = kStart + 10 * 60000, hi = kStart + 30 * 60000;
      ASSERT_TRUE(testutil::AddTombstone(env, bdir, l, lo, hi).ok());
      auto& w = want[l.ToString()];
      w.erase(w.lower_bound(lo), w.upper_bound(hi));
    }
    auto b = testutil::OpenBlock(env, bdir);
    ASSERT_TRUE(b.ok()) << b.status();
    blocks.push_back(*std::move(b));
  };
  for (int i = 0; i < 3; ++i) {
    add_block(kStart + i * 2 * kH, kStart + (i + 1) * 2 * kH, 15000, 0);
  }
  add_block(kStart + 3 * kH, kStart + 4 * kH, 10000, 1e6);
  std::vector<const block::Block*> parents;
  for (const auto& b : blocks) parents.push_back(b.get());

  auto r = Compact(fs, data_dir, parents, env.codecs, CompactOptions{});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->meta.has_value());
  // Both paths ran: copied chunks (adjacent, untouched) and re-encoded
  // ones (the overlap, the tombstone).
  EXPECT_GT(r->chunks_copied, 0u);
  EXPECT_GT(r->chunks_reencoded, 0u);
  // promtool's read-only DB needs a wal/ dir.
  ASSERT_TRUE(fs->CreateDirs(io::JoinPath(data_dir, "wal")).ok());
  const std::string ulid = r->meta->ulid.ToString();

  auto analyze =
      testing::RunCommand({promtool, "tsdb", "analyze", data_dir, ulid});
  ASSERT_TRUE(analyze.ok()) << analyze.status();
  ASSERT_EQ(analyze->exit_code, 0) << analyze->out << analyze->err;
  EXPECT_TRUE(absl::StrContains(analyze->out, "Block ID: " + ulid))
      << analyze->out;
  EXPECT_TRUE(absl::StrContains(analyze->out, "Series: 30")) << analyze->out;

  auto dump = testing::RunCommand({promtool, "tsdb", "dump", data_dir});
  ASSERT_TRUE(dump.ok()) << dump.status();
  ASSERT_EQ(dump->exit_code, 0) << dump->err;
  std::vector<std::string> got =
      absl::StrSplit(dump->out, '\n', absl::SkipEmpty());
  std::vector<std::string> expected;
  for (const auto& [l, samples] : want) {
    for (const auto& [t, v] : samples) {
      expected.push_back(absl::StrCat(l, " ", FormatGoFloat(v), " ", t));
    }
  }
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_EQ(r->meta->stats.num_samples, expected.size());
  std::sort(got.begin(), got.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_TRUE(got == expected);
  for (size_t i = 0; i < std::min(got.size(), expected.size()); ++i) {
    if (got[i] != expected[i]) {
      ADD_FAILURE() << "first difference: got " << got[i] << " want "
                    << expected[i];
      break;
    }
  }
}

}  // namespace
}  // namespace tsdb::compact
