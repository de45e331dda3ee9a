// Remote write 1.0 receiver (POST /api/v1/write): a snappy-compressed
// (block format) prometheus.WriteRequest is decoded and appended to the DB
// in one batch.
//
//   RemoteWriter writer([db] { return db->Appender(); });
//   WriteOutcome out;
//   Response resp = writer.Handle(request, &out);  // 204, 400, 413 or 500
//
// Speed: the protobuf is walked in place (proto_wire.h), never parsed into
// message objects; label names and values are string_views into the decoded
// body. A SeriesRefCache maps the raw bytes of a TimeSeries' labels (its
// serialized Label fields, exactly as sent) to the series ref, so a series
// seen before costs one hash of those bytes and no label parsing,
// validation or allocation. Senders serialize a series' labels identically
// every time (Prometheus does), so the bytes are a stable key.
//
// Validation (400, nothing appended): truncated or corrupt snappy, invalid
// protobuf, a series without labels, labels not sorted by name, duplicate
// or empty label names, native histograms (not supported). Labels with an
// empty value are dropped, as everywhere in the TSDB. Like Prometheus
// 2.42, the first sample the DB refuses aborts the request and rolls back
// the whole batch: "out of order sample", "out of bounds", "duplicate
// sample for timestamp" and "too old sample" answer 400 (the sender drops
// the batch; Prometheus 2.42 answers 500 for "too old", which makes senders
// retry forever, fixed in 2.50); any other failure is 500 (the sender
// retries). A decoded body larger than the limit is 413.
//
// Ownership: the appender factory must stay valid while the writer is used;
// appenders kept for reuse are dropped by ReleaseAppenders() or with the
// writer, which must happen before their DB is closed.
// Thread safety: Handle/Write may be called from any number of threads.
#ifndef FRONTENDS_SERVER_REMOTE_WRITE_H_
#define FRONTENDS_SERVER_REMOTE_WRITE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "frontends/server/http.h"
#include "tsdb/db/db.h"

namespace tsdb::server {

// Raw label bytes -> series ref, sharded with one lock per shard.
//
// Keys are 128-bit fingerprints of the bytes (two independent hashes plus
// the length) rather than the bytes themselves: this keeps an entry at 24
// bytes (100k series: ~3 MB of tables instead of ~25 MB of label bytes). Two
// label sets share a fingerprint with probability ~2^-96 per pair (1e-17 for a
// million series). Memory is bounded: a shard holding more than
// max_entries / kShards entries is cleared (series then take the slow path
// once and are cached again).
//
// Stale refs: series garbage-collected by head truncation keep their cache
// entry; the DB appender does not know such a ref and falls back to the
// labels, which the writer passes empty on the fast path, so the append
// fails with InvalidArgument and the writer retries on the slow path and
// re-caches. Refs are never reused within a process, so a stale ref never
// names another series. Thread safety: all methods may be called
// concurrently.
class SeriesRefCache {
 public:
  static constexpr size_t kShards = 64;
  struct Key {
    uint64_t h1;
    uint64_t h2;  // crc32c << 32 | length
    friend bool operator==(const Key& a, const Key& b) {
      return a.h1 == b.h1 && a.h2 == b.h2;
    }
  };
  static Key KeyOf(std::string_view label_bytes);

  explicit SeriesRefCache(size_t max_entries = size_t{4} << 20);

  // 0 if absent.
  SeriesRef Get(const Key& key) const;
  // refs[i] = Get(keys[i]) for i < n, taking each shard's lock once.
  void GetBatch(const Key* keys, size_t n, SeriesRef* refs) const;
  void Put(const Key& key, SeriesRef ref);
  void Erase(const Key& key);
  size_t size() const;

