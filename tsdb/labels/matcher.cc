#include "tsdb/labels/matcher.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "re2/re2.h"
#include "tsdb/labels/labels.h"

namespace tsdb::labels {
namespace {

bool IsRegexMeta(char c) {
  switch (c) {
    case '\\':
    case '.':
    case '+':
    case '*':
    case '?':
    case '(':
    case ')':
    case '|':
    case '[':
    case ']':
    case '{':
    case '}':
    case '^':
    case '$':
      return true;
    default:
      return false;
  }
}

// Splits `re` into literal alternatives if it is nothing but literals joined
// by '|' at the top level (e.g. "a|b|c", "foo"). Returns false otherwise.
bool LiteralAlternatives(std::string_view re, std::vector<std::string>* out) {
  std::string cur;
  for (char c : re) {
    if (c == '|') {
      out->push_back(cur);
      cur.clear();
    } else if (IsRegexMeta(c)) {
      return false;
    } else {
      cur.push_back(c);
    }
  }
  out->push_back(cur);
  return true;
}

// The literal text every match must start with: the leading run of
// non-meta characters, when the expression has no top-level alternation
// and the run is not made optional by a following quantifier.
std::string LiteralPrefix(std::string_view re) {
  int depth = 0;
  for (char c : re) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == '|' && depth == 0) return "";
  }
  size_t n = 0;
  while (n < re.size() && !IsRegexMeta(re[n])) ++n;
  if (n < re.size() && (re[n] == '*' || re[n] == '?' || re[n] == '{')) {
    // The last literal character is quantified: it is not required.
    if (n == 0) return "";
    --n;
  }
  return std::string(re.substr(0, n));
}

}  // namespace

std::string_view MatchTypeString(MatchType t) {
  switch (t) {
    case MatchType::kEqual:
      return "=";
    case MatchType::kNotEqual:
      return "!=";
    case MatchType::kRegexp:
      return "=~";
    case MatchType::kNotRegexp:
      return "!~";
  }
  return "?";
}

absl::StatusOr<Matcher> Matcher::Make(MatchType type, std::string name,
                                      std::string value) {
  Matcher m;
  m.type_ = type;
  m.name_ = std::move(name);
  m.value_ = std::move(value);
  if (type == MatchType::kRegexp || type == MatchType::kNotRegexp) {
    RE2::Options opts;
    opts.set_log_errors(false);
    opts.set_dot_nl(false);
    auto re = std::make_shared<const RE2>(
        absl::StrCat("^(?:", absl::string_view(m.value_), ")$"), opts);
    if (!re->ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid regular expression ", GoQuote(m.value_),
                       " for label ", m.name_, ": ", re->error()));
    }
    m.re_ = std::move(re);
    std::vector<std::string> alts;
    if (LiteralAlternatives(m.value_, &alts)) {
      std::sort(alts.begin(), alts.end());
      alts.erase(std::unique(alts.begin(), alts.end()), alts.end());
      m.set_ = std::move(alts);
      m.is_set_ = true;
    } else {
      m.prefix_ = LiteralPrefix(m.value_);
    }
  }
  return m;
}

bool Matcher::RegexMatches(std::string_view s) const {
  if (is_set_) return std::binary_search(set_.begin(), set_.end(), s);
  if (!prefix_.empty() && s.substr(0, prefix_.size()) != prefix_) {
    return false;
  }
  return RE2::FullMatch(re2::StringPiece(s.data(), s.size()), *re_);
}

bool Matcher::Matches(std::string_view s) const {
  switch (type_) {
    case MatchType::kEqual:
      return s == value_;
    case MatchType::kNotEqual:
      return s != value_;
    case MatchType::kRegexp:
      return RegexMatches(s);
    case MatchType::kNotRegexp:
      return !RegexMatches(s);
  }
  return false;
}

std::string Matcher::ToString() const {
  return absl::StrCat(name_, std::string(MatchTypeString(type_)),
                      GoQuote(value_));
}

}  // namespace tsdb::labels
