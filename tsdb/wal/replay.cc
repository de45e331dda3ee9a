#include "tsdb/wal/replay.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <latch>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "tsdb/base/bounded_queue.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/wal/framing.h"
#include "tsdb/wal/reader.h"

namespace tsdb::wal {
namespace {

// Samples per OnSamples call. Large, so that a batch spans several scrapes
// of each series and the visitor can group them by series (HeadVisitor
// does: one visit per series per batch instead of one per sample).
constexpr size_t kShardFlushSamples = size_t{1} << 19;

// A shard's batch of samples: room for kShardFlushSamples, uninitialized
// (RefSample is an implicit-lifetime aggregate; dispatch writes each one
// before it is read). Value-initializing a vector zeroed every recycled
// buffer again; untouched pages cost no memory.
struct FreeSamples {
  void operator()(record::RefSample* p) const { ::operator delete(p); }
};
using SampleBuffer = std::unique_ptr<record::RefSample[], FreeSamples>;
SampleBuffer NewSampleBuffer() {
  return SampleBuffer(static_cast<record::RefSample*>(
      ::operator new(kShardFlushSamples * sizeof(record::RefSample))));
}

// One item of a worker's queue: samples (the first `count` of `samples`),
// or (reset_ref != 0) a duplicate-series reset (reset_wal_ref: the repeated
// record's own ref), or new series (SeriesOnShards), or a barrier to count
// down.
struct ShardWork {
  SampleBuffer samples;
  size_t count = 0;
  uint64_t reset_ref = 0;
  uint64_t reset_wal_ref = 0;
  std::vector<record::RefSeries> series;
  std::latch* barrier = nullptr;
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

// A label set's key (names and values, each followed by 0xff) with its
// hash. The decoder threads compute both, so that the applier (serial) only
// probes its map. The key bytes live in a key_store block, not in a string of
// their own: the map holds ~one key per series until the replay ends, and
// 100k small allocations (made on a decoder, freed on the applier) cost
// more than the probes.
struct SeriesKey {
  std::string_view key;
  size_t hash = 0;
  bool operator==(const SeriesKey& o) const { return key == o.key; }
};

// Where a decoder put a key: offset and length in its range's key_bytes.
struct KeySpan {
  uint32_t offset = 0;
  uint32_t size = 0;
  size_t hash = 0;
};

// Appends the key of `ls` to `bytes` (the block being filled).
KeySpan AppendKey(const labels::Labels& ls, std::vector<char>* bytes) {
  KeySpan k;
  k.offset = static_cast<uint32_t>(bytes->size());
  for (const labels::Label& l : ls) {
    bytes->insert(bytes->end(), l.name.begin(), l.name.end());
    bytes->push_back('\xff');
    bytes->insert(bytes->end(), l.value.begin(), l.value.end());
    bytes->push_back('\xff');
  }
  k.size = static_cast<uint32_t>(bytes->size() - k.offset);
  k.hash = absl::Hash<std::string_view>{}(
      std::string_view(bytes->data() + k.offset, k.size));
  return k;
}

struct SeriesKeyHash {
  size_t operator()(const SeriesKey& k) const { return k.hash; }
};

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
    return FindSparse(ref, to);
  }
  // The dense part, for a caller's inner loop: refs below dense_size()
  // with a non-zero entry are mapped there; the others go to Find.
  const uint64_t* dense() const { return dense_.data(); }
  size_t dense_size() const { return dense_.size(); }

 private:
  __attribute__((noinline)) bool FindSparse(uint64_t ref, uint64_t* to) const {
    if (sparse_.empty()) return false;
    auto it = sparse_.find(ref);
    if (it == sparse_.end()) return false;
    *to = it->second;
    return true;
  }

  std::vector<uint64_t> dense_;
  absl::flat_hash_map<uint64_t, uint64_t> sparse_;
};

// ref % d without a division per sample (Lemire's fastmod for 32-bit
// numerators; larger refs divide). The sample dispatch is the applier's
// inner loop, and a 64-bit div was a third of it.
class ShardOf {
 public:
  explicit ShardOf(uint32_t d) : d_(d), m_(~uint64_t{0} / d + 1) {}
  uint32_t operator()(uint64_t ref) const {
    if ((ref >> 32) != 0) return static_cast<uint32_t>(ref % d_);
    const uint64_t low = m_ * static_cast<uint32_t>(ref);
    return static_cast<uint32_t>((static_cast<unsigned __int128>(low) * d_) >>
                                 64);
  }

