#include "tsdb/chunks/head_chunks.h"

#include <algorithm>
#include <atomic>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tsdb/base/coding.h"
#include "tsdb/base/crc32c.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/io/mapped_file.h"

namespace tsdb::chunks {

namespace {

constexpr int64_t kUnknownMaxt = std::numeric_limits<int64_t>::max();
constexpr int64_t kNoMaxt = std::numeric_limits<int64_t>::min();

bool AllZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == 0; });
}

enum class ParseResult { kRecord, kEnd, kCorrupt };

struct RecordView {
  uint64_t series_ref = 0;
  int64_t mint = 0;
  int64_t maxt = 0;
  uint8_t encoding = 0;
  std::string_view data;
  uint64_t size = 0;  // whole record, CRC included
};

// Parses the record at the start of `rest` (the bytes up to the end of the
// file's data). kEnd: an all-zero tail or an all-zero prefix (no more
// records). kCorrupt: *why says what is wrong.
ParseResult ParseRecord(std::string_view rest, const std::bitset<256>& known,
                        RecordView* r, std::string* why) {
  const auto* p = reinterpret_cast<const uint8_t*>(rest.data());
  if (rest.size() < kHeadChunkRecordPrefixSize) {
    if (AllZero(rest)) return ParseResult::kEnd;
    *why = absl::StrCat(rest.size(),
                        " trailing bytes, too few for a record header");
    return ParseResult::kCorrupt;
  }
  r->series_ref = GetBE64(p);
  r->mint = static_cast<int64_t>(GetBE64(p + 8));
  r->maxt = static_cast<int64_t>(GetBE64(p + 16));
  if (r->series_ref == 0 && r->mint == 0 && r->maxt == 0) {
    return ParseResult::kEnd;
  }
  uint64_t pos = kHeadChunkRecordPrefixSize;
  if (rest.size() < pos + 2) {
    *why = "record header cut short";
    return ParseResult::kCorrupt;
  }
  r->encoding = p[pos++];
  uint64_t len = 0;
  const int n = DecodeUvarint(p + pos, rest.size() - pos, &len);
  if (n <= 0) {
    *why = "bad chunk length varint";
    return ParseResult::kCorrupt;
  }
  pos += static_cast<uint64_t>(n);
  if (len > rest.size() || pos + len + 4 > rest.size()) {
    *why = absl::StrCat("chunk of ", len, " bytes runs past the end (",
                        rest.size(), " bytes left)");
    return ParseResult::kCorrupt;
  }
  const uint32_t want = GetBE32(p + pos + len);
  const uint32_t got = crc32c::Value(rest.data(), pos + len);
  if (want != got) {
    *why = absl::StrCat("checksum mismatch: stored ",
                        absl::Hex(want, absl::kZeroPad8), ", computed ",
                        absl::Hex(got, absl::kZeroPad8));
    return ParseResult::kCorrupt;
  }
  if (r->series_ref == 0) {
    *why = "series ref 0";
    return ParseResult::kCorrupt;
  }
  if (!known[r->encoding]) {
    *why = absl::StrCat("unknown encoding ", static_cast<int>(r->encoding));
    return ParseResult::kCorrupt;
  }
  if (len < 2) {
    *why = absl::StrCat("chunk of ", len, " bytes has no sample count");
    return ParseResult::kCorrupt;
  }
  if (r->maxt < r->mint) {
    *why = absl::StrCat("maxt < mint (", r->maxt, " < ", r->mint, ")");
    return ParseResult::kCorrupt;
  }
  r->data = rest.substr(pos, len);
  r->size = pos + len + 4;
  return ParseResult::kRecord;
}

bool ParseFileNumber(const std::string& name, uint32_t* out) {
  if (name.empty() || name.size() > 10) return false;
  uint64_t v = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v == 0 || v > std::numeric_limits<uint32_t>::max()) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

// One file. Finished files are immutable (mapped or pread); the current one
// grows, and only its flushed prefix is read from the file.
struct ChunkDiskMapper::Segment {
  uint32_t number = 0;
  std::string path;
  bool current = false;
  std::unique_ptr<io::MappedFile> mapped;
  std::unique_ptr<io::RandomAccessFile> file;
  uint64_t size = 0;  // finished files: the file size
  // Max of the records' maxt; kUnknownMaxt before the scan, kNoMaxt for a
  // file without records.
  std::atomic<int64_t> maxt{kUnknownMaxt};

