// Remote write: the hot path walks the decoded WriteRequest in place; see
// remote_write.h for the contract and the cache.
#include "frontends/server/remote_write.h"

#include <snappy.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "frontends/server/proto_wire.h"
#include "tsdb/base/crc32c.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/labels/labels.h"

namespace tsdb::server {
namespace {

// Decoded-body buffers are kept per thread; one that grew past this is
// released after the request.
constexpr size_t kKeepBufferBytes = size_t{16} << 20;

std::string_view ToStd(absl::string_view s) { return {s.data(), s.size()}; }
absl::string_view AV(std::string_view s) { return {s.data(), s.size()}; }

absl::Status Malformed(std::string_view what, const WireReader& r) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid protobuf: ", AV(what), ": ", r.error()));
}

// One Sample message: double value = 1; int64 timestamp = 2.
bool ParseSample(std::string_view b, int64_t* t, double* v) {
  // Fast path: what every encoder writes, value then timestamp.
  if (b.size() >= 11 && b[0] == 0x09 && b[9] == 0x10) {
    std::memcpy(v, b.data() + 1, 8);
    WireReader r(b.substr(10));
    uint64_t ts;
    if (r.ReadVarint(&ts) && r.done()) {
      *t = static_cast<int64_t>(ts);
      return true;
    }
  }
  *t = 0;
  *v = 0;
  WireReader r(b);
  uint32_t field;
  WireType type;
  while (r.NextField(&field, &type)) {
    if (field == 1 && type == WireType::kFixed64) {
      if (!r.ReadDouble(v)) return false;
    } else if (field == 2 && type == WireType::kVarint) {
      uint64_t ts;
      if (!r.ReadVarint(&ts)) return false;
      *t = static_cast<int64_t>(ts);
    } else if (!r.Skip(type)) {
      return false;
    }
  }
  return r.ok();
}

// `{a="1", b="2"}` from raw pairs (for error messages only).
std::string PairsString(
    const std::vector<std::pair<std::string_view, std::string_view>>& pairs) {
  std::string s = "{";
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (i > 0) s += ", ";
    absl::StrAppend(&s, AV(pairs[i].first), "=",
                    labels::GoQuote(pairs[i].second));
  }
  s += "}";
  return s;
}

// Parses and validates the Label fields of a TimeSeries.
absl::StatusOr<labels::Labels> ParseLabels(std::string_view ts) {
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  WireReader r(ts);
  uint32_t field;
  WireType type;
  while (r.NextField(&field, &type)) {
    if (field != 1) {
      if (!r.Skip(type)) break;
      continue;
    }
    std::string_view label;
    if (type != WireType::kLen) {
      r.Fail("label is not length-delimited");
      break;
    }
    if (!r.ReadLen(&label)) break;
    std::string_view name, value;
    WireReader lr(label);
    uint32_t lf;
    WireType lt;
    while (lr.NextField(&lf, &lt)) {
      if ((lf == 1 || lf == 2) && lt == WireType::kLen) {
        if (!lr.ReadLen(lf == 1 ? &name : &value)) break;
      } else if (!lr.Skip(lt)) {
        break;
      }
    }
    if (!lr.ok()) return Malformed("Label", lr);
    pairs.emplace_back(name, value);
  }
  if (!r.ok()) return Malformed("TimeSeries", r);
  std::vector<labels::Label> out;
  out.reserve(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    const std::string_view name = pairs[i].first;
    if (name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid labels ", PairsString(pairs), ": empty label name"));
    }
    if (i > 0) {
      const int c = name.compare(pairs[i - 1].first);
      if (c == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid labels ", PairsString(pairs), ": label name ",
                         labels::GoQuote(name), " is not unique"));
      }
      if (c < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "invalid labels ", PairsString(pairs),
            ": labels are not sorted by name (", labels::GoQuote(name),
            " after ", labels::GoQuote(pairs[i - 1].first), ")"));
      }
    }
    // An empty value is the same as an absent label.
    if (!pairs[i].second.empty()) {
      out.push_back(
          labels::Label{std::string(name), std::string(pairs[i].second)});
    }
  }
  if (out.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid labels ", PairsString(pairs), ": empty labelset"));
  }
  return labels::Labels::FromSorted(std::move(out));
}

