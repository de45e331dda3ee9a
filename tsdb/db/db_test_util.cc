#include "tsdb/db/db_test_util.h"

#include <cstdlib>

#include "plugins/chunkenc/xor/xor.h"
#include "plugins/chunkreader/mmap/mmap_chunk_reader.h"
#include "plugins/chunkreader/pread/pread_chunk_reader.h"
#include "plugins/wal/none/none_wal.h"
#include "plugins/wal/segmented/segmented_wal.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/labels/selector.h"

namespace tsdb::db::testing {

const Registry& TestRegistry() {
  static const Registry* r = [] {
    auto* reg = new Registry();
    if (!chunkenc::RegisterXorCodec(reg->codecs).ok() ||
        !plugins::RegisterMmapChunkReader(reg->chunk_readers).ok() ||
        !plugins::RegisterPreadChunkReader(reg->chunk_readers).ok() ||
        !plugins::RegisterSegmentedWal(reg->wals).ok() ||
        !plugins::RegisterNoneWal(reg->wals).ok()) {
      std::abort();
    }
    return reg;
  }();
  return *r;
}

absl::StatusOr<Dump> DumpDB(DB& db, int64_t mint, int64_t maxt,
                            const std::string& selector) {
  TSDB_ASSIGN_OR_RETURN(std::vector<labels::Matcher> ms,
                        labels::ParseSelector(selector));
  TSDB_ASSIGN_OR_RETURN(auto q, db.Querier(mint, maxt));
  TSDB_ASSIGN_OR_RETURN(auto set, q->Select(ms));
  Dump out;
  while (set->Next()) {
    auto& samples = out[set->At().Labels().ToString()];
    auto it = set->At().Iterator();
    while (it->Next()) samples.emplace_back(it->At().t, it->At().v);
    TSDB_RETURN_IF_ERROR(it->status());
  }
  TSDB_RETURN_IF_ERROR(set->status());
  return out;
}

Options QuietOptions() {
  Options o;
  o.background = false;
  o.log = [](std::string_view, std::string_view) {};
  o.replay_workers = 2;
  return o;
}

}  // namespace tsdb::db::testing
