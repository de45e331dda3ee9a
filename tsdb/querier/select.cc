#include "tsdb/querier/select.h"

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include "tsdb/base/status_macros.h"
#include "tsdb/querier/postings_for_matchers.h"

namespace tsdb::querier {
namespace {

using chunkenc::Sample;
using chunkenc::SampleIterator;

// Iterates over samples sorted by timestamp (a merged group of chunks).
class VectorIterator final : public SampleIterator {
 public:
  explicit VectorIterator(std::vector<Sample> samples)
      : samples_(std::move(samples)) {}
  bool Next() override {
    if (pos_ == kBefore) {
      pos_ = 0;
    } else if (pos_ < samples_.size()) {
      ++pos_;
    }
    return pos_ < samples_.size();
  }
  bool Seek(int64_t t) override {
    if (pos_ == kBefore) pos_ = 0;
    if (pos_ < samples_.size() && samples_[pos_].t >= t) return true;
    auto it = std::lower_bound(
        samples_.begin() +
            static_cast<std::ptrdiff_t>(std::min(pos_, samples_.size())),
        samples_.end(), t,
        [](const Sample& a, int64_t ts) { return a.t < ts; });
    pos_ = static_cast<size_t>(it - samples_.begin());
    return pos_ < samples_.size();
  }
  Sample At() const override { return samples_[pos_]; }
  absl::Status status() const override { return absl::OkStatus(); }

 private:
  // Before the first sample; Next() wraps it to 0.
  static constexpr size_t kBefore = ~size_t{0};
  std::vector<Sample> samples_;
  size_t pos_ = kBefore;
};

// Walks the chunks of one series, yielding samples in [mint, maxt] that are
// not deleted.
class ChunkSeriesIterator final : public SampleIterator {
 public:
  ChunkSeriesIterator(const ChunkReader& reader,
                      std::shared_ptr<const std::vector<ChunkMeta>> metas,
                      std::shared_ptr<const tombstones::Intervals> deleted,
                      int64_t mint, int64_t maxt)
      : reader_(reader),
        metas_(std::move(metas)),
        deleted_(std::move(deleted)),
        mint_(mint),
        maxt_(maxt) {}

  bool Next() override {
    if (done_) return false;
    for (;;) {
      if (it_ == nullptr || !it_->Next()) {
        if (it_ != nullptr && !it_->status().ok()) return Fail(it_->status());
        if (!OpenChunk(next_chunk_)) return false;
        continue;
      }
      if (Accept(it_->At())) return true;
      if (it_->At().t > maxt_) return Finish();
    }
  }

  bool Seek(int64_t t) override {
    if (done_) return false;
    if (it_ != nullptr && cur_valid_ && it_->At().t >= t) return true;
    t = std::max(t, mint_);
    // Skip chunks that end before t.
    size_t idx = it_ == nullptr ? next_chunk_ : cur_start_;
    while (idx < metas_->size() && (*metas_)[idx].max_time < t) ++idx;
    if (it_ == nullptr || idx != cur_start_) {
      if (!OpenChunk(idx)) return false;
    }
    if (!it_->Seek(t)) {
      if (!it_->status().ok()) return Fail(it_->status());
      return Next();
    }
    if (Accept(it_->At())) return true;
    if (it_->At().t > maxt_) return Finish();
    return Next();
  }

  Sample At() const override { return it_->At(); }
  absl::Status status() const override { return status_; }

 private:
  // Positions on chunk `idx` (before its first sample). Chunks that
  // overlap it (directly or through each other; the head's out-of-order
  // chunks, blocks from vertical compaction) are read with it and merged:
  // samples by timestamp, one per timestamp, the one of the chunk listed
  // first winning (Prometheus's chained merge keeps one of them too).
  bool OpenChunk(size_t idx) {
    cur_valid_ = false;
    it_.reset();
    chunk_.reset();
    const std::vector<ChunkMeta>& m = *metas_;
    if (idx >= m.size() || m[idx].min_time > maxt_) return Finish();
    size_t end = idx + 1;
    int64_t group_max = m[idx].max_time;
    while (end < m.size() && m[end].min_time <= group_max) {
      group_max = std::max(group_max, m[end].max_time);
      ++end;
    }
    cur_start_ = idx;
    next_chunk_ = end;
    if (end == idx + 1) {
      auto c = reader_.Chunk(m[idx]);
      if (!c.ok()) return Fail(c.status());
      chunk_ = *std::move(c);
      it_ = chunk_->Iterator();
      return true;
    }
    std::vector<Sample> merged;
    for (size_t i = idx; i < end; ++i) {
      auto c = reader_.Chunk(m[i]);
      if (!c.ok()) return Fail(c.status());
      std::unique_ptr<SampleIterator> it = (*c)->Iterator();
      std::vector<Sample> part;
      while (it->Next()) part.push_back(it->At());
      if (!it->status().ok()) return Fail(it->status());
      std::vector<Sample> out;
      out.reserve(merged.size() + part.size());
      size_t a = 0, b = 0;
      while (a < merged.size() || b < part.size()) {
        if (b == part.size() ||
            (a < merged.size() && merged[a].t <= part[b].t)) {
          // Equal timestamps: the earlier chunk's sample stays.
          if (b < part.size() && merged[a].t == part[b].t) ++b;
          out.push_back(merged[a++]);
        } else {
          out.push_back(part[b++]);
        }
      }
      merged = std::move(out);
    }
    it_ = std::make_unique<VectorIterator>(std::move(merged));
    return true;
  }

