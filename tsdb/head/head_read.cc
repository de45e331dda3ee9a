// The head's read path: an IndexReader and a ChunkReader over one snapshot.
//
// Concurrent reads of a chunk being appended to: the reader copies the
// chunk's bytes under the series lock (the XOR appender rewrites the last
// bytes and the count header in place, so bytes are never read unlocked),
// then decodes its private copy. A chunk holds ~120 samples (~150-250
// bytes), so the copy is cheap, and the returned Chunk is a stable snapshot.
//
// M-mapped chunks (HeadOptions::chunk_mapper): under the series lock only
// the chunk's mapper ref is taken; the record is read and CRC-checked
// through the mapper after the lock is released (the bytes there never
// change).
//
// Isolation: the snapshot's watermark W fixes, per series, how many samples
// are visible (series.h, VisibleEnd). A chunk whose samples are only partly
// visible (a commit in flight, or a reader older than the latest commits)
// is re-encoded from its visible prefix, so its bytes are a valid chunk of
// exactly those samples (appending is deterministic, so they equal what the
// chunk held at that point).
//
// Out-of-order chunks (ooo.h): Series() copies the samples of each listed
// out-of-order chunk that the snapshot may see (commit seq <= watermark,
// generation in range) and encodes them with the head's codec into a cache
// shared by the snapshot's readers; Chunk() serves those bytes, so a chunk
// listed once stays readable after DropFrozenOoo frees it. A ref not in
// the cache is looked up in the series.
#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/chunks/head_chunks.h"
#include "tsdb/head/head.h"
#include "tsdb/head/isolation.h"
#include "tsdb/head/ooo.h"
#include "tsdb/head/series.h"
#include "tsdb/head/stripe_series.h"

namespace tsdb::head {

// What both readers of one snapshot share; released with the last of them.
class HeadReadState final {
 public:
  HeadReadState(Head* head, int64_t mint, int64_t maxt, bool isolation)
      : head(head), mint(mint), maxt(maxt), isolation(isolation) {
    epoch = head->reclaimer_->Pin();
    watermark = isolation ? head->iso_->OpenRead() : Isolation::kNoIsolation;
    ooo_after_gen = head->ooo_dropped_through_.load(std::memory_order_acquire);
  }
  ~HeadReadState() {
    if (isolation) head->iso_->CloseRead(watermark);
    head->reclaimer_->Unpin(epoch);
    head->Reclaim();
  }
  HeadReadState(const HeadReadState&) = delete;
  HeadReadState& operator=(const HeadReadState&) = delete;

  Head* const head;
  const int64_t mint;
  const int64_t maxt;
  const bool isolation;
  uint64_t watermark = 0;
  uint64_t epoch = 0;
  // Which chunks: in-order ones, out-of-order ones of generations in
  // (ooo_after_gen, ooo_through_gen].
  bool in_order = true;
  bool ooo = true;
  uint64_t ooo_after_gen = 0;
  uint64_t ooo_through_gen = ~uint64_t{0};

  bool OooGenVisible(uint64_t gen) const {
    return gen > ooo_after_gen && gen <= ooo_through_gen;
  }
  // The samples of out-of-order chunk `c` this snapshot sees.
  void VisibleOoo(const OooChunk& c, std::vector<chunkenc::Sample>* out) const {
    out->clear();
    if (!OooGenVisible(c.gen)) return;
    for (const OooSample& x : c.samples) {
      if (x.seq <= watermark) out->push_back(chunkenc::Sample{x.t, x.v});
    }
  }

