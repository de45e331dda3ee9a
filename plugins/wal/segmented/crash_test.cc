// Crash test: a forked child logs sample batches and reports every batch
// whose Log returned OK through a pipe; the parent kill -9s it at a random
// moment, re-opens the WAL (repair), replays it, and checks that every
// acknowledged batch is there and that what is there is a gap-free prefix.
// Rounds: 20 by default, WAL_CRASH_ROUNDS=N for more.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "plugins/wal/segmented/segmented_wal.h"
#include "tsdb/record/record.h"
#include "tsdb/wal/replay.h"

namespace tsdb::plugins {
namespace {

constexpr int kSamplesPerBatch = 50;

wal::WalOptions Options(const std::string& dir, bool snappy) {
  wal::WalOptions o;
  o.dir = dir;
  o.segment_size = 64 * 1024;
  o.compression = snappy ? wal::Compression::kSnappy : wal::Compression::kNone;
  o.log = [](std::string_view) {};
  return o;
}

[[noreturn]] void Child(const std::string& dir, bool snappy, int64_t seq,
                        int fd) {
  auto w = OpenSegmentedWal(Options(dir, snappy));
  if (!w.ok()) _exit(2);
  std::string series;
  record::EncodeSeries(
      {{1, labels::Labels::FromPairs({{"__name__", "crash"}})}}, &series);
  if (!(*w)->Log({series}).ok()) _exit(3);
  std::vector<record::RefSample> samples(kSamplesPerBatch);
  std::string rec;
  for (;; ++seq) {
    for (int i = 0; i < kSamplesPerBatch; ++i) {
      samples[i] = {1, seq * kSamplesPerBatch + i, static_cast<double>(seq)};
    }
    rec.clear();
    record::EncodeSamples(samples, &rec);
    if (!(*w)->Log({rec}).ok()) _exit(4);
    if (write(fd, &seq, sizeof(seq)) != sizeof(seq)) _exit(5);
    usleep(20);
  }
}

class TimestampVisitor final : public wal::ReplayVisitor {
 public:
  absl::Status OnSeries(const std::vector<record::RefSeries>&) override {
    return absl::OkStatus();
  }
  absl::Status OnSamples(int, absl::Span<const record::RefSample> s) override {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& x : s) ts.push_back(x.t);
    return absl::OkStatus();
  }
  absl::Status OnTombstones(const std::vector<record::Stone>&) override {
    return absl::OkStatus();
  }
  absl::Status OnDuplicateSeries(int, uint64_t) override {
    return absl::OkStatus();
  }
  std::vector<int64_t> ts;

 private:
  std::mutex mu_;
};

TEST(CrashTest, AcknowledgedBatchesSurviveKill9) {
  int rounds = 20;
  if (const char* r = std::getenv("WAL_CRASH_ROUNDS")) rounds = std::atoi(r);
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = std::string(tmp ? tmp : "/tmp") + "/crash_wal";
  (void)io::PosixFileSystem()->RemoveAll(dir);
  std::mt19937 rng(std::random_device{}());
  int64_t next_seq = 0;
  int64_t total_acked = 0;
  for (int round = 0; round < rounds; ++round) {
    const bool snappy = round % 2 == 0;
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      Child(dir, snappy, next_seq, fds[1]);
    }
    close(fds[1]);
    usleep(2000 + rng() % 30000);
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status))
        << "child exited with " << WEXITSTATUS(status);
    // Acks written before the kill are still in the pipe.
    int64_t max_acked = -1, seq;
    while (read(fds[0], &seq, sizeof(seq)) == sizeof(seq)) {
      max_acked = std::max(max_acked, seq);
      ++total_acked;
    }
    close(fds[0]);

    {
      auto w = OpenSegmentedWal(Options(dir, snappy));  // repairs
      ASSERT_TRUE(w.ok()) << w.status();
      ASSERT_TRUE((*w)->Close().ok());
    }
    TimestampVisitor v;
    wal::ReplayOptions ro;
    ro.dir = dir;
    ro.workers = 2;
    ro.log_progress = false;
    auto stats = wal::ReplayWalDir(ro, &v);
    ASSERT_TRUE(stats.ok()) << "round " << round << ": " << stats.status();
    // Gap-free prefix 0..n-1, covering every acknowledged batch.
    for (size_t i = 0; i < v.ts.size(); ++i) {
      ASSERT_EQ(v.ts[i], static_cast<int64_t>(i)) << "round " << round;
    }
    ASSERT_EQ(v.ts.size() % kSamplesPerBatch, 0u);
    const int64_t batches = v.ts.size() / kSamplesPerBatch;
    ASSERT_GE(batches, max_acked + 1) << "round " << round;
    next_seq = batches;
  }
  EXPECT_GT(total_acked, rounds);  // the child made progress
  (void)io::PosixFileSystem()->RemoveAll(dir);
}

}  // namespace
}  // namespace tsdb::plugins
