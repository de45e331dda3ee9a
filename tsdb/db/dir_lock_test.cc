#include "tsdb/db/dir_lock.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace tsdb::db {
namespace {

std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(base != nullptr ? base : "/tmp", "/", name);
  std::string cmd = absl::StrCat("rm -rf '", dir, "' && mkdir -p '", dir, "'");
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  return dir;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

TEST(DirLockTest, AcquireWritesPidAndReleaseRemoves) {
  const std::string dir = TempDir("basic");
  auto lock = DirLock::Acquire(dir);
  ASSERT_TRUE(lock.ok()) << lock.status();
  EXPECT_EQ((*lock)->path(), dir + "/lock");
  EXPECT_TRUE((*lock)->clean_start());
  EXPECT_EQ(ReadAll(dir + "/lock"), absl::StrCat(getpid(), "\n"));
  EXPECT_TRUE((*lock)->Release().ok());
  EXPECT_FALSE(Exists(dir + "/lock"));
  EXPECT_TRUE((*lock)->Release().ok());  // idempotent
  // Free again.
  auto again = DirLock::Acquire(dir);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE((*again)->clean_start());
}

TEST(DirLockTest, SecondAcquireInSameProcessFails) {
  const std::string dir = TempDir("same_process");
  auto first = DirLock::Acquire(dir);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = DirLock::Acquire(dir);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(second.status())) << second.status();
  EXPECT_TRUE(absl::StrContains(second.status().message(),
                                absl::StrCat("process ", getpid())))
      << second.status();
}

TEST(DirLockTest, DestructorReleases) {
  const std::string dir = TempDir("destructor");
  {
    auto lock = DirLock::Acquire(dir);
    ASSERT_TRUE(lock.ok());
  }
  EXPECT_FALSE(Exists(dir + "/lock"));
  EXPECT_TRUE(DirLock::Acquire(dir).ok());
}

TEST(DirLockTest, LeftoverFileIsTakenOver) {
  const std::string dir = TempDir("leftover");
  { std::ofstream(dir + "/lock") << "999999999\n"; }
  auto lock = DirLock::Acquire(dir);
  ASSERT_TRUE(lock.ok()) << lock.status();
  EXPECT_FALSE((*lock)->clean_start());
  EXPECT_EQ(ReadAll(dir + "/lock"), absl::StrCat(getpid(), "\n"));
}

TEST(DirLockTest, MissingDirIsAnError) {
  auto lock = DirLock::Acquire(TempDir("missing") + "/nope");
  ASSERT_FALSE(lock.ok());
  EXPECT_TRUE(absl::IsNotFound(lock.status())) << lock.status();
}

TEST(DirLockTest, OtherProcessHoldsItUntilKilled) {
  const std::string dir = TempDir("two_processes");
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    auto lock = DirLock::Acquire(dir);
    const char c = lock.ok() ? 'y' : 'n';
    if (write(ready[1], &c, 1) != 1) _exit(2);
    // Hold the lock until killed.
    for (;;) pause();
  }
  close(ready[1]);
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  ASSERT_EQ(c, 'y');

  auto denied = DirLock::Acquire(dir);
  ASSERT_FALSE(denied.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(denied.status()));
  EXPECT_TRUE(absl::StrContains(denied.status().message(),
                                absl::StrCat("held by process ", child)))
      << denied.status();
  EXPECT_EQ(ReadAll(dir + "/lock"), absl::StrCat(child, "\n"));

  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status));

  // The dead child's file is still there; its flock is gone.
  EXPECT_TRUE(Exists(dir + "/lock"));
  auto lock = DirLock::Acquire(dir);
  ASSERT_TRUE(lock.ok()) << lock.status();
  EXPECT_FALSE((*lock)->clean_start());
  EXPECT_EQ(ReadAll(dir + "/lock"), absl::StrCat(getpid(), "\n"));
  EXPECT_TRUE((*lock)->Release().ok());
  EXPECT_FALSE(Exists(dir + "/lock"));
}

}  // namespace
}  // namespace tsdb::db