  std::mutex cache_mu;
  // Out-of-order chunk ref -> encoded bytes (see the file comment).
  absl::flat_hash_map<ChunkRef, std::string> ooo_cache
      ABSL_GUARDED_BY(cache_mu);
};

namespace {

// Decodes the first `n` samples of `bytes` into a new chunk.
absl::StatusOr<std::unique_ptr<chunkenc::Chunk>> Reencode(
    const chunkenc::ChunkCodec& codec, std::string_view bytes, uint32_t n) {
  std::unique_ptr<chunkenc::SampleIterator> it = codec.NewIterator(bytes);
  std::unique_ptr<chunkenc::Chunk> chunk = codec.NewChunk();
  TSDB_ASSIGN_OR_RETURN(std::unique_ptr<chunkenc::ChunkAppender> app,
                        chunk->Appender());
  for (uint32_t i = 0; i < n; ++i) {
    if (!it->Next()) {
      TSDB_RETURN_IF_ERROR(it->status());
      return absl::DataLossError(
          absl::StrCat("head chunk: ", i, " samples, expected ", n));
    }
    const chunkenc::Sample s = it->At();
    app->Append(s.t, s.v);
  }
  return chunk;
}

// The bytes of chunk `c`: copied from memory, or, for a chunk in the chunk
// mapper, only its ref is kept (read later, outside the series lock).
void CopyChunk(const ChunkView& c, std::string* bytes, uint64_t* mapped_ref) {
  *mapped_ref = c.mapped_ref;
  if (c.mapped_ref == 0) bytes->assign(c.bytes.data(), c.bytes.size());
}

// Reads a chunk from the chunk mapper into `bytes`.
absl::Status ReadMapped(const Head& head, uint64_t mapped_ref,
                        ChunkRef head_ref, std::string* bytes) {
  chunks::HeadChunkRecord rec;
  absl::Status st = head.options().chunk_mapper->ReadChunk(mapped_ref, &rec);
  if (!st.ok()) {
    return absl::Status(st.code(),
                        absl::StrCat("head chunk ref ", head_ref,
                                     ": m-mapped chunk: ", st.message()));
  }
  *bytes = std::move(rec.data);
  return absl::OkStatus();
}

// Encodes samples (sorted by t) with the head's codec.
absl::StatusOr<std::string> EncodeSamples(
    const chunkenc::ChunkCodec& codec,
    const std::vector<chunkenc::Sample>& samples) {
  std::unique_ptr<chunkenc::Chunk> chunk = codec.NewChunk();
  TSDB_ASSIGN_OR_RETURN(std::unique_ptr<chunkenc::ChunkAppender> app,
                        chunk->Appender());
  for (const chunkenc::Sample& x : samples) app->Append(x.t, x.v);
  app.reset();
  return std::string(chunk->Bytes());
}

}  // namespace

class HeadIndexReader final : public IndexReader {
 public:
  explicit HeadIndexReader(std::shared_ptr<HeadReadState> st)
      : st_(std::move(st)), head_(*st_->head) {}

  absl::StatusOr<std::vector<std::string>> LabelNames() const override {
    return head_.postings_->LabelNames();
  }

  absl::StatusOr<std::vector<std::string>> LabelValues(
      std::string_view name) const override {
    return head_.postings_->LabelValues(name);
  }

  std::unique_ptr<postings::Postings> Postings(
      std::string_view name, std::string_view value) const override {
    return head_.postings_->Get(name, value);
  }

  absl::Status Series(SeriesRef ref, labels::Labels* lset,
                      std::vector<ChunkMeta>* chunks) const override;

  std::unique_ptr<postings::Postings> SortedPostings(
      std::unique_ptr<postings::Postings> p) const override;

