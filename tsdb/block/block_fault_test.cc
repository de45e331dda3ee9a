// WriteBlock under injected I/O faults (testing/fault_file_system.h):
//  - a failed write at any point leaves neither the block nor its tmp dir;
//  - once WriteBlock returns, a simulated power loss (dropping everything
//    not fsynced) keeps the whole block readable.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/fault_file_system.h"
#include "tsdb/block/block.h"
#include "tsdb/block/block_test_util.h"
#include "tsdb/block/block_writer.h"
#include "tsdb/io/file_system.h"

namespace tsdb::block {
namespace {

using testutil::TestSeries;

std::vector<SeriesChunks> Data(const testutil::Registries& reg) {
  std::vector<TestSeries> series;
  for (int i = 0; i < 20; ++i) {
    TestSeries s;
    s.lset =
        labels::Labels::FromPairs({{"__name__", "m"}, {"i", absl::StrCat(i)}});
    for (int k = 0; k < 300; ++k)
      s.samples.push_back({k * 15000LL, k + i * 0.5});
    series.push_back(std::move(s));
  }
  return testutil::Encode(reg, series);
}

TEST(BlockFaultTest, FailedWriteLeavesNothing) {
  testutil::Registries reg;
  bool succeeded = false;
  for (int n = 1; n < 200 && !succeeded; ++n) {
    const std::string dir = testutil::TempDir("fault_write");
    testing::FaultFileSystem fs(io::PosixFileSystem());
    fs.FailWrite(n, /*all_after=*/false);
    VectorSeriesSource src(Data(reg));
    BlockWriterOptions opts;
    opts.segment_size = 2048;  // several segment files, several writes
    auto meta = WriteBlock(&fs, dir, src, opts);
    const std::vector<std::string> left =
        io::PosixFileSystem()->ListDir(dir).value();
    if (meta.ok()) {
      succeeded = true;
      EXPECT_EQ(left, std::vector<std::string>{meta->ulid.ToString()});
      EXPECT_GT(n, 3);
    } else {
      EXPECT_TRUE(left.empty()) << "n=" << n << ": " << left[0];
    }
  }
  EXPECT_TRUE(succeeded);
}

TEST(BlockFaultTest, WrittenBlockSurvivesPowerLoss) {
  testutil::Registries reg;
  const std::string dir = testutil::TempDir("fault_power");
  testing::FaultFileSystem fs(io::PosixFileSystem());
  VectorSeriesSource src(Data(reg));
  BlockWriterOptions opts;
  opts.segment_size = 2048;
  auto meta = WriteBlock(&fs, dir, src, opts);
  ASSERT_TRUE(meta.ok()) << meta.status();
  ASSERT_TRUE(fs.DropUnsyncedData().ok());
  auto b = Block::Open(io::JoinPath(dir, meta->ulid.ToString()), reg.readers,
                       "mmap", &reg.codecs);
  ASSERT_TRUE(b.ok()) << b.status();
  auto all = testutil::ReadAll(**b);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 20u);
  for (const auto& [k, v] : *all) EXPECT_EQ(v.size(), 300u) << k;
}

}  // namespace
}  // namespace tsdb::block
