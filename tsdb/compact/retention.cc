#include "tsdb/compact/retention.h"

#include <algorithm>

namespace tsdb::compact {
namespace {

// Newest (largest maxTime) first.
std::vector<const RetentionBlock*> NewestFirst(
    const std::vector<RetentionBlock>& blocks) {
  std::vector<const RetentionBlock*> out;
  out.reserve(blocks.size());
  for (const RetentionBlock& b : blocks) out.push_back(&b);
  std::stable_sort(out.begin(), out.end(),
                   [](const RetentionBlock* a, const RetentionBlock* b) {
                     return a->meta.max_time > b->meta.max_time;
                   });
  return out;
}

std::vector<block::Ulid> From(const std::vector<const RetentionBlock*>& bs,
                              size_t i) {
  std::vector<block::Ulid> out;
  for (; i < bs.size(); ++i) out.push_back(bs[i]->meta.ulid);
  return out;
}

}  // namespace

std::vector<block::Ulid> BeyondTimeRetention(
    const std::vector<RetentionBlock>& blocks, int64_t retention_ms) {
  if (blocks.empty() || retention_ms == 0) return {};
  const auto bs = NewestFirst(blocks);
  const int64_t newest = bs[0]->meta.max_time;
  for (size_t i = 1; i < bs.size(); ++i) {
    if (newest - bs[i]->meta.max_time > retention_ms) return From(bs, i);
  }
  return {};
}

std::vector<block::Ulid> BeyondSizeRetention(
    const std::vector<RetentionBlock>& blocks, int64_t head_bytes,
    int64_t max_bytes) {
  if (blocks.empty() || max_bytes <= 0) return {};
  const auto bs = NewestFirst(blocks);
  int64_t sum = head_bytes;
  for (size_t i = 0; i < bs.size(); ++i) {
    sum += static_cast<int64_t>(bs[i]->size_bytes);
    if (sum > max_bytes) return From(bs, i);
  }
  return {};
}

std::vector<block::Ulid> DeletableBlocks(
    const std::vector<RetentionBlock>& blocks,
    const RetentionOptions& options) {
  std::vector<block::Ulid> marked;
  for (const RetentionBlock* b : NewestFirst(blocks)) {
    if (b->meta.compaction.deletable) marked.push_back(b->meta.ulid);
  }
  std::vector<block::Ulid> by_time =
      BeyondTimeRetention(blocks, options.retention_ms);
  std::vector<block::Ulid> by_size =
      BeyondSizeRetention(blocks, options.head_bytes, options.max_bytes);
  // Union in newest-first order.
  std::vector<block::Ulid> out;
  for (const RetentionBlock* b : NewestFirst(blocks)) {
    const block::Ulid& u = b->meta.ulid;
    auto in = [&u](const std::vector<block::Ulid>& v) {
      return std::find(v.begin(), v.end(), u) != v.end();
    };
    if (in(marked) || in(by_time) || in(by_size)) out.push_back(u);
  }
  return out;
}

}  // namespace tsdb::compact
