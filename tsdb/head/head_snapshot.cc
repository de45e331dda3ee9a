// Head::ForEachSeriesForSnapshot and Head::RestoreSeries: what the chunk
// snapshot on shutdown (tsdb/headwal/chunk_snapshot.h) needs from the head,
// and MemSeries::RestoreOpenChunk (series.h).
#include <algorithm>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/head/head.h"
#include "tsdb/head/isolation.h"
#include "tsdb/head/series.h"
#include "tsdb/head/stripe_series.h"

namespace tsdb::head {

absl::Status MemSeries::RestoreOpenChunk(std::unique_ptr<chunkenc::Chunk> chunk,
                                         int64_t min_time, int64_t max_time,
                                         double last_value) {
  if (open_ != nullptr || pending != 0) {
    return absl::FailedPreconditionError(
        "head: restored open chunk on a series that has one");
  }
  const int n = chunk == nullptr ? 0 : chunk->NumSamples();
  if (n <= 0 || max_time < min_time) {
    return absl::InvalidArgumentError(
        absl::StrCat("head: restored open chunk is empty or has min time ",
                     min_time, " > max time ", max_time));
  }
  if (!cut_.empty() && cut_.back().max_time >= min_time) {
    return absl::InvalidArgumentError(
        absl::StrCat("head: restored open chunk starts at ", min_time,
                     ", not after the last cut chunk (max time ",
                     cut_.back().max_time, ")"));
  }
  open_ = std::move(chunk);
  app_.reset();  // never appended to: Append cuts a new chunk first
  open_count_ = static_cast<uint32_t>(n);
  open_min_time_ = min_time;
  max_time_ = max_time;
  last_value_ = last_value;
  last_value_known_ = true;
  next_at_ = max_time;
  appended_ += static_cast<uint64_t>(n);
  return absl::OkStatus();
}

void Head::ForEachSeriesForSnapshot(
    const std::function<void(const SnapshotSeries&)>& fn) const {
  const uint64_t epoch = reclaimer_->Pin();
  SnapshotSeries out;
  series_->ForEach([&](MemSeries& s) {
    out.ref = s.ref();
    out.labels = LabelsOf(s);
    out.has_open_chunk = false;
    {
      std::lock_guard lock(s.mu);
      if (s.open_chunk() != nullptr) {
        const ChunkView v = s.Chunk(s.NumChunks() - 1);  // the open one
        if (v.num_samples > 0) {
          out.has_open_chunk = true;
          out.open.min_time = v.min_time;
          out.open.max_time = v.max_time;
          out.open.encoding = s.open_chunk()->encoding();
          out.open.bytes.assign(v.bytes.data(), v.bytes.size());
          out.open.last_value = s.last_value();
        }
      }
    }
    fn(out);
  });
  reclaimer_->Unpin(epoch);
}

absl::StatusOr<bool> Head::RestoreSeries(SeriesRef ref,
                                         const labels::Labels& lset,
                                         const std::vector<MappedChunk>& mapped,
                                         const SnapshotOpenChunk* open) {
  if (!mapped.empty() && opts_.chunk_mapper == nullptr) {
    return absl::FailedPreconditionError(
        "head: m-mapped chunks attached without a chunk mapper");
  }
  TSDB_ASSIGN_OR_RETURN(SeriesRef got, CreateSeriesWithRef(ref, lset));
  if (got != ref) {
    return absl::AlreadyExistsError(
        absl::StrCat("head: series ", lset.ToString(), " of snapshot ref ", ref,
                     " already exists as ", got));
  }
  return RestoreSeriesChunks(ref, mapped, open);
}

absl::StatusOr<bool> Head::RestoreSeriesChunks(
    SeriesRef ref, const std::vector<MappedChunk>& mapped,
    const SnapshotOpenChunk* open) {
  if (!mapped.empty() && opts_.chunk_mapper == nullptr) {
    return absl::FailedPreconditionError(
        "head: m-mapped chunks attached without a chunk mapper");
  }
  // Prometheus's loadMmappedChunks: a chunk m-mapped after the snapshot was
  // taken holds the snapshot's open chunk; drop the latter.
  if (open != nullptr && !mapped.empty() &&
      mapped.back().max_time >= open->min_time) {
    open = nullptr;
  }
  std::unique_ptr<chunkenc::Chunk> chunk;
  if (open != nullptr) {
    if (open->encoding != codec_->encoding()) {
      return absl::InvalidArgumentError(
          absl::StrCat("head: series ", ref, ": snapshot chunk encoding ",
                       static_cast<int>(open->encoding), ", the head uses ",
                       static_cast<int>(codec_->encoding())));
    }
    absl::StatusOr<std::unique_ptr<chunkenc::Chunk>> c =
        codec_->FromBytes(open->bytes);
    if (!c.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "head: series ", ref, ": snapshot chunk: ", c.status().message()));
    }
    chunk = std::move(*c);
  }
  const uint64_t epoch = reclaimer_->Pin();
  absl::Status st =
      absl::NotFoundError(absl::StrCat("head: series ", ref, " not found"));
  int64_t mint = std::numeric_limits<int64_t>::max();
  int64_t maxt = std::numeric_limits<int64_t>::min();
  size_t added = 0;
  if (MemSeries* s = series_->GetByRef(ref)) {
    std::lock_guard lock(s->mu);
    st = s->AttachMappedChunks(mapped);
    if (st.ok() && !mapped.empty()) {
      added += mapped.size();
      mint = mapped.front().min_time;
      maxt = mapped.back().max_time;
    }
    if (st.ok() && chunk != nullptr) {
      st = s->RestoreOpenChunk(std::move(chunk), open->min_time, open->max_time,
                               open->last_value);
      if (st.ok()) {
        ++added;
        mint = std::min(mint, open->min_time);
        maxt = std::max(maxt, open->max_time);
      }
    }
    if (!st.ok() && added > 0) {
      // Leave the series without chunks rather than half restored.
      s->DropAllChunks();
      added = 0;
    }
  }
  reclaimer_->Unpin(epoch);
  if (!st.ok()) {
    return absl::Status(st.code(),
                        absl::StrCat("series ", ref, ": ", st.message()));
  }
  if (added > 0) {
    num_chunks_.fetch_add(added, std::memory_order_relaxed);
    chunks_attached_.fetch_add(mapped.size(), std::memory_order_relaxed);
    if (open != nullptr)
      chunks_created_.fetch_add(1, std::memory_order_relaxed);
    InitTime(mint);
    UpdateMinMaxTime(mint, maxt);
  }
  return open != nullptr;
}

}  // namespace tsdb::head
