// Chunk snapshots shared with the real Prometheus 2.42 started with
// --enable-feature=memory-snapshot-on-shutdown, both ways:
//  - Prometheus scrapes itself, is stopped with SIGTERM (it writes a
//    snapshot); our start-up loads that snapshot and gets exactly the
//    samples `promtool tsdb dump` prints for the directory;
//  - we write a snapshot and empty the WAL before it; Prometheus, started
//    on that directory, serves every sample (so it read them from our
//    snapshot).
// Skipped when prometheus, promtool or curl is missing, unless
// TSDB_REQUIRE_PROMETHEUS=1.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "plugins/wal/segmented/segmented_wal.h"
#include "testing/prometheus/prometheus_binaries.h"
#include "tsdb/head/head.h"
#include "tsdb/head/test_util.h"
#include "tsdb/headwal/chunk_snapshot.h"
#include "tsdb/headwal/headwal.h"
#include "tsdb/headwal/test_util.h"
#include "tsdb/io/file_system.h"
#include "tsdb/wal/framing.h"

namespace tsdb::headwal {
namespace {

using ::tsdb::testing::CommandResult;
using ::tsdb::testing::RunCommand;

void Quiet(std::string_view) {}

std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = io::JoinPath(base ? base : "/tmp", name);
  (void)io::PosixFileSystem()->RemoveAll(dir);
  (void)io::PosixFileSystem()->CreateDirs(dir);
  return dir;
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

// A Prometheus server on `data` with the memory snapshot feature; stopped
// with SIGTERM (a clean shutdown) by Stop() or the destructor.
class Server {
 public:
  Server(const std::string& prometheus, const std::string& data,
         const std::string& config, const std::string& addr)
      : addr_(addr), log_(data + ".log") {
    pid_ = ::fork();
    if (pid_ == 0) {
      FILE* f = std::freopen(log_.c_str(), "w", stderr);
      (void)f;
      const std::string path = "--storage.tsdb.path=" + data;
      const std::string listen = "--web.listen-address=" + addr;
      const std::string cfg = "--config.file=" + config;
      ::execl(prometheus.c_str(), "prometheus", path.c_str(), listen.c_str(),
              cfg.c_str(), "--storage.tsdb.retention.time=100000d",
              "--enable-feature=memory-snapshot-on-shutdown",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~Server() { Stop(); }

  bool WaitReady() {
    for (int i = 0; i < 150; ++i) {
      auto r = RunCommand(
          {"/usr/bin/curl", "-sf", absl::StrCat("http://", addr_, "/-/ready")});
      if (r.ok() && r->exit_code == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  std::string Query(const std::string& q, int64_t time_s) {
    auto r = RunCommand({"/usr/bin/curl", "-sf", "-G",
                         absl::StrCat("http://", addr_, "/api/v1/query"),
                         "--data-urlencode", absl::StrCat("time=", time_s),
                         "--data-urlencode", "query=" + q});
    return r.ok() ? r->out : "";
  }

  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
  }

  std::string Log() {
    auto s = io::PosixFileSystem()->ReadFile(log_);
    return s.ok() ? *s : "";
  }

 private:
  std::string addr_;
  std::string log_;
  pid_t pid_ = -1;
};

bool HaveCurl() { return ::access("/usr/bin/curl", X_OK) == 0; }

TEST(ChunkSnapshotPrometheusTest, LoadsPrometheusSnapshot) {
  TSDB_REQUIRE_PROMTOOL(promtool);
  auto prometheus = ::tsdb::testing::FindPrometheus();
  if (!prometheus.has_value() || !HaveCurl()) {
    if (::tsdb::testing::PrometheusRequired()) FAIL() << "prometheus/curl";
    GTEST_SKIP() << "prometheus or curl missing";
  }
  const std::string base = TempDir("prom_snapshot");
  const std::string data = base + "/data";
  const int port = FreePort();
  ASSERT_GT(port, 0);
  const std::string addr = absl::StrCat("127.0.0.1:", port);
  const std::string config = base + "/prometheus.yml";
  ASSERT_TRUE(io::PosixFileSystem()->CreateDirs(data).ok());
  {
    FILE* f = std::fopen(config.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fprintf(f,
                 "global:\n  scrape_interval: 1s\nscrape_configs:\n"
                 "  - job_name: self\n    static_configs:\n"
                 "      - targets: ['%s']\n",
                 addr.c_str());
    std::fclose(f);
  }
  {
    Server s(*prometheus, data, config, addr);
    ASSERT_TRUE(s.WaitReady()) << s.Log();
    // Target discovery publishes after 5 s; then a few 1 s scrapes.
    std::this_thread::sleep_for(std::chrono::seconds(9));
    s.Stop();
    EXPECT_TRUE(absl::StrContains(s.Log(), "chunk snapshot complete"))
        << s.Log();
  }
  auto snap = LastChunkSnapshot(nullptr, data);
  ASSERT_TRUE(snap.ok()) << snap.status();
  ASSERT_TRUE(snap->has_value()) << [&] {
    auto names = io::PosixFileSystem()->ListDir(data);
    std::string all;
    for (const std::string& n :
         names.ok() ? *names : std::vector<std::string>{})
      all += n + " ";
    return all;
  }();

  auto dump = RunCommand({promtool, "tsdb", "dump", data});
  ASSERT_TRUE(dump.ok());
  ASSERT_EQ(dump->exit_code, 0) << dump->err;
  const auto want = ::tsdb::testing::ParsePromtoolDump(dump->out);
  ASSERT_GT(want.size(), 100u);

  head::HeadOptions opts = head::testing::TestOptions();
  auto opened = OpenHeadFromDir(nullptr, data, opts, 2, Quiet, INT64_MIN, {},
                                nullptr, /*use_chunk_snapshot=*/true);
  ASSERT_TRUE(opened.ok()) << opened.status();
  const StartupResult& st = opened->startup;
  EXPECT_TRUE(st.snapshot.loaded) << st.snapshot.ignored_reason;
  EXPECT_EQ(st.snapshot.dir, (*snap)->dir);
  EXPECT_EQ(st.snapshot.series, static_cast<int64_t>(want.size()));
  EXPECT_GT(st.snapshot.open_chunks, 100);
  auto got = testing::DumpHead(*opened->head);
  ASSERT_TRUE(got.ok()) << got.status();
  std::string diff;
  EXPECT_TRUE(testing::SameDump(*got, want, &diff)) << diff;
  EXPECT_TRUE(opened->mapper->Close().ok());
}

TEST(ChunkSnapshotPrometheusTest, PrometheusLoadsOurSnapshot) {
  auto prometheus = ::tsdb::testing::FindPrometheus();
  if (!prometheus.has_value() || !HaveCurl()) {
    if (::tsdb::testing::PrometheusRequired()) FAIL() << "prometheus/curl";
    GTEST_SKIP() << "prometheus or curl missing";
  }
  const std::string base = TempDir("our_snapshot");
  const std::string data = base + "/data";
  constexpr int kSeries = 7;
  constexpr int kSamples = 100;  // one open chunk each, nothing m-mapped
  const int64_t start = 1675152000000;
  int64_t want_sum = 0;
  {
    wal::WalOptions wo;
    wo.dir = data + "/wal";
    wo.log = Quiet;
    auto w = plugins::OpenSegmentedWal(wo);
    ASSERT_TRUE(w.ok()) << w.status();
    WalCommitLog log(w->get());
    head::HeadOptions opts = head::testing::TestOptions();
    opts.commit_log = &log;
    auto opened = OpenHeadFromDir(nullptr, data, opts, 1, Quiet);
    ASSERT_TRUE(opened.ok()) << opened.status();
    auto app = opened->head->Appender();
    for (int k = 0; k < kSamples; ++k) {
      for (int i = 0; i < kSeries; ++i) {
        const double v = i * 1000 + k;
        want_sum += i * 1000 + k;
        ASSERT_TRUE(
            app->Append(0,
                        labels::Labels::FromPairs(
                            {{"__name__", "ours"}, {"i", absl::StrCat(i)}}),
                        start + k * 15000, v)
                .ok());
      }
      ASSERT_TRUE(app->Commit().ok());
    }
    auto r = WriteChunkSnapshot(*opened->head, nullptr, data, w->get(), nullptr,
                                plugins::OpenSegmentedWal,
                                wal::Compression::kSnappy, Quiet);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->open_chunks, kSeries);
    ASSERT_TRUE(opened->mapper->Close().ok());
    ASSERT_TRUE((*w)->Close().ok());
    // Empty every WAL segment the snapshot covers: Prometheus can only get
    // the samples from the snapshot.
    for (int s = 0; s <= r->segment; ++s) {
      ASSERT_TRUE(io::PosixFileSystem()
                      ->Truncate(data + "/wal/" + wal::SegmentName(s), 0)
                      .ok());
    }
  }
  const int port = FreePort();
  ASSERT_GT(port, 0);
  const std::string addr = absl::StrCat("127.0.0.1:", port);
  const std::string config = base + "/prometheus.yml";
  {
    FILE* f = std::fopen(config.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fprintf(f, "global:\n  scrape_interval: 1m\n");
    std::fclose(f);
  }
  Server s(*prometheus, data, config, addr);
  ASSERT_TRUE(s.WaitReady()) << s.Log();
  const int64_t at = (start + kSamples * 15000) / 1000;
  const std::string counts = s.Query(
      absl::StrCat("count(count_over_time(ours[1h]) == ", kSamples, ")"), at);
  const std::string sums = s.Query("sum(sum_over_time(ours[1h]))", at);
  s.Stop();
  const std::string log = s.Log();
  EXPECT_FALSE(absl::StrContains(log, "Failed to load chunk snapshot")) << log;
  EXPECT_TRUE(absl::StrContains(counts, absl::StrCat("\"", kSeries, "\"")))
      << counts << "\n"
      << log;
  EXPECT_TRUE(absl::StrContains(sums, absl::StrCat("\"", want_sum, "\"")))
      << sums;
}

}  // namespace
}  // namespace tsdb::headwal
