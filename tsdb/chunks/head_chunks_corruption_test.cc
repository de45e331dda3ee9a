// Start-up scan over damaged chunks_head directories: every byte flipped,
// every file cut at every length, missing files, records with a valid CRC
// but impossible fields. The scan must never crash, keep every record before
// the damage and nothing from it on, and report it.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/mem_file_system.h"
#include "tsdb/base/coding.h"
#include "tsdb/base/crc32c.h"
#include "tsdb/chunks/head_chunks.h"
#include "tsdb/io/file_system.h"

namespace tsdb::chunks {
namespace {

constexpr char kDir[] = "/d/chunks_head";

struct Rec {
  uint32_t file;
  uint64_t start, end;  // byte range in the file
  uint64_t series;
  int64_t mint, maxt;
};

// A pristine directory: 3 files of 3 records each, each file followed by a
// zero tail of `tail` bytes (Prometheus's preallocation).
struct Pristine {
  std::map<std::string, std::string> files;  // name -> bytes
  std::vector<Rec> recs;
};

std::string Record(uint64_t series, int64_t mint, int64_t maxt, uint8_t enc,
                   std::string_view data) {
  std::string r;
  AppendBE64(&r, series);
  AppendBE64(&r, static_cast<uint64_t>(mint));
  AppendBE64(&r, static_cast<uint64_t>(maxt));
  r.push_back(static_cast<char>(enc));
  AppendUvarint(&r, data.size());
  r.append(data);
  AppendBE32(&r, crc32c::Value(r.data(), r.size()));
  return r;
}

Pristine MakePristine(size_t tail) {
  testing::MemFileSystem fs;
  ChunkDiskMapperOptions o;
  o.max_file_size = 8 + 3 * 45;
  o.preallocate_size = 0;
  auto m = ChunkDiskMapper::Open(&fs, kDir, o);
  EXPECT_TRUE(m.ok());
  Pristine p;
  for (int i = 0; i < 9; ++i) {
    std::string data;
    AppendBE16(&data, 3);
    data += std::string(13, static_cast<char>('A' + i));
    auto ref =
        (*m)->WriteChunk(i + 1, 1000 * (i + 1), 1000 * (i + 1) + 99, 1, data);
    EXPECT_TRUE(ref.ok());
    const uint64_t off = ChunkDiskMapperRefOffset(*ref);
    p.recs.push_back(Rec{ChunkDiskMapperRefFile(*ref), off, off + 45,
                         static_cast<uint64_t>(i + 1), 1000 * (i + 1),
                         1000 * (i + 1) + 99});
  }
  EXPECT_TRUE((*m)->Close().ok());
  for (const std::string& path : fs.AllFiles()) {
    std::string name = path.substr(path.rfind('/') + 1);
    p.files[name] = *fs.ReadFile(path) + std::string(tail, '\0');
  }
  EXPECT_EQ(p.files.size(), 3u);
  return p;
}

struct Outcome {
  std::vector<uint64_t> series;  // of the records the scan kept
  HeadChunkScanResult result;
};

Outcome ScanFiles(const std::map<std::string, std::string>& files,
                  testing::MemFileSystem* fs) {
  EXPECT_TRUE(fs->CreateDirs(kDir).ok());
  for (const auto& [name, bytes] : files) {
    EXPECT_TRUE(fs->WriteFileContents(io::JoinPath(kDir, name), bytes).ok());
  }
  auto m = ChunkDiskMapper::Open(fs, kDir, {});
  EXPECT_TRUE(m.ok()) << m.status();
  Outcome out;
  auto r = (*m)->IterateAllChunks([&](const MappedChunkInfo& c) {
    HeadChunkRecord rec;
    EXPECT_TRUE((*m)->ReadChunk(c.ref, &rec).ok());
    out.series.push_back(c.series_ref);
    return absl::OkStatus();
  });
  EXPECT_TRUE(r.ok()) << r.status();
  if (r.ok()) out.result = *r;
  // The repairing mapper goes on writing (series 66): its new file must
  // follow the files kept without a gap.
  EXPECT_TRUE((*m)->WriteChunk(66, 1, 2, 1, std::string(4, '\1')).ok());
  EXPECT_TRUE((*m)->Close().ok());
  return out;
}

// The records kept must be exactly those wholly before position
// (file, offset) in file order.
std::vector<uint64_t> Before(const Pristine& p, uint32_t file,
                             uint64_t offset) {
  std::vector<uint64_t> out;
  for (const Rec& r : p.recs) {
    if (r.file < file || (r.file == file && r.end <= offset)) {
      out.push_back(r.series);
    }
  }
  return out;
}

// After repair, a second open sees the kept records (and the one written
// after the repair) and no corruption, and can write.
void ExpectStable(testing::MemFileSystem* fs, std::vector<uint64_t> want,
                  const std::string& what) {
  want.push_back(66);  // written by ScanFiles after the repair
  auto m = ChunkDiskMapper::Open(fs, kDir, {});
  ASSERT_TRUE(m.ok());
  std::vector<uint64_t> got;
  auto r = (*m)->IterateAllChunks([&](const MappedChunkInfo& c) {
    got.push_back(c.series_ref);
    return absl::OkStatus();
  });
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->corruption) << what << ": " << r->corruption_status;
  EXPECT_EQ(got, want) << what;
  std::string data(4, '\1');
  auto ref = (*m)->WriteChunk(77, 1, 2, 1, data);
  ASSERT_TRUE(ref.ok()) << what;
  HeadChunkRecord rec;
  EXPECT_TRUE((*m)->ReadChunk(*ref, &rec).ok()) << what;
  ASSERT_TRUE((*m)->Close().ok());
  // The new file continues the numbering without a gap: a third scan sees
  // the kept records and the new one, cleanly.
  m = ChunkDiskMapper::Open(fs, kDir, {});
  ASSERT_TRUE(m.ok());
  got.clear();
  r = (*m)->IterateAllChunks([&](const MappedChunkInfo& c) {
    got.push_back(c.series_ref);
    return absl::OkStatus();
  });
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->corruption) << what << ": " << r->corruption_status;
  std::vector<uint64_t> want_after = want;
  want_after.push_back(77);
  EXPECT_EQ(got, want_after) << what;
}

