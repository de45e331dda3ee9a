#include "plugins/wal/segmented/segmented_wal.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "plugins/wal/segmented/go_snappy.h"
#include "tsdb/base/coding.h"
#include "tsdb/base/crc32c.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/wal/framing.h"
#include "tsdb/wal/reader.h"

namespace tsdb::plugins {
namespace {

using wal::kFragmentHeaderSize;
using wal::kPageSize;

io::FileSystem* FsOf(const wal::WalOptions& o) {
  return o.fs != nullptr ? o.fs : io::PosixFileSystem();
}

void Log(const wal::WalOptions& o, std::string_view line) {
  if (o.log) {
    o.log(line);
  } else {
    wal::LogToStderr(line);
  }
}

class SegmentedWal final : public wal::Wal {
 public:
  explicit SegmentedWal(wal::WalOptions options)
      : options_(std::move(options)),
        fs_(FsOf(options_)),
        pages_per_segment_(options_.segment_size / kPageSize),
        page_(kPageSize, '\0') {}

  ~SegmentedWal() override { (void)Close(); }

  absl::Status Start() {
    TSDB_ASSIGN_OR_RETURN(std::vector<int> segs,
                          wal::ListSegments(fs_, options_.dir));
    std::lock_guard<std::mutex> l(mu_);
    return CreateSegment(segs.empty() ? 0 : segs.back() + 1);
  }

  absl::Status Log(absl::Span<const std::string_view> records) override {
    std::lock_guard<std::mutex> l(mu_);
    TSDB_RETURN_IF_ERROR(CheckUsable());
    for (size_t i = 0; i < records.size(); ++i) {
      absl::Status s = LogOne(records[i], i + 1 == records.size());
      if (!s.ok()) return Fail(s);
    }
    if (options_.sync_on_log) {
      if (absl::Status s = file_->Sync(); !s.ok()) return Fail(s);
    }
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    std::lock_guard<std::mutex> l(mu_);
    TSDB_RETURN_IF_ERROR(CheckUsable());
    if (absl::Status s = file_->Sync(); !s.ok()) return Fail(s);
    return absl::OkStatus();
  }

  absl::StatusOr<wal::SegmentRange> Segments() override {
    TSDB_ASSIGN_OR_RETURN(std::vector<int> segs,
                          wal::ListSegments(fs_, options_.dir));
    if (segs.empty()) return wal::SegmentRange{};
    return wal::SegmentRange{segs.front(), segs.back()};
  }

  absl::StatusOr<int> NextSegment() override {
    std::lock_guard<std::mutex> l(mu_);
    TSDB_RETURN_IF_ERROR(CheckUsable());
    if (absl::Status s = NextSegmentLocked(); !s.ok()) return Fail(s);
    return segment_;
  }

  absl::Status Close() override {
    std::lock_guard<std::mutex> l(mu_);
    if (file_ == nullptr) {
      return absl::FailedPreconditionError("WAL already closed");
    }
    absl::Status s = status_;
    if (s.ok()) s = CloseSegment();
    file_.reset();
    if (status_.ok()) {
      status_ = absl::FailedPreconditionError("WAL closed");
    }
    return s;
  }

  const std::string& dir() const override { return options_.dir; }

 private:
  absl::Status CheckUsable() const {
    if (file_ == nullptr) return absl::FailedPreconditionError("WAL closed");
    return status_;
  }

  absl::Status Fail(absl::Status s) {
    status_ = s;
    return s;
  }

  bool PageFull() const { return kPageSize - alloc_ < kFragmentHeaderSize; }

  // Writes the unwritten part of the page; with `clear` (or a full page) the
  // page is zero-padded to its end and a new page begins.
  absl::Status FlushPage(bool clear) {
    clear = clear || PageFull();
    if (clear) alloc_ = kPageSize;
    TSDB_RETURN_IF_ERROR(file_->Append(
        std::string_view(page_.data() + flushed_, alloc_ - flushed_)));
    flushed_ = alloc_;
    if (clear) {
      std::memset(page_.data(), 0, kPageSize);
      alloc_ = flushed_ = 0;
      ++done_pages_;
    }
    return absl::OkStatus();
  }

