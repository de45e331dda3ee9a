#include "tsdb/wal/replay.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "plugins/wal/segmented/segmented_wal.h"
#include "testing/mem_file_system.h"
#include "tsdb/wal/reader.h"
#include "tsdb/wal/wal_test_util.h"

namespace tsdb::wal {
namespace {

class ReplayTest : public ::testing::TestWithParam<int> {
 protected:
  WalOptions Options() {
    WalOptions o;
    o.fs = &fs_;
    o.dir = "/wal";
    o.log = [](std::string_view) {};
    return o;
  }
  ReplayOptions Replay(std::vector<std::string>* lines) {
    ReplayOptions r;
    r.fs = &fs_;
    r.dir = "/wal";
    r.workers = GetParam();
    r.log = [lines](std::string_view l) { lines->emplace_back(l); };
    return r;
  }
  // Two "runs" of a WAL: series a, b with samples, metadata, tombstones
  // and an unknown record; then a re-created as ref 5, a new series c,
  // samples (one of an unknown ref) and a tombstone of ref 5.
  void WriteWalWithDuplicates() {
    {
      auto w = plugins::OpenSegmentedWal(Options());
      ASSERT_TRUE(w.ok());
      std::string stones;
      record::EncodeTombstones({{2, 0, 10}}, &stones);
      std::string meta;
      record::EncodeMetadata({{1, 1, "", "help"}}, &meta);
      ASSERT_TRUE((*w)->Log({SeriesRec(1, "a"), SeriesRec(2, "b")}).ok());
      ASSERT_TRUE((*w)->Log({SamplesRec({{1, 10, 1}, {2, 10, 2}, {1, 20, 3}}),
                             meta, stones, std::string("\x63junk")})
                      .ok());
    }
    {
      // After a "restart" series a is re-created as ref 5.
      auto w = plugins::OpenSegmentedWal(Options());
      ASSERT_TRUE(w.ok());
      ASSERT_TRUE((*w)->Log({SeriesRec(5, "a"), SeriesRec(6, "c")}).ok());
      ASSERT_TRUE(
          (*w)->Log({SamplesRec({{5, 30, 4}, {6, 30, 5}, {99, 30, 6}})}).ok());
      std::string stones;
      record::EncodeTombstones({{5, 0, 1}}, &stones);
      ASSERT_TRUE((*w)->Log({stones}).ok());
    }
  }
  testing::MemFileSystem fs_;
};

TEST_P(ReplayTest, SeriesSamplesTombstonesAcrossSegmentsWithDuplicates) {
  WriteWalWithDuplicates();
  CollectingVisitor v;
  v.workers = GetParam();
  std::vector<std::string> lines;
  auto stats = ReplayWalDir(Replay(&lines), &v);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(v.series.size(), 3u);
  EXPECT_EQ(v.series[1], "{__name__=\"a\", job=\"t\"}");
  EXPECT_FALSE(v.series.count(5));
  // Samples of series a replayed before its duplicate record are dropped
  // (Prometheus 2.42); later ones, logged under ref 5, arrive as ref 1.
  EXPECT_EQ(v.resets, 1);
  EXPECT_EQ(v.duplicate_records,
            (std::vector<std::pair<uint64_t, uint64_t>>{{1, 5}}));
  EXPECT_EQ(v.samples[1], (std::vector<std::pair<int64_t, double>>{{30, 4}}));
  EXPECT_EQ(v.samples[2].size(), 1u);
  EXPECT_EQ(v.samples[6].size(), 1u);
  EXPECT_FALSE(v.wrong_shard);
  EXPECT_FALSE(v.sample_before_series);
  ASSERT_EQ(v.stones.size(), 2u);
  EXPECT_EQ(v.stones[1].ref, 1u);  // mapped like samples
  EXPECT_EQ(stats->series, 3);
  EXPECT_EQ(stats->duplicate_series, 1);
  EXPECT_EQ(stats->samples, 5);  // counts applied, including dropped later
  EXPECT_EQ(stats->unknown_ref_samples, 1);
  EXPECT_EQ(stats->max_series_ref, 6);
  EXPECT_EQ(stats->skipped_records["metadata"], 1);
  EXPECT_EQ(stats->skipped_records["unknown"], 1);
  EXPECT_EQ(stats->first_segment, 0);
  EXPECT_EQ(stats->last_segment, 1);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "WAL segment loaded segment=0 maxSegment=1");
}

// A visitor that creates series on the workers sees the same series,
// samples, resets and tombstones, each series on its shard before its
// samples, and every series before a tombstone naming it.
TEST_P(ReplayTest, SeriesOnShardsSeesTheSameAsOnSeries) {
  WriteWalWithDuplicates();
  CollectingVisitor serial, sharded;
  serial.workers = sharded.workers = GetParam();
  sharded.on_shards = true;
  std::vector<std::string> lines;
  auto a = ReplayWalDir(Replay(&lines), &serial);
  auto b = ReplayWalDir(Replay(&lines), &sharded);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(sharded.series, serial.series);
  EXPECT_EQ(sharded.samples, serial.samples);
  EXPECT_EQ(sharded.resets, serial.resets);
  EXPECT_EQ(sharded.duplicate_records, serial.duplicate_records);
  ASSERT_EQ(sharded.stones.size(), serial.stones.size());
  for (size_t i = 0; i < serial.stones.size(); ++i) {
    EXPECT_EQ(sharded.stones[i].ref, serial.stones[i].ref);
  }
  EXPECT_EQ(b->series, a->series);
  EXPECT_EQ(b->samples, a->samples);
  EXPECT_FALSE(sharded.wrong_shard);
  EXPECT_FALSE(sharded.sample_before_series);
  EXPECT_FALSE(sharded.stone_before_series);
  EXPECT_FALSE(sharded.called_off_shard);
}

// Many series records, each followed by samples and a tombstone of its
// series: the driver waits for the workers before each tombstone.
TEST_P(ReplayTest, SeriesOnShardsAreCreatedBeforeLaterTombstones) {
  {
    auto w = plugins::OpenSegmentedWal(Options());
    ASSERT_TRUE(w.ok());
    for (uint64_t r = 1; r <= 200; ++r) {
      std::string stones;
      record::EncodeTombstones({{r, 0, 5}}, &stones);
      ASSERT_TRUE((*w)->Log({SeriesRec(r, "m" + std::to_string(r)),
                             SamplesRec({{r, 10, 1.0}}), stones})
                      .ok());
    }
  }
  CollectingVisitor v;
  v.workers = GetParam();
  v.on_shards = true;
  std::vector<std::string> lines;
  auto stats = ReplayWalDir(Replay(&lines), &v);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(v.series.size(), 200u);
  EXPECT_EQ(v.stones.size(), 200u);
  EXPECT_EQ(stats->samples, 200);
  EXPECT_FALSE(v.stone_before_series);
  EXPECT_FALSE(v.sample_before_series);
  EXPECT_FALSE(v.wrong_shard);
}

// One series record that names a label set twice: the reset of the first
// ref reaches the visitor only after that series was created.
TEST_P(ReplayTest, DuplicateInsideOneRecordResetsAfterCreation) {
  {
    auto w = plugins::OpenSegmentedWal(Options());
    ASSERT_TRUE(w.ok());
    std::string series;
    const labels::Labels a =
        labels::Labels::FromPairs({{"__name__", "a"}, {"job", "t"}});
    record::EncodeSeries({{1, a}, {2, a}}, &series);
    ASSERT_TRUE((*w)->Log({series, SamplesRec({{1, 10, 1}, {2, 20, 2}})}).ok());
  }
  for (bool on_shards : {false, true}) {
    CollectingVisitor v;
    v.workers = GetParam();
    v.on_shards = on_shards;
    std::vector<std::string> lines;
    auto stats = ReplayWalDir(Replay(&lines), &v);
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(v.series.size(), 1u) << on_shards;
    EXPECT_EQ(v.resets, 1) << on_shards;
    EXPECT_FALSE(v.reset_before_series) << on_shards;
    EXPECT_EQ(v.samples[1],
              (std::vector<std::pair<int64_t, double>>{{10, 1}, {20, 2}}))
        << on_shards;
    EXPECT_EQ(stats->duplicate_series, 1);
  }
}

TEST_P(ReplayTest, CorruptionStopsWithSegmentAndOffsetAfterApplyingPrefix) {
  {
    auto w = plugins::OpenSegmentedWal(Options());
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Log({SeriesRec(1, "a")}).ok());
    ASSERT_TRUE((*w)->Log({SamplesRec({{1, 10, 1}})}).ok());
    ASSERT_TRUE((*w)->Log({SamplesRec({{1, 20, 2}})}).ok());
  }
  const uint64_t size = *fs_.FileSize("/wal/00000000");
  (void)size;
  // Damage the last record's data (it starts after two earlier records).
  auto segs = SegmentsInDir(&fs_, "/wal", 0, -1);
  Reader r(&fs_, *segs);
  uint64_t last_start = 0;
  while (r.Next()) last_start = r.offset();
  ASSERT_TRUE(fs_.CorruptByte("/wal/00000000", last_start + 9, 0x40).ok());
  CollectingVisitor v;
  v.workers = GetParam();
  std::vector<std::string> lines;
  auto stats = ReplayWalDir(Replay(&lines), &v);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(stats.status().message().find("00000000 at offset " +
                                          std::to_string(last_start)),
            std::string::npos)
      << stats.status();
  EXPECT_EQ(v.samples[1].size(), 1u);
}

