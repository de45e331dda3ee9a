// The reader on hand-built segments: every corruption reason, with the
// segment, offset and truncation point it reports.
#include "tsdb/wal/reader.h"

#include <snappy.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "testing/mem_file_system.h"
#include "tsdb/base/coding.h"
#include "tsdb/base/crc32c.h"
#include "tsdb/wal/framing.h"

namespace tsdb::wal {
namespace {

std::string Frag(uint8_t type, std::string_view data) {
  std::string h(7, '\0');
  uint8_t* p = reinterpret_cast<uint8_t*>(h.data());
  p[0] = type;
  PutBE16(p + 1, static_cast<uint16_t>(data.size()));
  PutBE32(p + 3, crc32c::Value(data));
  return h + std::string(data);
}

class ReaderTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs_.CreateDirs("/w").ok()); }
  void Write(int seg, const std::string& bytes) {
    ASSERT_TRUE(fs_.WriteFileContents("/w/" + SegmentName(seg), bytes).ok());
  }
  // Reads everything; returns the records, leaves the reader's end state.
  std::vector<std::string> Read() {
    auto segs = SegmentsInDir(&fs_, "/w", 0, -1);
    EXPECT_TRUE(segs.ok());
    reader_ = std::make_unique<Reader>(&fs_, *segs);
    std::vector<std::string> out;
    while (reader_->Next()) out.emplace_back(reader_->record());
    return out;
  }
  void ExpectCorruption(int seg, uint64_t offset, uint64_t good_end,
                        const std::string& reason) {
    ASSERT_EQ(reader_->status().code(), absl::StatusCode::kDataLoss)
        << reader_->status();
    ASSERT_TRUE(reader_->corruption().has_value());
    EXPECT_EQ(reader_->corruption()->segment, seg);
    EXPECT_EQ(reader_->corruption()->offset, offset);
    EXPECT_EQ(reader_->corruption()->good_end, good_end);
    EXPECT_NE(reader_->corruption()->reason.find(reason), std::string::npos)
        << reader_->corruption()->reason;
  }

  testing::MemFileSystem fs_;
  std::unique_ptr<Reader> reader_;
};

TEST_F(ReaderTest, RecordsAcrossSegmentsPaddingAndSnappy) {
  std::string c;
  const std::string big(5000, 'z');
  snappy::Compress(big.data(), big.size(), &c);
  std::string seg0 = Frag(kFull, "a") + Frag(kFirst, "b") + Frag(kMiddle, "") +
                     Frag(kLast, "c");
  seg0.resize(kPageSize, '\0');  // padded page
  seg0 += Frag(kFull | kSnappyFlag, c);
  Write(0, seg0);
  Write(1, Frag(kFull, "d"));
  Write(2, "");  // an empty segment (opened, nothing logged)
  EXPECT_EQ(Read(), (std::vector<std::string>{"a", "bc", big, "d"}));
  EXPECT_TRUE(reader_->status().ok());
  EXPECT_EQ(reader_->segment(), 1);
  EXPECT_EQ(reader_->offset(), 0u);
}

TEST_F(ReaderTest, ChecksumMismatch) {
  std::string s = Frag(kFull, "abc") + Frag(kFull, "defg");
  s[7 + 3 + 7 + 1] ^= 1;
  Write(0, s);
  EXPECT_EQ(Read(), std::vector<std::string>{"abc"});
  ExpectCorruption(0, 10, 10, "unexpected checksum");
}

TEST_F(ReaderTest, NonZeroPadding) {
  std::string s = Frag(kFull, "abc");
  s.resize(100, '\0');
  s[50] = 1;
  Write(0, s);
  EXPECT_EQ(Read(), std::vector<std::string>{"abc"});
  ExpectCorruption(0, 10, 10, "non-zero byte in padded page");
}