  absl::Status LogOne(std::string_view rec, bool final) {
    if (PageFull()) TSDB_RETURN_IF_ERROR(FlushPage(true));
    bool compressed = false;
    if (options_.compression == wal::Compression::kSnappy && !rec.empty()) {
      GoSnappyEncode(rec, &snappy_buf_);
      if (snappy_buf_.size() < rec.size()) {
        rec = snappy_buf_;
        compressed = true;
      }
    }
    // Free space in this page plus the segment's untouched pages. The
    // arithmetic is signed in Go; an oversized segment can go negative.
    const int64_t left =
        static_cast<int64_t>(kPageSize - alloc_ - kFragmentHeaderSize) +
        static_cast<int64_t>(kPageSize - kFragmentHeaderSize) *
            (static_cast<int64_t>(pages_per_segment_) -
             static_cast<int64_t>(done_pages_) - 1);
    if (static_cast<int64_t>(rec.size()) > left) {
      TSDB_RETURN_IF_ERROR(NextSegmentLocked());
    }
    for (int i = 0; i == 0 || !rec.empty(); ++i) {
      const size_t l = std::min<size_t>(
          rec.size(), kPageSize - alloc_ - kFragmentHeaderSize);
      const std::string_view part = rec.substr(0, l);
      uint8_t type;
      if (i == 0 && part.size() == rec.size()) {
        type = wal::kFull;
      } else if (part.size() == rec.size()) {
        type = wal::kLast;
      } else if (i == 0) {
        type = wal::kFirst;
      } else {
        type = wal::kMiddle;
      }
      if (compressed) type |= wal::kSnappyFlag;
      uint8_t* p = reinterpret_cast<uint8_t*>(page_.data()) + alloc_;
      p[0] = type;
      PutBE16(p + 1, static_cast<uint16_t>(part.size()));
      PutBE32(p + 3, crc32c::Value(part.data(), part.size()));
      std::memcpy(p + kFragmentHeaderSize, part.data(), part.size());
      alloc_ += kFragmentHeaderSize + part.size();
      if (PageFull()) TSDB_RETURN_IF_ERROR(FlushPage(true));
      rec.remove_prefix(l);
    }
    if (final && alloc_ > 0) {
      TSDB_RETURN_IF_ERROR(FlushPage(false));
      TSDB_RETURN_IF_ERROR(file_->Flush());
    } else if (final) {
      TSDB_RETURN_IF_ERROR(file_->Flush());
    }
    return absl::OkStatus();
  }

  absl::Status CloseSegment() {
    if (alloc_ > 0) TSDB_RETURN_IF_ERROR(FlushPage(true));
    TSDB_RETURN_IF_ERROR(file_->Sync());
    return file_->Close();
  }

  absl::Status NextSegmentLocked() {
    TSDB_RETURN_IF_ERROR(CloseSegment());
    return CreateSegment(segment_ + 1);
  }

  absl::Status CreateSegment(int index) {
    const std::string path =
        io::JoinPath(options_.dir, wal::SegmentName(index));
    TSDB_ASSIGN_OR_RETURN(file_, fs_->NewWritableFile(path));
    TSDB_RETURN_IF_ERROR(fs_->SyncDir(options_.dir));
    segment_ = index;
    alloc_ = flushed_ = 0;
    done_pages_ = 0;
    std::memset(page_.data(), 0, kPageSize);
    return absl::OkStatus();
  }

  const wal::WalOptions options_;
  io::FileSystem* const fs_;
  const uint64_t pages_per_segment_;

