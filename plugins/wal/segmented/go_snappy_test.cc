#include "plugins/wal/segmented/go_snappy.h"

#include <snappy.h>

#include <cstdint>
#include <cstring>
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

// The encoder as first written (appending to the string byte by byte),
// kept to check that writing through a pointer changed no output byte.
namespace reference {
constexpr uint8_t kTagLiteral = 0x00;
constexpr uint8_t kTagCopy1 = 0x01;
constexpr uint8_t kTagCopy2 = 0x02;
constexpr size_t kMaxBlockSize = 65536;
constexpr int kInputMargin = 16 - 1;
constexpr size_t kMinNonLiteralBlockSize = 1 + 1 + kInputMargin;

uint32_t Load32(const uint8_t* b, int i) {
  uint32_t v;
  std::memcpy(&v, b + i, 4);  // little-endian hosts (x86-64, arm64)
  return v;
}
uint64_t Load64(const uint8_t* b, int i) {
  uint64_t v;
  std::memcpy(&v, b + i, 8);
  return v;
}
uint32_t Hash(uint32_t u, uint32_t shift) { return (u * 0x1e35a7bdu) >> shift; }

void EmitLiteral(std::string* dst, const uint8_t* lit, size_t len) {
  const size_t n = len - 1;
  if (n < 60) {
    dst->push_back(
        static_cast<char>(static_cast<uint8_t>(n) << 2 | kTagLiteral));
  } else if (n < (1 << 8)) {
    dst->push_back(static_cast<char>(60 << 2 | kTagLiteral));
    dst->push_back(static_cast<char>(n));
  } else {
    dst->push_back(static_cast<char>(61 << 2 | kTagLiteral));
    dst->push_back(static_cast<char>(n));
    dst->push_back(static_cast<char>(n >> 8));
  }
  dst->append(reinterpret_cast<const char*>(lit), len);
}

void EmitCopy(std::string* dst, int offset, int length) {
  auto copy2 = [&](int len) {
    dst->push_back(
        static_cast<char>(static_cast<uint8_t>(len - 1) << 2 | kTagCopy2));
    dst->push_back(static_cast<char>(offset));
    dst->push_back(static_cast<char>(offset >> 8));
  };
  while (length >= 68) {
    copy2(64);
    length -= 64;
  }
  if (length > 64) {
    copy2(60);
    length -= 60;
  }
  if (length >= 12 || offset >= 2048) {
    copy2(length);
    return;
  }
  dst->push_back(static_cast<char>(static_cast<uint8_t>(offset >> 8) << 5 |
                                   static_cast<uint8_t>(length - 4) << 2 |
                                   kTagCopy1));
  dst->push_back(static_cast<char>(offset));
}

void EncodeBlock(std::string* dst, const uint8_t* src, int len) {
  constexpr int kMaxTableSize = 1 << 14;
  constexpr uint32_t kTableMask = kMaxTableSize - 1;
  uint32_t shift = 32 - 8;
  for (int size = 1 << 8; size < kMaxTableSize && size < len; size *= 2) {
    --shift;
  }
  uint16_t table[kMaxTableSize] = {};
  const int s_limit = len - kInputMargin;
  int next_emit = 0;
  int s = 1;
  uint32_t next_hash = Hash(Load32(src, s), shift);
  while (true) {
    int skip = 32;
    int next_s = s;
    int candidate = 0;
    while (true) {
      s = next_s;
      const int between = skip >> 5;
      next_s = s + between;
      skip += between;
      if (next_s > s_limit) goto emit_remainder;
      candidate = table[next_hash & kTableMask];
      table[next_hash & kTableMask] = static_cast<uint16_t>(s);
      next_hash = Hash(Load32(src, next_s), shift);
      if (Load32(src, s) == Load32(src, candidate)) break;
    }
    EmitLiteral(dst, src + next_emit, s - next_emit);
    while (true) {
      const int base = s;
      s += 4;
      for (int i = candidate + 4; s < len && src[i] == src[s]; ++i, ++s) {
      }
      EmitCopy(dst, base - candidate, s - base);
      next_emit = s;
      if (s >= s_limit) goto emit_remainder;
      const uint64_t x = Load64(src, s - 1);
      const uint32_t prev_hash = Hash(static_cast<uint32_t>(x), shift);
      table[prev_hash & kTableMask] = static_cast<uint16_t>(s - 1);
      const uint32_t curr_hash = Hash(static_cast<uint32_t>(x >> 8), shift);
      candidate = table[curr_hash & kTableMask];
      table[curr_hash & kTableMask] = static_cast<uint16_t>(s);
      if (static_cast<uint32_t>(x >> 8) != Load32(src, candidate)) {
        next_hash = Hash(static_cast<uint32_t>(x >> 16), shift);
        ++s;
        break;
      }
    }
  }
emit_remainder:
  if (next_emit < len) EmitLiteral(dst, src + next_emit, len - next_emit);
}

void ReferenceEncode(std::string_view in, std::string* dst) {
  dst->clear();
  dst->reserve(32 + in.size() + in.size() / 6);
  uint64_t n = in.size();
  while (n >= 0x80) {
    dst->push_back(static_cast<char>(n | 0x80));
    n >>= 7;
  }
  dst->push_back(static_cast<char>(n));
  const uint8_t* p = reinterpret_cast<const uint8_t*>(in.data());
  size_t left = in.size();
  while (left > 0) {
    const size_t block = left > kMaxBlockSize ? kMaxBlockSize : left;
    if (block < kMinNonLiteralBlockSize) {
      EmitLiteral(dst, p, block);
    } else {
      EncodeBlock(dst, p, static_cast<int>(block));
    }
    p += block;
    left -= block;
  }
}

}  // namespace reference

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

TEST(GoSnappyTest, SameBytesAsAppendingEncoderIntoReusedBuffer) {
  std::string enc = "stale bytes from an earlier, longer record";
  enc.append(300000, 'z');
  for (size_t n : {0, 1, 15, 16, 17, 18, 100, 4096, 24000, 65535, 65536, 65537,
                   131072, 200000, 5}) {
    for (int kind = 0; kind < 3; ++kind) {
      const std::string in = Input(n, kind, static_cast<uint32_t>(n + 7));
      std::string want;
      reference::ReferenceEncode(in, &want);
      GoSnappyEncode(in, &enc);  // reused: shrinks and grows
      ASSERT_EQ(enc, want) << n << " " << kind;
    }
  }
}

}  // namespace
}  // namespace tsdb::plugins
