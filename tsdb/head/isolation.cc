#include "tsdb/head/isolation.h"

#include <algorithm>
#include <utility>

namespace tsdb::head {

uint64_t Isolation::BeginCommit() {
  std::lock_guard lock(mu_);
  commits_.emplace_back();
  return next_seq_++;
}

void Isolation::EndCommit(uint64_t seq, uint64_t depends_on) {
  std::lock_guard lock(mu_);
  Commit& c = commits_[seq - watermark_ - 1];
  c.done = true;
  c.depends_on = depends_on;
  // Advance over the ended prefix, but only to points that every commit
  // before them depend on no later than.
  uint64_t max_depends_on = 0;
  size_t advance = 0;
  for (size_t i = 0; i < commits_.size() && commits_[i].done; ++i) {
    max_depends_on = std::max(max_depends_on, commits_[i].depends_on);
    if (max_depends_on <= watermark_ + i + 1) advance = i + 1;
  }
  if (advance == 0) return;
  commits_.erase(commits_.begin(), commits_.begin() + advance);
  watermark_ += advance;
  watermark_atomic_.store(watermark_, std::memory_order_release);
  UpdateLowLocked();
}

uint64_t Isolation::OpenRead() {
  std::lock_guard lock(mu_);
  ++readers_[watermark_];
  UpdateLowLocked();
  return watermark_;
}

void Isolation::CloseRead(uint64_t watermark) {
  std::lock_guard lock(mu_);
  auto it = readers_.find(watermark);
  if (it == readers_.end()) return;
  if (--it->second == 0) readers_.erase(it);
  UpdateLowLocked();
}

void Isolation::UpdateLowLocked() {
  uint64_t low = watermark_;
  if (!readers_.empty()) low = std::min(low, readers_.begin()->first);
  low_.store(low, std::memory_order_release);
}

size_t Isolation::open_commits() const {
  std::lock_guard lock(mu_);
  return commits_.size();
}

size_t Isolation::open_reads() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [w, count] : readers_) n += count;
  return n;
}

uint64_t EpochReclaimer::Pin() {
  std::lock_guard lock(mu_);
  ++pins_[epoch_];
  return epoch_;
}

void EpochReclaimer::Unpin(uint64_t epoch) {
  std::lock_guard lock(mu_);
  auto it = pins_.find(epoch);
  if (it == pins_.end()) return;
  if (--it->second == 0) pins_.erase(it);
}

void EpochReclaimer::Retire(std::vector<FreeFn> frees) {
  if (frees.empty()) return;
  std::lock_guard lock(mu_);
  retired_.push_back(Retired{epoch_, std::move(frees)});
  ++epoch_;
  has_retired_.store(true, std::memory_order_relaxed);
}

void EpochReclaimer::Retire(FreeFn free) {
  std::vector<FreeFn> v;
  v.push_back(std::move(free));
  Retire(std::move(v));
}

std::vector<EpochReclaimer::FreeFn> EpochReclaimer::TakeReclaimable() {
  std::vector<FreeFn> out;
  std::lock_guard lock(mu_);
  // Pins taken at epoch e <= r may have seen objects retired at r.
  const uint64_t min_pin = pins_.empty() ? ~uint64_t{0} : pins_.begin()->first;
  while (!retired_.empty() && retired_.front().epoch < min_pin) {
    for (FreeFn& f : retired_.front().frees) out.push_back(std::move(f));
    retired_.pop_front();
  }
  has_retired_.store(!retired_.empty(), std::memory_order_relaxed);
  return out;
}

std::vector<EpochReclaimer::FreeFn> EpochReclaimer::TakeAll() {
  std::vector<FreeFn> out;
  std::lock_guard lock(mu_);
  for (Retired& r : retired_) {
    for (FreeFn& f : r.frees) out.push_back(std::move(f));
  }
  retired_.clear();
  has_retired_.store(false, std::memory_order_relaxed);
  return out;
}

size_t EpochReclaimer::pins() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [e, count] : pins_) n += count;
  return n;
}

}  // namespace tsdb::head
