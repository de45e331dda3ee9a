#include "plugins/wal/none/none_wal.h"

#include "gtest/gtest.h"

namespace tsdb::plugins {
namespace {

TEST(NoneWalTest, AcceptsEverythingKeepsNothing) {
  wal::WalRegistry registry;
  ASSERT_TRUE(RegisterNoneWal(registry).ok());
  wal::WalOptions opts;
  opts.dir = "/nonexistent/wal";
  auto w = registry.Open("none", opts);
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE((*w)->Log({"a", "b"}).ok());
  EXPECT_TRUE((*w)->Sync().ok());
  EXPECT_EQ((*w)->Segments()->first, -1);
  EXPECT_EQ(*(*w)->NextSegment(), 0);
  EXPECT_EQ(*(*w)->NextSegment(), 1);
  EXPECT_EQ((*w)->dir(), "/nonexistent/wal");
  EXPECT_TRUE((*w)->Close().ok());
}

TEST(NoneWalTest, RegistryUnknownNameListsValidNames) {
  wal::WalRegistry registry;
  ASSERT_TRUE(RegisterNoneWal(registry).ok());
  EXPECT_EQ(RegisterNoneWal(registry).code(), absl::StatusCode::kAlreadyExists);
  auto w = registry.Open("segmentd", wal::WalOptions{});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(w.status().message().find("valid names: none"), std::string::npos)
      << w.status();
}

}  // namespace
}  // namespace tsdb::plugins
