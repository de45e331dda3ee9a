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
// Range mode (the parallel replay, tsdb/wal/replay.cc): a Reader over ONE
// segment that starts at a page boundary `begin` inside it, first skips the
// middle/last fragments there (the tail of a record that started earlier;
// their CRCs are not checked: the range before reads them), and returns the
// records that START before `end`, each read to its end even past `end`.
// range_start() is where the first record (or padding) was found; cursor()
// is where reading stopped. A record is returned exactly as a Reader over the
// whole log would return it iff range_start() is where that Reader stands
// after the previous range's records; the caller checks that.
//
// Full (single-fragment) records are not copied: an uncompressed one is a
// view of the read buffer, a compressed one is decompressed straight from
// it into a reused buffer.
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
  // Range mode (see above): `segment.start_offset` is the range's begin;
  // with `skip_continuation` (any range but a segment's first) the leading
  // middle/last fragments are skipped. Next() returns false with status()
  // OK once no record starts before `end`.
  Reader(io::FileSystem* fs, SegmentFile segment, uint64_t end,
         bool skip_continuation);
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Advances to the next record; false at the end or on error (see status).
  bool Next();

  // The current record (decompressed).
  std::string_view record() const { return view_; }
  // Segment index and byte offset where the current record starts.
  int segment() const { return cur_segment_; }
  uint64_t offset() const { return cur_offset_; }
  // Byte offset just past the current record's last fragment.
  uint64_t record_end() const { return good_end_; }
  // Position in the constructor's `segments` of the current record's segment.
  size_t segment_position() const { return cur_position_; }
  // Range mode: where the first record (or padding) after the skipped
  // fragments starts (valid once Next() was called), and the byte offset
  // in the segment where reading stopped (or is).
  uint64_t range_start() const { return range_start_; }
  uint64_t cursor() const { return pos_; }

  // OK, DataLoss at corruption, or the I/O error that stopped the reader.
  const absl::Status& status() const { return status_; }
  // Set when status() is DataLoss because of the bytes of a segment.
  const std::optional<Corruption>& corruption() const { return corruption_; }

 private:
  bool OpenNextSegment();
  bool LoadPage(uint64_t page_start, uint64_t page_end);
  bool Corrupt(uint64_t offset, std::string reason);
  bool SkipContinuation();
  bool Decompress(const char* data, size_t len);

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

  // Range mode.
  uint64_t range_end_ = UINT64_MAX;
  bool skip_pending_ = false;
  uint64_t range_start_ = 0;

  std::string_view view_;  // the current record
  std::string record_;     // a multi-fragment uncompressed record
  std::string compressed_;
  std::unique_ptr<char[]> decompressed_;
  size_t decompressed_cap_ = 0;
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
