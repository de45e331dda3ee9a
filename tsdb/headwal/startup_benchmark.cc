// Start-up benchmark: WAL replay into our head vs the real Prometheus 2.42
// starting on the same data dir.
//
//   tools/bazel run //tsdb/headwal:startup_benchmark --
//       [--series=100000] [--samples=10000000] [--dir=/tmp/...]
//       [--server=PATH] [--rounds=N] [--reuse]
//
// 1. Writes a WAL (snappy, Prometheus's default) of `samples` samples over
//    `series` series through a head + WalCommitLog + the segmented WAL
//    (commits of 10k samples, 15 s scrape interval).
// 2. Replays it into a fresh head with 1 and 2 workers (seconds, samples/s).
// 3. With --server=PATH (our //frontends:server binary, e.g.
//    bazel-out/k8-opt/bin/frontends/server): starts it on a copy of the data
//    dir and times process start -> GET /-/ready returns 200.
// 4. Starts `prometheus --storage.tsdb.path=<copy> --config.file=<empty
//    scrape config> --web.listen-address=127.0.0.1:<free port>` on a copy
//    and times process start -> GET /-/ready returns 200; also prints the
//    replay duration Prometheus logs ("WAL replay completed").
// --rounds=N repeats 2-4 (ours and Prometheus alternated) and prints the
// medians; --reuse keeps a WAL already in --dir.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "plugins/wal/segmented/segmented_wal.h"
#include "tsdb/head/head.h"
#include "tsdb/head/test_util.h"
#include "tsdb/headwal/headwal.h"

namespace tsdb::headwal {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "startup_benchmark: %s\n", msg.c_str());
  std::exit(1);
}

void WriteWal(const std::string& dir, int series, int64_t samples) {
  wal::WalOptions wo;
  wo.dir = dir;
  wo.log = [](std::string_view) {};
  auto w = plugins::OpenSegmentedWal(wo);
  if (!w.ok()) Die(w.status().ToString());
  WalCommitLog log(w->get());
  head::HeadOptions opts;
  opts.codecs = &head::testing::XorRegistry();
  opts.commit_log = &log;
  auto h = head::Head::Open(opts);
  if (!h.ok()) Die(h.status().ToString());
  std::vector<labels::Labels> lsets;
  lsets.reserve(series);
  for (int s = 0; s < series; ++s) {
    lsets.push_back(labels::Labels::FromPairs(
        {{"__name__", absl::StrCat("metric_", s % 100)},
         {"instance", absl::StrCat("host-", s / 100, ":9100")},
         {"job", "node"}}));
  }
  std::vector<SeriesRef> refs(series, 0);
  const int64_t per_series = samples / series;
  const int64_t t0 = int64_t{1700000000000};
  auto app = (*h)->Appender();
  int64_t pending = 0;
  for (int64_t i = 0; i < per_series; ++i) {
    for (int s = 0; s < series; ++s) {
      auto r = app->Append(refs[s], lsets[s], t0 + i * 15000,
                           static_cast<double>((i * 31 + s) % 1000) * 0.5);
      if (!r.ok()) Die(r.status().ToString());
      refs[s] = *r;
      if (++pending == 10000) {
        if (!app->Commit().ok()) Die("commit");
        pending = 0;
      }
    }
  }
  if (!app->Commit().ok()) Die("commit");
  if (!(*w)->Close().ok()) Die("close");
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    Die("free port");
  }
  const int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

// HTTP status of GET /-/ready, or -1 if not connectable.
int ReadyStatus(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  const std::string req = "GET /-/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (write(fd, req.data(), req.size()) < 0) {
    close(fd);
    return -1;
  }
  char buf[64] = {0};
  const ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n < 12) return -1;
  return std::atoi(buf + 9);  // "HTTP/1.1 200 OK"
}

// Starts `argv` (a server given a copy of `data` at `copy`, listening on
// `port`) and times process start -> GET /-/ready 200; then SIGTERM.
// Returns seconds; the server's stderr goes to `logf`.
double TimeToReady(const std::vector<std::string>& argv, int port,
                   const std::string& logf) {
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const auto start = Clock::now();
  const pid_t pid = fork();
  if (pid < 0) Die("fork");
  if (pid == 0) {
    FILE* f = std::freopen(logf.c_str(), "w", stderr);
    (void)f;
    f = std::freopen(logf.c_str(), "a", stdout);
    (void)f;
    execv(args[0], args.data());
    _exit(127);
  }
  double ready = -1;
  while (Since(start) < 600) {
    if (ReadyStatus(port) == 200) {
      ready = Since(start);
      break;
    }
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid)
      Die(argv[0] + " exited; see " + logf);
    usleep(2000);
  }
  kill(pid, SIGTERM);
  int st;
  waitpid(pid, &st, 0);
  return ready;
}

