// BoundedQueue: a closable FIFO of at most `cap` items between threads, for
// pipelines such as start-up (one thread decodes, another applies).
//
//   BoundedQueue<Batch> q(64);
//   producer:  for (...) if (!q.Push(std::move(batch))) break;  q.Close();
//   consumer:  while (std::optional<Batch> b = q.Pop()) Apply(*b);
//
// Push blocks while the queue is full and returns false once it is closed
// (the item is dropped); Pop blocks while it is empty and returns nullopt once
// it is closed and drained. Close wakes every waiter; either side may call it
// (a consumer that fails closes it so that the producer stops).
//
// Thread safety: every method may be called from any thread.
#ifndef TSDB_BASE_BOUNDED_QUEUE_H_
#define TSDB_BASE_BOUNDED_QUEUE_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace tsdb {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t cap) : cap_(cap == 0 ? 1 : cap) {}
  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  bool Push(T item) {
    std::unique_lock<std::mutex> l(mu_);
    not_full_.wait(l, [&] { return closed_ || q_.size() < cap_; });
    if (closed_) return false;
    q_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }

  std::optional<T> Pop() {
    std::unique_lock<std::mutex> l(mu_);
    not_empty_.wait(l, [&] { return closed_ || !q_.empty(); });
    if (q_.empty()) return std::nullopt;
    T item = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return item;
  }

  void Close() {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
    not_full_.notify_all();
    not_empty_.notify_all();
  }

 private:
  const size_t cap_;
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<T> q_;
  bool closed_ = false;
};

}  // namespace tsdb

#endif  // TSDB_BASE_BOUNDED_QUEUE_H_
