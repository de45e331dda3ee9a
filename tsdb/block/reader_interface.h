// The read-side interfaces shared by persistent blocks and the head, shaped
// like Prometheus's tsdb/block.go, so that the querier treats both alike:
//
//   IndexReader: label names and values, postings for a (name, value) pair,
//                and per series its labels and chunk metas.
//   ChunkReader: the chunk a ChunkMeta points at.
//
// A ChunkMeta's `ref` is opaque to the querier: a BlockChunkRef (0-based
// segment file index << 32 | offset) in a block, a head-specific reference in
// the head. Only the ChunkReader of the same source interprets it.
//
// Ownership: readers are owned by the caller that opened them and must not
// outlive their source (block or head). Returned Postings and Chunks are owned
// by the caller.
// Thread safety: all methods are safe to call from several threads at once.
#ifndef TSDB_BLOCK_READER_INTERFACE_H_
#define TSDB_BLOCK_READER_INTERFACE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/chunkenc/chunk.h"
#include "tsdb/labels/labels.h"
#include "tsdb/postings/postings.h"

namespace tsdb {

using ChunkRef = uint64_t;

// Where a chunk is and which time range it covers (both ends inclusive:
// the first and last sample timestamps).
struct ChunkMeta {
  ChunkRef ref = 0;
  int64_t min_time = 0;
  int64_t max_time = 0;

  friend bool operator==(const ChunkMeta& a, const ChunkMeta& b) {
    return a.ref == b.ref && a.min_time == b.min_time &&
           a.max_time == b.max_time;
  }
};

class IndexReader {
 public:
  virtual ~IndexReader() = default;

  // All label names, sorted, without duplicates.
  virtual absl::StatusOr<std::vector<std::string>> LabelNames() const = 0;

  // All values of label `name`, sorted; empty if the name is unknown.
  virtual absl::StatusOr<std::vector<std::string>> LabelValues(
      std::string_view name) const = 0;

  // The series having label name=value, ascending. An unknown pair yields
  // empty postings. Errors travel in the returned Postings' status().
  // Postings("", "") is the list of all series.
  virtual std::unique_ptr<postings::Postings> Postings(
      std::string_view name, std::string_view value) const = 0;

  // The labels and chunk metas (sorted by min_time) of series `ref`.
  // NotFound for an unknown ref; DataLoss for corrupt data.
  [[nodiscard]] virtual absl::Status Series(
      SeriesRef ref, labels::Labels* lset,
      std::vector<ChunkMeta>* chunks) const = 0;

  // Returns `p` reordered so that series come in label-set order. Block
  // indexes already yield that order and return `p` unchanged.
  virtual std::unique_ptr<postings::Postings> SortedPostings(
      std::unique_ptr<postings::Postings> p) const = 0;
};

class ChunkReader {
 public:
  virtual ~ChunkReader() = default;

  // The chunk `meta` refers to. NotFound for a ref that does not exist,
  // DataLoss (naming the file and offset) for corrupt data.
  virtual absl::StatusOr<std::unique_ptr<chunkenc::Chunk>> Chunk(
      const ChunkMeta& meta) const = 0;
};

}  // namespace tsdb

#endif  // TSDB_BLOCK_READER_INTERFACE_H_