 private:
  uint64_t d_;
  uint64_t m_;  // 0 for d == 1, and then every ref is shard 0
};

// One range of one input: the records that start in [begin, end) of
// inputs[position] (end == UINT64_MAX: to the end of the file).
struct RangeTask {
  size_t position = 0;
  uint64_t begin = 0;
  uint64_t end = 0;
  bool skip = false;  // not the segment's first range
};

// A decoded record of a range: its payload is [first, first + count) of the
// range's vector for its type.
struct RangeRecord {
  record::RecordType type = record::RecordType::kUnknown;
  uint32_t first = 0;
  uint32_t count = 0;
  uint64_t end = 0;  // byte offset just past its last fragment
};

// What a decoder made of one range. Reused from range to range.
struct RangeOut {
  bool ok = false;      // no problem at all; else the range is read again
  uint64_t start = 0;   // Reader::range_start()
  uint64_t cursor = 0;  // Reader::cursor() at the end
  std::vector<RangeRecord> recs;
  std::vector<record::RefSeries> series;
  std::vector<KeySpan> series_keys;  // of `series`, index for index
  std::vector<char> key_bytes;       // the keys' bytes (the applier takes it)
  std::vector<record::RefSample> samples;
  std::vector<record::Stone> stones;
};

template <typename T>
uint32_t Count(const std::vector<T>& v, uint32_t first) {
  return static_cast<uint32_t>(v.size()) - first;
}

void DecodeRange(io::FileSystem* fs, const SegmentFile& seg,
                 const RangeTask& task, RangeOut* out) {
  out->ok = false;
  out->recs.clear();
  out->series.clear();
  out->series_keys.clear();
  out->key_bytes.clear();
  out->samples.clear();
  out->stones.clear();
  SegmentFile s = seg;
  s.start_offset = task.begin;
  Reader r(fs, std::move(s), task.end, task.skip);
  while (r.Next()) {
    const std::string_view rec = r.record();
    RangeRecord rr;
    rr.type = record::Type(rec);
    rr.end = r.record_end();
    absl::Status st;
    switch (rr.type) {
      case record::RecordType::kSeries:
        rr.first = static_cast<uint32_t>(out->series.size());
        st = record::DecodeSeries(rec, &out->series);
        rr.count = Count(out->series, rr.first);
        for (size_t i = rr.first; st.ok() && i < out->series.size(); ++i) {
          out->series_keys.push_back(
              AppendKey(out->series[i].labels, &out->key_bytes));
        }
        break;
      case record::RecordType::kSamples:
        rr.first = static_cast<uint32_t>(out->samples.size());
        st = record::DecodeSamples(rec, &out->samples);
        rr.count = Count(out->samples, rr.first);
        break;
      case record::RecordType::kTombstones:
        rr.first = static_cast<uint32_t>(out->stones.size());
        st = record::DecodeTombstones(rec, &out->stones);
        rr.count = Count(out->stones, rr.first);
        break;
      default:
        break;
    }
    if (!st.ok()) return;  // the sequential read reports it
    out->recs.push_back(rr);
  }
  if (!r.status().ok()) return;
  out->start = r.range_start();
  out->cursor = r.cursor();
  out->ok = true;
}

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
  // Where reading stopped early (corruption). Unlike `error`, everything
  // before it is still applied.
  absl::Status read_status;
  std::optional<Corruption> corrupt_at;
  std::vector<std::unique_ptr<BoundedQueue<ShardWork>>> shard_queues;
  for (int i = 0; i < workers; ++i) {
    shard_queues.push_back(std::make_unique<BoundedQueue<ShardWork>>(1));
  }
  std::array<int64_t, 256> skipped_counts = {};

  // Emptied sample buffers, back from the workers (buffers are large; new
  // ones would be page-faulted in again and again).
  std::mutex spare_mu;
  std::vector<SampleBuffer> spare;

