// IndexFileReader: reads a block's `index` file (format v2, as Prometheus
// 2.2+ writes it) through a read-only memory mapping, and serves it as a
// tsdb::IndexReader (tsdb/block/reader_interface.h). Series refs are series
// IDs (entry offset / 16), as in postings.
//
// Open verifies the header, the TOC's CRC, the symbol table's CRC and the
// postings offset table's CRC, and keeps in memory every 32nd symbol offset
// and, per label name, every 32nd postings offset table entry plus the last
// one (as Prometheus does). Every section read later (series entry,
// postings list) has its CRC verified on access.
//
// Errors: corrupt data is DataLoss naming the file and the offset, e.g.
//   "index /data/01H.../index offset 4096: series entry checksum mismatch"
// Unknown series refs are NotFound. Nothing is read outside the file.
//
// Ownership: Postings returned by Postings() point into the mapping and must
// not outlive the reader. Thread safety: immutable after Open; all methods
// are safe from any number of threads.
#ifndef TSDB_INDEX_INDEX_READER_H_
#define TSDB_INDEX_INDEX_READER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/block/reader_interface.h"
#include "tsdb/index/index_format.h"
#include "tsdb/io/mapped_file.h"

namespace tsdb::index {

class IndexFileReader final : public IndexReader {
 public:
  // Maps and validates the file at `path`.
  static absl::StatusOr<std::unique_ptr<IndexFileReader>> Open(
      const std::string& path);

  // IndexReader.
  absl::StatusOr<std::vector<std::string>> LabelNames() const override;
  absl::StatusOr<std::vector<std::string>> LabelValues(
      std::string_view name) const override;
  std::unique_ptr<postings::Postings> Postings(
      std::string_view name, std::string_view value) const override;
  [[nodiscard]] absl::Status Series(
      SeriesRef ref, labels::Labels* lset,
      std::vector<ChunkMeta>* chunks) const override;
  std::unique_ptr<postings::Postings> SortedPostings(
      std::unique_ptr<postings::Postings> p) const override {
    return p;
  }

  // The symbol with index `i` (a view into the mapping).
  absl::StatusOr<std::string_view> Symbol(uint32_t i) const;
  // Index of `sym`, or NotFound.
  absl::StatusOr<uint32_t> ReverseLookup(std::string_view sym) const;
  // Calls fn for every symbol in order; stops early if fn returns false.
  [[nodiscard]] absl::Status ForEachSymbol(
      const std::function<bool(std::string_view)>& fn) const;
  uint32_t NumSymbols() const { return num_symbols_; }

  // Checks every byte of the file: walks all series entries, label indices
  // and postings lists verifying each CRC and that all alignment padding is
  // zero, and verifies the label offset table. O(file size); for `check`
  // tools and tests, not needed for reading.
  [[nodiscard]] absl::Status Verify() const;

  const Toc& toc() const { return toc_; }
  uint8_t version() const { return version_; }
  uint64_t Size() const { return file_->size(); }
  const std::string& path() const { return file_->path(); }

 private:
  struct PostingOffset {
    std::string value;
    uint64_t entry_pos;  // absolute offset of the table entry
  };

  explicit IndexFileReader(std::unique_ptr<io::MappedFile> file)
      : file_(std::move(file)) {}

  [[nodiscard]] absl::Status Init();
  // A DataLoss error naming the file and `offset`.
  absl::Status Corrupt(uint64_t offset, std::string_view what) const;
  // Verifies the frame (BE32 len | body | BE32 CRC) at `off`; returns body.
  absl::StatusOr<std::string_view> Frame(uint64_t off,
                                         std::string_view what) const;
  // Calls fn(name, value, postings offset) for postings table entries from
  // absolute position `from` until fn returns false or the table ends.
  [[nodiscard]] absl::Status ScanPostingsTable(
      uint64_t from,
      const std::function<bool(std::string_view, std::string_view, uint64_t)>&
          fn) const;

  std::unique_ptr<io::MappedFile> file_;
  const uint8_t* data_ = nullptr;
  uint8_t version_ = 0;
  Toc toc_;

  uint32_t num_symbols_ = 0;
  std::vector<uint64_t> symbol_offsets_;  // of every 32nd symbol
  uint64_t symbols_end_ = 0;

  uint64_t pt_end_ = 0;  // end of the postings offset table body
  std::map<std::string, std::vector<PostingOffset>, std::less<>> postings_;
  absl::flat_hash_map<uint32_t, std::string> name_symbols_;
};

}  // namespace tsdb::index

#endif  // TSDB_INDEX_INDEX_READER_H_
