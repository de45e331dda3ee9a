#include "tsdb/head/symbols.h"

#include <algorithm>

namespace tsdb::head {
namespace {

absl::string_view AV(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

}  // namespace

SymbolTable::SymbolTable() = default;

SymbolTable::~SymbolTable() {
  Page* dir = pages_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < num_pages_; ++i) {
    delete[] dir[i].load(std::memory_order_relaxed);
  }
}

SymbolTable::Entry& SymbolTable::EntryLocked(uint32_t id) {
  Page* dir = pages_.load(std::memory_order_relaxed);
  return dir[id >> kPageBits].load(std::memory_order_relaxed)[id & kPageMask];
}

uint32_t SymbolTable::InternLocked(std::string_view s) {
  auto it = index_.find(AV(s));
  if (it != index_.end()) {
    ++EntryLocked(it->second).refs;
    return it->second;
  }
  uint32_t id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    id = next_id_++;
    const size_t page = id >> kPageBits;
    if (page >= num_pages_) {
      if (num_pages_ == dir_capacity_) {
        // Grow the directory: copy into a new one and publish it; readers
        // may still be using the old one, which is kept.
        const size_t cap = std::max<size_t>(16, 2 * dir_capacity_);
        auto dir = std::make_unique<Page[]>(cap);
        Page* old = pages_.load(std::memory_order_relaxed);
        for (size_t i = 0; i < num_pages_; ++i) {
          dir[i].store(old[i].load(std::memory_order_relaxed),
                       std::memory_order_relaxed);
        }
        pages_.store(dir.get(), std::memory_order_release);
        dirs_.push_back(std::move(dir));
        dir_capacity_ = cap;
        dir_bytes_ += cap * sizeof(Page);
      }
      pages_.load(std::memory_order_relaxed)[num_pages_].store(
          new Entry[kPageSize], std::memory_order_release);
      ++num_pages_;
    }
  }
  Entry& e = EntryLocked(id);
  e.str.assign(s.data(), s.size());
  e.refs = 1;
  index_.emplace(absl::string_view(e.str.data(), e.str.size()), id);
  return id;
}

void SymbolTable::Intern(const labels::Labels& lset, uint32_t* ids) {
  std::lock_guard lock(mu_);
  for (const labels::Label& l : lset) {
    *ids++ = InternLocked(l.name);
    *ids++ = InternLocked(l.value);
  }
}

void SymbolTable::InternAll(const labels::Labels* const* lsets,
                            uint32_t* const* ids, size_t n) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < n; ++i) {
    uint32_t* out = ids[i];
    for (const labels::Label& l : *lsets[i]) {
      *out++ = InternLocked(l.name);
      *out++ = InternLocked(l.value);
    }
  }
}

void SymbolTable::Release(const uint32_t* ids, size_t n) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < n; ++i) {
    Entry& e = EntryLocked(ids[i]);
    if (--e.refs == 0) {
      index_.erase(absl::string_view(e.str.data(), e.str.size()));
      std::string().swap(e.str);
      free_ids_.push_back(ids[i]);
    }
  }
}

size_t SymbolTable::size() const {
  std::lock_guard lock(mu_);
  return index_.size();
}

size_t SymbolTable::MemoryBytes() const {
  std::lock_guard lock(mu_);
  size_t bytes = num_pages_ * kPageSize * sizeof(Entry);
  bytes += dir_bytes_;
  bytes +=
      index_.capacity() * (sizeof(absl::string_view) + sizeof(uint32_t) + 1);
  bytes += free_ids_.capacity() * sizeof(uint32_t);
  for (const auto& [s, id] : index_) {
    if (s.size() > 15) bytes += s.size() + 1;
  }
  return bytes;
}

}  // namespace tsdb::head