  // Workers: apply samples per shard.
  std::vector<std::thread> threads;
  std::atomic<int64_t> applied_samples{0};
  for (int i = 0; i < workers; ++i) {
    threads.emplace_back([&, i] {
      while (std::optional<ShardWork> work = shard_queues[i]->Pop()) {
        if (error.failed()) {  // drain
          if (work->barrier != nullptr) work->barrier->count_down();
          continue;
        }
        absl::Status s;
        if (work->barrier != nullptr) {
          work->barrier->count_down();
        } else if (!work->series.empty()) {
          s = visitor->OnShardSeries(i, work->series);
        } else if (work->reset_ref != 0) {
          s = visitor->OnDuplicateSeriesRecord(i, work->reset_ref,
                                               work->reset_wal_ref);
        } else {
          s = visitor->OnSamples(
              i, absl::MakeConstSpan(work->samples.get(), work->count));
          if (s.ok()) {
            applied_samples.fetch_add(static_cast<int64_t>(work->count),
                                      std::memory_order_relaxed);
          }
          std::lock_guard<std::mutex> l(spare_mu);
          spare.push_back(std::move(work->samples));
        }
        if (!s.ok()) error.Set(s);
      }
    });
  }

  // Applier (this thread): series and tombstones in order, sample dispatch.
  RefMap ref_map;  // wal ref -> head ref
  // The blocks by_labels' keys point into (declared first: freed last).
  std::vector<std::vector<char>> key_store;
  absl::flat_hash_map<SeriesKey, uint64_t, SeriesKeyHash> by_labels;
  for (uint64_t ref : options.existing_refs) ref_map.Insert(ref, ref);
  // Per shard: the samples of the next OnSamples call, pending[i][0,
  // filled[i]) (appending is a plain store).
  std::vector<SampleBuffer> pending(workers);
  std::vector<size_t> filled(workers, 0);
  for (SampleBuffer& p : pending) p = NewSampleBuffer();
  auto flush_shard = [&](int i) {
    if (filled[i] == 0) return;
    ShardWork work;
    work.samples = std::move(pending[i]);
    work.count = filled[i];
    filled[i] = 0;
    {
      std::lock_guard<std::mutex> l(spare_mu);
      if (!spare.empty()) {
        pending[i] = std::move(spare.back());
        spare.pop_back();
      }
    }
    if (pending[i] == nullptr) pending[i] = NewSampleBuffer();
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
  // Called for every record, before applying it.
  auto note_record = [&](size_t position) {
    const int segment = inputs[position].index;
    const bool from_checkpoint = position < checkpoint_segments;
    if (segment != progress_segment || from_checkpoint != progress_checkpoint) {
      log_progress();
      progress_segment = segment;
      progress_checkpoint = from_checkpoint;
    }
    ++stats.records;
  };
  std::vector<record::RefSeries> fresh;
  // Duplicate records of a series record: (first ref, repeated ref).
  std::vector<std::pair<uint64_t, uint64_t>> resets;
  // A ref's shard: series, their samples and resets all go by it.
  const ShardOf shard_of(static_cast<uint32_t>(workers));
  const bool on_shards = visitor->SeriesOnShards();
  bool series_on_workers = false;  // series pushed since the last barrier
  // Creates `fresh` (OnSeries here, or queued to the shards).
  auto create_fresh = [&]() -> absl::Status {
    if (fresh.empty()) return absl::OkStatus();
    if (!on_shards) return visitor->OnSeries(fresh);
    std::vector<ShardWork> per(workers);
    for (record::RefSeries& rs : fresh) {
      per[shard_of(rs.ref)].series.push_back(std::move(rs));
    }
    for (int i = 0; i < workers; ++i) {
      if (!per[i].series.empty()) shard_queues[i]->Push(std::move(per[i]));
    }
    series_on_workers = true;
    return absl::OkStatus();
  };
  std::vector<KeySpan> own_keys;
  // `keys`: where each series' key is in the block at `base` (a key_store
  // block), or null to compute them here.
  auto apply_series = [&](record::RefSeries* begin, record::RefSeries* end,
                          const KeySpan* keys,
                          const char* base) -> absl::Status {
    fresh.clear();
    resets.clear();
    if (keys == nullptr) {
      own_keys.clear();
      std::vector<char> block;
      for (record::RefSeries* it_rs = begin; it_rs != end; ++it_rs) {
        own_keys.push_back(AppendKey(it_rs->labels, &block));
      }
      key_store.push_back(std::move(block));
      keys = own_keys.data();
      base = key_store.back().data();
    }
    for (record::RefSeries* it_rs = begin; it_rs != end; ++it_rs) {
      record::RefSeries& rs = *it_rs;
      stats.max_series_ref =
          std::max<int64_t>(stats.max_series_ref, static_cast<int64_t>(rs.ref));
      const KeySpan& span = keys[it_rs - begin];
      const SeriesKey key{std::string_view(base + span.offset, span.size),
                          span.hash};
      if (options.existing_ref_of && !by_labels.contains(key)) {
        // A series restored before the replay owns these labels.
        if (const uint64_t e = options.existing_ref_of(rs.labels)) {
          by_labels.emplace(key, e);
        }
      }
      auto [it, inserted] = by_labels.try_emplace(key, rs.ref);
      if (!inserted && it->second != rs.ref) {
        ref_map.Set(rs.ref, it->second);
        ++stats.duplicate_series;
        // Sent after this record's new series: the first ref may be one.
        resets.push_back({it->second, rs.ref});
        continue;
      }
      if (!ref_map.Insert(rs.ref, rs.ref)) continue;
      fresh.push_back(std::move(rs));
    }
    stats.series += fresh.size();
    TSDB_RETURN_IF_ERROR(create_fresh());
    for (const auto& [ref, wal_ref] : resets) {
      // Earlier samples of the series go first, then the reset.
      const int shard = static_cast<int>(shard_of(ref));
      flush_shard(shard);
      ShardWork reset;
      reset.reset_ref = ref;
      reset.reset_wal_ref = wal_ref;
      shard_queues[shard]->Push(std::move(reset));
    }
    return absl::OkStatus();
  };
  // Waits until the workers created every series pushed to them so far.
  auto wait_for_series = [&] {
    if (!series_on_workers) return;
    std::latch done(workers);
    for (int i = 0; i < workers; ++i) {
      ShardWork w;
      w.barrier = &done;
      shard_queues[i]->Push(std::move(w));
    }
    done.wait();
    series_on_workers = false;
  };
  // Where each shard's next sample goes (pending[i].get() + filled[i]),
  // kept in locals by the loop below; refreshed after a flush.
  std::vector<record::RefSample*> next(workers), ends(workers);
  auto apply_samples = [&](const record::RefSample* p, size_t n) {
    for (int i = 0; i < workers; ++i) {
      next[i] = pending[i].get() + filled[i];
      ends[i] = pending[i].get() + kShardFlushSamples;
    }
    record::RefSample** const out = next.data();
    record::RefSample* const* const end = ends.data();
    const uint64_t* const dense = ref_map.dense();
    const size_t dense_size = ref_map.dense_size();
    for (size_t i = 0; i < n; ++i) {
      record::RefSample smp = p[i];
      uint64_t to;
      if (smp.ref < dense_size && dense[smp.ref] != 0) {
        to = dense[smp.ref];
      } else if (!ref_map.Find(smp.ref, &to)) {
        ++stats.unknown_ref_samples;
        continue;
      }
      smp.ref = to;
      const uint32_t shard = shard_of(to);
      *out[shard]++ = smp;
      if (out[shard] == end[shard]) {
        filled[shard] = kShardFlushSamples;
        flush_shard(static_cast<int>(shard));
        out[shard] = pending[shard].get();
        ends[shard] = out[shard] + kShardFlushSamples;
      }
    }
    for (int i = 0; i < workers; ++i) {
      filled[i] = static_cast<size_t>(next[i] - pending[i].get());
    }
  };
  auto apply_stones = [&](std::vector<record::Stone> stones) {
    wait_for_series();
    for (record::Stone& st : stones) {
      (void)ref_map.Find(st.ref, &st.ref);  // unknown: left as is
    }
    stats.tombstones += stones.size();
    return visitor->OnTombstones(stones);
  };

  // One sequential Reader from byte `offset` of inputs[position] on (the
  // whole log, or what follows the last range applied). `good_end`: the end
  // of the last record applied in that segment (what a whole-log reader
  // would report if the segment breaks before the next one).
  auto read_sequentially = [&](size_t position, uint64_t offset,
                               uint64_t good_end) {
    std::vector<SegmentFile> rest(inputs.begin() + position, inputs.end());
    if (rest.empty()) return;
    const std::string first_path = rest.front().path;
    rest.front().start_offset = offset;
    Reader reader(fs, std::move(rest));
    std::vector<record::RefSeries> series;
    std::vector<record::RefSample> samples;
    std::vector<record::Stone> stones;
    // End of the last record read in the current segment: where repair
    // cuts when the next record's payload does not decode.
    size_t prev_position = SIZE_MAX;
    uint64_t prev_end = 0;
    while (!error.failed() && reader.Next()) {
      const std::string_view rec = reader.record();
      const size_t pos = position + reader.segment_position();
      const record::RecordType type = record::Type(rec);
      series.clear();
      samples.clear();
      stones.clear();
      absl::Status s;
      switch (type) {
        case record::RecordType::kSeries:
          s = record::DecodeSeries(rec, &series);
          break;
        case record::RecordType::kSamples:
          s = record::DecodeSamples(rec, &samples);
          break;
        case record::RecordType::kTombstones:
          s = record::DecodeTombstones(rec, &stones);
          break;
        default:
          break;
      }
      if (pos != prev_position) {
        prev_end = pos == position ? good_end : inputs[pos].start_offset;
      }
      if (!s.ok()) {
        read_status = absl::DataLossError(
            absl::StrCat("segment ", reader.segment(), " offset ",
                         reader.offset(), ": ", s.message()));
        Corruption c;
        c.segment = reader.segment();
        c.path = inputs[pos].path;
        c.offset = reader.offset();
        c.good_end = prev_end;
        c.reason = std::string(s.message());
        corrupt_at = std::move(c);
        return;
      }
      prev_position = pos;
      prev_end = reader.record_end();
      note_record(pos);
      switch (type) {
        case record::RecordType::kSeries:
          s = apply_series(series.data(), series.data() + series.size(),
                           nullptr, nullptr);
          break;
        case record::RecordType::kSamples:
          apply_samples(samples.data(), samples.size());
          break;
        case record::RecordType::kTombstones:
          s = apply_stones(std::move(stones));
          stones = {};
          break;
        default:
          ++skipped_counts[static_cast<uint8_t>(type)];
          break;
      }
      if (!s.ok()) error.Set(s);
    }
    if (!error.failed() && !reader.status().ok()) {
      read_status = reader.status();
      corrupt_at = reader.corruption();
      // The reader started at `offset`, not at the segment's last record.
      if (corrupt_at.has_value() && corrupt_at->path == first_path &&
          corrupt_at->good_end == offset) {
        corrupt_at->good_end = good_end;
        read_status = absl::DataLossError(absl::StrCat(
            "corruption in segment ", corrupt_at->path, " at offset ",
            corrupt_at->offset, ": ", corrupt_at->reason,
            " (last complete record ends at ", corrupt_at->good_end, ")"));
      }
    }
  };

  // The ranges.
  std::vector<RangeTask> tasks;
  bool planned = options.parallel_decode && !inputs.empty();
  const uint64_t range_bytes =
      std::max<uint64_t>(1, (options.range_bytes == 0 ? uint64_t{128} << 10
                                                      : options.range_bytes) +
                                kPageSize - 1) /
      kPageSize * kPageSize;
  for (size_t p = 0; planned && p < inputs.size(); ++p) {
    absl::StatusOr<uint64_t> size = fs->FileSize(inputs[p].path);
    if (!size.ok()) {
      planned = false;  // the sequential reader reports it
      break;
    }
    RangeTask t;
    t.position = p;
    t.begin = std::min(inputs[p].start_offset, *size);
    while (true) {
      t.end = (t.begin / range_bytes + 1) * range_bytes;
      if (t.end >= *size) t.end = UINT64_MAX;
      tasks.push_back(t);
      if (t.end == UINT64_MAX) break;
      t.begin = t.end;
      t.skip = true;
    }
  }

  if (!planned) {
    read_sequentially(0, inputs.empty() ? 0 : inputs[0].start_offset,
                      inputs.empty() ? 0 : inputs[0].start_offset);
  } else {
    int decoders = options.decoders;
    if (decoders <= 0) {
      decoders = std::clamp<int>(
          static_cast<int>(std::thread::hardware_concurrency()), 1, 8);
    }
    decoders = std::min<int>(decoders, static_cast<int>(tasks.size()));
    const size_t window = 2 * static_cast<size_t>(decoders) + 2;
    struct Slot {
      RangeOut out;
      bool done = false;
    };
    std::vector<Slot> slots(window);
    std::mutex mu;
    std::condition_variable decoder_cv, applier_cv;
    size_t next_task = 0;  // guarded by mu
    size_t consumed = 0;   // guarded by mu
    bool stop = false;     // guarded by mu
    std::vector<std::thread> decoder_threads;
    for (int d = 0; d < decoders; ++d) {
      decoder_threads.emplace_back([&] {
        while (true) {
          size_t t;
          {
            std::unique_lock<std::mutex> l(mu);
            decoder_cv.wait(l, [&] {
              return stop || next_task >= tasks.size() ||
                     next_task < consumed + window;
            });
            if (stop || next_task >= tasks.size()) return;
            t = next_task++;
          }
          // Slot t % window is free: the applier is done with task t - window.
          DecodeRange(fs, inputs[tasks[t].position], tasks[t],
                      &slots[t % window].out);
          {
            std::lock_guard<std::mutex> l(mu);
            slots[t % window].done = true;
          }
          applier_cv.notify_one();
        }
      });
    }
    // Where the whole-log reader stands in the current segment, and the end
    // of the last record applied there.
    uint64_t cursor = 0, good_end = 0;
    for (size_t t = 0; t < tasks.size() && !error.failed(); ++t) {
      const RangeTask& task = tasks[t];
      Slot& slot = slots[t % window];
      {
        std::unique_lock<std::mutex> l(mu);
        applier_cv.wait(l, [&] { return slot.done; });
      }
      if (!task.skip) cursor = good_end = task.begin;
      bool fallback = false;
      if (cursor < task.end) {
        // Some records start in this range (a range wholly inside the last
        // record of the previous one is passed over).
        RangeOut& out = slot.out;
        if (!out.ok || out.start != cursor) {
          fallback = true;
        } else {
          const char* key_base = nullptr;
          if (!out.key_bytes.empty()) {
            key_store.push_back(std::move(out.key_bytes));
            out.key_bytes = {};
            key_base = key_store.back().data();
          }
          for (const RangeRecord& rr : out.recs) {
            note_record(task.position);
            absl::Status s;
            switch (rr.type) {
              case record::RecordType::kSeries:
                s = apply_series(out.series.data() + rr.first,
                                 out.series.data() + rr.first + rr.count,
                                 out.series_keys.data() + rr.first, key_base);
                break;
              case record::RecordType::kSamples:
                apply_samples(out.samples.data() + rr.first, rr.count);
                break;
              case record::RecordType::kTombstones:
                s = apply_stones(std::vector<record::Stone>(
                    out.stones.begin() + rr.first,
                    out.stones.begin() + rr.first + rr.count));
                break;
              default:
                ++skipped_counts[static_cast<uint8_t>(rr.type)];
                break;
            }
            if (!s.ok()) {
              error.Set(s);
              break;
            }
            good_end = rr.end;
          }
          cursor = out.cursor;
        }
      }
      {
        std::lock_guard<std::mutex> l(mu);
        slot.done = false;
        consumed = t + 1;
        if (fallback) stop = true;
      }
      decoder_cv.notify_all();
      if (fallback) {
        read_sequentially(task.position, cursor, good_end);
        break;
      }
    }
    {
      std::lock_guard<std::mutex> l(mu);
      stop = true;
    }
    decoder_cv.notify_all();
    for (std::thread& th : decoder_threads) th.join();
  }

  if (!error.failed()) log_progress();
  for (int i = 0; i < workers; ++i) {
    flush_shard(i);
    shard_queues[i]->Close();
  }
  for (std::thread& t : threads) t.join();
  stats.samples = applied_samples.load();
  for (int t = 0; t < 256; ++t) {
    if (int64_t n = skipped_counts[t]; n > 0) {
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
