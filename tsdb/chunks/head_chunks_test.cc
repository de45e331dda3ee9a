#include "tsdb/chunks/head_chunks.h"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/mem_file_system.h"
#include "tsdb/base/coding.h"
#include "tsdb/base/crc32c.h"
#include "tsdb/io/file_system.h"

namespace tsdb::chunks {
namespace {

// Chunk bytes for test record i: a 2-byte sample count then filler.
std::string ChunkBytes(int i, size_t len = 20) {
  std::string s;
  AppendBE16(&s, static_cast<uint16_t>(i % 200 + 1));
  while (s.size() < len)
    s.push_back(static_cast<char>('a' + (i + s.size()) % 26));
  return s;
}

struct Written {
  ChunkDiskMapperRef ref;
  uint64_t series;
  int64_t mint, maxt;
  std::string data;
};

// Runs every test on the in-memory file system (pread reads) and on the
// POSIX one (mmap reads of finished files).
class HeadChunksTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      fs_ = io::PosixFileSystem();
      const char* tmp = std::getenv("TEST_TMPDIR");
      dir_ = io::JoinPath(
          tmp != nullptr ? tmp : "/tmp",
          absl::StrCat(
              "chunks_head_",
              ::testing::UnitTest::GetInstance()->current_test_info()->name()));
      ASSERT_TRUE(fs_->RemoveAll(dir_).ok());
    } else {
      mem_ = std::make_unique<testing::MemFileSystem>();
      fs_ = mem_.get();
      dir_ = "/data/chunks_head";
    }
  }

  std::unique_ptr<ChunkDiskMapper> OpenMapper(ChunkDiskMapperOptions o = {}) {
    auto m = ChunkDiskMapper::Open(fs_, dir_, o);
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? std::move(*m) : nullptr;
  }

  Written Write(ChunkDiskMapper& m, int i, size_t len = 20) {
    Written w{0, static_cast<uint64_t>(i % 7 + 1), 1000 + i * 10,
              1000 + i * 10 + 5, ChunkBytes(i, len)};
    auto ref = m.WriteChunk(w.series, w.mint, w.maxt, 1, w.data);
    EXPECT_TRUE(ref.ok()) << ref.status();
    w.ref = ref.ok() ? *ref : 0;
    return w;
  }

  void ExpectReadable(const ChunkDiskMapper& m, const Written& w) {
    HeadChunkRecord rec;
    ASSERT_TRUE(m.ReadChunk(w.ref, &rec).ok()) << w.ref;
    EXPECT_EQ(rec.series_ref, w.series);
    EXPECT_EQ(rec.min_time, w.mint);
    EXPECT_EQ(rec.max_time, w.maxt);
    EXPECT_EQ(rec.encoding, 1);
    EXPECT_EQ(rec.data, w.data);
  }

  std::vector<MappedChunkInfo> Scan(ChunkDiskMapper& m,
                                    HeadChunkScanResult* res = nullptr) {
    std::vector<MappedChunkInfo> out;
    auto r = m.IterateAllChunks([&](const MappedChunkInfo& c) {
      out.push_back(c);
      return absl::OkStatus();
    });
    EXPECT_TRUE(r.ok()) << r.status();
    if (res != nullptr && r.ok()) *res = *r;
    return out;
  }

  std::unique_ptr<testing::MemFileSystem> mem_;
  io::FileSystem* fs_ = nullptr;
  std::string dir_;
};

TEST_P(HeadChunksTest, FileFormatIsPrometheus) {
  ChunkDiskMapperOptions o;
  o.preallocate_size = 0;
  auto m = OpenMapper(o);
  Written w = Write(*m, 0);
  EXPECT_EQ(w.ref, MakeChunkDiskMapperRef(1, 8));
  ASSERT_TRUE(m->Close().ok());
  auto bytes = fs_->ReadFile(io::JoinPath(dir_, "000001"));
  ASSERT_TRUE(bytes.ok());
  std::string want;
  AppendBE32(&want, 0x0130BC91);
  want += std::string("\x01\0\0\0", 4);
  const size_t start = want.size();
  AppendBE64(&want, w.series);
  AppendBE64(&want, static_cast<uint64_t>(w.mint));
  AppendBE64(&want, static_cast<uint64_t>(w.maxt));
  want.push_back(1);
  AppendUvarint(&want, w.data.size());
  want += w.data;
  AppendBE32(&want, crc32c::Value(want.data() + start, want.size() - start));
  EXPECT_EQ(*bytes, want);
}

