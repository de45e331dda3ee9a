#include "frontends/server/flags.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tsdb::server {

const char kServerUsage[] =
    R"(usage: server [<flags>]

The ctsdb server: Prometheus remote write/read receiver and HTTP API over a
Prometheus 2.42-compatible TSDB.

Flags:
  --storage.tsdb.path=data/          Base path for metrics storage.
  --storage.tsdb.retention.time=15d  How long to retain samples (0: forever).
  --storage.tsdb.retention.size=0    Max bytes of blocks (B, KB, MB, GB, ...).
  --storage.tsdb.min-block-duration=2h
  --storage.tsdb.max-block-duration= (default: 10% of retention, <= 31d)
  --storage.tsdb.no-lockfile         Do not lock the data directory.
  --[no-]storage.tsdb.wal-compression  Snappy-compress the WAL (default on).
  --storage.tsdb.wal-segment-size=128MB
  --storage.tsdb.out-of-order-time-window=0
  --web.listen-address=127.0.0.1:9090
  --web.enable-admin-api             Enable snapshot, delete_series, clean_tombstones.
  --web.enable-remote-write-receiver (accepted; always enabled)
  --web.max-request-body-bytes=32MB  Larger request bodies get 413.
  --storage.remote.read-sample-limit=50000000
  --storage.remote.read-max-bytes-in-frame=1048576
  --log.level=info                   debug, info, warn, error.
  --log.format=logfmt
  --config.file=FILE                 Accepted and ignored (no scraping).
  --[no-]storage.tsdb.memory-snapshot-on-shutdown
                                     Snapshot the head at shutdown for a fast
                                     restart (default on; Prometheus: off).
  --enable-feature=memory-snapshot-on-shutdown
                                     Accepted (the default here); other
                                     features are ignored.
  --chunk-reader=mmap                Block chunk reader plugin.
  --wal=segmented                    WAL plugin.
  --wal-compression=snappy           none or snappy.
  -h, --help
)";

absl::StatusOr<int64_t> ParseDurationMs(const std::string& s) {
  if (s == "0") return 0;
  static const std::map<std::string, int64_t> kUnits = {
      {"ms", 1},
      {"s", 1000},
      {"m", 60 * 1000},
      {"h", 3600 * 1000},
      {"d", int64_t{24} * 3600 * 1000},
      {"w", int64_t{7} * 24 * 3600 * 1000},
      {"y", int64_t{365} * 24 * 3600 * 1000},
  };
  int64_t total = 0;
  size_t i = 0;
  if (s.empty()) return absl::InvalidArgumentError("empty duration");
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j == i || j - i > 12) {
      return absl::InvalidArgumentError(
          absl::StrCat("not a valid duration string: \"", s, "\""));
    }
    const int64_t n = std::stoll(s.substr(i, j - i));
    size_t k = j;
    while (k < s.size() && std::isalpha(static_cast<unsigned char>(s[k]))) ++k;
    auto it = kUnits.find(s.substr(j, k - j));
    if (it == kUnits.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("not a valid duration string: \"", s, "\""));
    }
    total += n * it->second;
    i = k;
  }
  return total;
}

absl::StatusOr<int64_t> ParseBytes(const std::string& s) {
  size_t j = 0;
  while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
  if (j == 0 || j > 18) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid byte size: \"", s, "\""));
  }
  const int64_t n = std::stoll(s.substr(0, j));
  std::string unit = s.substr(j);
  for (char& c : unit) c = static_cast<char>(std::toupper(c));
  static const std::map<std::string, int> kShift = {
      {"", 0},     {"B", 0},    {"KB", 10},  {"KIB", 10}, {"MB", 20},
      {"MIB", 20}, {"GB", 30},  {"GIB", 30}, {"TB", 40},  {"TIB", 40},
      {"PB", 50},  {"PIB", 50}, {"EB", 60},  {"EIB", 60},
  };
  auto it = kShift.find(unit);
  if (it == kShift.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid byte size: \"", s, "\""));
  }
  if (it->second > 0 && n > (INT64_MAX >> it->second)) {
    return absl::InvalidArgumentError(
        absl::StrCat("byte size too large: \"", s, "\""));
  }
  return n << it->second;
}

