// Command-line flags of the server, with Prometheus 2.42's names and
// defaults where Prometheus has the flag (so an operator can swap binaries):
//
//   --storage.tsdb.path=data/            --storage.tsdb.retention.time=15d
//   --storage.tsdb.retention.size=0      --storage.tsdb.min-block-duration=2h
//   --storage.tsdb.max-block-duration=   (default: 10% of retention, <= 31d)
//   --storage.tsdb.no-lockfile           --[no-]storage.tsdb.wal-compression
//   --storage.tsdb.wal-segment-size=128MB
//   --storage.tsdb.out-of-order-time-window=0 (a config-file setting in
//                                         Prometheus; a flag here)
//   --web.listen-address=127.0.0.1:9090  (Prometheus: 0.0.0.0:9090)
//   --web.enable-admin-api               --web.enable-remote-write-receiver
//                                         (accepted; always on here)
//   --web.max-request-body-bytes=32MB    (ours)
//   --storage.remote.read-sample-limit=5e7
//   --storage.remote.read-max-bytes-in-frame=1048576
//   --log.level=info                     --log.format=logfmt
//   --config.file=...                    (accepted and ignored: no scraping)
//   --chunk-reader=mmap|pread  --wal=segmented|none
//   --wal-compression=none|snappy
//
// Values may follow as `--flag=value` or `--flag value`; booleans take
// `--flag`, `--no-flag` or `--flag=true|false`. Durations are Prometheus's
// (`1y2w3d4h5m6s7ms`, at least one unit), sizes are base-2 with units
// B, KB, MB, GB, TB, PB, EB (as Prometheus's retention.size).
//
//   absl::StatusOr<ServerFlags> f = ParseServerFlags(args, registry);
//
// Thread safety: plain functions.
#ifndef FRONTENDS_SERVER_FLAGS_H_
#define FRONTENDS_SERVER_FLAGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "frontends/server/log.h"
#include "frontends/server/server.h"
#include "tsdb/registry/registry.h"

namespace tsdb::server {

struct ServerFlags {
  ServerOptions server;
  LogLevel log_level = LogLevel::kInfo;
  bool help = false;
  std::vector<std::string> ignored;  // accepted flags without effect here
};

// Parses argv[1..]. InvalidArgument naming the flag for unknown flags, bad
// values and unknown plugin names (listing the valid ones from `registry`).
absl::StatusOr<ServerFlags> ParseServerFlags(
    const std::vector<std::string>& args, const Registry& registry);

// Prometheus durations ("15d", "1h30m", "100ms") in milliseconds.
absl::StatusOr<int64_t> ParseDurationMs(const std::string& s);
// "512MB", "1GB", "100" (bytes); base 2.
absl::StatusOr<int64_t> ParseBytes(const std::string& s);

extern const char kServerUsage[];

}  // namespace tsdb::server

#endif  // FRONTENDS_SERVER_FLAGS_H_
