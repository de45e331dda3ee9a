// The server: httplib wiring, routing, readiness, shutdown.
#include "frontends/server/server.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "frontends/server/admin.h"
#include "frontends/server/api.h"
#include "frontends/server/metrics.h"

namespace tsdb::server {
namespace {

constexpr std::string_view kLabelPrefix = "/api/v1/label/";
constexpr std::string_view kValuesSuffix = "/values";

Response Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

Response NotReady() { return Text(503, "Service Unavailable"); }

Response MethodNotAllowed() { return Text(405, "Method Not Allowed\n"); }

bool MethodIn(const std::string& m,
              std::initializer_list<std::string_view> ok) {
  return std::find(ok.begin(), ok.end(), m) != ok.end();
}

std::string Lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

absl::Status ParseListenAddress(const std::string& addr, std::string* host,
                                int* port) {
  const size_t colon = addr.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid listen address \"", addr, "\": want host:port"));
  }
  std::string h = addr.substr(0, colon);
  const std::string p = addr.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  }
  int n = 0;
  if (p.empty() || p.size() > 5 ||
      !std::all_of(p.begin(), p.end(),
                   [](char c) { return c >= '0' && c <= '9'; }) ||
      (n = std::stoi(p)) > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid listen address \"", addr, "\": bad port \"", p, "\""));
  }
  *host = h.empty() ? "0.0.0.0" : h;
  *port = n;
  return absl::OkStatus();
}

Server::Server(ServerOptions opts, const Registry* registry)
    : opts_(std::move(opts)),
      registry_(registry),
      metrics_(std::make_unique<ServerMetrics>()) {
  if (opts_.logger != nullptr) {
    log_ = opts_.logger;
  } else {
    own_logger_ = std::make_unique<Logger>();
    log_ = own_logger_.get();
  }
  writer_ = std::make_unique<RemoteWriter>(
      [this]() -> std::unique_ptr<db::Appender> {
        db::DB* d = db();
        return d == nullptr ? nullptr : d->Appender();
      },
      opts_.write);
}

Server::~Server() { (void)Shutdown(); }

absl::Status Server::Start() {
  std::string host;
  int port = 0;
  if (absl::Status s = ParseListenAddress(opts_.listen_address, &host, &port);
      !s.ok()) {
    return s;
  }
  http_ = std::make_unique<httplib::Server>();
  if (opts_.http_threads > 0) {
    const size_t n = static_cast<size_t>(opts_.http_threads);
    http_->new_task_queue = [n] { return new httplib::ThreadPool(n); };
  }
  http_->set_payload_max_length(opts_.max_body_bytes);
  // Remote-write senders keep connections open; httplib's default closes
  // them after 5 requests.
  http_->set_keep_alive_max_count(1u << 30);
  http_->set_keep_alive_timeout(5);
  // A POST without a body and without Content-Length (`curl -XPOST URL`, as
  // Prometheus's docs show for the admin API): httplib would read the body
  // until the connection closes, i.e. wait for its read timeout and answer
  // 400. Go's server reads such a request as empty, so do we. The routing
  // hook runs before the body is read; the Request it gets is httplib's
  // own non-const object, so adding a header here is well-defined.
  http_->set_pre_routing_handler(
      [](const httplib::Request& hreq, httplib::Response&) {
        if (!hreq.has_header("Content-Length") &&
            !hreq.has_header("Transfer-Encoding")) {
          const_cast<httplib::Request&>(hreq).headers.emplace("Content-Length",
                                                              "0");
        }
        return httplib::Server::HandlerResponse::Unhandled;
      });
  auto handler = [this](const httplib::Request& hreq, httplib::Response& hres) {
    const auto start = std::chrono::steady_clock::now();
    Request req;
    req.method = hreq.method;
    req.path = hreq.path;
    req.params.reserve(hreq.params.size());
    for (const auto& [k, v] : hreq.params) req.params.emplace_back(k, v);
    for (const auto& [k, v] : hreq.headers) req.headers.emplace(Lower(k), v);
    // httplib does not touch the body after the handler (we set no logger):
    // take it instead of copying the largest part of a remote-write request.
    req.body = std::move(const_cast<std::string&>(hreq.body));
    std::string route;
    Response resp = Dispatch(req, &route);
    hres.status = resp.status;
    for (const auto& [k, v] : resp.headers) hres.set_header(k, v);
    if (resp.status != 204) {
      hres.set_content(std::move(resp.body), resp.content_type.c_str());
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    metrics_->ObserveHttp(route, resp.status, secs);
  };
  for (auto reg : {&httplib::Server::Get, &httplib::Server::Options}) {
    (http_.get()->*reg)(".*", handler);
  }
  http_->Post(".*", handler);
  http_->Put(".*", handler);
  http_->Patch(".*", handler);
  http_->Delete(".*", handler);

  if (port == 0) {
    port_ = http_->bind_to_any_port(host);
    if (port_ <= 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", opts_.listen_address));
    }
  } else {
    if (!http_->bind_to_port(host, port)) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", opts_.listen_address,
                       ": address in use or not permitted"));
    }
    port_ = port;
  }
  serve_thread_ = std::thread([this] { http_->listen_after_bind(); });
  log_->Info("Listening", {{"address", absl::StrCat(host, ":", port_)}});
  open_thread_ = std::thread([this] { OpenDb(); });
  return absl::OkStatus();
}