TEST_P(ReplayTest, CorruptionInStatsKeepsStatsAndCutPoint) {
  {
    auto w = plugins::OpenSegmentedWal(Options());
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Log({SeriesRec(7, "a")}).ok());
    ASSERT_TRUE((*w)->Log({SamplesRec({{7, 10, 1}})}).ok());
    ASSERT_TRUE((*w)->Log({SamplesRec({{7, 20, 2}})}).ok());
  }
  auto segs = SegmentsInDir(&fs_, "/wal", 0, -1);
  Reader r(&fs_, *segs);
  uint64_t last_start = 0;
  while (r.Next()) last_start = r.offset();
  ASSERT_TRUE(fs_.CorruptByte("/wal/00000000", last_start + 9, 0x40).ok());
  CollectingVisitor v;
  v.workers = GetParam();
  std::vector<std::string> lines;
  ReplayOptions opts = Replay(&lines);
  opts.corruption_in_stats = true;
  auto stats = ReplayWalDir(opts, &v);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->corruption.code(), absl::StatusCode::kDataLoss);
  ASSERT_TRUE(stats->corrupt_at.has_value());
  EXPECT_EQ(stats->corrupt_at->segment, 0);
  EXPECT_EQ(stats->corrupt_at->good_end, last_start);
  EXPECT_FALSE(stats->corruption_in_checkpoint);
  EXPECT_EQ(stats->max_series_ref, 7);
  EXPECT_EQ(stats->samples, 1);
  EXPECT_EQ(v.samples[7].size(), 1u);
}

