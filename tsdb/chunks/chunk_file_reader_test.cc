#include "tsdb/chunks/chunk_file_reader.h"

#include "gtest/gtest.h"

namespace tsdb::chunks {
namespace {

TEST(BlockChunkRefTest, PacksSegmentAndOffset) {
  const BlockChunkRef ref = MakeBlockChunkRef(3, 1234);
  EXPECT_EQ(ref, (uint64_t{3} << 32) | 1234);
  EXPECT_EQ(RefSegment(ref), 3u);
  EXPECT_EQ(RefOffset(ref), 1234u);
  EXPECT_EQ(SegmentFileName(0), "000001");
  EXPECT_EQ(SegmentFileName(122), "000123");
  EXPECT_EQ(SegmentFileName(999999), "1000000");
}

absl::StatusOr<std::unique_ptr<ChunkFileReader>> Fail(
    const std::vector<std::string>&) {
  return absl::UnimplementedError("fake");
}

TEST(ChunkFileReaderRegistryTest, ExactNameLookup) {
  ChunkFileReaderRegistry r;
  ASSERT_TRUE(r.Register("pread", &Fail).ok());
  ASSERT_TRUE(r.Register("mmap", &Fail).ok());
  EXPECT_EQ(r.Register("mmap", &Fail).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(r.Register("", &Fail).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Register("x", nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Names(), (std::vector<std::string>{"mmap", "pread"}));
  EXPECT_TRUE(r.Has("mmap"));
  EXPECT_FALSE(r.Has("mma"));
  EXPECT_EQ(r.Open("mmap", {}).status().code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(
      r.Open("MMAP", {}).status(),
      absl::NotFoundError("unknown chunk reader \"MMAP\"; valid: mmap, pread"));
}

}  // namespace
}  // namespace tsdb::chunks
