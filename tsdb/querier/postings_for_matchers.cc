#include "tsdb/querier/postings_for_matchers.h"

#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/postings/set_ops.h"

namespace tsdb::querier {
namespace {

using labels::Matcher;
using labels::MatchType;
using postings::Postings;
using PostingsPtr = std::unique_ptr<Postings>;

Matcher Inverse(const Matcher& m) {
  MatchType t = MatchType::kEqual;
  switch (m.type()) {
    case MatchType::kEqual:
      t = MatchType::kNotEqual;
      break;
    case MatchType::kNotEqual:
      t = MatchType::kEqual;
      break;
    case MatchType::kRegexp:
      t = MatchType::kNotRegexp;
      break;
    case MatchType::kNotRegexp:
      t = MatchType::kRegexp;
      break;
  }
  // The expression already compiled once, so this cannot fail.
  return *Matcher::Make(t, m.name(), m.value());
}

PostingsPtr Union(const IndexReader& ix, const std::string& name,
                  const std::vector<std::string>& values) {
  if (values.empty()) return std::make_unique<postings::EmptyPostings>();
  if (values.size() == 1) return ix.Postings(name, values[0]);
  std::vector<PostingsPtr> its;
  its.reserve(values.size());
  for (const std::string& v : values) its.push_back(ix.Postings(name, v));
  return postings::Merge(std::move(its));
}

// Series whose value of m.name() matches m (series without it excluded).
absl::StatusOr<PostingsPtr> ForMatcher(const IndexReader& ix,
                                       const Matcher& m) {
  if (m.type() == MatchType::kEqual) return ix.Postings(m.name(), m.value());
  if (m.type() == MatchType::kRegexp && !m.SetMatches().empty()) {
    return Union(ix, m.name(), m.SetMatches());
  }
  TSDB_ASSIGN_OR_RETURN(std::vector<std::string> values,
                        ix.LabelValues(m.name()));
  std::vector<std::string> hit;
  for (std::string& v : values) {
    if (m.Matches(v)) hit.push_back(std::move(v));
  }
  return Union(ix, m.name(), hit);
}

// Series that have label m.name() with a value m does NOT match.
absl::StatusOr<PostingsPtr> ForInverse(const IndexReader& ix,
                                       const Matcher& m) {
  TSDB_ASSIGN_OR_RETURN(std::vector<std::string> values,
                        ix.LabelValues(m.name()));
  std::vector<std::string> hit;
  for (std::string& v : values) {
    if (!m.Matches(v)) hit.push_back(std::move(v));
  }
  return Union(ix, m.name(), hit);
}

bool IsEmpty(const PostingsPtr& p) {
  return dynamic_cast<const postings::EmptyPostings*>(p.get()) != nullptr &&
         p->status().ok();
}

}  // namespace

absl::StatusOr<PostingsPtr> PostingsForMatchers(
    const IndexReader& ix, const std::vector<Matcher>& matchers) {
  // Names some matcher requires to be set (non-empty).
  absl::flat_hash_set<std::string> must_be_set;
  for (const Matcher& m : matchers) {
    if (!m.Matches("")) must_be_set.insert(m.name());
  }

  std::vector<PostingsPtr> its;
  std::vector<PostingsPtr> not_its;
  for (const Matcher& m : matchers) {
    const bool is_not =
        m.type() == MatchType::kNotEqual || m.type() == MatchType::kNotRegexp;
    if (must_be_set.contains(m.name())) {
      const bool matches_empty = m.Matches("");
      if (is_not && matches_empty) {
        // l!="foo": subtract the series where the inverse holds.
        TSDB_ASSIGN_OR_RETURN(PostingsPtr p, ForMatcher(ix, Inverse(m)));
        not_its.push_back(std::move(p));
      } else if (is_not) {
        // l!="" (or l!~".*x|"): series with a value the inverse rejects.
        TSDB_ASSIGN_OR_RETURN(PostingsPtr p, ForInverse(ix, Inverse(m)));
        if (IsEmpty(p)) return p;
        its.push_back(std::move(p));
      } else {
        TSDB_ASSIGN_OR_RETURN(PostingsPtr p, ForMatcher(ix, m));
        if (IsEmpty(p)) return p;
        its.push_back(std::move(p));
      }
    } else {
      // The matcher accepts "", so it also selects series without the
      // label: subtract the series whose value it rejects.
      TSDB_ASSIGN_OR_RETURN(PostingsPtr p, ForInverse(ix, m));
      not_its.push_back(std::move(p));
    }
  }

  if (its.empty()) {
    if (not_its.empty()) return ix.Postings("", "");
    its.push_back(ix.Postings("", ""));
  }
  PostingsPtr it =
      its.size() == 1 ? std::move(its[0]) : postings::Intersect(std::move(its));
  for (PostingsPtr& n : not_its) {
    it = postings::Without(std::move(it), std::move(n));
  }
  return it;
}

}  // namespace tsdb::querier
