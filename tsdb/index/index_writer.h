// IndexWriter: writes a block's `index` file in format v2, byte for byte as
// Prometheus 2.42's tsdb/index.Writer does (docs: tsdb/docs/format/index.md):
//
//   header       BE32 magic 0xBAAAD700 | version 2
//   symbols      BE32 len | BE32 count | count x ustr | BE32 CRC32C
//   series       each 16-byte aligned: uvarint len | body | BE32 CRC32C
//   label index  per label name, 4-byte aligned
//   postings     the all-series list ("", "") first, then by (name, value),
//                each 4-byte aligned
//   label offset table, postings offset table, TOC (6 x BE64 + CRC32C)
//
// TOC.series, TOC.labelIndices and TOC.postings point where the previous
// section ended, before any alignment padding, as Prometheus writes them.
//
// Usage (the stages must come in this order, like Prometheus's writer):
//   TSDB_ASSIGN_OR_RETURN(auto w, IndexWriter::Create(fs, dir + "/index"));
//   for (sym : sorted_unique_symbols) TSDB_RETURN_IF_ERROR(w->AddSymbol(sym));
//   for (series sorted by labels) TSDB_RETURN_IF_ERROR(
//       w->AddSeries(lset, chunk_metas));
//   TSDB_RETURN_IF_ERROR(w->Close());
// Series IDs (what postings hold) are the entry offset / 16; AddSeries
// returns it.
//
// Memory: the writer keeps the symbol table's string -> index map and 12
// bytes per (series, label) pair for the postings, which it writes at Close.
// Ownership: `fs` must outlive the writer. Thread safety: one thread.
#ifndef TSDB_INDEX_INDEX_WRITER_H_
#define TSDB_INDEX_INDEX_WRITER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/block/reader_interface.h"
#include "tsdb/index/index_format.h"
#include "tsdb/io/file_system.h"
#include "tsdb/labels/labels.h"

namespace tsdb::index {

class IndexWriter final {
 public:
  // Creates (or replaces) the file at `path`.
  static absl::StatusOr<std::unique_ptr<IndexWriter>> Create(io::FileSystem* fs,
                                                             std::string path);

  ~IndexWriter();
  IndexWriter(const IndexWriter&) = delete;
  IndexWriter& operator=(const IndexWriter&) = delete;

  // Adds the next symbol. Symbols must be strictly increasing (bytewise) and
  // include every label name and value of every series.
  // REQUIRES: no AddSeries or Close yet.
  [[nodiscard]] absl::Status AddSymbol(std::string_view sym);

  // Adds the next series; series must come in strictly increasing label
  // order. `chunks` sorted by time, with BlockChunkRefs. Returns the series
  // ID (entry offset / 16).
  absl::StatusOr<SeriesRef> AddSeries(const labels::Labels& lset,
                                      const std::vector<ChunkMeta>& chunks);

  // Writes label indices, postings, offset tables and the TOC, fsyncs and
  // closes the file.
  [[nodiscard]] absl::Status Close();

  // Bytes written so far (the file size after Close).
  uint64_t Size() const { return pos_; }

 private:
  enum class Stage { kNone, kSymbols, kSeries, kDone };

  explicit IndexWriter(std::unique_ptr<io::WritableFile> file)
      : path_(file->path()), file_(std::move(file)) {}

  [[nodiscard]] absl::Status Write(std::string_view data);
  [[nodiscard]] absl::Status Pad(uint64_t align);
  [[nodiscard]] absl::Status FinishSymbols();
  [[nodiscard]] absl::Status WriteLabelIndicesAndPostings();
  [[nodiscard]] absl::Status WriteFramed(std::string_view body);

  std::string path_;
  std::unique_ptr<io::WritableFile> file_;  // null after Close
  uint64_t pos_ = 0;
  Stage stage_ = Stage::kNone;
  Toc toc_;

  // Symbols.
  std::string symbols_buf_;
  std::string last_symbol_;
  uint32_t num_symbols_ = 0;
  absl::flat_hash_map<std::string, uint32_t> symbol_index_;
  std::vector<std::string_view> symbol_by_index_;  // views into map keys

  // Series.
  labels::Labels last_series_;
  bool has_series_ = false;
  std::vector<uint32_t> series_ids_;
  struct Posting {
    uint32_t name;   // symbol index
    uint32_t value;  // symbol index
    uint32_t id;     // series ID
  };
  std::vector<Posting> postings_;
  std::string buf_;
};

}  // namespace tsdb::index

#endif  // TSDB_INDEX_INDEX_WRITER_H_
