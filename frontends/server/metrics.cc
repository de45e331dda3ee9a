#include "frontends/server/metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "prometheus/summary.h"
#include "prometheus/text_serializer.h"

namespace tsdb::server {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

ClientMetric Value(MetricType type, double v,
                   std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  if (type == MetricType::Counter) {
    m.counter.value = v;
  } else {
    m.gauge.value = v;
  }
  return m;
}

void AddGauge(std::vector<MetricFamily>* out, std::string name,
              std::string help, double v) {
  MetricFamily f = Family(std::move(name), std::move(help), MetricType::Gauge);
  f.metric.push_back(Value(MetricType::Gauge, v));
  out->push_back(std::move(f));
}

void AddCounter(std::vector<MetricFamily>* out, std::string name,
                std::string help, double v) {
  MetricFamily f =
      Family(std::move(name), std::move(help), MetricType::Counter);
  f.metric.push_back(Value(MetricType::Counter, v));
  out->push_back(std::move(f));
}

// A counter with a `type` label, float value `v` and histogram value 0 (the
// head stores no native histograms), as Prometheus 2.42 exposes them.
void AddTypedCounter(std::vector<MetricFamily>* out, std::string name,
                     std::string help, double v, bool with_histogram = true) {
  MetricFamily f =
      Family(std::move(name), std::move(help), MetricType::Counter);
  f.metric.push_back(Value(MetricType::Counter, v, {{"type", "float"}}));
  if (with_histogram) {
    f.metric.push_back(Value(MetricType::Counter, 0, {{"type", "histogram"}}));
  }
  out->push_back(std::move(f));
}

void AddDbFamilies(db::DB* db, std::vector<MetricFamily>* out) {
  const db::Stats s = db->GetStats();
  const head::HeadStats& h = s.head;
  int64_t head_min = h.min_time, head_max = h.max_time;
  if (head::Head* head = db->head(); head != nullptr) {
    head_min = head->MinTime();
    head_max = head->MaxTime();
  }
  AddGauge(out, "prometheus_tsdb_head_series",
           "Total number of series in the head block.",
           static_cast<double>(h.num_series));
  AddGauge(out, "prometheus_tsdb_head_chunks",
           "Total number of chunks in the head block.",
           static_cast<double>(h.num_chunks));
  AddGauge(out, "prometheus_tsdb_head_min_time",
           "Minimum time bound of the head block. The unit is decided by the "
           "library consumer.",
           static_cast<double>(head_min));
  AddGauge(out, "prometheus_tsdb_head_min_time_seconds",
           "Minimum time bound of the head block.",
           static_cast<double>(head_min / 1000));
  AddGauge(out, "prometheus_tsdb_head_max_time",
           "Maximum timestamp of the head block. The unit is decided by the "
           "library consumer.",
           static_cast<double>(head_max));
  AddGauge(out, "prometheus_tsdb_head_max_time_seconds",
           "Maximum timestamp of the head block.",
           static_cast<double>(head_max / 1000));
  AddCounter(out, "prometheus_tsdb_head_series_created_total",
             "Total number of series created in the head",
             static_cast<double>(h.series_created));
  AddCounter(out, "prometheus_tsdb_head_series_removed_total",
             "Total number of series removed in the head",
             static_cast<double>(h.series_removed));
  AddCounter(out, "prometheus_tsdb_head_chunks_created_total",
             "Total number of chunks created in the head",
             static_cast<double>(h.chunks_created));
  AddCounter(out, "prometheus_tsdb_head_chunks_removed_total",
             "Total number of chunks removed in the head",
             static_cast<double>(h.chunks_removed));
  AddTypedCounter(out, "prometheus_tsdb_head_samples_appended_total",
                  "Total number of appended samples.",
                  static_cast<double>(h.samples_appended));
  AddTypedCounter(out, "prometheus_tsdb_out_of_order_samples_total",
                  "Total number of out of order samples ingestion failed "
                  "attempts due to out of order being disabled.",
                  static_cast<double>(h.out_of_order_samples));
  AddTypedCounter(out, "prometheus_tsdb_out_of_bound_samples_total",
                  "Total number of out of bound samples ingestion failed "
                  "attempts with out of order support disabled.",
                  static_cast<double>(h.out_of_bound_samples),
                  /*with_histogram=*/false);
  AddCounter(out, "ctsdb_tsdb_head_duplicate_samples_total",
             "Samples refused because their timestamp already held another "
             "value.",
             static_cast<double>(h.duplicate_samples));
  AddCounter(out, "ctsdb_tsdb_head_commit_dropped_samples_total",
             "Samples dropped at commit because a concurrent commit made them "
             "out of order.",
             static_cast<double>(h.commit_dropped));
  AddGauge(out, "prometheus_tsdb_blocks_loaded",
           "Number of currently loaded data blocks",
           static_cast<double>(s.num_blocks));
  AddGauge(out, "prometheus_tsdb_storage_blocks_bytes",
           "The number of bytes that are currently used for local storage by "
           "all blocks.",
           static_cast<double>(s.blocks_bytes));
  AddGauge(out, "prometheus_tsdb_lowest_timestamp",
           "Lowest timestamp value stored in the database. The unit is "
           "decided by the library consumer.",
           static_cast<double>(s.min_time));
  AddGauge(out, "prometheus_tsdb_lowest_timestamp_seconds",
           "Lowest timestamp value stored in the database.",
           static_cast<double>(s.min_time / 1000));
  AddCounter(out, "prometheus_tsdb_compactions_total",
             "Total number of compactions that were executed for the "
             "partition.",
             static_cast<double>(s.compactions + s.head_compactions));
  AddCounter(out, "prometheus_tsdb_compactions_failed_total",
             "Total number of compactions that failed for the partition.",
             static_cast<double>(s.compactions_failed));
  AddCounter(out, "prometheus_tsdb_checkpoint_creations_total",
             "Total number of checkpoint creations attempted.",
             static_cast<double>(s.checkpoints));
  AddCounter(out, "prometheus_tsdb_checkpoint_creations_failed_total",
             "Total number of checkpoint creations that failed.",
             static_cast<double>(s.checkpoints_failed));
  AddCounter(out, "prometheus_tsdb_wal_truncations_total",
             "Total number of write log truncations attempted.",
             static_cast<double>(s.wal_truncations));
  AddGauge(out, "prometheus_tsdb_retention_limit_bytes",
           "Max number of bytes to be retained in the tsdb blocks, configured "
           "0 means disabled",
           static_cast<double>(db->options().max_bytes));
}

// Go's process collector, from /proc/self.
void AddProcessFamilies(std::vector<MetricFamily>* out) {
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)),
                   std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) in "(...)".
  const size_t paren = stat.rfind(')');
  if (paren != std::string::npos && ticks > 0) {
    std::istringstream in(stat.substr(paren + 1));
    std::vector<std::string> f;
    for (std::string tok; in >> tok;) f.push_back(tok);
    // f[0] is field 3 (state); field k is f[k - 3].
    if (f.size() >= 22) {
      const double utime = std::strtod(f[11].c_str(), nullptr);
      const double stime = std::strtod(f[12].c_str(), nullptr);
      const double start_ticks = std::strtod(f[19].c_str(), nullptr);
      const double vsize = std::strtod(f[20].c_str(), nullptr);
      const double rss = std::strtod(f[21].c_str(), nullptr);
      AddCounter(out, "process_cpu_seconds_total",
                 "Total user and system CPU time spent in seconds.",
                 (utime + stime) / ticks);
      AddGauge(out, "process_resident_memory_bytes",
               "Resident memory size in bytes.", rss * page);
      AddGauge(out, "process_virtual_memory_bytes",
               "Virtual memory size in bytes.", vsize);
      std::ifstream proc_stat("/proc/stat");
      for (std::string line; std::getline(proc_stat, line);) {
        if (line.rfind("btime ", 0) == 0) {
          const double btime = std::strtod(line.c_str() + 6, nullptr);
          AddGauge(out, "process_start_time_seconds",
                   "Start time of the process since unix epoch in seconds.",
                   btime + start_ticks / ticks);
          break;
        }
      }
    }
  }
  std::error_code ec;
  size_t fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end;
       !ec && it != end; it.increment(ec)) {
    ++fds;
  }
  if (!ec) {
    // The iterator's own descriptor is counted; Go's count has the same.
    AddGauge(out, "process_open_fds", "Number of open file descriptors.",
             static_cast<double>(fds));
  }
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    AddGauge(out, "process_max_fds", "Maximum number of open file descriptors.",
             static_cast<double>(lim.rlim_cur));
  }
}

