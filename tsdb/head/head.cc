// Head: construction, series creation and lookup, truncation, statistics.
// The append path is in head_append.cc, the read path in head_read.cc.
#include "tsdb/head/head.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/chunks/head_chunks.h"
#include "tsdb/head/isolation.h"
#include "tsdb/head/ooo.h"
#include "tsdb/head/series.h"
#include "tsdb/head/stripe_series.h"
#include "tsdb/head/symbols.h"

namespace tsdb::head {
namespace {

// Prometheus drops empty-valued labels before it validates and hashes.
const labels::Labels* WithoutEmpty(const labels::Labels& lset,
                                   labels::Labels* storage) {
  bool any = false;
  for (const labels::Label& l : lset) any |= l.value.empty();
  if (!any) return &lset;
  std::vector<labels::Label> kept;
  for (const labels::Label& l : lset) {
    if (!l.value.empty()) kept.push_back(l);
  }
  *storage = labels::Labels::FromSorted(std::move(kept));
  return storage;
}

// The head's label-set hash (in-process only: it picks hash stripes and
// map slots). absl's hash is several times faster than Labels::Hash, whose
// value must be stable across processes.
uint64_t SeriesHash(const labels::Labels& lset) {
  uint64_t h = lset.size();
  for (const labels::Label& l : lset) {
    h = absl::HashOf(h, absl::string_view(l.name.data(), l.name.size()),
                     absl::string_view(l.value.data(), l.value.size()));
  }
  return h;
}

void AtomicMax(std::atomic<int64_t>& a, int64_t v) {
  int64_t cur = a.load(std::memory_order_relaxed);
  while (cur < v && !a.compare_exchange_weak(cur, v)) {
  }
}

void AtomicMin(std::atomic<int64_t>& a, int64_t v) {
  int64_t cur = a.load(std::memory_order_relaxed);
  while (cur > v && !a.compare_exchange_weak(cur, v)) {
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Head>> Head::Open(const HeadOptions& opts) {
  if (opts.codecs == nullptr) {
    return absl::InvalidArgumentError("head: no codec registry");
  }
  TSDB_ASSIGN_OR_RETURN(const chunkenc::ChunkCodec* codec,
                        opts.codecs->Get(opts.encoding));
  if (opts.stripe_size == 0 ||
      (opts.stripe_size & (opts.stripe_size - 1)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "head: stripe size ", opts.stripe_size, " is not a power of two"));
  }
  if (opts.chunk_range <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("head: chunk range ", opts.chunk_range, " <= 0"));
  }
  if (opts.samples_per_chunk < 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "head: samples per chunk ", opts.samples_per_chunk, " < 4"));
  }
  return std::unique_ptr<Head>(new Head(opts, codec));
}

Head::Head(const HeadOptions& opts, const chunkenc::ChunkCodec* codec)
    : opts_(opts),
      codec_(codec),
      env_(std::make_unique<ChunkEnv>()),
      symbols_(std::make_unique<SymbolTable>()),
      reclaimer_(std::make_unique<EpochReclaimer>()),
      series_(
          std::make_unique<StripeSeries>(opts.stripe_size, reclaimer_.get())),
      postings_(std::make_unique<postings::MemPostings>()),
      iso_(std::make_unique<Isolation>()) {
  env_->codec = codec;
  env_->chunk_range = opts.chunk_range;
  env_->samples_per_chunk = opts.samples_per_chunk;
  env_->listener = opts.chunk_cut_listener;
  env_->mapper = opts.chunk_mapper;
  env_->mapped = &chunks_mapped_;
  env_->map_failures = &chunk_map_failures_;
}

Head::~Head() {
  for (MemSeries* s : series_->TakeAll()) FreeSeries(s);
  for (EpochReclaimer::FreeFn& f : reclaimer_->TakeAll()) f();
}

void Head::FreeSeries(MemSeries* s) {
  symbols_->Release(s->label_ids(), 2 * size_t{s->num_labels()});
  delete s;
}

void Head::Reclaim() {
  if (!reclaimer_->has_retired()) return;
  for (EpochReclaimer::FreeFn& f : reclaimer_->TakeReclaimable()) f();
}

