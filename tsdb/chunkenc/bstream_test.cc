#include "tsdb/chunkenc/bstream.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tsdb::chunkenc {
namespace {

std::string Hex(std::string_view s) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// A literal model of Go's bstream writer (one bit or byte at a time), the
// reference the fast writer must match byte for byte.
class GoModelWriter {
 public:
  void WriteBit(bool bit) {
    if (count_ == 0) {
      stream_.push_back(0);
      count_ = 8;
    }
    if (bit) stream_.back() |= static_cast<uint8_t>(1u << (count_ - 1));
    --count_;
  }
  void WriteByte(uint8_t byte) {
    if (count_ == 0) {
      stream_.push_back(0);
      count_ = 8;
    }
    stream_.back() |= static_cast<uint8_t>(byte >> (8 - count_));
    stream_.push_back(static_cast<uint8_t>(byte << count_));
  }
  void WriteBits(uint64_t u, int nbits) {
    if (nbits == 0) return;
    u <<= 64 - nbits;
    while (nbits >= 8) {
      WriteByte(static_cast<uint8_t>(u >> 56));
      u <<= 8;
      nbits -= 8;
    }
    while (nbits > 0) {
      WriteBit((u >> 63) == 1);
      u <<= 1;
      --nbits;
    }
  }
  std::string bytes() const {
    return std::string(stream_.begin(), stream_.end());
  }
  int count() const { return count_; }

 private:
  std::vector<uint8_t> stream_;
  int count_ = 0;
};

TEST(BitWriterTest, EmptyStream) {
  BitWriter w;
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(w.bit_length(), 0u);
  EXPECT_EQ(w.count(), 0);
  EXPECT_TRUE(w.bytes().empty());
}

TEST(BitWriterTest, MsbFirst) {
  BitWriter w;
  w.WriteBits(0b101, 3);
  EXPECT_EQ(Hex(w.bytes()), "a0");
  EXPECT_EQ(w.count(), 5);
  w.WriteBit(true);
  w.WriteBits(0xF, 4);
  EXPECT_EQ(Hex(w.bytes()), "bf");
  EXPECT_EQ(w.count(), 0);
  w.WriteBit(false);
  w.WriteBit(true);
  EXPECT_EQ(Hex(w.bytes()), "bf40");
}

// Go's writeByte always appends a byte ahead: after a byte-sized write that
// ends aligned, the stream has an extra, empty byte (count 8).
TEST(BitWriterTest, ByteWriteLeavesEmptyTrailingByte) {
  BitWriter w;
  w.WriteByte(0xAB);
  EXPECT_EQ(Hex(w.bytes()), "ab00");
  EXPECT_EQ(w.count(), 8);
  w.WriteBits(0x1234, 16);
  EXPECT_EQ(Hex(w.bytes()), "ab123400");
  // A bit write uses the empty byte.
  w.WriteBit(true);
  EXPECT_EQ(Hex(w.bytes()), "ab123480");
  EXPECT_EQ(w.count(), 7);
  // Not aligned: a byte write spans two bytes, no extra byte.
  w.WriteByte(0xFF);
  EXPECT_EQ(Hex(w.bytes()), "ab1234ff80");
  EXPECT_EQ(w.count(), 7);
  // 7 more bits: aligned, but the last Go call is writeBit: no extra byte.
  w.WriteBits(0, 7);
  EXPECT_EQ(Hex(w.bytes()), "ab1234ff80");
  EXPECT_EQ(w.count(), 0);
  // 64 bits (8 writeBytes) from aligned: extra byte again.
  w.WriteBits(0x0102030405060708, 64);
  EXPECT_EQ(Hex(w.bytes()), "ab1234ff80010203040506070800");
}

TEST(BitWriterTest, MatchesGoModelOnRandomWrites) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 300; ++round) {
    BitWriter w;
    GoModelWriter g;
    const int ops = static_cast<int>(rng() % 200);
    for (int i = 0; i < ops; ++i) {
      const uint64_t v = rng();
      switch (rng() % 4) {
        case 0: {
          const bool bit = v & 1;
          w.WriteBit(bit);
          g.WriteBit(bit);
          break;
        }
        case 1:
          w.WriteByte(static_cast<uint8_t>(v));
          g.WriteByte(static_cast<uint8_t>(v));
          break;
        default: {
          const int n = static_cast<int>(rng() % 65);
          w.WriteBits(v, n);
          g.WriteBits(n == 64 ? v : v & ((uint64_t{1} << n) - 1), n);
          break;
        }
      }
      ASSERT_EQ(Hex(w.bytes()), Hex(g.bytes()))
          << "round " << round << " op " << i;
      ASSERT_EQ(w.count(), g.count());
    }
  }
}

