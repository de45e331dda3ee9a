#include "tsdb/tombstones/tombstones.h"

#include <cstdlib>
#include <limits>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tsdb/base/crc32c.h"
#include "tsdb/io/file_system.h"

namespace tsdb::tombstones {
namespace {

std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = io::JoinPath(base ? base : "/tmp", name);
  (void)io::PosixFileSystem()->RemoveAll(dir);
  EXPECT_TRUE(io::PosixFileSystem()->CreateDirs(dir).ok());
  return dir;
}

TEST(IntervalsTest, AddMergesOverlappingAndAdjacent) {
  Intervals in;
  AddInterval(&in, {10, 20});
  AddInterval(&in, {30, 40});
  EXPECT_EQ(in, (Intervals{{10, 20}, {30, 40}}));
  AddInterval(&in, {0, 5});
  EXPECT_EQ(in, (Intervals{{0, 5}, {10, 20}, {30, 40}}));
  AddInterval(&in, {21, 22});  // touches [10,20]
  EXPECT_EQ(in, (Intervals{{0, 5}, {10, 22}, {30, 40}}));
  AddInterval(&in, {50, 60});
  AddInterval(&in, {15, 35});
  EXPECT_EQ(in, (Intervals{{0, 5}, {10, 40}, {50, 60}}));
  AddInterval(&in, {std::numeric_limits<int64_t>::min(), 7});
  EXPECT_EQ(in,
            (Intervals{
                {std::numeric_limits<int64_t>::min(), 7}, {10, 40}, {50, 60}}));
  AddInterval(&in, {45, std::numeric_limits<int64_t>::max()});
  EXPECT_EQ(in, (Intervals{{std::numeric_limits<int64_t>::min(), 7},
                           {10, 40},
                           {45, std::numeric_limits<int64_t>::max()}}));
  EXPECT_TRUE(IsDeleted(in, 7));
  EXPECT_FALSE(IsDeleted(in, 8));
  EXPECT_TRUE(IsDeleted(in, 10));
  EXPECT_FALSE(IsDeleted(in, 44));
  EXPECT_TRUE(IsDeleted(in, 1000));
}

TEST(TombstonesTest, EmptyFileIsNineBytes) {
  MemTombstones ts;
  EXPECT_EQ(Encode(ts), std::string("\x01\x30\xBA\x30\x01\0\0\0\0", 9));
  auto back = Decode("x", Encode(ts));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ((*back)->NumTombstones(), 0u);
}

TEST(TombstonesTest, RoundTripThroughFile) {
  const std::string dir = TempDir("rt");
  MemTombstones ts;
  ts.AddInterval(5, {-100, 200});
  ts.AddInterval(5, {1000, 2000});
  ts.AddInterval(1, {std::numeric_limits<int64_t>::min(),
                     std::numeric_limits<int64_t>::max()});
  ts.AddInterval(123456789, {7, 7});
  EXPECT_EQ(ts.NumTombstones(), 4u);
  EXPECT_EQ(ts.NumSeries(), 3u);
  auto size = WriteFile(io::PosixFileSystem(), dir, ts);
  ASSERT_TRUE(size.ok()) << size.status();
  uint64_t got_size = 0;
  auto back = ReadFile(io::PosixFileSystem(), dir, &got_size);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(got_size, *size);
  EXPECT_EQ((*back)->Get(5), (Intervals{{-100, 200}, {1000, 2000}}));
  EXPECT_EQ((*back)->Get(123456789), (Intervals{{7, 7}}));
  EXPECT_EQ((*back)->Get(2), Intervals{});
  EXPECT_EQ(Encode(**back), Encode(ts));
  EXPECT_FALSE(io::PosixFileSystem()->Exists(dir + "/tombstones.tmp").value());
}

TEST(TombstonesTest, MissingFileIsEmpty) {
  uint64_t size = 1;
  auto ts = ReadFile(io::PosixFileSystem(), TempDir("missing"), &size);
  ASSERT_TRUE(ts.ok());
  EXPECT_EQ(size, 0u);
  EXPECT_EQ((*ts)->NumSeries(), 0u);
}

TEST(TombstonesTest, ReadsEntriesInAnyOrder) {
  // Prometheus writes in map order: ref 9 before ref 2, duplicates merge.
  std::string b("\x01\x30\xBA\x30\x01", 5);
  std::string e;
  e += "\x09\x02\x04";                  // ref 9, [1, 2]
  e += std::string("\x02\x00\x14", 3);  // ref 2, [0, 10]
  e += "\x09\x06\x08";                  // ref 9, [3, 4] merges with [1, 2]
  b += e;
  const uint32_t crc = crc32c::Value(e);
  b.push_back(char(crc >> 24));
  b.push_back(char(crc >> 16));
  b.push_back(char(crc >> 8));
  b.push_back(char(crc));
  auto ts = Decode("t", b);
  ASSERT_TRUE(ts.ok()) << ts.status();
  EXPECT_EQ((*ts)->Get(9), (Intervals{{1, 4}}));
  EXPECT_EQ((*ts)->Get(2), (Intervals{{0, 10}}));
}

TEST(TombstonesTest, TruncateAndDelete) {
  MemTombstones ts;
  ts.AddInterval(1, {0, 10});
  ts.AddInterval(1, {20, 30});
  ts.AddInterval(2, {0, 5});
  ts.TruncateBefore(8);
  EXPECT_EQ(ts.Get(1), (Intervals{{8, 10}, {20, 30}}));
  EXPECT_EQ(ts.Get(2), Intervals{});
  ts.DeleteTombstones({1});
  EXPECT_EQ(ts.NumSeries(), 0u);
}

TEST(TombstonesTest, EveryFlippedByteGivesCleanErrorOrValidData) {
  MemTombstones ts;
  for (uint64_t r = 1; r < 6; ++r) {
    ts.AddInterval(r * 1000, {static_cast<int64_t>(r) * -7, 1 << 20});
  }
  const std::string orig = Encode(ts);
  for (size_t i = 0; i < orig.size(); ++i) {
    for (uint8_t flip : {0x01, 0x80, 0xFF}) {
      std::string b = orig;
      b[i] = static_cast<char>(b[i] ^ flip);
      auto got = Decode("/d/tombstones", b);
      ASSERT_FALSE(got.ok()) << "byte " << i;
      EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
      EXPECT_TRUE(absl::StartsWith(got.status().message(),
                                   "tombstones /d/tombstones offset "))
          << got.status();
    }
  }
  for (size_t n = 0; n < orig.size(); ++n) {
    EXPECT_FALSE(Decode("t", orig.substr(0, n)).ok()) << n;
  }
}

}  // namespace
}  // namespace tsdb::tombstones