  // Bytes [offset, offset + n) (fewer at the end of the file).
  absl::StatusOr<std::string_view> Bytes(uint64_t offset, size_t n,
                                         std::string* scratch) const {
    if (mapped != nullptr) {
      const std::string_view v = mapped->view();
      if (offset >= v.size()) return std::string_view();
      return v.substr(offset, n);
    }
    scratch->resize(n);
    std::string_view result;
    TSDB_RETURN_IF_ERROR(file->Read(offset, n, scratch->data(), &result));
    return result;
  }

  void RaiseMaxt(int64_t t) {
    int64_t cur = maxt.load(std::memory_order_relaxed);
    while ((cur == kNoMaxt || cur < t) && cur != kUnknownMaxt &&
           !maxt.compare_exchange_weak(cur, t, std::memory_order_relaxed)) {
    }
  }
};

std::string HeadChunkFileName(uint32_t number) {
  std::string n = std::to_string(number);
  return n.size() >= 6 ? n : std::string(6 - n.size(), '0') + n;
}

std::bitset<256> DefaultHeadChunkEncodings() {
  std::bitset<256> b;
  b.set(1);
  b.set(2);
  b.set(3);
  b.set(kOutOfOrderXorEncoding);
  return b;
}

ChunkDiskMapper::ChunkDiskMapper(io::FileSystem* fs, std::string dir,
                                 ChunkDiskMapperOptions options)
    : fs_(fs),
      dir_(std::move(dir)),
      options_(options),
      mmap_(options.use_mmap && fs == io::PosixFileSystem()) {}

ChunkDiskMapper::~ChunkDiskMapper() { (void)Close(); }

std::string ChunkDiskMapper::PathOf(uint32_t number) const {
  return io::JoinPath(dir_, HeadChunkFileName(number));
}

absl::StatusOr<std::unique_ptr<ChunkDiskMapper>> ChunkDiskMapper::Open(
    io::FileSystem* fs, std::string dir, ChunkDiskMapperOptions options) {
  if (options.max_file_size <= kHeadChunkFileHeaderSize ||
      options.max_file_size > (uint64_t{1} << 32)) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunks_head: max_file_size ", options.max_file_size,
                     " outside (8, 4 GiB]"));
  }
  TSDB_RETURN_IF_ERROR(fs->CreateDirs(dir));
  TSDB_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(dir));
  std::unique_ptr<ChunkDiskMapper> m(
      new ChunkDiskMapper(fs, std::move(dir), options));
  std::lock_guard<std::mutex> w(m->write_mu_);
  for (const std::string& name : names) {
    uint32_t number = 0;
    if (!ParseFileNumber(name, &number)) continue;
    TSDB_ASSIGN_OR_RETURN(std::shared_ptr<Segment> seg,
                          m->OpenFinished(number, kUnknownMaxt));
    std::unique_lock<std::shared_mutex> r(m->read_mu_);
    m->segments_[number] = std::move(seg);
    m->next_number_ = std::max(m->next_number_, number + 1);
  }
  return m;
}

absl::StatusOr<std::shared_ptr<ChunkDiskMapper::Segment>>
ChunkDiskMapper::OpenFinished(uint32_t number, int64_t maxt) {
  auto seg = std::make_shared<Segment>();
  seg->number = number;
  seg->path = PathOf(number);
  seg->maxt.store(maxt, std::memory_order_relaxed);
  if (mmap_) {
    TSDB_ASSIGN_OR_RETURN(seg->mapped, io::MappedFile::Open(seg->path));
    seg->size = seg->mapped->size();
  } else {
    TSDB_ASSIGN_OR_RETURN(seg->file, fs_->NewRandomAccessFile(seg->path));
    TSDB_ASSIGN_OR_RETURN(seg->size, seg->file->Size());
  }
  return seg;
}

std::shared_ptr<ChunkDiskMapper::Segment> ChunkDiskMapper::FindSegment(
    uint32_t number) const {
  std::shared_lock<std::shared_mutex> r(read_mu_);
  auto it = segments_.find(number);
  return it == segments_.end() ? nullptr : it->second;
}

std::vector<uint32_t> ChunkDiskMapper::FileNumbers() const {
  std::shared_lock<std::shared_mutex> r(read_mu_);
  std::vector<uint32_t> out;
  for (const auto& [n, s] : segments_) out.push_back(n);
  return out;
}

uint32_t ChunkDiskMapper::CurrentFileNumber() const {
  std::lock_guard<std::mutex> w(write_mu_);
  return cur_number_;
}

