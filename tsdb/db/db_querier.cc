// DB::Querier: reads blocks and the head over a time range (db.h, and
// tsdb/docs/db.md "Reading").
#include <algorithm>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tsdb/base/status_macros.h"
#include "tsdb/db/db.h"
#include "tsdb/querier/postings_for_matchers.h"
#include "tsdb/querier/select.h"

namespace tsdb::db {

class DB::DBQuerier final : public db::Querier {
 public:
  DBQuerier(DB* db, int64_t mint, int64_t maxt,
            std::shared_ptr<const BlockSet> blocks)
      : db_(db), mint_(mint), maxt_(maxt), blocks_(std::move(blocks)) {
    for (const auto& b : blocks_->blocks) {
      const block::BlockMeta& m = b->meta();
      if (m.min_time <= maxt_ && m.max_time > mint_)
        sources_.push_back(b.get());
    }
    head::Head* h = db_->head();
    int64_t head_min = h->MinTime();
    int64_t head_max = h->MaxTime();
    if (db_->opts_.out_of_order_time_window > 0 || db_->wbl_ != nullptr) {
      // Out-of-order samples may be older than the in-order head.
      const head::HeadStats hs = h->Stats();
      head_min = std::min(head_min, hs.ooo_min_time);
      head_max = std::max(head_max, hs.ooo_max_time);
    }
    // As Prometheus: no head reader unless the head overlaps the range (so
    // label names and values of a range after the head are empty).
    if (head_min != INT64_MAX && maxt_ >= head_min && mint_ <= head_max) {
      head_ = h->Readers(mint_, maxt_);
    }
  }

  absl::StatusOr<std::unique_ptr<querier::SeriesSet>> Select(
      const std::vector<labels::Matcher>& matchers) override {
    std::vector<std::unique_ptr<querier::SeriesSet>> sets;
    for (const block::Block* b : sources_) {
      const block::Block* bp = b;
      auto fn = std::make_unique<querier::DeletedIntervalsFn>(
          [bp](SeriesRef r) { return bp->tombstones().Get(r); });
      querier::SelectOptions so;
      so.mint = std::max(mint_, b->meta().min_time);
      so.maxt = std::min(maxt_, b->meta().max_time - 1);
      so.sorted = true;
      so.deleted = bp->tombstones().NumTombstones() > 0 ? fn.get() : nullptr;
      TSDB_ASSIGN_OR_RETURN(
          auto set, querier::Select(b->index(), b->chunks(), matchers, so));
      fns_.push_back(std::move(fn));
      sets.push_back(std::move(set));
    }
    if (head_.index != nullptr) {
      DB* db = db_;
      auto fn = std::make_unique<querier::DeletedIntervalsFn>(
          [db](SeriesRef r) { return db->head_tombstones_.Get(r); });
      querier::SelectOptions so;
      so.mint = mint_;
      so.maxt = maxt_;
      so.sorted = true;
      so.deleted =
          db_->head_tombstones_.NumTombstones() > 0 ? fn.get() : nullptr;
      TSDB_ASSIGN_OR_RETURN(
          auto set, querier::Select(*head_.index, *head_.chunks, matchers, so));
      fns_.push_back(std::move(fn));
      sets.push_back(std::move(set));
    }
    return querier::MergeSeriesSets(std::move(sets));
  }

  absl::StatusOr<std::vector<std::string>> LabelNames(
      const std::vector<labels::Matcher>& matchers) override {
    std::set<std::string> names;
    auto collect = [&](const IndexReader& index) -> absl::Status {
      if (matchers.empty()) {
        TSDB_ASSIGN_OR_RETURN(std::vector<std::string> n, index.LabelNames());
        names.insert(n.begin(), n.end());
        return absl::OkStatus();
      }
      return ForEachSeries(index, matchers, [&](const labels::Labels& lset) {
        for (const labels::Label& l : lset) names.emplace(l.name);
      });
    };
    for (const block::Block* b : sources_)
      TSDB_RETURN_IF_ERROR(collect(b->index()));
    if (head_.index != nullptr) TSDB_RETURN_IF_ERROR(collect(*head_.index));
    return std::vector<std::string>(names.begin(), names.end());
  }

