// SymbolTable: the head's string interning. Every label name and value of a
// head series is stored once per head, and a series keeps only 32-bit
// symbol ids (see series.h), which is most of why a head series is small.
//
//   uint32_t ids[2 * lset.size()];
//   table.Intern(lset, ids);        // name0, value0, name1, value1, ...
//   std::string_view v = table.Get(ids[1]);
//   table.Release(ids, 2 * lset.size());   // when the series is freed
//
// Symbols are reference counted: Intern takes one reference per id it
// returns, Release drops them, and a symbol whose count reaches zero is
// removed and its id recycled. So churn (short-lived series with unique
// values such as pod names) does not grow the table forever.
//
// Get is lock-free: ids index a paged array whose pages never move, so a
// string_view handed out stays valid while the caller's reference (the
// series that holds the id) is alive.
//
// Thread safety: all methods may be called concurrently. Intern and Release
// take an exclusive std::mutex; Get takes no lock. REQUIRES for Get: the
// caller holds (directly or through a live series) a reference to `id`.
#ifndef TSDB_HEAD_SYMBOLS_H_
#define TSDB_HEAD_SYMBOLS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "tsdb/labels/labels.h"

namespace tsdb::head {

class SymbolTable final {
 public:
  SymbolTable();
  ~SymbolTable();
  SymbolTable(const SymbolTable&) = delete;
  SymbolTable& operator=(const SymbolTable&) = delete;

  // Writes 2 * lset.size() ids (name, value, name, value, ...) to `ids` and
  // takes one reference on each.
  void Intern(const labels::Labels& lset, uint32_t* ids);
  // Intern(*lsets[i], ids[i]) for i < n, under one lock acquisition.
  void InternAll(const labels::Labels* const* lsets, uint32_t* const* ids,
                 size_t n);

  // Drops one reference on each of ids[0..n).
  void Release(const uint32_t* ids, size_t n);

  // The string of `id`. Lock-free. REQUIRES: a reference on `id` is held.
  std::string_view Get(uint32_t id) const {
    const Page* pages = pages_.load(std::memory_order_acquire);
    const Entry* page = pages[id >> kPageBits].load(std::memory_order_acquire);
    return page[id & kPageMask].str;
  }

  // Live symbols.
  size_t size() const;
  // Estimate of heap bytes held.
  size_t MemoryBytes() const;

 private:
  struct Entry {
    std::string str;
    uint32_t refs = 0;
  };
  using Page = std::atomic<Entry*>;

  static constexpr uint32_t kPageBits = 10;
  static constexpr uint32_t kPageSize = 1u << kPageBits;
  static constexpr uint32_t kPageMask = kPageSize - 1;

  uint32_t InternLocked(std::string_view s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Entry& EntryLocked(uint32_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable std::mutex mu_;
  // id -> entry, in pages of kPageSize entries. The page directory is
  // replaced (never modified in place after publication beyond filling empty
  // slots) when it grows; old directories stay alive until destruction so a
  // lock-free Get racing a growth still reads valid memory.
  std::atomic<Page*> pages_{nullptr};
  size_t num_pages_ ABSL_GUARDED_BY(mu_) = 0;
  size_t dir_capacity_ ABSL_GUARDED_BY(mu_) = 0;
  size_t dir_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::unique_ptr<Page[]>> dirs_ ABSL_GUARDED_BY(mu_);
  uint32_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<uint32_t> free_ids_ ABSL_GUARDED_BY(mu_);
  // string -> id; keys view the entries' strings (which never move).
  absl::flat_hash_map<absl::string_view, uint32_t> index_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tsdb::head

#endif  // TSDB_HEAD_SYMBOLS_H_
