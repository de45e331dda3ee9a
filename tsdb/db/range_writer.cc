#include "tsdb/db/range_writer.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/tombstones/tombstones.h"

namespace tsdb::db {
namespace {

// Streams the series of the source in label order, one SeriesChunks each.
class RangeSource final : public block::SeriesSource {
 public:
  RangeSource(const IndexReader& index, const ChunkReader& chunks,
              const chunkenc::ChunkCodec* codec, const RangeWriteOptions& opts,
              std::unique_ptr<postings::Postings> p)
      : index_(index),
        chunks_(chunks),
        codec_(codec),
        opts_(opts),
        postings_(std::move(p)) {}

  bool Next(block::SeriesChunks* out) override {
    if (!status_.ok()) return false;
    while (postings_->Next()) {
      const SeriesRef ref = postings_->At();
      labels::Labels lset;
      std::vector<ChunkMeta> metas;
      absl::Status s = index_.Series(ref, &lset, &metas);
      if (absl::IsNotFound(s)) continue;  // garbage-collected meanwhile
      if (!s.ok()) {
        status_ = s;
        return false;
      }
      out->lset = std::move(lset);
      out->chunks.clear();
      s = Build(ref, metas, &out->chunks);
      if (!s.ok()) {
        status_ = s;
        return false;
      }
      if (!out->chunks.empty()) return true;
    }
    status_ = postings_->status();
    return false;
  }
  absl::Status status() const override { return status_; }

  uint64_t copied() const { return copied_; }
  uint64_t encoded() const { return encoded_; }

 private:
  absl::Status Build(SeriesRef ref, const std::vector<ChunkMeta>& metas,
                     std::vector<block::ChunkData>* out) {
    tombstones::Intervals deleted;
    if (opts_.deleted != nullptr) deleted = (*opts_.deleted)(ref);
    // Decode the chunks overlapping the range once; decide whether they can
    // be copied as they are.
    struct Loaded {
      std::unique_ptr<chunkenc::Chunk> chunk;
      int64_t first = 0, last = 0;
      int n = 0;
    };
    std::vector<Loaded> loaded;
    bool copyable = true;
    int64_t prev_last = INT64_MIN;
    for (const ChunkMeta& m : metas) {
      if (m.max_time < opts_.mint || m.min_time >= opts_.maxt) continue;
      auto c = chunks_.Chunk(m);
      if (absl::IsNotFound(c.status())) continue;  // truncated meanwhile
      if (!c.ok()) return c.status();
      Loaded l;
      l.chunk = std::move(*c);
      auto it = l.chunk->Iterator();
      bool any = false;
      while (it->Next()) {
        const chunkenc::Sample smp = it->At();
        if (!any) l.first = smp.t;
        any = true;
        l.last = smp.t;
        ++l.n;
        if (smp.t < opts_.mint || smp.t >= opts_.maxt ||
            tombstones::IsDeleted(deleted, smp.t)) {
          copyable = false;
        }
      }
      TSDB_RETURN_IF_ERROR(it->status());
      if (!any) continue;
      if (l.first <= prev_last) copyable = false;
      prev_last = std::max(prev_last, l.last);
      loaded.push_back(std::move(l));
    }
    if (loaded.empty()) return absl::OkStatus();
    if (copyable) {
      for (Loaded& l : loaded) {
        block::ChunkData d;
        d.min_time = l.first;
        d.max_time = l.last;
        d.encoding = l.chunk->encoding();
        d.bytes.assign(l.chunk->Bytes());
        d.num_samples = l.n;
        out->push_back(std::move(d));
        ++copied_;
      }
      return absl::OkStatus();
    }
    // Merge: collect in range and not deleted; the earlier chunk wins ties.
    std::vector<chunkenc::Sample> samples;
    for (const Loaded& l : loaded) {
      auto it = l.chunk->Iterator();
      while (it->Next()) {
        const chunkenc::Sample smp = it->At();
        if (smp.t < opts_.mint || smp.t >= opts_.maxt ||
            tombstones::IsDeleted(deleted, smp.t)) {
          continue;
        }
        samples.push_back(smp);
      }
      TSDB_RETURN_IF_ERROR(it->status());
    }
    std::stable_sort(samples.begin(), samples.end(),
                     [](const chunkenc::Sample& a, const chunkenc::Sample& b) {
                       return a.t < b.t;
                     });
    samples.erase(
        std::unique(samples.begin(), samples.end(),
                    [](const chunkenc::Sample& a, const chunkenc::Sample& b) {
                      return a.t == b.t;
                    }),
        samples.end());
    const size_t per =
        static_cast<size_t>(std::max(1, opts_.samples_per_chunk));
    for (size_t i = 0; i < samples.size(); i += per) {
      const size_t end = std::min(samples.size(), i + per);
      std::unique_ptr<chunkenc::Chunk> c = codec_->NewChunk();
      TSDB_ASSIGN_OR_RETURN(auto app, c->Appender());
      for (size_t j = i; j < end; ++j) app->Append(samples[j].t, samples[j].v);
      app.reset();
      block::ChunkData d;
      d.min_time = samples[i].t;
      d.max_time = samples[end - 1].t;
      d.encoding = c->encoding();
      d.bytes.assign(c->Bytes());
      d.num_samples = static_cast<int32_t>(end - i);
      out->push_back(std::move(d));
      ++encoded_;
    }
    return absl::OkStatus();
  }

  const IndexReader& index_;
  const ChunkReader& chunks_;
  const chunkenc::ChunkCodec* codec_;
  const RangeWriteOptions& opts_;
  std::unique_ptr<postings::Postings> postings_;
  absl::Status status_;
  uint64_t copied_ = 0;
  uint64_t encoded_ = 0;
};

}  // namespace

absl::StatusOr<RangeWriteResult> WriteRange(
    io::FileSystem* fs, const std::string& dir, const IndexReader& index,
    const ChunkReader& chunks, const chunkenc::CodecRegistry& codecs,
    const RangeWriteOptions& options) {
  if (options.maxt <= options.mint) {
    return absl::InvalidArgumentError(absl::StrCat(
        "write range: empty range [", options.mint, ", ", options.maxt, ")"));
  }
  TSDB_ASSIGN_OR_RETURN(const chunkenc::ChunkCodec* codec,
                        codecs.Get(options.encoding));
  RangeSource source(index, chunks, codec, options,
                     index.SortedPostings(index.Postings("", "")));
  block::BlockWriterOptions bo;
  bo.min_time = options.mint;
  bo.max_time = options.maxt;
  bo.level = 1;
  bo.hints = options.hints;
  bo.segment_size = options.segment_size;
  absl::StatusOr<block::BlockMeta> meta =
      block::WriteBlock(fs, dir, source, bo);
  RangeWriteResult r;
  r.chunks_copied = source.copied();
  r.chunks_encoded = source.encoded();
  if (!source.status().ok()) return source.status();
  if (absl::IsFailedPrecondition(meta.status())) return r;  // no samples
  if (!meta.ok()) return meta.status();
  r.meta = std::move(*meta);
  return r;
}

}  // namespace tsdb::db