 private:
  std::shared_ptr<HeadReadState> st_;
  const Head& head_;
};

absl::Status HeadIndexReader::Series(SeriesRef ref, labels::Labels* lset,
                                     std::vector<ChunkMeta>* chunks) const {
  MemSeries* s = head_.series_->GetByRef(ref);
  if (s == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("head: series ", ref, " not found"));
  }
  *lset = head_.LabelsOf(*s);
  chunks->clear();
  const int64_t mint = st_->mint;
  const int64_t maxt = st_->maxt;
  // At most one chunk is partly visible; its last visible timestamp is
  // found by decoding a copy outside the lock.
  std::string partial;
  uint64_t partial_mapped = 0;
  size_t partial_pos = 0;
  uint64_t partial_n = 0;
  // Out-of-order chunks this snapshot sees: (meta, samples).
  std::vector<std::pair<ChunkMeta, std::vector<chunkenc::Sample>>> ooo;
  {
    std::lock_guard lock(s->mu);
    if (st_->ooo && s->ooo != nullptr) {
      std::vector<chunkenc::Sample> buf;
      for (const OooChunk& c : s->ooo->chunks()) {
        st_->VisibleOoo(c, &buf);
        if (buf.empty() || buf.front().t > maxt || buf.back().t < mint) {
          continue;
        }
        const ChunkMeta m{
            PackHeadChunkRef(ref, kOooChunkFlag | (c.id & (kOooChunkFlag - 1))),
            buf.front().t, buf.back().t};
        ooo.emplace_back(m, buf);
      }
    }
    if (st_->in_order) {
      const uint64_t end = s->VisibleEnd(st_->watermark);
      s->ForEachChunk([&](const ChunkView& c) {
        if (c.first_index >= end || c.num_samples == 0) return;
        const uint64_t visible =
            std::min<uint64_t>(c.num_samples, end - c.first_index);
        if (c.min_time > maxt) return;
        if (visible < c.num_samples) {
          CopyChunk(c, &partial, &partial_mapped);
          partial_pos = chunks->size();
          partial_n = visible;
        } else if (c.max_time < mint) {
          return;
        }
        chunks->push_back(
            ChunkMeta{PackHeadChunkRef(ref, c.id), c.min_time, c.max_time});
      });
    }
  }
  if (partial_n > 0) {
    if (partial_mapped != 0) {
      TSDB_RETURN_IF_ERROR(ReadMapped(head_, partial_mapped,
                                      (*chunks)[partial_pos].ref, &partial));
    }
    std::unique_ptr<chunkenc::SampleIterator> it =
        head_.codec_->NewIterator(partial);
    int64_t last = (*chunks)[partial_pos].min_time;
    for (uint64_t i = 0; i < partial_n; ++i) {
      if (!it->Next()) {
        TSDB_RETURN_IF_ERROR(it->status());
        return absl::DataLossError(
            absl::StrCat("head: series ", ref, ": short open chunk"));
      }
      last = it->At().t;
    }
    if (last < mint) {
      chunks->erase(chunks->begin() + static_cast<ptrdiff_t>(partial_pos));
    } else {
      (*chunks)[partial_pos].max_time = last;
    }
  }
  if (!ooo.empty()) {
    for (auto& [meta, samples] : ooo) {
      TSDB_ASSIGN_OR_RETURN(std::string bytes,
                            EncodeSamples(*head_.codec_, samples));
      {
        std::lock_guard lock(st_->cache_mu);
        st_->ooo_cache[meta.ref] = std::move(bytes);
      }
      chunks->push_back(meta);
    }
    // In-order chunks are sorted by min time already; out-of-order ones
    // go among them.
    std::stable_sort(chunks->begin(), chunks->end(),
                     [](const ChunkMeta& a, const ChunkMeta& b) {
                       return a.min_time < b.min_time;
                     });
  }
  return absl::OkStatus();
}

std::unique_ptr<postings::Postings> HeadIndexReader::SortedPostings(
    std::unique_ptr<postings::Postings> p) const {
  std::vector<MemSeries*> series;
  while (p->Next()) {
    if (MemSeries* s = head_.series_->GetByRef(p->At())) series.push_back(s);
  }
  if (absl::Status st = p->status(); !st.ok()) {
    return std::make_unique<postings::EmptyPostings>(std::move(st));
  }
  std::sort(series.begin(), series.end(),
            [&](const MemSeries* a, const MemSeries* b) {
              const int c = head_.Compare(*a, *b);
              return c != 0 ? c < 0 : a->ref() < b->ref();
            });
  std::vector<SeriesRef> refs;
  refs.reserve(series.size());
  for (const MemSeries* s : series) refs.push_back(s->ref());
  // In label order, not ascending: Next works, Seek is meaningless (as for
  // Prometheus's head).
  return std::make_unique<postings::ListPostings>(std::move(refs));
}

class HeadChunkReader final : public ChunkReader {
 public:
  explicit HeadChunkReader(std::shared_ptr<HeadReadState> st)
      : st_(std::move(st)), head_(*st_->head) {}

  absl::StatusOr<std::unique_ptr<chunkenc::Chunk>> Chunk(
      const ChunkMeta& meta) const override;

 private:
  absl::StatusOr<std::unique_ptr<chunkenc::Chunk>> ReadOooChunk(
      const ChunkMeta& meta) const;

  std::shared_ptr<HeadReadState> st_;
  const Head& head_;
};

