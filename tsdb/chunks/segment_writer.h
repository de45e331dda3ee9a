// SegmentWriter: writes a block's chunk segment files
// (`<dir>/000001`, `000002`, ...) exactly as Prometheus 2.42 does
// (tsdb/chunks/chunks.go Writer); see chunk_file_reader.h for the format.
//
// - Each new file is preallocated to `segment_size` (fallocate, as
//   Prometheus; WritableFile::Preallocate) and truncated to its real size
//   when it is finished (on cut and on Close).
// - A new file is started when the next chunk would not fit; the writer
//   counts each chunk as 5 + 1 + len + 4 bytes (worst-case varint), and a
//   file always receives at least one chunk, so a huge chunk may exceed the
//   limit. WriteChunks mirrors Prometheus's WriteChunks batching exactly
//   (within one call, earlier chunks are counted at their worst-case size),
//   so writing one series' chunks per call cuts files where Prometheus does.
// - Refs are BlockChunkRefs (0-based file index << 32 | offset).
//
// Usage:
//   TSDB_ASSIGN_OR_RETURN(auto w, SegmentWriter::Open(fs, dir, {}));
//   TSDB_ASSIGN_OR_RETURN(BlockChunkRef ref, w->Write(enc, bytes));
//   TSDB_RETURN_IF_ERROR(w->Close());   // fsyncs every file and the dir
//
// Ownership: `fs` must outlive the writer. Thread safety: one thread.
#ifndef TSDB_CHUNKS_SEGMENT_WRITER_H_
#define TSDB_CHUNKS_SEGMENT_WRITER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/chunks/chunk_file_reader.h"
#include "tsdb/io/file_system.h"

namespace tsdb::chunks {

struct SegmentWriterOptions {
  // Preallocated size of each file and the cut threshold.
  uint64_t segment_size = kDefaultSegmentSize;
  // Preallocate new files to segment_size (tests of tiny sizes may turn it
  // off; the final files are identical either way).
  bool preallocate = true;
};

class SegmentWriter final {
 public:
  // Creates `dir` if needed. Files are created lazily by the first Write.
  static absl::StatusOr<std::unique_ptr<SegmentWriter>> Open(
      io::FileSystem* fs, std::string dir, SegmentWriterOptions options);

  ~SegmentWriter();
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

  struct ChunkData {
    uint8_t encoding = 0;
    std::string_view data;
  };

  // Appends the chunk records of one series, in order; refs[i] receives the
  // ref of chunks[i] (resized to match). REQUIRES: not closed.
  [[nodiscard]] absl::Status WriteChunks(const std::vector<ChunkData>& chunks,
                                         std::vector<BlockChunkRef>* refs);

  // Appends one chunk record (WriteChunks of one chunk).
  absl::StatusOr<BlockChunkRef> Write(uint8_t encoding, std::string_view data);

  // Finishes the current file (flush, truncate to size, fsync, close) and
  // fsyncs the directory. Further writes fail.
  [[nodiscard]] absl::Status Close();

  // Number of files started so far.
  uint32_t NumSegments() const { return next_index_; }
  // Bytes written to all files (their final sizes).
  uint64_t TotalBytes() const { return total_bytes_; }

 private:
  SegmentWriter(io::FileSystem* fs, std::string dir,
                SegmentWriterOptions options)
      : fs_(fs), dir_(std::move(dir)), options_(options) {}

  [[nodiscard]] absl::Status Cut();
  [[nodiscard]] absl::Status FinishFile();
  absl::StatusOr<BlockChunkRef> WriteRecord(uint8_t encoding,
                                            std::string_view data);

  io::FileSystem* fs_;
  std::string dir_;
  SegmentWriterOptions options_;
  std::unique_ptr<io::WritableFile> file_;
  uint32_t next_index_ = 0;  // index of the next file to create
  uint64_t offset_ = 0;      // bytes in the current file
  uint64_t total_bytes_ = 0;
  bool closed_ = false;
  std::string buf_;
};

}  // namespace tsdb::chunks

#endif  // TSDB_CHUNKS_SEGMENT_WRITER_H_
