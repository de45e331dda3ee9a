#include "tsdb/compact/compact_test_util.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "plugins/chunkenc/xor/xor.h"
#include "plugins/chunkreader/mmap/mmap_chunk_reader.h"
#include "plugins/chunkreader/pread/pread_chunk_reader.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/block/block_writer.h"
#include "tsdb/io/file_system.h"
#include "tsdb/querier/select.h"
#include "tsdb/tombstones/tombstones.h"

namespace tsdb::compact::testutil {

Env::Env() {
  if (!chunkenc::RegisterXorCodec(codecs).ok() ||
      !plugins::RegisterMmapChunkReader(readers).ok() ||
      !plugins::RegisterPreadChunkReader(readers).ok()) {
    std::abort();
  }
}

absl::StatusOr<block::BlockMeta> WriteTestBlock(const Env& env,
                                                const std::string& dir,
                                                const SeriesMap& series,
                                                const TestBlockOptions& o) {
  TSDB_ASSIGN_OR_RETURN(const chunkenc::ChunkCodec* codec,
                        env.codecs.Get(chunkenc::kXorEncoding));
  std::vector<block::SeriesChunks> out;
  for (const auto& [lset, samples] : series) {
    block::SeriesChunks sc;
    sc.lset = lset;
    for (size_t i = 0; i < samples.size(); i += o.per_chunk) {
      auto chunk = codec->NewChunk();
      TSDB_ASSIGN_OR_RETURN(auto app, chunk->Appender());
      const size_t end = std::min(samples.size(), i + o.per_chunk);
      for (size_t j = i; j < end; ++j) app->Append(samples[j].t, samples[j].v);
      block::ChunkData d;
      d.min_time = samples[i].t;
      d.max_time = samples[end - 1].t;
      d.encoding = codec->encoding();
      d.bytes = std::string(chunk->Bytes());
      sc.chunks.push_back(std::move(d));
    }
    out.push_back(std::move(sc));
  }
  block::VectorSeriesSource src(std::move(out));
  block::BlockWriterOptions wo;
  wo.min_time = o.min_time;
  wo.max_time = o.max_time;
  wo.level = o.level;
  return block::WriteBlock(io::PosixFileSystem(), dir, src, wo);
}

absl::StatusOr<std::unique_ptr<block::Block>> OpenBlock(
    const Env& env, const std::string& dir, const std::string& reader) {
  return block::Block::Open(dir, env.readers, reader, &env.codecs);
}

absl::StatusOr<std::map<std::string, std::vector<Sample>>> ReadSamples(
    const block::Block& b) {
  const tombstones::MemTombstones* ts = &b.tombstones();
  querier::DeletedIntervalsFn deleted = [ts](SeriesRef r) {
    return ts->Get(r);
  };
  querier::SelectOptions so;
  so.mint = b.meta().min_time;
  so.maxt = b.meta().max_time - 1;
  so.deleted = &deleted;
  TSDB_ASSIGN_OR_RETURN(auto set,
                        querier::Select(b.index(), b.chunks(), {}, so));
  std::map<std::string, std::vector<Sample>> out;
  while (set->Next()) {
    std::vector<Sample> samples;
    auto it = set->At().Iterator();
    while (it->Next()) samples.push_back(it->At());
    TSDB_RETURN_IF_ERROR(it->status());
    if (!samples.empty())
      out[set->At().Labels().ToString()] = std::move(samples);
  }
  TSDB_RETURN_IF_ERROR(set->status());
  return out;
}

absl::Status AddTombstone(const Env& env, const std::string& block_dir,
                          const labels::Labels& lset, int64_t mint,
                          int64_t maxt) {
  io::FileSystem* fs = io::PosixFileSystem();
  TSDB_ASSIGN_OR_RETURN(auto b, OpenBlock(env, block_dir));
  auto p = b->index().Postings("", "");
  bool found = false;
  while (p->Next()) {
    labels::Labels l;
    std::vector<ChunkMeta> chks;
    TSDB_RETURN_IF_ERROR(b->index().Series(p->At(), &l, &chks));
    if (l == lset) {
      // Keep existing intervals: copy them into a fresh set.
      tombstones::MemTombstones ts;
      b->tombstones().Iterate(
          [&](uint64_t ref, const tombstones::Intervals& iv) {
            for (const auto& i : iv) ts.AddInterval(ref, i);
          });
      ts.AddInterval(p->At(), {mint, maxt});
      block::BlockMeta meta = b->meta();
      meta.stats.num_tombstones = ts.NumTombstones();
      b.reset();
      TSDB_RETURN_IF_ERROR(tombstones::WriteFile(fs, block_dir, ts).status());
      TSDB_RETURN_IF_ERROR(block::WriteMetaFile(fs, block_dir, meta).status());
      found = true;
      break;
    }
  }
  if (!found)
    return absl::NotFoundError(absl::StrCat("no series ", lset.ToString()));
  return absl::OkStatus();
}

std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = io::JoinPath(base != nullptr ? base : "/tmp", name);
  (void)io::PosixFileSystem()->RemoveAll(dir);
  (void)io::PosixFileSystem()->CreateDirs(dir);
  return dir;
}

}  // namespace tsdb::compact::testutil
