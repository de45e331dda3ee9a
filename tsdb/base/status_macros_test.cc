#include "tsdb/base/status_macros.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace tsdb {
namespace {

absl::Status FailIf(bool fail) {
  return fail ? absl::InvalidArgumentError("boom") : absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<int>> MakeInt(bool fail, int v) {
  if (fail) return absl::NotFoundError("no int");
  return std::make_unique<int>(v);
}

absl::Status Chain(bool fail_first, bool fail_second, int* out) {
  TSDB_RETURN_IF_ERROR(FailIf(fail_first));
  TSDB_ASSIGN_OR_RETURN(auto p, MakeInt(fail_second, 41));  // move-only
  TSDB_ASSIGN_OR_RETURN(*out, absl::StatusOr<int>(*p + 1));
  return absl::OkStatus();
}

TEST(StatusMacrosTest, PropagatesAndAssigns) {
  int v = 0;
  EXPECT_TRUE(Chain(false, false, &v).ok());
  EXPECT_EQ(v, 42);
  EXPECT_EQ(Chain(true, false, &v).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Chain(false, true, &v).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Chain(false, true, &v).message(), "no int");
}

}  // namespace
}  // namespace tsdb
