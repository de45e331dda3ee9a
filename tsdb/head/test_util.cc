#include "tsdb/head/test_util.h"

#include "gtest/gtest.h"
#include "plugins/chunkenc/xor/xor.h"
#include "tsdb/base/status_macros.h"

namespace tsdb::head::testing {

const chunkenc::CodecRegistry& XorRegistry() {
  static const chunkenc::CodecRegistry* registry = [] {
    auto* r = new chunkenc::CodecRegistry();
    if (!chunkenc::RegisterXorCodec(*r).ok()) std::abort();
    return r;
  }();
  return *registry;
}

HeadOptions TestOptions() {
  HeadOptions opts;
  opts.codecs = &XorRegistry();
  opts.stripe_size = 64;
  return opts;
}

std::unique_ptr<Head> OpenHead(const HeadOptions& opts) {
  absl::StatusOr<std::unique_ptr<Head>> head = Head::Open(opts);
  EXPECT_TRUE(head.ok()) << head.status();
  return head.ok() ? std::move(*head) : nullptr;
}

absl::Status ReadSeries(const IndexReader& index, const ChunkReader& chunks,
                        SeriesRef ref, std::vector<TV>* out,
                        std::vector<ChunkMeta>* metas) {
  labels::Labels lset;
  std::vector<ChunkMeta> m;
  TSDB_RETURN_IF_ERROR(index.Series(ref, &lset, &m));
  for (const ChunkMeta& meta : m) {
    TSDB_ASSIGN_OR_RETURN(std::unique_ptr<chunkenc::Chunk> c,
                          chunks.Chunk(meta));
    std::unique_ptr<chunkenc::SampleIterator> it = c->Iterator();
    int64_t first = 0, last = 0;
    int n = 0;
    while (it->Next()) {
      const chunkenc::Sample s = it->At();
      if (n == 0) first = s.t;
      last = s.t;
      ++n;
      out->emplace_back(s.t, s.v);
    }
    TSDB_RETURN_IF_ERROR(it->status());
    if (n != c->NumSamples() || first != meta.min_time ||
        last != meta.max_time) {
      return absl::InternalError("chunk meta does not match chunk");
    }
  }
  if (metas != nullptr) *metas = std::move(m);
  return absl::OkStatus();
}

std::vector<TV> ReadAll(Head& head, SeriesRef ref, int64_t mint, int64_t maxt) {
  HeadReaders r = head.Readers(mint, maxt);
  std::vector<TV> out;
  absl::Status st = ReadSeries(*r.index, *r.chunks, ref, &out);
  EXPECT_TRUE(st.ok()) << st;
  return out;
}

}  // namespace tsdb::head::testing
