#include "tsdb/head/slot_map.h"

#include <map>
#include <random>

#include "gtest/gtest.h"

namespace tsdb::head {
namespace {

TEST(SlotMapTest, AgainstStdMap) {
  std::mt19937_64 rng(3);
  SlotMap m;
  for (int round = 0; round < 20; ++round) {
    std::map<uint64_t, uint32_t> model;
    const int n = static_cast<int>(rng() % 5000);
    for (int i = 0; i < n; ++i) {
      const uint64_t ref = 1 + rng() % 20000;
      if (model.count(ref)) continue;
      model[ref] = static_cast<uint32_t>(i);
      m.Insert(ref, static_cast<uint32_t>(i));
    }
    EXPECT_EQ(m.size(), model.size());
    for (uint64_t ref = 1; ref <= 20000; ++ref) {
      auto it = model.find(ref);
      ASSERT_EQ(m.Find(ref),
                it == model.end() ? SlotMap::kNotFound : it->second);
    }
    m.Clear();
    EXPECT_EQ(m.size(), 0u);
    EXPECT_EQ(m.Find(1), SlotMap::kNotFound);
  }
}

}  // namespace
}  // namespace tsdb::head