absl::StatusOr<HeadChunkScanResult> ChunkDiskMapper::IterateAllChunks(
    const Callback& cb) {
  std::lock_guard<std::mutex> w(write_mu_);
  if (closed_) return absl::FailedPreconditionError("chunks_head: closed");
  if (file_ != nullptr) {
    return absl::FailedPreconditionError(
        "chunks_head: IterateAllChunks after a write");
  }
  HeadChunkScanResult result;
  const std::vector<uint32_t> numbers = FileNumbers();

  // Deletes the record at (numbers[i], offset) and everything after it.
  auto corrupt = [&](size_t i, uint64_t offset, uint64_t file_size,
                     const std::string& why) -> absl::Status {
    const uint32_t n = numbers[i];
    result.corruption = true;
    result.corrupt_file = n;
    result.corrupt_offset = offset;
    result.corruption_status = absl::DataLossError(
        absl::StrCat("chunks_head file ", PathOf(n), " offset ", offset, ": ",
                     why, "; deleted it and everything after it"));
    std::vector<uint32_t> remove(numbers.begin() + static_cast<long>(i) + 1,
                                 numbers.end());
    if (offset <= kHeadChunkFileHeaderSize) {
      remove.insert(remove.begin(), n);
    } else {
      result.bytes_dropped = file_size - offset;
      {
        // Unmap before truncating, then map what is left.
        std::unique_lock<std::shared_mutex> r(read_mu_);
        segments_.erase(n);
      }
      TSDB_RETURN_IF_ERROR(fs_->Truncate(PathOf(n), offset));
      TSDB_ASSIGN_OR_RETURN(std::shared_ptr<Segment> seg,
                            OpenFinished(n, kNoMaxt));
      std::unique_lock<std::shared_mutex> r(read_mu_);
      segments_[n] = std::move(seg);
    }
    result.files_removed = static_cast<uint32_t>(remove.size());
    return RemoveFiles(remove);
  };

  for (size_t i = 0; i < numbers.size(); ++i) {
    const uint32_t n = numbers[i];
    std::shared_ptr<Segment> seg = FindSegment(n);
    std::string owned;
    std::string_view content;
    if (seg->mapped != nullptr) {
      content = seg->mapped->view();
    } else {
      TSDB_ASSIGN_OR_RETURN(owned, fs_->ReadFile(seg->path));
      content = owned;
    }
    const auto* p = reinterpret_cast<const uint8_t*>(content.data());
    if (i > 0 && n != numbers[i - 1] + 1) {
      TSDB_RETURN_IF_ERROR(corrupt(
          i, 0, content.size(),
          absl::StrCat("file number ", numbers[i - 1] + 1, " is missing")));
      break;
    }
    if (i + 1 == numbers.size() && (content.size() < 4 || GetBE32(p) == 0)) {
      result.removed_empty_last_file = true;
      TSDB_RETURN_IF_ERROR(RemoveFiles({n}));
      break;
    }
    if (content.size() < kHeadChunkFileHeaderSize) {
      TSDB_RETURN_IF_ERROR(corrupt(
          i, 0, content.size(),
          absl::StrCat("file of ", content.size(), " bytes has no header")));
      break;
    }
    if (GetBE32(p) != kHeadChunkMagic || p[4] != kHeadChunkFormatV1) {
      TSDB_RETURN_IF_ERROR(
          corrupt(i, 0, content.size(),
                  absl::StrCat("bad header: magic ", absl::Hex(GetBE32(p)),
                               " version ", static_cast<int>(p[4]))));
      break;
    }
    uint64_t off = kHeadChunkFileHeaderSize;
    int64_t maxt = kNoMaxt;
    bool damaged = false;
    while (off < content.size()) {
      RecordView rec;
      std::string why;
      const ParseResult pr = ParseRecord(content.substr(off),
                                         options_.known_encodings, &rec, &why);
      if (pr == ParseResult::kEnd) {
        // Prometheus stops at the zero marker; data after it means damage
        // (e.g. a flipped byte in a record's refs or times made them zero).
        if (AllZero(content.substr(off))) break;
        why = "non-zero bytes after an all-zero record header";
      }
      if (pr != ParseResult::kRecord) {
        // Stop reading the mapping before the file is truncated.
        const uint64_t size = content.size();
        content = {};
        seg.reset();
        TSDB_RETURN_IF_ERROR(corrupt(i, off, size, why));
        damaged = true;
        break;
      }
      MappedChunkInfo info;
      info.series_ref = rec.series_ref;
      info.ref = MakeChunkDiskMapperRef(n, static_cast<uint32_t>(off));
      info.min_time = rec.mint;
      info.max_time = rec.maxt;
      info.num_samples =
          GetBE16(reinterpret_cast<const uint8_t*>(rec.data.data()));
      info.encoding = rec.encoding;
      maxt = std::max(maxt, rec.maxt);
      off += rec.size;
      ++result.chunks;
      TSDB_RETURN_IF_ERROR(cb(info));
    }
    std::shared_ptr<Segment> now = FindSegment(n);
    if (now != nullptr) now->maxt.store(maxt, std::memory_order_relaxed);
    if (damaged) break;
  }
  const std::vector<uint32_t> left = FileNumbers();
  result.files = static_cast<uint32_t>(left.size());
  // Continue right after the last file kept, so that no gap in the numbers
  // (which the next scan would take for damage) follows a repair.
  if (!left.empty()) next_number_ = left.back() + 1;
  return result;
}

