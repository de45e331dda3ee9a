// LoadMappedChunks: the start-up step that turns the chunks_head files into
// per-series lists of m-mapped chunk metas, with Prometheus 2.42's rules
// (tsdb/head.go loadMmappedChunks, removeCorruptedMmappedChunks), ready to
// be attached to series as the WAL replay creates them.
//
//   TSDB_ASSIGN_OR_RETURN(MappedChunks mc,
//                         LoadMappedChunks(*mapper, head->MinValidTime()));
//   if (mc.scan.corruption || mc.discarded_all) { /* log; replay WAL fully */ }
//   // WAL replay: on the Series record of ref R, attach mc.by_series[R];
//   // skip R's samples with t <= mc.by_series[R].back().max_time.
//
// Rules:
//  - damaged records and everything after them are deleted by the scan
//    (ChunkDiskMapper::IterateAllChunks) and reported in `scan`;
//  - chunks with max_time < min_valid_time are skipped (they are older than
//    what the head may hold, e.g. already in a block);
//  - out-of-order chunks (encoding 0x81) are skipped (not supported yet);
//  - per series, chunks must come in increasing time order (each mint after
//    the previous maxt); otherwise, as Prometheus, every chunks_head file is
//    deleted and nothing is returned (`discarded_all`): the WAL replay then
//    rebuilds the head from the samples alone.
//
// Thread safety: call once, at start-up, before the mapper is shared.
#ifndef TSDB_CHUNKS_MAPPED_CHUNKS_LOADER_H_
#define TSDB_CHUNKS_MAPPED_CHUNKS_LOADER_H_

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/chunks/head_chunks.h"

namespace tsdb::chunks {

struct MappedChunks {
  // Series ref -> its chunks, oldest first.
  std::unordered_map<uint64_t, std::vector<MappedChunkInfo>> by_series;
  HeadChunkScanResult scan;
  uint64_t skipped_too_old = 0;
  uint64_t skipped_out_of_order = 0;
  // An out-of-sequence chunk was found: all files were deleted.
  bool discarded_all = false;
  std::string discard_reason;
};

// Scans `mapper` (REQUIRES: nothing written through it yet) and applies the
// rules above. Errors: I/O failures only.
absl::StatusOr<MappedChunks> LoadMappedChunks(ChunkDiskMapper& mapper,
                                              int64_t min_valid_time);

}  // namespace tsdb::chunks

#endif  // TSDB_CHUNKS_MAPPED_CHUNKS_LOADER_H_