TEST_P(HeadChunksTest, ReadableFromBufferAfterFlushAndAfterReopen) {
  std::vector<Written> ws;
  {
    auto m = OpenMapper();
    for (int i = 0; i < 50; ++i) {
      ws.push_back(Write(*m, i));
      ExpectReadable(*m, ws.back());  // still in the write buffer
    }
    ASSERT_TRUE(m->Flush().ok());
    for (const Written& w : ws) ExpectReadable(*m, w);  // pread
    for (int i = 50; i < 60; ++i) ws.push_back(Write(*m, i));
    for (const Written& w : ws) ExpectReadable(*m, w);  // both
    ASSERT_TRUE(m->Close().ok());
  }
  auto m = OpenMapper();
  HeadChunkScanResult res;
  std::vector<MappedChunkInfo> got = Scan(*m, &res);
  EXPECT_FALSE(res.corruption);
  ASSERT_EQ(got.size(), ws.size());
  for (size_t i = 0; i < ws.size(); ++i) {
    EXPECT_EQ(got[i].ref, ws[i].ref);
    EXPECT_EQ(got[i].series_ref, ws[i].series);
    EXPECT_EQ(got[i].min_time, ws[i].mint);
    EXPECT_EQ(got[i].max_time, ws[i].maxt);
    EXPECT_EQ(got[i].num_samples,
              GetBE16(reinterpret_cast<const uint8_t*>(ws[i].data.data())));
    EXPECT_EQ(got[i].encoding, 1);
    ExpectReadable(*m, ws[i]);  // mapped / pread of a finished file
  }
  // A missing ref: NotFound.
  HeadChunkRecord rec;
  EXPECT_TRUE(
      absl::IsNotFound(m->ReadChunk(MakeChunkDiskMapperRef(9, 8), &rec)));
  EXPECT_TRUE(
      absl::IsNotFound(m->ReadChunk(MakeChunkDiskMapperRef(1, 3), &rec)));
}

