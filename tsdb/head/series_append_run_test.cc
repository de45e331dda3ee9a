// MemSeries::AppendRun (the WAL replay's batch append) against the
// per-sample path (Appendable + Append): identical chunk bytes, chunk cuts,
// counts and isolation log for runs with duplicates, out-of-order samples,
// chunk-range boundaries, the 120-sample target and rate changes.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tsdb/head/series.h"
#include "tsdb/head/test_util.h"

namespace tsdb::head {
namespace {

constexpr int64_t kHour = 3600 * 1000;

class Recorder : public ChunkCutListener {
 public:
  void OnChunkCut(const CutChunkInfo& c) override {
    cuts.push_back(c);
    bytes.emplace_back(c.bytes);
  }
  std::vector<CutChunkInfo> cuts;
  std::vector<std::string> bytes;
};

struct Side {
  explicit Side(int samples_per_chunk)
      : series(1, 0, std::make_unique<uint32_t[]>(2), 1) {
    env.codec = *testing::XorRegistry().Get(1);
    env.chunk_range = 2 * kHour;
    env.samples_per_chunk = samples_per_chunk;
    env.listener = &recorder;
  }
  ChunkEnv env;
  Recorder recorder;
  MemSeries series;
  uint64_t depends_on = 0;
  uint64_t new_chunks = 0;
};

// Feeds `batches` (each one commit) to one series per sample and to another
// with AppendRun, and compares everything observable.
void Compare(const std::vector<std::vector<SampleRecord>>& batches,
             int samples_per_chunk) {
  Side a(samples_per_chunk), b(samples_per_chunk);
  uint64_t seq = 0;
  size_t appended = 0, skipped = 0;
  int64_t mint = INT64_MAX, maxt = INT64_MIN;
  MemSeries::AppendRunStats stats;
  for (const std::vector<SampleRecord>& batch : batches) {
    ++seq;
    // Keep two commits in the log (low watermark seq - 2).
    const uint64_t low = seq > 2 ? seq - 2 : 0;
    {
      std::lock_guard lock(a.series.mu);
      for (const SampleRecord& r : batch) {
        if (a.series.Appendable(r.t, r.v) != Appendability::kOk) {
          ++skipped;
          continue;
        }
        ASSERT_TRUE(
            a.series
                .Append(r.t, r.v, seq, low, a.env, &a.depends_on, &a.new_chunks)
                .ok());
        ++appended;
        mint = std::min(mint, r.t);
        maxt = std::max(maxt, r.t);
      }
    }
    std::lock_guard lock(b.series.mu);
    ASSERT_TRUE(b.series
                    .AppendRun(batch.data(), batch.size(), seq, low, b.env,
                               &b.depends_on, &b.new_chunks, &stats)
                    .ok());
    for (uint64_t w = 0; w <= seq + 1; ++w) {
      ASSERT_EQ(a.series.VisibleEnd(w), b.series.VisibleEnd(w)) << w;
    }
  }
  EXPECT_EQ(stats.appended, appended);
  EXPECT_EQ(stats.skipped, skipped);
  if (appended > 0) {
    EXPECT_EQ(stats.min_time, mint);
    EXPECT_EQ(stats.max_time, maxt);
  }
  EXPECT_EQ(a.new_chunks, b.new_chunks);
  EXPECT_EQ(a.depends_on, b.depends_on);
  ASSERT_EQ(a.recorder.cuts.size(), b.recorder.cuts.size());
  for (size_t i = 0; i < a.recorder.cuts.size(); ++i) {
    EXPECT_EQ(a.recorder.cuts[i].chunk_id, b.recorder.cuts[i].chunk_id);
    EXPECT_EQ(a.recorder.cuts[i].min_time, b.recorder.cuts[i].min_time);
    EXPECT_EQ(a.recorder.cuts[i].max_time, b.recorder.cuts[i].max_time);
    EXPECT_EQ(a.recorder.cuts[i].num_samples, b.recorder.cuts[i].num_samples);
    EXPECT_EQ(a.recorder.bytes[i], b.recorder.bytes[i]) << "cut " << i;
  }
  std::lock_guard la(a.series.mu);
  std::lock_guard lb(b.series.mu);
  ASSERT_EQ(a.series.NumChunks(), b.series.NumChunks());
  for (size_t i = 0; i < a.series.NumChunks(); ++i) {
    const ChunkView x = a.series.Chunk(i), y = b.series.Chunk(i);
    EXPECT_EQ(x.id, y.id);
    EXPECT_EQ(x.min_time, y.min_time);
    EXPECT_EQ(x.max_time, y.max_time);
    EXPECT_EQ(x.num_samples, y.num_samples);
    EXPECT_EQ(x.first_index, y.first_index);
    EXPECT_EQ(x.bytes, y.bytes) << "chunk " << i;
  }
  EXPECT_EQ(a.series.appended(), b.series.appended());
  EXPECT_EQ(a.series.max_time(), b.series.max_time());
  EXPECT_EQ(a.series.last_value(), b.series.last_value());
  // The next sample is judged the same way.
  EXPECT_EQ(a.series.Appendable(a.series.max_time(), a.series.last_value()),
            b.series.Appendable(a.series.max_time(), a.series.last_value()));
}

TEST(AppendRunTest, RegularScrapesCrossChunkRanges) {
  // 15 s scrapes over 5 hours: 120-sample cuts and 2h range boundaries.
  std::vector<std::vector<SampleRecord>> batches(1);
  for (int64_t t = 0; t < 5 * kHour; t += 15000) {
    batches[0].push_back(SampleRecord{1, t, static_cast<double>(t % 7)});
  }
  Compare(batches, 120);
  ASSERT_GT(batches[0].size(), 1000u);
}

TEST(AppendRunTest, RateIncreaseCutsAtTwiceTheTarget) {
  std::vector<std::vector<SampleRecord>> batches(1);
  int64_t t = 0;
  for (int i = 0; i < 40; ++i, t += 60000) batches[0].push_back({1, t, 1.0});
  for (int i = 0; i < 2000; ++i, t += 10) batches[0].push_back({1, t, 2.0});
  Compare(batches, 120);
}

TEST(AppendRunTest, DuplicatesAndOutOfOrderSkipped) {
  std::vector<std::vector<SampleRecord>> batches = {
      {{1, 100, 1.0},
       {1, 100, 1.0},  // duplicate, same value: ignored
       {1, 100, 2.0},  // duplicate, other value
       {1, 50, 1.0},   // out of order
       {1, 200, 3.0},
       {1, 300, 4.0},
       {1, 250, 4.0},
       {1, 300, 4.0},
       {1, 400, 5.0}},
      {{1, 400, 5.0}, {1, 399, 1.0}, {1, 500, 6.0}},
      {},
      {{1, 10, 1.0}},
  };
  Compare(batches, 120);
}

TEST(AppendRunTest, RandomRunsMatchPerSampleAppend) {
  std::mt19937_64 rng(42);
  for (int spc : {1, 3, 4, 8, 120}) {
    for (int round = 0; round < 20; ++round) {
      std::vector<std::vector<SampleRecord>> batches;
      int64_t t = static_cast<int64_t>(rng() % (4 * kHour)) - 2 * kHour;
      for (int b = 0; b < 30; ++b) {
        std::vector<SampleRecord> batch;
        const int n = static_cast<int>(rng() % 200);
        for (int i = 0; i < n; ++i) {
          const uint64_t r = rng() % 100;
          if (r < 5) {
            t -= static_cast<int64_t>(rng() % 100000);  // out of order
          } else if (r < 10) {
            // duplicate timestamp
          } else if (r < 12) {
            t += kHour;  // gap
          } else {
            t += static_cast<int64_t>(1 + rng() % 30000);
          }
          const double v = static_cast<double>(rng() % 4) * 0.5;
          batch.push_back(SampleRecord{1, t, v});
        }
        batches.push_back(std::move(batch));
      }
      SCOPED_TRACE(::testing::Message() << "spc " << spc << " round " << round);
      Compare(batches, spc);
      if (HasFatalFailure() || HasNonfatalFailure()) return;
    }
  }
}

}  // namespace
}  // namespace tsdb::head
