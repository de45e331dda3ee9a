#include "tsdb/base/page_buffer.h"

#include <cstdint>
#include <cstring>
#include <utility>

#include "gtest/gtest.h"

namespace tsdb {
namespace {

constexpr size_t kHuge = size_t{2} << 20;

TEST(PageBufferTest, EmptyByDefaultAndForZeroBytes) {
  PageBuffer a;
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(a.size(), 0u);
  PageBuffer b(0);
  EXPECT_TRUE(b.empty());
}

TEST(PageBufferTest, RoundsUpToHugePagesAligned) {
  PageBuffer b(kHuge + 1);
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(b.size(), 2 * kHuge);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % kHuge, 0u);
  // Every byte is writable and keeps what was written.
  auto* p = static_cast<unsigned char*>(b.data());
  for (size_t i = 0; i < b.size(); i += 4096) p[i] = static_cast<uint8_t>(i);
  p[b.size() - 1] = 0x5a;
  for (size_t i = 0; i < b.size(); i += 4096) {
    ASSERT_EQ(p[i], static_cast<uint8_t>(i)) << i;
  }
  EXPECT_EQ(p[b.size() - 1], 0x5a);
}

TEST(PageBufferTest, MovesOwnership) {
  PageBuffer a(100);
  void* data = a.data();
  std::memset(data, 7, 100);
  PageBuffer b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): specified
  EXPECT_EQ(b.data(), data);
  PageBuffer c(10);
  c = std::move(b);  // c's own region is released
  EXPECT_EQ(c.data(), data);
  EXPECT_EQ(static_cast<unsigned char*>(c.data())[99], 7);
  c = PageBuffer();
  EXPECT_TRUE(c.empty());
}

}  // namespace
}  // namespace tsdb
