// `tsdb check [<db path>]`: verifies every checksum of a data dir and prints
// one line per file, then a summary; any corruption makes the command fail.
//
//   <ULID>/meta.json        parsed (tsdb/block/meta.h)
//   <ULID>/index            header, TOC CRC, symbol table, every series entry,
//                           label index, postings list and both offset tables
//                           with their CRCs and zero padding
//                           (IndexFileReader::Verify)
//   <ULID>/chunks/NNNNNN    header, then every record: uvarint len, encoding,
//                           data, CRC32C(encoding + data)
//   <ULID>/tombstones       magic, version, entries, CRC32C
//   chunks_head/NNNNNN      header, every record's CRC32C and fields, the
//                           all-zero tail, no gaps in the file numbers
//   wal/, wal/checkpoint.N/, wbl/
//                           consecutive segment numbers; per 32 KiB page every
//                           fragment's type, length and CRC32C, zero page
//                           padding, first/middle/last sequences (a record
//                           still open at the end of a segment is torn),
//                           snappy-compressed records decompressible
//
// Everything is only read. Entries Prometheus itself ignores (lock,
// queries.active, `*.tmp-for-creation` dirs) are skipped.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "frontends/cli/commands.h"
#include "frontends/cli/flags.h"
#include "snappy.h"
#include "tsdb/base/coding.h"
#include "tsdb/base/crc32c.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/block/meta.h"
#include "tsdb/block/ulid.h"
#include "tsdb/chunks/head_chunks.h"
#include "tsdb/index/index_reader.h"
#include "tsdb/io/file_system.h"
#include "tsdb/io/mapped_file.h"
#include "tsdb/tombstones/tombstones.h"
#include "tsdb/wal/framing.h"
#include "tsdb/wal/wal.h"

namespace tsdb::cli {
namespace {

constexpr uint32_t kChunkSegmentMagic = 0x85BD40DD;

// The report line names the file; the message starts at the offset.
absl::Status Corrupt(const std::string& path, uint64_t offset,
                     const std::string& what) {
  (void)path;
  return absl::DataLossError(absl::StrCat("offset ", offset, ": ", what));
}

std::string CrcMismatch(uint32_t stored, uint32_t computed) {
  return absl::StrCat("checksum mismatch: expected CRC32C ",
                      absl::Hex(computed, absl::kZeroPad8), ", stored ",
                      absl::Hex(stored, absl::kZeroPad8));
}

bool AllZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == 0; });
}

