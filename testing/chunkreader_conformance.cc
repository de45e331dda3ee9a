#include "testing/chunkreader_conformance.h"

#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tsdb/base/coding.h"
#include "tsdb/chunks/segment_writer.h"
#include "tsdb/io/file_system.h"

namespace tsdb::testing {
namespace {

using chunks::BlockChunkRef;
using chunks::ChunkFileReader;

struct Written {
  uint8_t encoding;
  std::string data;
  BlockChunkRef ref;
};

std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = io::JoinPath(base ? base : "/tmp", name);
  (void)io::PosixFileSystem()->RemoveAll(dir);
  EXPECT_TRUE(io::PosixFileSystem()->CreateDirs(dir).ok());
  return dir;
}

std::string ReadAll(const std::string& path) {
  return io::PosixFileSystem()->ReadFile(path).value();
}

void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

class Fixture {
 public:
  explicit Fixture(const ChunkReaderPlugin& plugin) {
    EXPECT_TRUE(plugin.register_fn(registry_).ok());
    name_ = plugin.name;
    dir_ = TempDir(absl::StrCat(
        "conformance_", plugin.name, "_",
        absl::StrReplaceAll(
            ::testing::UnitTest::GetInstance()->current_test_info()->name(),
            {{"/", "_"}})));
  }

  // Writes `n` chunks of assorted sizes into files of at most 4 KiB.
  std::vector<Written> WriteChunks(int n) {
    auto w = chunks::SegmentWriter::Open(io::PosixFileSystem(), dir_,
                                         {.segment_size = 4096})
                 .value();
    std::mt19937 rng(42);
    std::vector<Written> out;
    for (int i = 0; i < n; ++i) {
      Written c;
      c.encoding = static_cast<uint8_t>(1 + i % 3);
      const size_t len = (i % 17 == 0) ? 0 : rng() % (i % 5 == 0 ? 600 : 150);
      for (size_t j = 0; j < len; ++j) c.data.push_back(char(rng()));
      c.ref = w->Write(c.encoding, c.data).value();
      out.push_back(std::move(c));
    }
    EXPECT_TRUE(w->Close().ok());
    return out;
  }

  std::vector<std::string> Paths() const {
    std::vector<std::string> paths;
    const std::vector<std::string> names =
        io::PosixFileSystem()->ListDir(dir_).value();
    for (const auto& n : names) {
      paths.push_back(io::JoinPath(dir_, n));
    }
    return paths;
  }

  absl::StatusOr<std::unique_ptr<ChunkFileReader>> Open() {
    return registry_.Open(name_, Paths());
  }

  const std::string& dir() const { return dir_; }

 private:
  chunks::ChunkFileReaderRegistry registry_;
  std::string name_;
  std::string dir_;
};

TEST_P(ChunkReaderConformanceTest, ReadsBackEveryChunk) {
  Fixture f(GetParam());
  const std::vector<Written> written = f.WriteChunks(300);
  auto r = f.Open();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT((*r)->NumSegments(), 3u);
  uint64_t total = 0;
  for (const auto& p : f.Paths()) total += ReadAll(p).size();
  EXPECT_EQ((*r)->TotalSize(), total);
  std::string data;
  for (const Written& c : written) {
    uint8_t enc = 0;
    ASSERT_TRUE((*r)->Read(c.ref, &enc, &data).ok()) << c.ref;
    EXPECT_EQ(enc, c.encoding);
    EXPECT_EQ(data, c.data);
  }
}

TEST_P(ChunkReaderConformanceTest, UnknownEncodingByteIsReturnedAsStored) {
  Fixture f(GetParam());
  auto w =
      chunks::SegmentWriter::Open(io::PosixFileSystem(), f.dir(), {}).value();
  const BlockChunkRef ref = w->Write(0xEE, "abc").value();
  ASSERT_TRUE(w->Close().ok());
  auto r = f.Open();
  ASSERT_TRUE(r.ok()) << r.status();
  uint8_t enc = 0;
  std::string data;
  ASSERT_TRUE((*r)->Read(ref, &enc, &data).ok());
  EXPECT_EQ(enc, 0xEE);
  EXPECT_EQ(data, "abc");
}

TEST_P(ChunkReaderConformanceTest, SegmentIndexPastLastFile) {
  Fixture f(GetParam());
  f.WriteChunks(5);
  auto r = f.Open();
  ASSERT_TRUE(r.ok()) << r.status();
  uint8_t enc;
  std::string data;
  const BlockChunkRef ref = chunks::MakeBlockChunkRef(7, 8);
  const absl::Status s = (*r)->Read(ref, &enc, &data);
  EXPECT_EQ(s, absl::NotFoundError(absl::StrCat(
                   "chunk ref ", ref,
                   ": segment index 7 out of range (1 segment files)")));
}

TEST_P(ChunkReaderConformanceTest, RefPastTheEnd) {
  Fixture f(GetParam());
  f.WriteChunks(5);
  const std::string path = f.Paths()[0];
  const uint64_t size = ReadAll(path).size();
  auto r = f.Open();
  ASSERT_TRUE(r.ok()) << r.status();
  uint8_t enc;
  std::string data;
  for (uint32_t off : {0u, 7u, static_cast<uint32_t>(size), 1u << 31}) {
    const absl::Status s =
        (*r)->Read(chunks::MakeBlockChunkRef(0, off), &enc, &data);
    EXPECT_EQ(s, absl::NotFoundError(absl::StrCat(
                     "chunk ref ", off, ": offset ", off,
                     " outside the records of ", path, " (size ", size, ")")));
  }
  // A ref in the last 4 bytes leaves no room for the length field.
  const absl::Status s =
      (*r)->Read(chunks::MakeBlockChunkRef(0, static_cast<uint32_t>(size - 2)),
                 &enc, &data);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(s.message(),
            absl::StrCat("chunk segment ", path, " offset ", size - 2,
                         ": too few bytes for the chunk length field (file "
                         "size ",
                         size, ")"));
}

TEST_P(ChunkReaderConformanceTest, BadCrc) {
  Fixture f(GetParam());
  const std::vector<Written> written = f.WriteChunks(5);
  const std::string path = f.Paths()[0];
  std::string bytes = ReadAll(path);
  // Flip one data byte of the second chunk.
  const uint32_t off = chunks::RefOffset(written[1].ref);
  bytes[off + 3] ^= 0x40;
  WriteAll(path, bytes);
  auto r = f.Open();
  ASSERT_TRUE(r.ok()) << r.status();
  uint8_t enc;
  std::string data;
  const absl::Status s = (*r)->Read(written[1].ref, &enc, &data);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StartsWith(
      s.message(), absl::StrCat("chunk segment ", path, " offset ", off,
                                ": checksum mismatch: stored ")))
      << s;
  // The neighbours are intact.
  EXPECT_TRUE((*r)->Read(written[0].ref, &enc, &data).ok());
  EXPECT_TRUE((*r)->Read(written[2].ref, &enc, &data).ok());
}

