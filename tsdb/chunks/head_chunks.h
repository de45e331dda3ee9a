// ChunkDiskMapper: the m-mapped head chunk files (`<data>/chunks_head/`),
// byte-compatible with Prometheus 2.42 (tsdb/chunks/head_chunks.go).
//
// Full (cut) head chunks are appended to `chunks_head/NNNNNN` (6-digit file
// numbers) so that the head can drop their bytes from memory and read them
// back by reference; at start-up the files are scanned to re-attach the
// chunks to their series before the WAL is replayed.
//
// Format (tsdb/docs/format/head_chunks.md):
//   file header  BE32 magic 0x0130BC91 | version byte 1 | 3 zero bytes
//   record       BE64 seriesRef | BE64 mint | BE64 maxt | encoding byte |
//                uvarint dataLen | data | BE32 CRC32C(seriesRef..data)
// A ChunkDiskMapperRef is `(real file number << 32) | offset of the record`
// (file 000001 -> 1; unlike BlockChunkRef, which uses a 0-based index).
// Files may end in a zero tail (Prometheus fallocates 128 KiB and never
// truncates back); readers stop at a record whose seriesRef, mint and maxt
// are all 0, or at fewer than 24 bytes that are all 0.
//
// Writing: a new file is started on the first write after Open, when a
// record would not fit in max_file_size, and on the first write after
// CutNewFile()/Truncate(). Writes go to an in-memory buffer
// (write_buffer_size), handed to the OS when it is full, on Flush(), when
// a file is finished and at Close(). A finished file is fsync'ed.
//
// Reading (ReadChunk): finished files are read through a read-only mapping
// (io::MappedFile) when the file system is io::PosixFileSystem() and
// options.use_mmap is set, otherwise with pread (io::RandomAccessFile). The
// file being written is read with pread up to the flushed size, and records
// still in the write buffer are copied out of the buffer under its lock, so
// a chunk is readable as soon as WriteChunk returned its ref. Every read
// verifies the record's CRC and copies the data out: callers never hold a
// pointer into a mapping that truncation may unmap.
//
// Start-up: Open() only lists the files. IterateAllChunks() validates them
// and calls back for every record in file order; corruption (bad header, a
// gap in the file numbers, a bad CRC, impossible fields) makes it delete the
// damaged record and everything after it (the file is truncated at the
// record, later files are removed) and report what it dropped, so that the
// caller replays those samples from the WAL. Prometheus 2.42 deletes the
// whole damaged file instead; keeping its good prefix is compatible (the
// WAL replay skips samples already in m-mapped chunks either way).
//
// Usage:
//   TSDB_ASSIGN_OR_RETURN(auto cdm, ChunkDiskMapper::Open(fs, dir, {}));
//   TSDB_ASSIGN_OR_RETURN(HeadChunkScanResult r, cdm->IterateAllChunks(
//       [&](const MappedChunkInfo& c) { ...; return absl::OkStatus(); }));
//   if (r.corruption) LOG(...) << r.corruption_status;
//   TSDB_ASSIGN_OR_RETURN(ChunkDiskMapperRef ref,
//       cdm->WriteChunk(series, mint, maxt, /*encoding=*/1, bytes));
//   HeadChunkRecord rec;  TSDB_RETURN_IF_ERROR(cdm->ReadChunk(ref, &rec));
//   TSDB_RETURN_IF_ERROR(cdm->Truncate(head_min_time));  // after head GC
//   TSDB_RETURN_IF_ERROR(cdm->Close());
//
// Ownership: `fs` must outlive the mapper. Thread safety: every method may
// be called from any thread; writes are serialized internally, reads run in
// parallel with each other and with writes. REQUIRES: IterateAllChunks runs
// before any ReadChunk (it may truncate files that are mapped).
#ifndef TSDB_CHUNKS_HEAD_CHUNKS_H_
#define TSDB_CHUNKS_HEAD_CHUNKS_H_

#include <bitset>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/io/file_system.h"

