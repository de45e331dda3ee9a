#include "plugins/chunkreader/pread/pread_chunk_reader.h"

#include <algorithm>
#include <utility>

#include "tsdb/base/status_macros.h"
#include "tsdb/io/file_system.h"

namespace tsdb::plugins {
namespace {

// One pread covers the length field and, for typical chunks (XOR chunks of
// 120 samples are ~100-300 bytes), the whole record.
constexpr size_t kFirstReadSize = 512;

struct Segment {
  std::unique_ptr<io::RandomAccessFile> file;
  uint64_t size = 0;
};

class PreadChunkReader final : public chunks::ChunkFileReader {
 public:
  explicit PreadChunkReader(std::vector<Segment> segments)
      : segments_(std::move(segments)) {
    for (const auto& s : segments_) total_ += s.size;
  }

  absl::Status Read(chunks::BlockChunkRef ref, uint8_t* encoding,
                    std::string* data) const override {
    const uint32_t seg = chunks::RefSegment(ref);
    if (seg >= segments_.size()) {
      return chunks::CheckRefPosition(ref, segments_.size(), "", 0);
    }
    const Segment& s = segments_[seg];
    const std::string& path = s.file->path();
    TSDB_RETURN_IF_ERROR(
        chunks::CheckRefPosition(ref, segments_.size(), path, s.size));
    const uint64_t off = chunks::RefOffset(ref);
    char first[kFirstReadSize];
    std::string_view got;
    TSDB_RETURN_IF_ERROR(s.file->Read(
        off, std::min<uint64_t>(kFirstReadSize, s.size - off), first, &got));
    TSDB_ASSIGN_OR_RETURN(chunks::RecordLayout r,
                          chunks::ParseRecordLength(
                              path, off, s.size,
                              got.substr(0, chunks::kMaxChunkLengthFieldSize)));
    const uint64_t body_len = r.end - r.encoding_at;
    if (r.end - off <= got.size()) {
      return chunks::CheckRecord(
          path, r, got.substr(r.encoding_at - off, body_len), encoding, data);
    }
    thread_local std::string scratch;
    scratch.resize(body_len);
    std::string_view body;
    TSDB_RETURN_IF_ERROR(
        s.file->Read(r.encoding_at, body_len, scratch.data(), &body));
    return chunks::CheckRecord(path, r, body, encoding, data);
  }

  size_t NumSegments() const override { return segments_.size(); }
  uint64_t TotalSize() const override { return total_; }

 private:
  std::vector<Segment> segments_;
  uint64_t total_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<chunks::ChunkFileReader>> OpenPreadChunkReader(
    const std::vector<std::string>& segment_paths) {
  io::FileSystem* fs = io::PosixFileSystem();
  std::vector<Segment> segments;
  segments.reserve(segment_paths.size());
  for (const std::string& path : segment_paths) {
    Segment s;
    TSDB_ASSIGN_OR_RETURN(s.file, fs->NewRandomAccessFile(path));
    TSDB_ASSIGN_OR_RETURN(s.size, s.file->Size());
    char header[chunks::kSegmentHeaderSize];
    std::string_view got;
    TSDB_RETURN_IF_ERROR(
        s.file->Read(0, chunks::kSegmentHeaderSize, header, &got));
    TSDB_RETURN_IF_ERROR(chunks::SegmentHeaderCheck(path, got));
    segments.push_back(std::move(s));
  }
  return std::unique_ptr<chunks::ChunkFileReader>(
      new PreadChunkReader(std::move(segments)));
}

absl::Status RegisterPreadChunkReader(
    chunks::ChunkFileReaderRegistry& registry) {
  return registry.Register(kPreadChunkReaderName, &OpenPreadChunkReader);
}

}  // namespace tsdb::plugins
