#include "tsdb/wal/replay.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/wal/framing.h"
#include "tsdb/wal/reader.h"

namespace tsdb::wal {
namespace {

// A closable bounded FIFO between two threads.
template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t cap) : cap_(cap) {}
  // False if the queue was closed (the item is dropped).
  bool Push(T item) {
    std::unique_lock<std::mutex> l(mu_);
    not_full_.wait(l, [&] { return closed_ || q_.size() < cap_; });
    if (closed_) return false;
    q_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }
  // Empty optional once closed and drained.
  std::optional<T> Pop() {
    std::unique_lock<std::mutex> l(mu_);
    not_empty_.wait(l, [&] { return closed_ || !q_.empty(); });
    if (q_.empty()) return std::nullopt;
    T item = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return item;
  }
  void Close() {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
    not_full_.notify_all();
    not_empty_.notify_all();
  }

 private:
  const size_t cap_;
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<T> q_;
  bool closed_ = false;
};

// Work for one shard: samples, or (reset_ref != 0) a duplicate-series reset.
struct ShardWork {
  std::vector<record::RefSample> samples;
  uint64_t reset_ref = 0;
};

struct Decoded {
  record::RecordType type = record::RecordType::kUnknown;
  int segment = -1;
  bool from_checkpoint = false;
  std::vector<record::RefSeries> series;
  std::vector<record::RefSample> samples;
  std::vector<record::Stone> stones;
};

// The first error of any thread; later ones are dropped.
class FirstError {
 public:
  void Set(absl::Status s) {
    std::lock_guard<std::mutex> l(mu_);
    if (status_.ok()) status_ = std::move(s);
    failed_.store(true, std::memory_order_release);
  }
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  absl::Status Get() {
    std::lock_guard<std::mutex> l(mu_);
    return status_;
  }

 private:
  std::mutex mu_;
  absl::Status status_;
  std::atomic<bool> failed_{false};
};

std::string LabelsKey(const labels::Labels& ls) {
  std::string k;
  for (const labels::Label& l : ls) {
    k.append(l.name);
    k.push_back('\xff');
    k.append(l.value);
    k.push_back('\xff');
  }
  return k;
}

constexpr size_t kShardFlushSamples = 4096;

}  // namespace

