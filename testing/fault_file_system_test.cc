#include "testing/fault_file_system.h"

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "testing/mem_file_system.h"

namespace tsdb::testing {
namespace {

TEST(FaultFileSystemTest, DropUnsyncedDataKeepsSyncedPrefix) {
  MemFileSystem mem;
  FaultFileSystem fs(&mem);
  ASSERT_TRUE(fs.CreateDirs("/d").ok());
  auto f = fs.NewWritableFile("/d/f");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(fs.SyncDir("/d").ok());
  ASSERT_TRUE((*f)->Append("durable").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Append("-lost").ok());
  ASSERT_TRUE((*f)->Flush().ok());
  // A file whose directory entry was never synced disappears entirely.
  auto g = fs.NewWritableFile("/d/g");
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE((*g)->Append("x").ok());
  ASSERT_TRUE((*g)->Sync().ok());

  fs.SetFilesystemActive(false);
  EXPECT_EQ((*f)->Append("more").code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE((*f)->Sync().ok());
  f->reset();
  g->reset();
  ASSERT_TRUE(fs.DropUnsyncedData().ok());
  fs.SetFilesystemActive(true);
  EXPECT_EQ(*mem.ReadFile("/d/f"), "durable");
  EXPECT_FALSE(*mem.Exists("/d/g"));
}

TEST(FaultFileSystemTest, FailNthWrite) {
  MemFileSystem mem;
  FaultFileSystem fs(&mem);
  auto f = fs.NewWritableFile("/f");
  ASSERT_TRUE(f.ok());
  fs.FailWrite(3, /*all_after=*/false);
  EXPECT_TRUE((*f)->Append("a").ok());
  EXPECT_TRUE((*f)->Append("b").ok());
  EXPECT_FALSE((*f)->Append("c").ok());
  EXPECT_TRUE((*f)->Append("d").ok());
  EXPECT_EQ(*mem.ReadFile("/f"), "abd");

  fs.FailWrite(1, /*all_after=*/true);
  EXPECT_FALSE((*f)->Append("e").ok());
  EXPECT_FALSE((*f)->Append("f").ok());
  fs.FailWrite(-1, false);
  EXPECT_TRUE((*f)->Append("g").ok());
}

TEST(FaultFileSystemTest, RenameCarriesSyncState) {
  MemFileSystem mem;
  FaultFileSystem fs(&mem);
  ASSERT_TRUE(fs.CreateDirs("/d.tmp").ok());
  auto f = fs.NewWritableFile("/d.tmp/f");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("abc").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Append("def").ok());
  ASSERT_TRUE(fs.SyncDir("/d.tmp").ok());
  ASSERT_TRUE(fs.Rename("/d.tmp", "/d").ok());
  ASSERT_TRUE(fs.DropUnsyncedData().ok());
  EXPECT_EQ(*mem.ReadFile("/d/f"), "abc");
}

TEST(FaultFileSystemTest, CorruptByte) {
  MemFileSystem mem;
  FaultFileSystem fs(&mem);
  ASSERT_TRUE(mem.WriteFileContents("/f", "abc").ok());
  ASSERT_TRUE(fs.CorruptByte("/f", 1, 0x20).ok());
  EXPECT_EQ(*mem.ReadFile("/f"), "aBc");
  EXPECT_EQ(fs.CorruptByte("/f", 3, 1).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(fs.CorruptByte("/g", 0, 1).code(), absl::StatusCode::kNotFound);
}

TEST(FaultFileSystemTest, WorksOverPosix) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = std::string(tmp ? tmp : "/tmp") + "/faultfs";
  FaultFileSystem fs(io::PosixFileSystem());
  ASSERT_TRUE(fs.RemoveAll(dir).ok());
  ASSERT_TRUE(fs.CreateDirs(dir).ok());
  auto f = fs.NewWritableFile(dir + "/f");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("hello").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE(fs.SyncDir(dir).ok());
  ASSERT_TRUE((*f)->Append(" world").ok());
  ASSERT_TRUE((*f)->Close().ok());
  ASSERT_TRUE(fs.CorruptByte(dir + "/f", 0, 0x20).ok());
  ASSERT_TRUE(fs.DropUnsyncedData().ok());
  EXPECT_EQ(*fs.ReadFile(dir + "/f"), "Hello");
  ASSERT_TRUE(fs.RemoveAll(dir).ok());
}

}  // namespace
}  // namespace tsdb::testing
