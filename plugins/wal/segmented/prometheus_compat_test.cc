// Compatibility with the real Prometheus 2.42 (Debian's prometheus package):
//   (a) WALs written by Prometheus itself (testing/golden/wal, see regen.sh)
//       decode, through our reader and replay driver, to exactly the
//       samples `promtool tsdb dump` printed for them;
//   (b) WALs we write (snappy on and off) are replayed by `promtool tsdb
//       dump` into exactly our samples.
// Skips when promtool is missing, unless TSDB_REQUIRE_PROMETHEUS=1.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "plugins/wal/segmented/segmented_wal.h"
#include "testing/prometheus/prometheus_binaries.h"
#include "tsdb/record/record.h"
#include "tsdb/wal/reader.h"
#include "tsdb/wal/replay.h"

namespace tsdb::plugins {
namespace {

constexpr char kPromtool[] = "/usr/bin/promtool";

// series (Labels::ToString) -> (t, value) in time order.
using Dump = ::tsdb::testing::PromtoolDump;

bool RequirePromtool() {
  if (access(kPromtool, X_OK) == 0) return true;
  if (::tsdb::testing::PrometheusRequired()) {
    ADD_FAILURE() << kPromtool << " missing and TSDB_REQUIRE_PROMETHEUS=1";
  }
  return false;
}

std::string RunCommand(const std::string& cmd);

std::string RunPromtoolDump(const std::string& dir) {
  return RunCommand(std::string(kPromtool) + " tsdb dump '" + dir +
                    "' 2>/dev/null");
}

bool SameValue(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::memcmp(&a, &b, sizeof(a)) == 0;
}

void ExpectSameDump(const Dump& got, const Dump& want) {
  EXPECT_EQ(got.size(), want.size());
  size_t compared = 0;
  for (const auto& [series, samples] : want) {
    auto it = got.find(series);
    if (it == got.end()) {
      ADD_FAILURE() << "missing series " << series;
      continue;
    }
    ASSERT_EQ(it->second.size(), samples.size()) << series;
    for (size_t i = 0; i < samples.size(); ++i) {
      EXPECT_EQ(it->second[i].first, samples[i].first) << series;
      EXPECT_TRUE(SameValue(it->second[i].second, samples[i].second))
          << series << " t=" << samples[i].first << " " << it->second[i].second
          << " vs " << samples[i].second;
      ++compared;
    }
  }
  EXPECT_GT(compared, 0u);
}

// Collects replayed samples by label set.
class DumpVisitor final : public wal::ReplayVisitor {
 public:
  absl::Status OnSeries(const std::vector<record::RefSeries>& s) override {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& x : s) names_[x.ref] = x.labels.ToString();
    return absl::OkStatus();
  }
  absl::Status OnSamples(int, absl::Span<const record::RefSample> s) override {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& x : s) dump_[names_.at(x.ref)].emplace_back(x.t, x.v);
    return absl::OkStatus();
  }
  absl::Status OnTombstones(const std::vector<record::Stone>&) override {
    return absl::OkStatus();
  }
  absl::Status OnDuplicateSeries(int, uint64_t ref) override {
    std::lock_guard<std::mutex> l(mu_);
    dump_.erase(names_.at(ref));
    return absl::OkStatus();
  }
  Dump dump() {
    Dump d = dump_;
    for (auto& [k, v] : d) {
      std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
        return a.first < b.first;
      });
    }
    return d;
  }

 private:
  std::mutex mu_;
  std::map<uint64_t, std::string> names_;
  Dump dump_;
};

std::string Runfile(const std::string& rel) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* ws = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr || ws == nullptr) return rel;
  return std::string(srcdir) + "/" + ws + "/" + rel;
}

// Output of `cmd` (e.g. "gzip -dc file").
std::string RunCommand(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  EXPECT_NE(p, nullptr) << cmd;
  if (p == nullptr) return "";
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << cmd;
  return out;
}

class GoldenWalTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenWalTest, ReplayMatchesPromtoolDump) {
  // The golden files are checked in, so this part needs no Prometheus.
  const std::string base = Runfile("testing/golden/wal/" + GetParam());
  const Dump want = ::tsdb::testing::ParsePromtoolDump(
      RunCommand("gzip -dc '" + base + "/dump.txt.gz'"));
  ASSERT_FALSE(want.empty());
  DumpVisitor v;
  wal::ReplayOptions o;
  o.dir = base + "/data/wal";
  o.workers = 2;
  o.log_progress = false;
  auto stats = wal::ReplayWalDir(o, &v);
  // kill -9 could leave a torn record at the very end (Prometheus drops it
  // too); the checked-in WALs end cleanly.
  EXPECT_TRUE(stats.ok()) << stats.status();
  ExpectSameDump(v.dump(), want);
}