void Server::OpenDb() {
  log_->Info("Starting TSDB ...", {{"path", opts_.data_dir}});
  db::Options dbo = opts_.db;
  dbo.observer = metrics_->observer();
  if (!dbo.log) {
    Logger* log = log_;
    dbo.log = [log](std::string_view level, std::string_view msg) {
      LogLevel l = ParseLogLevel(level).value_or(LogLevel::kInfo);
      log->Log(l, msg);
    };
  }
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<db::DB>> db =
      db::DB::Open(opts_.data_dir, dbo, registry_);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::lock_guard lock(open_mu_);
  if (db.ok()) {
    db_owner_ = *std::move(db);
    const db::Stats st = db_owner_->GetStats();
    log_->Info("TSDB started",
               {{"duration", absl::StrCat(secs, "s")},
                {"blocks", absl::StrCat(st.num_blocks)},
                {"head_series", absl::StrCat(st.head.num_series)}});
    db_.store(db_owner_.get(), std::memory_order_release);
    log_->Info("Server is ready to receive web requests.");
  } else {
    open_status_ = db.status();
    log_->Error("Opening storage failed",
                {{"err", std::string(db.status().message())}});
  }
  open_done_ = true;
  open_cv_.notify_all();
}

absl::Status Server::WaitDbOpen() {
  std::unique_lock lock(open_mu_);
  open_cv_.wait(lock, [this] { return open_done_; });
  return open_status_;
}

absl::Status Server::Shutdown() {
  std::lock_guard lock(shutdown_mu_);
  if (shut_down_) return close_status_;
  shut_down_ = true;
  if (http_ != nullptr) {
    http_->stop();  // stops accepting; the pool finishes requests in flight
  }
  if (serve_thread_.joinable()) serve_thread_.join();
  if (open_thread_.joinable()) open_thread_.join();
  db_.store(nullptr, std::memory_order_release);
  writer_->ReleaseAppenders();  // before the DB they belong to closes
  if (db_owner_ != nullptr) {
    log_->Info("Stopping storage ...");
    close_status_ = db_owner_->Close();
    if (close_status_.ok()) {
      log_->Info("TSDB closed cleanly");
    } else {
      log_->Error("Closing storage failed",
                  {{"err", std::string(close_status_.message())}});
    }
    db_owner_.reset();
  }
  return close_status_;
}

