// SpinLock: a one-byte mutual-exclusion lock for very short critical
// sections (one per head series; a std::mutex would cost 40 bytes each).
//
// Built on std::atomic so that ThreadSanitizer understands it (it cannot see
// inside Debian's prebuilt absl::Mutex). Waiters spin briefly with a CPU
// pause, then yield the CPU, so a preempted holder does not burn a core.
// Not recursive; not fair. Satisfies BasicLockable / Lockable, so it works
// with std::lock_guard and std::unique_lock.
//
// Thread safety: that is its purpose.
#ifndef TSDB_HEAD_SPIN_LOCK_H_
#define TSDB_HEAD_SPIN_LOCK_H_

#include <atomic>
#include <cstdint>
#include <thread>

#include "absl/base/thread_annotations.h"

namespace tsdb::head {

class ABSL_LOCKABLE SpinLock final {
 public:
  SpinLock() = default;
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;

  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    if (!locked_.exchange(true, std::memory_order_acquire)) return;
    LockSlow();
  }

  bool try_lock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }

  void unlock() ABSL_UNLOCK_FUNCTION() {
    locked_.store(false, std::memory_order_release);
  }

 private:
  void LockSlow() {
    for (int spins = 0;; ++spins) {
      while (locked_.load(std::memory_order_relaxed)) {
        if (spins < 128) {
#if defined(__x86_64__) || defined(__i386__)
          __builtin_ia32_pause();
#endif
          ++spins;
        } else {
          std::this_thread::yield();
        }
      }
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
    }
  }

  std::atomic<bool> locked_{false};
};

}  // namespace tsdb::head

#endif  // TSDB_HEAD_SPIN_LOCK_H_
