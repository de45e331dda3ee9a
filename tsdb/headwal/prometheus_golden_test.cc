// WALs written by the real Prometheus 2.42 (testing/golden/wal, regen.sh),
// replayed into our head and read back through the head's readers and
// tsdb/querier's Select, give exactly the samples `promtool tsdb dump`
// printed for them (dump.txt.gz, checked in: no Prometheus needed).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "testing/prometheus/prometheus_binaries.h"
#include "tsdb/head/head.h"
#include "tsdb/head/test_util.h"
#include "tsdb/headwal/headwal.h"
#include "tsdb/headwal/test_util.h"

namespace tsdb::headwal {
namespace {

using ::tsdb::headwal::testing::HeadDump;

std::string Runfile(const std::string& rel) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* ws = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr || ws == nullptr) return rel;
  return std::string(srcdir) + "/" + ws + "/" + rel;
}

std::string Gunzip(const std::string& path) {
  FILE* p = popen(("gzip -dc '" + path + "'").c_str(), "r");
  EXPECT_NE(p, nullptr);
  if (p == nullptr) return "";
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0);
  return out;
}

class GoldenReplayTest
    : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(GoldenReplayTest, HeadMatchesPromtoolDump) {
  const std::string base =
      Runfile("testing/golden/wal/" + std::get<0>(GetParam()));
  const HeadDump want =
      ::tsdb::testing::ParsePromtoolDump(Gunzip(base + "/dump.txt.gz"));
  ASSERT_FALSE(want.empty());
  auto h = head::testing::OpenHead();
  auto r = ReplayIntoHead(h.get(), nullptr, base + "/data/wal",
                          std::get<1>(GetParam()), [](std::string_view) {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->skipped_samples, 0);
  auto got = testing::DumpHead(*h);
  ASSERT_TRUE(got.ok()) << got.status();
  // promtool prints %g-formatted values (Go's strconv 'g', shortest
  // round-trip), so parsing them back gives the exact doubles.
  size_t n = 0;
  for (const auto& [k, v] : want) n += v.size();
  EXPECT_EQ(static_cast<size_t>(r->samples), n);
  std::string diff;
  EXPECT_TRUE(testing::SameDump(*got, want, &diff)) << diff;
}

INSTANTIATE_TEST_SUITE_P(All, GoldenReplayTest,
                         ::testing::Combine(::testing::Values("snappy", "none"),
                                            ::testing::Values(1, 2)));

}  // namespace
}  // namespace tsdb::headwal