bool Head::LabelsEqual(const MemSeries& s, const labels::Labels& lset) const {
  if (s.num_labels() != lset.size()) return false;
  const uint32_t* ids = s.label_ids();
  for (size_t i = 0; i < lset.size(); ++i) {
    if (symbols_->Get(ids[2 * i]) != lset[i].name ||
        symbols_->Get(ids[2 * i + 1]) != lset[i].value) {
      return false;
    }
  }
  return true;
}

labels::Labels Head::LabelsOf(const MemSeries& s) const {
  std::vector<labels::Label> out;
  out.reserve(s.num_labels());
  const uint32_t* ids = s.label_ids();
  for (uint32_t i = 0; i < s.num_labels(); ++i) {
    out.push_back(labels::Label{std::string(symbols_->Get(ids[2 * i])),
                                std::string(symbols_->Get(ids[2 * i + 1]))});
  }
  return labels::Labels::FromSorted(std::move(out));
}

int Head::Compare(const MemSeries& a, const MemSeries& b) const {
  const uint32_t n = std::min(a.num_labels(), b.num_labels());
  const uint32_t* x = a.label_ids();
  const uint32_t* y = b.label_ids();
  for (uint32_t i = 0; i < 2 * n; ++i) {
    if (x[i] == y[i]) continue;
    const int c = symbols_->Get(x[i]).compare(symbols_->Get(y[i]));
    if (c != 0) return c;
  }
  if (a.num_labels() == b.num_labels()) return 0;
  return a.num_labels() < b.num_labels() ? -1 : 1;
}

MemSeries* Head::FindByLabels(const labels::Labels& lset, uint64_t hash) const {
  return series_->GetByHash(
      hash, [&](const MemSeries& s) { return LabelsEqual(s, lset); });
}

absl::StatusOr<Head::GetOrCreateResult> Head::GetOrCreate(
    const labels::Labels& lset_in) {
  labels::Labels storage;
  const labels::Labels& lset = *WithoutEmpty(lset_in, &storage);
  const uint64_t hash = SeriesHash(lset);
  if (MemSeries* s = FindByLabels(lset, hash)) {
    return GetOrCreateResult{s, false};
  }
  // Only label sets that name no existing series need validating: every
  // stored set is valid, so an invalid one cannot have matched.
  TSDB_RETURN_IF_ERROR(lset.Validate());
  if (opts_.lifecycle != nullptr) {
    TSDB_RETURN_IF_ERROR(opts_.lifecycle->PreCreation(lset));
  }
  const uint32_t n = static_cast<uint32_t>(lset.size());
  auto ids = std::make_unique_for_overwrite<uint32_t[]>(2 * size_t{n});
  symbols_->Intern(lset, ids.get());
  auto s = std::make_unique<MemSeries>(0, hash, std::move(ids), n);
  s->pending = 1;  // the creating appender's
  MemSeries* linked = series_->InsertByHash(
      s.get(), [&](const MemSeries& e) { return LabelsEqual(e, lset); },
      [&] { return last_ref_.fetch_add(1, std::memory_order_acq_rel) + 1; });
  if (linked != s.get()) {
    // A concurrent appender created it first.
    symbols_->Release(s->label_ids(), 2 * size_t{n});
    return GetOrCreateResult{linked, false};
  }
  s.release();
  series_->InsertByRef(linked);
  postings_->Add(linked->ref(), lset);
  num_series_.fetch_add(1, std::memory_order_relaxed);
  series_created_.fetch_add(1, std::memory_order_relaxed);
  if (opts_.lifecycle != nullptr) opts_.lifecycle->PostCreation(lset);
  return GetOrCreateResult{linked, true};
}

void Head::BeginBulkLoad() { postings_->SetUnordered(); }

void Head::EndBulkLoad(int threads) { postings_->EnsureOrder(threads); }

