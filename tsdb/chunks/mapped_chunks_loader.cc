#include "tsdb/chunks/mapped_chunks_loader.h"

#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tsdb/base/status_macros.h"

namespace tsdb::chunks {

absl::StatusOr<MappedChunks> LoadMappedChunks(ChunkDiskMapper& mapper,
                                              int64_t min_valid_time) {
  MappedChunks out;
  TSDB_ASSIGN_OR_RETURN(
      out.scan, mapper.IterateAllChunks([&](const MappedChunkInfo& c) {
        if (out.discarded_all) return absl::OkStatus();
        if (c.encoding == kOutOfOrderXorEncoding) {
          ++out.skipped_out_of_order;
          return absl::OkStatus();
        }
        if (c.max_time < min_valid_time) {
          ++out.skipped_too_old;
          return absl::OkStatus();
        }
        std::vector<MappedChunkInfo>& list = out.by_series[c.series_ref];
        if (!list.empty() && list.back().max_time >= c.min_time) {
          out.discarded_all = true;
          out.discard_reason =
              absl::StrCat("out of sequence m-mapped chunk for series ref ",
                           c.series_ref, ", last chunk: [",
                           list.back().min_time, ", ", list.back().max_time,
                           "], new: [", c.min_time, ", ", c.max_time, "]");
          return absl::OkStatus();
        }
        list.push_back(c);
        return absl::OkStatus();
      }));
  if (out.discarded_all) {
    out.by_series.clear();
    // Nothing was written yet, so no file is being written: all go.
    TSDB_RETURN_IF_ERROR(
        mapper.DeleteFilesBefore(std::numeric_limits<uint32_t>::max()));
  }
  return out;
}

}  // namespace tsdb::chunks
