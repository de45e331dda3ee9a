// ReadOnlyOverlayFileSystem: writes, removals, renames and truncations are
// visible through the overlay and never reach the real directory; a
// ChunkDiskMapper repairing a damaged file through it leaves the file as is.
#include "frontends/cli/read_only_fs.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "tsdb/chunks/head_chunks.h"

namespace tsdb::cli {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ReadOnlyFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/rofs";
    fs::remove_all(dir_);
    fs::create_directories(dir_ + "/sub");
    std::ofstream(dir_ + "/a") << "hello world";
    std::ofstream(dir_ + "/sub/b") << "bee";
  }
  void ExpectRealUnchanged() {
    EXPECT_EQ(Slurp(dir_ + "/a"), "hello world");
    EXPECT_EQ(Slurp(dir_ + "/sub/b"), "bee");
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir_)) {
      (void)e;
      ++n;
    }
    EXPECT_EQ(n, 3u) << "files were created on disk";
  }
  std::string dir_;
  ReadOnlyOverlayFileSystem ro_{io::PosixFileSystem()};
};

TEST_F(ReadOnlyFsTest, ReadsPassThrough) {
  EXPECT_EQ(*ro_.ReadFile(dir_ + "/a"), "hello world");
  EXPECT_EQ(*ro_.FileSize(dir_ + "//a"), 11u);
  EXPECT_EQ(*ro_.ListDir(dir_ + "/"), (std::vector<std::string>{"a", "sub"}));
  EXPECT_TRUE(*ro_.IsDirectory(dir_ + "/sub"));
  EXPECT_FALSE(*ro_.Exists(dir_ + "/nope"));
  EXPECT_TRUE(absl::IsNotFound(ro_.ReadFile(dir_ + "/nope").status()));
}

TEST_F(ReadOnlyFsTest, WritesStayInMemory) {
  ASSERT_TRUE(ro_.CreateDirs(dir_ + "/new/deeper").ok());
  EXPECT_TRUE(*ro_.IsDirectory(dir_ + "/new"));
  auto w = ro_.NewWritableFile(dir_ + "/new/deeper/f");
  ASSERT_TRUE(w.ok());
  auto r = ro_.NewRandomAccessFile(dir_ + "/new/deeper/f");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE((*w)->Append("abc").ok());
  char scratch[8];
  std::string_view got;
  ASSERT_TRUE((*r)->Read(1, 8, scratch, &got).ok());
  EXPECT_EQ(got, "bc");  // a reader sees later appends
  auto app = ro_.NewAppendableFile(dir_ + "/a");
  ASSERT_TRUE(app.ok());
  ASSERT_TRUE((*app)->Append("!").ok());
  EXPECT_EQ(*ro_.ReadFile(dir_ + "/a"), "hello world!");
  EXPECT_EQ(*ro_.ListDir(dir_), (std::vector<std::string>{"a", "new", "sub"}));
  EXPECT_EQ(ro_.MemoryBytes(), 15u);
  ExpectRealUnchanged();
}

TEST_F(ReadOnlyFsTest, RemoveRenameTruncateOnlyHide) {
  ASSERT_TRUE(ro_.Truncate(dir_ + "/a", 5).ok());
  EXPECT_EQ(*ro_.ReadFile(dir_ + "/a"), "hello");
  auto r = ro_.NewRandomAccessFile(dir_ + "/a");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*(*r)->Size(), 5u);
  EXPECT_FALSE(ro_.Truncate(dir_ + "/a", 50).ok());
  ASSERT_TRUE(ro_.Rename(dir_ + "/sub/b", dir_ + "/c").ok());
  EXPECT_FALSE(*ro_.Exists(dir_ + "/sub/b"));
  EXPECT_EQ(*ro_.ReadFile(dir_ + "/c"), "bee");
  ASSERT_TRUE(ro_.RemoveFile(dir_ + "/a").ok());
  EXPECT_FALSE(*ro_.Exists(dir_ + "/a"));
  EXPECT_TRUE(absl::IsNotFound(ro_.RemoveFile(dir_ + "/a")));
  ASSERT_TRUE(ro_.RemoveAll(dir_ + "/sub").ok());
  EXPECT_FALSE(*ro_.Exists(dir_ + "/sub"));
  EXPECT_EQ(*ro_.ListDir(dir_), (std::vector<std::string>{"c"}));
  ExpectRealUnchanged();
}

TEST_F(ReadOnlyFsTest, ChunkMapperRepairDoesNotTouchTheFile) {
  const std::string heads = dir_ + "/chunks_head";
  {
    auto m = chunks::ChunkDiskMapper::Open(io::PosixFileSystem(), heads, {});
    ASSERT_TRUE(m.ok());
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE((*m)->WriteChunk(1, i * 10, i * 10 + 5, 1,
                                   std::string_view("\x00\x01x", 3))
                      .ok());
    }
    ASSERT_TRUE((*m)->Close().ok());
  }
  const std::string file = heads + "/000001";
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8 + 33 + 26);  // inside the second record (33 bytes each)
    f.put('\x7f');
  }
  const std::string before = Slurp(file);
  auto m = chunks::ChunkDiskMapper::Open(&ro_, heads, {});
  ASSERT_TRUE(m.ok());
  int seen = 0;
  auto r = (*m)->IterateAllChunks([&](const chunks::MappedChunkInfo&) {
    ++seen;
    return absl::OkStatus();
  });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->corruption);
  EXPECT_EQ(seen, 1);
  // Writes after the repair go to a new in-memory file.
  auto ref = (*m)->WriteChunk(2, 100, 105, 1, std::string_view("\x00\x01y", 3));
  ASSERT_TRUE(ref.ok()) << ref.status();
  chunks::HeadChunkRecord rec;
  ASSERT_TRUE((*m)->ReadChunk(*ref, &rec).ok());
  EXPECT_EQ(rec.series_ref, 2u);
  ASSERT_TRUE((*m)->Close().ok());
  EXPECT_EQ(Slurp(file), before);
  EXPECT_FALSE(fs::exists(heads + "/000002"));
}

}  // namespace
}  // namespace tsdb::cli
