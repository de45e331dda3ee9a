// The HTTP server: Prometheus 2.42's remote-write receiver, remote read,
// the read API, admin endpoints and /metrics over one db::DB.
//
//   ServerOptions opts;                    // Prometheus's defaults
//   opts.data_dir = "data/";
//   Server server(opts, &registry);
//   TSDB_RETURN_IF_ERROR(server.Start());  // listening; the DB opens behind
//   ... server.WaitDbOpen() ...            // ready (or the open failed)
//   server.Shutdown();                     // e.g. on SIGTERM
//
// Start-up: Start() binds the listener and starts serving at once, then
// opens the DB on a background thread; until DB::Open returns (the WAL is
// replayed) /-/healthy answers 200 and /-/ready and every other endpoint
// answer 503 "Service Unavailable", as Prometheus does.
//
// Routes (anything else 404, a known path with another method 405):
//   GET|HEAD /-/healthy, /-/ready
//   POST     /api/v1/write                  remote write 1.0 (remote_write.h)
//   POST     /api/v1/read                   remote read (remote_read.h)
//   GET|POST /api/v1/series, /api/v1/labels (api.h)
//   GET      /api/v1/label/<name>/values, /api/v1/status/tsdb
//   GET      /metrics                       (metrics.h)
//   POST     /api/v1/admin/tsdb/snapshot, POST|PUT .../delete_series,
//            POST|PUT .../clean_tombstones  with enable_admin_api, else 503
//            {"errorType":"unavailable","error":"admin APIs disabled"}
// Bodies larger than max_body_bytes get 413 before they are read.
//
// Shutdown: stops accepting, lets requests in flight finish, then closes
// the DB (flushing the WAL). Safe to call from any thread, more than once.
//
// Ownership: `registry` must outlive the Server. Thread safety: every
// method may be called from any thread.
#ifndef FRONTENDS_SERVER_SERVER_H_
#define FRONTENDS_SERVER_SERVER_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "frontends/server/http.h"
#include "frontends/server/log.h"
#include "frontends/server/remote_read.h"
#include "frontends/server/remote_write.h"
#include "tsdb/db/db.h"
#include "tsdb/registry/registry.h"

namespace httplib {
class Server;
}

namespace tsdb::server {

class ServerMetrics;

struct ServerOptions {
  // --web.listen-address (Prometheus's default is 0.0.0.0:9090; ours only
  // listens locally unless told otherwise). Port 0 picks a free port.
  std::string listen_address = "127.0.0.1:9090";
  // --storage.tsdb.path.
  std::string data_dir = "data/";
  // Retention, block durations, plugins, WAL compression, lock file.
  db::Options db;
  // --web.enable-admin-api.
  bool enable_admin_api = false;
  // --web.max-request-body-bytes: the largest request body (compressed).
  size_t max_body_bytes = size_t{32} << 20;
  // HTTP worker threads; 0: httplib's default (max(8, CPUs - 1)).
  int http_threads = 0;
  RemoteWriteOptions write;
  RemoteReadOptions read;
  // Logs go here (not owned; null: a private info-level logger).
  Logger* logger = nullptr;
};

class Server final {
 public:
  Server(ServerOptions opts, const Registry* registry);
  ~Server();  // Shutdown()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listener and starts serving and opening the DB. InvalidArgument
  // for a bad listen address, Unavailable if it cannot bind.
  [[nodiscard]] absl::Status Start();
  // The bound port (after Start).
  int port() const { return port_; }
  // Blocks until DB::Open returned; its status.
  [[nodiscard]] absl::Status WaitDbOpen();
  bool ready() const { return db_.load(std::memory_order_acquire) != nullptr; }

  // Stops accepting, waits for requests in flight, closes the DB; the DB's
  // Close status (OK if it never opened).
  absl::Status Shutdown();

  // Routes one request (what the HTTP layer calls; tests call it directly).
  // `handler` receives the route pattern for metrics.
  Response Dispatch(const Request& req, std::string* handler);

  db::DB* db() const { return db_.load(std::memory_order_acquire); }

 private:
  void OpenDb();

  const ServerOptions opts_;
  const Registry* const registry_;
  std::unique_ptr<Logger> own_logger_;
  Logger* log_;
  std::unique_ptr<ServerMetrics> metrics_;
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<RemoteWriter> writer_;
  int port_ = 0;
  std::thread serve_thread_;
  std::thread open_thread_;

  std::unique_ptr<db::DB> db_owner_;  // set by the open thread
  std::atomic<db::DB*> db_{nullptr};
  std::mutex open_mu_;
  std::condition_variable open_cv_;
  bool open_done_ = false;    // guarded by open_mu_
  absl::Status open_status_;  // guarded by open_mu_
  std::mutex shutdown_mu_;
  bool shut_down_ = false;     // guarded by shutdown_mu_
  absl::Status close_status_;  // guarded by shutdown_mu_
};

// Splits "host:port" (host may be empty or [v6]); InvalidArgument otherwise.
[[nodiscard]] absl::Status ParseListenAddress(const std::string& addr,
                                              std::string* host, int* port);

}  // namespace tsdb::server

#endif  // FRONTENDS_SERVER_SERVER_H_
