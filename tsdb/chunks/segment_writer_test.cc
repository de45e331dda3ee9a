#include "tsdb/chunks/segment_writer.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tsdb/base/coding.h"
#include "tsdb/chunks/chunk_file_reader.h"
#include "tsdb/io/file_system.h"

namespace tsdb::chunks {
namespace {

std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = io::JoinPath(base ? base : "/tmp", name);
  (void)io::PosixFileSystem()->RemoveAll(dir);
  return dir;
}

std::string Read(const std::string& p) {
  return io::PosixFileSystem()->ReadFile(p).value();
}

TEST(SegmentWriterTest, WritesPrometheusLayout) {
  const std::string dir = TempDir("layout");
  auto w = SegmentWriter::Open(io::PosixFileSystem(), dir, {}).value();
  EXPECT_EQ(w->Write(1, "hello").value(), 8u);
  EXPECT_EQ(w->Write(2, "").value(), 8u + 1 + 1 + 5 + 4);
  ASSERT_TRUE(w->Close().ok());
  EXPECT_EQ(w->NumSegments(), 1u);
  const std::string f = Read(dir + "/000001");
  ASSERT_EQ(f.size(), 8u + 11 + 6);
  EXPECT_EQ(w->TotalBytes(), f.size());
  EXPECT_EQ(f.substr(0, 8), std::string("\x85\xBD\x40\xDD\x01\0\0\0", 8));
  EXPECT_EQ(f[8], 5);
  EXPECT_EQ(f[9], 1);
  EXPECT_EQ(f.substr(10, 5), "hello");
  // CRC32C("\x01hello"), big-endian.
  const uint32_t crc = GetBE32(reinterpret_cast<const uint8_t*>(f.data()) + 15);
  EXPECT_EQ(crc, crc32c::Value(std::string_view("\x01hello", 6)));
  EXPECT_EQ(f.substr(19, 2), std::string("\x00\x02", 2));
}

TEST(SegmentWriterTest, CutsFilesByWorstCaseSize) {
  const std::string dir = TempDir("cut");
  // Each 10-byte chunk counts 20 bytes; 8 + 20 + 20 = 48 fits in 48.
  auto w = SegmentWriter::Open(io::PosixFileSystem(), dir, {.segment_size = 48})
               .value();
  const std::string ten(10, 'x');
  EXPECT_EQ(w->Write(1, ten).value(), MakeBlockChunkRef(0, 8));
  EXPECT_EQ(w->Write(1, ten).value(), MakeBlockChunkRef(0, 24));
  // Real offset is 40; 40 + 20 > 48: new file.
  EXPECT_EQ(w->Write(1, ten).value(), MakeBlockChunkRef(1, 8));
  // A chunk bigger than a whole file still goes in (alone).
  EXPECT_EQ(w->Write(1, std::string(100, 'y')).value(),
            MakeBlockChunkRef(2, 8));
  EXPECT_EQ(w->Write(1, ten).value(), MakeBlockChunkRef(3, 8));
  ASSERT_TRUE(w->Close().ok());
  auto names = io::PosixFileSystem()->ListDir(dir).value();
  EXPECT_EQ(names,
            (std::vector<std::string>{"000001", "000002", "000003", "000004"}));
  // Files are truncated to their real sizes.
  EXPECT_EQ(Read(dir + "/000001").size(), 40u);
  EXPECT_EQ(Read(dir + "/000002").size(), 24u);
  EXPECT_EQ(Read(dir + "/000003").size(), 8u + 1 + 1 + 100 + 4);
}

TEST(SegmentWriterTest, BatchCountsEarlierChunksAtWorstCase) {
  const std::string dir = TempDir("batch");
  auto w = SegmentWriter::Open(io::PosixFileSystem(), dir, {.segment_size = 60})
               .value();
  const std::string ten(10, 'x');
  std::vector<BlockChunkRef> refs;
  // In one call: 20 + 20 + 8 = 48 fits; the third makes 68 > 60: cut.
  ASSERT_TRUE(w->WriteChunks({{1, ten}, {1, ten}, {1, ten}}, &refs).ok());
  EXPECT_EQ(refs, (std::vector<BlockChunkRef>{MakeBlockChunkRef(0, 8),
                                              MakeBlockChunkRef(0, 24),
                                              MakeBlockChunkRef(1, 8)}));
  // Second call: real offset 24 in file 1; 24 + 20 = 44 fits, then
  // 24 + 40 = 64 > 60 cuts (even though 40 + 16 = 56 would fit).
  ASSERT_TRUE(w->WriteChunks({{1, ten}, {1, ten}}, &refs).ok());
  EXPECT_EQ(refs, (std::vector<BlockChunkRef>{MakeBlockChunkRef(1, 24),
                                              MakeBlockChunkRef(2, 8)}));
  ASSERT_TRUE(w->Close().ok());
}

TEST(SegmentWriterTest, PreallocatesAndTruncates) {
  const std::string dir = TempDir("prealloc");
  auto w =
      SegmentWriter::Open(io::PosixFileSystem(), dir, {.segment_size = 1 << 20})
          .value();
  ASSERT_TRUE(w->Write(1, "abc").ok());
  ASSERT_TRUE(w->Write(1, "abc").ok());
  EXPECT_EQ(io::PosixFileSystem()->FileSize(dir + "/000001").value(),
            uint64_t{1} << 20);
  ASSERT_TRUE(w->Close().ok());
  EXPECT_EQ(io::PosixFileSystem()->FileSize(dir + "/000001").value(),
            8u + 2 * 9);
  EXPECT_FALSE(w->Write(1, "x").ok());
}

TEST(SegmentWriterTest, NoChunksNoFiles) {
  const std::string dir = TempDir("empty");
  auto w = SegmentWriter::Open(io::PosixFileSystem(), dir, {}).value();
  ASSERT_TRUE(w->Close().ok());
  EXPECT_TRUE(io::PosixFileSystem()->ListDir(dir).value().empty());
}

TEST(SegmentWriterTest, RejectsTinySegmentSize) {
  EXPECT_FALSE(SegmentWriter::Open(io::PosixFileSystem(), TempDir("tiny"),
                                   {.segment_size = 4})
                   .ok());
}

}  // namespace
}  // namespace tsdb::chunks