absl::Status ChunkDiskMapper::RemoveFiles(
    const std::vector<uint32_t>& numbers) {
  {
    std::unique_lock<std::shared_mutex> r(read_mu_);
    for (uint32_t n : numbers) segments_.erase(n);
  }
  for (uint32_t n : numbers) TSDB_RETURN_IF_ERROR(fs_->RemoveFile(PathOf(n)));
  return absl::OkStatus();
}

absl::Status ChunkDiskMapper::FlushLocked() {
  if (buf_.empty()) return absl::OkStatus();
  // Readers may read buf_ concurrently (under buf_mu_); only reading here.
  absl::Status s = file_->Append(buf_);
  if (s.ok()) s = file_->Flush();
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> b(buf_mu_);
  flushed_ += buf_.size();
  buf_.clear();
  return absl::OkStatus();
}

absl::Status ChunkDiskMapper::FinishCurrentLocked() {
  if (file_ == nullptr) return absl::OkStatus();
  TSDB_RETURN_IF_ERROR(FlushLocked());
  TSDB_RETURN_IF_ERROR(file_->Sync());
  TSDB_RETURN_IF_ERROR(file_->Close());
  file_.reset();
  std::shared_ptr<Segment> old = FindSegment(cur_number_);
  const int64_t maxt =
      old != nullptr ? old->maxt.load(std::memory_order_relaxed) : kNoMaxt;
  TSDB_ASSIGN_OR_RETURN(std::shared_ptr<Segment> seg,
                        OpenFinished(cur_number_, maxt));
  {
    std::unique_lock<std::shared_mutex> r(read_mu_);
    segments_[cur_number_] = std::move(seg);
  }
  {
    std::lock_guard<std::mutex> b(buf_mu_);
    buf_number_ = 0;
  }
  cur_number_ = 0;
  cur_offset_ = 0;
  return absl::OkStatus();
}

absl::Status ChunkDiskMapper::CutLocked() {
  TSDB_RETURN_IF_ERROR(FinishCurrentLocked());
  const uint32_t n = next_number_;
  const std::string path = PathOf(n);
  TSDB_ASSIGN_OR_RETURN(std::unique_ptr<io::WritableFile> f,
                        fs_->NewWritableFile(path));
  uint8_t header[kHeadChunkFileHeaderSize] = {};
  PutBE32(header, kHeadChunkMagic);
  header[4] = kHeadChunkFormatV1;
  TSDB_RETURN_IF_ERROR(f->Append(
      std::string_view(reinterpret_cast<const char*>(header), sizeof(header))));
  TSDB_RETURN_IF_ERROR(f->Flush());
  if (options_.preallocate_size > kHeadChunkFileHeaderSize) {
    TSDB_RETURN_IF_ERROR(f->Preallocate(options_.preallocate_size));
  }
  TSDB_RETURN_IF_ERROR(fs_->SyncDir(dir_));
  auto seg = std::make_shared<Segment>();
  seg->number = n;
  seg->path = path;
  seg->current = true;
  seg->maxt.store(kNoMaxt, std::memory_order_relaxed);
  TSDB_ASSIGN_OR_RETURN(seg->file, fs_->NewRandomAccessFile(path));
  {
    std::unique_lock<std::shared_mutex> r(read_mu_);
    segments_[n] = std::move(seg);
  }
  {
    std::lock_guard<std::mutex> b(buf_mu_);
    buf_.clear();
    buf_number_ = n;
    flushed_ = kHeadChunkFileHeaderSize;
  }
  file_ = std::move(f);
  next_number_ = n + 1;
  cur_number_ = n;
  cur_offset_ = kHeadChunkFileHeaderSize;
  cut_requested_ = false;
  return absl::OkStatus();
}