Response Server::Dispatch(const Request& req, std::string* handler) {
  const std::string& p = req.path;
  const std::string& m = req.method;
  *handler = p;
  if (p == "/-/healthy") {
    if (!MethodIn(m, {"GET", "HEAD"})) return MethodNotAllowed();
    return Text(200, "Prometheus Server is Healthy.\n");
  }
  if (p == "/-/ready") {
    if (!MethodIn(m, {"GET", "HEAD"})) return MethodNotAllowed();
    return ready() ? Text(200, "Prometheus Server is Ready.\n") : NotReady();
  }
  db::DB* d = db();

  if (p == "/api/v1/write") {
    if (m != "POST") return MethodNotAllowed();
    if (d == nullptr) return NotReady();
    WriteOutcome out;
    Response r = writer_->Handle(req, &out);
    if (out.samples_appended > 0)
      metrics_->AddSamplesAppended(out.samples_appended);
    if (!out.reject_reason.empty()) {
      metrics_->AddSamplesRejected(out.reject_reason,
                                   std::max<uint64_t>(1, out.samples_rejected));
      log_->Debug("Remote write rejected", {{"err", r.body}});
    }
    return r;
  }
  if (p == "/api/v1/read") {
    if (m != "POST") return MethodNotAllowed();
    if (d == nullptr) return NotReady();
    return HandleRemoteRead(d, req, opts_.read);
  }
  if (p == "/metrics") {
    if (!MethodIn(m, {"GET", "HEAD"})) return MethodNotAllowed();
    Response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics_->Render(d);
    return r;
  }
  if (p == "/api/v1/series" || p == "/api/v1/labels") {
    if (!MethodIn(m, {"GET", "HEAD", "POST"})) return MethodNotAllowed();
    if (d == nullptr) return NotReady();
    return p == "/api/v1/series" ? HandleSeries(d, req) : HandleLabels(d, req);
  }
  if (p == "/api/v1/status/tsdb") {
    if (!MethodIn(m, {"GET", "HEAD"})) return MethodNotAllowed();
    if (d == nullptr) return NotReady();
    return HandleStatusTsdb(d, req);
  }
  if (p.size() > kLabelPrefix.size() + kValuesSuffix.size() &&
      p.compare(0, kLabelPrefix.size(), kLabelPrefix) == 0 &&
      p.compare(p.size() - kValuesSuffix.size(), kValuesSuffix.size(),
                kValuesSuffix) == 0) {
    *handler = "/api/v1/label/:name/values";
    const std::string_view name = std::string_view(p).substr(
        kLabelPrefix.size(),
        p.size() - kLabelPrefix.size() - kValuesSuffix.size());
    if (name.find('/') == std::string_view::npos) {
      if (!MethodIn(m, {"GET", "HEAD"})) return MethodNotAllowed();
      if (d == nullptr) return NotReady();
      return HandleLabelValues(d, name, req);
    }
  }
  constexpr std::string_view kAdmin = "/api/v1/admin/tsdb/";
  if (p.compare(0, kAdmin.size(), kAdmin) == 0) {
    const std::string_view what = std::string_view(p).substr(kAdmin.size());
    const bool snapshot = what == "snapshot";
    const bool del = what == "delete_series";
    const bool clean = what == "clean_tombstones";
    if (snapshot || del || clean) {
      if (!MethodIn(m, {"POST", "PUT"})) return MethodNotAllowed();
      if (d == nullptr) return NotReady();
      if (!opts_.enable_admin_api) {
        Response r;
        r.status = 503;
        r.body =
            R"({"status":"error","errorType":"unavailable","error":"admin APIs disabled"})";
        return r;
      }
      if (snapshot) return HandleSnapshot(d, opts_.data_dir, req);
      if (del) return HandleDeleteSeries(d, req);
      return HandleCleanTombstones(d, req);
    }
  }
  *handler = "other";
  return Text(404, "404 page not found\n");
}

}  // namespace tsdb::server
