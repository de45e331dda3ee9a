// Starts the real Prometheus 2.42 server on a data dir holding blocks we
// wrote and checks through its HTTP API that it loads them and serves every
// sample. Skipped when prometheus or curl is missing, unless
// TSDB_REQUIRE_PROMETHEUS=1.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/prometheus/prometheus_binaries.h"
#include "tsdb/block/block_test_util.h"
#include "tsdb/block/block_writer.h"
#include "tsdb/io/file_system.h"

namespace tsdb::block {
namespace {

using testutil::TestSeries;

bool Executable(const char* p) { return ::access(p, X_OK) == 0; }

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

TEST(PrometheusServerCompatTest, ServesOurBlocks) {
  if (!Executable("/usr/bin/prometheus") || !Executable("/usr/bin/curl")) {
    if (::tsdb::testing::PrometheusRequired()) {
      FAIL() << "/usr/bin/prometheus or curl missing";
    }
    GTEST_SKIP() << "/usr/bin/prometheus or curl missing";
  }
  testutil::Registries reg;
  const std::string dir = testutil::TempDir("prometheus_server");
  const int64_t start = 1675152000000;
  std::vector<TestSeries> series;
  for (int i = 0; i < 25; ++i) {
    TestSeries s;
    s.lset = labels::Labels::FromPairs(
        {{"__name__", "ours"}, {"i", absl::StrCat(i)}, {"v", "ü \"q\" \\"}});
    for (int k = 0; k < 2 * 480; ++k) {
      s.samples.push_back({start + k * 15000LL, i * 100.0 + k});
    }
    series.push_back(std::move(s));
  }
  for (int blk = 0; blk < 2; ++blk) {
    std::vector<TestSeries> part;
    for (const TestSeries& s : series) {
      part.push_back({s.lset, std::vector<testutil::Sample>(
                                  s.samples.begin() + blk * 480,
                                  s.samples.begin() + (blk + 1) * 480)});
    }
    VectorSeriesSource src(testutil::Encode(reg, part, 120, 7200000));
    BlockWriterOptions opts;
    opts.min_time = start + blk * 7200000LL;
    opts.max_time = start + (blk + 1) * 7200000LL;
    ASSERT_TRUE(WriteBlock(io::PosixFileSystem(), dir, src, opts).ok());
  }

  const int port = FreePort();
  ASSERT_GT(port, 0);
  const std::string addr = absl::StrCat("127.0.0.1:", port);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string path = "--storage.tsdb.path=" + dir;
    const std::string listen = "--web.listen-address=" + addr;
    const std::string log = dir + "/../prometheus_server.log";
    FILE* f = std::freopen(log.c_str(), "w", stderr);
    (void)f;
    ::execl("/usr/bin/prometheus", "prometheus", path.c_str(), listen.c_str(),
            "--config.file=/dev/null", "--storage.tsdb.retention.time=100000d",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  bool ready = false;
  for (int i = 0; i < 100 && !ready; ++i) {
    std::string out;
    ready = testutil::Run(absl::StrCat("curl -sf http://", addr, "/-/ready"),
                          &out) == 0;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::string counts, sums;
  if (ready) {
    const std::string q = absl::StrCat(
        "curl -sf -G http://", addr,
        "/api/v1/query --data-urlencode time=", (start + 4 * 3600000) / 1000,
        " --data-urlencode ");
    testutil::Run(q + "'query=count(count_over_time(ours[4h]) == 960)'",
                  &counts);
    testutil::Run(q + "'query=sum(sum_over_time(ours[4h]))'", &sums);
  }
  ::kill(pid, SIGTERM);
  int st = 0;
  ::waitpid(pid, &st, 0);
  ASSERT_TRUE(ready) << "prometheus did not become ready";
  // All 25 series have all 960 samples ...
  EXPECT_TRUE(absl::StrContains(counts, "\"25\"")) << counts;
  // ... with the right values: sum over i, k of (100 i + k).
  int64_t want = 0;
  for (int i = 0; i < 25; ++i) {
    for (int k = 0; k < 960; ++k) want += i * 100 + k;
  }
  EXPECT_TRUE(absl::StrContains(sums, absl::StrCat("\"", want, "\"")))
      << sums << " want " << want;
}

}  // namespace
}  // namespace tsdb::block