absl::StatusOr<SeriesRef> Head::CreateSeriesWithRef(
    SeriesRef ref, const labels::Labels& lset_in) {
  if (ref == 0 || ref > kMaxSeriesRef) {
    return absl::InvalidArgumentError(
        absl::StrCat("head: series ref ", ref, " out of range"));
  }
  labels::Labels storage;
  const labels::Labels& lset = *WithoutEmpty(lset_in, &storage);
  const uint64_t hash = SeriesHash(lset);
  {
    // Lookups need a pin (stripe_series.h).
    const uint64_t epoch = reclaimer_->Pin();
    MemSeries* same = FindByLabels(lset, hash);
    const SeriesRef same_ref = same != nullptr ? same->ref() : 0;
    MemSeries* other = same == nullptr ? series_->GetByRef(ref) : nullptr;
    const std::string owner = other ? LabelsOf(*other).ToString() : "";
    reclaimer_->Unpin(epoch);
    if (same_ref != 0) return same_ref;
    if (other != nullptr) {
      return absl::AlreadyExistsError(absl::StrCat(
          "head: series ref ", ref, " already belongs to ", owner));
    }
  }
  TSDB_RETURN_IF_ERROR(lset.Validate());
  if (opts_.lifecycle != nullptr) {
    TSDB_RETURN_IF_ERROR(opts_.lifecycle->PreCreation(lset));
  }
  const uint32_t n = static_cast<uint32_t>(lset.size());
  auto ids = std::make_unique_for_overwrite<uint32_t[]>(2 * size_t{n});
  symbols_->Intern(lset, ids.get());
  auto s = std::make_unique<MemSeries>(ref, hash, std::move(ids), n);
  MemSeries* linked = series_->InsertByHash(
      s.get(), [&](const MemSeries& e) { return LabelsEqual(e, lset); },
      [&] { return ref; });
  if (linked != s.get()) {
    symbols_->Release(s->label_ids(), 2 * size_t{n});
    return linked->ref();
  }
  s.release();
  series_->InsertByRef(linked);
  SeriesRef last = last_ref_.load(std::memory_order_relaxed);
  while (last < ref && !last_ref_.compare_exchange_weak(last, ref)) {
  }
  postings_->Add(ref, lset);
  num_series_.fetch_add(1, std::memory_order_relaxed);
  series_created_.fetch_add(1, std::memory_order_relaxed);
  if (opts_.lifecycle != nullptr) opts_.lifecycle->PostCreation(lset);
  return ref;
}