// Maps an append error to the request's answer and reason.
absl::Status AppendError(const absl::Status& s, std::string_view ts, int64_t t,
                         WriteOutcome* outcome) {
  const std::string_view msg = ToStd(s.message());
  struct Known {
    std::string_view prefix;
    const char* reason;
  };
  static constexpr Known kKnown[] = {
      {"out of order sample", "out_of_order"},
      {"out of bounds", "out_of_bounds"},
      {"duplicate sample for timestamp", "duplicate"},
      {"too old sample", "too_old"},
  };
  std::string series = "?";
  if (absl::StatusOr<labels::Labels> lset = ParseLabels(ts); lset.ok()) {
    series = lset->ToString();
  }
  if (s.code() == absl::StatusCode::kFailedPrecondition) {
    for (const Known& k : kKnown) {
      if (msg.substr(0, k.prefix.size()) == k.prefix) {
        outcome->reject_reason = k.reason;
        return absl::InvalidArgumentError(
            absl::StrCat(AV(msg), " for series ", series, " at timestamp ", t));
      }
    }
  }
  if (s.code() == absl::StatusCode::kInvalidArgument) {
    outcome->reject_reason = "invalid_labels";
    return absl::InvalidArgumentError(
        absl::StrCat("invalid series ", series, ": ", AV(msg)));
  }
  outcome->reject_reason = "storage";
  return absl::InternalError(absl::StrCat("append to ", series, ": ", AV(msg)));
}

const labels::Labels& EmptyLabels() {
  static const labels::Labels* const kEmpty = new labels::Labels();
  return *kEmpty;
}

// One TimeSeries of the request, located by the first pass.
struct SeriesItem {
  std::string_view ts;  // the TimeSeries message
  SeriesRefCache::Key key;
  bool cacheable;  // its Label fields are contiguous: `key` is their hash
};

// First pass over a TimeSeries: where its labels are (the cache key) and
// whether it has samples; rejects malformed messages and histograms before
// anything is appended.
absl::Status ScanSeries(std::string_view ts, std::vector<SeriesItem>* items,
                        WriteOutcome* outcome) {
  const char* labels_begin = nullptr;
  const char* labels_end = nullptr;
  bool labels_contiguous = true;
  bool has_samples = false;
  WireReader r(ts);
  uint32_t field;
  WireType type;
  for (;;) {
    const char* start = r.position();
    if (!r.NextField(&field, &type)) break;
    if ((field == 1 || field == 2 || field == 4) && type != WireType::kLen) {
      r.Fail("repeated message field is not length-delimited");
      break;
    }
    if (!r.Skip(type)) break;
    if (field == 1) {
      if (labels_begin == nullptr) {
        labels_begin = start;
      } else if (start != labels_end) {
        labels_contiguous = false;
      }
      labels_end = r.position();
    } else if (field == 2) {
      has_samples = true;
    } else if (field == 4) {
      outcome->reject_reason = "histograms";
      return absl::InvalidArgumentError(
          "native histograms are not supported by this server");
    }
  }
  if (!r.ok()) {
    outcome->reject_reason = "malformed";
    return Malformed("TimeSeries", r);
  }
  if (!has_samples) return absl::OkStatus();  // nothing to append
  // Filled in place, field by field: building the item on the stack and
  // copying it in was the hottest spot of this pass in perf (a store
  // forwarding stall: two 8-byte stores reloaded as one 16-byte load).
  SeriesItem& item = items->emplace_back();
  item.ts = ts;
  item.cacheable = labels_contiguous && labels_begin != nullptr;
  item.key =
      item.cacheable
          ? SeriesRefCache::KeyOf(std::string_view(
                labels_begin, static_cast<size_t>(labels_end - labels_begin)))
          : SeriesRefCache::Key{0, 0};
  return absl::OkStatus();
}

