#include "tsdb/querier/select.h"

#include <algorithm>
#include <utility>

#include "tsdb/base/status_macros.h"
#include "tsdb/querier/postings_for_matchers.h"

namespace tsdb::querier {
namespace {

using chunkenc::Sample;
using chunkenc::SampleIterator;

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
    size_t idx = it_ == nullptr ? next_chunk_ : next_chunk_ - 1;
    while (idx < metas_->size() && (*metas_)[idx].max_time < t) ++idx;
    if (it_ == nullptr || idx != next_chunk_ - 1) {
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
  // Positions on chunk `idx` (before its first sample).
  bool OpenChunk(size_t idx) {
    cur_valid_ = false;
    it_.reset();
    chunk_.reset();
    if (idx >= metas_->size() || (*metas_)[idx].min_time > maxt_) {
      return Finish();
    }
    auto c = reader_.Chunk((*metas_)[idx]);
    if (!c.ok()) return Fail(c.status());
    chunk_ = *std::move(c);
    it_ = chunk_->Iterator();
    next_chunk_ = idx + 1;
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
  size_t next_chunk_ = 0;
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