TEST(HeadChunksCorruptionTest, PristineScansClean) {
  for (size_t tail : {size_t{0}, size_t{100}}) {
    Pristine p = MakePristine(tail);
    testing::MemFileSystem fs;
    Outcome o = ScanFiles(p.files, &fs);
    EXPECT_FALSE(o.result.corruption);
    EXPECT_EQ(o.series, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  }
}

TEST(HeadChunksCorruptionTest, EveryByteFlipped) {
  const size_t kTail = 40;
  const Pristine p = MakePristine(kTail);
  int cases = 0;
  for (const auto& [name, bytes] : p.files) {
    const uint32_t file = static_cast<uint32_t>(std::stoul(name));
    for (uint64_t off = 0; off < bytes.size(); ++off) {
      for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xFF}}) {
        std::map<std::string, std::string> files = p.files;
        files[name][off] = static_cast<char>(files[name][off] ^ mask);
        testing::MemFileSystem fs;
        const Outcome o = ScanFiles(files, &fs);
        const std::string what =
            absl::StrCat("file ", name, " offset ", off, " mask ", mask);
        ++cases;
        if (off >= 5 && off < 8) {
          // The header's 3 padding bytes are not checked (as Prometheus).
          EXPECT_FALSE(o.result.corruption) << what;
          EXPECT_EQ(o.series.size(), 9u) << what;
          continue;
        }
        EXPECT_TRUE(o.result.corruption) << what;
        EXPECT_EQ(o.series, Before(p, file, off)) << what;
        ExpectStable(&fs, o.series, what);
      }
    }
  }
  EXPECT_GT(cases, 1000);
}

