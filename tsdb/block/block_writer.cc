#include "tsdb/block/block_writer.h"

#include <algorithm>
#include <limits>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tsdb/base/coding.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/block/reader_interface.h"
#include "tsdb/chunks/segment_writer.h"
#include "tsdb/index/index_format.h"
#include "tsdb/index/index_writer.h"

namespace tsdb::block {

VectorSeriesSource::VectorSeriesSource(std::vector<SeriesChunks> series)
    : series_(std::move(series)) {
  std::sort(series_.begin(), series_.end(),
            [](const SeriesChunks& a, const SeriesChunks& b) {
              return a.lset < b.lset;
            });
}

bool VectorSeriesSource::Next(SeriesChunks* out) {
  if (next_ >= series_.size()) return false;
  *out = std::move(series_[next_++]);
  return true;
}

namespace {

struct PendingSeries {
  labels::Labels lset;
  std::vector<ChunkMeta> metas;
};

absl::Status WriteInto(io::FileSystem* fs, const std::string& tmp,
                       SeriesSource& source, const BlockWriterOptions& options,
                       BlockMeta* meta) {
  TSDB_ASSIGN_OR_RETURN(
      auto chunk_writer,
      chunks::SegmentWriter::Open(fs, io::JoinPath(tmp, "chunks"),
                                  {.segment_size = options.segment_size}));
  std::vector<PendingSeries> pending;
  // Prometheus's head lists the all-postings key ("", "") among its
  // symbols, so every block it writes (and every compaction of those)
  // has the empty string as symbol 0. Keep it for byte identity.
  std::set<std::string, std::less<>> symbols = {""};
  int64_t min_t = std::numeric_limits<int64_t>::max();
  int64_t max_t = std::numeric_limits<int64_t>::min();
  SeriesChunks s;
  std::vector<chunks::SegmentWriter::ChunkData> to_write;
  std::vector<chunks::BlockChunkRef> refs;
  while (source.Next(&s)) {
    if (s.chunks.empty()) continue;
    if (!pending.empty() && !(pending.back().lset < s.lset)) {
      return absl::InvalidArgumentError(
          absl::StrCat("block series out of order: ", s.lset.ToString(),
                       " after ", pending.back().lset.ToString()));
    }
    to_write.clear();
    for (const ChunkData& c : s.chunks) {
      to_write.push_back({c.encoding, c.bytes});
      int64_t n = c.num_samples;
      if (n < 0) {
        n = c.bytes.size() >= 2
                ? GetBE16(reinterpret_cast<const uint8_t*>(c.bytes.data()))
                : 0;
      }
      meta->stats.num_samples += static_cast<uint64_t>(n);
      min_t = std::min(min_t, c.min_time);
      max_t = std::max(max_t, c.max_time);
    }
    TSDB_RETURN_IF_ERROR(chunk_writer->WriteChunks(to_write, &refs));
    PendingSeries p;
    p.lset = std::move(s.lset);
    p.metas.reserve(refs.size());
    for (size_t i = 0; i < refs.size(); ++i) {
      p.metas.push_back({refs[i], s.chunks[i].min_time, s.chunks[i].max_time});
    }
    for (const labels::Label& l : p.lset) {
      if (symbols.find(l.name) == symbols.end()) symbols.insert(l.name);
      if (symbols.find(l.value) == symbols.end()) symbols.insert(l.value);
    }
    meta->stats.num_chunks += refs.size();
    ++meta->stats.num_series;
    pending.push_back(std::move(p));
  }
  TSDB_RETURN_IF_ERROR(source.status());
  if (meta->stats.num_samples == 0) {
    return absl::FailedPreconditionError(
        "block has no samples; not written (as Prometheus)");
  }
  TSDB_RETURN_IF_ERROR(chunk_writer->Close());

  TSDB_ASSIGN_OR_RETURN(
      auto iw,
      index::IndexWriter::Create(fs, io::JoinPath(tmp, index::kIndexFileName)));
  for (const std::string& sym : symbols)
    TSDB_RETURN_IF_ERROR(iw->AddSymbol(sym));
  std::set<std::string, std::less<>>().swap(symbols);
  for (const PendingSeries& p : pending) {
    TSDB_RETURN_IF_ERROR(iw->AddSeries(p.lset, p.metas).status());
  }
  TSDB_RETURN_IF_ERROR(iw->Close());

  meta->min_time = options.min_time.value_or(min_t);
  meta->max_time = options.max_time.value_or(max_t + 1);
  meta->compaction.level = options.level;
  meta->compaction.sources = options.sources;
  if (meta->compaction.sources.empty()) {
    meta->compaction.sources.push_back(meta->ulid);
  }
  std::sort(meta->compaction.sources.begin(), meta->compaction.sources.end());
  meta->compaction.parents = options.parents;
  meta->compaction.hints = options.hints;
  tombstones::MemTombstones empty;
  const tombstones::MemTombstones& ts =
      options.tombstones != nullptr ? *options.tombstones : empty;
  meta->stats.num_tombstones = ts.NumTombstones();
  TSDB_RETURN_IF_ERROR(WriteMetaFile(fs, tmp, *meta).status());
  TSDB_RETURN_IF_ERROR(tombstones::WriteFile(fs, tmp, ts).status());
  return fs->SyncDir(tmp);
}

}  // namespace

absl::StatusOr<BlockMeta> WriteBlock(io::FileSystem* fs, const std::string& dir,
                                     SeriesSource& source,
                                     const BlockWriterOptions& options) {
  BlockMeta meta;
  meta.ulid = options.ulid.value_or(Ulid::Now());
  const std::string name = meta.ulid.ToString();
  const std::string tmp = io::JoinPath(dir, name + ".tmp-for-creation");
  const std::string final_dir = io::JoinPath(dir, name);
  TSDB_RETURN_IF_ERROR(fs->RemoveAll(tmp));
  TSDB_RETURN_IF_ERROR(fs->CreateDirs(tmp));
  absl::Status s = WriteInto(fs, tmp, source, options, &meta);
  if (!s.ok()) {
    (void)fs->RemoveAll(tmp);
    return s;
  }
  TSDB_RETURN_IF_ERROR(fs->RemoveAll(final_dir));
  TSDB_RETURN_IF_ERROR(fs->Rename(tmp, final_dir));
  TSDB_RETURN_IF_ERROR(fs->SyncDir(dir));
  return meta;
}

}  // namespace tsdb::block
