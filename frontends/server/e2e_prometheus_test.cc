// End to end with the real Prometheus 2.42: Prometheus "A" scrapes itself
// every second and remote-writes to our server; then
//  (a) our /api/v1/series lists A's series;
//  (b) Prometheus "B", with remote_read pointed at our server, answers a
//      PromQL query with exactly the raw samples A holds;
//  (c) after SIGTERM, `promtool tsdb dump` of our data dir holds them.
// Skipped without /usr/bin/prometheus and promtool unless
// TSDB_REQUIRE_PROMETHEUS=1. Takes ~20 s.
#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "testing/prometheus/prometheus_binaries.h"

namespace tsdb::server {
namespace {

using Clock = std::chrono::steady_clock;

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

// A child process with its output in `log`; SIGKILLed if still running
// when destroyed.
class Process {
 public:
  Process(std::vector<std::string> argv, const std::string& log) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> args;
      for (std::string& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // SIGTERM and wait (up to `seconds`); the exit status, or -1.
  int Stop(int seconds = 30) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + std::chrono::seconds(seconds);
    int status = 0;
    while (Clock::now() < deadline) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
};

bool WaitReady(int port, int seconds) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_connection_timeout(1);
  const auto deadline = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < deadline) {
    auto res = cli.Get("/-/ready");
    if (res && res->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

nlohmann::json Query(int port, const std::string& q, double time) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_read_timeout(30);
  char t[64];
  std::snprintf(t, sizeof(t), "%.3f", time);
  auto res =
      cli.Get("/api/v1/query", httplib::Params{{"query", q}, {"time", t}},
              httplib::Headers{});
  if (!res) return nullptr;
  return nlohmann::json::parse(res->body, nullptr, false);
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(PrometheusEndToEnd, RemoteWriteSeriesRemoteReadAndDump) {
  auto prometheus = ::tsdb::testing::FindPrometheus();
  auto promtool = ::tsdb::testing::FindPromtool();
  if (!prometheus || !promtool) {
    if (::tsdb::testing::PrometheusRequired()) {
      FAIL() << "prometheus/promtool missing and TSDB_REQUIRE_PROMETHEUS=1";
    }
    GTEST_SKIP() << "prometheus/promtool not installed";
  }
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string root =
      std::string(tmp ? tmp : "/tmp") + "/e2e_" + std::to_string(::getpid());
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  const int ours = FreePort();
  int pa = FreePort(), pb = FreePort();
  while (pa == ours) pa = FreePort();
  while (pb == ours || pb == pa) pb = FreePort();
  ASSERT_TRUE(ours > 0 && pa > 0 && pb > 0);

  Process server({"frontends/server", "--storage.tsdb.path=" + root + "/ours",
                  "--web.listen-address=127.0.0.1:" + std::to_string(ours)},
                 root + "/ours.log");
  ASSERT_TRUE(WaitReady(ours, 30)) << ReadFile(root + "/ours.log");

  WriteFile(root + "/a.yml",
            "global:\n  scrape_interval: 1s\n"
            "scrape_configs:\n  - job_name: a\n    static_configs:\n"
            "      - targets: ['127.0.0.1:" +
                std::to_string(pa) +
                "']\n"
                "remote_write:\n  - url: http://127.0.0.1:" +
                std::to_string(ours) +
                "/api/v1/write\n"
                "    queue_config:\n      batch_send_deadline: 500ms\n"
                "      min_backoff: 50ms\n");
  Process a({*prometheus, "--config.file=" + root + "/a.yml",
             "--storage.tsdb.path=" + root + "/a",
             "--web.listen-address=127.0.0.1:" + std::to_string(pa)},
            root + "/a.log");
  ASSERT_TRUE(WaitReady(pa, 30)) << ReadFile(root + "/a.log");
  // Prometheus starts scraping ~5 s after start-up; wait for 8 scrapes.
  {
    const auto deadline = Clock::now() + std::chrono::seconds(40);
    for (;;) {
      const double now =
          std::chrono::duration<double>(
              std::chrono::system_clock::now().time_since_epoch())
              .count();
      nlohmann::json c = Query(
          pa, "count_over_time(scrape_duration_seconds{job=\"a\"}[1m])", now);
      if (c.is_object() && c["data"]["result"].size() == 1 &&
          std::stoi(c["data"]["result"][0]["value"][1].get<std::string>()) >=
              8) {
        break;
      }
      ASSERT_LT(Clock::now(), deadline)
          << "A does not scrape: " << ReadFile(root + "/a.log");
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }

  // A window of A's raw samples that remote write has surely delivered.
  const double t_end = std::chrono::duration<double>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count() -
                       3;
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const std::string q = "scrape_duration_seconds{job=\"a\"}[6s]";
  nlohmann::json want = Query(pa, q, t_end);
  ASSERT_TRUE(want.is_object()) << "query A failed";
  ASSERT_EQ(want["status"], "success") << want.dump();
  ASSERT_EQ(want["data"]["result"].size(), 1u) << want.dump();
  const nlohmann::json want_values = want["data"]["result"][0]["values"];
  ASSERT_GE(want_values.size(), 4u) << want.dump() << ReadFile(root + "/a.log");

  // (a) Our series API lists A's series.
  {
    httplib::Client cli("127.0.0.1", ours);
    auto res =
        cli.Get("/api/v1/series", httplib::Params{{"match[]", "{job=\"a\"}"}},
                httplib::Headers{});
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    nlohmann::json j = nlohmann::json::parse(res->body);
    EXPECT_GT(j["data"].size(), 100u);
    EXPECT_NE(res->body.find("\"__name__\":\"scrape_duration_seconds\""),
              std::string::npos);
    EXPECT_NE(res->body.find("\"__name__\":\"prometheus_build_info\""),
              std::string::npos);
  }

  // (b) Prometheus B reads the same samples from us through remote read.
  WriteFile(root + "/b.yml",
            "remote_read:\n  - url: http://127.0.0.1:" + std::to_string(ours) +
                "/api/v1/read\n    read_recent: true\n");
  Process b({*prometheus, "--config.file=" + root + "/b.yml",
             "--storage.tsdb.path=" + root + "/b",
             "--web.listen-address=127.0.0.1:" + std::to_string(pb)},
            root + "/b.log");
  ASSERT_TRUE(WaitReady(pb, 30)) << ReadFile(root + "/b.log");
  nlohmann::json got = Query(pb, q, t_end);
  ASSERT_TRUE(got.is_object()) << "query B failed";
  ASSERT_EQ(got["status"], "success") << got.dump();
  ASSERT_EQ(got["data"]["result"].size(), 1u) << got.dump();
  EXPECT_EQ(got["data"]["result"][0]["metric"],
            want["data"]["result"][0]["metric"]);
  EXPECT_EQ(got["data"]["result"][0]["values"], want_values);
  // A PromQL function over the remote data too.
  nlohmann::json ca = Query(pa, "count_over_time(" + q + ")", t_end);
  nlohmann::json cb = Query(pb, "count_over_time(" + q + ")", t_end);
  EXPECT_EQ(ca["data"]["result"], cb["data"]["result"]) << cb.dump();

  EXPECT_EQ(b.Stop(), 0);
  EXPECT_EQ(a.Stop(), 0);
  // (c) A clean stop, then promtool reads every sample of the window.
  EXPECT_EQ(server.Stop(), 0) << ReadFile(root + "/ours.log");
  auto dump =
      ::tsdb::testing::RunCommand({*promtool, "tsdb", "dump", root + "/ours"});
  ASSERT_TRUE(dump.ok());
  ASSERT_EQ(dump->exit_code, 0) << dump->err;
  const ::tsdb::testing::PromtoolDump parsed =
      ::tsdb::testing::ParsePromtoolDump(dump->out);
  const std::vector<std::pair<int64_t, double>>* samples = nullptr;
  for (const auto& [lset, s] : parsed) {
    if (lset.find("__name__=\"scrape_duration_seconds\"") !=
            std::string::npos &&
        lset.find("job=\"a\"") != std::string::npos) {
      samples = &s;
    }
  }
  ASSERT_NE(samples, nullptr);
  for (const auto& v : want_values) {
    const int64_t t = static_cast<int64_t>(v[0].get<double>() * 1000 + 0.5);
    const double val = std::strtod(v[1].get<std::string>().c_str(), nullptr);
    bool found = false;
    for (const auto& [st, sv] : *samples) found |= st == t && sv == val;
    EXPECT_TRUE(found) << "sample " << t << " " << val << " missing in dump";
  }
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace tsdb::server