TEST(BitWriterTest, ResumesFromBytesAndCount) {
  for (int count = 0; count <= 8; ++count) {
    BitWriter w(std::string_view("\xAB\xFF", 2), count);
    EXPECT_EQ(w.count(), count);
    EXPECT_EQ(w.bit_length(), 16u - count);
    // The unused low bits are cleared.
    const uint8_t last = static_cast<uint8_t>(0xFFu << count);
    EXPECT_EQ(static_cast<uint8_t>(w.bytes()[1]), last);
    w.WriteBits(0x155, 9);
    // Resumes at the exact bit: 0xAB, the 8-count kept bits, then 0x155.
    BitReader r(w.data(), w.size());
    uint64_t v = 0;
    ASSERT_TRUE(r.ReadBits(8, &v));
    EXPECT_EQ(v, 0xABu);
    if (count < 8) {
      ASSERT_TRUE(r.ReadBits(8 - count, &v));
      EXPECT_EQ(v, uint64_t{last} >> count);
    }
    ASSERT_TRUE(r.ReadBits(9, &v));
    EXPECT_EQ(v, 0x155u);
    EXPECT_EQ(w.size(), (16 - count + 9 + 7) / 8u) << count;
  }
}

TEST(BitWriterTest, SharedDataSurvivesGrowthAndDestruction) {
  auto w = std::make_unique<BitWriter>();
  w->WriteBits(0xDEADBEEF, 32);
  std::shared_ptr<const uint8_t[]> pinned = w->shared_data();
  const std::string before(w->bytes());
  for (int i = 0; i < 1000; ++i) w->WriteBits(static_cast<uint64_t>(i), 13);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(pinned.get()), 4),
            before.substr(0, 4));
  w.reset();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(pinned.get()), 4),
            before.substr(0, 4));
}

// Open head chunks live in these buffers: growth must stay close to the
// bytes written (doubling left ~30% unused), and the bytes must survive it.
TEST(BitWriterTest, CapacityStaysCloseToSize) {
  BitWriter w;
  std::string model;
  size_t grows = 0;
  size_t last_cap = 0;
  for (int i = 0; i < 5000; ++i) {
    w.WriteByte(static_cast<uint8_t>(i * 7));
    model.push_back(static_cast<char>(static_cast<uint8_t>(i * 7)));
    if (w.capacity() != last_cap) {
      ++grows;
      last_cap = w.capacity();
      EXPECT_EQ(w.capacity() % 16, 8u);  // fills its malloc chunk
    }
    // Holds the bytes, with at most an eighth (or 64 bytes) plus the
    // write slack and rounding beyond what is used.
    EXPECT_GE(w.capacity(), w.size()) << i;
    EXPECT_LE(
        w.capacity(),
        std::max<size_t>(
            128, w.size() + 8 + std::max<size_t>(64, w.size() / 8 + 2) + 16))
        << i;
  }
  EXPECT_EQ(std::string(w.bytes()).substr(0, model.size()), model);
  EXPECT_LT(grows, 50u);  // still geometric
}