namespace tsdb::chunks {

// (real file number << 32) | byte offset of the record in the file.
using ChunkDiskMapperRef = uint64_t;

inline constexpr uint32_t kHeadChunkMagic = 0x0130BC91;
inline constexpr uint8_t kHeadChunkFormatV1 = 1;
inline constexpr uint64_t kHeadChunkFileHeaderSize = 8;
// seriesRef + mint + maxt.
inline constexpr uint64_t kHeadChunkRecordPrefixSize = 24;
// Prefix + encoding + worst-case length varint + CRC (Prometheus's
// MaxHeadChunkMetaSize).
inline constexpr uint64_t kMaxHeadChunkMetaSize = 24 + 1 + 5 + 4;
inline constexpr uint64_t kDefaultMaxHeadChunkFileSize = uint64_t{128} << 20;
inline constexpr size_t kDefaultHeadChunkWriteBufferSize = size_t{4} << 20;
inline constexpr uint64_t kDefaultHeadChunkPreallocateSize = uint64_t{128}
                                                             << 10;
// Encodings Prometheus 2.42 writes to chunks_head: XOR, histogram, float
// histogram, and OOO XOR (0x81).
inline constexpr uint8_t kOutOfOrderXorEncoding = 0x81;

inline ChunkDiskMapperRef MakeChunkDiskMapperRef(uint32_t file,
                                                 uint32_t offset) {
  return (uint64_t{file} << 32) | offset;
}
inline uint32_t ChunkDiskMapperRefFile(ChunkDiskMapperRef ref) {
  return static_cast<uint32_t>(ref >> 32);
}
inline uint32_t ChunkDiskMapperRefOffset(ChunkDiskMapperRef ref) {
  return static_cast<uint32_t>(ref);
}

// "000001" for file number 1.
std::string HeadChunkFileName(uint32_t number);

// The default set of encodings a record may carry: 1, 2, 3 and 0x81.
std::bitset<256> DefaultHeadChunkEncodings();

struct ChunkDiskMapperOptions {
  // A new file is started when a record would make the current one larger
  // (a file always takes at least one record). At most 4 GiB (refs hold
  // 32-bit offsets).
  uint64_t max_file_size = kDefaultMaxHeadChunkFileSize;
  // Buffered bytes before they are handed to the OS.
  size_t write_buffer_size = kDefaultHeadChunkWriteBufferSize;
  // New files are extended to this size (zero tail, as Prometheus's
  // fallocate); 0 = not at all. Never truncated back.
  uint64_t preallocate_size = kDefaultHeadChunkPreallocateSize;
  // Read finished files through mmap when the file system is POSIX.
  bool use_mmap = true;
  // Encoding bytes a valid record may carry (others are corruption).
  std::bitset<256> known_encodings = DefaultHeadChunkEncodings();
};

// One record as the start-up scan reports it.
struct MappedChunkInfo {
  uint64_t series_ref = 0;  // HeadSeriesRef
  ChunkDiskMapperRef ref = 0;
  int64_t min_time = 0;
  int64_t max_time = 0;
  uint16_t num_samples = 0;  // BE16 at the start of the data (XOR header)
  uint8_t encoding = 0;
};

// One record as ReadChunk returns it (data copied).
struct HeadChunkRecord {
  uint64_t series_ref = 0;
  int64_t min_time = 0;
  int64_t max_time = 0;
  uint8_t encoding = 0;
  std::string data;
};

struct HeadChunkScanResult {
  uint64_t chunks = 0;  // records passed to the callback
  uint32_t files = 0;   // files left after the scan
  // Corruption found and repaired: `corruption_status` (DataLoss) names the
  // file, offset and reason; the record there and everything after it was
  // deleted.
  bool corruption = false;
  absl::Status corruption_status;
  uint32_t corrupt_file = 0;
  uint64_t corrupt_offset = 0;
  uint64_t bytes_dropped = 0;  // non-zero bytes cut from the damaged file
  uint32_t files_removed = 0;  // the damaged file if its header was bad,
                               // and every later file
  // A last file too short to hold a magic number, or with a zero magic (a
  // crash right after it was created): removed silently, as Prometheus's
  // repairLastChunkFile.
  bool removed_empty_last_file = false;
};

class ChunkDiskMapper final {
 public:
  using Callback = std::function<absl::Status(const MappedChunkInfo&)>;

  // Creates `dir` if needed and lists its `NNNNNN` files (other names are
  // ignored). Nothing is validated or written yet; the first write starts
  // file max(existing) + 1. InvalidArgument for bad options.
  static absl::StatusOr<std::unique_ptr<ChunkDiskMapper>> Open(
      io::FileSystem* fs, std::string dir, ChunkDiskMapperOptions options);

  // Flushes and closes (errors are dropped; call Close() to see them).
  ~ChunkDiskMapper();
  ChunkDiskMapper(const ChunkDiskMapper&) = delete;
  ChunkDiskMapper& operator=(const ChunkDiskMapper&) = delete;