TEST_F(ReaderTest, BadTypeAndSequences) {
  Write(0, Frag(kFull, "x") + Frag(5, "y"));
  Read();
  ExpectCorruption(0, 8, 8, "unexpected record type 5");
  Write(0, Frag(kFull, "x") + Frag(kMiddle, "y"));
  Read();
  ExpectCorruption(0, 8, 8, "unexpected middle record");
  Write(0, Frag(kFull, "x") + Frag(kLast, "y"));
  Read();
  ExpectCorruption(0, 8, 8, "unexpected last record");
  Write(0, Frag(kFull, "x") + Frag(kFirst, "y") + Frag(kFull, "z"));
  Read();
  ExpectCorruption(0, 16, 8, "unexpected full record");
  Write(0, Frag(kFull, "x") + Frag(kFirst, "y") + Frag(kFirst, "z"));
  Read();
  ExpectCorruption(0, 16, 8, "unexpected first record");
  Write(0, Frag(kFirst, "y") + Frag(kLast | kSnappyFlag, "z"));
  Read();
  ExpectCorruption(0, 8, 0, "compression flag changes");
}

TEST_F(ReaderTest, TornTails) {
  const std::string good = Frag(kFull, "abc");
  Write(0, good + Frag(kFull, "defg").substr(0, 5));
  Read();
  ExpectCorruption(0, 10, 10, "torn fragment header");
  Write(0, good + Frag(kFull, "defg").substr(0, 9));
  Read();
  ExpectCorruption(0, 10, 10, "torn fragment");
  Write(0, good + Frag(kFirst, "de"));
  Read();
  ExpectCorruption(0, 10, 10, "last record is torn");
  // A record may not continue into the next segment.
  Write(1, Frag(kLast, "f"));
  Read();
  ExpectCorruption(0, 10, 10, "last record is torn");
}

TEST_F(ReaderTest, BadSnappyAndOversizedFragment) {
  Write(0, Frag(kFull, "ok") + Frag(kFull | kSnappyFlag, "\xff\xff\xff"));
  EXPECT_EQ(Read(), std::vector<std::string>{"ok"});
  ExpectCorruption(0, 9, 9, "invalid snappy data");
  // A header claiming more than the page holds, in a full page.
  std::string s = Frag(kFull, "ok");
  std::string h(7, '\0');
  uint8_t* p = reinterpret_cast<uint8_t*>(h.data());
  p[0] = kFull;
  PutBE16(p + 1, 40000);
  s += h;
  s.resize(2 * kPageSize, 'q');
  Write(0, s);
  Read();
  ExpectCorruption(0, 9, 9, "invalid fragment size 40000");
}

TEST_F(ReaderTest, ListingRules) {
  Write(0, "");
  Write(1, "");
  Write(3, "");
  auto segs = ListSegments(&fs_, "/w");
  EXPECT_EQ(segs.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(segs.status().message().find("not sequential"), std::string::npos);
  ASSERT_TRUE(fs_.RemoveFile("/w/00000003").ok());
  ASSERT_TRUE(fs_.CreateDirs("/w/checkpoint.00000004").ok());
  ASSERT_TRUE(fs_.CreateDirs("/w/checkpoint.00000007.tmp").ok());
  ASSERT_TRUE(fs_.CreateDirs("/w/checkpoint.00000002").ok());
  ASSERT_TRUE(fs_.WriteFileContents("/w/notes.txt", "x").ok());
  EXPECT_EQ(*ListSegments(&fs_, "/w"), (std::vector<int>{0, 1}));
  EXPECT_EQ(*LastCheckpoint(&fs_, "/w"), 4);
  EXPECT_EQ(*ListCheckpoints(&fs_, "/w"), (std::vector<int>{2, 4}));
  EXPECT_EQ(*LastCheckpoint(&fs_, "/missing"), -1);
  EXPECT_EQ(SegmentName(12), "00000012");
  EXPECT_EQ(CheckpointName(12), "checkpoint.00000012");
}

}  // namespace
}  // namespace tsdb::wal
