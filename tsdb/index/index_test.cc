#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tsdb/base/coding.h"
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

struct TestSeries {
  Labels lset;
  std::vector<ChunkMeta> chunks;
};

// Writes `series` (sorted here) with a symbol table built from them.
void WriteIndex(const std::string& path, std::vector<TestSeries>& series) {
  std::sort(
      series.begin(), series.end(),
      [](const TestSeries& a, const TestSeries& b) { return a.lset < b.lset; });
  std::set<std::string> symbols;
  for (const auto& s : series) {
    for (const auto& l : s.lset) {
      symbols.insert(l.name);
      symbols.insert(l.value);
    }
  }
  auto w = IndexWriter::Create(io::PosixFileSystem(), path).value();
  for (const auto& s : symbols) ASSERT_TRUE(w->AddSymbol(s).ok());
  for (const auto& s : series) ASSERT_TRUE(w->AddSeries(s.lset, s.chunks).ok());
  ASSERT_TRUE(w->Close().ok());
}

std::vector<TestSeries> RandomSeries(int n) {
  std::mt19937 rng(7);
  std::set<std::string> seen;
  std::vector<TestSeries> out;
  while (static_cast<int>(out.size()) < n) {
    const int i = static_cast<int>(rng() % 100000);
    Labels l = Labels::FromPairs(
        {{"__name__", absl::StrCat("metric_", i % 7)},
         {"instance", absl::StrCat("host-", i % 97, ".example:9100")},
         {"job", i % 3 == 0 ? "node" : "ünïcødé \"quoted\" \\ job"},
         {"id", absl::StrCat(i)}});
    if (!seen.insert(l.ToString()).second) continue;
    TestSeries s{l, {}};
    int64_t t = static_cast<int64_t>(rng() % 100000) - 50000;
    uint64_t ref = 8 + rng() % 1000;
    for (int c = 0; c < static_cast<int>(rng() % 5); ++c) {
      ChunkMeta m;
      m.min_time = t;
      m.max_time = t + static_cast<int64_t>(rng() % 7200000);
      m.ref = ref;
      t = m.max_time + 1 + static_cast<int64_t>(rng() % 1000);
      ref += 1 + rng() % (uint64_t{1} << 34);
      s.chunks.push_back(m);
    }
    out.push_back(std::move(s));
  }
  return out;
}

TEST(IndexTest, RoundTrip) {
  const std::string path = TempPath("roundtrip_index");
  std::vector<TestSeries> series = RandomSeries(1500);
  WriteIndex(path, series);
  auto r = IndexFileReader::Open(path);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE((*r)->Verify().ok()) << (*r)->Verify();

  // All postings, in label order.
  auto all = (*r)->Postings("", "");
  std::vector<SeriesRef> refs;
  ASSERT_TRUE(postings::ExpandPostings(*all, &refs).ok());
  ASSERT_EQ(refs.size(), series.size());
  std::map<std::string, std::map<std::string, std::vector<SeriesRef>>> want;
  for (size_t i = 0; i < refs.size(); ++i) {
    Labels l;
    std::vector<ChunkMeta> chunks;
    ASSERT_TRUE((*r)->Series(refs[i], &l, &chunks).ok());
    EXPECT_EQ(l, series[i].lset);
    EXPECT_EQ(chunks, series[i].chunks);
    for (const auto& lb : l) want[lb.name][lb.value].push_back(refs[i]);
  }
  std::vector<std::string> names;
  for (const auto& [n, vs] : want) names.push_back(n);
  EXPECT_EQ((*r)->LabelNames().value(), names);
  for (const auto& [n, vs] : want) {
    std::vector<std::string> values;
    for (const auto& [v, ids] : vs) {
      values.push_back(v);
      auto p = (*r)->Postings(n, v);
      std::vector<SeriesRef> got;
      ASSERT_TRUE(postings::ExpandPostings(*p, &got).ok());
      EXPECT_EQ(got, ids) << n << "=" << v;
      // Absent values next to present ones.
      for (const std::string& miss : {v + "\x01", v.substr(0, v.size() - 1)}) {
        if (vs.count(miss)) continue;
        auto e = (*r)->Postings(n, miss);
        EXPECT_FALSE(e->Next()) << n << "=" << miss;
        EXPECT_TRUE(e->status().ok());
      }
    }
    EXPECT_EQ((*r)->LabelValues(n).value(), values) << n;
  }
  EXPECT_FALSE((*r)->Postings("nope", "x")->Next());
  EXPECT_FALSE((*r)->Postings("id", "")->Next());
  EXPECT_TRUE((*r)->LabelValues("nope").value().empty());

  // Symbols and reverse lookups.
  uint32_t i = 0;
  ASSERT_TRUE((*r)->ForEachSymbol([&](std::string_view s) {
                    EXPECT_EQ((*r)->Symbol(i).value(), s);
                    EXPECT_EQ((*r)->ReverseLookup(s).value(), i);
                    ++i;
                    return true;
                  })
                  .ok());
  EXPECT_EQ(i, (*r)->NumSymbols());
  EXPECT_FALSE((*r)->ReverseLookup("zzzzzz-not-there").ok());
  EXPECT_FALSE((*r)->Symbol(i).ok());

  // Unknown series refs.
  Labels l;
  std::vector<ChunkMeta> c;
  EXPECT_EQ((*r)->Series(0, &l, &c).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*r)->Series(uint64_t{1} << 40, &l, &c).code(),
            absl::StatusCode::kNotFound);
}

