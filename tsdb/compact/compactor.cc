#include "tsdb/compact/compactor.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tsdb/base/coding.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/block/block_writer.h"
#include "tsdb/chunkenc/chunk.h"
#include "tsdb/labels/labels.h"
#include "tsdb/postings/postings.h"
#include "tsdb/tombstones/tombstones.h"

namespace tsdb::compact {
namespace {

using block::BlockMeta;

using chunkenc::Sample;

// One parent block's series, in label order (block indexes are sorted), one
// at a time.
class ParentCursor {
 public:
  ParentCursor(const block::Block* b, size_t priority)
      : block_(b),
        priority_(priority),
        postings_(b->index().Postings("", "")),
        has_tombstones_(b->tombstones().NumTombstones() > 0) {}

  // Loads the next series; false at the end or on error (see status()).
  bool Next() {
    valid_ = false;
    if (!postings_->Next()) {
      status_ = Annotate(postings_->status());
      return false;
    }
    ref_ = postings_->At();
    absl::Status s = block_->index().Series(ref_, &lset_, &metas_);
    if (!s.ok()) {
      status_ = Annotate(s);
      return false;
    }
    deleted_.clear();
    if (has_tombstones_) deleted_ = block_->tombstones().Get(ref_);
    valid_ = true;
    return true;
  }

  bool valid() const { return valid_; }
  absl::Status status() const { return status_; }
  const block::Block& block() const { return *block_; }
  size_t priority() const { return priority_; }
  const labels::Labels& lset() const { return lset_; }
  const std::vector<ChunkMeta>& metas() const { return metas_; }
  const tombstones::Intervals& deleted() const { return deleted_; }

  absl::Status Annotate(const absl::Status& s) const {
    if (s.ok()) return s;
    return absl::Status(s.code(), absl::StrCat("compact: block ", block_->dir(),
                                               ": ", std::string(s.message())));
  }

 private:
  const block::Block* block_;
  const size_t priority_;
  std::unique_ptr<postings::Postings> postings_;
  const bool has_tombstones_;
  bool valid_ = false;
  SeriesRef ref_ = 0;
  labels::Labels lset_;
  std::vector<ChunkMeta> metas_;
  tombstones::Intervals deleted_;
  absl::Status status_;
};

// A chunk of one parent that contributes to the merged series: either
// copied as stored (`decoded` false) or its surviving samples after range
// trimming and tombstones (`decoded` true).
struct Candidate {
  const ParentCursor* parent = nullptr;
  size_t order = 0;  // position among the parent's chunks of the series
  ChunkMeta meta;    // as in the parent's index
  int64_t min_time = 0;
  int64_t max_time = 0;
  bool decoded = false;
  std::vector<Sample> samples;  // when decoded
};

// Merges the parents' series by labels and their chunks by time: chunks
// that overlap no other chunk and are untouched by tombstones and the
// time range are copied byte for byte; a chunk partly deleted or
// trimmed is re-encoded alone (one chunk, as Prometheus); a run of
// overlapping chunks is merged by timestamp (the parent listed first wins
// on equal timestamps) and re-encoded into chunks of `per_chunk` samples.
class ChunkMergingSource final : public block::SeriesSource {
 public:
  // Keeps samples in [mint, maxt] (both inclusive).
  ChunkMergingSource(const std::vector<const block::Block*>& parents,
                     int64_t mint, int64_t maxt,
                     const chunkenc::ChunkCodec* codec, int per_chunk)
      : mint_(mint), maxt_(maxt), codec_(codec), per_chunk_(per_chunk) {
    cursors_.reserve(parents.size());
    for (size_t i = 0; i < parents.size(); ++i) {
      cursors_.emplace_back(parents[i], i);
    }
    for (ParentCursor& c : cursors_) {
      if (!c.Next() && !c.status().ok()) {
        status_ = c.status();
        return;
      }
    }
  }

  bool Next(block::SeriesChunks* out) override {
    while (status_.ok()) {
      const labels::Labels* min = nullptr;
      for (const ParentCursor& c : cursors_) {
        if (c.valid() && (min == nullptr || c.lset() < *min)) min = &c.lset();
      }
      if (min == nullptr) return false;
      out->lset = *min;
      out->chunks.clear();
      candidates_.clear();
      for (ParentCursor& c : cursors_) {
        if (!c.valid() || c.lset() != out->lset) continue;
        if (!Collect(c)) return false;
      }
      if (!Emit(out)) return false;
      // Advance after Emit: candidates point at the cursors' chunk lists.
      for (ParentCursor& c : cursors_) {
        if (!c.valid() || c.lset() != out->lset) continue;
        if (!c.Next() && !c.status().ok()) {
          status_ = c.status();
          return false;
        }
      }
      if (!out->chunks.empty()) return true;  // else: everything deleted
    }
    return false;
  }