void Copy(const std::string& from, const std::string& to) {
  if (std::system(("rm -rf '" + to + "' && cp -r '" + from + "' '" + to + "'")
                      .c_str()) != 0) {
    Die("copy");
  }
  // Write the copy back now: otherwise the kernel's writeback of ~200 MB
  // runs during the timed start-up (on whichever server comes next).
  sync();
}

double RunPrometheus(const std::string& base, const std::string& data) {
  const std::string copy = base + "/prom_copy";
  const std::string cfg = base + "/prometheus.yml";
  const std::string logf = base + "/prometheus.log";
  Copy(data, copy);
  std::ofstream(cfg) << "global:\n  scrape_interval: 15s\nscrape_configs: []\n";
  const int port = FreePort();
  const double ready =
      TimeToReady({"/usr/bin/prometheus", "--storage.tsdb.path=" + copy,
                   "--config.file=" + cfg,
                   absl::StrCat("--web.listen-address=127.0.0.1:", port)},
                  port, logf);
  std::ifstream in(logf);
  std::string line, replay;
  while (std::getline(in, line)) {
    if (line.find("WAL replay completed") != std::string::npos) replay = line;
  }
  std::printf("prometheus 2.42: start -> /-/ready 200: %.3f s\n", ready);
  std::printf("  its log: %s\n", replay.c_str());
  std::fflush(stdout);
  return ready;
}

// Our server binary (//frontends:server) on a copy, timed like Prometheus.
double RunOurServer(const std::string& server, const std::string& base,
                    const std::string& data) {
  const std::string copy = base + "/ours_copy";
  const std::string logf = base + "/ours.log";
  Copy(data, copy);
  const int port = FreePort();
  const double ready =
      TimeToReady({server, "--storage.tsdb.path=" + copy,
                   absl::StrCat("--web.listen-address=127.0.0.1:", port)},
                  port, logf);
  std::printf("ours (server): start -> /-/ready 200: %.3f s\n", ready);
  std::fflush(stdout);
  return ready;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

int Main(int argc, char** argv) {
  int series = 100000;
  int64_t samples = 10000000;
  int rounds = 1;
  bool reuse = false;
  std::string base = "/tmp/tsdb_startup_benchmark";
  std::string server;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--series=", 0) == 0) series = std::atoi(a.c_str() + 9);
    if (a.rfind("--samples=", 0) == 0) samples = std::atoll(a.c_str() + 10);
    if (a.rfind("--dir=", 0) == 0) base = a.substr(6);
    if (a.rfind("--server=", 0) == 0) server = a.substr(9);
    if (a.rfind("--rounds=", 0) == 0)
      rounds = std::max(1, std::atoi(a.c_str() + 9));
    if (a == "--reuse") reuse = true;
  }
  const std::string data = base + "/data";
  if (!reuse || access((data + "/wal").c_str(), F_OK) != 0) {
    if (std::system(
            ("rm -rf '" + base + "' && mkdir -p '" + data + "'").c_str()) !=
        0) {
      Die("mkdir");
    }
    auto t = Clock::now();
    WriteWal(data + "/wal", series, samples);
    std::printf("wrote WAL: %d series, %lld samples in %.3f s\n", series,
                static_cast<long long>(samples), Since(t));
  } else {
    std::printf("reusing the WAL in %s/wal\n", data.c_str());
  }
  std::fflush(stdout);
  if (std::system(("du -sh '" + data + "/wal'").c_str()) != 0) Die("du");

  const bool prometheus = access("/usr/bin/prometheus", X_OK) == 0;
  if (!prometheus) std::printf("prometheus not installed: skipped\n");
  std::vector<double> ours_server, prom;
  for (int round = 0; round < rounds; ++round) {
    for (int workers : {1, 2}) {
      head::HeadOptions opts;
      opts.codecs = &head::testing::XorRegistry();
      auto h = head::Head::Open(opts);
      if (!h.ok()) Die(h.status().ToString());
      auto r = ReplayIntoHead(h->get(), nullptr, data + "/wal", workers,
                              [](std::string_view) {});
      if (!r.ok()) Die(r.status().ToString());
      std::printf(
          "ours, %d worker(s): replay %.3f s (%lld series, %lld samples, "
          "%.1f M samples/s, %d segments)\n",
          workers, r->seconds, static_cast<long long>(r->series),
          static_cast<long long>(r->samples), r->samples / r->seconds / 1e6,
          r->segments);
      std::fflush(stdout);
    }
    // Alternated, so that both see the same machine.
    if (!server.empty())
      ours_server.push_back(RunOurServer(server, base, data));
    if (prometheus) prom.push_back(RunPrometheus(base, data));
  }
  if (!ours_server.empty() && !prom.empty()) {
    const double o = Median(ours_server), p = Median(prom);
    std::printf(
        "medians of %d: ours (server) %.3f s, prometheus %.3f s: %.2fx\n",
        rounds, o, p, p / o);
  }
  return 0;
}

}  // namespace
}  // namespace tsdb::headwal

int main(int argc, char** argv) { return tsdb::headwal::Main(argc, argv); }
