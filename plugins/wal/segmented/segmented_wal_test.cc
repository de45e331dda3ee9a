// Framing byte-identity with Prometheus 2.42's writer: page-tail rule,
// zero-length fragments, segment rollover arithmetic, snappy, reopen.
#include "plugins/wal/segmented/segmented_wal.h"

#include <snappy.h>

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "testing/mem_file_system.h"
#include "tsdb/base/coding.h"
#include "tsdb/base/crc32c.h"
#include "tsdb/wal/framing.h"
#include "tsdb/wal/reader.h"

namespace tsdb::plugins {
namespace {

using wal::kPageSize;

std::string Header(uint8_t type, std::string_view data) {
  std::string h(7, '\0');
  uint8_t* p = reinterpret_cast<uint8_t*>(h.data());
  p[0] = type;
  PutBE16(p + 1, static_cast<uint16_t>(data.size()));
  PutBE32(p + 3, crc32c::Value(data));
  return h;
}

std::string Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() | 1);
  return s;
}

class SegmentedWalTest : public ::testing::Test {
 protected:
  wal::WalOptions Options(wal::Compression c = wal::Compression::kNone,
                          uint64_t segment_size = wal::kDefaultSegmentSize) {
    wal::WalOptions o;
    o.fs = &fs_;
    o.dir = "/wal";
    o.compression = c;
    o.segment_size = segment_size;
    o.log = [this](std::string_view l) { log_.emplace_back(l); };
    return o;
  }
  std::string Seg(int i) {
    return *fs_.ReadFile("/wal/" + wal::SegmentName(i));
  }
  std::vector<std::string> ReadAll() {
    auto segs = wal::SegmentsInDir(&fs_, "/wal", 0, -1);
    EXPECT_TRUE(segs.ok());
    wal::Reader r(&fs_, *segs);
    std::vector<std::string> out;
    while (r.Next()) out.emplace_back(r.record());
    EXPECT_TRUE(r.status().ok()) << r.status();
    return out;
  }

  testing::MemFileSystem fs_;
  std::vector<std::string> log_;
};

TEST_F(SegmentedWalTest, FullFragmentBytesAndPaddingOnClose) {
  auto w = OpenSegmentedWal(Options());
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE((*w)->Log({"abc"}).ok());
  // Flushed per Log call, not padded.
  EXPECT_EQ(Seg(0), Header(wal::kFull, "abc") + "abc");
  ASSERT_TRUE((*w)->Log({"", "de"}).ok());
  EXPECT_EQ(Seg(0), Header(wal::kFull, "abc") + "abc" + Header(wal::kFull, "") +
                        Header(wal::kFull, "de") + "de");
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_EQ(Seg(0).size(), kPageSize);
  EXPECT_EQ(ReadAll(), (std::vector<std::string>{"abc", "", "de"}));
}

TEST_F(SegmentedWalTest, ZeroLengthFirstFragmentWhenExactlySevenBytesLeft) {
  auto w = OpenSegmentedWal(Options());
  ASSERT_TRUE(w.ok());
  const std::string r1 = Random(kPageSize - 14, 1);  // leaves exactly 7 bytes
  ASSERT_TRUE((*w)->Log({r1, "xyz"}).ok());
  const std::string want = Header(wal::kFull, r1) + r1 +
                           Header(wal::kFirst, "") + Header(wal::kLast, "xyz") +
                           "xyz";
  EXPECT_EQ(Seg(0), want);
  EXPECT_EQ(ReadAll(), (std::vector<std::string>{r1, "xyz"}));
}

TEST_F(SegmentedWalTest, PageTailUnderSevenBytesIsZeroFilled) {
  auto w = OpenSegmentedWal(Options());
  ASSERT_TRUE(w.ok());
  const std::string r1 = Random(kPageSize - 13, 2);  // leaves 6 bytes
  ASSERT_TRUE((*w)->Log({r1}).ok());
  ASSERT_TRUE((*w)->Log({"xyz"}).ok());
  const std::string want = Header(wal::kFull, r1) + r1 + std::string(6, '\0') +
                           Header(wal::kFull, "xyz") + "xyz";
  EXPECT_EQ(Seg(0), want);
  EXPECT_EQ(ReadAll(), (std::vector<std::string>{r1, "xyz"}));
}

TEST_F(SegmentedWalTest, MultiPageRecordFragments) {
  auto w = OpenSegmentedWal(Options());
  ASSERT_TRUE(w.ok());
  const std::string r = Random(2 * kPageSize + 100, 3);
  ASSERT_TRUE((*w)->Log({r}).ok());
  const size_t f = kPageSize - 7;
  const std::string want =
      Header(wal::kFirst, r.substr(0, f)) + r.substr(0, f) +
      Header(wal::kMiddle, r.substr(f, f)) + r.substr(f, f) +
      Header(wal::kLast, r.substr(2 * f)) + r.substr(2 * f);
  EXPECT_EQ(Seg(0), want);
  EXPECT_EQ(ReadAll(), std::vector<std::string>{r});
}