  absl::Status status() const override { return status_; }
  uint64_t num_samples() const { return num_samples_; }
  uint64_t chunks_copied() const { return chunks_copied_; }
  uint64_t chunks_reencoded() const { return chunks_reencoded_; }

 private:
  bool Fail(const ParentCursor& c, const labels::Labels& lset,
            const absl::Status& s) {
    status_ = c.Annotate(
        absl::Status(s.code(), absl::StrCat("series ", lset.ToString(), ": ",
                                            std::string(s.message()))));
    return false;
  }

  // Decodes the samples of `meta` in [lo, hi] that `deleted` does not
  // cover, appending them to *out.
  bool Decode(const ParentCursor& c, const ChunkMeta& meta, int64_t lo,
              int64_t hi, const tombstones::Intervals& deleted,
              std::vector<Sample>* out) {
    auto chunk = c.block().chunks().Chunk(meta);
    if (!chunk.ok()) return Fail(c, c.lset(), chunk.status());
    std::unique_ptr<chunkenc::SampleIterator> it = (*chunk)->Iterator();
    size_t del = 0;
    while (it->Next()) {
      const Sample s = it->At();
      if (s.t < lo || s.t > hi) continue;
      while (del < deleted.size() && deleted[del].maxt < s.t) ++del;
      if (del < deleted.size() && deleted[del].InBounds(s.t)) continue;
      out->push_back(s);
    }
    if (!it->status().ok()) return Fail(c, c.lset(), it->status());
    return true;
  }

  // Adds the chunks of cursor `c`'s current series to candidates_.
  bool Collect(const ParentCursor& c) {
    const int64_t lo = mint_;
    const int64_t hi = maxt_;
    const tombstones::Intervals& deleted = c.deleted();
    const std::vector<ChunkMeta>& metas = c.metas();
    for (size_t i = 0; i < metas.size(); ++i) {
      const ChunkMeta& m = metas[i];
      if (m.max_time < lo || m.min_time > hi) continue;
      bool touched = m.min_time < lo || m.max_time > hi;
      bool wholly_deleted = false;
      for (const tombstones::Interval& d : deleted) {
        if (d.mint <= m.min_time && d.maxt >= m.max_time) {
          wholly_deleted = true;
          break;
        }
        if (d.mint <= m.max_time && d.maxt >= m.min_time) touched = true;
      }
      if (wholly_deleted) continue;
      Candidate cand;
      cand.parent = &c;
      cand.order = i;
      cand.meta = m;
      cand.min_time = m.min_time;
      cand.max_time = m.max_time;
      if (touched) {
        cand.decoded = true;
        if (!Decode(c, m, lo, hi, deleted, &cand.samples)) return false;
        if (cand.samples.empty()) continue;
        cand.min_time = cand.samples.front().t;
        cand.max_time = cand.samples.back().t;
      }
      candidates_.push_back(std::move(cand));
    }
    return true;
  }

  // Encodes samples[begin, end) into one new chunk appended to *out.
  bool Encode(const Sample* begin, const Sample* end,
              std::vector<block::ChunkData>* out) {
    std::unique_ptr<chunkenc::Chunk> chunk = codec_->NewChunk();
    auto app = chunk->Appender();
    if (!app.ok()) {
      status_ = app.status();
      return false;
    }
    for (const Sample* s = begin; s != end; ++s) (*app)->Append(s->t, s->v);
    block::ChunkData d;
    d.min_time = begin->t;
    d.max_time = (end - 1)->t;
    d.encoding = codec_->encoding();
    d.bytes = std::string(chunk->Bytes());
    d.num_samples = static_cast<int32_t>(end - begin);
    num_samples_ += static_cast<uint64_t>(end - begin);
    ++chunks_reencoded_;
    out->push_back(std::move(d));
    return true;
  }

