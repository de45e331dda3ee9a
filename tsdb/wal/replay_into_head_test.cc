// Replay into a real head (headwal::ReplayIntoHead) of batches large enough
// for HeadVisitor's sort by ref: refs logged out of order, series with
// out-of-order and duplicate timestamps, refs needing one and several
// counting-sort passes, 1-3 workers. What is appended and skipped must be
// what appending every sample in log order gives (the sort must keep each
// series' order), and the head's series must hold exactly those samples.
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "plugins/chunkenc/xor/xor.h"
#include "plugins/wal/segmented/segmented_wal.h"
#include "testing/mem_file_system.h"
#include "tsdb/head/head.h"
#include "tsdb/headwal/headwal.h"
#include "tsdb/record/record.h"

namespace tsdb::wal {
namespace {

const chunkenc::CodecRegistry& Codecs() {
  static const chunkenc::CodecRegistry* r = [] {
    auto* reg = new chunkenc::CodecRegistry();
    if (!chunkenc::RegisterXorCodec(*reg).ok()) std::abort();
    return reg;
  }();
  return *r;
}

struct Param {
  uint64_t ref_step;  // 1: refs < 2^17 (one pass); 977: several passes
  int workers;
};

class ReplayIntoHeadTest : public ::testing::TestWithParam<Param> {};

TEST_P(ReplayIntoHeadTest, SortedBatchesKeepEachSeriesOrder) {
  const Param p = GetParam();
  testing::MemFileSystem fs;
  WalOptions o;
  o.fs = &fs;
  o.dir = "/wal";
  o.log = [](std::string_view) {};
  constexpr int kSeries = 600;
  constexpr int kRounds = 40;
  std::vector<uint64_t> refs;
  for (int i = 0; i < kSeries; ++i) refs.push_back(1 + i * p.ref_step);
  // Per series, in log order: the samples, and what an in-order append
  // keeps (t > the last kept t).
  std::map<uint64_t, std::vector<std::pair<int64_t, double>>> kept;
  std::map<uint64_t, int64_t> last_t;
  int64_t want_appended = 0, want_skipped = 0;
  {
    auto w = plugins::OpenSegmentedWal(o);
    ASSERT_TRUE(w.ok()) << w.status();
    std::vector<record::RefSeries> series;
    for (uint64_t r : refs) {
      series.push_back({r, labels::Labels::FromPairs(
                               {{"__name__", "m"}, {"id", absl::StrCat(r)}})});
    }
    std::string rec;
    record::EncodeSeries(series, &rec);
    ASSERT_TRUE((*w)->Log({rec}).ok());
    for (int round = 0; round < kRounds; ++round) {
      std::vector<record::RefSample> samples;
      // Refs in descending order (the batch is not sorted); every third
      // round goes back in time for some series (out of order), every
      // fifth repeats a timestamp (a duplicate).
      for (int i = kSeries - 1; i >= 0; --i) {
        int64_t t = 1000 + round * 10;
        if (round % 3 == 2 && i % 2 == 0) t -= 25;
        if (round % 5 == 4 && i % 3 == 0) t -= 10;
        const double v = round * 1000.0 + i;
        samples.push_back({refs[i], t, v});
        auto it = last_t.find(refs[i]);
        if (it == last_t.end() || t > it->second) {
          last_t[refs[i]] = t;
          kept[refs[i]].push_back({t, v});
          ++want_appended;
        } else {
          ++want_skipped;
        }
      }
      rec.clear();
      record::EncodeSamples(samples, &rec);
      ASSERT_TRUE((*w)->Log({rec}).ok());
    }
    ASSERT_TRUE((*w)->Close().ok());
  }
  ASSERT_GT(want_skipped, 0);

  head::HeadOptions opts;
  opts.codecs = &Codecs();
  auto h = head::Head::Open(opts);
  ASSERT_TRUE(h.ok()) << h.status();
  auto r = headwal::ReplayIntoHead(h->get(), &fs, "/wal", p.workers,
                                   [](std::string_view) {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->series, kSeries);
  EXPECT_EQ(r->samples, want_appended);
  EXPECT_EQ(r->skipped_samples, want_skipped);
  // Each series holds exactly the samples kept, in order (all in its open
  // chunk: 40 samples within seconds).
  std::map<uint64_t, std::vector<std::pair<int64_t, double>>> got;
  (*h)->ForEachSeriesForSnapshot([&](const head::SnapshotSeries& s) {
    if (!s.has_open_chunk) return;
    auto codec = Codecs().Get(s.open.encoding);
    ASSERT_TRUE(codec.ok());
    auto it = (*codec)->NewIterator(s.open.bytes);
    while (it->Next()) got[s.ref].push_back({it->At().t, it->At().v});
    EXPECT_TRUE(it->status().ok());
  });
  EXPECT_EQ(got, kept);
}

INSTANTIATE_TEST_SUITE_P(Refs, ReplayIntoHeadTest,
                         ::testing::Values(Param{1, 1}, Param{1, 2},
                                           Param{977, 1}, Param{977, 3}));

}  // namespace
}  // namespace tsdb::wal