absl::StatusOr<ChunkDiskMapperRef> ChunkDiskMapper::WriteChunk(
    uint64_t series_ref, int64_t mint, int64_t maxt, uint8_t encoding,
    std::string_view data) {
  if (data.size() < 2) {
    return absl::InvalidArgumentError(
        "chunks_head: a chunk needs at least its 2-byte sample count");
  }
  if (!options_.known_encodings[encoding]) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunks_head: unknown chunk encoding ", static_cast<int>(encoding)));
  }
  std::string rec;
  rec.reserve(kMaxHeadChunkMetaSize + data.size());
  AppendBE64(&rec, series_ref);
  AppendBE64(&rec, static_cast<uint64_t>(mint));
  AppendBE64(&rec, static_cast<uint64_t>(maxt));
  rec.push_back(static_cast<char>(encoding));
  AppendUvarint(&rec, data.size());
  rec.append(data);
  AppendBE32(&rec, crc32c::Value(rec.data(), rec.size()));
  if (rec.size() > options_.max_file_size - kHeadChunkFileHeaderSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunks_head: record of ", rec.size(), " bytes exceeds the file size"));
  }

  std::lock_guard<std::mutex> w(write_mu_);
  if (closed_) return absl::FailedPreconditionError("chunks_head: closed");
  const bool fresh =
      file_ != nullptr && cur_offset_ == kHeadChunkFileHeaderSize;
  if (file_ == nullptr || (cut_requested_ && !fresh) ||
      (cur_offset_ + rec.size() > options_.max_file_size && !fresh)) {
    TSDB_RETURN_IF_ERROR(CutLocked());
  }
  cut_requested_ = false;
  const ChunkDiskMapperRef ref =
      MakeChunkDiskMapperRef(cur_number_, static_cast<uint32_t>(cur_offset_));
  {
    std::lock_guard<std::mutex> b(buf_mu_);
    if (buf_.capacity() < options_.write_buffer_size + rec.size()) {
      // One allocation for the buffer's life: grown by doubling, it passed
      // the flush size as an 8 MiB string copied from a freed 4 MiB one
      // (peak RSS +4 MiB when 100k series cut their chunks at once).
      buf_.reserve(options_.write_buffer_size +
                   std::max<size_t>(rec.size(), 64 << 10));
    }
    buf_.append(rec);
  }
  cur_offset_ += rec.size();
  if (std::shared_ptr<Segment> seg = FindSegment(cur_number_)) {
    seg->RaiseMaxt(maxt);
  }
  if (buf_.size() >= options_.write_buffer_size) {
    TSDB_RETURN_IF_ERROR(FlushLocked());
  }
  return ref;
}