 private:
  // Open addressing with linear probing over 24-byte entries, at most 4/5
  // full. A lookup reads the home entry's cache line and rarely the next,
  // so GetBatch can prefetch exactly what a later lookup reads (absl's
  // prefetch covers a group's first slots only, and its slot loads were
  // 78% of GetBatch's time). An entry with h2 == 0 is empty: KeyOf never
  // makes one (the length is in h2 and label bytes are never empty).
  class Table {
   public:
    SeriesRef Find(const Key& k) const;
    // Starts loading the entries a Find(k) reads. Safe without the shard's
    // lock: it reads the table's address and mask as atomics and only
    // prefetches (a stale address is harmless).
    void Prefetch(const Key& k) const;
    void Put(const Key& k, SeriesRef ref);  // inserts or replaces
    void Erase(const Key& k);
    void Clear();
    size_t size() const { return size_; }

   private:
    struct Entry {
      uint64_t h1 = 0;
      uint64_t h2 = 0;
      SeriesRef ref = 0;
    };
    size_t Home(const Key& k) const { return k.h1 & mask_; }
    void Grow();

    std::vector<Entry> entries_;
    size_t mask_ = 0;
    size_t size_ = 0;
    // entries_.data() and mask_, for Prefetch without the lock.
    std::atomic<const Entry*> view_{nullptr};
    std::atomic<size_t> view_mask_{0};
  };
  struct Shard {
    mutable std::mutex mu;
    Table map;
  };
  static size_t ShardIndex(const Key& k) { return (k.h1 >> 58) % kShards; }
  Shard& ShardOf(const Key& k) const { return shards_[ShardIndex(k)]; }

  const size_t max_per_shard_;
  std::unique_ptr<Shard[]> shards_;
};

struct RemoteWriteOptions {
  // Largest decoded (uncompressed) WriteRequest; bigger bodies get 413.
  size_t max_decoded_bytes = size_t{256} << 20;
  // SeriesRefCache bound.
  size_t cache_max_entries = size_t{4} << 20;
};

// What one request did (for metrics and logs).
struct WriteOutcome {
  uint64_t series = 0;
  uint64_t samples_appended = 0;  // committed
  uint64_t samples_rejected = 0;  // in a rejected request
  // Set when the request was rejected: "out_of_order", "out_of_bounds",
  // "duplicate", "too_old", "invalid_labels", "malformed", "too_large",
  // "storage".
  std::string reject_reason;
};

// Decompresses a snappy block-format body into `out` (reused; grown as
// needed). InvalidArgument for corrupt/truncated input, ResourceExhausted
// if it would decode to more than `max_decoded` bytes.
[[nodiscard]] absl::Status SnappyDecode(std::string_view in, size_t max_decoded,
                                        std::string* out);
// Snappy block-format compression (for clients and tests).
std::string SnappyEncode(std::string_view in);

class RemoteWriter {
 public:
  using AppenderFactory = std::function<std::unique_ptr<db::Appender>()>;

  explicit RemoteWriter(AppenderFactory new_appender,
                        RemoteWriteOptions opts = {});

  // The HTTP handler: body = snappy(WriteRequest).
  Response Handle(const Request& req, WriteOutcome* outcome);

  // Appends a decoded WriteRequest. The status code picks the HTTP answer
  // (see StatusToHttp): InvalidArgument / FailedPrecondition for bad input
  // (400), ResourceExhausted (413), others (500).
  [[nodiscard]] absl::Status Write(std::string_view proto,
                                   WriteOutcome* outcome);

  const SeriesRefCache& cache() const { return cache_; }

  // Drops the appenders kept for reuse. Call before the DB they write to is
  // closed (REQUIRES: no Write running).
  void ReleaseAppenders();

 private:
  // Appenders are reused across requests (after Commit/Rollback a head
  // appender starts a new batch and keeps its buffers): a request then
  // allocates nothing for its batch.
  std::unique_ptr<db::Appender> TakeAppender();
  void ReturnAppender(std::unique_ptr<db::Appender> app);

  const AppenderFactory new_appender_;
  const RemoteWriteOptions opts_;
  SeriesRefCache cache_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<db::Appender>> pool_;  // guarded by pool_mu_
};

// 400 / 413 / 500 for a Write() status; 204 for OK.
int StatusToHttp(const absl::Status& s);

}  // namespace tsdb::server

#endif  // FRONTENDS_SERVER_REMOTE_WRITE_H_
