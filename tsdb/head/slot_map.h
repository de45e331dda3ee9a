// SlotMap: a small open-addressing hash map from series ref (never 0) to a
// 32-bit slot, for an appender's batch. Unlike absl::flat_hash_map, Clear()
// keeps the table (a batch of the same size follows), and the probe is one
// multiply and a linear scan.
//
// Internal to the head. Thread safety: none (one appender's state).
#ifndef TSDB_HEAD_SLOT_MAP_H_
#define TSDB_HEAD_SLOT_MAP_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tsdb::head {

class SlotMap final {
 public:
  static constexpr uint32_t kNotFound = ~uint32_t{0};

  // The slot of `ref`, or kNotFound. REQUIRES: ref != 0.
  uint32_t Find(uint64_t ref) const {
    if (size_ == 0) return kNotFound;
    for (size_t i = Hash(ref);; i = (i + 1) & mask_) {
      const Entry& e = table_[i];
      if (e.ref == ref) return e.slot;
      if (e.ref == 0) return kNotFound;
    }
  }

  // REQUIRES: ref != 0 and not present.
  void Insert(uint64_t ref, uint32_t slot) {
    if (2 * (size_ + 1) > table_.size()) Grow();
    for (size_t i = Hash(ref);; i = (i + 1) & mask_) {
      Entry& e = table_[i];
      if (e.ref == 0) {
        e.ref = ref;
        e.slot = slot;
        ++size_;
        return;
      }
    }
  }

  // Empties the map, keeping its table unless it is far too big.
  void Clear() {
    if (size_ == 0) return;
    if (table_.size() > 64 * 1024 && size_ * 16 < table_.size()) {
      table_.assign(64, Entry{});
      mask_ = table_.size() - 1;
      shift_ = 64 - 6;
    } else {
      std::fill(table_.begin(), table_.end(), Entry{});
    }
    size_ = 0;
  }

  size_t size() const { return size_; }

 private:
  struct Entry {
    uint64_t ref = 0;
    uint32_t slot = 0;
  };

  size_t Hash(uint64_t ref) const {
    return static_cast<size_t>((ref * 0x9E3779B97F4A7C15ull) >> shift_);
  }

  void Grow() {
    std::vector<Entry> old;
    old.swap(table_);
    const size_t cap = old.empty() ? 64 : 2 * old.size();
    table_.assign(cap, Entry{});
    mask_ = cap - 1;
    shift_ = 64 - __builtin_ctzll(cap);
    size_ = 0;
    for (const Entry& e : old) {
      if (e.ref != 0) Insert(e.ref, e.slot);
    }
  }

  std::vector<Entry> table_;
  size_t mask_ = 0;
  int shift_ = 64;
  size_t size_ = 0;
};

}  // namespace tsdb::head

#endif  // TSDB_HEAD_SLOT_MAP_H_
