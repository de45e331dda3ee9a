#include "tsdb/labels/matcher.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "re2/re2.h"

namespace tsdb::labels {
namespace {

Matcher M(MatchType t, const std::string& v) {
  auto m = Matcher::Make(t, "l", v);
  EXPECT_TRUE(m.ok()) << m.status();
  return *std::move(m);
}

TEST(MatcherTest, EqualityAndInequality) {
  EXPECT_TRUE(M(MatchType::kEqual, "a").Matches("a"));
  EXPECT_FALSE(M(MatchType::kEqual, "a").Matches("ab"));
  EXPECT_TRUE(M(MatchType::kNotEqual, "a").Matches("b"));
  EXPECT_FALSE(M(MatchType::kNotEqual, "a").Matches("a"));
  EXPECT_TRUE(M(MatchType::kEqual, "").Matches(""));
}

TEST(MatcherTest, RegexIsFullyAnchored) {
  const Matcher m = M(MatchType::kRegexp, "foo");
  EXPECT_TRUE(m.Matches("foo"));
  EXPECT_FALSE(m.Matches("foobar"));
  EXPECT_FALSE(m.Matches("xfoo"));
  // Anchoring wraps the whole alternation, not just its ends.
  const Matcher alt = M(MatchType::kRegexp, "a.|b");
  EXPECT_TRUE(alt.Matches("ax"));
  EXPECT_FALSE(alt.Matches("axb"));
  EXPECT_FALSE(alt.Matches("xb"));
  EXPECT_TRUE(M(MatchType::kNotRegexp, "foo.*").Matches("bar"));
  EXPECT_FALSE(M(MatchType::kNotRegexp, "foo.*").Matches("food"));
}

TEST(MatcherTest, DotDoesNotMatchNewlineUnlessAsked) {
  EXPECT_FALSE(M(MatchType::kRegexp, "a.*").Matches("a\nb"));
  EXPECT_TRUE(M(MatchType::kRegexp, "(?s:a.*)").Matches("a\nb"));
  EXPECT_TRUE(M(MatchType::kRegexp, "(?s:.*)").Matches(""));
}

TEST(MatcherTest, SetMatchesForLiteralAlternation) {
  const Matcher m = M(MatchType::kRegexp, "c|a|b|a");
  EXPECT_EQ(m.SetMatches(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(m.Matches("b"));
  EXPECT_FALSE(m.Matches("ab"));
  EXPECT_TRUE(M(MatchType::kRegexp, "foo.*").SetMatches().empty());
  EXPECT_TRUE(M(MatchType::kRegexp, "a\\.b").SetMatches().empty());
}

TEST(MatcherTest, InvalidRegexIsAClearError) {
  auto m = Matcher::Make(MatchType::kRegexp, "job", "(unclosed");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("(unclosed"), std::string::npos);
  EXPECT_NE(m.status().message().find("job"), std::string::npos);
}

TEST(MatcherTest, ToString) {
  EXPECT_EQ(M(MatchType::kNotRegexp, "a\"b").ToString(), "l!~\"a\\\"b\"");
}

// Every fast path must agree with a plain anchored RE2 match.
TEST(MatcherTest, FastPathsAgreeWithRe2OnRandomInputs) {
  const std::vector<std::string> patterns = {
      "",       "a",        "ab|cd|",   "foo.*",     "foo.+",   "fo*",
      "fo?bar", "f{0,2}oo", "(?i)foo",  "foo|bar.*", "a(b|c)d", "a\\.b",
      "[a-c]+", "ab*c",     ".*",       "(?s:.*)",   "a|b|c",   "abc.*x",
      "^abc$",  "a\\|b",    "fo{2}bar", "x(?:y|z)*"};
  const std::string alphabet = "abcdfoxyzr.|\n";
  std::mt19937 rng(1);
  for (const std::string& p : patterns) {
    const Matcher m = M(MatchType::kRegexp, p);
    RE2::Options opts;
    opts.set_log_errors(false);
    const RE2 ref("^(?:" + p + ")$", opts);
    ASSERT_TRUE(ref.ok()) << p;
    for (int i = 0; i < 3000; ++i) {
      std::string s;
      const int len = rng() % 8;
      for (int k = 0; k < len; ++k)
        s.push_back(alphabet[rng() % alphabet.size()]);
      if (i % 7 == 0) s = "foo" + s;
      EXPECT_EQ(m.Matches(s), RE2::FullMatch(s, ref))
          << "pattern " << p << " value \"" << s << "\"";
    }
  }
}

}  // namespace
}  // namespace tsdb::labels
