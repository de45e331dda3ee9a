// Bit-exact tests of the XOR encoding: every expected stream below is
// written out by hand, field by field, from Prometheus 2.42's xor.go rules.
#include "plugins/chunkenc/xor/xor.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tsdb/chunkenc/registry.h"

namespace tsdb::chunkenc {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// The low `width` bits of `v` as '0'/'1' characters, MSB first.
std::string Bin(uint64_t v, int width) {
  std::string s;
  for (int i = width - 1; i >= 0; --i) s.push_back(((v >> i) & 1) ? '1' : '0');
  return s;
}

std::string Hex(std::string_view s) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// Packs a '0'/'1' string MSB-first into hex, zero-padding the last byte;
// `empty_byte` appends Go's extra empty trailing byte.
std::string BitsToHex(const std::string& bits, bool empty_byte = false) {
  std::string bytes((bits.size() + 7) / 8, '\0');
  for (size_t i = 0; i < bits.size(); ++i) {
    if (bits[i] == '1') bytes[i / 8] |= static_cast<char>(0x80 >> (i % 8));
  }
  if (empty_byte) bytes.push_back('\0');
  return Hex(bytes);
}

uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }

class XorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterXorCodec(registry_).ok());
    auto codec = registry_.Get(kXorEncoding);
    ASSERT_TRUE(codec.ok()) << codec.status();
    codec_ = *codec;
  }

  // A chunk with `samples` appended through one appender.
  std::unique_ptr<Chunk> Build(const std::vector<Sample>& samples) {
    std::unique_ptr<Chunk> c = codec_->NewChunk();
    auto app = c->Appender();
    EXPECT_TRUE(app.ok()) << app.status();
    for (const Sample& s : samples) (*app)->Append(s.t, s.v);
    return c;
  }

  std::vector<Sample> Decode(std::string_view bytes, absl::Status* status) {
    std::vector<Sample> out;
    auto it = codec_->NewIterator(bytes);
    while (it->Next()) out.push_back(it->At());
    *status = it->status();
    return out;
  }

  void ExpectDecodes(std::string_view bytes, const std::vector<Sample>& want) {
    absl::Status status;
    const std::vector<Sample> got = Decode(bytes, &status);
    ASSERT_TRUE(status.ok()) << status;
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[i].t, want[i].t) << i;
      EXPECT_EQ(Bits(got[i].v), Bits(want[i].v)) << i;
    }
  }

  CodecRegistry registry_;
  const ChunkCodec* codec_ = nullptr;
};

