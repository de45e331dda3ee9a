// Constants and small helpers of the index v2 format shared by the writer
// and the reader (see index_writer.h for the layout).
#ifndef TSDB_INDEX_INDEX_FORMAT_H_
#define TSDB_INDEX_INDEX_FORMAT_H_

#include <cstdint>

namespace tsdb::index {

inline constexpr uint32_t kMagicIndex = 0xBAAAD700;
inline constexpr uint8_t kFormatV1 = 1;
inline constexpr uint8_t kFormatV2 = 2;
inline constexpr uint64_t kHeaderLen = 5;
inline constexpr uint64_t kTocLen = 6 * 8 + 4;
inline constexpr uint64_t kSeriesAlign = 16;
// Readers keep every kSymbolFactor-th symbol and postings table entry.
inline constexpr uint32_t kSymbolFactor = 32;
inline constexpr char kIndexFileName[] = "index";

// Table of contents: absolute offsets of each section (0 = absent).
struct Toc {
  uint64_t symbols = 0;
  uint64_t series = 0;
  uint64_t label_indices = 0;
  uint64_t label_indices_table = 0;
  uint64_t postings = 0;
  uint64_t postings_table = 0;
};

}  // namespace tsdb::index

#endif  // TSDB_INDEX_INDEX_FORMAT_H_
