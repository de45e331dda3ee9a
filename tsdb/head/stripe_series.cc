#include "tsdb/head/stripe_series.h"

#include <algorithm>
#include <bit>
#include <new>

namespace tsdb::head {

StripeSeries::Table* StripeSeries::Table::New(size_t capacity) {
  static_assert(sizeof(Table) % alignof(std::atomic<MemSeries*>) == 0);
  void* mem = ::operator new(sizeof(Table) +
                             capacity * sizeof(std::atomic<MemSeries*>));
  auto* t = new (mem) Table{capacity - 1};
  for (size_t i = 0; i < capacity; ++i) {
    new (&t->slots()[i]) std::atomic<MemSeries*>(nullptr);
  }
  return t;
}

void StripeSeries::Table::Delete(Table* t) {
  if (t == nullptr) return;
  t->~Table();
  ::operator delete(t);
}

StripeSeries::StripeSeries(size_t stripes, EpochReclaimer* reclaimer)
    : mask_(stripes - 1),
      shift_(std::countr_zero(stripes)),
      reclaimer_(reclaimer),
      ref_stripes_(std::make_unique<Stripe[]>(stripes)),
      hash_stripes_(std::make_unique<Stripe[]>(stripes)) {}

StripeSeries::~StripeSeries() {
  for (size_t i = 0; i <= mask_; ++i) {
    Table::Delete(ref_stripes_[i].table.load(std::memory_order_relaxed));
    Table::Delete(hash_stripes_[i].table.load(std::memory_order_relaxed));
  }
}

void StripeSeries::Rebuild(Stripe& st, IndexOf index_of) {
  Table* old = st.table.load(std::memory_order_relaxed);
  // At most half full after the rebuild; keep growing geometrically.
  const size_t cap = std::max<size_t>(8, std::bit_ceil(2 * (st.size + 1)));
  Table* t = Table::New(cap);
  if (old != nullptr) {
    for (size_t j = 0; j <= old->mask; ++j) {
      MemSeries* s = old->slots()[j].load(std::memory_order_relaxed);
      if (s == nullptr || s == Tombstone()) continue;
      size_t i = (this->*index_of)(*s) & t->mask;
      while (t->slots()[i].load(std::memory_order_relaxed) != nullptr) {
        i = (i + 1) & t->mask;
      }
      t->slots()[i].store(s, std::memory_order_relaxed);
    }
  }
  st.table.store(t, std::memory_order_release);
  st.used = st.size;
  if (old != nullptr) {
    // Lock-free lookups may still be probing it.
    reclaimer_->Retire([old] { Table::Delete(old); });
  }
}

void StripeSeries::InsertLocked(Stripe& st, MemSeries* s, uint64_t index,
                                IndexOf index_of) {
  Table* t = st.table.load(std::memory_order_relaxed);
  // Keep live + tombstone slots at most 3/4 of the table, so probes end.
  if (t == nullptr || 4 * (st.used + 1) > 3 * (t->mask + 1)) {
    Rebuild(st, index_of);
    t = st.table.load(std::memory_order_relaxed);
  }
  for (size_t i = index & t->mask;; i = (i + 1) & t->mask) {
    MemSeries* e = t->slots()[i].load(std::memory_order_relaxed);
    if (e == nullptr || e == Tombstone()) {
      if (e == nullptr) ++st.used;
      t->slots()[i].store(s, std::memory_order_release);
      ++st.size;
      return;
    }
  }
}

void StripeSeries::InsertByRef(MemSeries* s) {
  Stripe& st = ref_stripes_[RefStripe(s->ref())];
  std::lock_guard lock(st.mu);
  InsertLocked(st, s, RefIndex(s->ref()), &StripeSeries::RefIndexOf);
}

bool StripeSeries::InsertByRefOrUnlinkHash(MemSeries* s) {
  {
    Stripe& st = ref_stripes_[RefStripe(s->ref())];
    std::lock_guard lock(st.mu);
    const SeriesRef ref = s->ref();
    if (Find(st, RefIndex(ref),
             [ref](const MemSeries& x) { return x.ref() == ref; }) == nullptr) {
      InsertLocked(st, s, RefIndex(ref), &StripeSeries::RefIndexOf);
      return true;
    }
  }
  UnlinkHash(s);
  return false;
}

void StripeSeries::UnlinkHash(MemSeries* s) {
  Stripe& st = hash_stripes_[s->hash() & mask_];
  std::lock_guard lock(st.mu);
  Table* t = st.table.load(std::memory_order_relaxed);
  if (t == nullptr) return;
  for (size_t i = HashIndex(s->hash()) & t->mask;; i = (i + 1) & t->mask) {
    MemSeries* e = t->slots()[i].load(std::memory_order_relaxed);
    if (e == nullptr) return;
    if (e == s) {
      t->slots()[i].store(Tombstone(), std::memory_order_release);
      --st.size;
      return;
    }
  }
}

std::vector<MemSeries*> StripeSeries::TakeAll() {
  std::vector<MemSeries*> out;
  auto clear = [&](Stripe& st, bool collect) {
    std::lock_guard lock(st.mu);
    Table* t = st.table.load(std::memory_order_relaxed);
    if (t != nullptr) {
      for (size_t j = 0; j <= t->mask; ++j) {
        MemSeries* s = t->slots()[j].load(std::memory_order_relaxed);
        if (collect && s != nullptr && s != Tombstone()) out.push_back(s);
        t->slots()[j].store(nullptr, std::memory_order_relaxed);
      }
    }
    st.size = st.used = 0;
  };
  for (size_t i = 0; i <= mask_; ++i) {
    clear(ref_stripes_[i], true);
    clear(hash_stripes_[i], false);
  }
  return out;
}

size_t StripeSeries::MemoryBytes() const {
  size_t bytes = 2 * (mask_ + 1) * sizeof(Stripe);
  auto table_bytes = [](const Stripe& st) -> size_t {
    std::lock_guard lock(st.mu);
    const Table* t = st.table.load(std::memory_order_relaxed);
    return t == nullptr ? 0
                        : sizeof(Table) + (t->mask + 1) * sizeof(MemSeries*);
  };
  for (size_t i = 0; i <= mask_; ++i) {
    bytes += table_bytes(ref_stripes_[i]) + table_bytes(hash_stripes_[i]);
  }
  return bytes;
}

}  // namespace tsdb::head