absl::Status Head::CreateSeriesWithRefs(absl::Span<const NewSeries> in,
                                        std::vector<SeriesRef>* out) {
  const size_t n = in.size();
  out->assign(n, 0);
  // Per series: labels without empty values, their hash, and (if it is to
  // be created) the new series.
  std::vector<labels::Labels> storage(n);
  std::vector<const labels::Labels*> lsets(n);
  std::vector<uint64_t> hashes(n);
  for (size_t i = 0; i < n; ++i) {
    const SeriesRef ref = in[i].ref;
    if (ref == 0 || ref > kMaxSeriesRef) {
      return absl::InvalidArgumentError(
          absl::StrCat("head: series ref ", ref, " out of range"));
    }
    lsets[i] = WithoutEmpty(*in[i].labels, &storage[i]);
    hashes[i] = SeriesHash(*lsets[i]);
  }
  // Which of them exist already (labels) or clash (ref), with the stripes
  // and slots of the series ahead prefetched.
  constexpr size_t kStripesAhead = 16, kSlotsAhead = 8;
  std::vector<size_t> fresh;  // indexes into `in` of the series to create
  fresh.reserve(n);
  {
    const uint64_t epoch = reclaimer_->Pin();
    for (size_t i = 0; i < std::min(n, kStripesAhead); ++i) {
      series_->PrefetchStripes(hashes[i], in[i].ref);
    }
    absl::Status st;
    for (size_t i = 0; i < n && st.ok(); ++i) {
      if (i + kStripesAhead < n) {
        series_->PrefetchStripes(hashes[i + kStripesAhead],
                                 in[i + kStripesAhead].ref);
      }
      if (i + kSlotsAhead < n) {
        series_->PrefetchSlots(hashes[i + kSlotsAhead],
                               in[i + kSlotsAhead].ref);
      }
      if (MemSeries* same = FindByLabels(*lsets[i], hashes[i])) {
        (*out)[i] = same->ref();
      } else if (MemSeries* other = series_->GetByRef(in[i].ref)) {
        st = absl::AlreadyExistsError(
            absl::StrCat("head: series ref ", in[i].ref, " already belongs to ",
                         LabelsOf(*other).ToString()));
      } else {
        fresh.push_back(i);
      }
    }
    reclaimer_->Unpin(epoch);
    TSDB_RETURN_IF_ERROR(st);
  }
  // A label set repeated within the batch is created once (the later
  // entries get its ref), so the lifecycle hooks see each set once, as
  // with CreateSeriesWithRef one by one.
  std::vector<std::pair<size_t, size_t>> repeats;  // (index, first index)
  if (opts_.lifecycle != nullptr && fresh.size() > 1) {
    absl::flat_hash_map<uint64_t, std::vector<size_t>> seen;
    std::vector<size_t> unique;
    for (size_t i : fresh) {
      std::vector<size_t>& same_hash = seen[hashes[i]];
      size_t first = SIZE_MAX;
      for (size_t j : same_hash) {
        if (*lsets[j] == *lsets[i]) first = j;
      }
      if (first != SIZE_MAX) {
        repeats.push_back({i, first});
      } else {
        same_hash.push_back(i);
        unique.push_back(i);
      }
    }
    fresh.swap(unique);
  }
  for (size_t i : fresh) {
    TSDB_RETURN_IF_ERROR(lsets[i]->Validate());
    if (opts_.lifecycle != nullptr) {
      TSDB_RETURN_IF_ERROR(opts_.lifecycle->PreCreation(*lsets[i]));
    }
  }
  // Symbols for all of them under one lock.
  std::vector<std::unique_ptr<uint32_t[]>> ids(fresh.size());
  std::vector<const labels::Labels*> fresh_lsets(fresh.size());
  std::vector<uint32_t*> fresh_ids(fresh.size());
  for (size_t k = 0; k < fresh.size(); ++k) {
    fresh_lsets[k] = lsets[fresh[k]];
    ids[k] =
        std::make_unique_for_overwrite<uint32_t[]>(2 * fresh_lsets[k]->size());
    fresh_ids[k] = ids[k].get();
  }
  symbols_->InternAll(fresh_lsets.data(), fresh_ids.data(), fresh.size());
  // Link them (the stripes are cached from the lookups). A series another
  // thread created meanwhile wins, as in CreateSeriesWithRef.
  std::vector<SeriesRef> linked_refs;
  std::vector<const labels::Labels*> linked_lsets;
  linked_refs.reserve(fresh.size());
  linked_lsets.reserve(fresh.size());
  SeriesRef max_ref = 0;
  absl::Status st;
  const uint64_t epoch = reclaimer_->Pin();
  for (size_t k = 0; k < fresh.size(); ++k) {
    const size_t i = fresh[k];
    const labels::Labels& lset = *lsets[i];
    const uint32_t nl = static_cast<uint32_t>(lset.size());
    if (!st.ok()) {
      symbols_->Release(ids[k].get(), 2 * size_t{nl});
      continue;
    }
    if (MemSeries* other = series_->GetByRef(in[i].ref)) {
      // An earlier series of this batch took the ref.
      if (!LabelsEqual(*other, lset)) {
        st = absl::AlreadyExistsError(
            absl::StrCat("head: series ref ", in[i].ref, " already belongs to ",
                         LabelsOf(*other).ToString()));
      }
      (*out)[i] = other->ref();
      symbols_->Release(ids[k].get(), 2 * size_t{nl});
      continue;
    }
    auto s = std::make_unique<MemSeries>(in[i].ref, hashes[i],
                                         std::move(ids[k]), nl);
    MemSeries* linked = series_->InsertByHash(
        s.get(), [&](const MemSeries& e) { return LabelsEqual(e, lset); },
        [&] { return in[i].ref; });
    if (linked != s.get()) {
      symbols_->Release(s->label_ids(), 2 * size_t{nl});
      (*out)[i] = linked->ref();
      continue;
    }
    if (!series_->InsertByRefOrUnlinkHash(linked)) {
      // Another thread linked a different label set under this ref since
      // the check above.
      st = absl::AlreadyExistsError(
          absl::StrCat("head: series ref ", in[i].ref, " is already taken"));
      MemSeries* dead = s.release();
      reclaimer_->Retire([this, dead] { FreeSeries(dead); });
      continue;
    }
    s.release();
    (*out)[i] = in[i].ref;
    max_ref = std::max(max_ref, in[i].ref);
    linked_refs.push_back(in[i].ref);
    linked_lsets.push_back(&lset);
  }
  reclaimer_->Unpin(epoch);
  for (const auto& [i, first] : repeats) (*out)[i] = (*out)[first];
  SeriesRef last = last_ref_.load(std::memory_order_relaxed);
  while (last < max_ref && !last_ref_.compare_exchange_weak(last, max_ref)) {
  }
  postings_->AddAll(linked_refs.data(), linked_lsets.data(),
                    linked_refs.size());
  num_series_.fetch_add(linked_refs.size(), std::memory_order_relaxed);
  series_created_.fetch_add(linked_refs.size(), std::memory_order_relaxed);
  if (opts_.lifecycle != nullptr) {
    for (const labels::Labels* l : linked_lsets) {
      opts_.lifecycle->PostCreation(*l);
    }
  }
  return st;
}

