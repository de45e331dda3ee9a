#include "tsdb/compact/compactor.h"

#include <algorithm>
#include <memory>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/block/block_writer.h"
#include "tsdb/querier/select.h"
#include "tsdb/querier/series_set.h"

namespace tsdb::compact {
namespace {

using block::BlockMeta;

// Pulls merged series from the querier and re-encodes their samples.
class MergedSeriesSource final : public block::SeriesSource {
 public:
  MergedSeriesSource(std::unique_ptr<querier::SeriesSet> set,
                     const chunkenc::ChunkCodec* codec, int per_chunk)
      : set_(std::move(set)), codec_(codec), per_chunk_(per_chunk) {}

  bool Next(block::SeriesChunks* out) override {
    if (!status_.ok()) return false;
    while (set_->Next()) {
      const querier::Series& s = set_->At();
      out->chunks.clear();
      if (!Encode(s, &out->chunks)) return false;
      if (out->chunks.empty()) continue;  // everything deleted
      out->lset = s.Labels();
      return true;
    }
    status_ = set_->status();
    return false;
  }

  absl::Status status() const override { return status_; }
  uint64_t num_samples() const { return num_samples_; }

 private:
  bool Encode(const querier::Series& s, std::vector<block::ChunkData>* out) {
    std::unique_ptr<chunkenc::SampleIterator> it = s.Iterator();
    std::unique_ptr<chunkenc::Chunk> chunk;
    std::unique_ptr<chunkenc::ChunkAppender> app;
    int n = 0;
    int64_t mint = 0;
    int64_t maxt = 0;
    auto flush = [&] {
      block::ChunkData d;
      d.min_time = mint;
      d.max_time = maxt;
      d.encoding = codec_->encoding();
      d.bytes = std::string(chunk->Bytes());
      d.num_samples = n;
      out->push_back(std::move(d));
      app.reset();
      chunk.reset();
      n = 0;
    };
    while (it->Next()) {
      const chunkenc::Sample smp = it->At();
      if (chunk == nullptr) {
        chunk = codec_->NewChunk();
        auto a = chunk->Appender();
        if (!a.ok()) {
          status_ = a.status();
          return false;
        }
        app = *std::move(a);
        mint = smp.t;
      }
      app->Append(smp.t, smp.v);
      maxt = smp.t;
      ++num_samples_;
      if (++n >= per_chunk_) flush();
    }
    if (!it->status().ok()) {
      status_ =
          absl::Status(it->status().code(),
                       absl::StrCat("compact: series ", s.Labels().ToString(),
                                    ": ", std::string(it->status().message())));
      return false;
    }
    if (chunk != nullptr) flush();
    return true;
  }

  std::unique_ptr<querier::SeriesSet> set_;
  const chunkenc::ChunkCodec* codec_;
  const int per_chunk_;
  absl::Status status_;
  uint64_t num_samples_ = 0;
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

  // The deletion lookups must outlive the series sets that borrow them.
  std::vector<std::unique_ptr<querier::DeletedIntervalsFn>> deleted;
  std::vector<std::unique_ptr<querier::SeriesSet>> sets;
  const std::vector<labels::Matcher> all;  // no matchers: every series
  for (const block::Block* b : parents) {
    const tombstones::MemTombstones* ts = &b->tombstones();
    deleted.push_back(std::make_unique<querier::DeletedIntervalsFn>(
        [ts](SeriesRef ref) { return ts->Get(ref); }));
    querier::SelectOptions so;
    // Block ranges are half-open: drop samples at exactly maxTime.
    so.mint = b->meta().min_time;
    so.maxt = b->meta().max_time - 1;
    so.sorted = true;
    so.deleted = deleted.back().get();
    auto set = querier::Select(b->index(), b->chunks(), all, so);
    if (!set.ok()) {
      return absl::Status(set.status().code(),
                          absl::StrCat("compact: select ", b->dir(), ": ",
                                       std::string(set.status().message())));
    }
    sets.push_back(*std::move(set));
  }
  MergedSeriesSource source(querier::MergeSeriesSets(std::move(sets)), codec,
                            options.samples_per_chunk);

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