// Re-logging Prometheus's own records, one per Log call, into a fresh WAL
// with the same compression must give Prometheus's bytes: same fragments,
// page-tail rule, zero-length fragments, and (with snappy) the same
// compressed bytes from the C++ snappy as from golang/snappy.
TEST_P(GoldenWalTest, RelogIsByteIdentical) {
  const std::string base = Runfile("testing/golden/wal/" + GetParam());
  io::FileSystem* fs = io::PosixFileSystem();
  auto segs = wal::SegmentsInDir(fs, base + "/data/wal", 0, -1);
  ASSERT_TRUE(segs.ok());
  ASSERT_EQ(segs->size(), 1u);
  std::vector<std::string> records;
  wal::Reader r(fs, *segs);
  while (r.Next()) records.emplace_back(r.record());
  ASSERT_TRUE(r.status().ok()) << r.status();

  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir =
      std::string(tmp ? tmp : "/tmp") + "/relog_" + GetParam();
  ASSERT_TRUE(fs->RemoveAll(dir).ok());
  wal::WalOptions o;
  o.dir = dir;
  o.compression = GetParam() == "snappy" ? wal::Compression::kSnappy
                                         : wal::Compression::kNone;
  o.log = [](std::string_view) {};
  {
    auto w = OpenSegmentedWal(o);
    ASSERT_TRUE(w.ok());
    for (const std::string& rec : records) ASSERT_TRUE((*w)->Log({rec}).ok());
    // Like Prometheus after kill -9: no Close, so no padding of the last
    // page. Destroying the WAL would pad it; read before that.
    auto ours = fs->ReadFile(dir + "/00000000");
    auto theirs = fs->ReadFile((*segs)[0].path);
    ASSERT_TRUE(ours.ok() && theirs.ok());
    ASSERT_EQ(ours->size(), theirs->size());
    size_t first_diff = 0;
    while (first_diff < ours->size() &&
           (*ours)[first_diff] == (*theirs)[first_diff]) {
      ++first_diff;
    }
    EXPECT_EQ(first_diff, ours->size()) << "first differing byte";
  }
  ASSERT_TRUE(fs->RemoveAll(dir).ok());
}

INSTANTIATE_TEST_SUITE_P(Compression, GoldenWalTest,
                         ::testing::Values("snappy", "none"));

class PromtoolReadsOurWalTest
    : public ::testing::TestWithParam<wal::Compression> {};

TEST_P(PromtoolReadsOurWalTest, DumpEqualsWrittenSamples) {
  if (!RequirePromtool()) GTEST_SKIP() << kPromtool << " not installed";
  char tmpl[] = "/tmp/walcompatXXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  Dump want;
  // 2h-aligned start, 15 s steps, at most 100 samples per series: Prometheus
  // cuts no head chunk (it would at 120 here), so promtool's read-only
  // replay keeps every sample in the head. (When a chunk IS cut during
  // promtool's replay, the m-mapped chunk's samples are missing from its
  // dump: a promtool/read-only quirk, not a WAL matter.)
  const int64_t t0 = 1699999200000;
  const double values[] = {0.1, 42, -5.5, 1e-300, 12345678.9, 0, 1.0 / 3};
  std::mt19937 rng(1);
  {
    wal::WalOptions o;
    o.dir = dir + "/wal";
    o.compression = GetParam();
    o.segment_size = 64 * 1024;  // several segments, multi-page records
    o.log = [](std::string_view) {};
    for (int open = 0; open < 2; ++open) {
      auto w = OpenSegmentedWal(o);
      ASSERT_TRUE(w.ok()) << w.status();
      std::vector<record::RefSeries> series;
      for (int s = 0; s < 50; ++s) {
        // The second open re-logs series 0..9 under new refs 1000+s, as a
        // restarted Prometheus would: their samples join the same series.
        if (open == 1 && s >= 10) break;
        const uint64_t ref = open == 0 ? s + 1 : 1000 + s;
        // Incompressible label values make the series record span pages.
        std::string pad(600, 'x');
        std::mt19937 prng(s);
        for (char& c : pad) c = static_cast<char>('a' + prng() % 26);
        series.push_back({ref, labels::Labels::FromPairs(
                                   {{"__name__", "m" + std::to_string(s % 7)},
                                    {"instance", "host-" + std::to_string(s)},
                                    {"job", "compat"},
                                    {"pad", pad}})});
      }
      // Prometheus 2.42 drops what it replayed so far for a series whose
      // labels come back under a new ref.
      if (open == 1) {
        for (const auto& s : series) want.erase(s.labels.ToString());
      }
      std::string rec;
      record::EncodeSeries(series, &rec);
      ASSERT_GT(rec.size(), 5000u);
      ASSERT_TRUE((*w)->Log({rec}).ok());
      const int first_batch = open == 0 ? 0 : 12;
      const int last_batch = open == 0 ? 12 : 20;
      for (int batch = first_batch; batch < last_batch; ++batch) {
        std::vector<record::RefSample> samples;
        for (const auto& s : series) {
          for (int k = 0; k < 5; ++k) {
            const int64_t t = t0 + (batch * 5 + k) * int64_t{15000};
            const double v = values[(s.ref + k + batch) % 7] * (batch + 1) +
                             (rng() % 1000) * 1e-3;
            samples.push_back({s.ref, t, v});
            want[s.labels.ToString()].emplace_back(t, v);
          }
        }
        std::string srec;
        record::EncodeSamples(samples, &srec);
        ASSERT_TRUE((*w)->Log({srec}).ok());
      }
      ASSERT_TRUE((*w)->Close().ok());
    }
  }
  for (auto& [k, v] : want) {
    std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
      return a.first < b.first;
    });
  }
  ExpectSameDump(::tsdb::testing::ParsePromtoolDump(RunPromtoolDump(dir)),
                 want);
  if (std::getenv("WAL_COMPAT_KEEP")) {
    std::printf("kept %s\n", dir.c_str());
    return;
  }
  (void)io::PosixFileSystem()->RemoveAll(dir);
}

INSTANTIATE_TEST_SUITE_P(Compression, PromtoolReadsOurWalTest,
                         ::testing::Values(wal::Compression::kNone,
                                           wal::Compression::kSnappy));

}  // namespace
}  // namespace tsdb::plugins