absl::StatusOr<labels::Labels> Head::SeriesLabels(SeriesRef ref) const {
  const uint64_t epoch = reclaimer_->Pin();
  absl::StatusOr<labels::Labels> out =
      absl::NotFoundError(absl::StrCat("head: series ", ref, " not found"));
  if (MemSeries* s = series_->GetByRef(ref)) out = LabelsOf(*s);
  reclaimer_->Unpin(epoch);
  return out;
}

absl::Status Head::DropSeriesSamplesForReplay(SeriesRef ref) {
  const uint64_t epoch = reclaimer_->Pin();
  absl::Status st =
      absl::NotFoundError(absl::StrCat("head: series ", ref, " not found"));
  if (MemSeries* s = series_->GetByRef(ref)) {
    size_t removed;
    {
      std::lock_guard lock(s->mu);
      removed = s->DropAllChunks();
    }
    num_chunks_.fetch_sub(removed, std::memory_order_relaxed);
    chunks_removed_.fetch_add(removed, std::memory_order_relaxed);
    st = absl::OkStatus();
  }
  reclaimer_->Unpin(epoch);
  return st;
}

absl::Status Head::ResetSeriesWithMappedChunks(
    SeriesRef ref, const std::vector<MappedChunk>& chunks) {
  if (!chunks.empty() && opts_.chunk_mapper == nullptr) {
    return absl::FailedPreconditionError(
        "head: m-mapped chunks attached without a chunk mapper");
  }
  const uint64_t epoch = reclaimer_->Pin();
  absl::Status st =
      absl::NotFoundError(absl::StrCat("head: series ", ref, " not found"));
  if (MemSeries* s = series_->GetByRef(ref)) {
    size_t removed;
    {
      std::lock_guard lock(s->mu);
      removed = s->DropAllChunks();
      st = s->AttachMappedChunks(chunks);
    }
    num_chunks_.fetch_sub(removed, std::memory_order_relaxed);
    chunks_removed_.fetch_add(removed, std::memory_order_relaxed);
    if (st.ok() && !chunks.empty()) {
      num_chunks_.fetch_add(chunks.size(), std::memory_order_relaxed);
      chunks_attached_.fetch_add(chunks.size(), std::memory_order_relaxed);
      InitTime(chunks.front().min_time);
      UpdateMinMaxTime(chunks.front().min_time, chunks.back().max_time);
    } else if (!st.ok()) {
      st = absl::Status(st.code(),
                        absl::StrCat("series ", ref, ": ", st.message()));
    }
  }
  reclaimer_->Unpin(epoch);
  return st;
}

