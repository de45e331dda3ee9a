// StripeSeries: the head's series maps, by ref and by label hash, each split
// into lock stripes (Prometheus's stripeSeries; 16384 stripes by default).
//
//   by ref:  stripe = (ref / 64) & mask, ref -> MemSeries*
//   by hash: stripe = hash & mask,       hash -> MemSeries* (equal hashes
//            of different label sets simply occupy several slots)
//
// Runs of 64 consecutive refs share a ref stripe (Prometheus uses ref & mask;
// the mapping is internal): series created together are appended together
// (a scrape), and this keeps their table slots on shared cache lines.
//
// Every stripe has its own lock (writers: creation, garbage collection) and
// sits on its own cache line. Lookups take no lock at all: append by ref is
// one lookup per sample, and with a reader-writer lock per stripe the lock's
// two atomic read-modify-writes were about a third of an append by ref
// (perf); lookups by labels paid the same. Each stripe holds an
// open-addressing table of atomic pointers that lookups probe with acquire
// loads; writers fill slots with release stores, delete by storing a
// tombstone, and grow by publishing a new table and retiring the old one to
// the EpochReclaimer.
//
// REQUIRES for GetByRef and GetByHash: the caller holds an epoch pin
// (isolation.h), which keeps the tables it probes and the series it reads
// allocated.
//
// Ownership: the maps hold raw pointers; the Head owns the series and frees
// them after garbage collection (Collect) plus a grace period.
//
// Lock order: ref stripe -> series mu -> hash stripe (Collect). Every other
// method holds one stripe lock at a time and never a series lock while
// taking a stripe lock.
//
// Thread safety: all methods may be called concurrently.
#ifndef TSDB_HEAD_STRIPE_SERIES_H_
#define TSDB_HEAD_STRIPE_SERIES_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "tsdb/head/isolation.h"
#include "tsdb/head/series.h"
#include "tsdb/postings/postings.h"

namespace tsdb::head {

class StripeSeries final {
 public:
  // REQUIRES: stripes is a power of two. `reclaimer` (not owned) receives
  // replaced tables.
  StripeSeries(size_t stripes, EpochReclaimer* reclaimer);
  ~StripeSeries();
  StripeSeries(const StripeSeries&) = delete;
  StripeSeries& operator=(const StripeSeries&) = delete;

  // The series with `ref`, or nullptr. Lock-free. REQUIRES: an epoch pin.
  MemSeries* GetByRef(SeriesRef ref) const {
    return Find(ref_stripes_[RefStripe(ref)], RefIndex(ref),
                [ref](const MemSeries& s) { return s.ref() == ref; });
  }

  // Starts loading the series that has ref `ref` into the cache, if it is
  // at its home slot (no probing, nothing dereferenced): a hint for a lookup
  // soon. Never faults, whatever the ref. REQUIRES: an epoch pin.
  void PrefetchByRef(SeriesRef ref) const {
    const Table* t =
        ref_stripes_[RefStripe(ref)].table.load(std::memory_order_acquire);
    if (t == nullptr) return;
    const MemSeries* s =
        t->slots()[RefIndex(ref) & t->mask].load(std::memory_order_relaxed);
    if (s == nullptr || s == Tombstone()) return;
    // The fields a first append reads (lock, ref, last sample) are in the
    // first 80 bytes; malloc aligns to 16, so they span up to two lines.
    __builtin_prefetch(s, 1);
    __builtin_prefetch(reinterpret_cast<const char*>(s) + 72, 1);
  }
  // Starts loading the ref-table slot of `ref` (the first stage of a
  // PrefetchByRef(ref) a little later, whose load of the slot then hits).
  // Never faults, whatever the ref. REQUIRES: an epoch pin.
  void PrefetchRefSlot(SeriesRef ref) const {
    const Table* t =
        ref_stripes_[RefStripe(ref)].table.load(std::memory_order_acquire);
    if (t == nullptr) return;
    __builtin_prefetch(t->slots() + (RefIndex(ref) & t->mask));
  }

  // Creation in bulk (Head::CreateSeriesWithRefs), three stages a few
  // series apart: the stripes' headers, then (their table pointers now
  // cached) the home slots, then the lookup itself. Never fault.
  void PrefetchStripes(uint64_t hash, SeriesRef ref) const {
    __builtin_prefetch(&hash_stripes_[hash & mask_]);
    __builtin_prefetch(&ref_stripes_[RefStripe(ref)]);
  }
  void PrefetchSlots(uint64_t hash, SeriesRef ref) const {
    if (const Table* t =
            hash_stripes_[hash & mask_].table.load(std::memory_order_acquire)) {
      __builtin_prefetch(t->slots() + (HashIndex(hash) & t->mask));
    }
    PrefetchRefSlot(ref);
  }

  // The series with label hash `hash` for which eq(const MemSeries&) holds,
  // or nullptr. Lock-free. REQUIRES: an epoch pin.
  template <typename Eq>
  MemSeries* GetByHash(uint64_t hash, const Eq& eq) const {
    return Find(hash_stripes_[hash & mask_], HashIndex(hash),
                [&](const MemSeries& s) { return s.hash() == hash && eq(s); });
  }

  // Links `s` by its hash unless an equal series (eq) is there; returns the
  // series now linked (s, or the existing one). When linking `s`, first
  // calls s->set_ref(assign_ref()) under the stripe lock, so refs are handed
  // out only to the winners of creation races.
  template <typename Eq, typename AssignRef>
  MemSeries* InsertByHash(MemSeries* s, const Eq& eq,
                          const AssignRef& assign_ref) {
    const uint64_t hash = s->hash();
    Stripe& st = hash_stripes_[hash & mask_];
    std::lock_guard lock(st.mu);
    if (MemSeries* e = Find(st, HashIndex(hash), [&](const MemSeries& x) {
          return x.hash() == hash && eq(x);
        })) {
      return e;
    }
    s->set_ref(assign_ref());
    InsertLocked(st, s, HashIndex(hash), &StripeSeries::HashIndexOf);
    return s;
  }

