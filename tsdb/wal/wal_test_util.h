// Test helpers for tsdb/wal: a recording ReplayVisitor and record builders.
// Thread safety: CollectingVisitor may be called as ReplayVisitor allows.
#ifndef TSDB_WAL_WAL_TEST_UTIL_H_
#define TSDB_WAL_WAL_TEST_UTIL_H_

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "tsdb/record/record.h"
#include "tsdb/wal/replay.h"

namespace tsdb::wal {

class CollectingVisitor final : public ReplayVisitor {
 public:
  absl::Status OnSeries(const std::vector<record::RefSeries>& s) override {
    std::lock_guard<std::mutex> l(mu_);
    if (on_shards) called_off_shard = true;
    for (const auto& x : s) series[x.ref] = x.labels.ToString();
    return absl::OkStatus();
  }
  bool SeriesOnShards() const override { return on_shards; }
  absl::Status OnShardSeries(int shard,
                             const std::vector<record::RefSeries>& s) override {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& x : s) {
      if (x.ref % workers != static_cast<uint64_t>(shard)) wrong_shard = true;
      series[x.ref] = x.labels.ToString();
    }
    return absl::OkStatus();
  }
  absl::Status OnSamples(int shard,
                         absl::Span<const record::RefSample> s) override {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& x : s) {
      if (x.ref % workers != static_cast<uint64_t>(shard)) wrong_shard = true;
      if (!series.count(x.ref)) sample_before_series = true;
      samples[x.ref].push_back({x.t, x.v});
    }
    return absl::OkStatus();
  }
  absl::Status OnTombstones(const std::vector<record::Stone>& s) override {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& x : s) {
      if (!series.count(x.ref)) stone_before_series = true;
    }
    stones.insert(stones.end(), s.begin(), s.end());
    return absl::OkStatus();
  }

  absl::Status OnDuplicateSeries(int shard, uint64_t ref) override {
    std::lock_guard<std::mutex> l(mu_);
    if (ref % workers != static_cast<uint64_t>(shard)) wrong_shard = true;
    if (!series.count(ref)) reset_before_series = true;
    samples.erase(ref);
    ++resets;
    return absl::OkStatus();
  }

  absl::Status OnDuplicateSeriesRecord(int shard, uint64_t ref,
                                       uint64_t wal_ref) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      duplicate_records.push_back({ref, wal_ref});
    }
    return OnDuplicateSeries(shard, ref);
  }

  int workers = 1;
  bool on_shards = false;  // SeriesOnShards()
  int resets = 0;
  std::vector<std::pair<uint64_t, uint64_t>> duplicate_records;  // ref, wal
  std::map<uint64_t, std::string> series;
  std::map<uint64_t, std::vector<std::pair<int64_t, double>>> samples;
  std::vector<record::Stone> stones;
  bool wrong_shard = false;
  bool sample_before_series = false;
  bool stone_before_series = false;  // OnTombstones before OnShardSeries
  bool reset_before_series = false;  // a reset of a series not created yet
  bool called_off_shard = false;     // OnSeries although on_shards

 private:
  std::mutex mu_;
};

inline std::string SeriesRec(uint64_t ref, const std::string& name) {
  std::string out;
  record::EncodeSeries(
      {{ref, labels::Labels::FromPairs({{"__name__", name}, {"job", "t"}})}},
      &out);
  return out;
}

inline std::string SamplesRec(const std::vector<record::RefSample>& s) {
  std::string out;
  record::EncodeSamples(s, &out);
  return out;
}

}  // namespace tsdb::wal

#endif  // TSDB_WAL_WAL_TEST_UTIL_H_
