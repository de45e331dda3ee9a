// Reader: the records of a sequence of WAL segments, in order.
//
// Reads Prometheus 2.42's framing (tsdb/wal/framing.h): checks every
// fragment's CRC32C, the fragment sequence, the zero padding, and decodes
// snappy-compressed records. It stops at the first problem: everything
// before it is returned, nothing after. A clean end of the last segment ends
// with status() OK; a problem ends it with a sticky DataLoss status naming
// the segment file and byte offset, and corruption() says where the segment
// has to be cut so that it ends after its last complete record (what repair
// does). A record torn at the end of a segment is corruption too (records
// never span segments; after a crash it is the torn tail).
//
// Example:
//   TSDB_ASSIGN_OR_RETURN(auto segs, SegmentsInDir(fs, dir, 0, -1));
//   Reader r(fs, std::move(segs));
//   while (r.Next()) Use(r.record());
//   if (!r.status().ok()) ... r.corruption()->segment, ->offset ...
//
// Ownership: `fs` must outlive the Reader. record() points into the reader
// and is valid until the next call to Next().
// Thread safety: one thread at a time.
#ifndef TSDB_WAL_READER_H_
#define TSDB_WAL_READER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/io/file_system.h"

namespace tsdb::wal {

struct SegmentFile {
  int index = 0;
  std::string path;
  // Where reading starts in this file (a record boundary; need not be page
  // aligned): resuming a log after a chunk snapshot. Past the end: nothing.
  uint64_t start_offset = 0;
};

// Where a log stops being readable.
struct Corruption {
  int segment = 0;        // SegmentFile::index
  std::string path;       // the segment file
  uint64_t offset = 0;    // first bad byte (start of the bad fragment/page)
  uint64_t good_end = 0;  // end of the last complete record in the segment
  std::string reason;     // e.g. "unexpected checksum 1234abcd, expected ..."
};

// The segments of `dir` with first <= index <= last (last < 0: no upper
// bound), ascending.
absl::StatusOr<std::vector<SegmentFile>> SegmentsInDir(io::FileSystem* fs,
                                                       const std::string& dir,
                                                       int first, int last);

class Reader final {
 public:
  Reader(io::FileSystem* fs, std::vector<SegmentFile> segments);
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Advances to the next record; false at the end or on error (see status).
  bool Next();

  // The current record (decompressed).
  std::string_view record() const { return record_; }
  // Segment index and byte offset where the current record starts.
  int segment() const { return cur_segment_; }
  uint64_t offset() const { return cur_offset_; }
  // Byte offset just past the current record's last fragment.
  uint64_t record_end() const { return good_end_; }
  // Position in the constructor's `segments` of the current record's segment.
  size_t segment_position() const { return cur_position_; }

  // OK, DataLoss at corruption, or the I/O error that stopped the reader.
  const absl::Status& status() const { return status_; }
  // Set when status() is DataLoss because of the bytes of a segment.
  const std::optional<Corruption>& corruption() const { return corruption_; }

 private:
  bool OpenNextSegment();
  bool LoadPage(uint64_t page_start, uint64_t page_end);
  bool Corrupt(uint64_t offset, std::string reason);

  io::FileSystem* const fs_;
  const std::vector<SegmentFile> segments_;
  size_t next_segment_ = 0;

  std::unique_ptr<io::RandomAccessFile> file_;
  const SegmentFile* seg_ = nullptr;
  uint64_t file_size_ = 0;
  uint64_t pos_ = 0;       // next byte to parse in the file
  uint64_t good_end_ = 0;  // end of the last complete record in the file

  std::string scratch_;
  std::string_view chunk_;  // file bytes [chunk_off_, chunk_off_ + size)
  uint64_t chunk_off_ = 0;

  std::string record_;
  std::string compressed_;
  bool in_record_ = false;
  bool record_compressed_ = false;
  uint64_t record_start_ = 0;
  int cur_segment_ = -1;
  size_t cur_position_ = 0;
  uint64_t cur_offset_ = 0;

  absl::Status status_;
  std::optional<Corruption> corruption_;
};

}  // namespace tsdb::wal

#endif  // TSDB_WAL_READER_H_
