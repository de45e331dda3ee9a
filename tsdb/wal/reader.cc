#include "tsdb/wal/reader.h"

#include <snappy.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tsdb/base/coding.h"
#include "tsdb/base/crc32c.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/wal/framing.h"

namespace tsdb::wal {
namespace {

// Bytes read per I/O: whole pages, so a page is always in one chunk.
constexpr uint64_t kChunkSize = 32 * kPageSize;

}  // namespace

absl::StatusOr<std::vector<SegmentFile>> SegmentsInDir(io::FileSystem* fs,
                                                       const std::string& dir,
                                                       int first, int last) {
  TSDB_ASSIGN_OR_RETURN(std::vector<int> idx, ListSegments(fs, dir));
  std::vector<SegmentFile> out;
  for (int i : idx) {
    if (i < first || (last >= 0 && i > last)) continue;
    out.push_back(SegmentFile{i, io::JoinPath(dir, SegmentName(i))});
  }
  return out;
}

Reader::Reader(io::FileSystem* fs, std::vector<SegmentFile> segments)
    : fs_(fs), segments_(std::move(segments)) {}

Reader::Reader(io::FileSystem* fs, SegmentFile segment, uint64_t end,
               bool skip_continuation)
    : fs_(fs),
      segments_({std::move(segment)}),
      range_end_(end),
      skip_pending_(skip_continuation) {}

bool Reader::OpenNextSegment() {
  file_.reset();
  if (next_segment_ >= segments_.size()) return false;
  seg_ = &segments_[next_segment_++];
  auto f = fs_->NewRandomAccessFile(seg_->path);
  if (!f.ok()) {
    status_ = f.status();
    return false;
  }
  auto size = (*f)->Size();
  if (!size.ok()) {
    status_ = size.status();
    return false;
  }
  file_ = std::move(*f);
  file_size_ = *size;
  pos_ = std::min(seg_->start_offset, file_size_);
  good_end_ = pos_;
  range_start_ = pos_;
  chunk_ = {};
  chunk_off_ = 0;
  in_record_ = false;
  return true;
}

bool Reader::LoadPage(uint64_t page_start, uint64_t page_end) {
  if (page_start >= chunk_off_ && page_end <= chunk_off_ + chunk_.size()) {
    return true;
  }
  uint64_t n = std::min(kChunkSize, file_size_ - page_start);
  if (range_end_ != UINT64_MAX) {
    // Range mode: read the range, then the record running past its end a
    // few pages at a time.
    const uint64_t want =
        page_start < range_end_
            ? std::max(kPageSize, (range_end_ - page_start + kPageSize - 1) /
                                      kPageSize * kPageSize)
            : 4 * kPageSize;
    n = std::min(n, want);
  }
  if (scratch_.size() < n) scratch_.resize(n);
  std::string_view got;
  absl::Status s = file_->Read(page_start, n, scratch_.data(), &got);
  if (!s.ok()) {
    status_ = s;
    return false;
  }
  chunk_ = got;
  chunk_off_ = page_start;
  if (page_end > chunk_off_ + chunk_.size()) {
    // The file shrank under us; treat as a torn end.
    file_size_ = chunk_off_ + chunk_.size();
    return Corrupt(page_start, "segment shorter than its size");
  }
  return true;
}

bool Reader::Corrupt(uint64_t offset, std::string reason) {
  Corruption c;
  c.segment = seg_->index;
  c.path = seg_->path;
  c.offset = offset;
  c.good_end = good_end_;
  c.reason = std::move(reason);
  status_ = absl::DataLossError(absl::StrCat(
      "corruption in segment ", c.path, " at offset ", c.offset, ": ", c.reason,
      " (last complete record ends at ", c.good_end, ")"));
  corruption_ = std::move(c);
  return false;
}

bool Reader::SkipContinuation() {
  while (pos_ < file_size_ && pos_ < range_end_) {
    const uint64_t page_start = pos_ - pos_ % kPageSize;
    const uint64_t page_end = std::min(page_start + kPageSize, file_size_);
    if (!LoadPage(page_start, page_end)) return false;
    const uint8_t* page =
        reinterpret_cast<const uint8_t*>(chunk_.data()) + (pos_ - chunk_off_);
    const uint64_t left = page_end - pos_;
    const uint8_t type = page[0] & kTypeMask;
    if (type != kMiddle && type != kLast) break;
    if (left < kFragmentHeaderSize ||
        GetBE16(page + 1) > left - kFragmentHeaderSize) {
      // Not a fragment chain a whole-log reader could follow; the caller
      // reads sequentially instead.
      status_ = absl::DataLossError(
          absl::StrCat("segment ", seg_->path, ": bad fragment at ", pos_,
                       " while looking for the first record of a range"));
      return false;
    }
    pos_ += kFragmentHeaderSize + GetBE16(page + 1);
  }
  good_end_ = pos_;
  range_start_ = pos_;
  return true;
}

bool Reader::Decompress(const char* data, size_t len) {
  if (len == 0) {
    view_ = {};
    return true;
  }
  size_t n = 0;
  if (!snappy::GetUncompressedLength(data, len, &n)) return false;
  if (n > decompressed_cap_ || decompressed_ == nullptr) {
    decompressed_cap_ = std::max<size_t>({n, 2 * decompressed_cap_, 1 << 16});
    decompressed_ = std::make_unique<char[]>(decompressed_cap_);
  }
  if (!snappy::RawUncompress(data, len, decompressed_.get())) return false;
  view_ = std::string_view(decompressed_.get(), n);
  return true;
}

bool Reader::Next() {
  if (!status_.ok()) return false;
  while (true) {
    if (file_ == nullptr) {
      if (!OpenNextSegment()) return false;
      if (skip_pending_) {
        skip_pending_ = false;
        if (!SkipContinuation()) return false;
      }
    }
    if (pos_ >= file_size_) {
      if (in_record_) {
        return Corrupt(record_start_, "last record is torn");
      }
      file_.reset();
      continue;
    }
    if (!in_record_ && pos_ >= range_end_) return false;
    const uint64_t page_start = pos_ - pos_ % kPageSize;
    const uint64_t page_end = std::min(page_start + kPageSize, file_size_);
    if (!LoadPage(page_start, page_end)) return false;
    const uint8_t* page =
        reinterpret_cast<const uint8_t*>(chunk_.data()) + (pos_ - chunk_off_);
    const uint64_t left = page_end - pos_;
    const uint8_t flags = page[0];
    const uint8_t type = flags & kTypeMask;

    if (type == kPagePadding) {
      for (uint64_t i = 1; i < left; ++i) {
        if (page[i] != 0) {
          return Corrupt(pos_, "unexpected non-zero byte in padded page");
        }
      }
      pos_ = page_end;
      continue;
    }
    if (left < kFragmentHeaderSize) {
      return Corrupt(pos_, page_end == file_size_
                               ? "torn fragment header"
                               : "fragment header crosses a page boundary");
    }
    const uint64_t len = GetBE16(page + 1);
    const uint32_t crc = GetBE32(page + 3);
    if (len > left - kFragmentHeaderSize) {
      if (page_end == file_size_ && page_end - page_start < kPageSize) {
        return Corrupt(pos_, absl::StrCat("torn fragment: length ", len,
                                          ", only ", left - 7, " bytes left"));
      }
      return Corrupt(pos_, absl::StrCat("invalid fragment size ", len));
    }
    const char* data =
        reinterpret_cast<const char*>(page + kFragmentHeaderSize);
    const uint32_t got_crc = crc32c::Value(data, len);
    if (got_crc != crc) {
      return Corrupt(pos_,
                     absl::StrFormat("unexpected checksum %08x, expected %08x",
                                     got_crc, crc));
    }
    const bool compressed = (flags & kSnappyFlag) != 0;
    switch (type) {
      case kFull:
      case kFirst:
        if (in_record_) {
          return Corrupt(pos_, type == kFull ? "unexpected full record"
                                             : "unexpected first record");
        }
        record_start_ = pos_;
        if (type == kFull) {
          // One fragment: decoded straight from the read buffer.
          pos_ += kFragmentHeaderSize + len;
          if (!compressed) {
            view_ = std::string_view(data, len);
          } else if (!Decompress(data, len)) {
            return Corrupt(record_start_, "invalid snappy data");
          }
          good_end_ = pos_;
          cur_segment_ = seg_->index;
          cur_position_ = next_segment_ - 1;
          cur_offset_ = record_start_;
          return true;
        }
        in_record_ = true;
        record_compressed_ = compressed;
        record_.clear();
        compressed_.clear();
        break;
      case kMiddle:
      case kLast:
        if (!in_record_) {
          return Corrupt(pos_, type == kMiddle ? "unexpected middle record"
                                               : "unexpected last record");
        }
        if (compressed != record_compressed_) {
          return Corrupt(pos_, "compression flag changes within a record");
        }
        break;
      default:
        return Corrupt(pos_, absl::StrCat("unexpected record type ", type));
    }
    (compressed ? compressed_ : record_).append(data, len);
    pos_ += kFragmentHeaderSize + len;
    if (type == kFirst || type == kMiddle) continue;

    in_record_ = false;
    if (record_compressed_) {
      if (!Decompress(compressed_.data(), compressed_.size())) {
        return Corrupt(record_start_, "invalid snappy data");
      }
    } else {
      view_ = record_;
    }
    good_end_ = pos_;
    cur_segment_ = seg_->index;
    cur_position_ = next_segment_ - 1;
    cur_offset_ = record_start_;
    return true;
  }
}

}  // namespace tsdb::wal
