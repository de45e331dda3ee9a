#include "tsdb/block/ulid.h"

#include "gtest/gtest.h"

namespace tsdb::block {
namespace {

TEST(UlidTest, KnownEncodings) {
  EXPECT_EQ(Ulid().ToString(), "00000000000000000000000000");
  std::array<uint8_t, 16> ff;
  ff.fill(0xFF);
  EXPECT_EQ(Ulid::FromBytes(ff).ToString(), "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
  // oklog/ulid's documented example: time 1469918176385 = 01ARYZ6S41.
  const Ulid u = Ulid::New(1469918176385);
  EXPECT_EQ(u.ToString().substr(0, 10), "01ARYZ6S41");
  EXPECT_EQ(u.Time(), 1469918176385u);
}

TEST(UlidTest, ParseRoundTrip) {
  for (int i = 0; i < 100; ++i) {
    const Ulid u = Ulid::Now();
    const std::string s = u.ToString();
    ASSERT_EQ(s.size(), 26u);
    EXPECT_EQ(Ulid::Parse(s).value(), u);
  }
  const Ulid u = Ulid::Parse("01gr3z9s7kx0y8qf3b6d2v5n4m").value();
  EXPECT_EQ(u.ToString(), "01GR3Z9S7KX0Y8QF3B6D2V5N4M");
  EXPECT_FALSE(Ulid::Parse("01GR3Z9S7KX0Y8QF3B6D2V5N4").ok());
  EXPECT_FALSE(Ulid::Parse("01GR3Z9S7KX0Y8QF3B6D2V5N4U").ok());  // no U
  EXPECT_FALSE(Ulid::Parse("81GR3Z9S7KX0Y8QF3B6D2V5N4M").ok());  // > 2^128
}

TEST(UlidTest, OrdersByTime) {
  EXPECT_LT(Ulid::New(1000), Ulid::New(1001));
  EXPECT_LT(Ulid::New(1000).ToString(), Ulid::New(1001).ToString());
}

}  // namespace
}  // namespace tsdb::block