TEST_P(ChunkReaderConformanceTest, TruncatedRecord) {
  Fixture f(GetParam());
  const std::vector<Written> written = f.WriteChunks(5);
  const std::string path = f.Paths()[0];
  std::string bytes = ReadAll(path);
  bytes.resize(bytes.size() - 3);  // cuts into the last record's CRC
  WriteAll(path, bytes);
  auto r = f.Open();
  ASSERT_TRUE(r.ok()) << r.status();
  uint8_t enc;
  std::string data;
  const uint32_t off = chunks::RefOffset(written[4].ref);
  const absl::Status s = (*r)->Read(written[4].ref, &enc, &data);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(s.message(), path)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), absl::StrCat("offset ", off)))
      << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "past the end of the file")) << s;
}

TEST_P(ChunkReaderConformanceTest, BadLengthVarint) {
  Fixture f(GetParam());
  const std::vector<Written> written = f.WriteChunks(5);
  const std::string path = f.Paths()[0];
  std::string bytes = ReadAll(path);
  const uint32_t off = chunks::RefOffset(written[2].ref);
  for (int i = 0; i < 5; ++i) bytes[off + i] = char(0xFF);
  WriteAll(path, bytes);
  auto r = f.Open();
  ASSERT_TRUE(r.ok()) << r.status();
  uint8_t enc;
  std::string data;
  const absl::Status s = (*r)->Read(written[2].ref, &enc, &data);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(s.message(), path)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), absl::StrCat("offset ", off)))
      << s;
}

TEST_P(ChunkReaderConformanceTest, BadMagic) {
  Fixture f(GetParam());
  f.WriteChunks(100);
  const std::string path = f.Paths()[1];
  std::string bytes = ReadAll(path);
  bytes[1] ^= 1;
  WriteAll(path, bytes);
  auto r = f.Open();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status(),
            absl::DataLossError(absl::StrCat("chunk segment ", path,
                                             " offset 0: invalid magic number "
                                             "85bc40dd, want 85bd40dd")));
}

TEST_P(ChunkReaderConformanceTest, BadVersionAndShortFile) {
  Fixture f(GetParam());
  f.WriteChunks(3);
  const std::string path = f.Paths()[0];
  std::string bytes = ReadAll(path);
  bytes[4] = 2;
  WriteAll(path, bytes);
  auto r = f.Open();
  EXPECT_EQ(r.status(), absl::DataLossError(absl::StrCat(
                            "chunk segment ", path,
                            " offset 4: invalid chunk format version 2")));
  WriteAll(path, bytes.substr(0, 5));
  r = f.Open();
  EXPECT_EQ(r.status(), absl::DataLossError(absl::StrCat(
                            "chunk segment ", path,
                            " offset 0: file has 5 bytes, shorter than the "
                            "8-byte header")));
}

TEST_P(ChunkReaderConformanceTest, EveryFlippedByteIsDetectedOrHarmless) {
  Fixture f(GetParam());
  const std::vector<Written> written = f.WriteChunks(8);
  const std::string path = f.Paths()[0];
  const std::string orig = ReadAll(path);
  for (size_t i = 0; i < orig.size(); ++i) {
    std::string bytes = orig;
    bytes[i] ^= 0x5A;
    WriteAll(path, bytes);
    auto r = f.Open();
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
      continue;
    }
    for (const Written& c : written) {
      uint8_t enc;
      std::string data;
      const absl::Status s = (*r)->Read(c.ref, &enc, &data);
      if (s.ok()) {
        EXPECT_EQ(data, c.data) << "byte " << i;
        EXPECT_EQ(enc, c.encoding) << "byte " << i;
      } else {
        EXPECT_TRUE(absl::StrContains(s.message(), path)) << s;
      }
    }
  }
}

TEST_P(ChunkReaderConformanceTest, MissingFile) {
  Fixture f(GetParam());
  chunks::ChunkFileReaderRegistry registry;
  ASSERT_TRUE(GetParam().register_fn(registry).ok());
  auto r = registry.Open(GetParam().name, {f.dir() + "/nope"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(r.status().message(), f.dir() + "/nope"));
}

}  // namespace
}  // namespace tsdb::testing