bool IsNumber(const std::string& name) {
  return !name.empty() && name.size() <= 10 &&
         std::all_of(name.begin(), name.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

// The file's bytes through a read-only mapping (empty files are empty).
class FileBytes {
 public:
  static absl::StatusOr<FileBytes> Open(const std::string& path) {
    FileBytes f;
    TSDB_ASSIGN_OR_RETURN(uint64_t size, io::PosixFileSystem()->FileSize(path));
    if (size > 0) {
      TSDB_ASSIGN_OR_RETURN(f.mapped_, io::MappedFile::Open(path));
    }
    return f;
  }
  std::string_view view() const {
    return mapped_ == nullptr ? std::string_view() : mapped_->view();
  }

 private:
  std::unique_ptr<io::MappedFile> mapped_;
};

// Writes the per-file lines and counts.
class Checker {
 public:
  explicit Checker(std::ostream& out) : out_(out) {}

  // Reports `path` with the outcome of `check` (its detail on success).
  void File(const std::string& path, const absl::StatusOr<std::string>& r) {
    ++files_;
    if (r.ok()) {
      out_ << "ok       " << path;
      if (!r->empty()) out_ << " (" << *r << ")";
      out_ << "\n";
      return;
    }
    ++corrupt_;
    out_ << "CORRUPT  " << path << ": " << r.status().message() << "\n";
  }
  void Skip(const std::string& path, std::string_view why) {
    out_ << "skipped  " << path << " (" << why << ")\n";
  }

  int files() const { return files_; }
  int corrupt() const { return corrupt_; }

 private:
  std::ostream& out_;
  int files_ = 0;
  int corrupt_ = 0;
};

// ---- blocks ---------------------------------------------------------------

absl::StatusOr<std::string> CheckMeta(const std::string& path) {
  TSDB_ASSIGN_OR_RETURN(std::string data,
                        io::PosixFileSystem()->ReadFile(path));
  TSDB_ASSIGN_OR_RETURN(block::BlockMeta m, block::DecodeMeta(path, data));
  return absl::StrCat("block ", m.ulid.ToString(), ", ", m.stats.num_series,
                      " series, ", m.stats.num_chunks, " chunks");
}

absl::StatusOr<std::string> CheckIndex(const std::string& path) {
  TSDB_ASSIGN_OR_RETURN(auto r, index::IndexFileReader::Open(path));
  TSDB_RETURN_IF_ERROR(r->Verify());
  return absl::StrCat(r->NumSymbols(), " symbols, ", r->Size(), " bytes");
}

absl::StatusOr<std::string> CheckChunkSegment(const std::string& path) {
  TSDB_ASSIGN_OR_RETURN(FileBytes f, FileBytes::Open(path));
  const std::string_view b = f.view();
  const auto* p = reinterpret_cast<const uint8_t*>(b.data());
  if (b.size() < 8) {
    return Corrupt(path, 0,
                   absl::StrCat("file of ", b.size(),
                                " bytes is shorter than the 8-byte header"));
  }
  if (GetBE32(p) != kChunkSegmentMagic) {
    return Corrupt(path, 0,
                   absl::StrCat("bad magic: expected 85bd40dd, found ",
                                absl::Hex(GetBE32(p), absl::kZeroPad8)));
  }
  if (p[4] != 1) {
    return Corrupt(path, 4,
                   absl::StrCat("bad version: expected 1, found ", int{p[4]}));
  }
  uint64_t pos = 8, n = 0;
  while (pos < b.size()) {
    if (AllZero(b.substr(pos))) {
      return absl::StrCat(n, " chunks, ", b.size() - pos,
                          " bytes of zero padding");
    }
    uint64_t len = 0;
    const int vn = DecodeUvarint(p + pos, b.size() - pos, &len);
    if (vn <= 0) return Corrupt(path, pos, "bad chunk length varint");
    const uint64_t body = pos + static_cast<uint64_t>(vn);
    if (len > b.size() || body + 1 + len + 4 > b.size()) {
      return Corrupt(path, pos,
                     absl::StrCat("chunk of ", len, " bytes runs past the end ",
                                  "of the file (", b.size(), " bytes)"));
    }
    const uint32_t stored = GetBE32(p + body + 1 + len);
    const uint32_t computed = crc32c::Value(p + body, 1 + len);
    if (stored != computed) {
      return Corrupt(path, pos,
                     absl::StrCat("chunk: ", CrcMismatch(stored, computed)));
    }
    pos = body + 1 + len + 4;
    ++n;
  }
  return absl::StrCat(n, " chunks");
}

absl::StatusOr<std::string> CheckTombstones(const std::string& path) {
  TSDB_ASSIGN_OR_RETURN(std::string data,
                        io::PosixFileSystem()->ReadFile(path));
  TSDB_ASSIGN_OR_RETURN(auto ts, tombstones::Decode(path, data));
  return absl::StrCat(ts->NumTombstones(), " intervals");
}

void CheckBlock(const std::string& dir, Checker& c) {
  io::FileSystem* fs = io::PosixFileSystem();
  const std::string meta = io::JoinPath(dir, "meta.json");
  c.File(meta, CheckMeta(meta));
  const std::string index = io::JoinPath(dir, index::kIndexFileName);
  c.File(index, CheckIndex(index));
  const std::string chunks = io::JoinPath(dir, "chunks");
  absl::StatusOr<std::vector<std::string>> names = fs->ListDir(chunks);
  if (!names.ok()) {
    c.File(chunks, names.status());
  } else {
    for (const std::string& name : *names) {
      const std::string path = io::JoinPath(chunks, name);
      if (!IsNumber(name)) {
        c.Skip(path, "not a chunk segment name");
        continue;
      }
      c.File(path, CheckChunkSegment(path));
    }
  }
  const std::string ts = io::JoinPath(dir, tombstones::kTombstonesFileName);
  absl::StatusOr<bool> has_ts = fs->Exists(ts);
  if (!has_ts.ok() || *has_ts) c.File(ts, CheckTombstones(ts));
}

// ---- chunks_head ----------------------------------------------------------

absl::StatusOr<std::string> CheckHeadChunkFile(const std::string& path) {
  TSDB_ASSIGN_OR_RETURN(FileBytes f, FileBytes::Open(path));
  const std::string_view b = f.view();
  const auto* p = reinterpret_cast<const uint8_t*>(b.data());
  if (b.size() < chunks::kHeadChunkFileHeaderSize) {
    return Corrupt(path, 0,
                   absl::StrCat("file of ", b.size(),
                                " bytes is shorter than the 8-byte header"));
  }
  if (GetBE32(p) != chunks::kHeadChunkMagic) {
    return Corrupt(path, 0,
                   absl::StrCat("bad magic: expected 0130bc91, found ",
                                absl::Hex(GetBE32(p), absl::kZeroPad8)));
  }
  if (p[4] != chunks::kHeadChunkFormatV1) {
    return Corrupt(path, 4,
                   absl::StrCat("bad version: expected 1, found ", int{p[4]}));
  }
  const std::bitset<256> known = chunks::DefaultHeadChunkEncodings();
  uint64_t pos = chunks::kHeadChunkFileHeaderSize, n = 0;
  while (pos < b.size()) {
    const std::string_view rest = b.substr(pos);
    if (rest.size() < chunks::kHeadChunkRecordPrefixSize ||
        AllZero(rest.substr(0, chunks::kHeadChunkRecordPrefixSize))) {
      if (AllZero(rest)) break;  // the zero tail
      return Corrupt(path, pos,
                     "non-zero bytes after the end of the records (a zero "
                     "record header or too few bytes for one)");
    }
    const uint8_t* r = p + pos;
    const uint64_t series = GetBE64(r);
    const int64_t mint = static_cast<int64_t>(GetBE64(r + 8));
    const int64_t maxt = static_cast<int64_t>(GetBE64(r + 16));
    uint64_t off = chunks::kHeadChunkRecordPrefixSize;
    if (rest.size() < off + 2) return Corrupt(path, pos, "record cut short");
    const uint8_t enc = r[off++];
    uint64_t len = 0;
    const int vn = DecodeUvarint(r + off, rest.size() - off, &len);
    if (vn <= 0) return Corrupt(path, pos, "bad chunk length varint");
    off += static_cast<uint64_t>(vn);
    if (len > rest.size() || off + len + 4 > rest.size()) {
      return Corrupt(path, pos,
                     absl::StrCat("chunk of ", len, " bytes runs past the end ",
                                  "of the file (", b.size(), " bytes)"));
    }
    const uint32_t stored = GetBE32(r + off + len);
    const uint32_t computed = crc32c::Value(r, off + len);
    if (stored != computed) {
      return Corrupt(path, pos,
                     absl::StrCat("chunk: ", CrcMismatch(stored, computed)));
    }
    if (series == 0) return Corrupt(path, pos, "series ref 0");
    if (!known[enc]) {
      return Corrupt(path, pos, absl::StrCat("unknown encoding ", int{enc}));
    }
    if (len < 2) return Corrupt(path, pos, "chunk without a sample count");
    if (maxt < mint) {
      return Corrupt(path, pos,
                     absl::StrCat("maxt ", maxt, " before mint ", mint));
    }
    pos += off + len + 4;
    ++n;
  }
  return absl::StrCat(n, " chunks");
}

void CheckHeadChunks(const std::string& dir, Checker& c) {
  absl::StatusOr<std::vector<std::string>> names =
      io::PosixFileSystem()->ListDir(dir);
  if (!names.ok()) {
    c.File(dir, names.status());
    return;
  }
  uint64_t prev = 0;
  for (const std::string& name : *names) {
    const std::string path = io::JoinPath(dir, name);
    if (!IsNumber(name)) {
      c.Skip(path, "not a head chunk file name");
      continue;
    }
    const uint64_t number = std::stoull(name);
    if (prev != 0 && number != prev + 1) {
      c.File(path, absl::DataLossError(absl::StrCat("file number ", prev + 1,
                                                    " is missing before it")));
      prev = number;
      continue;
    }
    prev = number;
    c.File(path, CheckHeadChunkFile(path));
  }
}

// ---- WAL ------------------------------------------------------------------

// Walks one segment's pages; `records` counts complete records.
absl::StatusOr<std::string> CheckWalSegment(const std::string& path) {
  TSDB_ASSIGN_OR_RETURN(FileBytes f, FileBytes::Open(path));
  const std::string_view b = f.view();
  const auto* p = reinterpret_cast<const uint8_t*>(b.data());
  uint64_t pos = 0, records = 0;
  bool in_record = false, snappy_rec = false;
  uint64_t record_start = 0;
  std::string rec;
  while (pos < b.size()) {
    const uint64_t page_end = std::min<uint64_t>(
        pos - pos % wal::kPageSize + wal::kPageSize, b.size());
    const uint8_t flags = p[pos];
    const uint8_t type = flags & wal::kTypeMask;
    if (type == wal::kPagePadding) {
      if (!AllZero(b.substr(pos, page_end - pos))) {
        return Corrupt(path, pos, "non-zero byte in the padding of a page");
      }
      pos = page_end;
      continue;
    }
    if (pos + wal::kFragmentHeaderSize > page_end) {
      return Corrupt(path, pos,
                     page_end == b.size()
                         ? "torn fragment header at the end of the file"
                         : "fragment header crosses a page boundary");
    }
    const uint64_t len = GetBE16(p + pos + 1);
    const uint32_t stored = GetBE32(p + pos + 3);
    const uint64_t data = pos + wal::kFragmentHeaderSize;
    if (data + len > page_end) {
      return Corrupt(path, pos,
                     absl::StrCat("fragment of ", len, " bytes ",
                                  page_end == b.size()
                                      ? "runs past the end of the file (torn)"
                                      : "crosses a page boundary"));
    }
    const uint32_t computed = crc32c::Value(p + data, len);
    if (stored != computed) {
      return Corrupt(path, pos,
                     absl::StrCat("fragment: ", CrcMismatch(stored, computed)));
    }
    switch (type) {
      case wal::kFull:
      case wal::kFirst:
        if (in_record) {
          return Corrupt(path, pos,
                         absl::StrCat("new record while the record at offset ",
                                      record_start, " is incomplete"));
        }
        in_record = true;
        record_start = pos;
        snappy_rec = (flags & wal::kSnappyFlag) != 0;
        rec.clear();
        break;
      case wal::kMiddle:
      case wal::kLast:
        if (!in_record) {
          return Corrupt(path, pos,
                         type == wal::kMiddle
                             ? "middle fragment without a first fragment"
                             : "last fragment without a first fragment");
        }
        break;
      default:
        return Corrupt(path, pos,
                       absl::StrCat("invalid fragment type ", int{type}));
    }
    rec.append(b.data() + data, len);
    pos = data + len;
    if (type == wal::kFull || type == wal::kLast) {
      in_record = false;
      ++records;
      if (snappy_rec &&
          !snappy::IsValidCompressedBuffer(rec.data(), rec.size())) {
        return Corrupt(path, record_start,
                       "record is not valid snappy-compressed data");
      }
    }
  }
  if (in_record) {
    return Corrupt(path, record_start,
                   "torn record: the segment ends before its last fragment");
  }
  return absl::StrCat(records, " records");
}

// Segments of a WAL (or checkpoint) dir, then its checkpoints.
void CheckWalDir(const std::string& dir, Checker& c, bool checkpoints) {
  absl::StatusOr<std::vector<std::string>> names =
      io::PosixFileSystem()->ListDir(dir);
  if (!names.ok()) {
    c.File(dir, names.status());
    return;
  }
  std::vector<std::pair<int64_t, std::string>> segments;
  std::vector<std::string> cps;
  for (const std::string& name : *names) {
    const std::string path = io::JoinPath(dir, name);
    if (IsNumber(name)) {
      segments.emplace_back(std::stoll(name), name);
    } else if (checkpoints && name.rfind("checkpoint.", 0) == 0 &&
               IsNumber(name.substr(11))) {
      cps.push_back(name);
    } else {
      c.Skip(path, "not a WAL segment");
    }
  }
  std::sort(segments.begin(), segments.end());
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string path = io::JoinPath(dir, segments[i].second);
    if (i > 0 && segments[i].first != segments[i - 1].first + 1) {
      c.File(path, absl::DataLossError(absl::StrCat(
                       "segments are not sequential: segment ",
                       segments[i - 1].first + 1, " is missing before it")));
      continue;
    }
    c.File(path, CheckWalSegment(path));
  }
  for (const std::string& cp : cps) {
    CheckWalDir(io::JoinPath(dir, cp), c, /*checkpoints=*/false);
  }
}

}  // namespace

