#include "frontends/builtin_plugins.h"

#include "gtest/gtest.h"

namespace tsdb::frontends {
namespace {

TEST(BuiltinPluginsTest, RegistersThePrometheusCompatibleDefaults) {
  Registry r;
  ASSERT_TRUE(RegisterBuiltinPlugins(r).ok());
  auto xor_codec = r.codecs.Get(1);
  ASSERT_TRUE(xor_codec.ok()) << xor_codec.status();
  EXPECT_EQ((*xor_codec)->name(), "XOR");
  EXPECT_EQ(r.chunk_readers.Names(),
            (std::vector<std::string>{"mmap", "pread"}));
  EXPECT_EQ(r.wals.Names(), (std::vector<std::string>{"none", "segmented"}));
  // Registering twice is an error, not a silent replacement.
  EXPECT_FALSE(RegisterBuiltinPlugins(r).ok());
}

}  // namespace
}  // namespace tsdb::frontends