  bool Copy(const Candidate& cand, std::vector<block::ChunkData>* out) {
    const ParentCursor& c = *cand.parent;
    block::ChunkData d;
    d.min_time = cand.meta.min_time;
    d.max_time = cand.meta.max_time;
    absl::Status s =
        c.block().chunks().ReadRaw(cand.meta.ref, &d.encoding, &d.bytes);
    if (!s.ok()) return Fail(c, c.lset(), s);
    // Prometheus's encodings (XOR, histogram, float histogram) start with
    // a BE16 sample count; others are asked through their codec.
    if (d.encoding >= 1 && d.encoding <= 3 && d.bytes.size() >= 2) {
      d.num_samples = GetBE16(reinterpret_cast<const uint8_t*>(d.bytes.data()));
    } else {
      auto chunk = c.block().chunks().Chunk(cand.meta);
      if (!chunk.ok()) return Fail(c, c.lset(), chunk.status());
      d.num_samples = (*chunk)->NumSamples();
    }
    num_samples_ += static_cast<uint64_t>(d.num_samples);
    ++chunks_copied_;
    out->push_back(std::move(d));
    return true;
  }

  // Merges the overlapping candidates [begin, end) and re-encodes them.
  bool MergeRun(size_t begin, size_t end, std::vector<block::ChunkData>* out) {
    // Priority order: parent listed first, then the parent's chunk order;
    // on equal timestamps the first sample in this order is kept.
    std::vector<Candidate*> run;
    for (size_t i = begin; i < end; ++i) run.push_back(&candidates_[i]);
    std::sort(run.begin(), run.end(),
              [](const Candidate* a, const Candidate* b) {
                if (a->parent->priority() != b->parent->priority()) {
                  return a->parent->priority() < b->parent->priority();
                }
                return a->order < b->order;
              });
    merged_.clear();
    for (Candidate* cand : run) {
      if (cand->decoded) {
        merged_.insert(merged_.end(), cand->samples.begin(),
                       cand->samples.end());
      } else if (!Decode(*cand->parent, cand->meta, INT64_MIN, INT64_MAX, {},
                         &merged_)) {
        return false;
      }
    }
    std::stable_sort(
        merged_.begin(), merged_.end(),
        [](const Sample& a, const Sample& b) { return a.t < b.t; });
    merged_.erase(std::unique(merged_.begin(), merged_.end(),
                              [](const Sample& a, const Sample& b) {
                                return a.t == b.t;
                              }),
                  merged_.end());
    for (size_t i = 0; i < merged_.size(); i += per_chunk_) {
      const size_t n = std::min(merged_.size() - i, size_t(per_chunk_));
      if (!Encode(merged_.data() + i, merged_.data() + i + n, out)) {
        return false;
      }
    }
    return true;
  }

  // Turns candidates_ into the series' output chunks, in time order.
  bool Emit(block::SeriesChunks* out) {
    std::stable_sort(candidates_.begin(), candidates_.end(),
                     [](const Candidate& a, const Candidate& b) {
                       return a.min_time < b.min_time;
                     });
    size_t i = 0;
    while (i < candidates_.size()) {
      size_t j = i + 1;
      int64_t run_max = candidates_[i].max_time;
      while (j < candidates_.size() && candidates_[j].min_time <= run_max) {
        run_max = std::max(run_max, candidates_[j].max_time);
        ++j;
      }
      const Candidate& c = candidates_[i];
      bool ok;
      if (j > i + 1) {
        ok = MergeRun(i, j, &out->chunks);
      } else if (c.decoded) {
        ok = Encode(c.samples.data(), c.samples.data() + c.samples.size(),
                    &out->chunks);
      } else {
        ok = Copy(c, &out->chunks);
      }
      if (!ok) return false;
      i = j;
    }
    return true;
  }

