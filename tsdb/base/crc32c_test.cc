#include "tsdb/base/crc32c.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tsdb::crc32c {
namespace {

using ExtendFn = uint32_t (*)(uint32_t, const void*, size_t);

struct Impl {
  const char* name;
  ExtendFn fn;
};

class Crc32cTest : public ::testing::TestWithParam<Impl> {
 protected:
  void SetUp() override {
    if (GetParam().fn == &ExtendHardware && !HardwareAvailable()) {
      GTEST_SKIP() << "CPU has no SSE4.2";
    }
  }
  uint32_t Crc(const std::vector<uint8_t>& b) {
    return GetParam().fn(0, b.data(), b.size());
  }
};

// Check value from the CRC catalogue ("123456789").
TEST_P(Crc32cTest, CheckValue) {
  const std::string s = "123456789";
  EXPECT_EQ(GetParam().fn(0, s.data(), s.size()), 0xE3069283u);
}

// RFC 3720 (iSCSI), appendix B.4.
TEST_P(Crc32cTest, Rfc3720Vectors) {
  std::vector<uint8_t> zeros(32, 0x00), ones(32, 0xFF), inc(32), dec(32);
  for (int i = 0; i < 32; ++i) {
    inc[i] = static_cast<uint8_t>(i);
    dec[i] = static_cast<uint8_t>(31 - i);
  }
  EXPECT_EQ(Crc(zeros), 0x8A9136AAu);
  EXPECT_EQ(Crc(ones), 0x62A8AB43u);
  EXPECT_EQ(Crc(inc), 0x46DD794Eu);
  EXPECT_EQ(Crc(dec), 0x113FDB5Cu);
  const std::vector<uint8_t> iscsi_read = {
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ(Crc(iscsi_read), 0xD9963A56u);
}

TEST_P(Crc32cTest, EmptyIsZero) { EXPECT_EQ(GetParam().fn(0, "", 0), 0u); }

TEST_P(Crc32cTest, ExtendEqualsWholeAtEverySplit) {
  std::mt19937 rng(42);
  std::vector<uint8_t> data(300);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  const uint32_t whole = Crc(data);
  for (size_t split = 0; split <= data.size(); ++split) {
    const uint32_t a = GetParam().fn(0, data.data(), split);
    EXPECT_EQ(GetParam().fn(a, data.data() + split, data.size() - split), whole)
        << "split at " << split;
  }
}

TEST_P(Crc32cTest, AgreesWithPortableOnRandomInputs) {
  std::mt19937 rng(7);
  for (int len = 0; len < 200; ++len) {
    std::vector<uint8_t> data(len);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    // Unaligned starts too.
    for (size_t off = 0; off < 3 && off <= data.size(); ++off) {
      EXPECT_EQ(GetParam().fn(0, data.data() + off, data.size() - off),
                ExtendPortable(0, data.data() + off, data.size() - off));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Impls, Crc32cTest,
                         ::testing::Values(Impl{"portable", &ExtendPortable},
                                           Impl{"hardware", &ExtendHardware},
                                           Impl{"dispatch", &Extend}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace tsdb::crc32c