// Observer calls into the metrics of an Impl.
class MetricsObserver final : public db::Observer {
 public:
  MetricsObserver(prometheus::Histogram* compaction,
                  prometheus::Histogram* checkpoint, prometheus::Summary* fsync,
                  prometheus::Counter* by_retention,
                  prometheus::Counter* by_compaction)
      : compaction_(compaction),
        checkpoint_(checkpoint),
        fsync_(fsync),
        by_retention_(by_retention),
        by_compaction_(by_compaction) {}
  void OnCompaction(bool head, double seconds, const absl::Status& s) override {
    (void)head;
    // Prometheus observes the duration of compactions that ran to the end.
    if (s.ok()) compaction_->Observe(seconds);
  }
  void OnCheckpoint(double seconds, const absl::Status& s) override {
    if (s.ok()) checkpoint_->Observe(seconds);
  }
  void OnWalFsync(double seconds) override { fsync_->Observe(seconds); }
  void OnBlocksDeleted(int n, bool by_retention) override {
    if (n <= 0) return;
    (by_retention ? by_retention_ : by_compaction_)->Increment(n);
  }

 private:
  prometheus::Histogram* const compaction_;
  prometheus::Histogram* const checkpoint_;
  prometheus::Summary* const fsync_;
  prometheus::Counter* const by_retention_;
  prometheus::Counter* const by_compaction_;
};

}  // namespace

