#include "frontends/cli/test_data.h"

#include <cmath>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/block/block_writer.h"
#include "tsdb/chunks/head_chunks.h"
#include "tsdb/io/file_system.h"
#include "tsdb/record/record.h"
#include "tsdb/tombstones/tombstones.h"
#include "tsdb/wal/wal.h"

namespace tsdb::cli::testing {
namespace {

constexpr int kSeries = 12;
constexpr int64_t kStep = 15000;

labels::Labels SeriesLabels(int i) {
  const std::string name = absl::StrCat("metric_", i % 3);
  const std::string inst = absl::StrCat("host-", i);
  const std::string job = i % 2 == 0 ? "api" : "db";
  return labels::Labels::FromPairs(
      {{"__name__", name}, {"instance", inst}, {"job", job}});
}

double Value(int s, int64_t t) {
  return std::floor(std::sin(static_cast<double>(t) / 1e6 + s) * 1000) / 8;
}

// XOR chunks of 120 samples for `n` samples from `mint`.
absl::StatusOr<std::vector<block::ChunkData>> EncodeChunks(
    const Registry& registry, int s, int64_t mint, int n) {
  TSDB_ASSIGN_OR_RETURN(const chunkenc::ChunkCodec* codec,
                        registry.codecs.Get(1));
  std::vector<block::ChunkData> out;
  for (int i = 0; i < n; i += 120) {
    std::unique_ptr<chunkenc::Chunk> c = codec->NewChunk();
    TSDB_ASSIGN_OR_RETURN(std::unique_ptr<chunkenc::ChunkAppender> app,
                          c->Appender());
    block::ChunkData d;
    d.encoding = 1;
    d.min_time = mint + i * kStep;
    for (int j = i; j < n && j < i + 120; ++j) {
      const int64_t t = mint + j * kStep;
      app->Append(t, Value(s, t));
      d.max_time = t;
    }
    d.bytes = std::string(c->Bytes());
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace

absl::StatusOr<TestDataDir> MakeTestDataDir(const Registry& registry,
                                            const std::string& dir) {
  io::FileSystem* fs = io::PosixFileSystem();
  TSDB_RETURN_IF_ERROR(fs->RemoveAll(dir));
  TSDB_RETURN_IF_ERROR(fs->CreateDirs(dir));
  TestDataDir d;
  d.dir = dir;
  // Two 2h blocks; the newer one with a tombstone.
  const int64_t t0 = int64_t{1700000000000} / 7200000 * 7200000;
  for (int b = 0; b < 2; ++b) {
    const int64_t mint = t0 + b * 7200000;
    std::vector<block::SeriesChunks> series;
    for (int s = 0; s < kSeries; ++s) {
      block::SeriesChunks sc;
      sc.lset = SeriesLabels(s);
      TSDB_ASSIGN_OR_RETURN(sc.chunks,
                            EncodeChunks(registry, s, mint, 300 + 10 * s));
      series.push_back(std::move(sc));
    }
    block::VectorSeriesSource src(std::move(series));
    block::BlockWriterOptions opts;
    opts.ulid = block::Ulid::New(static_cast<uint64_t>(mint));
    opts.min_time = mint;
    opts.max_time = mint + 7200000;
    tombstones::MemTombstones ts;
    ts.AddInterval(1, {mint, mint + 60000});
    if (b == 1) opts.tombstones = &ts;
    TSDB_ASSIGN_OR_RETURN(block::BlockMeta meta,
                          block::WriteBlock(fs, dir, src, opts));
    d.blocks.push_back(io::JoinPath(dir, meta.ulid.ToString()));
  }
  const std::string& nb = d.blocks.back();
  d.meta_path = io::JoinPath(nb, "meta.json");
  d.index_path = io::JoinPath(nb, "index");
  d.chunk_segment_path = io::JoinPath(nb, "chunks/000001");
  d.tombstones_path = io::JoinPath(nb, "tombstones");

  // chunks_head: a few cut chunks of head series 1..3.
  const int64_t head_mint = t0 + 2 * 7200000;
  {
    TSDB_ASSIGN_OR_RETURN(auto cdm,
                          chunks::ChunkDiskMapper::Open(
                              fs, io::JoinPath(dir, "chunks_head"), {}));
    for (int s = 1; s <= 3; ++s) {
      TSDB_ASSIGN_OR_RETURN(auto cs, EncodeChunks(registry, s, head_mint, 240));
      for (const block::ChunkData& c : cs) {
        TSDB_RETURN_IF_ERROR(cdm->WriteChunk(static_cast<uint64_t>(s),
                                             c.min_time, c.max_time, 1, c.bytes)
                                 .status());
      }
    }
    TSDB_RETURN_IF_ERROR(cdm->Close());
  }
  d.head_chunks_path = io::JoinPath(dir, "chunks_head/000001");

  // The WAL: uncompressed, 2 pages per segment, records spanning pages; a
  // snappy checkpoint.
  std::vector<record::RefSeries> refs;
  for (int s = 1; s <= 3; ++s) {
    refs.push_back({static_cast<uint64_t>(s), SeriesLabels(100 + s)});
  }
  std::string series_rec;
  record::EncodeSeries(refs, &series_rec);
  std::vector<std::string> records = {series_rec};
  for (int batch = 0; batch < 4; ++batch) {
    std::vector<record::RefSample> samples;
    for (int i = 0; i < 1500; ++i) {
      const int64_t t = head_mint + (batch * 1500 + i) * kStep;
      samples.push_back({static_cast<uint64_t>(1 + i % 3), t, Value(i, t)});
    }
    std::string rec;
    record::EncodeSamples(samples, &rec);
    records.push_back(std::move(rec));
  }
  for (const bool checkpoint : {true, false}) {
    wal::WalOptions o;
    o.dir = checkpoint ? io::JoinPath(dir, "wal/checkpoint.00000000")
                       : io::JoinPath(dir, "wal");
    o.segment_size = 2 * wal::kPageSize;
    o.compression =
        checkpoint ? wal::Compression::kSnappy : wal::Compression::kNone;
    TSDB_ASSIGN_OR_RETURN(std::unique_ptr<wal::Wal> w,
                          registry.wals.Open("segmented", o));
    if (checkpoint) {
      TSDB_RETURN_IF_ERROR(w->Log({series_rec}));
    } else {
      // Segment 0 is the one the checkpoint folded; start at 1.
      TSDB_RETURN_IF_ERROR(w->NextSegment().status());
      for (const std::string& r : records) {
        TSDB_RETURN_IF_ERROR(w->Log({std::string_view(r)}));
      }
    }
    TSDB_RETURN_IF_ERROR(w->Close());
  }
  TSDB_RETURN_IF_ERROR(fs->RemoveFile(io::JoinPath(dir, "wal/00000000")));
  d.wal_segment_path = io::JoinPath(dir, "wal/00000001");
  d.checkpoint_segment_path =
      io::JoinPath(dir, "wal/checkpoint.00000000/00000000");
  return d;
}

}  // namespace tsdb::cli::testing
