#include "tsdb/compact/planner.h"

#include <algorithm>

namespace tsdb::compact {

using block::BlockMeta;

std::vector<int64_t> ExponentialBlockRanges(int64_t min_size, int steps,
                                            int step_size) {
  std::vector<int64_t> ranges;
  ranges.reserve(steps > 0 ? steps : 0);
  int64_t cur = min_size;
  for (int i = 0; i < steps; ++i) {
    ranges.push_back(cur);
    cur *= step_size;
  }
  return ranges;
}

std::vector<BlockMeta> SelectOverlapping(const std::vector<BlockMeta>& ds) {
  std::vector<BlockMeta> out;
  if (ds.size() < 2) return out;
  int64_t global_maxt = ds[0].max_time;
  for (size_t i = 1; i < ds.size(); ++i) {
    const BlockMeta& d = ds[i];
    if (d.min_time < global_maxt) {
      // The first overlap also takes the block it overlaps.
      if (out.empty()) out.push_back(ds[i - 1]);
      out.push_back(d);
    } else if (!out.empty()) {
      break;
    }
    global_maxt = std::max(global_maxt, d.max_time);
  }
  return out;
}

std::vector<std::vector<BlockMeta>> SplitByRange(
    const std::vector<BlockMeta>& ds, int64_t tr) {
  std::vector<std::vector<BlockMeta>> out;
  for (size_t i = 0; i < ds.size();) {
    const BlockMeta& m = ds[i];
    // Start of the tr-aligned window holding m.min_time (floor division, as
    // Prometheus does for negative times).
    const int64_t t0 = m.min_time >= 0 ? tr * (m.min_time / tr)
                                       : tr * ((m.min_time - tr + 1) / tr);
    // Misaligned or larger than tr: never compacted at this range.
    if (m.max_time > t0 + tr) {
      ++i;
      continue;
    }
    std::vector<BlockMeta> group;
    for (; i < ds.size(); ++i) {
      if (ds[i].max_time > t0 + tr) break;
      group.push_back(ds[i]);
    }
    if (!group.empty()) out.push_back(std::move(group));
  }
  return out;
}

std::vector<BlockMeta> SelectDirs(const std::vector<BlockMeta>& ds,
                                  const std::vector<int64_t>& ranges) {
  if (ranges.size() < 2 || ds.empty()) return {};
  const int64_t high_time = ds.back().min_time;
  for (size_t r = 1; r < ranges.size(); ++r) {
    const int64_t iv = ranges[r];
    for (auto& p : SplitByRange(ds, iv)) {
      const bool failed =
          std::any_of(p.begin(), p.end(),
                      [](const BlockMeta& m) { return m.compaction.failed; });
      if (failed) continue;
      const int64_t mint = p.front().min_time;
      const int64_t maxt = p.back().max_time;
      // Spans the whole range (gaps allowed), or lies before the most recent
      // block: no block of the same size can still join it.
      if ((maxt - mint == iv || maxt <= high_time) && p.size() > 1) return p;
    }
  }
  return {};
}

namespace {

std::vector<block::Ulid> Ulids(const std::vector<BlockMeta>& ms) {
  std::vector<block::Ulid> out;
  out.reserve(ms.size());
  for (const BlockMeta& m : ms) out.push_back(m.ulid);
  return out;
}

}  // namespace

std::vector<block::Ulid> Plan(const std::vector<BlockMeta>& metas,
                              const std::vector<int64_t>& ranges,
                              const PlanOptions& options) {
  if (metas.empty() || ranges.empty()) return {};
  std::vector<BlockMeta> ds = metas;
  std::stable_sort(ds.begin(), ds.end(),
                   [](const BlockMeta& a, const BlockMeta& b) {
                     return a.min_time < b.min_time;
                   });

  if (options.allow_overlapping) {
    std::vector<BlockMeta> overlapping = SelectOverlapping(ds);
    if (!overlapping.empty()) return Ulids(overlapping);
  }

  // Leave out the block most recently cut from the head.
  ds.pop_back();
  std::vector<BlockMeta> picked = SelectDirs(ds, ranges);
  if (!picked.empty()) return Ulids(picked);

  // A big enough block with > 5% tombstones, or a small one that is
  // entirely deleted. Like Prometheus, this assumes one tombstone per
  // series.
  const int64_t big = ranges[ranges.size() / 2];
  for (size_t i = ds.size(); i-- > 0;) {
    const BlockMeta& m = ds[i];
    if (m.max_time - m.min_time < big) {
      if (m.stats.num_tombstones > 0 &&
          m.stats.num_tombstones >= m.stats.num_series) {
        return {m.ulid};
      }
      break;
    }
    if (static_cast<double>(m.stats.num_tombstones) /
            static_cast<double>(m.stats.num_series + 1) >
        0.05) {
      return {m.ulid};
    }
  }
  return {};
}

}  // namespace tsdb::compact