// Appends the samples of one TimeSeries; `ref` is its cached ref or 0.
// `appended` counts the samples added to the batch.
absl::Status AppendSeries(const SeriesItem& item, SeriesRef ref,
                          db::Appender* app, SeriesRefCache* cache,
                          uint64_t* appended, WriteOutcome* outcome) {
  const std::string_view ts = item.ts;
  labels::Labels lset;
  bool have_lset = false;
  WireReader r(ts);
  uint32_t field;
  WireType type;
  while (r.NextField(&field, &type)) {
    if (field != 2) {
      if (!r.Skip(type)) break;
      continue;
    }
    std::string_view sb;
    if (!r.ReadLen(&sb)) break;
    int64_t t;
    double v;
    if (!ParseSample(sb, &t, &v)) {
      outcome->reject_reason = "malformed";
      return absl::InvalidArgumentError("invalid protobuf: malformed Sample");
    }
    if (ref != 0 && !have_lset) {
      // Fast path: a cached ref, no labels.
      absl::StatusOr<SeriesRef> got = app->Append(ref, EmptyLabels(), t, v);
      if (got.ok()) {
        ++*appended;
        continue;
      }
      if (got.status().code() != absl::StatusCode::kInvalidArgument) {
        return AppendError(got.status(), ts, t, outcome);
      }
      // The series was garbage-collected: go by labels (below).
      cache->Erase(item.key);
      ref = 0;
    }
    if (!have_lset) {
      absl::StatusOr<labels::Labels> parsed = ParseLabels(ts);
      if (!parsed.ok()) {
        outcome->reject_reason = "invalid_labels";
        return parsed.status();
      }
      lset = *std::move(parsed);
      have_lset = true;
    }
    absl::StatusOr<SeriesRef> got = app->Append(ref, lset, t, v);
    if (!got.ok()) return AppendError(got.status(), ts, t, outcome);
    if (ref == 0 && item.cacheable) cache->Put(item.key, *got);
    ref = *got;
    ++*appended;
  }
  if (!r.ok()) {
    outcome->reject_reason = "malformed";
    return Malformed("TimeSeries", r);
  }
  return absl::OkStatus();
}

}  // namespace

SeriesRefCache::Key SeriesRefCache::KeyOf(std::string_view label_bytes) {
  const uint64_t h1 = absl::Hash<absl::string_view>{}(
      absl::string_view(label_bytes.data(), label_bytes.size()));
  const uint64_t crc = crc32c::Value(label_bytes);
  return Key{h1, (crc << 32) | (label_bytes.size() & 0xFFFFFFFFu)};
}

SeriesRef SeriesRefCache::Table::Find(const Key& k) const {
  if (size_ == 0 || k.h2 == 0) return 0;
  for (size_t i = Home(k);; i = (i + 1) & mask_) {
    const Entry& e = entries_[i];
    if (e.h1 == k.h1 && e.h2 == k.h2) return e.ref;
    if (e.h2 == 0) return 0;
  }
}

void SeriesRefCache::Table::Prefetch(const Key& k) const {
  const Entry* e = view_.load(std::memory_order_relaxed);
  if (e == nullptr) return;
  const char* p = reinterpret_cast<const char*>(
      e + (k.h1 & view_mask_.load(std::memory_order_relaxed)));
  __builtin_prefetch(p);
  __builtin_prefetch(p + sizeof(Entry) - 1);
}

void SeriesRefCache::Table::Put(const Key& k, SeriesRef ref) {
  if (k.h2 == 0) return;  // not a key (see Table)
  if (5 * (size_ + 1) > 4 * entries_.size()) Grow();
  for (size_t i = Home(k);; i = (i + 1) & mask_) {
    Entry& e = entries_[i];
    if (e.h2 == 0) {
      e = Entry{k.h1, k.h2, ref};
      ++size_;
      return;
    }
    if (e.h1 == k.h1 && e.h2 == k.h2) {
      e.ref = ref;
      return;
    }
  }
}

void SeriesRefCache::Table::Erase(const Key& k) {
  if (size_ == 0 || k.h2 == 0) return;
  size_t i = Home(k);
  for (;; i = (i + 1) & mask_) {
    const Entry& e = entries_[i];
    if (e.h2 == 0) return;
    if (e.h1 == k.h1 && e.h2 == k.h2) break;
  }
  // Backward-shift deletion: move later entries of the probe run into the
  // hole unless their home lies cyclically in (hole, j].
  for (size_t j = (i + 1) & mask_; entries_[j].h2 != 0; j = (j + 1) & mask_) {
    const size_t home = entries_[j].h1 & mask_;
    const bool stays =
        i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (!stays) {
      entries_[i] = entries_[j];
      i = j;
    }
  }
  entries_[i] = Entry{};
  --size_;
}

void SeriesRefCache::Table::Clear() {
  std::fill(entries_.begin(), entries_.end(), Entry{});
  size_ = 0;
}

void SeriesRefCache::Table::Grow() {
  std::vector<Entry> old;
  old.swap(entries_);
  entries_.assign(old.empty() ? 64 : 2 * old.size(), Entry{});
  mask_ = entries_.size() - 1;
  size_ = 0;
  // A prefetch may pair the old address with the new mask: it can only
  // prefetch a wrong line, never fault.
  view_.store(entries_.data(), std::memory_order_relaxed);
  view_mask_.store(mask_, std::memory_order_relaxed);
  for (const Entry& e : old) {
    if (e.h2 != 0) Put(Key{e.h1, e.h2}, e.ref);
  }
}

