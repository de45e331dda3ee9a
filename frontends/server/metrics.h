// The server's own metrics (/metrics), in Prometheus text format 0.0.4,
// through prometheus-cpp (core only: its Registry and TextSerializer).
//
//   ServerMetrics metrics;
//   opts.observer = metrics.observer();             // before DB::Open
//   ... metrics.ObserveHttp("/api/v1/write", 204, 0.0012);
//   ... metrics.AddSamplesAppended(n);
//   std::string text = metrics.Render(db);          // GET /metrics
//
// Names are Prometheus 2.42's where it has the metric, so its dashboards
// work on this server:
//   from the DB's Stats, read at each Render (gauges and counters):
//     prometheus_tsdb_head_series, _head_chunks, _head_min_time(_seconds),
//     _head_max_time(_seconds), _head_series_created_total,
//     _head_series_removed_total, _head_chunks_created_total,
//     _head_chunks_removed_total, _head_samples_appended_total{type},
//     _out_of_order_samples_total{type}, _out_of_bound_samples_total{type},
//     _blocks_loaded, _storage_blocks_bytes, _lowest_timestamp(_seconds),
//     _compactions_total, _compactions_failed_total,
//     _checkpoint_creations_total, _checkpoint_creations_failed_total,
//     _wal_truncations_total, _retention_limit_bytes
//   from the DB's Observer: prometheus_tsdb_compaction_duration_seconds
//     (histogram, Prometheus's buckets 1..8192 s),
//     prometheus_tsdb_wal_fsync_duration_seconds (summary 0.5/0.9/0.99)
//   from the HTTP layer: prometheus_http_requests_total{handler,code},
//     prometheus_http_request_duration_seconds{handler} (Prometheus's
//     buckets 0.1..120 s)
//   process_cpu_seconds_total, process_resident_memory_bytes,
//     process_virtual_memory_bytes, process_start_time_seconds,
//     process_open_fds, process_max_fds (from /proc/self, as Go's client)
// and, where Prometheus has no equivalent (its remote-write receiver exposes
// nothing of its own), ctsdb_* names:
//   ctsdb_remote_write_samples_appended_total,
//   ctsdb_remote_write_samples_rejected_total{reason},
//   ctsdb_tsdb_head_duplicate_samples_total,
//   ctsdb_tsdb_head_commit_dropped_samples_total,
//   ctsdb_tsdb_checkpoint_duration_seconds (histogram),
//   ctsdb_tsdb_blocks_deleted_total{reason="retention"|"compaction"}.
// Families are rendered sorted by name, as Go's client does.
//
// Ownership: owns its registry; observer() lives as long as the
// ServerMetrics, which must outlive the DB it is passed to.
// Thread safety: every method may be called from any thread at once.
#ifndef FRONTENDS_SERVER_METRICS_H_
#define FRONTENDS_SERVER_METRICS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tsdb/db/db.h"

namespace tsdb::server {

class ServerMetrics final {
 public:
  ServerMetrics();
  ~ServerMetrics();
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  // For db::Options::observer: compaction, checkpoint and WAL fsync
  // durations, deleted blocks.
  db::Observer* observer();

  // One HTTP request answered: `handler` is the route pattern (e.g.
  // "/api/v1/write", "/api/v1/label/:name/values"), `code` the status.
  void ObserveHttp(std::string_view handler, int code, double seconds);

  // Remote-write samples appended / refused (reason e.g. "out_of_order",
  // "out_of_bounds", "duplicate", "too_old", "invalid").
  void AddSamplesAppended(uint64_t n);
  void AddSamplesRejected(std::string_view reason, uint64_t n);

  // Text format 0.0.4 of every metric, DB gauges refreshed from
  // db->GetStats() first; `db` may be null (still starting): the DB's
  // families are then left out.
  std::string Render(db::DB* db);

 private:
  // prometheus-cpp's types stay out of this header: its namespace
  // `prometheus` is also the package of the remote-storage protobufs.
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tsdb::server

#endif  // FRONTENDS_SERVER_METRICS_H_
