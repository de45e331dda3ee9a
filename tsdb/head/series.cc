#include "tsdb/head/series.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "tsdb/base/status_macros.h"
#include "tsdb/chunks/head_chunks.h"

namespace tsdb::head {

MemSeries::MemSeries(SeriesRef ref, uint64_t hash,
                     std::unique_ptr<uint32_t[]> ids, uint32_t num_labels)
    : ref_(ref), hash_(hash), ids_(std::move(ids)), num_labels_(num_labels) {}

MemSeries::~MemSeries() = default;

absl::Status MemSeries::CutNewChunk(int64_t t, const ChunkEnv& env) {
  // Make the new chunk first, so that a failure leaves the series as it was.
  std::unique_ptr<chunkenc::Chunk> chunk = env.codec->NewChunk();
  TSDB_ASSIGN_OR_RETURN(std::unique_ptr<chunkenc::ChunkAppender> app,
                        chunk->Appender());
  if (open_ != nullptr) {
    // The full chunk goes to the chunk mapper (Prometheus's
    // mmapCurrentHeadChunk), or, without one or if the write fails, is kept
    // as an exact-size copy of its bytes. Either way the codec's chunk and
    // appender (and their growth slack) are freed.
    const std::string_view bytes = open_->Bytes();
    CutChunk c;
    c.min_time = open_min_time_;
    c.max_time = max_time_;
    c.size = static_cast<uint32_t>(bytes.size());
    c.num_samples = open_count_;
    c.mapped_ref = 0;
    if (env.mapper != nullptr) {
      absl::StatusOr<chunks::ChunkDiskMapperRef> ref = env.mapper->WriteChunk(
          ref_, c.min_time, c.max_time, open_->encoding(), bytes);
      if (ref.ok()) {
        c.mapped_ref = *ref;
        if (env.mapped != nullptr) {
          env.mapped->fetch_add(1, std::memory_order_relaxed);
        }
      } else if (env.map_failures != nullptr) {
        env.map_failures->fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (c.mapped_ref == 0) {
      c.data = std::make_unique_for_overwrite<char[]>(bytes.size());
      std::memcpy(c.data.get(), bytes.data(), bytes.size());
    }
    cut_.push_back(std::move(c));
    if (env.listener != nullptr) {
      const CutChunk& full = cut_.back();
      CutChunkInfo info;
      info.series = ref_;
      info.chunk_id = first_chunk_id_ + cut_.size() - 1;
      info.min_time = full.min_time;
      info.max_time = full.max_time;
      info.num_samples = static_cast<int>(full.num_samples);
      info.encoding = open_->encoding();
      info.bytes = bytes;  // open_ is still alive
      env.listener->OnChunkCut(info);
    }
  }
  open_ = std::move(chunk);
  app_ = std::move(app);
  open_count_ = 0;
  open_min_time_ = t;
  next_at_ = RangeForTimestamp(t, env.chunk_range);
  return absl::OkStatus();
}

// Every byte counts per series: malloc serves 161..176-byte requests with
// 176 bytes (with its 8-byte header), so up to 168 costs nothing more.
static_assert(sizeof(MemSeries) <= 168);

absl::Status MemSeries::CutIfDue(int64_t t, const ChunkEnv& env,
                                 uint64_t* new_chunks) {
  if (open_ != nullptr) {
    // Prometheus 2.42 (memSeries.append): at a quarter of the target,
    // predict an end time that spreads the rest of the range evenly; cut at
    // that time, or at twice the target if the rate went up.
    const uint32_t n = open_count_;
    if (n == static_cast<uint32_t>(env.samples_per_chunk / 4)) {
      next_at_ = ComputeChunkEndTime(open_min_time_, max_time_, next_at_);
    }
    // A chunk restored from a snapshot has no appender (RestoreOpenChunk).
    if (t < next_at_ && app_ != nullptr &&
        n < static_cast<uint32_t>(env.samples_per_chunk) * 2) {
      return absl::OkStatus();
    }
  }
  TSDB_RETURN_IF_ERROR(CutNewChunk(t, env));
  ++*new_chunks;
  return absl::OkStatus();
}

void MemSeries::LogTx(uint64_t seq, uint64_t low_watermark,
                      uint64_t* depends_on) {
  if (!tx_.empty() && tx_.back().seq == seq) return;
  size_t drop = 0;
  while (drop < tx_.size() && tx_[drop].seq <= low_watermark) ++drop;
  if (drop > 0) tx_.erase(tx_.begin(), tx_.begin() + drop);
  for (const TxEntry& e : tx_) {
    if (e.seq > seq && e.seq > *depends_on) *depends_on = e.seq;
  }
  tx_.push_back(TxEntry{seq, appended_});
}

void MemSeries::UpdateChunkHints() {
  const std::string_view bytes = open_->Bytes();
  chunk_data_ = reinterpret_cast<uintptr_t>(bytes.data());
  chunk_last_ =
      static_cast<uint16_t>(std::min<size_t>(bytes.size() - 1, UINT16_MAX));
}

absl::Status MemSeries::Append(int64_t t, double v, uint64_t seq,
                               uint64_t low_watermark, const ChunkEnv& env,
                               uint64_t* depends_on, uint64_t* new_chunks) {
  TSDB_RETURN_IF_ERROR(CutIfDue(t, env, new_chunks));
  app_->Append(t, v);
  UpdateChunkHints();
  ++open_count_;
  max_time_ = t;
  last_value_ = v;
  last_value_known_ = true;
  LogTx(seq, low_watermark, depends_on);
  ++appended_;
  return absl::OkStatus();
}

absl::Status MemSeries::AppendRun(const SampleRecord* samples, size_t n,
                                  uint64_t seq, uint64_t low_watermark,
                                  const ChunkEnv& env, uint64_t* depends_on,
                                  uint64_t* new_chunks, AppendRunStats* stats) {
  const uint32_t quarter = static_cast<uint32_t>(env.samples_per_chunk / 4);
  const uint32_t twice = static_cast<uint32_t>(env.samples_per_chunk) * 2;
  absl::Status err;
  bool logged = false;
  // A stretch: samples that need none of Append's checks, copied out for
  // one AppendBatch call.
  constexpr size_t kStretch = 64;
  int64_t ts[kStretch];
  double vs[kStretch];
  size_t appended = 0;
  size_t i = 0;
  while (i < n) {
    const int64_t t = samples[i].t;
    const double v = samples[i].v;
    if (Appendable(t, v) != Appendability::kOk) {
      ++stats->skipped;
      ++i;
      continue;
    }
    // Append's checks for sample i.
    absl::Status cut = CutIfDue(t, env, new_chunks);
    if (!cut.ok()) {
      if (err.ok()) err = std::move(cut);
      ++i;
      continue;
    }
    if (!logged) {
      logged = true;
      LogTx(seq, low_watermark, depends_on);
    }
    // Sample i, then the next ones for which every check Append makes is
    // false: newer than the one before (Appendable), before next_at_, not
    // at the quarter point (where next_at_ is recomputed), below twice the
    // target count.
    ts[0] = t;
    vs[0] = v;
    size_t m = 1;
    uint32_t count = open_count_ + 1;  // in the chunk after ts[0, m)
    size_t j = i + 1;
    while (j < n && m < kStretch) {
      const int64_t tj = samples[j].t;
      if (tj <= ts[m - 1] || tj >= next_at_ || count == quarter ||
          count >= twice) {
        break;
      }
      ts[m] = tj;
      vs[m] = samples[j].v;
      ++m;
      ++count;
      ++j;
    }
    app_->AppendBatch(ts, vs, m);
    open_count_ = count;
    max_time_ = ts[m - 1];
    last_value_ = vs[m - 1];
    last_value_known_ = true;
    appended_ += m;
    if (appended == 0) stats->min_time = std::min(stats->min_time, t);
    stats->max_time = std::max(stats->max_time, ts[m - 1]);
    appended += m;
    i = j;
  }
  if (appended > 0) {
    stats->appended += appended;
    UpdateChunkHints();
  }
  return err;
}

size_t MemSeries::TruncateChunksBefore(int64_t mint) {
  size_t k = 0;
  while (k < cut_.size() && cut_[k].max_time < mint) ++k;
  size_t removed = k;
  if (k > 0) cut_.erase(cut_.begin(), cut_.begin() + k);
  if (cut_.empty() && open_ != nullptr && max_time_ < mint) {
    open_.reset();
    app_.reset();
    open_count_ = 0;
    ++removed;
  }
  if (cut_.empty() && cut_.capacity() > 0) {
    std::vector<CutChunk>().swap(cut_);
  }
  first_chunk_id_ += static_cast<uint32_t>(removed);
  return removed;
}

absl::Status MemSeries::AttachMappedChunks(
    const std::vector<MappedChunk>& chunks) {
  if (NumChunks() != 0 || pending != 0) {
    return absl::FailedPreconditionError(
        "head: m-mapped chunks attached to a series that has samples");
  }
  if (chunks.empty()) return absl::OkStatus();
  cut_.reserve(chunks.size());
  int64_t prev = std::numeric_limits<int64_t>::min();
  uint64_t n = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const MappedChunk& m = chunks[i];
    if (m.ref == 0 || m.max_time < m.min_time ||
        (i > 0 && m.min_time <= prev)) {
      std::vector<CutChunk>().swap(cut_);
      return absl::InvalidArgumentError(
          "head: m-mapped chunks not in time order");
    }
    prev = m.max_time;
    CutChunk c;
    c.min_time = m.min_time;
    c.max_time = m.max_time;
    c.size = 0;
    c.num_samples = m.num_samples;
    c.mapped_ref = m.ref;
    cut_.push_back(std::move(c));
    n += m.num_samples;
  }
  // Indexes continue after samples dropped earlier (isolation counts
  // samples by absolute index).
  appended_ += n;
  max_time_ = prev;
  last_value_ = 0;
  last_value_known_ = false;  // see Appendable
  return absl::OkStatus();
}

void MemSeries::LoadLastValue(const ChunkEnv& env) {
  if (last_value_known_ || cut_.empty() || open_ != nullptr ||
      env.mapper == nullptr || env.codec == nullptr) {
    return;
  }
  const CutChunk& last = cut_.back();
  if (last.mapped_ref == 0 || last.max_time != max_time_) return;
  chunks::HeadChunkRecord rec;
  if (!env.mapper->ReadChunk(last.mapped_ref, &rec).ok() ||
      rec.encoding != env.codec->encoding()) {
    return;
  }
  std::unique_ptr<chunkenc::SampleIterator> it =
      env.codec->NewIterator(rec.data);
  bool found = false;
  double v = 0;
  while (it->Next()) {
    const chunkenc::Sample smp = it->At();
    found = smp.t == max_time_;
    v = smp.v;
  }
  if (!it->status().ok() || !found) return;
  last_value_ = v;
  last_value_known_ = true;
}

int64_t MemSeries::mapped_max_time() const {
  for (size_t i = cut_.size(); i > 0; --i) {
    if (cut_[i - 1].mapped_ref != 0) return cut_[i - 1].max_time;
  }
  return std::numeric_limits<int64_t>::min();
}

size_t MemSeries::DropAllChunks() {
  const size_t removed = NumChunks();
  std::vector<CutChunk>().swap(cut_);
  open_.reset();
  app_.reset();
  open_count_ = 0;
  max_time_ = std::numeric_limits<int64_t>::min();
  last_value_ = 0;
  last_value_known_ = true;
  next_at_ = std::numeric_limits<int64_t>::min();
  first_chunk_id_ += static_cast<uint32_t>(removed);
  return removed;
}

ChunkView MemSeries::ChunkAt(size_t i, uint64_t first_index) const {
  ChunkView v;
  v.id = first_chunk_id_ + i;
  v.first_index = first_index;
  if (i < cut_.size()) {
    const CutChunk& c = cut_[i];
    v.min_time = c.min_time;
    v.max_time = c.max_time;
    v.num_samples = c.num_samples;
    v.mapped_ref = c.mapped_ref;
    if (c.mapped_ref == 0) v.bytes = std::string_view(c.data.get(), c.size);
  } else {
    v.min_time = open_min_time_;
    v.max_time = max_time_;
    v.num_samples = open_count_;
    v.bytes = open_->Bytes();
  }
  return v;
}

ChunkView MemSeries::Chunk(size_t i) const {
  uint64_t index = appended_ - open_count_;
  for (size_t j = cut_.size(); j > i; --j) index -= cut_[j - 1].num_samples;
  return ChunkAt(i, index);
}

int64_t MemSeries::min_time() const {
  if (!cut_.empty()) return cut_.front().min_time;
  if (open_ != nullptr) return open_min_time_;
  return std::numeric_limits<int64_t>::max();
}

size_t MemSeries::MemoryBytes() const {
  // Rounded to 16-byte allocation granules plus the allocator's header.
  auto alloc = [](size_t n) { return n == 0 ? 0 : ((n + 8 + 15) / 16) * 16; };
  size_t bytes = alloc(sizeof(MemSeries));
  if (ooo != nullptr) bytes += ooo->MemoryBytes();
  bytes += alloc(2 * num_labels_ * sizeof(uint32_t));
  bytes += alloc(cut_.capacity() * sizeof(CutChunk));
  for (const CutChunk& c : cut_) {
    if (c.mapped_ref == 0) bytes += alloc(c.size);
  }
  if (open_ != nullptr) {
    // The codec's chunk object, its appender and its byte buffer; the exact
    // layout is the codec's, so this counts the bytes with 2x slack plus two
    // small objects.
    bytes += alloc(open_->Bytes().size() * 2) + 2 * alloc(48);
  }
  if (tx_.size() > 1) bytes += alloc(tx_.capacity() * sizeof(TxEntry));
  return bytes;
}

}  // namespace tsdb::head
