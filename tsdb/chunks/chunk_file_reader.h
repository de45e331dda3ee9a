// ChunkFileReader: reads chunk records out of a block's chunk segment files
// (`<block>/chunks/000001`, `000002`, ...), given a BlockChunkRef.
//
// Format (Prometheus 2.42, tsdb/chunks/chunks.go):
//   segment header  BE32 magic 0x85BD40DD | version byte 1 | 3 zero bytes
//   record          uvarint len | encoding byte | len data bytes |
//                   BE32 CRC32C(encoding byte + data)
// A BlockChunkRef is `(0-based index of the segment in the sorted file list)
// << 32 | byte offset of the record in that file` (first record at 8).
//
// How the files are read is a plugin (plugins/chunkreader/mmap, .../pread),
// found by name in a ChunkFileReaderRegistry. Every implementation must return
// identical bytes and identical errors; the record checks live in this header
// (SegmentHeaderCheck, RecordLayout, CheckRecord) so that they are shared:
//   - bad magic/version or a file shorter than the header: DataLoss at Open,
//     naming the file and offset 0;
//   - segment index past the last file, or an offset inside the header or at
//     or past the end of the file: NotFound naming the ref;
//   - a record that does not fit in its file, a bad length varint, a CRC
//     mismatch: DataLoss naming the file and offset.
// The encoding byte is returned as stored; codec lookup is the caller's job.
//
// Ownership: a reader owns its open files; Read copies into the caller's
// string. Thread safety: Read may be called from many threads at once.
#ifndef TSDB_CHUNKS_CHUNK_FILE_READER_H_
#define TSDB_CHUNKS_CHUNK_FILE_READER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tsdb/base/coding.h"
#include "tsdb/base/crc32c.h"

namespace tsdb::chunks {

using BlockChunkRef = uint64_t;

inline constexpr uint32_t kSegmentMagic = 0x85BD40DD;
inline constexpr uint8_t kSegmentFormatV1 = 1;
inline constexpr uint64_t kSegmentHeaderSize = 8;
// Worst-case size of the length varint, as Prometheus counts it.
inline constexpr uint64_t kMaxChunkLengthFieldSize = 5;
inline constexpr uint64_t kChunkEncodingSize = 1;
inline constexpr uint64_t kCrcSize = 4;
inline constexpr uint64_t kDefaultSegmentSize = uint64_t{512} << 20;

inline BlockChunkRef MakeBlockChunkRef(uint32_t segment, uint32_t offset) {
  return (uint64_t{segment} << 32) | offset;
}
inline uint32_t RefSegment(BlockChunkRef ref) {
  return static_cast<uint32_t>(ref >> 32);
}
inline uint32_t RefOffset(BlockChunkRef ref) {
  return static_cast<uint32_t>(ref);
}

// "000001" for segment index 0 (file names are 1-based, 6 digits).
inline std::string SegmentFileName(uint32_t index) {
  std::string n = std::to_string(uint64_t{index} + 1);
  return n.size() >= 6 ? n : std::string(6 - n.size(), '0') + n;
}

// Checks a segment's first bytes (`header` = up to 8 bytes read at offset 0).
[[nodiscard]] inline absl::Status SegmentHeaderCheck(std::string_view path,
                                                     std::string_view header) {
  if (header.size() < kSegmentHeaderSize) {
    return absl::DataLossError(absl::StrCat(
        "chunk segment ", std::string(path), " offset 0: file has ",
        header.size(), " bytes, shorter than the 8-byte header"));
  }
  const auto* p = reinterpret_cast<const uint8_t*>(header.data());
  const uint32_t magic = GetBE32(p);
  if (magic != kSegmentMagic) {
    return absl::DataLossError(absl::StrCat(
        "chunk segment ", std::string(path), " offset 0: invalid magic number ",
        absl::Hex(magic), ", want ", absl::Hex(kSegmentMagic)));
  }
  if (p[4] != kSegmentFormatV1) {
    return absl::DataLossError(absl::StrCat(
        "chunk segment ", std::string(path),
        " offset 4: invalid chunk format version ", static_cast<int>(p[4])));
  }
  return absl::OkStatus();
}

// Where a record's parts are, relative to the file start.
struct RecordLayout {
  uint64_t start = 0;        // the ref's offset
  uint64_t encoding_at = 0;  // the encoding byte
  uint64_t data_len = 0;
  uint64_t end = 0;  // one past the CRC
};

// Validates the ref's position against the segment list and file size.
// `file_size` is the size of segment `RefSegment(ref)` if it exists.
[[nodiscard]] inline absl::Status CheckRefPosition(BlockChunkRef ref,
                                                   size_t num_segments,
                                                   std::string_view path,
                                                   uint64_t file_size) {
  const uint32_t seg = RefSegment(ref);
  if (seg >= num_segments) {
    return absl::NotFoundError(
        absl::StrCat("chunk ref ", ref, ": segment index ", seg,
                     " out of range (", num_segments, " segment files)"));
  }
  const uint64_t off = RefOffset(ref);
  if (off < kSegmentHeaderSize || off >= file_size) {
    return absl::NotFoundError(absl::StrCat(
        "chunk ref ", ref, ": offset ", off, " outside the records of ",
        std::string(path), " (size ", file_size, ")"));
  }
  return absl::OkStatus();
}

// Decodes the length prefix. `head` holds the bytes at the record start (up
// to kMaxChunkLengthFieldSize; fewer only at the end of the file).
inline absl::StatusOr<RecordLayout> ParseRecordLength(std::string_view path,
                                                      uint64_t offset,
                                                      uint64_t file_size,
                                                      std::string_view head) {
  if (offset + kMaxChunkLengthFieldSize > file_size) {
    return absl::DataLossError(
        absl::StrCat("chunk segment ", std::string(path), " offset ", offset,
                     ": too few bytes for the chunk length field (file size ",
                     file_size, ")"));
  }
  uint64_t len = 0;
  const int n = DecodeUvarint(reinterpret_cast<const uint8_t*>(head.data()),
                              head.size(), &len);
  if (n <= 0 || len > file_size) {
    return absl::DataLossError(absl::StrCat("chunk segment ", std::string(path),
                                            " offset ", offset,
                                            ": invalid chunk length"));
  }
  RecordLayout r;
  r.start = offset;
  r.encoding_at = offset + static_cast<uint64_t>(n);
  r.data_len = len;
  r.end = r.encoding_at + kChunkEncodingSize + len + kCrcSize;
  if (r.end > file_size) {
    return absl::DataLossError(
        absl::StrCat("chunk segment ", std::string(path), " offset ", offset,
                     ": chunk of ", len, " bytes ends at ", r.end,
                     ", past the end of the file (size ", file_size, ")"));
  }
  return r;
}

// Verifies the CRC of a record. `body` = the bytes [encoding_at, end).
// On success sets *encoding and copies the data into *data.
[[nodiscard]] inline absl::Status CheckRecord(std::string_view path,
                                              const RecordLayout& r,
                                              std::string_view body,
                                              uint8_t* encoding,
                                              std::string* data) {
  const size_t covered = kChunkEncodingSize + r.data_len;
  if (body.size() != covered + kCrcSize) {
    return absl::DataLossError(absl::StrCat("chunk segment ", std::string(path),
                                            " offset ", r.start,
                                            ": short read of chunk record"));
  }
  const uint32_t want =
      GetBE32(reinterpret_cast<const uint8_t*>(body.data()) + covered);
  const uint32_t got = crc32c::Value(body.data(), covered);
  if (want != got) {
    return absl::DataLossError(absl::StrCat(
        "chunk segment ", std::string(path), " offset ", r.start,
        ": checksum mismatch: stored ", absl::Hex(want, absl::kZeroPad8),
        ", computed ", absl::Hex(got, absl::kZeroPad8)));
  }
  *encoding = static_cast<uint8_t>(body[0]);
  data->assign(body.data() + kChunkEncodingSize, r.data_len);
  return absl::OkStatus();
}

class ChunkFileReader {
 public:
  virtual ~ChunkFileReader() = default;