TEST_P(ReplayTest, UndecodablePayloadIsCorruptionCutBeforeIt) {
  uint64_t second_end = 0;
  {
    auto w = plugins::OpenSegmentedWal(Options());
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Log({SeriesRec(3, "a")}).ok());
    ASSERT_TRUE((*w)->Log({SamplesRec({{3, 10, 1}})}).ok());
    // A well-framed samples record whose payload is cut short.
    ASSERT_TRUE((*w)->Log({std::string("\x02\x00\x01", 3)}).ok());
    ASSERT_TRUE((*w)->Log({SamplesRec({{3, 20, 2}})}).ok());
  }
  {
    auto segs = SegmentsInDir(&fs_, "/wal", 0, 0);
    Reader r(&fs_, *segs);
    ASSERT_TRUE(r.Next() && r.Next());
    second_end = r.record_end();
  }
  CollectingVisitor v;
  v.workers = GetParam();
  std::vector<std::string> lines;
  ReplayOptions opts = Replay(&lines);
  opts.corruption_in_stats = true;
  auto stats = ReplayWalDir(opts, &v);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->corruption.code(), absl::StatusCode::kDataLoss);
  ASSERT_TRUE(stats->corrupt_at.has_value());
  EXPECT_EQ(stats->corrupt_at->segment, 0);
  EXPECT_EQ(stats->corrupt_at->good_end, second_end);
  EXPECT_EQ(stats->corrupt_at->path, "/wal/00000000");
  EXPECT_EQ(v.samples[3].size(), 1u);
  // Without the option it is an error.
  CollectingVisitor v2;
  v2.workers = GetParam();
  EXPECT_EQ(ReplayWalDir(Replay(&lines), &v2).status().code(),
            absl::StatusCode::kDataLoss);
}

