#include "tsdb/base/coding.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tsdb {
namespace {

std::string Hex(const std::string& s) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// Encodings produced by Go's binary.PutUvarint / PutVarint.
TEST(CodingTest, GoUvarintVectors) {
  const std::vector<std::pair<uint64_t, std::string>> cases = {
      {0, "00"},
      {1, "01"},
      {127, "7f"},
      {128, "8001"},
      {300, "ac02"},
      {16384, "808001"},
      {std::numeric_limits<uint64_t>::max(), "ffffffffffffffffff01"},
  };
  for (const auto& [v, hex] : cases) {
    std::string s;
    AppendUvarint(&s, v);
    EXPECT_EQ(Hex(s), hex) << v;
    EXPECT_EQ(static_cast<int>(s.size()), UvarintLen(v));
    uint64_t got = 0;
    EXPECT_EQ(DecodeUvarint(reinterpret_cast<const uint8_t*>(s.data()),
                            s.size(), &got),
              static_cast<int>(s.size()));
    EXPECT_EQ(got, v);
  }
}

TEST(CodingTest, GoVarintVectors) {
  const std::vector<std::pair<int64_t, std::string>> cases = {
      {0, "00"},
      {-1, "01"},
      {1, "02"},
      {-64, "7f"},
      {64, "8001"},
      {std::numeric_limits<int64_t>::max(), "feffffffffffffffff01"},
      {std::numeric_limits<int64_t>::min(), "ffffffffffffffffff01"},
  };
  for (const auto& [v, hex] : cases) {
    std::string s;
    AppendVarint(&s, v);
    EXPECT_EQ(Hex(s), hex) << v;
    int64_t got = 0;
    EXPECT_EQ(DecodeVarint(reinterpret_cast<const uint8_t*>(s.data()), s.size(),
                           &got),
              static_cast<int>(s.size()));
    EXPECT_EQ(got, v);
  }
}

TEST(CodingTest, UvarintRejectsTruncatedAndOverflowing) {
  uint64_t v = 0;
  const uint8_t truncated[] = {0x80, 0x80};
  EXPECT_EQ(DecodeUvarint(truncated, sizeof(truncated), &v), 0);
  EXPECT_EQ(DecodeUvarint(truncated, 0, &v), 0);
  // Ten bytes whose last contributes more than the top bit: overflow.
  const uint8_t overflow[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                              0xff, 0xff, 0xff, 0xff, 0x02};
  EXPECT_EQ(DecodeUvarint(overflow, sizeof(overflow), &v), 0);
  // Eleven continuation bytes never terminate within 10.
  const uint8_t too_long[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                              0x80, 0x80, 0x80, 0x80, 0x00};
  EXPECT_EQ(DecodeUvarint(too_long, sizeof(too_long), &v), 0);
}

TEST(CodingTest, BigEndianRoundTrip) {
  std::string s;
  AppendBE16(&s, 0x0102);
  AppendBE32(&s, 0x03040506);
  AppendBE64(&s, 0x0708090a0b0c0d0eULL);
  EXPECT_EQ(Hex(s), "0102030405060708090a0b0c0d0e");
  Decbuf d(s);
  EXPECT_EQ(d.BE16(), 0x0102);
  EXPECT_EQ(d.BE32(), 0x03040506u);
  EXPECT_EQ(d.BE64(), 0x0708090a0b0c0d0eULL);
  EXPECT_EQ(d.Remaining(), 0u);
  EXPECT_TRUE(d.ok());
}

TEST(CodingTest, DecbufStickyErrorNamesOffset) {
  std::string s;
  AppendUvarintStr(&s, "hello");
  AppendBE16(&s, 7);
  Decbuf d(s);
  EXPECT_EQ(d.UvarintStr(), "hello");
  EXPECT_EQ(d.BE32(), 0u);  // only 2 bytes left
  EXPECT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("offset 6"), std::string::npos)
      << d.status();
  // Sticky: later reads fail too, even ones that would fit.
  EXPECT_EQ(d.Byte(), 0);
  EXPECT_FALSE(d.ok());
}

TEST(CodingTest, DecbufStringLongerThanBuffer) {
  std::string s;
  AppendUvarint(&s, 1000);
  s += "abc";
  Decbuf d(s);
  EXPECT_EQ(d.UvarintStr(), "");
  EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace tsdb