absl::Status Head::AttachMappedChunks(SeriesRef ref,
                                      const std::vector<MappedChunk>& chunks) {
  if (opts_.chunk_mapper == nullptr) {
    return absl::FailedPreconditionError(
        "head: m-mapped chunks attached without a chunk mapper");
  }
  if (chunks.empty()) return absl::OkStatus();
  const uint64_t epoch = reclaimer_->Pin();
  absl::Status st =
      absl::NotFoundError(absl::StrCat("head: series ", ref, " not found"));
  if (MemSeries* s = series_->GetByRef(ref)) {
    {
      std::lock_guard lock(s->mu);
      st = s->AttachMappedChunks(chunks);
    }
    if (st.ok()) {
      num_chunks_.fetch_add(chunks.size(), std::memory_order_relaxed);
      chunks_attached_.fetch_add(chunks.size(), std::memory_order_relaxed);
      InitTime(chunks.front().min_time);
      UpdateMinMaxTime(chunks.front().min_time, chunks.back().max_time);
    } else {
      st = absl::Status(st.code(),
                        absl::StrCat("series ", ref, ": ", st.message()));
    }
  }
  reclaimer_->Unpin(epoch);
  return st;
}

SeriesRef Head::GetRef(const labels::Labels& lset) const {
  const uint64_t epoch = reclaimer_->Pin();
  MemSeries* s = FindByLabels(lset, SeriesHash(lset));
  const SeriesRef ref = s != nullptr ? s->ref() : 0;
  reclaimer_->Unpin(epoch);
  return ref;
}

void Head::InitTime(int64_t t) {
  int64_t expected = std::numeric_limits<int64_t>::max();
  if (!min_time_.compare_exchange_strong(expected, t)) return;
  expected = std::numeric_limits<int64_t>::min();
  max_time_.compare_exchange_strong(expected, t);
}

void Head::UpdateMinMaxTime(int64_t mint, int64_t maxt) {
  AtomicMin(min_time_, mint);
  AtomicMax(max_time_, maxt);
}

int64_t Head::AppendableMinValidTime() const {
  // Samples may go back at most half a chunk range behind the newest one
  // (so head compaction never races appends), and never before the last
  // truncation.
  const int64_t maxt = MaxTime();
  const int64_t half = opts_.chunk_range / 2;
  const int64_t window = maxt < std::numeric_limits<int64_t>::min() + half
                             ? std::numeric_limits<int64_t>::min()
                             : maxt - half;
  return std::max(window, MinValidTime());
}

absl::Status Head::Truncate(int64_t mint) {
  std::lock_guard truncate_lock(truncate_mu_);
  if (initialized() && MinTime() >= mint) return absl::OkStatus();
  min_time_.store(mint, std::memory_order_release);
  AtomicMax(min_valid_time_, mint);

  int64_t actual_mint = std::numeric_limits<int64_t>::max();
  uint64_t chunks_removed = 0;
  std::vector<MemSeries*> dead = series_->Collect([&](MemSeries& s) {
    std::lock_guard lock(s.mu);
    chunks_removed += s.TruncateChunksBefore(mint);
    if (s.NumChunks() == 0 && s.pending == 0 &&
        (s.ooo == nullptr || s.ooo->empty())) {
      s.deleted = true;
      return true;
    }
    actual_mint = std::min(actual_mint, s.min_time());
    return false;
  });

  if (actual_mint > mint) {
    // Nothing left as old as mint: move the head's range up to the data, as
    // far as appends may still reach.
    const int64_t v = std::min(actual_mint, AppendableMinValidTime());
    if (v > mint) {
      min_time_.store(v, std::memory_order_release);
      AtomicMax(min_valid_time_, v);
    }
  }

  std::vector<std::pair<SeriesRef, labels::Labels>> gone;
  gone.reserve(dead.size());
  for (MemSeries* s : dead) gone.emplace_back(s->ref(), LabelsOf(*s));
  postings_->Delete(gone);
  num_chunks_.fetch_sub(chunks_removed, std::memory_order_relaxed);
  chunks_removed_.fetch_add(chunks_removed, std::memory_order_relaxed);
  num_series_.fetch_sub(dead.size(), std::memory_order_relaxed);
  series_removed_.fetch_add(dead.size(), std::memory_order_relaxed);
  if (opts_.lifecycle != nullptr && !gone.empty()) {
    std::vector<labels::Labels> deleted;
    deleted.reserve(gone.size());
    for (auto& [ref, lset] : gone) deleted.push_back(std::move(lset));
    opts_.lifecycle->PostDeletion(deleted);
  }

  std::vector<EpochReclaimer::FreeFn> frees;
  frees.reserve(dead.size());
  for (MemSeries* s : dead) frees.push_back([this, s] { FreeSeries(s); });
  reclaimer_->Retire(std::move(frees));
  Reclaim();
  if (opts_.chunk_mapper != nullptr) {
    // Files all of whose chunks are older than mint are referenced by no
    // series any more (Prometheus's truncateMemory).
    TSDB_RETURN_IF_ERROR(opts_.chunk_mapper->Truncate(mint));
  }
  return absl::OkStatus();
}