class FailingVisitor final : public ReplayVisitor {
 public:
  absl::Status OnSeries(const std::vector<record::RefSeries>&) override {
    return absl::OkStatus();
  }
  absl::Status OnSamples(int, absl::Span<const record::RefSample>) override {
    return absl::ResourceExhaustedError("head full");
  }
  absl::Status OnTombstones(const std::vector<record::Stone>&) override {
    return absl::OkStatus();
  }
  absl::Status OnDuplicateSeries(int, uint64_t) override {
    return absl::OkStatus();
  }
};

TEST_P(ReplayTest, VisitorErrorStopsReplay) {
  {
    auto w = plugins::OpenSegmentedWal(Options());
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Log({SeriesRec(1, "a")}).ok());
    for (int i = 0; i < 100; ++i) {
      std::vector<record::RefSample> s;
      for (int j = 0; j < 100; ++j) s.push_back({1, i * 100 + j, 1.0});
      ASSERT_TRUE((*w)->Log({SamplesRec(s)}).ok());
    }
  }
  FailingVisitor v;
  std::vector<std::string> lines;
  auto stats = ReplayWalDir(Replay(&lines), &v);
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_P(ReplayTest, EmptyOrMissingDir) {
  CollectingVisitor v;
  std::vector<std::string> lines;
  auto stats = ReplayWalDir(Replay(&lines), &v);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->records, 0);
}

// Refs past the dense map (2^22) and past 32 bits: mapped through the hash
// map and sharded by a plain division; small ones by the fast path. Each
// sample reaches its series on its shard (ref % workers).
TEST_P(ReplayTest, LargeRefsAreMappedAndSharded) {
  const std::vector<uint64_t> refs = {3,
                                      7,
                                      (uint64_t{1} << 22) + 5,
                                      (uint64_t{1} << 32) - 1,
                                      (uint64_t{1} << 32) + 1,
                                      (uint64_t{1} << 33) + 3,
                                      ~uint64_t{0} >> 1};
  {
    auto w = plugins::OpenSegmentedWal(Options());
    ASSERT_TRUE(w.ok());
    for (size_t i = 0; i < refs.size(); ++i) {
      ASSERT_TRUE(
          (*w)->Log({SeriesRec(refs[i], "s" + std::to_string(i))}).ok());
    }
    std::vector<record::RefSample> samples;
    for (int64_t t = 1; t <= 3; ++t) {
      for (size_t i = 0; i < refs.size(); ++i) {
        samples.push_back({refs[i], t, static_cast<double>(i)});
      }
    }
    samples.push_back({11, 1, 0});  // no such series
    ASSERT_TRUE((*w)->Log({SamplesRec(samples)}).ok());
  }
  CollectingVisitor v;
  v.workers = GetParam();
  std::vector<std::string> lines;
  auto stats = ReplayWalDir(Replay(&lines), &v);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_FALSE(v.wrong_shard);
  EXPECT_FALSE(v.sample_before_series);
  for (size_t i = 0; i < refs.size(); ++i) {
    const double value = static_cast<double>(i);
    EXPECT_EQ(v.samples[refs[i]], (std::vector<std::pair<int64_t, double>>{
                                      {1, value}, {2, value}, {3, value}}))
        << refs[i];
  }
  EXPECT_EQ(stats->samples, 3 * static_cast<int64_t>(refs.size()));
  EXPECT_EQ(stats->unknown_ref_samples, 1);
}

INSTANTIATE_TEST_SUITE_P(Workers, ReplayTest, ::testing::Values(1, 2, 3, 4));

}  // namespace
}  // namespace tsdb::wal