  absl::StatusOr<std::vector<std::string>> LabelValues(
      std::string_view name,
      const std::vector<labels::Matcher>& matchers) override {
    std::set<std::string> values;
    auto collect = [&](const IndexReader& index) -> absl::Status {
      if (matchers.empty()) {
        TSDB_ASSIGN_OR_RETURN(std::vector<std::string> v,
                              index.LabelValues(name));
        values.insert(v.begin(), v.end());
        return absl::OkStatus();
      }
      return ForEachSeries(index, matchers, [&](const labels::Labels& lset) {
        std::string_view v = lset.Get(name);
        if (!v.empty()) values.emplace(v);
      });
    };
    for (const block::Block* b : sources_)
      TSDB_RETURN_IF_ERROR(collect(b->index()));
    if (head_.index != nullptr) TSDB_RETURN_IF_ERROR(collect(*head_.index));
    return std::vector<std::string>(values.begin(), values.end());
  }

  absl::Status SelectChunks(
      const std::vector<labels::Matcher>& matchers,
      const std::function<absl::Status(const ChunkSeries&)>& fn) override {
    TSDB_ASSIGN_OR_RETURN(auto set, Select(matchers));
    TSDB_ASSIGN_OR_RETURN(const chunkenc::ChunkCodec* codec,
                          db_->registry_->codecs.Get(1));
    const int per = db_->opts_.samples_per_chunk;
    ChunkSeries cs;
    while (set->Next()) {
      cs.lset = set->At().Labels();
      cs.chunks.clear();
      auto it = set->At().Iterator();
      std::unique_ptr<chunkenc::Chunk> chunk;
      std::unique_ptr<chunkenc::ChunkAppender> app;
      int n = 0;
      RawChunk cur;
      auto flush = [&]() {
        if (n == 0) return;
        app.reset();
        cur.encoding = chunk->encoding();
        cur.bytes.assign(chunk->Bytes());
        cs.chunks.push_back(std::move(cur));
        cur = RawChunk();
        n = 0;
      };
      while (it->Next()) {
        const chunkenc::Sample s = it->At();
        if (n == 0) {
          chunk = codec->NewChunk();
          TSDB_ASSIGN_OR_RETURN(app, chunk->Appender());
          cur.min_time = s.t;
        }
        app->Append(s.t, s.v);
        cur.max_time = s.t;
        if (++n >= per) flush();
      }
      TSDB_RETURN_IF_ERROR(it->status());
      flush();
      if (cs.chunks.empty()) continue;
      TSDB_RETURN_IF_ERROR(fn(cs));
    }
    return set->status();
  }

 private:
  static absl::Status ForEachSeries(
      const IndexReader& index, const std::vector<labels::Matcher>& matchers,
      const std::function<void(const labels::Labels&)>& fn) {
    TSDB_ASSIGN_OR_RETURN(auto p,
                          querier::PostingsForMatchers(index, matchers));
    labels::Labels lset;
    std::vector<ChunkMeta> metas;
    while (p->Next()) {
      absl::Status s = index.Series(p->At(), &lset, &metas);
      if (absl::IsNotFound(s)) continue;
      TSDB_RETURN_IF_ERROR(s);
      fn(lset);
    }
    return p->status();
  }

  DB* const db_;
  const int64_t mint_, maxt_;
  std::shared_ptr<const BlockSet> blocks_;
  std::vector<const block::Block*> sources_;
  head::HeadReaders head_;
  std::vector<std::unique_ptr<querier::DeletedIntervalsFn>> fns_;
};

absl::StatusOr<std::unique_ptr<db::Querier>> DB::Querier(int64_t mint,
                                                         int64_t maxt) {
  if (closed_.load()) return absl::FailedPreconditionError("db: closed");
  std::shared_ptr<const BlockSet> blocks;
  {
    std::lock_guard<std::mutex> l(blocks_mu_);
    blocks = blocks_;
  }
  return std::unique_ptr<db::Querier>(
      new DBQuerier(this, mint, maxt, std::move(blocks)));
}

}  // namespace tsdb::db