HeadStats Head::Stats() const {
  HeadStats st;
  st.num_series = num_series_.load(std::memory_order_relaxed);
  st.num_chunks = num_chunks_.load(std::memory_order_relaxed);
  st.min_time = MinTime();
  st.max_time = MaxTime();
  st.min_valid_time = MinValidTime();
  st.series_created = series_created_.load(std::memory_order_relaxed);
  st.series_removed = series_removed_.load(std::memory_order_relaxed);
  st.chunks_created = chunks_created_.load(std::memory_order_relaxed);
  st.chunks_removed = chunks_removed_.load(std::memory_order_relaxed);
  st.samples_appended = samples_appended_.load(std::memory_order_relaxed);
  st.out_of_order_samples = out_of_order_.load(std::memory_order_relaxed);
  st.out_of_bound_samples = out_of_bounds_.load(std::memory_order_relaxed);
  st.duplicate_samples = duplicates_.load(std::memory_order_relaxed);
  st.commit_dropped = commit_dropped_.load(std::memory_order_relaxed);
  st.chunks_mapped = chunks_mapped_.load(std::memory_order_relaxed);
  st.chunk_map_failures = chunk_map_failures_.load(std::memory_order_relaxed);
  st.chunks_attached = chunks_attached_.load(std::memory_order_relaxed);
  st.ooo_samples_appended = ooo_appended_.load(std::memory_order_relaxed);
  st.ooo_too_old_samples = ooo_too_old_.load(std::memory_order_relaxed);
  st.ooo_duplicate_samples = ooo_duplicates_.load(std::memory_order_relaxed);
  st.ooo_samples = ooo_samples_.load(std::memory_order_relaxed);
  st.ooo_frozen_samples = ooo_frozen_samples_.load(std::memory_order_relaxed);
  st.ooo_min_time = ooo_min_.load(std::memory_order_relaxed);
  st.ooo_max_time = ooo_max_.load(std::memory_order_relaxed);
  st.ooo_late_wbl_failures =
      ooo_late_wbl_failures_.load(std::memory_order_relaxed);
  return st;
}

void Head::NoteOooInserted(uint64_t n, int64_t mint, int64_t maxt) {
  ooo_live_samples_.fetch_add(n, std::memory_order_relaxed);
  AtomicMin(ooo_live_min_, mint);
  AtomicMax(ooo_live_max_, maxt);
  AtomicMin(ooo_min_, mint);
  AtomicMax(ooo_max_, maxt);
  ooo_samples_.fetch_add(n, std::memory_order_relaxed);
}

std::unique_lock<std::shared_mutex> Head::LockOooExclusive() {
  ooo_exclusive_waiting_.fetch_add(1, std::memory_order_acq_rel);
  std::unique_lock lock(ooo_mu_);
  ooo_exclusive_waiting_.fetch_sub(1, std::memory_order_acq_rel);
  return lock;
}

