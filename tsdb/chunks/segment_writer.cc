#include "tsdb/chunks/segment_writer.h"

#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tsdb/base/coding.h"
#include "tsdb/base/crc32c.h"
#include "tsdb/base/status_macros.h"

namespace tsdb::chunks {

absl::StatusOr<std::unique_ptr<SegmentWriter>> SegmentWriter::Open(
    io::FileSystem* fs, std::string dir, SegmentWriterOptions options) {
  if (options.segment_size < kSegmentHeaderSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk segment size ", options.segment_size,
                     " is smaller than the segment header"));
  }
  TSDB_RETURN_IF_ERROR(fs->CreateDirs(dir));
  return std::unique_ptr<SegmentWriter>(
      new SegmentWriter(fs, std::move(dir), options));
}

SegmentWriter::~SegmentWriter() {
  if (!closed_) (void)Close();
}

absl::Status SegmentWriter::FinishFile() {
  if (file_ == nullptr) return absl::OkStatus();
  TSDB_RETURN_IF_ERROR(file_->Flush());
  // Drop the preallocated tail, then make the data and the size durable.
  TSDB_RETURN_IF_ERROR(fs_->Truncate(file_->path(), offset_));
  TSDB_RETURN_IF_ERROR(file_->Sync());
  TSDB_RETURN_IF_ERROR(file_->Close());
  total_bytes_ += offset_;
  file_.reset();
  return absl::OkStatus();
}

absl::Status SegmentWriter::Cut() {
  TSDB_RETURN_IF_ERROR(FinishFile());
  const std::string path = io::JoinPath(dir_, SegmentFileName(next_index_));
  TSDB_ASSIGN_OR_RETURN(file_, fs_->NewWritableFile(path));
  if (options_.preallocate) {
    TSDB_RETURN_IF_ERROR(file_->Preallocate(options_.segment_size));
  }
  uint8_t header[kSegmentHeaderSize] = {};
  PutBE32(header, kSegmentMagic);
  header[4] = kSegmentFormatV1;
  TSDB_RETURN_IF_ERROR(file_->Append(
      std::string_view(reinterpret_cast<const char*>(header), sizeof(header))));
  offset_ = kSegmentHeaderSize;
  ++next_index_;
  return absl::OkStatus();
}

absl::Status SegmentWriter::WriteChunks(const std::vector<ChunkData>& chunks,
                                        std::vector<BlockChunkRef>* refs) {
  if (closed_) {
    return absl::FailedPreconditionError(
        absl::StrCat("chunk segment writer for ", dir_, " is closed"));
  }
  // Prometheus's batching (chunks.Writer.WriteChunks): sizes are counted at
  // their worst case and accumulate within the call; a file that already
  // holds data is compared with its real size.
  std::vector<bool> cut_before(chunks.size(), false);
  uint64_t batch_size = 0;
  bool first_batch = true;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const uint64_t chk_size = kMaxChunkLengthFieldSize + kChunkEncodingSize +
                              chunks[i].data.size() + kCrcSize;
    batch_size += chk_size;
    bool cut =
        i != 0 && batch_size + kSegmentHeaderSize > options_.segment_size;
    if (first_batch && offset_ > kSegmentHeaderSize) {
      cut = batch_size + offset_ > options_.segment_size;
      if (cut) first_batch = false;
    }
    if (cut) {
      cut_before[i] = true;
      batch_size = chk_size;
    }
  }
  if (file_ == nullptr) TSDB_RETURN_IF_ERROR(Cut());
  refs->resize(chunks.size());
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (cut_before[i]) TSDB_RETURN_IF_ERROR(Cut());
    TSDB_ASSIGN_OR_RETURN((*refs)[i],
                          WriteRecord(chunks[i].encoding, chunks[i].data));
  }
  return absl::OkStatus();
}

absl::StatusOr<BlockChunkRef> SegmentWriter::Write(uint8_t encoding,
                                                   std::string_view data) {
  std::vector<BlockChunkRef> refs;
  TSDB_RETURN_IF_ERROR(WriteChunks({ChunkData{encoding, data}}, &refs));
  return refs[0];
}

absl::StatusOr<BlockChunkRef> SegmentWriter::WriteRecord(
    uint8_t encoding, std::string_view data) {
  if (offset_ > std::numeric_limits<uint32_t>::max()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("chunk segment ", file_->path(), " exceeds 4 GiB"));
  }
  const BlockChunkRef ref =
      MakeBlockChunkRef(next_index_ - 1, static_cast<uint32_t>(offset_));
  buf_.clear();
  AppendUvarint(&buf_, data.size());
  const size_t enc_at = buf_.size();
  buf_.push_back(static_cast<char>(encoding));
  buf_.append(data.data(), data.size());
  AppendBE32(&buf_, crc32c::Value(buf_.data() + enc_at, buf_.size() - enc_at));
  TSDB_RETURN_IF_ERROR(file_->Append(buf_));
  offset_ += buf_.size();
  return ref;
}

absl::Status SegmentWriter::Close() {
  if (closed_) return absl::OkStatus();
  closed_ = true;
  TSDB_RETURN_IF_ERROR(FinishFile());
  return fs_->SyncDir(dir_);
}

}  // namespace tsdb::chunks
