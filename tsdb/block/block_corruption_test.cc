// Flips bytes of every file of a small block: opening and reading it must
// end in a clear error naming the damaged file (or, for meta.json, which has
// no checksum, possibly a still-valid file), never a crash; ASan proves no
// out-of-bounds read.
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tsdb/block/block.h"
#include "tsdb/block/block_test_util.h"
#include "tsdb/block/block_writer.h"
#include "tsdb/io/file_system.h"

namespace tsdb::block {
namespace {

using testutil::Sample;
using testutil::TestSeries;

class BlockCorruptionTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    dir_ = testutil::TempDir(absl::StrCat("corrupt_", GetParam()));
    std::vector<TestSeries> series;
    for (int i = 0; i < 4; ++i) {
      TestSeries s;
      s.lset = labels::Labels::FromPairs(
          {{"__name__", "m"}, {"i", absl::StrCat(i)}});
      for (int k = 0; k < 30; ++k)
        s.samples.push_back({k * 1000LL, k * 1.5 + i});
      series.push_back(std::move(s));
    }
    VectorSeriesSource src(testutil::Encode(reg_, series, 10));
    tombstones::MemTombstones ts;
    ts.AddInterval(1, {5, 10});
    ts.AddInterval(2, {-3, 1000});
    BlockWriterOptions opts;
    opts.tombstones = &ts;
    auto meta = WriteBlock(io::PosixFileSystem(), dir_, src, opts);
    ASSERT_TRUE(meta.ok()) << meta.status();
    block_ = io::JoinPath(dir_, meta->ulid.ToString());
  }

  // Opens and reads the whole block; returns the first error.
  absl::Status OpenAndReadAll() {
    auto b = Block::Open(block_, reg_.readers, GetParam(), &reg_.codecs);
    if (!b.ok()) return b.status();
    absl::Status v = (*b)->index().Verify();
    if (!v.ok()) return v;
    return testutil::ReadAll(**b).status();
  }

  // Flips each byte of `file` in turn (XOR `mask`); returns how many flips
  // were reported, checking each error names the file.
  int FlipEachByte(const std::string& file, uint8_t mask) {
    const std::string path = io::JoinPath(block_, file);
    const std::string orig = io::PosixFileSystem()->ReadFile(path).value();
    int errors = 0;
    for (size_t i = 0; i < orig.size(); ++i) {
      std::string b = orig;
      b[i] = static_cast<char>(b[i] ^ mask);
      std::ofstream(path, std::ios::binary | std::ios::trunc) << b;
      absl::Status s = OpenAndReadAll();
      if (!s.ok()) {
        ++errors;
        EXPECT_TRUE(absl::StrContains(s.message(), path))
            << "byte " << i << ": " << s;
      }
    }
    std::ofstream(path, std::ios::binary | std::ios::trunc) << orig;
    EXPECT_TRUE(OpenAndReadAll().ok());
    return errors;
  }

  testutil::Registries reg_;
  std::string dir_;
  std::string block_;
};

TEST_P(BlockCorruptionTest, Index) {
  const size_t size =
      io::PosixFileSystem()->FileSize(block_ + "/index").value();
  EXPECT_EQ(FlipEachByte("index", 0x10), static_cast<int>(size));
}

TEST_P(BlockCorruptionTest, Chunks) {
  // Every byte after the header belongs to a record (length, encoding,
  // data, CRC) that ReadAll reads.
  const size_t size =
      io::PosixFileSystem()->FileSize(block_ + "/chunks/000001").value();
  const int errors = FlipEachByte("chunks/000001", 0x04);
  // Header bytes 5..7 are reserved zeros that readers ignore.
  EXPECT_GE(errors, static_cast<int>(size) - 3);
}

TEST_P(BlockCorruptionTest, Tombstones) {
  const size_t size =
      io::PosixFileSystem()->FileSize(block_ + "/tombstones").value();
  EXPECT_EQ(FlipEachByte("tombstones", 0x01), static_cast<int>(size));
}

TEST_P(BlockCorruptionTest, MetaJson) {
  // No checksum: a flipped digit can still be a valid meta.json; structure
  // damage must be reported.
  EXPECT_GT(FlipEachByte("meta.json", 0x20), 30);
}

TEST_P(BlockCorruptionTest, MissingFiles) {
  for (const char* f : {"index", "meta.json", "chunks/000001"}) {
    const std::string path = io::JoinPath(block_, f);
    const std::string orig = io::PosixFileSystem()->ReadFile(path).value();
    ASSERT_TRUE(io::PosixFileSystem()->RemoveFile(path).ok());
    absl::Status s = OpenAndReadAll();
    EXPECT_FALSE(s.ok()) << f;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << orig;
  }
  EXPECT_TRUE(OpenAndReadAll().ok());
}

INSTANTIATE_TEST_SUITE_P(Readers, BlockCorruptionTest,
                         ::testing::Values("mmap", "pread"));

}  // namespace
}  // namespace tsdb::block
