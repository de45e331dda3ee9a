#include "plugins/wal/segmented/go_snappy.h"

#include <snappy.h>

#include <random>
#include <string>

#include "gtest/gtest.h"

namespace tsdb::plugins {
namespace {

std::string Input(size_t n, int kind, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    switch (kind) {
      case 0:  // random
        s[i] = static_cast<char>(rng());
        break;
      case 1:  // runs
        s[i] = static_cast<char>('a' + (i / 100) % 3);
        break;
      default:  // WAL-like: repeated structure with small changes
        s[i] =
            static_cast<char>(i % 17 == 0 ? rng() % 4 : "labelvalue"[i % 10]);
    }
  }
  return s;
}

TEST(GoSnappyTest, RoundTripsThroughSnappy) {
  for (size_t n : {0, 1, 16, 17, 18, 100, 4096, 65535, 65536, 65537, 200000}) {
    for (int kind = 0; kind < 3; ++kind) {
      const std::string in = Input(n, kind, static_cast<uint32_t>(n));
      std::string enc, dec;
      GoSnappyEncode(in, &enc);
      ASSERT_TRUE(snappy::Uncompress(enc.data(), enc.size(), &dec))
          << n << " " << kind;
      ASSERT_EQ(dec, in) << n << " " << kind;
      EXPECT_LE(enc.size(), snappy::MaxCompressedLength(n));
    }
  }
}

TEST(GoSnappyTest, KnownEncodings) {
  std::string enc;
  GoSnappyEncode("", &enc);
  EXPECT_EQ(enc, std::string(1, '\0'));
  GoSnappyEncode("abc", &enc);  // < 17 bytes: one literal
  EXPECT_EQ(enc, std::string("\x03\x08"
                             "abc",
                             5));
  // 100 x 'a': literal "a", then copies at offset 1 (length 64 + 35 split
  // as golang/snappy does: copy2 of 64, then copy2 of 35).
  GoSnappyEncode(std::string(100, 'a'), &enc);
  EXPECT_EQ(enc, std::string("\x64\x00"
                             "a"
                             "\xfe\x01\x00"
                             "\x8a\x01\x00",
                             9));
}

}  // namespace
}  // namespace tsdb::plugins
