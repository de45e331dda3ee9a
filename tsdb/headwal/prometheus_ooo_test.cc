// The real Prometheus 2.42 with `out_of_order_time_window: 1h` receives
// in-order and then out-of-order samples by remote write (so it writes a WBL
// with Samples and MmapMarkers records and m-maps OOO chunks, encoding 0x81,
// to chunks_head); after it shuts down, OpenHeadFromDir on its data dir
// restores every sample sent: WAL, then WBL (markers skipped). Skipped
// without /usr/bin/prometheus (fails with TSDB_REQUIRE_PROMETHEUS=1).
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <snappy.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/prometheus/prometheus_binaries.h"
#include "tsdb/head/head.h"
#include "tsdb/head/test_util.h"
#include "tsdb/headwal/headwal.h"
#include "tsdb/headwal/test_util.h"

namespace tsdb::headwal {
namespace {

using ::tsdb::headwal::testing::HeadDump;

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

// Protocol-buffer wire format, just what a WriteRequest needs.
void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
void PutLen(std::string* out, int field, const std::string& bytes) {
  PutVarint(out, static_cast<uint64_t>(field) << 3 | 2);
  PutVarint(out, bytes.size());
  out->append(bytes);
}

struct Series {
  std::vector<std::pair<std::string, std::string>> labels;  // sorted
  std::vector<std::pair<int64_t, double>> samples;
};

// prometheus.WriteRequest{timeseries: [{labels, samples}]}, snappy-framed.
std::string EncodeWrite(const std::vector<Series>& data) {
  std::string req;
  for (const Series& s : data) {
    std::string ts;
    for (const auto& [n, v] : s.labels) {
      std::string l;
      PutLen(&l, 1, n);
      PutLen(&l, 2, v);
      PutLen(&ts, 1, l);
    }
    for (const auto& [t, v] : s.samples) {
      std::string p;
      PutVarint(&p, 1 << 3 | 1);  // value: fixed64
      uint64_t bits;
      std::memcpy(&bits, &v, 8);
      for (int i = 0; i < 8; ++i)
        p.push_back(static_cast<char>(bits >> (8 * i)));
      PutVarint(&p, 2 << 3 | 0);  // timestamp: varint (int64)
      PutVarint(&p, static_cast<uint64_t>(t));
      PutLen(&ts, 2, p);
    }
    PutLen(&req, 1, ts);
  }
  std::string compressed;
  snappy::Compress(req.data(), req.size(), &compressed);
  return compressed;
}

TEST(PrometheusOooTest, OurHeadRestoresPrometheusOooData) {
  if (::access("/usr/bin/prometheus", X_OK) != 0) {
    if (::tsdb::testing::PrometheusRequired()) {
      FAIL() << "/usr/bin/prometheus missing";
    }
    GTEST_SKIP() << "/usr/bin/prometheus missing";
  }
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) /
      absl::StrCat("prom_ooo_", ::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "data");
  {
    std::ofstream cfg(dir / "prometheus.yml");
    cfg << "storage:\n  tsdb:\n    out_of_order_time_window: 1h\n";
  }
  const int port = FreePort();
  ASSERT_GT(port, 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string log = (dir / "prometheus.log").string();
    FILE* f = std::freopen(log.c_str(), "w", stderr);
    (void)f;
    const std::string path = "--storage.tsdb.path=" + (dir / "data").string();
    const std::string cfg =
        "--config.file=" + (dir / "prometheus.yml").string();
    const std::string listen =
        absl::StrCat("--web.listen-address=127.0.0.1:", port);
    ::execl("/usr/bin/prometheus", "prometheus", path.c_str(), cfg.c_str(),
            listen.c_str(), "--web.enable-remote-write-receiver",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(10, 0);
  bool ready = false;
  for (int i = 0; i < 200 && !ready; ++i) {
    auto r = client.Get("/-/ready");
    ready = r && r->status == 200;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto post = [&](const std::vector<Series>& data) {
    auto r = client.Post(
        "/api/v1/write",
        httplib::Headers{{"Content-Encoding", "snappy"},
                         {"X-Prometheus-Remote-Write-Version", "0.1.0"}},
        EncodeWrite(data), "application/x-protobuf");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 204) << r->body;
  };

  // 3 series: 240 in-order samples 10 s apart over 40 min, then 100
  // out-of-order ones in between (3 full OOO chunks of 32 each get
  // m-mapped, with MmapMarkers), then 5 more.
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const int64_t tb = (now - 45 * 60 * 1000) / 1000 * 1000;
  HeadDump want;
  std::vector<Series> in_order, ooo, more;
  for (int k = 0; k < 3; ++k) {
    Series s{{{"__name__", "ooo_test"}, {"k", absl::StrCat(k)}}, {}};
    Series o = s, m = s;
    for (int j = 0; j < 240; ++j) {
      s.samples.emplace_back(tb + j * 10000, j + k * 1000.5);
    }
    for (int j = 0; j < 100; ++j) {
      o.samples.emplace_back(tb + j * 10000 + 5000, -j - k * 0.25);
    }
    for (int j = 200; j < 205; ++j) {
      m.samples.emplace_back(tb + j * 10000 + 5000, j * 0.5);
    }
    auto& w = want[absl::StrCat("{__name__=\"ooo_test\", k=\"", k, "\"}")];
    w.insert(w.end(), s.samples.begin(), s.samples.end());
    w.insert(w.end(), o.samples.begin(), o.samples.end());
    w.insert(w.end(), m.samples.begin(), m.samples.end());
    std::sort(w.begin(), w.end());
    in_order.push_back(std::move(s));
    ooo.push_back(std::move(o));
    more.push_back(std::move(m));
  }
  if (ready) {
    post(in_order);
    post(ooo);
    post(more);
  }
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  ASSERT_TRUE(ready) << "prometheus did not become ready; see "
                     << (dir / "prometheus.log");
  ASSERT_FALSE(HasFailure()) << "see " << (dir / "prometheus.log");
  ASSERT_TRUE(std::filesystem::exists(dir / "data" / "wbl"));

  head::HeadOptions opts = head::testing::TestOptions();
  opts.ooo_time_window = 60 * 60 * 1000;
  auto opened = OpenHeadFromDir(nullptr, (dir / "data").string(), opts, 2,
                                [](std::string_view) {});
  ASSERT_TRUE(opened.ok()) << opened.status();
  const StartupResult& st = opened->startup;
  std::printf(
      "wbl: %lld samples, %lld mmap markers; chunks_head: %llu OOO "
      "chunks; wal: %lld samples, %lld skipped\n",
      static_cast<long long>(st.wbl.samples),
      static_cast<long long>(st.wbl.mmap_markers),
      static_cast<unsigned long long>(st.mapped_out_of_order),
      static_cast<long long>(st.replay.samples),
      static_cast<long long>(st.replay.skipped_samples));
  EXPECT_EQ(st.wbl.samples, 3 * 105);
  EXPECT_EQ(st.wbl.unknown_refs, 0);
  EXPECT_GE(st.wbl.mmap_markers, 9);      // 3 m-mapped OOO chunks each
  EXPECT_GE(st.mapped_out_of_order, 9u);  // 0x81 chunks in chunks_head
  auto got = testing::DumpHead(*opened->head);
  ASSERT_TRUE(got.ok()) << got.status();
  std::string diff;
  EXPECT_TRUE(testing::SameDump(*got, want, &diff)) << diff;
  EXPECT_EQ(opened->head->Stats().ooo_samples, 3u * 105);
  EXPECT_TRUE(opened->mapper->Close().ok());
  opened->head.reset();
  if (!HasFailure()) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tsdb::headwal
