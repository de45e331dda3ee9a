#ifndef TSDB_BASE_PAGE_BUFFER_H_
#define TSDB_BASE_PAGE_BUFFER_H_

#include <cstddef>

namespace tsdb {

// A large, uninitialized, anonymous memory region for bulk work. Sizes are
// rounded up to 2 MiB and the region is aligned to 2 MiB and advised for
// transparent huge pages (where THP is "madvise" or "always"), so that
// random access across it needs few TLB entries: the WAL replay's workers
// scatter each batch of samples by series into one (a counting sort over
// 12 MiB). Without THP, or if mmap fails (then operator new is used), it is
// plain memory. Not worth it for buffers that are written once in order:
// huge pages are zeroed whole at the first touch. Move-only.
class PageBuffer {
 public:
  PageBuffer() = default;
  explicit PageBuffer(size_t bytes);
  ~PageBuffer();
  PageBuffer(PageBuffer&& other) noexcept;
  PageBuffer& operator=(PageBuffer&& other) noexcept;
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;

  void* data() const { return data_; }
  size_t size() const { return size_; }  // usable bytes (>= requested)
  bool empty() const { return data_ == nullptr; }

 private:
  void Release();

  void* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;  // else from operator new
};

}  // namespace tsdb

#endif  // TSDB_BASE_PAGE_BUFFER_H_