OooFreeze Head::FreezeOoo() {
  std::unique_lock lock = LockOooExclusive();
  OooFreeze f;
  f.id = ooo_gen_.load(std::memory_order_relaxed);
  f.num_samples = ooo_live_samples_.exchange(0, std::memory_order_relaxed);
  f.min_time = ooo_live_min_.exchange(std::numeric_limits<int64_t>::max(),
                                      std::memory_order_relaxed);
  f.max_time = ooo_live_max_.exchange(std::numeric_limits<int64_t>::min(),
                                      std::memory_order_relaxed);
  ooo_frozen_samples_.fetch_add(f.num_samples, std::memory_order_relaxed);
  ooo_frozen_through_.store(f.id, std::memory_order_release);
  ooo_gen_.store(f.id + 1, std::memory_order_release);
  return f;
}

void Head::DropFrozenOoo(uint64_t id) {
  std::lock_guard drop_lock(truncate_mu_);
  {
    std::unique_lock lock = LockOooExclusive();
    id = std::min(id, ooo_frozen_through_.load(std::memory_order_relaxed));
    if (id <= ooo_dropped_through_.load(std::memory_order_relaxed)) return;
    ooo_dropped_through_.store(id, std::memory_order_release);
  }
  uint64_t removed = 0;
  int64_t mint = std::numeric_limits<int64_t>::max();
  int64_t maxt = std::numeric_limits<int64_t>::min();
  series_->ForEach([&](MemSeries& s) {
    std::lock_guard lock(s.mu);
    if (s.ooo == nullptr) return;
    removed += s.ooo->DropThrough(id);
    if (s.ooo->empty()) {
      s.ooo.reset();
      return;
    }
    for (const OooChunk& c : s.ooo->chunks()) {
      if (c.samples.empty()) continue;
      mint = std::min(mint, c.samples.front().t);
      maxt = std::max(maxt, c.samples.back().t);
    }
  });
  {
    // Inserts after the walk are in the live generation's range.
    std::unique_lock lock = LockOooExclusive();
    ooo_min_.store(
        std::min(mint, ooo_live_min_.load(std::memory_order_relaxed)),
        std::memory_order_relaxed);
    ooo_max_.store(
        std::max(maxt, ooo_live_max_.load(std::memory_order_relaxed)),
        std::memory_order_relaxed);
  }
  ooo_samples_.fetch_sub(removed, std::memory_order_relaxed);
  ooo_frozen_samples_.fetch_sub(removed, std::memory_order_relaxed);
}

OooReplayResult Head::ReplayOooSamples(
    const std::vector<SampleRecord>& samples) {
  OooReplayResult r;
  std::shared_lock lock(ooo_mu_);
  const uint64_t gen = ooo_gen_.load(std::memory_order_acquire);
  const size_t cap = static_cast<size_t>(std::max(opts_.ooo_cap_max, 1));
  int64_t mint = std::numeric_limits<int64_t>::max();
  int64_t maxt = std::numeric_limits<int64_t>::min();
  const uint64_t epoch = reclaimer_->Pin();
  MemSeries* s = nullptr;
  SeriesRef last_ref = 0;
  for (const SampleRecord& rec : samples) {
    if (s == nullptr || rec.ref != last_ref) {
      s = series_->GetByRef(rec.ref);
      last_ref = rec.ref;
    }
    if (s == nullptr) {
      ++r.unknown_refs;
      continue;
    }
    std::lock_guard series_lock(s->mu);
    if (s->ooo == nullptr) s->ooo = std::make_unique<OooSeries>();
    // Sequence 0: visible to every reader at once.
    if (s->ooo->Insert(rec.t, rec.v, 0, gen, cap)) {
      ++r.inserted;
      mint = std::min(mint, rec.t);
      maxt = std::max(maxt, rec.t);
    } else {
      ++r.duplicates;
    }
  }
  reclaimer_->Unpin(epoch);
  if (r.inserted > 0) NoteOooInserted(r.inserted, mint, maxt);
  return r;
}

HeadMemoryStats Head::MemoryStats() const {
  HeadMemoryStats m;
  series_->ForEach([&](MemSeries& s) {
    std::lock_guard lock(s.mu);
    m.series += s.MemoryBytes();
  });
  m.symbols = symbols_->MemoryBytes();
  m.postings = postings_->GetStats().memory_bytes;
  m.stripes = series_->MemoryBytes();
  m.total = m.series + m.symbols + m.postings + m.stripes;
  return m;
}

}  // namespace tsdb::head
