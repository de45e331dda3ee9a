#include "frontends/server/server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "frontends/builtin_plugins.h"
#include "frontends/prompb/remote.pb.h"
#include "frontends/server/flags.h"
#include "frontends/server/remote_write.h"
#include "gtest/gtest.h"

namespace tsdb::server {
namespace {

std::string WriteBody(
    const std::vector<std::vector<std::pair<std::string, std::string>>>& series,
    int64_t t, double v = 1) {
  prometheus::WriteRequest wr;
  for (const auto& ls : series) {
    auto* ts = wr.add_timeseries();
    for (const auto& [n, val] : ls) {
      auto* l = ts->add_labels();
      l->set_name(n);
      l->set_value(val);
    }
    auto* s = ts->add_samples();
    s->set_timestamp(t);
    s->set_value(v);
  }
  return SnappyEncode(wr.SerializeAsString());
}

Request Req(std::string method, std::string path) {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(frontends::RegisterBuiltinPlugins(registry_).ok());
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("srv_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override {
    if (server_) (void)server_->Shutdown();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  ServerOptions Options() {
    ServerOptions o;
    o.listen_address = "127.0.0.1:0";
    o.data_dir = dir_.string();
    o.db.background = false;
    o.max_body_bytes = 64 << 10;
    o.http_threads = 4;
    o.logger = &log_;
    return o;
  }
  void StartServer(ServerOptions o) {
    server_ = std::make_unique<Server>(o, &registry_);
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_TRUE(server_->WaitDbOpen().ok());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }
  int PostWrite(const std::string& body) {
    httplib::Headers h = {{"Content-Encoding", "snappy"},
                          {"X-Prometheus-Remote-Write-Version", "0.1.0"}};
    auto res =
        client_->Post("/api/v1/write", h, body, "application/x-protobuf");
    return res ? res->status : -1;
  }
  int Get(const std::string& path, std::string* body = nullptr) {
    auto res = client_->Get(path.c_str());
    if (!res) return -1;
    if (body) *body = res->body;
    return res->status;
  }

  Logger log_{LogLevel::kWarn};
  Registry registry_;
  std::filesystem::path dir_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ServerTest, NotReadyBeforeTheDbOpens) {
  Server s(Options(), &registry_);  // not started: no DB yet
  std::string route;
  EXPECT_EQ(s.Dispatch(Req("GET", "/-/ready"), &route).status, 503);
  EXPECT_EQ(s.Dispatch(Req("GET", "/-/healthy"), &route).status, 200);
  EXPECT_EQ(s.Dispatch(Req("GET", "/api/v1/series"), &route).status, 503);
  EXPECT_EQ(s.Dispatch(Req("POST", "/api/v1/write"), &route).status, 503);
}

TEST_F(ServerTest, WriteThenListSeriesAndMetrics) {
  StartServer(Options());
  std::string body;
  EXPECT_EQ(Get("/-/ready", &body), 200);
  EXPECT_EQ(body, "Prometheus Server is Ready.\n");
  EXPECT_EQ(PostWrite(WriteBody({{{"__name__", "up"}, {"job", "a"}},
                                 {{"__name__", "up"}, {"job", "b"}}},
                                1000)),
            204);
  EXPECT_EQ(Get("/api/v1/series?match[]=up", &body), 200);
  EXPECT_NE(body.find("\"job\":\"a\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"job\":\"b\""), std::string::npos) << body;
  EXPECT_EQ(Get("/api/v1/label/job/values", &body), 200);
  EXPECT_NE(body.find("\"a\",\"b\""), std::string::npos) << body;
  EXPECT_EQ(Get("/metrics", &body), 200);
  EXPECT_NE(body.find("prometheus_http_requests_total"), std::string::npos);
  EXPECT_NE(body.find("/api/v1/write"), std::string::npos);
}

TEST_F(ServerTest, BadInputsGetA4xxAndTheServerKeepsServing) {
  StartServer(Options());
  const std::string good = WriteBody({{{"__name__", "m"}}}, 1000);
  std::string truncated = good.substr(0, good.size() / 2);
  struct Case {
    std::string what;
    std::string body;
    int want;
  };
  const std::vector<Case> cases = {
      {"truncated snappy", truncated, 400},
      {"not snappy", "\xff\xff\xff\xff\xff\xff", 400},
      {"invalid protobuf", SnappyEncode("\x0a\x10\x0a"), 400},
      {"unsorted labels", WriteBody({{{"b", "1"}, {"a", "1"}}}, 1), 400},
      {"duplicate labels", WriteBody({{{"a", "1"}, {"a", "2"}}}, 1), 400},
      {"empty label name", WriteBody({{{"", "1"}, {"a", "2"}}}, 1), 400},
      {"oversized body", std::string(100 << 10, 'x'), 413},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(PostWrite(c.body), c.want) << c.what;
    EXPECT_EQ(Get("/-/healthy"), 200) << "after " << c.what;
  }
  std::string body;
  EXPECT_EQ(Get("/no/such/path", &body), 404);
  EXPECT_EQ(Get("/api/v1/write"), 405);
  {
    auto res = client_->Delete("/api/v1/series");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 405);
  }
  {
    auto res = client_->Post("/api/v1/admin/tsdb/snapshot", "", "text/plain");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 503);
    EXPECT_NE(res->body.find("admin APIs disabled"), std::string::npos);
  }
  EXPECT_EQ(Get("/api/v1/series?match[]=%7B"), 400);  // bad selector
  // Out of order after a good write.
  EXPECT_EQ(PostWrite(good), 204);
  EXPECT_EQ(PostWrite(WriteBody({{{"__name__", "m"}}}, 500)), 400);
  // Still serving.
  EXPECT_EQ(PostWrite(WriteBody({{{"__name__", "m"}}}, 2000)), 204);
  EXPECT_EQ(Get("/-/ready"), 200);
}

TEST_F(ServerTest, AdminApiWhenEnabled) {
  ServerOptions o = Options();
  o.enable_admin_api = true;
  StartServer(o);
  ASSERT_EQ(PostWrite(WriteBody({{{"__name__", "m"}}}, 1000)), 204);
  auto res = client_->Post("/api/v1/admin/tsdb/snapshot", "", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_NE(res->body.find("\"name\""), std::string::npos);
}

// `curl -XPOST URL` sends neither a body nor Content-Length; the answer must
// come at once (httplib alone waited for its read timeout, then said 400).
TEST_F(ServerTest, PostWithoutContentLengthIsAnEmptyBody) {
  ServerOptions o = Options();
  o.enable_admin_api = true;
  StartServer(o);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  timeval tv{2, 0};  // less than httplib's 5 s read timeout
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string req =
      "POST /api/v1/admin/tsdb/snapshot HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(write(fd, req.data(), req.size()),
            static_cast<ssize_t>(req.size()));
  std::string got;
  char buf[4096];
  while (got.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  EXPECT_EQ(got.substr(0, 15), "HTTP/1.1 200 OK") << got;
}

// Requests in flight when the server shuts down complete; every sample the
// server acknowledged is in the DB afterwards.
TEST_F(ServerTest, ShutdownFinishesRequestsInFlight) {
  StartServer(Options());
  std::atomic<bool> stop{false};
  std::atomic<int64_t> acked{0};
  std::vector<std::thread> senders;
  for (int w = 0; w < 4; ++w) {
    senders.emplace_back([&, w] {
      httplib::Client cli("127.0.0.1", server_->port());
      for (int64_t t = 1; !stop.load(); ++t) {
        std::vector<std::vector<std::pair<std::string, std::string>>> series;
        for (int i = 0; i < 50; ++i) {
          series.push_back({{"__name__", "load"},
                            {"i", std::to_string(i)},
                            {"w", std::to_string(w)}});
        }
        auto res = cli.Post("/api/v1/write", WriteBody(series, t * 1000),
                            "application/x-protobuf");
        if (!res) break;  // the server stopped
        if (res->status != 204) break;
        acked += 50;
      }
    });
  }
  while (acked.load() < 2000) std::this_thread::yield();
  ASSERT_TRUE(server_->Shutdown().ok());
  stop = true;
  for (auto& t : senders) t.join();
  server_.reset();

  db::Options opts;
  opts.background = false;
  auto db = db::DB::Open(dir_.string(), opts, &registry_);
  ASSERT_TRUE(db.ok()) << db.status();
  auto q = (*db)->Querier(INT64_MIN, INT64_MAX);
  ASSERT_TRUE(q.ok());
  auto m = labels::Matcher::Make(labels::MatchType::kEqual, "__name__", "load");
  auto set = (*q)->Select({*m});
  ASSERT_TRUE(set.ok());
  int64_t n = 0;
  while ((*set)->Next()) {
    auto it = (*set)->At().Iterator();
    while (it->Next()) ++n;
  }
  q->reset();
  EXPECT_GE(n, acked.load());
  EXPECT_TRUE((*db)->Close().ok());
}

TEST(FlagsTest, PrometheusNamesAndPlugins) {
  Registry registry;
  ASSERT_TRUE(frontends::RegisterBuiltinPlugins(registry).ok());
  auto f = ParseServerFlags({}, registry);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->server.listen_address, "127.0.0.1:9090");
  EXPECT_EQ(f->server.data_dir, "data/");
  EXPECT_EQ(f->server.db.retention_ms, int64_t{15} * 24 * 3600 * 1000);

  f = ParseServerFlags(
      {"--storage.tsdb.path=/x", "--storage.tsdb.retention.time", "1d12h",
       "--storage.tsdb.retention.size=1GB", "--web.enable-admin-api",
       "--no-storage.tsdb.wal-compression", "--chunk-reader=pread",
       "--wal=none", "--web.listen-address=:9191", "--log.level=debug"},
      registry);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->server.data_dir, "/x");
  EXPECT_EQ(f->server.db.retention_ms, int64_t{36} * 3600 * 1000);
  EXPECT_EQ(f->server.db.max_bytes, int64_t{1} << 30);
  EXPECT_TRUE(f->server.enable_admin_api);
  EXPECT_EQ(f->server.db.wal_compression, wal::Compression::kNone);
  EXPECT_EQ(f->server.db.chunk_reader, "pread");
  EXPECT_EQ(f->server.db.wal, "none");
  EXPECT_EQ(f->log_level, LogLevel::kDebug);
  EXPECT_TRUE(f->server.db.snapshot_on_shutdown);  // our default