namespace {

absl::StatusOr<bool> ParseBool(const std::string& flag, const std::string& v) {
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, ": want true or false, got \"", v, "\""));
}

absl::Status CheckPlugin(const std::string& flag, const std::string& name,
                         const std::vector<std::string>& valid) {
  if (std::find(valid.begin(), valid.end(), name) != valid.end()) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, ": unknown \"", name,
                   "\"; valid: ", absl::StrJoin(valid, ", ")));
}

}  // namespace

absl::StatusOr<ServerFlags> ParseServerFlags(
    const std::vector<std::string>& args, const Registry& registry) {
  ServerFlags f;
  ServerOptions& o = f.server;
  bool retention_set = false;
  // On by default, unlike Prometheus: a restart then loads the head from
  // the snapshot and m-mapped chunks (0.17 s for the bench's 24M samples)
  // instead of replaying the WAL (0.7 s); the WAL stays complete beside it.
  bool snapshot_on_shutdown = true;
  using Setter = std::function<absl::Status(const std::string&)>;
  auto dur = [](int64_t* out) -> Setter {
    return [out](const std::string& v) -> absl::Status {
      absl::StatusOr<int64_t> d = ParseDurationMs(v);
      if (!d.ok()) return d.status();
      *out = *d;
      return absl::OkStatus();
    };
  };
  auto bytes = [](auto* out) -> Setter {
    return [out](const std::string& v) -> absl::Status {
      absl::StatusOr<int64_t> b = ParseBytes(v);
      if (!b.ok()) return b.status();
      *out = static_cast<std::remove_pointer_t<decltype(out)>>(*b);
      return absl::OkStatus();
    };
  };
  auto str = [](std::string* out) -> Setter {
    return [out](const std::string& v) {
      *out = v;
      return absl::OkStatus();
    };
  };
  std::string wal_compression;
  std::string log_level = "info";
  std::string log_format = "logfmt";
  uint64_t sample_limit = o.read.sample_limit;
  int64_t frame_bytes = static_cast<int64_t>(o.read.max_bytes_in_frame);
  int64_t retention_ms = o.db.retention_ms;
  const std::map<std::string, Setter> valued = {
      {"storage.tsdb.path", str(&o.data_dir)},
      {"storage.tsdb.retention.time",
       [&](const std::string& v) {
         retention_set = true;
         return dur(&retention_ms)(v);
       }},
      {"storage.tsdb.retention.size", bytes(&o.db.max_bytes)},
      {"storage.tsdb.min-block-duration", dur(&o.db.min_block_duration)},
      {"storage.tsdb.max-block-duration", dur(&o.db.max_block_duration)},
      {"storage.tsdb.wal-segment-size", bytes(&o.db.wal_segment_size)},
      {"storage.tsdb.out-of-order-time-window",
       dur(&o.db.out_of_order_time_window)},
      {"web.listen-address", str(&o.listen_address)},
      {"web.max-request-body-bytes", bytes(&o.max_body_bytes)},
      {"storage.remote.read-sample-limit",
       [&](const std::string& v) -> absl::Status {
         char* end = nullptr;
         const double d = std::strtod(v.c_str(), &end);
         if (v.empty() || *end != '\0' || d < 0) {
           return absl::InvalidArgumentError(
               absl::StrCat("not a number: \"", v, "\""));
         }
         sample_limit = static_cast<uint64_t>(d);
         return absl::OkStatus();
       }},
      {"storage.remote.read-max-bytes-in-frame", bytes(&frame_bytes)},
      {"log.level", str(&log_level)},
      {"log.format", str(&log_format)},
      {"config.file",
       [&](const std::string& v) {
         f.ignored.push_back("--config.file=" + v);
         return absl::OkStatus();
       }},
      {"enable-feature",
       [&](const std::string& v) -> absl::Status {
         // Comma-separated, repeatable, as Prometheus; features we do not
         // have are accepted and reported as ignored (Prometheus logs
         // unknown ones too).
         size_t start = 0;
         while (start <= v.size()) {
           size_t comma = v.find(',', start);
           if (comma == std::string::npos) comma = v.size();
           const std::string feature = v.substr(start, comma - start);
           if (feature == "memory-snapshot-on-shutdown") {
             snapshot_on_shutdown = true;
           } else if (!feature.empty()) {
             f.ignored.push_back("--enable-feature=" + feature);
           }
           start = comma + 1;
         }
         return absl::OkStatus();
       }},
      {"chunk-reader", str(&o.db.chunk_reader)},
      {"wal", str(&o.db.wal)},
      {"wal-compression", str(&wal_compression)},
  };
  bool wal_compress = true;
  bool ignored_bool = false;
  const std::map<std::string, bool*> booleans = {
      {"storage.tsdb.no-lockfile", &o.db.no_lockfile},
      {"storage.tsdb.memory-snapshot-on-shutdown", &snapshot_on_shutdown},
      {"storage.tsdb.wal-compression", &wal_compress},
      {"web.enable-admin-api", &o.enable_admin_api},
      {"web.enable-remote-write-receiver", &ignored_bool},
  };

  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      f.help = true;
      return f;
    }
    if (a.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument \"", a, "\""));
    }
    std::string name = a.substr(2);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (auto it = booleans.find(name); it != booleans.end()) {
      if (has_value) {
        absl::StatusOr<bool> b = ParseBool(name, value);
        if (!b.ok()) return b.status();
        *it->second = *b;
      } else {
        *it->second = true;
      }
      continue;
    }
    if (name.rfind("no-", 0) == 0 && !has_value) {
      if (auto it = booleans.find(name.substr(3)); it != booleans.end()) {
        *it->second = false;
        continue;
      }
    }
    auto it = valued.find(name);
    if (it == valued.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " needs a value"));
      }
      value = args[++i];
    }
    if (absl::Status s = it->second(value); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, ": ", s.message()));
    }
  }

  if (retention_set) o.db.retention_ms = retention_ms;
  o.db.snapshot_on_shutdown = snapshot_on_shutdown;
  o.db.wal_compression =
      wal_compress ? wal::Compression::kSnappy : wal::Compression::kNone;
  if (!wal_compression.empty()) {
    if (wal_compression == "snappy") {
      o.db.wal_compression = wal::Compression::kSnappy;
    } else if (wal_compression == "none") {
      o.db.wal_compression = wal::Compression::kNone;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--wal-compression: unknown \"", wal_compression,
                       "\"; valid: none, snappy"));
    }
  }
  o.read.sample_limit = sample_limit;
  o.read.max_bytes_in_frame = static_cast<size_t>(frame_bytes);
  std::optional<LogLevel> lvl = ParseLogLevel(log_level);
  if (!lvl) {
    return absl::InvalidArgumentError(
        absl::StrCat("--log.level: unknown \"", log_level,
                     "\"; valid: debug, info, warn, error"));
  }
  f.log_level = *lvl;
  if (log_format != "logfmt") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--log.format: unknown \"", log_format, "\"; valid: logfmt"));
  }
  if (absl::Status s = CheckPlugin("chunk-reader", o.db.chunk_reader,
                                   registry.chunk_readers.Names());
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckPlugin("wal", o.db.wal, registry.wals.Names());
      !s.ok()) {
    return s;
  }
  if (o.db.min_block_duration <= 0) {
    return absl::InvalidArgumentError(
        "--storage.tsdb.min-block-duration must be positive");
  }
  std::string host;
  int port;
  if (absl::Status s = ParseListenAddress(o.listen_address, &host, &port);
      !s.ok()) {
    return s;
  }
  return f;
}

}  // namespace tsdb::server