absl::Status Check(const std::vector<std::string>& args, std::ostream& out) {
  TSDB_ASSIGN_OR_RETURN(ParsedArgs a, ParseArgs(args, {}, {}));
  if (a.positional.size() > 1) {
    return absl::InvalidArgumentError("check takes at most one <db path>");
  }
  const std::string dir = a.positional.empty() ? "data/" : a.positional[0];
  io::FileSystem* fs = io::PosixFileSystem();
  TSDB_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(dir));
  Checker c(out);
  int blocks = 0;
  for (const std::string& name : names) {
    const std::string path = io::JoinPath(dir, name);
    TSDB_ASSIGN_OR_RETURN(bool is_dir, fs->IsDirectory(path));
    if (is_dir && block::Ulid::Parse(name).ok()) {
      ++blocks;
      CheckBlock(path, c);
    } else if (is_dir && name == "chunks_head") {
      CheckHeadChunks(path, c);
    } else if (is_dir && (name == "wal" || name == "wbl")) {
      CheckWalDir(path, c, /*checkpoints=*/name == "wal");
    } else {
      c.Skip(path, "not checked");
    }
  }
  out << "checked " << c.files() << " files (" << blocks << " blocks): "
      << (c.corrupt() == 0 ? std::string("no corruption")
                           : absl::StrCat(c.corrupt(), " corrupt"))
      << "\n";
  if (c.corrupt() > 0) {
    return absl::DataLossError(absl::StrCat(c.corrupt(), " of ", c.files(),
                                            " files are corrupt in ", dir));
  }
  return absl::OkStatus();
}

}  // namespace tsdb::cli