TEST_F(XorTest, Identity) {
  EXPECT_EQ(codec_->encoding(), 1);
  EXPECT_EQ(codec_->name(), "XOR");
  EXPECT_EQ(codec_->NewChunk()->encoding(), 1);
  CodecRegistry r;
  ASSERT_TRUE(RegisterXorCodec(r).ok());
  EXPECT_EQ(RegisterXorCodec(r).code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(XorTest, EmptyChunkIsTwoZeroBytes) {
  EXPECT_EQ(Hex(codec_->NewChunk()->Bytes()), "0000");
}

// Go's writeByte leaves an empty byte after the 64 value bits (which end
// byte-aligned): a one-sample chunk has an extra 0x00 (seen in promtool's
// output too).
TEST_F(XorTest, OneSampleEndsWithEmptyByte) {
  auto c = Build({{1000000, 1.0}});
  // count 1 | varint(1000000) = zigzag 2000000 = 80 89 7a | 1.0 | 00
  EXPECT_EQ(Hex(c->Bytes()),
            "0001"
            "80897a"
            "3ff0000000000000"
            "00");
  EXPECT_EQ(c->NumSamples(), 1);
}

// The exact bytes promtool 2.42 wrote for these three samples.
TEST_F(XorTest, MatchesPromtoolSmallChunk) {
  auto c = Build({{1000000, 1.0}, {1015000, 2.0}, {1030500, 2.0}});
  EXPECT_EQ(Hex(c->Bytes()),
            "0003"
            "80897a"
            "3ff0000000000000"
            "9875"
            "c25fff"
            "81f400");
  const std::string tail =
      // sample 1 value: x = 0x7ff0..: control 11, leading 1, 11 sig bits
      "11" + Bin(1, 5) + Bin(11, 6) + Bin(0x7FF, 11) +
      // sample 2: dod 500 -> 10 + 14 bits; value unchanged -> 0
      "10" + Bin(500, 14) + "0";
  EXPECT_EQ(Hex(c->Bytes()).substr(2 * 15), BitsToHex(tail));
}

// Delta-of-delta buckets with Go's asymmetric ranges: n bits hold
// -(2^(n-1) - 1) .. 2^(n-1).
TEST_F(XorTest, DeltaOfDeltaBuckets) {
  constexpr int64_t kBase = 1000000;
  const std::vector<int64_t> dods = {
      8192,   -8192,  0,      8193,    -8193,  -8191,   8191,    65536,
      -65536, -65535, 524288, -524288, 524289, -524287, -524289, 65537};
  std::vector<Sample> samples = {{0, 0.0}, {kBase, 0.0}};
  int64_t delta = kBase;
  for (int64_t dod : dods) {
    delta += dod;
    samples.push_back({samples.back().t + delta, 0.0});
  }
  auto c = Build(samples);

  // Hand-computed fields.
  EXPECT_EQ(Bin(8192, 14), "10000000000000");
  EXPECT_EQ(Bin(static_cast<uint64_t>(-8192), 17), "11110000000000000");
  EXPECT_EQ(Bin(static_cast<uint64_t>(-8191), 14), "10000000000001");
  std::string bits;
  bits += Bin(static_cast<uint64_t>(dods.size() + 2), 16);
  bits += "00000000" + Bin(0, 64);  // varint(0), value 0.0
  bits += Bin(0xC0, 8) + Bin(0x84, 8) + Bin(0x3D, 8) + "0";  // uvarint(1e6)
  auto field = [](int64_t dod) -> std::string {
    const uint64_t u = static_cast<uint64_t>(dod);
    if (dod == 0) return "0";
    if (dod >= -8191 && dod <= 8192) return "10" + Bin(u, 14);
    if (dod >= -65535 && dod <= 65536) return "110" + Bin(u, 17);
    if (dod >= -524287 && dod <= 524288) return "1110" + Bin(u, 20);
    return "1111" + Bin(u, 64);
  };
  // The bucket of each dod, spelled out.
  EXPECT_EQ(field(8192).size(), 16u);     // 14 bits
  EXPECT_EQ(field(-8192).size(), 20u);    // 17 bits
  EXPECT_EQ(field(65536).size(), 20u);    // 17 bits
  EXPECT_EQ(field(-65536).size(), 24u);   // 20 bits
  EXPECT_EQ(field(524288).size(), 24u);   // 20 bits
  EXPECT_EQ(field(-524288).size(), 68u);  // 64 bits
  EXPECT_EQ(field(524289).size(), 68u);   // 64 bits
  for (int64_t dod : dods) bits += field(dod) + "0";
  EXPECT_EQ(Hex(c->Bytes()), BitsToHex(bits));
  ExpectDecodes(c->Bytes(), samples);
}

// Leading zeros are clamped to 31 (5 bits); the clamped zeros become
// significant bits.
TEST_F(XorTest, LeadingZerosClampedTo31) {
  const double v1 = std::bit_cast<double>(uint64_t{1} << 23);  // clz 40
  auto c = Build({{0, 0.0}, {15, v1}});
  const std::string bits =
      Bin(2, 16) + "00000000" + Bin(0, 64) + "00001111" +  // uvarint(15)
      "11" + Bin(31, 5) + Bin(64 - 31 - 23, 6) + Bin(1, 10);
  EXPECT_EQ(Bin(31, 5) + Bin(10, 6),
            "11111"
            "001010");
  EXPECT_EQ(Hex(c->Bytes()), BitsToHex(bits));
  ExpectDecodes(c->Bytes(), {{0, 0.0}, {15, v1}});
}

// An XOR with 64 significant bits writes 0 in the 6-bit field.
TEST_F(XorTest, SixtyFourSignificantBitsWrittenAsZero) {
  const double v1 = std::bit_cast<double>(uint64_t{0x8000000000000001});
  auto c = Build({{0, 0.0}, {15, v1}});
  const std::string bits = Bin(2, 16) + "00000000" + Bin(0, 64) + "00001111" +
                           "11" + "00000" + "000000" +
                           Bin(0x8000000000000001, 64);
  EXPECT_EQ(Hex(c->Bytes()), BitsToHex(bits));
  ExpectDecodes(c->Bytes(), {{0, 0.0}, {15, v1}});
}

// A XOR that fits the current window reuses it (10); one that does not opens
// a new window (11).
TEST_F(XorTest, WindowReuseAndReopen) {
  // 1.0 = 3ff0..., 2.0 = 4000..., 3.0 = 4008...
  auto c = Build({{0, 1.0}, {10, 2.0}, {20, 1.0}, {30, 3.0}});
  std::string bits =
      Bin(4, 16) + "00000000" + Bin(Bits(1.0), 64) + "00001010";  // uvarint(10)
  bits += "11" + Bin(1, 5) + Bin(11, 6) + Bin(0x7FF, 11);         // x=7ff0..
  bits += "0" + std::string("10") + Bin(0x7FF, 11);  // same x: reuse
  // 3.0 ^ 1.0 = 0x7ff8...: leading 1, trailing 51 < 52: new window.
  bits += "0" + std::string("11") + Bin(1, 5) + Bin(12, 6) + Bin(0xFFF, 12);
  EXPECT_EQ(Hex(c->Bytes()), BitsToHex(bits));
  ExpectDecodes(c->Bytes(), {{0, 1.0}, {10, 2.0}, {20, 1.0}, {30, 3.0}});
}

// The re-opened appender quirk: after only zero XORs the re-opened appender
// has window (0, 0) from the iterator, so the next non-zero XOR is `10` + 64
// bits; a single appender (window "none") writes `11` + a new window.
TEST_F(XorTest, ReopenedAppenderAfterConstantRun) {
  const std::vector<Sample> head = {{0, 5.0}, {1000, 5.0}, {2000, 5.0}};
  // 5.0 = 0x4014..., 6.0 = 0x4018...: x = 0x000c...: leading 12, trailing 50.
  const uint64_t x = Bits(5.0) ^ Bits(6.0);
  ASSERT_EQ(x, 0x000C000000000000u);
  std::string prefix = Bin(4, 16) + "00000000" + Bin(Bits(5.0), 64) +
                       Bin(0xE8, 8) + Bin(0x07, 8) + "0" +  // uvarint(1000)
                       "0" + "0";                           // dod 0, same
  const std::string single =
      prefix + "0" + "11" + Bin(12, 5) + Bin(2, 6) + "11";
  const std::string reopened = prefix + "0" + "10" + Bin(x, 64);

  auto a = Build(head);
  {
    auto app = a->Appender();
    ASSERT_TRUE(app.ok());
    (*app)->Append(3000, 6.0);
  }
  std::vector<Sample> all = head;
  all.push_back({3000, 6.0});
  EXPECT_EQ(Hex(a->Bytes()), BitsToHex(reopened));
  ExpectDecodes(a->Bytes(), all);

  auto b = Build(all);
  EXPECT_EQ(Hex(b->Bytes()), BitsToHex(single));

  // The same from bytes: FromBytes + Appender re-opens identically.
  auto c = codec_->FromBytes(Build(head)->Bytes());
  ASSERT_TRUE(c.ok());
  auto app = (*c)->Appender();
  ASSERT_TRUE(app.ok());
  (*app)->Append(3000, 6.0);
  EXPECT_EQ(Hex((*c)->Bytes()), BitsToHex(reopened));
}

// One sample, re-opened: the window is (0, 0) too; the first XOR is `10` +
// 64 bits. Also covers resuming after Go's empty trailing byte.
TEST_F(XorTest, ReopenedAppenderAfterOneSample) {
  auto c = Build({{7, 1.0}});
  EXPECT_EQ(Hex(c->Bytes()),
            "0001"
            "0e"
            "3ff0000000000000"
            "00");
  auto from_bytes = codec_->FromBytes(c->Bytes());
  ASSERT_TRUE(from_bytes.ok());
  for (Chunk* chunk : {c.get(), from_bytes->get()}) {
    auto app = chunk->Appender();
    ASSERT_TRUE(app.ok());
    (*app)->Append(10, 2.0);
    const std::string bits = Bin(2, 16) + Bin(0x0E, 8) + Bin(Bits(1.0), 64) +
                             Bin(3, 8) + "1" + "0" +
                             Bin(Bits(1.0) ^ Bits(2.0), 64);
    EXPECT_EQ(Hex(chunk->Bytes()), BitsToHex(bits));
    ExpectDecodes(chunk->Bytes(), {{7, 1.0}, {10, 2.0}});
  }
}

// Once a window was opened, re-opening changes nothing.
TEST_F(XorTest, ReopenedAppenderAfterWindowMatchesSingleAppender) {
  const std::vector<Sample> s = {{0, 1.0},  {15, 2.0},  {30, 2.5},
                                 {45, 2.5}, {61, 7.25}, {75, -1.0}};
  auto single = Build(s);
  // The first XOR (1.0 -> 2.0) opens a window; after that every re-opened
  // appender has the same window as the single one.
  std::unique_ptr<Chunk> piecewise = Build({s[0], s[1]});
  for (size_t i = 2; i < s.size(); ++i) {
    auto app = piecewise->Appender();
    ASSERT_TRUE(app.ok());
    (*app)->Append(s[i].t, s[i].v);
  }
  EXPECT_EQ(Hex(piecewise->Bytes()), Hex(single->Bytes()));
}

// Timestamps use Go's wrapping uint64 arithmetic, so every int64 sequence,
// even decreasing or overflowing ones, round-trips exactly as in Go.
TEST_F(XorTest, TimestampsWrapLikeGo) {
  // MIN -> MAX: delta 2^64-1 as a 10-byte uvarint; MAX -> MAX: delta 0, so
  // dod = 0 - (2^64-1) wraps to +1.
  auto c = Build({{kMin, 1.0}, {kMax, 1.0}, {kMax, 1.0}});
  const std::string bits = Bin(3, 16) + Bin(0xFFFFFFFFFFFFFFFF, 64) +
                           Bin(0xFF01, 16) +  // zigzag(MIN) = 2^64-1
                           Bin(Bits(1.0), 64) + Bin(0xFFFFFFFFFFFFFFFF, 64) +
                           Bin(0xFF01, 16) + "0" + "10" + Bin(1, 14) + "0";
  EXPECT_EQ(Hex(c->Bytes()), BitsToHex(bits));
  ExpectDecodes(c->Bytes(), {{kMin, 1.0}, {kMax, 1.0}, {kMax, 1.0}});

  // MAX -> MIN is a delta of 1; decreasing runs work too.
  const std::vector<Sample> odd = {{kMax, 0.0}, {kMin, 1.0}, {1000, 2.0},
                                   {500, 3.0},  {0, 4.0},    {-kMax, 5.0},
                                   {kMax, 6.0}, {kMax, 6.0}};
  auto d = Build(odd);
  ExpectDecodes(d->Bytes(), odd);
  EXPECT_EQ(Hex(d->Bytes()).substr(4 + 2 * 10 + 16, 2), "01");
}

TEST_F(XorTest, CorruptWindowIsDataLoss) {
  // Two samples; the second has control 11, leading 31, sig 0 (= 64): 95 bits.
  const std::string bits = Bin(2, 16) + "00000000" + Bin(0, 64) + "00000001" +
                           "11" + Bin(31, 5) + Bin(0, 6) + Bin(0, 64);
  std::string bytes;
  for (size_t i = 0; i < bits.size(); i += 8) {
    std::string byte = bits.substr(i, 8);
    byte.resize(8, '0');
    bytes.push_back(static_cast<char>(std::stoi(byte, nullptr, 2)));
  }
  absl::Status status;
  const std::vector<Sample> got = Decode(bytes, &status);
  EXPECT_EQ(got.size(), 1u);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  // The same with trailing bytes, long enough for the decoder's unchecked
  // path for samples 0 and 1.
  std::string padded = bytes + std::string(64, '\0');
  padded[1] = 3;
  for (size_t batch : {1, 2, 120}) {
    auto it = codec_->NewIterator(padded);
    int64_t ts[120];
    double vs[120];
    size_t total = 0;
    while (size_t k = it->NextBatch(ts, vs, batch)) total += k;
    EXPECT_EQ(total, 1u) << batch;
    EXPECT_EQ(it->status().code(), absl::StatusCode::kDataLoss) << batch;
    EXPECT_NE(it->status().message().find("window"), std::string::npos)
        << it->status();
  }
  auto c = codec_->FromBytes(bytes);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->Appender().status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(XorTest, OverlongVarintIsDataLoss) {
  std::string bytes = std::string("\x00\x01", 2) + std::string(10, '\x80') +
                      std::string(8, '\0');
  absl::Status status;
  EXPECT_TRUE(Decode(bytes, &status).empty());
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  // The 10th byte may only be 0 or 1 (Go's overflow rule).
  bytes = std::string("\x00\x01", 2) + std::string(9, '\xFF') + "\x02" +
          std::string(8, '\0');
  EXPECT_TRUE(Decode(bytes, &status).empty());
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
}

TEST_F(XorTest, HeaderErrors) {
  absl::Status status;
  EXPECT_TRUE(Decode("", &status).empty());
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(Decode(std::string("\x00", 1), &status).empty());
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(codec_->FromBytes("x").status().code(),
            absl::StatusCode::kDataLoss);
  // A count larger than the data: DataLoss, after the samples that fit.
  auto c = Build({{1, 1.0}, {2, 2.0}});
  std::string bytes(c->Bytes());
  bytes[1] = 3;
  {
    // The error is reported once the samples before it have been returned,
    // not while they are (even though the decoder reads ahead).
    auto it = codec_->NewIterator(bytes);
    ASSERT_TRUE(it->Next());
    EXPECT_TRUE(it->status().ok());
    ASSERT_TRUE(it->Next());
    EXPECT_TRUE(it->status().ok());
    EXPECT_EQ(it->At().t, 2);
    EXPECT_FALSE(it->Next());
    EXPECT_EQ(it->status().code(), absl::StatusCode::kDataLoss);
  }
  const std::vector<Sample> got = Decode(bytes, &status);
  EXPECT_EQ(got.size(), 2u);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_NE(status.message().find("sample 2 of 3"), std::string::npos)
      << status;
}

// The decoder reads 8 bytes at a time and switches to a zero-padded copy of
// the last bytes near the end of the chunk. Every chunk length around that
// switch, every batch size, and the widest samples (64-bit delta of deltas,
// 64-bit value windows) must decode exactly, reading only the chunk's own
// bytes (exact-size heap copies: ASan reports any read past them).
TEST_F(XorTest, DecodesExactlyAroundTheEndOfTheData) {
  std::mt19937_64 rng(7);
  std::vector<std::vector<Sample>> series;
  {
    // Widest: timestamps jumping by random 62-bit amounts, random values.
    std::vector<Sample> s;
    int64_t t = 0;
    for (int i = 0; i < 40; ++i) {
      t += static_cast<int64_t>(rng() >> 2) * (i % 2 ? 1 : -1);
      s.push_back({t, std::bit_cast<double>(rng())});
    }
    series.push_back(s);
  }
  {
    // Every dod bucket and value case, mixed.
    std::vector<Sample> s;
    int64_t t = 1700000000000;
    double v = 1;
    for (int i = 0; i < 300; ++i) {
      static constexpr int64_t kJumps[] = {0, 0, 0, 5, -3000, 60000, 500000, 3};
      t += 15000 + kJumps[rng() % 8];
      switch (rng() % 4) {
        case 0:
          break;
        case 1:
          v += 1;
          break;
        case 2:
          v = std::bit_cast<double>(rng());
          break;
        default:
          v *= 1.5;
      }
      s.push_back({t, v});
    }
    series.push_back(s);
  }
  for (const std::vector<Sample>& full : series) {
    for (size_t n = 0; n <= full.size(); n += (n < 40 ? 1 : 37)) {
      SCOPED_TRACE(testing::Message() << n << " samples");
      const std::vector<Sample> want(full.begin(), full.begin() + n);
      const std::string bytes(Build(want)->Bytes());
      std::unique_ptr<char[]> exact(new char[bytes.size()]);
      std::memcpy(exact.get(), bytes.data(), bytes.size());
      const std::string_view view(exact.get(), bytes.size());
      ExpectDecodes(view, want);
      for (size_t batch : {1, 3, 16, 120, 1000}) {
        auto it = codec_->NewIterator(view);
        std::vector<int64_t> ts(batch);
        std::vector<double> vs(batch);
        std::vector<Sample> got;
        while (size_t k = it->NextBatch(ts.data(), vs.data(), batch)) {
          for (size_t i = 0; i < k; ++i) got.push_back({ts[i], vs[i]});
        }
        ASSERT_TRUE(it->status().ok()) << it->status();
        ASSERT_EQ(got.size(), want.size()) << "batch " << batch;
        for (size_t i = 0; i < want.size(); ++i) {
          ASSERT_EQ(got[i].t, want[i].t) << i;
          ASSERT_EQ(Bits(got[i].v), Bits(want[i].v)) << i;
        }
      }
      // Cut short: the samples that fit, then DataLoss, never a read past
      // the (shorter) data.
      for (size_t len = 2; len + 1 < bytes.size() && len < 60; ++len) {
        const size_t cut = bytes.size() - 1 - (len - 2);
        std::unique_ptr<char[]> part(new char[cut]);
        std::memcpy(part.get(), bytes.data(), cut);
        absl::Status status;
        const std::vector<Sample> got =
            Decode(std::string_view(part.get(), cut), &status);
        ASSERT_LE(got.size(), want.size());
        for (size_t i = 0; i < got.size(); ++i) {
          ASSERT_EQ(got[i].t, want[i].t) << i;
          ASSERT_EQ(Bits(got[i].v), Bits(want[i].v)) << i;
        }
        if (got.size() < want.size()) {
          EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << cut;
        }
      }
    }
  }
}

// Differences from Go kept on purpose: Seek after exhaustion is false.
TEST_F(XorTest, SeekAfterExhaustionIsFalse) {
  auto c = Build({{10, 1.0}, {20, 2.0}});
  auto it = c->Iterator();
  while (it->Next()) {
  }
  EXPECT_FALSE(it->Seek(0));
  EXPECT_FALSE(it->Seek(20));
  EXPECT_TRUE(it->status().ok());
}

}  // namespace
}  // namespace tsdb::chunkenc
