#include "tsdb/io/file_system.h"

#include <string>

#include "gtest/gtest.h"
#include "tsdb/io/mapped_file.h"

namespace tsdb::io {
namespace {

class PosixFileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = JoinPath(
        ::testing::TempDir(),
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_TRUE(fs_->RemoveAll(dir_).ok());
    ASSERT_TRUE(fs_->CreateDirs(dir_).ok());
  }
  FileSystem* fs_ = PosixFileSystem();
  std::string dir_;
};

TEST_F(PosixFileSystemTest, WriteAppendReadBack) {
  const std::string p = JoinPath(dir_, "f");
  {
    auto f = fs_->NewWritableFile(p);
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_TRUE((*f)->Append("hello ").ok());
    // Larger than the buffer: goes straight through.
    ASSERT_TRUE((*f)->Append(std::string(100000, 'x')).ok());
    EXPECT_EQ((*f)->Size(), 100006u);
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE((*f)->Close().ok());
    EXPECT_FALSE((*f)->Append("more").ok());
  }
  {
    auto f = fs_->NewAppendableFile(p);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ((*f)->Size(), 100006u);
    ASSERT_TRUE((*f)->Append("tail").ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  auto data = fs_->ReadFile(p);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->size(), 100010u);
  EXPECT_EQ(data->substr(0, 6), "hello ");
  EXPECT_EQ(data->substr(100006), "tail");

  auto r = fs_->NewRandomAccessFile(p);
  ASSERT_TRUE(r.ok());
  char scratch[16];
  std::string_view got;
  ASSERT_TRUE((*r)->Read(100004, 16, scratch, &got).ok());
  EXPECT_EQ(got, "xxtail");  // short read at end of file
  EXPECT_EQ(*(*r)->Size(), 100010u);

  auto m = MappedFile::Open(p);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)->view(), *data);
}

TEST_F(PosixFileSystemTest, PreallocateReservesThenAppendsAtDataEnd) {
  const std::string p = JoinPath(dir_, "pre");
  auto f = fs_->NewWritableFile(p);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("head").ok());
  ASSERT_TRUE((*f)->Preallocate(1 << 20).ok());
  ASSERT_TRUE((*f)->Append("tail").ok());
  ASSERT_TRUE((*f)->Flush().ok());
  EXPECT_EQ(*fs_->FileSize(p), 1u << 20);
  ASSERT_TRUE((*f)->Close().ok());
  ASSERT_TRUE(fs_->Truncate(p, 8).ok());
  EXPECT_EQ(*fs_->ReadFile(p), "headtail");
}

TEST_F(PosixFileSystemTest, DirectoryOperations) {
  ASSERT_TRUE(fs_->CreateDirs(JoinPath(dir_, "a/b")).ok());
  {
    auto f = fs_->NewWritableFile(JoinPath(dir_, "z"));
    ASSERT_TRUE(f.ok());
  }
  auto names = fs_->ListDir(dir_);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "z"}));
  EXPECT_TRUE(*fs_->IsDirectory(JoinPath(dir_, "a")));
  ASSERT_TRUE(fs_->Rename(JoinPath(dir_, "z"), JoinPath(dir_, "y")).ok());
  EXPECT_FALSE(*fs_->Exists(JoinPath(dir_, "z")));
  EXPECT_TRUE(*fs_->Exists(JoinPath(dir_, "y")));
  ASSERT_TRUE(fs_->SyncDir(dir_).ok());
  ASSERT_TRUE(fs_->RemoveAll(JoinPath(dir_, "a")).ok());
  EXPECT_FALSE(*fs_->Exists(JoinPath(dir_, "a")));
  ASSERT_TRUE(fs_->RemoveAll(JoinPath(dir_, "missing")).ok());
}

TEST_F(PosixFileSystemTest, ErrorsNameThePath) {
  const std::string p = JoinPath(dir_, "nope");
  auto r = fs_->NewRandomAccessFile(p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find(p), std::string::npos) << r.status();
  auto m = MappedFile::Open(p);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(fs_->RemoveFile(p).ok());
}

}  // namespace
}  // namespace tsdb::io