absl::StatusOr<ReplayStats> ReplayWalDir(const ReplayOptions& options,
                                         ReplayVisitor* visitor) {
  io::FileSystem* fs =
      options.fs != nullptr ? options.fs : io::PosixFileSystem();
  const LogFn log = options.log ? options.log : LogFn(LogToStderr);
  const int workers = std::max(1, options.workers);
  ReplayStats stats;

  TSDB_ASSIGN_OR_RETURN(stats.checkpoint, LastCheckpoint(fs, options.dir));
  std::vector<SegmentFile> inputs;
  size_t checkpoint_segments = 0;
  if (stats.checkpoint >= 0) {
    TSDB_ASSIGN_OR_RETURN(
        inputs,
        SegmentsInDir(
            fs, io::JoinPath(options.dir, CheckpointName(stats.checkpoint)), 0,
            -1));
    checkpoint_segments = inputs.size();
  }
  TSDB_ASSIGN_OR_RETURN(
      std::vector<SegmentFile> segs,
      SegmentsInDir(fs, options.dir, stats.checkpoint + 1, -1));
  if (!segs.empty()) {
    stats.first_segment = segs.front().index;
    stats.last_segment = segs.back().index;
  }
  inputs.insert(inputs.end(), segs.begin(), segs.end());

  FirstError error;
  // Where reading stopped early (corruption); set by the decoder before it
  // closes `decoded`, read after joining it. Unlike `error`, everything
  // decoded before it is still applied.
  absl::Status read_status;
  BoundedQueue<Decoded> decoded(256);
  std::vector<std::unique_ptr<BoundedQueue<ShardWork>>> shard_queues;
  for (int i = 0; i < workers; ++i) {
    shard_queues.push_back(std::make_unique<BoundedQueue<ShardWork>>(64));
  }
  std::atomic<int64_t> skipped_counts[256] = {};

  // Decoder: read, check and decode records in log order.
  std::thread decoder([&] {
    Reader reader(fs, inputs);
    while (!error.failed() && reader.Next()) {
      const std::string_view rec = reader.record();
      Decoded d;
      d.type = record::Type(rec);
      d.segment = reader.segment();
      d.from_checkpoint = reader.segment_position() < checkpoint_segments;
      absl::Status s;
      switch (d.type) {
        case record::RecordType::kSeries:
          s = record::DecodeSeries(rec, &d.series);
          break;
        case record::RecordType::kSamples:
          s = record::DecodeSamples(rec, &d.samples);
          break;
        case record::RecordType::kTombstones:
          s = record::DecodeTombstones(rec, &d.stones);
          break;
        default:
          skipped_counts[static_cast<uint8_t>(d.type)].fetch_add(
              1, std::memory_order_relaxed);
          break;
      }
      if (!s.ok()) {
        read_status = absl::DataLossError(
            absl::StrCat("segment ", reader.segment(), " offset ",
                         reader.offset(), ": ", s.message()));
        break;
      }
      if (!decoded.Push(std::move(d))) break;
    }
    if (read_status.ok() && !reader.status().ok()) {
      read_status = reader.status();
    }
    decoded.Close();
  });

  // Workers: apply samples per shard.
  std::vector<std::thread> threads;
  std::atomic<int64_t> applied_samples{0};
  for (int i = 0; i < workers; ++i) {
    threads.emplace_back([&, i] {
      while (std::optional<ShardWork> work = shard_queues[i]->Pop()) {
        if (error.failed()) continue;  // drain
        absl::Status s;
        if (work->reset_ref != 0) {
          s = visitor->OnDuplicateSeries(i, work->reset_ref);
        } else {
          s = visitor->OnSamples(i, work->samples);
          if (s.ok()) {
            applied_samples.fetch_add(work->samples.size(),
                                      std::memory_order_relaxed);
          }
        }
        if (!s.ok()) error.Set(s);
      }
    });
  }

  // Applier: series and tombstones in order, sample dispatch.
  absl::flat_hash_map<uint64_t, uint64_t> ref_map;  // wal ref -> head ref
  absl::flat_hash_map<std::string, uint64_t> by_labels;
  std::vector<std::vector<record::RefSample>> pending(workers);
  auto flush_shard = [&](int i) {
    if (pending[i].empty()) return;
    ShardWork work;
    work.samples.swap(pending[i]);
    pending[i].reserve(kShardFlushSamples);
    shard_queues[i]->Push(std::move(work));
  };
  int progress_segment = -2;
  bool progress_checkpoint = false;
  auto log_progress = [&] {
    if (!options.log_progress || progress_segment == -2) return;
    if (progress_checkpoint) {
      log(absl::StrCat("WAL checkpoint loaded checkpoint=", stats.checkpoint,
                       " segment=", progress_segment));
    } else {
      log(absl::StrCat("WAL segment loaded segment=", progress_segment,
                       " maxSegment=", stats.last_segment));
    }
  };
  std::vector<record::RefSeries> fresh;
  while (std::optional<Decoded> d = decoded.Pop()) {
    if (error.failed()) continue;  // drain so the decoder can exit
    if (d->segment != progress_segment ||
        d->from_checkpoint != progress_checkpoint) {
      log_progress();
      progress_segment = d->segment;
      progress_checkpoint = d->from_checkpoint;
    }
    ++stats.records;
    absl::Status s;
    switch (d->type) {
      case record::RecordType::kSeries: {
        fresh.clear();
        for (record::RefSeries& rs : d->series) {
          stats.max_series_ref = std::max<int64_t>(
              stats.max_series_ref, static_cast<int64_t>(rs.ref));
          auto [it, inserted] =
              by_labels.try_emplace(LabelsKey(rs.labels), rs.ref);
          if (!inserted && it->second != rs.ref) {
            ref_map[rs.ref] = it->second;
            ++stats.duplicate_series;
            // Earlier samples of the series go first, then the reset.
            const int shard = static_cast<int>(it->second % workers);
            flush_shard(shard);
            ShardWork reset;
            reset.reset_ref = it->second;
            shard_queues[shard]->Push(std::move(reset));
            continue;
          }
          if (!ref_map.try_emplace(rs.ref, rs.ref).second) continue;
          fresh.push_back(std::move(rs));
        }
        stats.series += fresh.size();
        if (!fresh.empty()) s = visitor->OnSeries(fresh);
        break;
      }
      case record::RecordType::kSamples:
        for (record::RefSample smp : d->samples) {
          auto it = ref_map.find(smp.ref);
          if (it == ref_map.end()) {
            ++stats.unknown_ref_samples;
            continue;
          }
          smp.ref = it->second;
          const int shard = static_cast<int>(smp.ref % workers);
          pending[shard].push_back(smp);
          if (pending[shard].size() >= kShardFlushSamples) flush_shard(shard);
        }
        break;
      case record::RecordType::kTombstones:
        for (record::Stone& st : d->stones) {
          if (auto it = ref_map.find(st.ref); it != ref_map.end()) {
            st.ref = it->second;
          }
        }
        stats.tombstones += d->stones.size();
        s = visitor->OnTombstones(d->stones);
        break;
      default:
        break;
    }
    if (!s.ok()) error.Set(s);
  }
  if (!error.failed()) log_progress();
  for (int i = 0; i < workers; ++i) {
    flush_shard(i);
    shard_queues[i]->Close();
  }
  for (std::thread& t : threads) t.join();
  decoder.join();
  stats.samples = applied_samples.load();
  for (int t = 0; t < 256; ++t) {
    if (int64_t n = skipped_counts[t].load(); n > 0) {
      stats.skipped_records[record::RecordTypeName(
          record::Type(std::string(1, static_cast<char>(t))))] += n;
    }
  }
  if (error.failed()) return error.Get();
  if (!read_status.ok()) return read_status;
  return stats;
}

}  // namespace tsdb::wal