  f = ParseServerFlags({"--no-storage.tsdb.memory-snapshot-on-shutdown"},
                       registry);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_FALSE(f->server.db.snapshot_on_shutdown);

  f = ParseServerFlags(
      {"--storage.tsdb.memory-snapshot-on-shutdown=false",
       "--enable-feature=exemplar-storage,memory-snapshot-on-shutdown"},
      registry);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(f->server.db.snapshot_on_shutdown);
  EXPECT_EQ(f->ignored,
            std::vector<std::string>{"--enable-feature=exemplar-storage"});

  auto bad = ParseServerFlags({"--wal=fancy"}, registry);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("segmented"), absl::string_view::npos)
      << bad.status();
  bad = ParseServerFlags({"--chunk-reader=x"}, registry);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("mmap"), absl::string_view::npos);
  bad = ParseServerFlags({"--wal-compression=zstd"}, registry);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("none, snappy"),
            absl::string_view::npos);
  EXPECT_FALSE(ParseServerFlags({"--nope"}, registry).ok());
  EXPECT_FALSE(
      ParseServerFlags({"--storage.tsdb.retention.time=5x"}, registry).ok());
  EXPECT_FALSE(ParseServerFlags({"--web.listen-address=nope"}, registry).ok());
}

TEST(LogTest, Logfmt) {
  const std::string line = Logger::Format(LogLevel::kInfo, "hello world",
                                          {{"path", "data/"}, {"q", "a\"b"}});
  EXPECT_EQ(line.rfind("ts=", 0), 0u);
  EXPECT_NE(
      line.find(" level=info msg=\"hello world\" path=data/ q=\"a\\\"b\""),
      std::string::npos)
      << line;
}

}  // namespace
}  // namespace tsdb::server
