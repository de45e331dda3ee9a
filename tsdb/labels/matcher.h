// Label matchers as in PromQL selectors: `name="v"`, `name!="v"`,
// `name=~"re"`, `name!~"re"`.
//
// Regular expressions use RE2 syntax (the same family as Go's regexp) and are
// fully anchored as in Prometheus: `=~"foo"` matches only "foo", never
// "foobar". `.` does not match a newline unless the expression says `(?s)`.
//
// A matcher is applied to a label's value; a series without the label is
// treated as having the value "" (so `foo=""` and `foo=~".*"` select series
// without `foo`, as in Prometheus). That rule is applied by whoever selects
// series (postings for matchers); Matches() just tests one string.
//
// Fast paths: a regex that is a plain literal is compared as a string; an
// alternation of literals (`a|b|c`) is a set lookup, and SetMatches() exposes
// the set so an index can look the values up directly; a literal prefix
// (`foo.+`) rejects non-matching values before running the regex.
//
// Thread safety: immutable after construction; Matches() may be called from
// any number of threads.
#ifndef TSDB_LABELS_MATCHER_H_
#define TSDB_LABELS_MATCHER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace re2 {
class RE2;
}

namespace tsdb::labels {

enum class MatchType { kEqual, kNotEqual, kRegexp, kNotRegexp };

// "=", "!=", "=~", "!~".
std::string_view MatchTypeString(MatchType t);

class Matcher final {
 public:
  // InvalidArgument naming the expression if a regex does not compile.
  static absl::StatusOr<Matcher> Make(MatchType type, std::string name,
                                      std::string value);

  MatchType type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }

  bool Matches(std::string_view s) const;

  // For =~ whose expression is a set of literals (`a|b|c`, or one literal):
  // the sorted, deduplicated literals. Empty otherwise.
  const std::vector<std::string>& SetMatches() const { return set_; }

  // `name="value"` with the value quoted as Prometheus prints it.
  std::string ToString() const;

 private:
  Matcher() = default;
  bool RegexMatches(std::string_view s) const;

  MatchType type_ = MatchType::kEqual;
  std::string name_;
  std::string value_;
  std::shared_ptr<const re2::RE2> re_;  // kRegexp / kNotRegexp only
  std::vector<std::string> set_;        // literal alternation, sorted
  bool is_set_ = false;                 // set_ is exact: skip the regex
  std::string prefix_;                  // required literal prefix
};

}  // namespace tsdb::labels

#endif  // TSDB_LABELS_MATCHER_H_