  // Reads the record at `ref`: its encoding byte and data bytes (copied into
  // *data, replacing its contents). Errors as described at the top.
  [[nodiscard]] virtual absl::Status Read(BlockChunkRef ref, uint8_t* encoding,
                                          std::string* data) const = 0;

  // Number of segment files.
  virtual size_t NumSegments() const = 0;
  // Total bytes of all segment files.
  virtual uint64_t TotalSize() const = 0;
};

// Opens the given segment files (in order; index i is the ref's segment i),
// checking each header.
using ChunkFileReaderFactory =
    std::function<absl::StatusOr<std::unique_ptr<ChunkFileReader>>(
        const std::vector<std::string>& segment_paths)>;

// Chunk file reader implementations by name ("mmap", "pread"). Filled at
// start-up by the plugins' Register functions; lookups are by exact name.
// Thread safety: Register before sharing; Open/Names from any thread after.
class ChunkFileReaderRegistry final {
 public:
  ChunkFileReaderRegistry() = default;
  ChunkFileReaderRegistry(const ChunkFileReaderRegistry&) = delete;
  ChunkFileReaderRegistry& operator=(const ChunkFileReaderRegistry&) = delete;

  // AlreadyExists for a taken name; InvalidArgument for an empty name or an
  // empty factory.
  [[nodiscard]] absl::Status Register(std::string name,
                                      ChunkFileReaderFactory factory) {
    if (name.empty() || !factory) {
      return absl::InvalidArgumentError(
          "chunk reader registration needs a name and a factory");
    }
    if (!factories_.emplace(name, std::move(factory)).second) {
      return absl::AlreadyExistsError(
          absl::StrCat("chunk reader \"", name, "\" is already registered"));
    }
    return absl::OkStatus();
  }

  // NotFound listing the valid names for an unknown name.
  absl::StatusOr<std::unique_ptr<ChunkFileReader>> Open(
      std::string_view name, const std::vector<std::string>& paths) const {
    auto it = factories_.find(std::string(name));
    if (it == factories_.end()) {
      return absl::NotFoundError(
          absl::StrCat("unknown chunk reader \"", std::string(name),
                       "\"; valid: ", absl::StrJoin(Names(), ", ")));
    }
    return it->second(paths);
  }

  bool Has(std::string_view name) const {
    return factories_.count(std::string(name)) > 0;
  }

  // Registered names, sorted.
  std::vector<std::string> Names() const {
    std::vector<std::string> out;
    for (const auto& [n, f] : factories_) out.push_back(n);
    return out;
  }

 private:
  std::map<std::string, ChunkFileReaderFactory> factories_;
};

}  // namespace tsdb::chunks

#endif  // TSDB_CHUNKS_CHUNK_FILE_READER_H_
