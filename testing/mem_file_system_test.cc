#include "testing/mem_file_system.h"

#include "gtest/gtest.h"

namespace tsdb::testing {
namespace {

TEST(MemFileSystemTest, WriteReadListRenameRemove) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs("/a/b").ok());
  EXPECT_FALSE(fs.NewWritableFile("/nope/f").ok());
  auto f = fs.NewWritableFile("/a/b/f1");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("hello").ok());
  ASSERT_TRUE((*f)->Append(" world").ok());
  EXPECT_EQ((*f)->Size(), 11u);
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_FALSE((*f)->Append("x").ok());
  EXPECT_EQ(*fs.ReadFile("/a/b/f1"), "hello world");
  EXPECT_EQ(*fs.FileSize("/a/b/f1"), 11u);

  auto r = fs.NewRandomAccessFile("/a/b/f1");
  ASSERT_TRUE(r.ok());
  char buf[16];
  std::string_view got;
  ASSERT_TRUE((*r)->Read(6, 10, buf, &got).ok());
  EXPECT_EQ(got, "world");

  auto app = fs.NewAppendableFile("/a/b/f1");
  ASSERT_TRUE(app.ok());
  EXPECT_EQ((*app)->Size(), 11u);
  ASSERT_TRUE((*app)->Append("!").ok());
  EXPECT_EQ(*fs.ReadFile("/a/b/f1"), "hello world!");

  ASSERT_TRUE(fs.CreateDirs("/a/b/sub").ok());
  EXPECT_EQ(*fs.ListDir("/a/b"), (std::vector<std::string>{"f1", "sub"}));
  EXPECT_TRUE(*fs.IsDirectory("/a/b/sub"));
  EXPECT_FALSE(*fs.IsDirectory("/a/b/f1"));

  ASSERT_TRUE(fs.Rename("/a/b/f1", "/a/b/sub/f2").ok());
  EXPECT_FALSE(*fs.Exists("/a/b/f1"));
  ASSERT_TRUE(fs.Rename("/a/b/sub", "/a/c").ok());
  EXPECT_EQ(*fs.ReadFile("/a/c/f2"), "hello world!");
  ASSERT_TRUE(fs.Truncate("/a/c/f2", 5).ok());
  EXPECT_EQ(*fs.ReadFile("/a/c/f2"), "hello");
  ASSERT_TRUE(fs.CorruptByte("/a/c/f2", 0, 0x20).ok());
  EXPECT_EQ(*fs.ReadFile("/a/c/f2"), "Hello");
  EXPECT_FALSE(fs.CorruptByte("/a/c/f2", 5, 1).ok());
  ASSERT_TRUE(fs.RemoveFile("/a/c/f2").ok());
  EXPECT_EQ(fs.RemoveFile("/a/c/f2").code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(fs.RemoveAll("/a").ok());
  EXPECT_FALSE(*fs.Exists("/a/c"));
  EXPECT_TRUE(fs.AllFiles().empty());
}

TEST(MemFileSystemTest, NewWritableFileTruncates) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.WriteFileContents("/f", "abc").ok());
  auto f = fs.NewWritableFile("/f");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*fs.ReadFile("/f"), "");
}

}  // namespace
}  // namespace tsdb::testing