  // Start-up scan, see the file comment. Calls `cb` for every valid record
  // in file order (with the write lock held: `cb` must not write, it may
  // ReadChunk). A non-OK status from `cb` stops the scan and is returned as
  // is. Errors: I/O failures. Corruption is repaired and reported in the
  // result, not as an error. Also records each file's max time for
  // Truncate(). REQUIRES: before any WriteChunk.
  absl::StatusOr<HeadChunkScanResult> IterateAllChunks(const Callback& cb);

  // Appends one chunk record and returns its ref; the chunk is readable at
  // once. InvalidArgument if `data` holds fewer than 2 bytes (the sample
  // count header), for an encoding not in options.known_encodings, or for a
  // record larger than max_file_size; FailedPrecondition after Close.
  absl::StatusOr<ChunkDiskMapperRef> WriteChunk(uint64_t series_ref,
                                                int64_t mint, int64_t maxt,
                                                uint8_t encoding,
                                                std::string_view data);

  // Reads and verifies the record at `ref`. NotFound for a ref to no file
  // (e.g. truncated away) or outside its file's records; DataLoss for a
  // damaged record.
  [[nodiscard]] absl::Status ReadChunk(ChunkDiskMapperRef ref,
                                       HeadChunkRecord* out) const;

  // Hands buffered records to the OS (they survive a process crash).
  [[nodiscard]] absl::Status Flush();

  // The next write starts a new file (if the current one holds records).
  void CutNewFile();

  // Deletes the oldest files all of whose records have maxt < mint (files
  // not scanned by IterateAllChunks count as unknown and are kept), stopping
  // at the first file that does not qualify and never deleting the file
  // being written; then cuts a new file for the next write (Prometheus's
  // Truncate). Call after the head dropped its chunks older than mint.
  [[nodiscard]] absl::Status Truncate(int64_t mint);

  // Deletes files numbered below `file_number`, except the one being
  // written.
  [[nodiscard]] absl::Status DeleteFilesBefore(uint32_t file_number);

  // Flushes, fsyncs and closes the current file. Further calls fail with
  // FailedPrecondition.
  [[nodiscard]] absl::Status Close();

  // Numbers of the files present, ascending.
  std::vector<uint32_t> FileNumbers() const;
  // The file being written, or 0 if none yet.
  uint32_t CurrentFileNumber() const;
  const std::string& dir() const { return dir_; }

 private:
  struct Segment;

  ChunkDiskMapper(io::FileSystem* fs, std::string dir,
                  ChunkDiskMapperOptions options);

  // Opens a reader for a finished file (mapping or pread).
  absl::StatusOr<std::shared_ptr<Segment>> OpenFinished(uint32_t number,
                                                        int64_t maxt);
  absl::Status CutLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status FinishCurrentLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status FlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status RemoveFiles(const std::vector<uint32_t>& numbers)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  std::shared_ptr<Segment> FindSegment(uint32_t number) const;
  std::string PathOf(uint32_t number) const;

  io::FileSystem* const fs_;
  const std::string dir_;
  const ChunkDiskMapperOptions options_;
  const bool mmap_;

  // Lock order: write_mu_ -> read_mu_ -> buf_mu_.
  // Write path: the current file, its offset, cut requests.
  mutable std::mutex write_mu_;
  std::unique_ptr<io::WritableFile> file_ ABSL_GUARDED_BY(write_mu_);
  uint32_t cur_number_ ABSL_GUARDED_BY(write_mu_) = 0;
  uint64_t cur_offset_ ABSL_GUARDED_BY(write_mu_) = 0;  // incl. buffered
  uint32_t next_number_ ABSL_GUARDED_BY(write_mu_) = 1;
  bool cut_requested_ ABSL_GUARDED_BY(write_mu_) = false;
  bool closed_ ABSL_GUARDED_BY(write_mu_) = false;

  // The files, by number.
  mutable std::shared_mutex read_mu_;
  std::map<uint32_t, std::shared_ptr<Segment>> segments_
      ABSL_GUARDED_BY(read_mu_);

  // Records of the current file not yet handed to the OS: they are at
  // [flushed_, flushed_ + buf_.size()) of file buf_number_. The writer
  // (holding write_mu_) may read buf_ without buf_mu_; it changes buf_ only
  // with buf_mu_ held.
  mutable std::mutex buf_mu_;
  std::string buf_;
  uint32_t buf_number_ ABSL_GUARDED_BY(buf_mu_) = 0;
  uint64_t flushed_ ABSL_GUARDED_BY(buf_mu_) = 0;
};

}  // namespace tsdb::chunks

#endif  // TSDB_CHUNKS_HEAD_CHUNKS_H_