struct ServerMetrics::Impl {
  Impl();
  // REQUIRES: mu held.
  prometheus::Counter* HttpCounter(std::string_view handler, int code,
                                   prometheus::Histogram** duration);

  // Metric objects are owned by the registry's families and never removed,
  // so the raw pointers below stay valid.
  std::shared_ptr<prometheus::Registry> registry =
      std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>* http_requests;
  prometheus::Family<prometheus::Histogram>* http_duration;
  prometheus::Counter* samples_appended;
  prometheus::Family<prometheus::Counter>* samples_rejected;
  std::unique_ptr<MetricsObserver> observer;

  struct Handler {
    prometheus::Histogram* duration = nullptr;
    absl::flat_hash_map<int, prometheus::Counter*> by_code;
  };
  std::mutex mu;  // guards handlers (the map, not the metrics)
  absl::flat_hash_map<std::string, std::unique_ptr<Handler>> handlers;
};

ServerMetrics::Impl::Impl() {
  http_requests = &prometheus::BuildCounter()
                       .Name("prometheus_http_requests_total")
                       .Help("Counter of HTTP requests.")
                       .Register(*registry);
  http_duration = &prometheus::BuildHistogram()
                       .Name("prometheus_http_request_duration_seconds")
                       .Help("Histogram of latencies for HTTP requests.")
                       .Register(*registry);
  samples_appended =
      &prometheus::BuildCounter()
           .Name("ctsdb_remote_write_samples_appended_total")
           .Help("Samples appended to the TSDB through remote write.")
           .Register(*registry)
           .Add({});
  samples_rejected = &prometheus::BuildCounter()
                          .Name("ctsdb_remote_write_samples_rejected_total")
                          .Help("Remote-write samples refused, by reason.")
                          .Register(*registry);
  // Prometheus: prometheus.ExponentialBuckets(1, 2, 14).
  prometheus::Histogram::BucketBoundaries compaction_buckets;
  for (double b = 1; b <= 8192; b *= 2) compaction_buckets.push_back(b);
  prometheus::Histogram* compaction =
      &prometheus::BuildHistogram()
           .Name("prometheus_tsdb_compaction_duration_seconds")
           .Help("Duration of compaction runs")
           .Register(*registry)
           .Add({}, compaction_buckets);
  // Prometheus's objectives; the Go client's default 10-minute window.
  prometheus::Summary* fsync =
      &prometheus::BuildSummary()
           .Name("prometheus_tsdb_wal_fsync_duration_seconds")
           .Help("Duration of write log fsync.")
           .Register(*registry)
           .Add({},
                prometheus::Summary::Quantiles{
                    {0.5, 0.05}, {0.9, 0.01}, {0.99, 0.001}},
                std::chrono::minutes(10), 5);
  prometheus::Histogram* checkpoint =
      &prometheus::BuildHistogram()
           .Name("ctsdb_tsdb_checkpoint_duration_seconds")
           .Help("Duration of WAL checkpoint creations that succeeded.")
           .Register(*registry)
           .Add({}, prometheus::Histogram::BucketBoundaries{
                        0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300});
  auto& deleted = prometheus::BuildCounter()
                      .Name("ctsdb_tsdb_blocks_deleted_total")
                      .Help("Blocks deleted, by reason.")
                      .Register(*registry);
  observer = std::make_unique<MetricsObserver>(
      compaction, checkpoint, fsync, &deleted.Add({{"reason", "retention"}}),
      &deleted.Add({{"reason", "compaction"}}));
}