SeriesRefCache::SeriesRefCache(size_t max_entries)
    : max_per_shard_(std::max<size_t>(1, max_entries / kShards)),
      shards_(new Shard[kShards]) {}

SeriesRef SeriesRefCache::Get(const Key& key) const {
  Shard& s = ShardOf(key);
  std::lock_guard lock(s.mu);
  return s.map.Find(key);
}

void SeriesRefCache::GetBatch(const Key* keys, size_t n,
                              SeriesRef* refs) const {
  // Group the lookups by shard (counting sort), then take each shard's lock
  // once and look its keys up with the entries of later keys prefetched
  // (of whichever shard: a request has ~30 keys per shard): lookups are
  // cache misses, and this overlaps them.
  constexpr size_t kAhead = 16;
  thread_local std::vector<uint32_t> order;
  size_t start[kShards + 1] = {};
  for (size_t i = 0; i < n; ++i) ++start[ShardIndex(keys[i]) + 1];
  for (size_t s = 0; s < kShards; ++s) start[s + 1] += start[s];
  order.resize(n);
  {
    size_t next[kShards];
    std::memcpy(next, start, sizeof(next));
    for (size_t i = 0; i < n; ++i) {
      order[next[ShardIndex(keys[i])]++] = static_cast<uint32_t>(i);
    }
  }
  auto prefetch = [&](size_t j) {
    if (j < n) {
      const Key& k = keys[order[j]];
      ShardOf(k).map.Prefetch(k);
    }
  };
  for (size_t j = 0; j < kAhead; ++j) prefetch(j);
  for (size_t s = 0; s < kShards; ++s) {
    if (start[s] == start[s + 1]) continue;
    const Shard& shard = shards_[s];
    std::lock_guard lock(shard.mu);
    for (size_t j = start[s]; j < start[s + 1]; ++j) {
      prefetch(j + kAhead);
      refs[order[j]] = shard.map.Find(keys[order[j]]);
    }
  }
}

void SeriesRefCache::Put(const Key& key, SeriesRef ref) {
  Shard& s = ShardOf(key);
  std::lock_guard lock(s.mu);
  if (s.map.size() >= max_per_shard_) s.map.Clear();
  s.map.Put(key, ref);
}

void SeriesRefCache::Erase(const Key& key) {
  Shard& s = ShardOf(key);
  std::lock_guard lock(s.mu);
  s.map.Erase(key);
}

size_t SeriesRefCache::size() const {
  size_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].map.size();
  }
  return n;
}

absl::Status SnappyDecode(std::string_view in, size_t max_decoded,
                          std::string* out) {
  size_t n = 0;
  if (!snappy::GetUncompressedLength(in.data(), in.size(), &n)) {
    return absl::InvalidArgumentError(
        "invalid snappy body: bad or truncated length header");
  }
  if (n > max_decoded) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "body decodes to ", n, " bytes, more than the limit of ", max_decoded));
  }
  out->resize(n);
  if (!snappy::RawUncompress(in.data(), in.size(), out->data())) {
    return absl::InvalidArgumentError(
        "invalid snappy body: corrupt or truncated block");
  }
  return absl::OkStatus();
}

std::string SnappyEncode(std::string_view in) {
  std::string out;
  snappy::Compress(in.data(), in.size(), &out);
  return out;
}

