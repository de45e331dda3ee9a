// Crash test: a child process appends and commits batches to a head logging
// to the segmented WAL, acknowledging each commit through a pipe; the parent
// kill -9s it at random moments. After each kill the parent opens the WAL
// with repair, replays it into a fresh head and checks that every
// acknowledged sample is there (and nothing that was never written).
// Rounds: TSDB_HEADWAL_CRASH_ROUNDS (default 20); seed:
// TSDB_HEADWAL_CRASH_SEED.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <random>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "plugins/wal/segmented/segmented_wal.h"
#include "tsdb/head/head.h"
#include "tsdb/head/test_util.h"
#include "tsdb/headwal/headwal.h"
#include "tsdb/headwal/test_util.h"

namespace tsdb::headwal {
namespace {

constexpr int kSeries = 10;
constexpr int64_t kStep = 1000;

labels::Labels SeriesLabels(int j) {
  return labels::Labels::FromPairs(
      {{"__name__", "crash"}, {"series", std::to_string(j)}});
}
double Value(int64_t batch, int j) { return batch * 10.0 + j; }

int EnvInt(const char* name, int def) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoi(v) : def;
}

wal::WalOptions WalOpts(const std::string& dir) {
  wal::WalOptions wo;
  wo.dir = dir;
  wo.segment_size = 4 * wal::kPageSize;  // frequent rollovers
  wo.log = [](std::string_view) {};
  return wo;
}

// The child: recover, then append batches until killed. Never returns.
[[noreturn]] void RunChild(const std::string& dir, int ack_fd) {
  auto w = plugins::OpenSegmentedWal(WalOpts(dir));
  if (!w.ok()) _exit(2);
  WalCommitLog log(w->get());
  head::HeadOptions opts = head::testing::TestOptions();
  opts.commit_log = &log;
  auto h = head::Head::Open(opts);
  if (!h.ok()) _exit(3);
  auto r = ReplayIntoHead(h->get(), nullptr, dir, 2, [](std::string_view) {});
  if (!r.ok()) _exit(4);
  int64_t batch = (*h)->initialized() ? (*h)->MaxTime() / kStep + 1 : 0;
  auto app = (*h)->Appender();
  for (;; ++batch) {
    for (int j = 0; j < kSeries; ++j) {
      if (!app->Append(0, SeriesLabels(j), batch * kStep, Value(batch, j))
               .ok()) {
        _exit(5);
      }
    }
    if (!app->Commit().ok()) _exit(6);
    if (write(ack_fd, &batch, sizeof(batch)) != sizeof(batch)) _exit(7);
  }
}

TEST(CrashTest, AcknowledgedCommitsSurviveKill9) {
  const int rounds = EnvInt("TSDB_HEADWAL_CRASH_ROUNDS", 20);
  const unsigned seed = static_cast<unsigned>(
      EnvInt("TSDB_HEADWAL_CRASH_SEED", static_cast<int>(time(nullptr))));
  std::mt19937 rng(seed);
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = std::string(tmp ? tmp : "/tmp") + "/headwal_crash_" +
                          std::to_string(getpid());
  ASSERT_TRUE(io::PosixFileSystem()->RemoveAll(dir).ok());

  int64_t max_acked = -1;
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " round " +
                 std::to_string(round));
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      RunChild(dir, fds[1]);
    }
    close(fds[1]);
    // Wait for a random number of acknowledgements, then kill at a random
    // moment shortly after.
    const int target = std::uniform_int_distribution<int>(1, 200)(rng);
    int seen = 0;
    int64_t b;
    while (seen < target && read(fds[0], &b, sizeof(b)) == sizeof(b)) {
      max_acked = std::max(max_acked, b);
      ++seen;
    }
    usleep(std::uniform_int_distribution<int>(0, 3000)(rng));
    kill(pid, SIGKILL);
    // Acks written before the kill count too.
    while (read(fds[0], &b, sizeof(b)) == sizeof(b)) {
      max_acked = std::max(max_acked, b);
    }
    close(fds[0]);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "child exited early, status " << status;

    // Restart: repair, replay into a fresh head.
    {
      auto w = plugins::OpenSegmentedWal(WalOpts(dir));
      ASSERT_TRUE(w.ok()) << w.status();
      ASSERT_TRUE((*w)->Close().ok());
    }
    auto h = head::testing::OpenHead();
    auto r = ReplayIntoHead(h.get(), nullptr, dir, 2, [](std::string_view) {});
    ASSERT_TRUE(r.ok()) << r.status();
    auto dump = testing::DumpHead(*h);
    ASSERT_TRUE(dump.ok()) << dump.status();
    for (int j = 0; j < kSeries; ++j) {
      const auto& got = (*dump)[SeriesLabels(j).ToString()];
      // Batches 0..max_acked all present, in order; later ones (written,
      // not acknowledged) allowed; values as written.
      ASSERT_GE(static_cast<int64_t>(got.size()), max_acked + 1)
          << "series " << j << " lost acknowledged samples";
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i].first, static_cast<int64_t>(i) * kStep);
        ASSERT_EQ(got[i].second, Value(static_cast<int64_t>(i), j));
      }
    }
  }
  EXPECT_GT(max_acked, 0);
}

}  // namespace
}  // namespace tsdb::headwal