absl::StatusOr<std::unique_ptr<chunkenc::Chunk>> HeadChunkReader::ReadOooChunk(
    const ChunkMeta& meta) const {
  {
    std::lock_guard lock(st_->cache_mu);
    auto it = st_->ooo_cache.find(meta.ref);
    if (it != st_->ooo_cache.end()) return head_.codec_->FromBytes(it->second);
  }
  const SeriesRef ref = HeadChunkRefSeries(meta.ref);
  const uint64_t id = HeadChunkRefId(meta.ref) & (kOooChunkFlag - 1);
  MemSeries* s = head_.series_->GetByRef(ref);
  if (s == nullptr) {
    return absl::NotFoundError(absl::StrCat("head chunk ref ", meta.ref,
                                            ": series ", ref, " not found"));
  }
  std::vector<chunkenc::Sample> samples;
  {
    std::lock_guard lock(s->mu);
    const head::OooChunk* c =
        s->ooo != nullptr ? s->ooo->Find(id, kHeadChunkIdBits - 1) : nullptr;
    if (c != nullptr) st_->VisibleOoo(*c, &samples);
  }
  if (samples.empty()) {
    return absl::NotFoundError(
        absl::StrCat("head chunk ref ", meta.ref, ": out-of-order chunk ", id,
                     " of series ", ref, " not found (dropped)"));
  }
  TSDB_ASSIGN_OR_RETURN(std::string bytes,
                        EncodeSamples(*head_.codec_, samples));
  return head_.codec_->FromBytes(bytes);
}

absl::StatusOr<std::unique_ptr<chunkenc::Chunk>> HeadChunkReader::Chunk(
    const ChunkMeta& meta) const {
  const SeriesRef ref = HeadChunkRefSeries(meta.ref);
  const uint64_t id = HeadChunkRefId(meta.ref);
  if (IsOooChunkRef(meta.ref)) return ReadOooChunk(meta);
  MemSeries* s = head_.series_->GetByRef(ref);
  if (s == nullptr) {
    return absl::NotFoundError(absl::StrCat("head chunk ref ", meta.ref,
                                            ": series ", ref, " not found"));
  }
  std::string bytes;
  uint64_t mapped_ref = 0;
  uint32_t num_samples = 0;
  uint64_t visible = 0;
  {
    std::lock_guard lock(s->mu);
    const uint64_t idx = (id - s->first_chunk_id()) & kHeadChunkIdMask;
    if (idx >= s->NumChunks()) {
      return absl::NotFoundError(absl::StrCat("head chunk ref ", meta.ref,
                                              ": chunk ", id, " of series ",
                                              ref, " not found (truncated)"));
    }
    const ChunkView c = s->Chunk(idx);
    const uint64_t end = s->VisibleEnd(st_->watermark);
    if (c.first_index >= end) {
      return absl::NotFoundError(absl::StrCat(
          "head chunk ref ", meta.ref, ": no samples visible to this reader"));
    }
    visible = std::min<uint64_t>(c.num_samples, end - c.first_index);
    num_samples = c.num_samples;
    CopyChunk(c, &bytes, &mapped_ref);
  }
  // A chunk in the mapper is immutable: read it without the series lock. If
  // a Truncate deleted its file meanwhile, the mapper says NotFound.
  if (mapped_ref != 0) {
    TSDB_RETURN_IF_ERROR(ReadMapped(head_, mapped_ref, meta.ref, &bytes));
  }
  if (visible == num_samples) return head_.codec_->FromBytes(bytes);
  return Reencode(*head_.codec_, bytes, static_cast<uint32_t>(visible));
}

HeadReaders Head::Readers(int64_t mint, int64_t maxt, ReadOptions opts) {
  auto st = std::make_shared<HeadReadState>(this, mint, maxt, opts.isolation);
  st->in_order = !opts.only_ooo;
  st->ooo = !opts.exclude_ooo;
  HeadReaders r;
  r.index = std::make_unique<HeadIndexReader>(st);
  r.chunks = std::make_unique<HeadChunkReader>(std::move(st));
  return r;
}

HeadReaders Head::FrozenOooReaders(int64_t mint, int64_t maxt) {
  auto st = std::make_shared<HeadReadState>(this, mint, maxt,
                                            /*isolation=*/false);
  st->in_order = false;
  st->ooo = true;
  st->ooo_through_gen = ooo_frozen_through_.load(std::memory_order_acquire);
  HeadReaders r;
  r.index = std::make_unique<HeadIndexReader>(st);
  r.chunks = std::make_unique<HeadChunkReader>(std::move(st));
  return r;
}

}  // namespace tsdb::head