TEST(IndexTest, SeekOnPostings) {
  const std::string path = TempPath("seek_index");
  std::vector<TestSeries> series = RandomSeries(300);
  WriteIndex(path, series);
  auto r = IndexFileReader::Open(path).value();
  std::vector<SeriesRef> all;
  auto p = r->Postings("", "");
  ASSERT_TRUE(postings::ExpandPostings(*p, &all).ok());
  auto q = r->Postings("", "");
  ASSERT_TRUE(q->Seek(all[10] - 1));
  EXPECT_EQ(q->At(), all[10]);
  ASSERT_TRUE(q->Seek(all[5]));  // never moves back
  EXPECT_EQ(q->At(), all[10]);
  ASSERT_TRUE(q->Next());
  EXPECT_EQ(q->At(), all[11]);
  EXPECT_FALSE(q->Seek(all.back() + 1));
}

// The exact bytes of a tiny index, checked by hand against Prometheus's
// writer: TOC offsets point before the padding.
TEST(IndexTest, LayoutMatchesPrometheus) {
  const std::string path = TempPath("layout_index");
  std::vector<TestSeries> series = {
      {Labels::FromPairs({{"a", "1"}}), {{8, 0, 10}}},
      {Labels::FromPairs({{"a", "2"}, {"b", "x"}}), {}},
  };
  WriteIndex(path, series);
  const std::string f = io::PosixFileSystem()->ReadFile(path).value();
  const auto* p = reinterpret_cast<const uint8_t*>(f.data());
  // Header.
  EXPECT_EQ(f.substr(0, 5), std::string("\xBA\xAA\xD7\x00\x02", 5));
  // Symbols "1","2","a","b","x": len 4+5*2=14, count 5.
  EXPECT_EQ(GetBE32(p + 5), 14u);
  EXPECT_EQ(GetBE32(p + 9), 5u);
  EXPECT_EQ(f.substr(13, 10), std::string("\x01"
                                          "1\x01"
                                          "2\x01"
                                          "a\x01"
                                          "b\x01"
                                          "x",
                                          10));
  // Symbols end at 5 + 4 + 14 + 4 = 27; first series at 32.
  const uint64_t toc_at = f.size() - 52;
  auto toc = [&](int i) { return GetBE64(p + toc_at + 8 * i); };
  EXPECT_EQ(toc(0), 5u);
  EXPECT_EQ(toc(1), 27u);
  EXPECT_EQ(f.substr(27, 5), std::string(5, '\0'));
  // Series 1 at 32: len, #labels 1, a(2)=1(0), #chunks 1, mint 0, dt 10,
  // ref 8.
  EXPECT_EQ(f.substr(32, 8),
            std::string("\x07\x01\x02\x00\x01\x00\x0A\x08", 8));
  // Series 2 at 48 (32 + 1 + 7 + 4 = 44, padded): a=2, b=x, no chunks.
  EXPECT_EQ(f.substr(48, 7), std::string("\x06\x02\x02\x01\x03\x04\x00", 7));
  // Label indices start right after series 2 (48 + 1 + 6 + 4 = 59), not at
  // the padded 60.
  EXPECT_EQ(toc(2), 59u);
  auto r = IndexFileReader::Open(path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE((*r)->Verify().ok()) << (*r)->Verify();
  // Label index "a" at 60: len 4+4+2*4=16, 1 name, 2 values (sym 0, 1).
  EXPECT_EQ(GetBE32(p + 60), 16u);
  EXPECT_EQ(GetBE32(p + 64), 1u);
  EXPECT_EQ(GetBE32(p + 68), 2u);
  // a: 60 + 4 + 16 + 4 = 84; b: 84 + 4 + 12 + 4 = 104 = TOC.postings,
  // already aligned; all-postings: count 2, ids 2, 3.
  EXPECT_EQ(toc(4), 104u);
  EXPECT_EQ(GetBE32(p + 104), 12u);
  EXPECT_EQ(GetBE32(p + 108), 2u);
  EXPECT_EQ(GetBE32(p + 112), 2u);
  EXPECT_EQ(GetBE32(p + 116), 3u);
}

TEST(IndexTest, EmptyIndex) {
  const std::string path = TempPath("empty_index");
  std::vector<TestSeries> none;
  WriteIndex(path, none);
  auto r = IndexFileReader::Open(path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE((*r)->Verify().ok()) << (*r)->Verify();
  EXPECT_TRUE((*r)->LabelNames().value().empty());
  EXPECT_FALSE((*r)->Postings("", "")->Next());
}

TEST(IndexWriterTest, RejectsMisuse) {
  const std::string path = TempPath("misuse_index");
  auto w = IndexWriter::Create(io::PosixFileSystem(), path).value();
  ASSERT_TRUE(w->AddSymbol("a").ok());
  ASSERT_TRUE(w->AddSymbol("b").ok());
  EXPECT_FALSE(w->AddSymbol("b").ok());
  EXPECT_FALSE(w->AddSymbol("0").ok());
  ASSERT_TRUE(w->AddSeries(Labels::FromPairs({{"a", "b"}}), {}).ok());
  EXPECT_FALSE(w->AddSymbol("c").ok());
  EXPECT_FALSE(w->AddSeries(Labels::FromPairs({{"a", "b"}}), {}).ok());
  EXPECT_FALSE(w->AddSeries(Labels::FromPairs({{"a", "a"}}), {}).ok());
  EXPECT_FALSE(w->AddSeries(Labels::FromPairs({{"b", "c"}}), {}).ok());
  ASSERT_TRUE(w->Close().ok());
  EXPECT_FALSE(w->AddSeries(Labels::FromPairs({{"b", "b"}}), {}).ok());
}

}  // namespace
}  // namespace tsdb::index
