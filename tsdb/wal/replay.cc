#include "tsdb/wal/replay.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

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

// Work for one shard: samples, or (reset_ref != 0) a duplicate-series reset
// (reset_wal_ref: the repeated record's own ref).
struct ShardWork {
  std::vector<record::RefSample> samples;
  uint64_t reset_ref = 0;
  uint64_t reset_wal_ref = 0;
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

// WAL ref -> head ref, looked up once per sample. Refs count up from 1, so
// below kDenseLimit they index a flat array (one access into ~8 bytes per
// series, instead of a hash probe); larger ones go to a hash map.
class RefMap {
 public:
  static constexpr uint64_t kDenseLimit = uint64_t{1} << 22;

  void Reserve(size_t n) { sparse_.reserve(n); }
  // Like try_emplace: false (and nothing changed) if `ref` is mapped.
  bool Insert(uint64_t ref, uint64_t to) {
    uint64_t unused;
    if (Find(ref, &unused)) return false;
    Set(ref, to);
    return true;
  }
  void Set(uint64_t ref, uint64_t to) {
    if (ref != 0 && to != 0 && ref < kDenseLimit) {
      if (ref >= dense_.size()) {
        dense_.resize(std::max<size_t>(ref + 1, dense_.size() * 2), 0);
      }
      dense_[ref] = to;
    } else {
      sparse_[ref] = to;
    }
  }
  // False if `ref` is unknown. (A dense slot of 0 is empty: mappings of or
  // to 0 live in the hash map.)
  bool Find(uint64_t ref, uint64_t* to) const {
    if (ref < dense_.size() && dense_[ref] != 0) {
      *to = dense_[ref];
      return true;
    }
    if (sparse_.empty()) return false;
    auto it = sparse_.find(ref);
    if (it == sparse_.end()) return false;
    *to = it->second;
    return true;
  }

 private:
  std::vector<uint64_t> dense_;
  absl::flat_hash_map<uint64_t, uint64_t> sparse_;
};

}  // namespace

absl::StatusOr<ReplayStats> ReplayWalDir(const ReplayOptions& options,
                                         ReplayVisitor* visitor) {
  io::FileSystem* fs =
      options.fs != nullptr ? options.fs : io::PosixFileSystem();
  const LogFn log = options.log ? options.log : LogFn(LogToStderr);
  const int workers = std::max(1, options.workers);
  ReplayStats stats;

  TSDB_ASSIGN_OR_RETURN(stats.checkpoint, LastCheckpoint(fs, options.dir));
  // After a chunk snapshot: a checkpoint older than its segment is covered.
  const bool resume =
      options.start_segment >= 0 && stats.checkpoint < options.start_segment;
  if (resume) stats.checkpoint = -1;
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
      SegmentsInDir(fs, options.dir,
                    resume ? options.start_segment : stats.checkpoint + 1, -1));
  if (resume && !segs.empty() && segs.front().index == options.start_segment) {
    segs.front().start_offset = options.start_offset;
  }
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
  std::optional<Corruption> corrupt_at;
  BoundedQueue<Decoded> decoded(256);
  std::vector<std::unique_ptr<BoundedQueue<ShardWork>>> shard_queues;
  for (int i = 0; i < workers; ++i) {
    shard_queues.push_back(std::make_unique<BoundedQueue<ShardWork>>(64));
  }
  std::atomic<int64_t> skipped_counts[256] = {};

  // Decoder: read, check and decode records in log order.
  std::thread decoder([&] {
    Reader reader(fs, inputs);
    // End of the last record read in the current segment: where repair cuts
    // when the next record's payload does not decode.
    size_t prev_position = SIZE_MAX;
    uint64_t prev_end = 0;
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
      const size_t position = reader.segment_position();
      if (position != prev_position) prev_end = inputs[position].start_offset;
      if (!s.ok()) {
        read_status = absl::DataLossError(
            absl::StrCat("segment ", reader.segment(), " offset ",
                         reader.offset(), ": ", s.message()));
        Corruption c;
        c.segment = reader.segment();
        c.path = inputs[position].path;
        c.offset = reader.offset();
        c.good_end = prev_end;
        c.reason = std::string(s.message());
        corrupt_at = std::move(c);
        break;
      }
      prev_position = position;
      prev_end = reader.record_end();
      if (!decoded.Push(std::move(d))) break;
    }
    if (read_status.ok() && !reader.status().ok()) {
      read_status = reader.status();
      corrupt_at = reader.corruption();
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
          s = visitor->OnDuplicateSeriesRecord(i, work->reset_ref,
                                               work->reset_wal_ref);
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
  RefMap ref_map;  // wal ref -> head ref
  absl::flat_hash_map<std::string, uint64_t> by_labels;
  for (uint64_t ref : options.existing_refs) ref_map.Insert(ref, ref);
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
          std::string key = LabelsKey(rs.labels);
          if (options.existing_ref_of && !by_labels.contains(key)) {
            // A series restored before the replay owns these labels.
            if (const uint64_t e = options.existing_ref_of(rs.labels)) {
              by_labels.emplace(key, e);
            }
          }
          auto [it, inserted] = by_labels.try_emplace(std::move(key), rs.ref);
          if (!inserted && it->second != rs.ref) {
            ref_map.Set(rs.ref, it->second);
            ++stats.duplicate_series;
            // Earlier samples of the series go first, then the reset.
            const int shard = static_cast<int>(it->second % workers);
            flush_shard(shard);
            ShardWork reset;
            reset.reset_ref = it->second;
            reset.reset_wal_ref = rs.ref;
            shard_queues[shard]->Push(std::move(reset));
            continue;
          }
          if (!ref_map.Insert(rs.ref, rs.ref)) continue;
          fresh.push_back(std::move(rs));
        }
        stats.series += fresh.size();
        if (!fresh.empty()) s = visitor->OnSeries(fresh);
        break;
      }
      case record::RecordType::kSamples:
        for (record::RefSample smp : d->samples) {
          if (!ref_map.Find(smp.ref, &smp.ref)) {
            ++stats.unknown_ref_samples;
            continue;
          }
          const int shard = static_cast<int>(smp.ref % workers);
          pending[shard].push_back(smp);
          if (pending[shard].size() >= kShardFlushSamples) flush_shard(shard);
        }
        break;
      case record::RecordType::kTombstones:
        for (record::Stone& st : d->stones) {
          (void)ref_map.Find(st.ref, &st.ref);  // unknown: left as is
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
  if (!read_status.ok()) {
    if (!options.corruption_in_stats || !absl::IsDataLoss(read_status) ||
        !corrupt_at.has_value()) {
      return read_status;
    }
    stats.corruption = read_status;
    stats.corrupt_at = std::move(corrupt_at);
    if (stats.corrupt_at.has_value()) {
      for (size_t i = 0; i < checkpoint_segments; ++i) {
        if (inputs[i].path == stats.corrupt_at->path) {
          stats.corruption_in_checkpoint = true;
        }
      }
    }
  }
  return stats;
}

}  // namespace tsdb::wal