  // Links `s` by its ref. REQUIRES: no series with that ref is linked.
  void InsertByRef(MemSeries* s);
  // For `s` just linked by hash: links it by its ref, or, if another series
  // holds that ref, unlinks it by hash and returns false (the caller then
  // retires it: lock-free readers may still see it).
  bool InsertByRefOrUnlinkHash(MemSeries* s);

  // Garbage collection: for each series linked by ref, calls
  // should_delete(MemSeries&) (under the ref stripe's lock; it takes s.mu
  // itself); unlinks (by ref and by hash) every series for which it returned
  // true and returns them. Series not yet linked by ref are not visited.
  template <typename Pred>
  std::vector<MemSeries*> Collect(const Pred& should_delete) {
    std::vector<MemSeries*> out;
    for (size_t i = 0; i <= mask_; ++i) {
      Stripe& st = ref_stripes_[i];
      std::lock_guard lock(st.mu);
      Table* t = st.table.load(std::memory_order_relaxed);
      if (t == nullptr) continue;
      for (size_t j = 0; j <= t->mask; ++j) {
        MemSeries* s = t->slots()[j].load(std::memory_order_relaxed);
        if (s == nullptr || s == Tombstone() || !should_delete(*s)) continue;
        t->slots()[j].store(Tombstone(), std::memory_order_release);
        --st.size;
        UnlinkHash(s);
        out.push_back(s);
      }
    }
    return out;
  }

  // Calls fn(MemSeries&) for every series linked by ref, holding that
  // stripe's lock (fn may take s.mu).
  template <typename Fn>
  void ForEach(const Fn& fn) const {
    for (size_t i = 0; i <= mask_; ++i) {
      const Stripe& st = ref_stripes_[i];
      std::lock_guard lock(st.mu);
      const Table* t = st.table.load(std::memory_order_relaxed);
      if (t == nullptr) continue;
      for (size_t j = 0; j <= t->mask; ++j) {
        MemSeries* s = t->slots()[j].load(std::memory_order_relaxed);
        if (s != nullptr && s != Tombstone()) fn(*s);
      }
    }
  }

  // Unlinks and returns every series (for the Head's destructor).
  std::vector<MemSeries*> TakeAll();

  size_t stripes() const { return mask_ + 1; }
  // Heap bytes of the stripes and tables (estimate).
  size_t MemoryBytes() const;

 private:
  // An open-addressing table: the header and its slots in one allocation.
  struct Table {
    size_t mask;
    std::atomic<MemSeries*>* slots() {
      return reinterpret_cast<std::atomic<MemSeries*>*>(this + 1);
    }
    const std::atomic<MemSeries*>* slots() const {
      return reinterpret_cast<const std::atomic<MemSeries*>*>(this + 1);
    }
    static Table* New(size_t capacity);
    static void Delete(Table* t);
  };
  struct alignas(64) Stripe {
    mutable std::mutex mu;               // writers
    std::atomic<Table*> table{nullptr};  // owned; lookups lock-free
    size_t size = 0;                     // GUARDED_BY(mu): live slots
    size_t used = 0;  // GUARDED_BY(mu): live + tombstone slots
  };
  // Where in its stripe's table a series goes.
  using IndexOf = uint64_t (StripeSeries::*)(const MemSeries&) const;

  static constexpr int kRefBlockBits = 6;

  size_t RefStripe(SeriesRef ref) const {
    return (ref >> kRefBlockBits) & mask_;
  }
  // Dense within a stripe: consecutive blocks of the stripe follow on.
  uint64_t RefIndex(SeriesRef ref) const {
    return ((ref >> (kRefBlockBits + shift_)) << kRefBlockBits) |
           (ref & ((uint64_t{1} << kRefBlockBits) - 1));
  }
  uint64_t HashIndex(uint64_t hash) const { return hash >> shift_; }
  uint64_t RefIndexOf(const MemSeries& s) const { return RefIndex(s.ref()); }
  uint64_t HashIndexOf(const MemSeries& s) const { return HashIndex(s.hash()); }
  static MemSeries* Tombstone() {
    return reinterpret_cast<MemSeries*>(uintptr_t{1});
  }

  template <typename Match>
  static MemSeries* Find(const Stripe& st, uint64_t index, const Match& match) {
    const Table* t = st.table.load(std::memory_order_acquire);
    if (t == nullptr) return nullptr;
    const std::atomic<MemSeries*>* slots = t->slots();
    for (size_t i = index & t->mask;; i = (i + 1) & t->mask) {
      MemSeries* s = slots[i].load(std::memory_order_acquire);
      if (s == nullptr) return nullptr;
      if (s != Tombstone() && match(*s)) return s;
    }
  }

  // REQUIRES: st.mu held.
  void InsertLocked(Stripe& st, MemSeries* s, uint64_t index, IndexOf index_of);
  // Replaces the stripe's table by one sized for `size + 1` live entries.
  void Rebuild(Stripe& st, IndexOf index_of);
  void UnlinkHash(MemSeries* s);

  const size_t mask_;
  const int shift_;  // log2(stripes)
  EpochReclaimer* const reclaimer_;
  std::unique_ptr<Stripe[]> ref_stripes_;
  std::unique_ptr<Stripe[]> hash_stripes_;
};

}  // namespace tsdb::head

#endif  // TSDB_HEAD_STRIPE_SERIES_H_