int StatusToHttp(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kOk:
      return 204;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
      return 400;
    case absl::StatusCode::kResourceExhausted:
      return 413;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

RemoteWriter::RemoteWriter(AppenderFactory new_appender,
                           RemoteWriteOptions opts)
    : new_appender_(std::move(new_appender)),
      opts_(opts),
      cache_(opts.cache_max_entries) {}

absl::Status RemoteWriter::Write(std::string_view proto,
                                 WriteOutcome* outcome) {
  // Pass 1: find the series and their cache keys; a malformed request is
  // refused before anything is appended.
  thread_local std::vector<SeriesItem> items;
  thread_local std::vector<SeriesRefCache::Key> keys;
  thread_local std::vector<SeriesRef> refs;
  items.clear();
  WireReader r(proto);
  uint32_t field;
  WireType type;
  while (r.NextField(&field, &type)) {
    if (field != 1) {
      if (!r.Skip(type)) break;
      continue;
    }
    std::string_view ts;
    if (type != WireType::kLen) {
      r.Fail("timeseries is not length-delimited");
      break;
    }
    if (!r.ReadLen(&ts)) break;
    ++outcome->series;
    TSDB_RETURN_IF_ERROR(ScanSeries(ts, &items, outcome));
  }
  if (!r.ok()) {
    outcome->reject_reason = "malformed";
    return Malformed("WriteRequest", r);
  }
  if (items.empty()) return absl::OkStatus();

  // Pass 2: the refs of known series, one lock per cache shard.
  keys.resize(items.size());
  refs.resize(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    keys[i] = items[i].key;  // zero keys of uncacheable series find nothing
  }
  cache_.GetBatch(keys.data(), keys.size(), refs.data());

  // Pass 3: append.
  std::unique_ptr<db::Appender> app = TakeAppender();
  if (app == nullptr) {
    outcome->reject_reason = "storage";
    return absl::UnavailableError("the TSDB is not open");
  }
  uint64_t appended = 0;
  absl::Status st;
  // The series of a request are spread over memory and each first touch
  // is a cache miss: load them ahead, in two stages (the ref index entry
  // 2 x kAhead items ahead, then the series kAhead ahead).
  constexpr size_t kAhead = 8;
  auto ref_at = [&](size_t i) -> SeriesRef {
    return i < items.size() && items[i].cacheable ? refs[i] : 0;
  };
  for (size_t i = 0; i < items.size() && st.ok(); ++i) {
    // Runs of consecutive refs (series created by one request) are
    // prefetched by the appender itself; this is for the others (series
    // created by concurrent requests interleave their refs).
    const SeriesRef soon = ref_at(i + kAhead);
    const SeriesRef later = ref_at(i + 2 * kAhead);
    const bool soon_in_run = soon == ref_at(i + kAhead - 1) + 1;
    const bool later_in_run = later == ref_at(i + 2 * kAhead - 1) + 1;
    if (!soon_in_run || !later_in_run) {
      app->PrefetchSeries(soon_in_run ? 0 : soon, later_in_run ? 0 : later);
    }
    st = AppendSeries(items[i], items[i].cacheable ? refs[i] : 0, app.get(),
                      &cache_, &appended, outcome);
  }
  if (items.capacity() > (size_t{1} << 20)) {
    std::vector<SeriesItem>().swap(items);
    std::vector<SeriesRefCache::Key>().swap(keys);
    std::vector<SeriesRef>().swap(refs);
  }
  if (!st.ok()) {
    outcome->samples_rejected = appended;
    if (absl::Status rb = app->Rollback(); !rb.ok()) {
      return absl::InternalError(
          absl::StrCat(st.message(), "; rollback failed: ", rb.message()));
    }
    ReturnAppender(std::move(app));
    return st;
  }
  if (absl::Status c = app->Commit(); !c.ok()) {
    outcome->reject_reason = "storage";
    outcome->samples_rejected = appended;
    return absl::InternalError(absl::StrCat("commit: ", c.message()));
  }
  ReturnAppender(std::move(app));
  outcome->samples_appended = appended;
  return absl::OkStatus();
}

std::unique_ptr<db::Appender> RemoteWriter::TakeAppender() {
  {
    std::lock_guard lock(pool_mu_);
    if (!pool_.empty()) {
      std::unique_ptr<db::Appender> app = std::move(pool_.back());
      pool_.pop_back();
      return app;
    }
  }
  return new_appender_();
}

void RemoteWriter::ReturnAppender(std::unique_ptr<db::Appender> app) {
  constexpr size_t kMaxPooled = 64;
  std::lock_guard lock(pool_mu_);
  if (pool_.size() < kMaxPooled) pool_.push_back(std::move(app));
}

void RemoteWriter::ReleaseAppenders() {
  std::vector<std::unique_ptr<db::Appender>> pool;
  {
    std::lock_guard lock(pool_mu_);
    pool.swap(pool_);
  }
}

Response RemoteWriter::Handle(const Request& req, WriteOutcome* outcome) {
  Response resp;
  resp.content_type = "text/plain; charset=utf-8";
  thread_local std::string decoded;
  absl::Status st = SnappyDecode(req.body, opts_.max_decoded_bytes, &decoded);
  if (!st.ok()) {
    outcome->reject_reason = st.code() == absl::StatusCode::kResourceExhausted
                                 ? "too_large"
                                 : "malformed";
  } else {
    st = Write(decoded, outcome);
  }
  if (decoded.capacity() > kKeepBufferBytes) std::string().swap(decoded);
  resp.status = StatusToHttp(st);
  if (!st.ok()) resp.body = absl::StrCat(st.message(), "\n");
  return resp;
}

}  // namespace tsdb::server