TEST_F(SegmentedWalTest, RecordThatDoesNotFitStartsNewSegment) {
  auto w = OpenSegmentedWal(Options(wal::Compression::kNone, 2 * kPageSize));
  ASSERT_TRUE(w.ok());
  const std::string r1 = Random(40000, 4);
  ASSERT_TRUE((*w)->Log({r1}).ok());
  // Page 1 holds 7 + (40000 - 32761) = 7246 bytes; free space is
  // 32768 - 7246 - 7 = 25515 bytes, and no further pages.
  const std::string fits = Random(25515, 5);
  ASSERT_TRUE((*w)->Log({fits}).ok());
  EXPECT_EQ(Seg(0).size(), 2 * kPageSize);
  EXPECT_FALSE(*fs_.Exists("/wal/00000001"));
  const std::string r3 = Random(10, 6);
  ASSERT_TRUE((*w)->Log({r3}).ok());  // page 1 is now full: new segment
  EXPECT_EQ(Seg(1), Header(wal::kFull, r3) + r3);

  auto w2 = OpenSegmentedWal(Options(wal::Compression::kNone, 2 * kPageSize));
  ASSERT_TRUE(w2.ok());
  // 25516 bytes do not fit in 7246 + ... of the same shape: new segment.
  const std::string a = Random(40000, 7), b = Random(25516, 8);
  ASSERT_TRUE((*w2)->Log({a, b}).ok());
  EXPECT_EQ(Seg(2).size(), 2 * kPageSize);  // a, padded
  EXPECT_EQ(Seg(3), Header(wal::kFull, b) + b);
  // A record larger than a whole segment still goes into one segment.
  const std::string huge = Random(3 * kPageSize, 9);
  ASSERT_TRUE((*w2)->Log({huge}).ok());
  EXPECT_GT(Seg(4).size(), 2 * kPageSize);
  (*w).reset();
  (*w2).reset();
  EXPECT_EQ(ReadAll(), (std::vector<std::string>{r1, fits, r3, a, b, huge}));
}

TEST_F(SegmentedWalTest, SnappyKeptOnlyWhenStrictlyShorter) {
  auto w = OpenSegmentedWal(Options(wal::Compression::kSnappy));
  ASSERT_TRUE(w.ok());
  const std::string compressible(1000, 'a');
  const std::string random = Random(100, 10);
  ASSERT_TRUE((*w)->Log({compressible, random}).ok());
  std::string c;
  snappy::Compress(compressible.data(), compressible.size(), &c);
  EXPECT_EQ(Seg(0), Header(wal::kFull | wal::kSnappyFlag, c) + c +
                        Header(wal::kFull, random) + random);
  EXPECT_EQ(ReadAll(), (std::vector<std::string>{compressible, random}));
}

TEST_F(SegmentedWalTest, OpenStartsNewSegmentAndReadsAcrossSegments) {
  for (int i = 0; i < 3; ++i) {
    auto w = OpenSegmentedWal(Options(wal::Compression::kSnappy));
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Log({"rec" + std::to_string(i)}).ok());
    auto r = (*w)->Segments();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->first, 0);
    EXPECT_EQ(r->last, i == 2 ? 3 : i);
    if (i == 1) {
      auto next = (*w)->NextSegment();
      ASSERT_TRUE(next.ok());
      EXPECT_EQ(*next, 2);
      ASSERT_TRUE((*w)->Log({"after-next"}).ok());
    }
  }
  EXPECT_EQ(ReadAll(),
            (std::vector<std::string>{"rec0", "rec1", "after-next", "rec2"}));
  EXPECT_FALSE(*fs_.Exists("/wal/00000004"));
}

TEST_F(SegmentedWalTest, RejectsBadSegmentSizeAndClosedUse) {
  EXPECT_EQ(
      OpenSegmentedWal(Options(wal::Compression::kNone, 1000)).status().code(),
      absl::StatusCode::kInvalidArgument);
  auto w = OpenSegmentedWal(Options());
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_EQ((*w)->Log({"x"}).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE((*w)->Close().ok());
}

TEST_F(SegmentedWalTest, RegistryOpensByName) {
  wal::WalRegistry registry;
  ASSERT_TRUE(RegisterSegmentedWal(registry).ok());
  auto w = registry.Open("segmented", Options());
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->dir(), "/wal");
}

}  // namespace
}  // namespace tsdb::plugins