absl::Status ChunkDiskMapper::ReadChunk(ChunkDiskMapperRef ref,
                                        HeadChunkRecord* out) const {
  const uint32_t number = ChunkDiskMapperRefFile(ref);
  const uint64_t off = ChunkDiskMapperRefOffset(ref);
  std::shared_ptr<Segment> seg = FindSegment(number);
  if (seg == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "chunks_head: ref ", ref, ": no file ", HeadChunkFileName(number)));
  }
  auto fill = [&](std::string_view rest) -> absl::Status {
    RecordView rec;
    std::string why;
    switch (ParseRecord(rest, options_.known_encodings, &rec, &why)) {
      case ParseResult::kEnd:
        return absl::NotFoundError(absl::StrCat("chunks_head: ref ", ref,
                                                ": no record at offset ", off,
                                                " of ", seg->path));
      case ParseResult::kCorrupt:
        return absl::DataLossError(absl::StrCat("chunks_head file ", seg->path,
                                                " offset ", off, ": ", why));
      case ParseResult::kRecord:
        break;
    }
    out->series_ref = rec.series_ref;
    out->min_time = rec.mint;
    out->max_time = rec.maxt;
    out->encoding = rec.encoding;
    out->data.assign(rec.data.data(), rec.data.size());
    return absl::OkStatus();
  };
  if (off < kHeadChunkFileHeaderSize) {
    return absl::NotFoundError(
        absl::StrCat("chunks_head: ref ", ref, ": offset inside the header"));
  }
  uint64_t limit = seg->size;
  if (seg->current) {
    std::lock_guard<std::mutex> b(buf_mu_);
    if (buf_number_ == number && off >= flushed_) {
      const uint64_t pos = off - flushed_;
      if (pos >= buf_.size()) {
        return absl::NotFoundError(absl::StrCat(
            "chunks_head: ref ", ref, ": past the end of ", seg->path));
      }
      return fill(std::string_view(buf_).substr(pos));
    }
    // Finished since (then the file is whole) or flushed.
    limit = buf_number_ == number ? flushed_ : ~uint64_t{0};
  }
  std::string scratch;
  TSDB_ASSIGN_OR_RETURN(std::string_view head,
                        seg->Bytes(off, kMaxHeadChunkMetaSize, &scratch));
  if (head.empty() || off >= limit) {
    return absl::NotFoundError(absl::StrCat("chunks_head: ref ", ref,
                                            ": past the end of ", seg->path));
  }
  // Work out the record's length, then read all of it.
  uint64_t total = head.size();
  if (head.size() > kHeadChunkRecordPrefixSize + 1) {
    uint64_t len = 0;
    const int n =
        DecodeUvarint(reinterpret_cast<const uint8_t*>(head.data()) +
                          kHeadChunkRecordPrefixSize + 1,
                      head.size() - kHeadChunkRecordPrefixSize - 1, &len);
    if (n > 0 && len <= (uint64_t{1} << 32)) {
      total =
          kHeadChunkRecordPrefixSize + 1 + static_cast<uint64_t>(n) + len + 4;
    }
  }
  total = std::min(total, limit - off);
  if (seg->mapped == nullptr) {
    std::string whole;
    TSDB_ASSIGN_OR_RETURN(std::string_view rest,
                          seg->Bytes(off, total, &whole));
    return fill(rest);
  }
  TSDB_ASSIGN_OR_RETURN(std::string_view rest,
                        seg->Bytes(off, total, &scratch));
  return fill(rest);
}

absl::Status ChunkDiskMapper::Flush() {
  std::lock_guard<std::mutex> w(write_mu_);
  if (closed_) return absl::FailedPreconditionError("chunks_head: closed");
  if (file_ == nullptr) return absl::OkStatus();
  return FlushLocked();
}

void ChunkDiskMapper::CutNewFile() {
  std::lock_guard<std::mutex> w(write_mu_);
  cut_requested_ = true;
}

absl::Status ChunkDiskMapper::Truncate(int64_t mint) {
  std::lock_guard<std::mutex> w(write_mu_);
  if (closed_) return absl::FailedPreconditionError("chunks_head: closed");
  std::vector<uint32_t> remove;
  {
    std::shared_lock<std::shared_mutex> r(read_mu_);
    for (const auto& [n, seg] : segments_) {
      if (file_ != nullptr && n == cur_number_) break;
      const int64_t maxt = seg->maxt.load(std::memory_order_relaxed);
      if (maxt == kUnknownMaxt || (maxt != kNoMaxt && maxt >= mint)) break;
      remove.push_back(n);
    }
  }
  if (file_ != nullptr && cur_offset_ > kHeadChunkFileHeaderSize) {
    cut_requested_ = true;
  }
  return RemoveFiles(remove);
}

absl::Status ChunkDiskMapper::DeleteFilesBefore(uint32_t file_number) {
  std::lock_guard<std::mutex> w(write_mu_);
  if (closed_) return absl::FailedPreconditionError("chunks_head: closed");
  std::vector<uint32_t> remove;
  {
    std::shared_lock<std::shared_mutex> r(read_mu_);
    for (const auto& [n, seg] : segments_) {
      if (n >= file_number || (file_ != nullptr && n == cur_number_)) break;
      remove.push_back(n);
    }
  }
  return RemoveFiles(remove);
}

absl::Status ChunkDiskMapper::Close() {
  std::lock_guard<std::mutex> w(write_mu_);
  if (closed_) return absl::OkStatus();
  closed_ = true;
  absl::Status s;
  if (file_ != nullptr) {
    s = FlushLocked();
    if (s.ok()) s = file_->Sync();
    absl::Status c = file_->Close();
    if (s.ok()) s = c;
    file_.reset();
  }
  {
    std::unique_lock<std::shared_mutex> r(read_mu_);
    segments_.clear();
  }
  {
    std::lock_guard<std::mutex> b(buf_mu_);
    buf_.clear();
    buf_number_ = 0;
  }
  return s;
}

}  // namespace tsdb::chunks