TEST(HeadChunksCorruptionTest, EveryFileCutAtEveryLength) {
  const Pristine p = MakePristine(0);
  for (const auto& [name, bytes] : p.files) {
    const uint32_t file = static_cast<uint32_t>(std::stoul(name));
    const bool last = name == p.files.rbegin()->first;
    for (uint64_t len = 0; len <= bytes.size(); ++len) {
      std::map<std::string, std::string> files = p.files;
      files[name].resize(len);
      testing::MemFileSystem fs;
      const Outcome o = ScanFiles(files, &fs);
      const std::string what = absl::StrCat("file ", name, " cut at ", len);
      // A cut at a record boundary, or one leaving only zero bytes of the
      // next record (the high bytes of its series ref), looks like the end.
      uint64_t last_end = 8;
      for (const Rec& r : p.recs) {
        if (r.file == file && r.end <= len) last_end = r.end;
      }
      bool boundary = len >= 8;
      for (uint64_t i = last_end; i < len; ++i) boundary &= bytes[i] == 0;
      if (boundary) {
        // Nothing visible is wrong: later files stay.
        EXPECT_FALSE(o.result.corruption) << what;
        std::vector<uint64_t> want = Before(p, file, len);
        for (const Rec& r : p.recs) {
          if (r.file > file) want.push_back(r.series);
        }
        EXPECT_EQ(o.series, want) << what;
        continue;
      }
      if (last && len < 4) {
        EXPECT_TRUE(o.result.removed_empty_last_file) << what;
        EXPECT_FALSE(o.result.corruption) << what;
      } else {
        EXPECT_TRUE(o.result.corruption) << what;
      }
      EXPECT_EQ(o.series, Before(p, file, len)) << what;
      ExpectStable(&fs, o.series, what);
    }
  }
}

TEST(HeadChunksCorruptionTest, MissingFileDropsTheLaterOnes) {
  Pristine p = MakePristine(0);
  p.files.erase("000002");
  testing::MemFileSystem fs;
  const Outcome o = ScanFiles(p.files, &fs);
  EXPECT_TRUE(o.result.corruption);
  EXPECT_EQ(o.result.corrupt_file, 3u);
  EXPECT_EQ(o.series, (std::vector<uint64_t>{1, 2, 3}));
  // File 3 went; the write after the repair started file 2.
  EXPECT_EQ(*fs.ListDir(kDir), (std::vector<std::string>{"000001", "000002"}));
  ExpectStable(&fs, o.series, "missing file");
}

TEST(HeadChunksCorruptionTest, ImpossibleFieldsWithValidChecksum) {
  std::string header;
  AppendBE32(&header, kHeadChunkMagic);
  header += std::string("\x01\0\0\0", 4);
  const std::string good = Record(5, 10, 20, 1, std::string("\0\1xyz", 5));
  struct Case {
    std::string name, bad;
  };
  const std::vector<Case> cases = {
      {"unknown encoding", Record(5, 10, 20, 9, std::string("\0\1xyz", 5))},
      {"maxt < mint", Record(5, 30, 20, 1, std::string("\0\1xyz", 5))},
      {"series ref 0", Record(0, 30, 40, 1, std::string("\0\1xyz", 5))},
      {"no sample count", Record(5, 10, 20, 1, "x")},
  };
  for (const Case& c : cases) {
    testing::MemFileSystem fs;
    std::map<std::string, std::string> files = {
        {"000001", header + good + c.bad + good}, {"000002", header + good}};
    const Outcome o = ScanFiles(files, &fs);
    EXPECT_TRUE(o.result.corruption) << c.name;
    EXPECT_NE(o.result.corruption_status.message().find(
                  c.name == "no sample count" ? "sample count" : c.name),
              std::string::npos)
        << o.result.corruption_status;
    EXPECT_EQ(o.result.corrupt_offset, 8 + good.size()) << c.name;
    EXPECT_EQ(o.series, (std::vector<uint64_t>{5})) << c.name;
    EXPECT_EQ(*fs.FileSize(io::JoinPath(kDir, "000001")), 8 + good.size());
    // The old file 2 went (a new one holds the record written after).
    ExpectStable(&fs, o.series, c.name);
  }
}

TEST(HeadChunksCorruptionTest, ReadChunkReportsDamage) {
  Pristine p = MakePristine(0);
  testing::MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDirs(kDir).ok());
  for (const auto& [name, bytes] : p.files) {
    ASSERT_TRUE(fs.WriteFileContents(io::JoinPath(kDir, name), bytes).ok());
  }
  auto m = ChunkDiskMapper::Open(&fs, kDir, {});
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(fs.CorruptByte(io::JoinPath(kDir, "000001"), 8 + 30, 0x10).ok());
  HeadChunkRecord rec;
  absl::Status s = (*m)->ReadChunk(MakeChunkDiskMapperRef(1, 8), &rec);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_NE(s.message().find("checksum mismatch"), std::string::npos) << s;
  EXPECT_TRUE((*m)->ReadChunk(MakeChunkDiskMapperRef(1, 8 + 45), &rec).ok());
}

}  // namespace
}  // namespace tsdb::chunks