  std::vector<ParentCursor> cursors_;
  const int64_t mint_;
  const int64_t maxt_;
  const chunkenc::ChunkCodec* codec_;
  const int per_chunk_;
  std::vector<Candidate> candidates_;
  std::vector<Sample> merged_;
  absl::Status status_;
  uint64_t num_samples_ = 0;
  uint64_t chunks_copied_ = 0;
  uint64_t chunks_reencoded_ = 0;
};

bool HasTmpSuffix(std::string_view name, std::string_view* base) {
  for (std::string_view suffix :
       {".tmp-for-creation", ".tmp-for-deletion", ".tmp"}) {
    if (name.size() > suffix.size() &&
        name.substr(name.size() - suffix.size()) == suffix) {
      *base = name.substr(0, name.size() - suffix.size());
      // Go's filepath.Ext: the extension starts at the last dot, so
      // "x.tmp-for-creation.tmp" has extension ".tmp" and base
      // "x.tmp-for-creation" (not a ULID; kept).
      return true;
    }
  }
  return false;
}

}  // namespace

BlockMeta CompactBlockMetas(const block::Ulid& ulid,
                            const std::vector<BlockMeta>& parents) {
  BlockMeta res;
  res.ulid = ulid;
  res.min_time = parents.front().min_time;
  res.max_time = parents.front().max_time;
  std::vector<block::Ulid> sources;
  for (const BlockMeta& b : parents) {
    res.min_time = std::min(res.min_time, b.min_time);
    res.max_time = std::max(res.max_time, b.max_time);
    res.compaction.level = std::max(res.compaction.level, b.compaction.level);
    sources.insert(sources.end(), b.compaction.sources.begin(),
                   b.compaction.sources.end());
    res.compaction.parents.push_back({b.ulid, b.min_time, b.max_time});
  }
  res.compaction.level++;
  std::sort(sources.begin(), sources.end());
  sources.erase(std::unique(sources.begin(), sources.end()), sources.end());
  res.compaction.sources = std::move(sources);
  return res;
}

absl::StatusOr<CompactResult> Compact(
    io::FileSystem* fs, const std::string& dest_dir,
    const std::vector<const block::Block*>& parents,
    const chunkenc::CodecRegistry& codecs, const CompactOptions& options) {
  if (parents.empty()) {
    return absl::InvalidArgumentError("compact: no blocks to compact");
  }
  if (options.samples_per_chunk <= 0) {
    return absl::InvalidArgumentError("compact: samples_per_chunk must be > 0");
  }
  TSDB_ASSIGN_OR_RETURN(const chunkenc::ChunkCodec* codec,
                        codecs.Get(options.encoding));

  std::vector<BlockMeta> metas;
  metas.reserve(parents.size());
  for (const block::Block* b : parents) metas.push_back(b->meta());
  const BlockMeta meta = CompactBlockMetas(
      options.ulid ? *options.ulid : block::Ulid::Now(), metas);

  // As Prometheus: every parent is read over the new block's range, minus
  // its maxTime (block ranges are half-open).
  ChunkMergingSource source(parents, meta.min_time, meta.max_time - 1, codec,
                            options.samples_per_chunk);
  if (!source.status().ok()) return source.status();

  block::BlockWriterOptions wo;
  wo.ulid = meta.ulid;
  wo.min_time = meta.min_time;
  wo.max_time = meta.max_time;
  wo.level = meta.compaction.level;
  wo.sources = meta.compaction.sources;
  wo.parents = meta.compaction.parents;
  wo.segment_size = options.segment_size;
  absl::StatusOr<BlockMeta> written =
      block::WriteBlock(fs, dest_dir, source, wo);
  CompactResult result;
  result.num_samples = source.num_samples();
  result.chunks_copied = source.chunks_copied();
  result.chunks_reencoded = source.chunks_reencoded();
  if (!source.status().ok()) return source.status();
  if (!written.ok()) {
    // WriteBlock refuses a source without samples and leaves nothing.
    if (source.num_samples() == 0 &&
        absl::IsFailedPrecondition(written.status())) {
      return result;
    }
    return written.status();
  }
  result.meta = *std::move(written);
  return result;
}

absl::Status MarkDeletable(io::FileSystem* fs, const std::string& block_dir,
                           BlockMeta meta) {
  meta.compaction.deletable = true;
  return block::WriteMetaFile(fs, block_dir, meta).status();
}

absl::Status MarkCompactionFailed(io::FileSystem* fs,
                                  const std::string& block_dir,
                                  BlockMeta meta) {
  meta.compaction.failed = true;
  return block::WriteMetaFile(fs, block_dir, meta).status();
}

absl::StatusOr<std::vector<std::string>> CleanupTmpDirs(
    io::FileSystem* fs, const std::string& data_dir) {
  TSDB_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(data_dir));
  std::vector<std::string> removed;
  for (const std::string& name : names) {
    std::string_view base;
    if (!HasTmpSuffix(name, &base)) continue;
    const bool ours = base.rfind("checkpoint.", 0) == 0 ||
                      base.rfind("chunk_snapshot.", 0) == 0 ||
                      block::Ulid::Parse(base).ok();
    if (!ours) continue;
    const std::string path = io::JoinPath(data_dir, name);
    TSDB_ASSIGN_OR_RETURN(bool is_dir, fs->IsDirectory(path));
    if (!is_dir) continue;
    TSDB_RETURN_IF_ERROR(fs->RemoveAll(path));
    removed.push_back(name);
  }
  return removed;
}

}  // namespace tsdb::compact