TEST_P(HeadChunksTest, EveryOpenStartsANewFileAndNumbersContinue) {
  for (int round = 0; round < 3; ++round) {
    auto m = OpenMapper();
    Scan(*m);
    Written w = Write(*m, round);
    EXPECT_EQ(ChunkDiskMapperRefFile(w.ref), static_cast<uint32_t>(round + 1));
    EXPECT_EQ(ChunkDiskMapperRefOffset(w.ref), 8u);
    ASSERT_TRUE(m->Close().ok());
  }
  auto m = OpenMapper();
  EXPECT_EQ(m->FileNumbers(), (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(Scan(*m).size(), 3u);
}

TEST_P(HeadChunksTest, PreallocatedZeroTailIsTheEnd) {
  auto m = OpenMapper();  // 128 KiB preallocation
  std::vector<Written> ws;
  for (int i = 0; i < 5; ++i) ws.push_back(Write(*m, i));
  ASSERT_TRUE(m->Close().ok());
  const std::string path = io::JoinPath(dir_, "000001");
  if (mem_ != nullptr) {  // no fallocate in memory: add the tail by hand
    auto b = fs_->ReadFile(path);
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE(mem_->WriteFileContents(
                        path, *b + std::string(131072 - b->size(), '\0'))
                    .ok());
  }
  EXPECT_EQ(*fs_->FileSize(path), 131072u);
  m = OpenMapper();
  HeadChunkScanResult res;
  EXPECT_EQ(Scan(*m, &res).size(), 5u);
  EXPECT_FALSE(res.corruption);
  for (const Written& w : ws) ExpectReadable(*m, w);
}

TEST_P(HeadChunksTest, CutsWhenARecordWouldNotFit) {
  ChunkDiskMapperOptions o;
  o.max_file_size = 8 + 3 * 50;  // three 50-byte records per file
  o.preallocate_size = 0;
  auto m = OpenMapper(o);
  std::vector<Written> ws;
  for (int i = 0; i < 10; ++i) ws.push_back(Write(*m, i));
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(ChunkDiskMapperRefFile(ws[i].ref),
              static_cast<uint32_t>(i / 3 + 1));
    EXPECT_EQ(ChunkDiskMapperRefOffset(ws[i].ref), 8u + 50u * (i % 3));
  }
  for (const Written& w : ws) ExpectReadable(*m, w);
  // An encoding a scan would reject is refused at write.
  EXPECT_TRUE(absl::IsInvalidArgument(
      m->WriteChunk(1, 0, 1, 9, std::string(4, 'x')).status()));
  // A record bigger than a file is refused rather than splitting.
  EXPECT_FALSE(m->WriteChunk(1, 0, 1, 1, std::string(500, 'x')).ok());
  ASSERT_TRUE(m->Close().ok());
  m = OpenMapper(o);
  EXPECT_EQ(Scan(*m).size(), 10u);
}

TEST_P(HeadChunksTest, CutNewFileIsLazy) {
  auto m = OpenMapper();
  Written a = Write(*m, 0);
  m->CutNewFile();
  m->CutNewFile();
  EXPECT_EQ(m->FileNumbers(), (std::vector<uint32_t>{1}));
  Written b = Write(*m, 1);
  EXPECT_EQ(ChunkDiskMapperRefFile(b.ref), 2u);
  ExpectReadable(*m, a);
  ExpectReadable(*m, b);
}

TEST_P(HeadChunksTest, TruncateDeletesOnlyUnreferencedOldFiles) {
  auto m = OpenMapper();
  // File i (1..4) holds maxt in [100 i, 100 i + 50].
  for (int f = 1; f <= 4; ++f) {
    ASSERT_TRUE(m->WriteChunk(1, 100 * f, 100 * f + 50, 1, ChunkBytes(f)).ok());
    ASSERT_TRUE(m->WriteChunk(2, 100 * f, 100 * f + 10, 1, ChunkBytes(f)).ok());
    m->CutNewFile();
  }
  Written last = Write(*m, 99);        // file 5, maxt 2000
  ASSERT_TRUE(m->Truncate(250).ok());  // file 1 (maxt 150) only
  EXPECT_EQ(m->FileNumbers(), (std::vector<uint32_t>{2, 3, 4, 5}));
  ASSERT_TRUE(m->Truncate(251).ok());
  EXPECT_EQ(m->FileNumbers(), (std::vector<uint32_t>{3, 4, 5}));
  // The file being written is never deleted.
  ASSERT_TRUE(m->Truncate(1 << 30).ok());
  EXPECT_EQ(m->FileNumbers(), (std::vector<uint32_t>{5}));
  ExpectReadable(*m, last);
  // Truncate cut a new file for the next write.
  Written next = Write(*m, 100);
  EXPECT_EQ(ChunkDiskMapperRefFile(next.ref), 6u);
  ASSERT_TRUE(m->DeleteFilesBefore(6).ok());
  EXPECT_EQ(m->FileNumbers(), (std::vector<uint32_t>{6}));
  ASSERT_TRUE(m->Close().ok());

  // After a restart, files count as unknown until scanned.
  m = OpenMapper();
  ASSERT_TRUE(m->Truncate(1 << 30).ok());
  EXPECT_EQ(m->FileNumbers(), (std::vector<uint32_t>{6}));
  Scan(*m);
  ASSERT_TRUE(m->Truncate(1 << 30).ok());
  EXPECT_TRUE(m->FileNumbers().empty());
}

TEST_P(HeadChunksTest, ConcurrentWritersAndReaders) {
  ChunkDiskMapperOptions o;
  o.write_buffer_size = 4096;  // flush often
  o.max_file_size = 64 << 10;  // and cut often
  o.preallocate_size = 0;
  auto m = OpenMapper(o);
  constexpr int kWriters = 2, kPerWriter = 1500;
  std::mutex mu;
  std::vector<Written> published;
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerWriter; ++i) {
        Written w = Write(*m, t * kPerWriter + i, 30 + i % 50);
        std::lock_guard<std::mutex> l(mu);
        published.push_back(w);
      }
    });
  }
  std::atomic<int> reads{0};
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      size_t i = r;
      while (!done.load()) {
        Written w;
        {
          std::lock_guard<std::mutex> l(mu);
          if (published.empty()) continue;
          w = published[i++ % published.size()];
        }
        ExpectReadable(*m, w);
        reads.fetch_add(1);
      }
    });
  }
  for (int t = 0; t < kWriters; ++t) threads[t].join();
  done.store(true);
  for (size_t t = kWriters; t < threads.size(); ++t) threads[t].join();
  EXPECT_GT(reads.load(), 0);
  for (const Written& w : published) ExpectReadable(*m, w);
  ASSERT_TRUE(m->Close().ok());
  m = OpenMapper(o);
  EXPECT_EQ(Scan(*m).size(), static_cast<size_t>(kWriters * kPerWriter));
}

INSTANTIATE_TEST_SUITE_P(FileSystems, HeadChunksTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? "PosixMmap" : "Memory";
                         });

}  // namespace
}  // namespace tsdb::chunks
