#include "tsdb/base/bounded_queue.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace tsdb {
namespace {

TEST(BoundedQueueTest, DeliversInOrderAcrossThreads) {
  BoundedQueue<int> q(3);
  std::thread producer([&] {
    for (int i = 0; i < 10000; ++i) ASSERT_TRUE(q.Push(i));
    q.Close();
  });
  std::vector<int> got;
  while (std::optional<int> v = q.Pop()) got.push_back(*v);
  producer.join();
  ASSERT_EQ(got.size(), 10000u);
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(got[i], i);
}

TEST(BoundedQueueTest, CloseByConsumerStopsABlockedProducer) {
  BoundedQueue<int> q(1);
  ASSERT_TRUE(q.Push(1));
  bool pushed = true;
  std::thread producer([&] { pushed = q.Push(2); });  // blocks: full
  q.Close();
  producer.join();
  EXPECT_FALSE(pushed);
  // What was queued before Close is still delivered, then nothing.
  EXPECT_EQ(q.Pop(), std::optional<int>(1));
  EXPECT_EQ(q.Pop(), std::nullopt);
}

}  // namespace
}  // namespace tsdb
