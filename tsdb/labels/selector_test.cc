#include "tsdb/labels/selector.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tsdb::labels {
namespace {

std::vector<std::string> Strings(std::string_view in) {
  auto ms = ParseSelector(in);
  EXPECT_TRUE(ms.ok()) << in << ": " << ms.status();
  std::vector<std::string> out;
  if (ms.ok()) {
    for (const Matcher& m : *ms) out.push_back(m.ToString());
  }
  return out;
}

TEST(SelectorTest, ParsesPromtoolDefaultAndCommonForms) {
  EXPECT_EQ(Strings("{__name__=~'(?s:.*)'}"),
            std::vector<std::string>{"__name__=~\"(?s:.*)\""});
  EXPECT_EQ(Strings("up"), std::vector<std::string>{"__name__=\"up\""});
  EXPECT_EQ(Strings(" http:req_total { job = \"api\" , code!~`5..` , } "),
            (std::vector<std::string>{"__name__=\"http:req_total\"",
                                      "job=\"api\"", "code!~\"5..\""}));
  EXPECT_EQ(Strings("{a!=\"x\\\"y\\n\\u00e9\\x41\\101\"}"),
            std::vector<std::string>{"a!=\"x\\\"y\\né\x41\x41\""});
}

TEST(SelectorTest, RejectsMalformedInput) {
  for (std::string_view bad :
       {"", "{", "{a=}", "{a=\"x\"", "{a~\"x\"}", "{a=\"x\" b=\"y\"}",
        "{1a=\"x\"}", "up}", "{a=\"\\q\"}", "{a=~\"(\"}"}) {
    auto ms = ParseSelector(bad);
    EXPECT_FALSE(ms.ok()) << "accepted: " << bad;
    if (!ms.ok()) {
      EXPECT_EQ(ms.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace tsdb::labels