  bool Accept(const Sample& s) {
    cur_valid_ = false;
    if (s.t < mint_ || s.t > maxt_) return false;
    while (del_pos_ < deleted_->size() && (*deleted_)[del_pos_].maxt < s.t) {
      ++del_pos_;
    }
    if (del_pos_ < deleted_->size() && (*deleted_)[del_pos_].InBounds(s.t)) {
      return false;
    }
    cur_valid_ = true;
    return true;
  }

  bool Finish() {
    done_ = true;
    cur_valid_ = false;
    return false;
  }
  bool Fail(absl::Status s) {
    status_ = std::move(s);
    return Finish();
  }

  const ChunkReader& reader_;
  std::shared_ptr<const std::vector<ChunkMeta>> metas_;
  std::shared_ptr<const tombstones::Intervals> deleted_;
  const int64_t mint_;
  const int64_t maxt_;
  std::unique_ptr<chunkenc::Chunk> chunk_;
  std::unique_ptr<SampleIterator> it_;
  size_t next_chunk_ = 0;  // first chunk after the open group
  size_t cur_start_ = 0;   // first chunk of the open group
  size_t del_pos_ = 0;
  bool cur_valid_ = false;
  bool done_ = false;
  absl::Status status_;
};

class ChunkSeries final : public Series {
 public:
  ChunkSeries(const ChunkReader& reader, labels::Labels lset,
              std::vector<ChunkMeta> metas, tombstones::Intervals deleted,
              int64_t mint, int64_t maxt)
      : reader_(reader),
        labels_(std::move(lset)),
        metas_(
            std::make_shared<const std::vector<ChunkMeta>>(std::move(metas))),
        deleted_(
            std::make_shared<const tombstones::Intervals>(std::move(deleted))),
        mint_(mint),
        maxt_(maxt) {}

  const labels::Labels& Labels() const override { return labels_; }
  std::unique_ptr<SampleIterator> Iterator() const override {
    return std::make_unique<ChunkSeriesIterator>(reader_, metas_, deleted_,
                                                 mint_, maxt_);
  }

 private:
  const ChunkReader& reader_;
  labels::Labels labels_;
  std::shared_ptr<const std::vector<ChunkMeta>> metas_;
  std::shared_ptr<const tombstones::Intervals> deleted_;
  int64_t mint_;
  int64_t maxt_;
};

class SelectSeriesSet final : public SeriesSet {
 public:
  SelectSeriesSet(const IndexReader& index, const ChunkReader& chunks,
                  std::unique_ptr<postings::Postings> p,
                  const SelectOptions& opts)
      : index_(index), chunks_(chunks), postings_(std::move(p)), opts_(opts) {}

  bool Next() override {
    while (status_.ok() && postings_->Next()) {
      const SeriesRef ref = postings_->At();
      labels::Labels lset;
      std::vector<ChunkMeta> metas;
      if (absl::Status s = index_.Series(ref, &lset, &metas); !s.ok()) {
        // A series removed since the postings were taken (head GC).
        if (absl::IsNotFound(s)) continue;
        status_ = std::move(s);
        return false;
      }
      metas.erase(std::remove_if(metas.begin(), metas.end(),
                                 [&](const ChunkMeta& m) {
                                   return m.max_time < opts_.mint ||
                                          m.min_time > opts_.maxt;
                                 }),
                  metas.end());
      if (metas.empty()) continue;
      tombstones::Intervals deleted;
      if (opts_.deleted != nullptr) deleted = (*opts_.deleted)(ref);
      if (!deleted.empty()) {
        metas.erase(std::remove_if(
                        metas.begin(), metas.end(),
                        [&](const ChunkMeta& m) {
                          for (const tombstones::Interval& d : deleted) {
                            if (d.mint <= m.min_time && d.maxt >= m.max_time) {
                              return true;
                            }
                          }
                          return false;
                        }),
                    metas.end());
        if (metas.empty()) continue;
      }
      cur_ = std::make_unique<ChunkSeries>(chunks_, std::move(lset),
                                           std::move(metas), std::move(deleted),
                                           opts_.mint, opts_.maxt);
      return true;
    }
    if (status_.ok()) status_ = postings_->status();
    cur_.reset();
    return false;
  }

  const Series& At() const override { return *cur_; }
  absl::Status status() const override { return status_; }

 private:
  const IndexReader& index_;
  const ChunkReader& chunks_;
  std::unique_ptr<postings::Postings> postings_;
  SelectOptions opts_;
  std::unique_ptr<ChunkSeries> cur_;
  absl::Status status_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SeriesSet>> Select(
    const IndexReader& index, const ChunkReader& chunks,
    const std::vector<labels::Matcher>& matchers, const SelectOptions& opts) {
  TSDB_ASSIGN_OR_RETURN(std::unique_ptr<postings::Postings> p,
                        PostingsForMatchers(index, matchers));
  if (opts.sorted) p = index.SortedPostings(std::move(p));
  return std::unique_ptr<SeriesSet>(
      new SelectSeriesSet(index, chunks, std::move(p), opts));
}

}  // namespace tsdb::querier