prometheus::Counter* ServerMetrics::Impl::HttpCounter(
    std::string_view handler, int code, prometheus::Histogram** duration) {
  const absl::string_view key(handler.data(), handler.size());
  auto it = handlers.find(key);
  if (it == handlers.end()) {
    auto h = std::make_unique<Handler>();
    // Prometheus's buckets for prometheus_http_request_duration_seconds.
    h->duration = &http_duration->Add({{"handler", std::string(handler)}},
                                      prometheus::Histogram::BucketBoundaries{
                                          0.1, 0.2, 0.4, 1, 3, 8, 20, 60, 120});
    it = handlers.emplace(std::string(handler), std::move(h)).first;
  }
  Handler& h = *it->second;
  *duration = h.duration;
  prometheus::Counter*& c = h.by_code[code];
  if (c == nullptr) {
    c = &http_requests->Add(
        {{"code", absl::StrCat(code)}, {"handler", std::string(handler)}});
  }
  return c;
}

ServerMetrics::ServerMetrics() : impl_(std::make_unique<Impl>()) {}

ServerMetrics::~ServerMetrics() = default;

db::Observer* ServerMetrics::observer() { return impl_->observer.get(); }

void ServerMetrics::ObserveHttp(std::string_view handler, int code,
                                double seconds) {
  prometheus::Histogram* duration;
  prometheus::Counter* counter;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    counter = impl_->HttpCounter(handler, code, &duration);
  }
  counter->Increment();
  duration->Observe(seconds);
}

void ServerMetrics::AddSamplesAppended(uint64_t n) {
  impl_->samples_appended->Increment(static_cast<double>(n));
}

void ServerMetrics::AddSamplesRejected(std::string_view reason, uint64_t n) {
  impl_->samples_rejected->Add({{"reason", std::string(reason)}})
      .Increment(static_cast<double>(n));
}

std::string ServerMetrics::Render(db::DB* db) {
  std::vector<MetricFamily> families = impl_->registry->Collect();
  if (db != nullptr) AddDbFamilies(db, &families);
  AddProcessFamilies(&families);
  std::stable_sort(families.begin(), families.end(),
                   [](const MetricFamily& a, const MetricFamily& b) {
                     return a.name < b.name;
                   });
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace tsdb::server