  std::mutex mu_;
  std::unique_ptr<io::WritableFile> file_;  // guarded by mu_
  int segment_ = -1;                        // guarded by mu_
  std::string page_;                        // guarded by mu_
  uint64_t alloc_ = 0;                      // guarded by mu_
  uint64_t flushed_ = 0;                    // guarded by mu_
  uint64_t done_pages_ = 0;                 // guarded by mu_
  std::string snappy_buf_;                  // guarded by mu_
  absl::Status status_;                     // guarded by mu_
};

}  // namespace

absl::StatusOr<WalRepairReport> RepairSegmentedWalAt(
    const wal::WalOptions& options, const wal::Corruption& at) {
  io::FileSystem* fs = FsOf(options);
  if (at.segment < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("WAL repair: no segment to cut in ", options.dir));
  }
  const std::string path =
      io::JoinPath(options.dir, wal::SegmentName(at.segment));
  TSDB_ASSIGN_OR_RETURN(std::vector<wal::SegmentFile> segs,
                        wal::SegmentsInDir(fs, options.dir, 0, -1));
  TSDB_ASSIGN_OR_RETURN(uint64_t size, fs->FileSize(path));
  if (at.good_end > size) {
    return absl::InvalidArgumentError(
        absl::StrCat("WAL repair: cut at ", at.good_end, " past the end of ",
                     path, " (", size, " bytes)"));
  }
  WalRepairReport report;
  report.corrupted = true;
  report.segment = at.segment;
  report.offset = at.offset;
  report.kept_bytes = at.good_end;
  report.dropped_bytes = size - at.good_end;
  for (const wal::SegmentFile& s : segs) {
    if (s.index <= at.segment) continue;
    TSDB_ASSIGN_OR_RETURN(uint64_t n, fs->FileSize(s.path));
    report.dropped_bytes += n;
    ++report.deleted_segments;
  }
  Log(options,
      absl::StrCat("WAL repair: ", at.reason, "; keeping ", at.good_end,
                   " bytes of segment ", at.segment, ", dropping ",
                   report.dropped_bytes, " bytes (", report.deleted_segments,
                   " later segments deleted)"));
  // Delete the later segments newest first, so that a crash part-way leaves
  // a consecutive prefix.
  for (auto it = segs.rbegin(); it != segs.rend(); ++it) {
    if (it->index <= at.segment) break;
    TSDB_RETURN_IF_ERROR(fs->RemoveFile(it->path));
  }
  TSDB_RETURN_IF_ERROR(fs->Truncate(path, at.good_end));
  TSDB_ASSIGN_OR_RETURN(auto f, fs->NewAppendableFile(path));
  TSDB_RETURN_IF_ERROR(f->Sync());
  TSDB_RETURN_IF_ERROR(f->Close());
  TSDB_RETURN_IF_ERROR(fs->SyncDir(options.dir));
  return report;
}

absl::StatusOr<WalRepairReport> RepairSegmentedWal(
    const wal::WalOptions& options) {
  io::FileSystem* fs = FsOf(options);
  TSDB_ASSIGN_OR_RETURN(std::vector<wal::SegmentFile> segs,
                        wal::SegmentsInDir(fs, options.dir, 0, -1));
  wal::Reader reader(fs, segs);
  while (reader.Next()) {
  }
  if (reader.status().ok()) return WalRepairReport{};
  if (!reader.corruption().has_value()) return reader.status();
  wal::Corruption c = *reader.corruption();
  c.reason = std::string(reader.status().message());
  return RepairSegmentedWalAt(options, c);
}

absl::StatusOr<std::unique_ptr<wal::Wal>> OpenSegmentedWal(
    const wal::WalOptions& options) {
  if (options.segment_size == 0 || options.segment_size % kPageSize != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("WAL segment size ", options.segment_size,
                     " is not a positive multiple of ", kPageSize));
  }
  if (options.dir.empty()) {
    return absl::InvalidArgumentError("WAL directory not set");
  }
  io::FileSystem* fs = FsOf(options);
  TSDB_RETURN_IF_ERROR(fs->CreateDirs(options.dir));
  if (options.repair_on_open) {
    TSDB_ASSIGN_OR_RETURN(WalRepairReport r, RepairSegmentedWal(options));
    (void)r;
  }
  auto w = std::make_unique<SegmentedWal>(options);
  TSDB_RETURN_IF_ERROR(w->Start());
  return w;
}

absl::Status RegisterSegmentedWal(wal::WalRegistry& registry) {
  return registry.Register(
      "segmented", OpenSegmentedWal,
      [](const wal::WalOptions& options, const wal::Corruption& at) {
        return RepairSegmentedWalAt(options, at).status();
      });
}

}  // namespace tsdb::plugins
