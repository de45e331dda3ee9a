// Labels: the identity of a series, a set of (name, value) pairs sorted by
// name, with Prometheus 2.42's rules.
//
// - Order is by name, bytewise (Go string order); comparison of two sets is
//   label by label (name, then value) and a prefix sorts first, which is the
//   order of series in an index and in `promtool tsdb dump`.
// - Labels with an empty value are the same as absent labels: the builders
//   (FromPairs / FromUnsorted) drop them.
// - Validate() rejects what Prometheus's head rejects: an empty set, an empty
//   name, duplicate names. Any UTF-8 is allowed in names and values.
//
// This is the value type used at API edges (appenders, queriers, WAL
// records, index writers). The head keeps series labels in an interned,
// compact form of its own.
//
// Thread safety: immutable after construction; safe to share.
#ifndef TSDB_LABELS_LABELS_H_
#define TSDB_LABELS_LABELS_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace tsdb::labels {

// Name of the label that holds the metric name.
inline constexpr std::string_view kMetricName = "__name__";

struct Label {
  std::string name;
  std::string value;

  friend bool operator==(const Label& a, const Label& b) {
    return a.name == b.name && a.value == b.value;
  }
};

class Labels final {
 public:
  Labels() = default;

  // Builds from pairs in any order: sorts by name (stable, so duplicates stay
  // in input order for Validate to report) and drops empty values.
  static Labels FromPairs(
      std::initializer_list<std::pair<std::string_view, std::string_view>>
          pairs);
  static Labels FromUnsorted(std::vector<Label> labels);
  // Takes labels already sorted by name (e.g. decoded from disk) as they are.
  // Validate() or IsSorted() can check them.
  static Labels FromSorted(std::vector<Label> labels);

  size_t size() const { return labels_.size(); }
  bool empty() const { return labels_.empty(); }
  const Label& operator[](size_t i) const { return labels_[i]; }
  std::vector<Label>::const_iterator begin() const { return labels_.begin(); }
  std::vector<Label>::const_iterator end() const { return labels_.end(); }
  const std::vector<Label>& pairs() const { return labels_; }

  // The value of `name`, or "" when absent.
  std::string_view Get(std::string_view name) const;
  bool Has(std::string_view name) const;

  // OK, or InvalidArgument with Prometheus's wording: "empty labelset",
  // "label name \"x\" is not unique", "empty label name", or a message
  // naming unsorted labels.
  [[nodiscard]] absl::Status Validate() const;
  bool IsSorted() const;

  // A stable 64-bit hash of the set (same value in every process and run).
  uint64_t Hash() const;

  // {a="1", b="2"} with values quoted as Go's strconv.Quote quotes them, the
  // form `promtool tsdb dump` prints.
  std::string ToString() const;

  // Sum of name and value lengths (a size figure for stats and limits).
  size_t ByteSize() const;

  friend bool operator==(const Labels& a, const Labels& b) {
    return a.labels_ == b.labels_;
  }
  friend bool operator!=(const Labels& a, const Labels& b) { return !(a == b); }
  friend bool operator<(const Labels& a, const Labels& b) {
    return Compare(a, b) < 0;
  }

  // <0, 0, >0 as Prometheus's labels.Compare.
  static int Compare(const Labels& a, const Labels& b);

 private:
  explicit Labels(std::vector<Label> labels) : labels_(std::move(labels)) {}
  std::vector<Label> labels_;
};

// Quotes `s` as Go's strconv.Quote: double quotes; `\"` and `\\`; \a \b \f
// \n \r \t \v; other control characters as \x hh; invalid UTF-8 bytes as
// \x hh; non-printable runes as \u hhhh or \U hhhhhhhh; printable UTF-8 kept.
std::string GoQuote(std::string_view s);

// A stable 64-bit hash of bytes (used by Labels::Hash; exposed for callers
// that hash raw label bytes, e.g. remote-write caches).
uint64_t HashBytes(const void* data, size_t n, uint64_t seed);

}  // namespace tsdb::labels

#endif  // TSDB_LABELS_LABELS_H_
