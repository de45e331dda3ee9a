#include "tsdb/labels/labels.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tsdb::labels {
namespace {

TEST(LabelsTest, FromPairsSortsAndDropsEmptyValues) {
  Labels l =
      Labels::FromPairs({{"job", "node"}, {"__name__", "up"}, {"x", ""}});
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].name, "__name__");
  EXPECT_EQ(l[1].name, "job");
  EXPECT_EQ(l.Get("job"), "node");
  EXPECT_EQ(l.Get("x"), "");
  EXPECT_FALSE(l.Has("x"));
  EXPECT_TRUE(l.Validate().ok());
}

TEST(LabelsTest, ValidateRejectsAsPrometheus) {
  EXPECT_EQ(Labels().Validate().message(), "empty labelset");
  EXPECT_EQ(Labels::FromPairs({{"a", "1"}, {"a", "2"}}).Validate().message(),
            "label name \"a\" is not unique");
  EXPECT_EQ(Labels::FromPairs({{"", "1"}}).Validate().message(),
            "empty label name");
  EXPECT_FALSE(Labels::FromSorted({{"b", "1"}, {"a", "2"}}).Validate().ok());
  // UTF-8 is fine in names and values.
  EXPECT_TRUE(Labels::FromPairs({{"ñame", "välue ☃"}}).Validate().ok());
}

TEST(LabelsTest, CompareIsLabelByLabelPrefixFirst) {
  const Labels a = Labels::FromPairs({{"a", "1"}});
  const Labels ab = Labels::FromPairs({{"a", "1"}, {"b", "1"}});
  const Labels a2 = Labels::FromPairs({{"a", "2"}});
  const Labels b = Labels::FromPairs({{"b", "0"}});
  std::vector<Labels> v = {b, a2, ab, a};
  std::sort(v.begin(), v.end());
  EXPECT_EQ(v, (std::vector<Labels>{a, ab, a2, b}));
  EXPECT_EQ(Labels::Compare(a, a), 0);
}

TEST(LabelsTest, HashIsStableAndSeparatesNamesFromValues) {
  const Labels x = Labels::FromPairs({{"ab", "c"}});
  const Labels y = Labels::FromPairs({{"a", "bc"}});
  EXPECT_NE(x.Hash(), y.Hash());
  EXPECT_EQ(x.Hash(), Labels::FromPairs({{"ab", "c"}}).Hash());
  // Pinned so that a change of the function is noticed (it may be used for
  // sharding decisions that must agree across runs).
  EXPECT_EQ(HashBytes("", 0, 0), 0u);
  EXPECT_NE(HashBytes("abc", 3, 0), HashBytes("abd", 3, 0));
}

TEST(LabelsTest, ToStringMatchesPromtoolDump) {
  EXPECT_EQ(
      Labels::FromPairs({{"__name__", "up"}, {"job", "prometheus"}}).ToString(),
      "{__name__=\"up\", job=\"prometheus\"}");
  EXPECT_EQ(Labels().ToString(), "{}");
}

// Expected strings are what Go's strconv.Quote returns.
TEST(GoQuoteTest, EscapesAsGo) {
  EXPECT_EQ(GoQuote("plain"), "\"plain\"");
  EXPECT_EQ(GoQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(GoQuote("\a\b\f\n\r\t\v"), "\"\\a\\b\\f\\n\\r\\t\\v\"");
  EXPECT_EQ(GoQuote(std::string("\x00\x01\x1f\x7f", 4)),
            "\"\\x00\\x01\\x1f\\x7f\"");
  EXPECT_EQ(GoQuote("héllo ☃ 日本 😀"), "\"héllo ☃ 日本 😀\"");
  EXPECT_EQ(GoQuote("\xff\xfe"), "\"\\xff\\xfe\"");           // invalid UTF-8
  EXPECT_EQ(GoQuote("\xed\xa0\x80"), "\"\\xed\\xa0\\x80\"");  // surrogate
  EXPECT_EQ(GoQuote("\xc2\x80"), "\"\\u0080\"");              // C1 control
  EXPECT_EQ(GoQuote("\xc2\xad"), "\"\\u00ad\"");              // soft hyphen
  EXPECT_EQ(GoQuote("\xef\xbb\xbf"), "\"\\ufeff\"");          // BOM
  EXPECT_EQ(GoQuote("\xf3\xa0\x80\x81"), "\"\\U000e0001\"");  // tag char
  EXPECT_EQ(GoQuote("\xe2\x80"), "\"\\xe2\\x80\"");           // truncated
}

}  // namespace
}  // namespace tsdb::labels
