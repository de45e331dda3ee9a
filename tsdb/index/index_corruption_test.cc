// Flips every byte of a small index file: the reader must report DataLoss
// naming the file (at Open, on a read, or from Verify), never crash or read
// outside the file (ASan checks the latter).
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tsdb/index/index_reader.h"
#include "tsdb/index/index_writer.h"
#include "tsdb/io/file_system.h"
#include "tsdb/labels/labels.h"

namespace tsdb::index {
namespace {

using labels::Labels;

std::string TempPath(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  return io::JoinPath(base ? base : "/tmp", name);
}

// Reads everything through the IndexReader API; returns the first error.
absl::Status ReadAll(const IndexFileReader& r, std::string* dump) {
  auto names = r.LabelNames();
  if (!names.ok()) return names.status();
  for (const auto& n : *names) {
    auto values = r.LabelValues(n);
    if (!values.ok()) return values.status();
    for (const auto& v : *values) {
      auto p = r.Postings(n, v);
      while (p->Next()) absl::StrAppend(dump, n, v, p->At(), ";");
      if (!p->status().ok()) return p->status();
    }
  }
  auto p = r.Postings("", "");
  while (p->Next()) {
    Labels l;
    std::vector<ChunkMeta> c;
    absl::Status s = r.Series(p->At(), &l, &c);
    if (!s.ok()) return s;
    absl::StrAppend(dump, l.ToString());
    for (const auto& m : c)
      absl::StrAppend(dump, m.ref, m.min_time, m.max_time);
  }
  return p->status();
}

TEST(IndexCorruptionTest, EveryFlippedByteIsReported) {
  const std::string path = TempPath("corrupt_index");
  {
    auto w = IndexWriter::Create(io::PosixFileSystem(), path).value();
    for (const char* s : {"0", "1", "2", "__name__", "job", "up", "x"}) {
      ASSERT_TRUE(w->AddSymbol(s).ok());
    }
    ASSERT_TRUE(
        w->AddSeries(Labels::FromPairs({{"__name__", "up"}, {"job", "0"}}),
                     {{8, 1000, 2000}, {40, 2001, 9000}})
            .ok());
    ASSERT_TRUE(
        w->AddSeries(Labels::FromPairs({{"__name__", "up"}, {"job", "1"}}),
                     {{80, -5, 5}})
            .ok());
    ASSERT_TRUE(
        w->AddSeries(Labels::FromPairs({{"__name__", "x"}, {"job", "2"}}), {})
            .ok());
    ASSERT_TRUE(w->Close().ok());
  }
  const std::string orig = io::PosixFileSystem()->ReadFile(path).value();
  std::string want_dump;
  {
    auto r = IndexFileReader::Open(path).value();
    ASSERT_TRUE(r->Verify().ok()) << r->Verify();
    ASSERT_TRUE(ReadAll(*r, &want_dump).ok());
  }
  const std::string bad = TempPath("corrupt_index_flipped");
  int open_errors = 0, read_errors = 0, verify_errors = 0;
  for (size_t i = 0; i < orig.size(); ++i) {
    std::string b = orig;
    b[i] = static_cast<char>(b[i] ^ 0x21);
    std::ofstream(bad, std::ios::binary | std::ios::trunc) << b;
    auto r = IndexFileReader::Open(bad);
    if (!r.ok()) {
      ++open_errors;
      EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << i;
      EXPECT_TRUE(absl::StrContains(r.status().message(), bad)) << r.status();
      continue;
    }
    std::string dump;
    absl::Status s = ReadAll(**r, &dump);
    if (!s.ok()) {
      ++read_errors;
      EXPECT_TRUE(absl::StrContains(s.message(), bad)) << s;
    }
    absl::Status v = (*r)->Verify();
    if (v.ok()) {
      ADD_FAILURE() << "flip of byte " << i << " not detected by Verify";
    } else {
      ++verify_errors;
      EXPECT_EQ(v.code(), absl::StatusCode::kDataLoss) << v;
      EXPECT_TRUE(absl::StrContains(v.message(), bad)) << v;
    }
  }
  EXPECT_GT(open_errors, 0);
  EXPECT_GT(read_errors, 0);
  // Truncations.
  for (size_t n = 0; n < orig.size(); ++n) {
    std::ofstream(bad, std::ios::binary | std::ios::trunc) << orig.substr(0, n);
    auto r = IndexFileReader::Open(bad);
    EXPECT_FALSE(r.ok()) << n;
  }
}

}  // namespace
}  // namespace tsdb::index
