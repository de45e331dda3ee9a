// OooSeries: sorted inserts into the open out-of-order chunk.
#include "tsdb/head/ooo.h"

#include <algorithm>
#include <iterator>

namespace tsdb::head {

bool OooSeries::Insert(int64_t t, double v, uint64_t seq, uint64_t gen,
                       size_t cap) {
  if (chunks_.empty() || chunks_.back().gen != gen ||
      chunks_.back().samples.size() >= cap) {
    OooChunk c;
    c.id = next_id_++;
    c.gen = gen;
    c.samples.reserve(std::min<size_t>(cap, 8));
    chunks_.push_back(std::move(c));
  }
  std::vector<OooSample>& s = chunks_.back().samples;
  // Out-of-order samples usually arrive in order among themselves.
  if (s.empty() || t > s.back().t) {
    s.push_back(OooSample{t, v, seq});
    return true;
  }
  auto it =
      std::lower_bound(s.begin(), s.end(), t,
                       [](const OooSample& a, int64_t ts) { return a.t < ts; });
  if (it != s.end() && it->t == t) return false;
  s.insert(it, OooSample{t, v, seq});
  return true;
}

size_t OooSeries::DropThrough(uint64_t gen) {
  size_t n = 0;
  size_t removed = 0;
  while (n < chunks_.size() && chunks_[n].gen <= gen) {
    removed += chunks_[n].samples.size();
    ++n;
  }
  chunks_.erase(chunks_.begin(),
                chunks_.begin() + static_cast<std::ptrdiff_t>(n));
  return removed;
}

const OooChunk* OooSeries::Find(uint64_t id, int bits) const {
  if (chunks_.empty()) return nullptr;
  const uint64_t mask = (uint64_t{1} << bits) - 1;
  const uint64_t idx = (id - chunks_.front().id) & mask;
  if (idx >= chunks_.size()) return nullptr;
  return &chunks_[idx];
}

size_t OooSeries::MemoryBytes() const {
  size_t b = sizeof(OooSeries) + chunks_.capacity() * sizeof(OooChunk);
  for (const OooChunk& c : chunks_) {
    b += c.samples.capacity() * sizeof(OooSample);
  }
  return b;
}

}  // namespace tsdb::head
