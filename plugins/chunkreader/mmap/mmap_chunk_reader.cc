#include "plugins/chunkreader/mmap/mmap_chunk_reader.h"

#include <algorithm>
#include <utility>

#include "tsdb/base/status_macros.h"
#include "tsdb/io/mapped_file.h"

namespace tsdb::plugins {
namespace {

class MmapChunkReader final : public chunks::ChunkFileReader {
 public:
  explicit MmapChunkReader(std::vector<std::unique_ptr<io::MappedFile>> files)
      : files_(std::move(files)) {
    for (const auto& f : files_) total_ += f->size();
  }

  absl::Status Read(chunks::BlockChunkRef ref, uint8_t* encoding,
                    std::string* data) const override {
    const uint32_t seg = chunks::RefSegment(ref);
    if (seg >= files_.size()) {
      return chunks::CheckRefPosition(ref, files_.size(), "", 0);
    }
    const io::MappedFile& f = *files_[seg];
    TSDB_RETURN_IF_ERROR(
        chunks::CheckRefPosition(ref, files_.size(), f.path(), f.size()));
    const std::string_view all = f.view();
    const uint64_t off = chunks::RefOffset(ref);
    const std::string_view head = all.substr(
        off,
        std::min<uint64_t>(chunks::kMaxChunkLengthFieldSize, all.size() - off));
    TSDB_ASSIGN_OR_RETURN(
        chunks::RecordLayout r,
        chunks::ParseRecordLength(f.path(), off, all.size(), head));
    return chunks::CheckRecord(f.path(), r,
                               all.substr(r.encoding_at, r.end - r.encoding_at),
                               encoding, data);
  }

  size_t NumSegments() const override { return files_.size(); }
  uint64_t TotalSize() const override { return total_; }

 private:
  std::vector<std::unique_ptr<io::MappedFile>> files_;
  uint64_t total_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<chunks::ChunkFileReader>> OpenMmapChunkReader(
    const std::vector<std::string>& segment_paths) {
  std::vector<std::unique_ptr<io::MappedFile>> files;
  files.reserve(segment_paths.size());
  for (const std::string& path : segment_paths) {
    TSDB_ASSIGN_OR_RETURN(auto f, io::MappedFile::Open(path));
    TSDB_RETURN_IF_ERROR(chunks::SegmentHeaderCheck(
        path, f->view().substr(0, chunks::kSegmentHeaderSize)));
    files.push_back(std::move(f));
  }
  return std::unique_ptr<chunks::ChunkFileReader>(
      new MmapChunkReader(std::move(files)));
}

absl::Status RegisterMmapChunkReader(
    chunks::ChunkFileReaderRegistry& registry) {
  return registry.Register(kMmapChunkReaderName, &OpenMmapChunkReader);
}

}  // namespace tsdb::plugins
