#include "tsdb/postings/mem_postings.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

namespace tsdb::postings {
namespace {

absl::string_view AV(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// Heap bytes of a string beyond its inline (SSO) buffer.
size_t HeapBytes(const std::string& s) {
  return s.capacity() > 15 ? s.capacity() + 1 : 0;
}

// Removes the refs of `drop` (sorted) from `list` (sorted), in place.
void RemoveSorted(std::vector<SeriesRef>& list,
                  const std::vector<SeriesRef>& drop) {
  auto out = list.begin();
  auto d = drop.begin();
  for (auto in = list.begin(); in != list.end(); ++in) {
    while (d != drop.end() && *d < *in) ++d;
    if (d != drop.end() && *d == *in) continue;
    *out++ = *in;
  }
  list.erase(out, list.end());
  // Give memory back when a list shrank a lot (churn would otherwise keep
  // every list at its historical peak).
  if (list.capacity() > 64 && list.size() < list.capacity() / 4) {
    list.shrink_to_fit();
  }
}

}  // namespace

void MemPostings::Insert(List& list, SeriesRef ref) {
  list.push_back(ref);
  // Walk back to the place of `ref`; usually it is already there.
  size_t i = list.size() - 1;
  while (i > 0 && list[i - 1] > ref) {
    list[i] = list[i - 1];
    --i;
  }
  list[i] = ref;
}

void MemPostings::Add(SeriesRef ref, const labels::Labels& lset) {
  std::unique_lock lock(mu_);
  AddLocked(ref, lset);
}

void MemPostings::AddAll(const SeriesRef* refs,
                         const labels::Labels* const* lsets, size_t n) {
  std::unique_lock lock(mu_);
  for (size_t i = 0; i < n; ++i) AddLocked(refs[i], *lsets[i]);
}

void MemPostings::AddLocked(SeriesRef ref, const labels::Labels& lset) {
  for (const labels::Label& l : lset) {
    auto nit = lists_.find(AV(l.name));
    if (nit == lists_.end()) nit = lists_.try_emplace(l.name).first;
    auto vit = nit->second.find(AV(l.value));
    if (vit == nit->second.end()) vit = nit->second.try_emplace(l.value).first;
    if (unordered_) {
      vit->second.push_back(ref);
    } else {
      Insert(vit->second, ref);
    }
  }
  if (unordered_) {
    all_.push_back(ref);
  } else {
    Insert(all_, ref);
  }
}

void MemPostings::SetUnordered() {
  std::unique_lock lock(mu_);
  unordered_ = true;
}

void MemPostings::EnsureOrder(int threads) {
  std::unique_lock lock(mu_);
  if (!unordered_) return;
  unordered_ = false;
  std::vector<List*> lists;
  lists.push_back(&all_);
  for (auto& [name, values] : lists_) {
    for (auto& [value, list] : values) lists.push_back(&list);
  }
  // Largest first, each thread taking the next list: the few lists that
  // hold most series (all_, a label every series has) land on different
  // threads instead of one thread sorting them in turn.
  std::sort(lists.begin(), lists.end(),
            [](const List* a, const List* b) { return a->size() > b->size(); });
  std::atomic<size_t> next{0};
  auto sort_some = [&lists, &next] {
    for (size_t i = next++; i < lists.size(); i = next++) {
      List& l = *lists[i];
      if (!std::is_sorted(l.begin(), l.end())) std::sort(l.begin(), l.end());
    }
  };
  const size_t n = static_cast<size_t>(std::max(1, threads));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < n; ++t) pool.emplace_back(sort_some);
  sort_some();
  for (std::thread& t : pool) t.join();
}

void MemPostings::Delete(
    const std::vector<std::pair<SeriesRef, labels::Labels>>& series) {
  if (series.empty()) return;
  // Group the refs to drop by list, so each list is rewritten once.
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, List>>
      drops;
  List all_drop;
  all_drop.reserve(series.size());
  for (const auto& [ref, lset] : series) {
    all_drop.push_back(ref);
    for (const labels::Label& l : lset) {
      drops[l.name][l.value].push_back(ref);
    }
  }
  std::sort(all_drop.begin(), all_drop.end());

  std::unique_lock lock(mu_);
  for (auto& [name, values] : drops) {
    auto nit = lists_.find(name);
    if (nit == lists_.end()) continue;
    for (auto& [value, refs] : values) {
      auto vit = nit->second.find(value);
      if (vit == nit->second.end()) continue;
      std::sort(refs.begin(), refs.end());
      RemoveSorted(vit->second, refs);
      if (vit->second.empty()) nit->second.erase(vit);
    }
    if (nit->second.empty()) lists_.erase(nit);
  }
  RemoveSorted(all_, all_drop);
}

std::unique_ptr<Postings> MemPostings::Get(std::string_view name,
                                           std::string_view value) const {
  if (name.empty() && value.empty()) return All();
  std::shared_lock lock(mu_);
  auto nit = lists_.find(AV(name));
  if (nit == lists_.end()) return std::make_unique<EmptyPostings>();
  auto vit = nit->second.find(AV(value));
  if (vit == nit->second.end()) return std::make_unique<EmptyPostings>();
  return std::make_unique<ListPostings>(vit->second);
}

std::unique_ptr<Postings> MemPostings::All() const {
  std::shared_lock lock(mu_);
  return std::make_unique<ListPostings>(all_);
}

std::vector<std::string> MemPostings::LabelNames() const {
  std::vector<std::string> out;
  {
    std::shared_lock lock(mu_);
    out.reserve(lists_.size());
    for (const auto& [name, values] : lists_) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> MemPostings::LabelValues(std::string_view name) const {
  std::vector<std::string> out;
  {
    std::shared_lock lock(mu_);
    auto nit = lists_.find(AV(name));
    if (nit == lists_.end()) return out;
    out.reserve(nit->second.size());
    for (const auto& [value, list] : nit->second) out.push_back(value);
  }
  std::sort(out.begin(), out.end());
  return out;
}

MemPostings::Stats MemPostings::GetStats() const {
  Stats st;
  std::shared_lock lock(mu_);
  st.series = all_.size();
  st.label_names = lists_.size();
  size_t bytes = all_.capacity() * sizeof(SeriesRef);
  bytes += lists_.capacity() * (sizeof(std::string) + sizeof(ValueMap) + 1);
  for (const auto& [name, values] : lists_) {
    st.label_pairs += values.size();
    bytes += HeapBytes(name);
    bytes += values.capacity() * (sizeof(std::string) + sizeof(List) + 1);
    for (const auto& [value, list] : values) {
      st.entries += list.size();
      bytes += HeapBytes(value);
      bytes += list.capacity() * sizeof(SeriesRef);
    }
  }
  st.memory_bytes = bytes;
  return st;
}

}  // namespace tsdb::postings
