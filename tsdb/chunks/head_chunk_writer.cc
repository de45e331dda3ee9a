#include "tsdb/chunks/head_chunk_writer.h"

namespace tsdb::chunks {

void HeadChunkWriter::OnChunkCut(const head::CutChunkInfo& chunk) {
  absl::StatusOr<ChunkDiskMapperRef> ref =
      mapper_->WriteChunk(chunk.series, chunk.min_time, chunk.max_time,
                          chunk.encoding, chunk.bytes);
  std::lock_guard<std::mutex> l(mu_);
  if (!ref.ok()) {
    ++failures_;
    if (status_.ok()) status_ = ref.status();
    return;
  }
  ++written_;
  refs_[{chunk.series, chunk.chunk_id}] =
      MappedChunkMeta{*ref, chunk.min_time, chunk.max_time, chunk.num_samples};
}

absl::Status HeadChunkWriter::status() const {
  std::lock_guard<std::mutex> l(mu_);
  return status_;
}

uint64_t HeadChunkWriter::chunks_written() const {
  std::lock_guard<std::mutex> l(mu_);
  return written_;
}

uint64_t HeadChunkWriter::write_failures() const {
  std::lock_guard<std::mutex> l(mu_);
  return failures_;
}

std::optional<MappedChunkMeta> HeadChunkWriter::Lookup(
    uint64_t series, uint64_t chunk_id) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = refs_.find({series, chunk_id});
  if (it == refs_.end()) return std::nullopt;
  return it->second;
}

void HeadChunkWriter::Forget(int64_t mint) {
  std::lock_guard<std::mutex> l(mu_);
  for (auto it = refs_.begin(); it != refs_.end();) {
    it = it->second.max_time < mint ? refs_.erase(it) : std::next(it);
  }
}

size_t HeadChunkWriter::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return refs_.size();
}

}  // namespace tsdb::chunks