TEST(BitReaderTest, ReadsBackRandomWrites) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 300; ++round) {
    BitWriter w;
    std::vector<std::pair<uint64_t, int>> written;
    const int ops = static_cast<int>(rng() % 100);
    for (int i = 0; i < ops; ++i) {
      const int n = 1 + static_cast<int>(rng() % 64);
      const uint64_t v = n == 64 ? rng() : rng() & ((uint64_t{1} << n) - 1);
      w.WriteBits(v, n);
      written.emplace_back(v, n);
    }
    BitReader r(w.data(), w.size());
    size_t pos = 0;
    for (const auto& [v, n] : written) {
      uint64_t got = 0;
      ASSERT_TRUE(r.ReadBits(n, &got));
      ASSERT_EQ(got, v);
      pos += static_cast<size_t>(n);
      ASSERT_EQ(r.bit_position(), pos);
    }
    // Only padding (at most 7 bits + an empty byte) is left.
    EXPECT_LE(r.bits_remaining(), 15u);
  }
}

TEST(BitReaderTest, MixedWidthsAndPeek) {
  BitWriter w;
  w.WriteBits(0b1101, 4);
  w.WriteByte(0x5A);
  w.WriteBit(true);
  BitReader r(w.data(), w.size());
  ASSERT_TRUE(r.Ensure(4));
  EXPECT_EQ(r.Peek() >> 60, 0b1101u);
  r.Consume(4);
  uint8_t b = 0;
  ASSERT_TRUE(r.ReadByte(&b));
  EXPECT_EQ(b, 0x5A);
  bool bit = false;
  ASSERT_TRUE(r.ReadBit(&bit));
  EXPECT_TRUE(bit);
  EXPECT_EQ(r.bit_position(), 13u);
  EXPECT_EQ(r.bits_remaining(), 3u);
}

TEST(BitReaderTest, FailsPastTheEnd) {
  const uint8_t data[3] = {0xFF, 0x00, 0x81};
  for (int n = 1; n <= 64; ++n) {
    BitReader r(data, sizeof(data));
    uint64_t v = 0;
    if (n <= 24) {
      EXPECT_TRUE(r.ReadBits(n, &v)) << n;
    } else {
      EXPECT_FALSE(r.ReadBits(n, &v)) << n;
    }
  }
  BitReader r(data, sizeof(data));
  uint64_t v = 0;
  ASSERT_TRUE(r.ReadBits(20, &v));
  EXPECT_EQ(v, 0xFF008u);
  EXPECT_FALSE(r.ReadBits(5, &v));
  BitReader empty(nullptr, 0);
  bool bit;
  EXPECT_FALSE(empty.ReadBit(&bit));
  EXPECT_FALSE(empty.Ensure(1));
  EXPECT_EQ(empty.available(), 0u);
}

// Every prefix of a stream reads back exactly the values that fit in it.
TEST(BitReaderTest, EveryTruncationIsBounded) {
  std::mt19937_64 rng(3);
  BitWriter w;
  std::vector<std::pair<uint64_t, int>> written;
  for (int i = 0; i < 60; ++i) {
    const int n = 1 + static_cast<int>(rng() % 64);
    const uint64_t v = n == 64 ? rng() : rng() & ((uint64_t{1} << n) - 1);
    w.WriteBits(v, n);
    written.emplace_back(v, n);
  }
  const std::string all(w.bytes());
  for (size_t len = 0; len <= all.size(); ++len) {
    // A heap copy of exactly `len` bytes, so ASan sees any overread.
    std::vector<uint8_t> copy(all.begin(), all.begin() + len);
    BitReader r(copy.data(), copy.size());
    size_t bits = 0;
    for (const auto& [v, n] : written) {
      uint64_t got = 0;
      const bool fits = bits + n <= len * 8;
      ASSERT_EQ(r.ReadBits(n, &got), fits) << len;
      if (!fits) break;
      ASSERT_EQ(got, v);
      bits += n;
    }
  }
}

}  // namespace
}  // namespace tsdb::chunkenc
