// The parallel replay (ranges of pages decoded by several threads, applied
// in log order) against the sequential one (ReplayOptions::parallel_decode
// = false: one Reader over the whole log) on the same WAL, clean and with
// corruption at many offsets: the same callbacks in the same order, the
// same stats, the same error and Corruption. Ranges are one page each, so
// every page boundary is a range boundary, with more decoders than cores.
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "plugins/wal/segmented/segmented_wal.h"
#include "testing/mem_file_system.h"
#include "tsdb/base/coding.h"
#include "tsdb/base/crc32c.h"
#include "tsdb/wal/framing.h"
#include "tsdb/wal/replay.h"

namespace tsdb::wal {
namespace {

constexpr int kWorkers = 2;

// Sanitizer builds (10x slower) try every kThin-th case.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr size_t kThin = 4;
#else
constexpr size_t kThin = 1;
#endif

// Records every callback, per thread of delivery, in arrival order.
class LogVisitor final : public ReplayVisitor {
 public:
  absl::Status OnSeries(const std::vector<record::RefSeries>& s) override {
    for (const record::RefSeries& x : s) {
      main.push_back(absl::StrCat("series ", x.ref, x.labels.ToString()));
    }
    return absl::OkStatus();
  }
  absl::Status OnSamples(int shard,
                         absl::Span<const record::RefSample> s) override {
    std::lock_guard<std::mutex> l(mu_);
    // An order-sensitive digest of (ref, t, value bits), not strings: the
    // tests replay thousands of times.
    uint64_t h = hash[shard];
    for (const record::RefSample& x : s) {
      uint64_t bits;
      std::memcpy(&bits, &x.v, sizeof(bits));
      for (uint64_t w : {x.ref, static_cast<uint64_t>(x.t), bits}) {
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
      }
    }
    hash[shard] = h;
    count[shard] += s.size();
    return absl::OkStatus();
  }
  absl::Status OnTombstones(const std::vector<record::Stone>& s) override {
    for (const record::Stone& x : s) {
      main.push_back(absl::StrCat("stone ", x.ref, " ", x.mint, " ", x.maxt));
    }
    return absl::OkStatus();
  }
  absl::Status OnDuplicateSeries(int shard, uint64_t ref) override {
    std::lock_guard<std::mutex> l(mu_);
    shards[shard].push_back(absl::StrCat("reset ", ref, " after ", count[shard],
                                         " samples ", hash[shard]));
    return absl::OkStatus();
  }

  std::vector<std::string> main;
  std::vector<std::string> shards[kWorkers];  // resets
  uint64_t hash[kWorkers] = {};
  uint64_t count[kWorkers] = {};

 private:
  std::mutex mu_;
};

// Everything a replay produced, as one comparable string.
std::string Outcome(absl::StatusOr<ReplayStats> st, const LogVisitor& v) {
  std::string out;
  if (!st.ok()) {
    absl::StrAppend(&out, "error: ", st.status().ToString(), "\n");
  } else {
    absl::StrAppend(&out, "records=", st->records, " series=", st->series,
                    " dup=", st->duplicate_series, " samples=", st->samples,
                    " unknown=", st->unknown_ref_samples,
                    " stones=", st->tombstones, " max_ref=", st->max_series_ref,
                    " checkpoint=", st->checkpoint, " segs=", st->first_segment,
                    "-", st->last_segment, "\n");
    for (const auto& [name, n] : st->skipped_records) {
      absl::StrAppend(&out, "skipped ", name, "=", n, "\n");
    }
    absl::StrAppend(&out, "corruption: ", st->corruption.ToString(), "\n");
    if (st->corrupt_at.has_value()) {
      const Corruption& c = *st->corrupt_at;
      absl::StrAppend(&out, "at segment=", c.segment, " path=", c.path,
                      " offset=", c.offset, " good_end=", c.good_end,
                      " reason=", c.reason,
                      " in_checkpoint=", st->corruption_in_checkpoint, "\n");
    }
  }
  for (const std::string& l : v.main) absl::StrAppend(&out, l, "\n");
  for (int s = 0; s < kWorkers; ++s) {
    absl::StrAppend(&out, "shard ", s, ": ", v.count[s], " samples, digest ",
                    v.hash[s], ";");
    for (const std::string& l : v.shards[s]) absl::StrAppend(&out, " ", l);
    absl::StrAppend(&out, "\n");
  }
  return out;
}

class ReplayParallelTest : public ::testing::TestWithParam<bool> {
 protected:
  // A WAL of 4+ segments of 2 pages: records from a few bytes to several
  // pages, a restart that re-creates a series under a new ref, tombstones,
  // metadata and an unknown type. Segments 0-1 become checkpoint.00000001,
  // 2.. stay segments.
  void SetUp() override {
    WalOptions o;
    o.fs = &fs_;
    o.dir = "/src";
    o.segment_size = 2 * kPageSize;
    o.compression = GetParam() ? Compression::kSnappy : Compression::kNone;
    o.log = [](std::string_view) {};
    {
      auto w = plugins::OpenSegmentedWal(o);
      ASSERT_TRUE(w.ok()) << w.status();
      uint64_t next_ref = 1;
      uint32_t seed = 7;
      auto rnd = [&seed] {
        seed = seed * 1103515245 + 12345;
        return (seed >> 8) & 0xffff;
      };
      for (int batch = 0; batch < 60; ++batch) {
        std::vector<record::RefSeries> series;
        const int new_series =
            batch % 7 == 0 ? 150 : static_cast<int>(rnd() % 4);
        for (int i = 0; i < new_series; ++i) {
          series.push_back(
              {next_ref,
               labels::Labels::FromPairs(
                   {{"__name__", absl::StrCat("m", next_ref % 13)},
                    {"id", absl::StrCat(next_ref, "-",
                                        std::string(rnd() % 60, 'x'))}})});
          ++next_ref;
        }
        if (batch == 20) {
          // A restart: series 1's labels again, under a new ref.
          std::vector<record::RefSeries> first;
          ASSERT_TRUE(record::DecodeSeries(series_rec_for_ref1_, &first).ok());
          series.push_back({next_ref++, first[0].labels});
        }
        std::vector<record::RefSample> samples;
        const int n = static_cast<int>(rnd() % (batch % 5 == 0 ? 3000 : 200));
        for (int i = 0; i < n; ++i) {
          samples.push_back({1 + rnd() % next_ref, 1000 + batch * 100 + i,
                             static_cast<double>(rnd()) / 7});
        }
        std::vector<std::string> recs;
        if (!series.empty()) {
          recs.emplace_back();
          record::EncodeSeries(series, &recs.back());
          if (batch == 0) series_rec_for_ref1_ = recs.back();
        }
        if (!samples.empty()) {
          recs.emplace_back();
          record::EncodeSamples(samples, &recs.back());
        }
        if (batch % 9 == 4) {
          recs.emplace_back();
          record::EncodeTombstones({{2, 0, batch}, {3, 5, 6}}, &recs.back());
        }
        if (batch % 11 == 5) {
          recs.emplace_back();
          record::EncodeMetadata({{1, 1, "", "help"}}, &recs.back());
          recs.push_back("\x63junk");
        }
        std::vector<std::string_view> views(recs.begin(), recs.end());
        ASSERT_TRUE((*w)->Log(views).ok());
      }
      ASSERT_TRUE((*w)->Close().ok());
    }
    auto segs = ListSegments(&fs_, "/src");
    ASSERT_TRUE(segs.ok());
    ASSERT_GE(segs->size(), 4u);
    for (int i : *segs) {
      auto bytes = fs_.ReadFile("/src/" + SegmentName(i));
      ASSERT_TRUE(bytes.ok());
      const std::string to =
          i < 2 ? "/wal/" + CheckpointName(1) + "/" + SegmentName(i)
                : "/wal/" + SegmentName(i);
      ASSERT_TRUE(fs_.CreateDirs(to.substr(0, to.rfind('/'))).ok());
      ASSERT_TRUE(fs_.WriteFileContents(to, *bytes).ok());
      files_.push_back(to);
    }
  }

  std::string Run(bool parallel) {
    LogVisitor v;
    ReplayOptions r;
    r.fs = &fs_;
    r.dir = "/wal";
    r.workers = kWorkers;
    r.log_progress = false;
    r.corruption_in_stats = true;
    r.parallel_decode = parallel;
    r.decoders = 3;
    r.range_bytes = 1;  // one page per range
    return Outcome(ReplayWalDir(r, &v), v);
  }

  // Replays parallel and sequential; they must agree.
  void ExpectSame(const std::string& what) {
    const std::string seq = Run(false);
    const std::string par = Run(true);
    ASSERT_EQ(par, seq) << what;
  }

  static std::string SeriesRecord() {
    std::string out;
    record::EncodeSeries(
        {{1, labels::Labels::FromPairs({{"__name__", "up"}, {"job", "a"}})}},
        &out);
    return out;
  }

  testing::MemFileSystem fs_;
  std::string series_rec_for_ref1_;
  std::vector<std::string> files_;
};

TEST_P(ReplayParallelTest, CleanLogSameAsSequential) {
  const std::string seq = Run(false);
  EXPECT_NE(seq.find("corruption: OK"), std::string::npos) << seq;
  EXPECT_NE(seq.find("reset "), std::string::npos);  // the duplicate
  EXPECT_NE(seq.find("stone "), std::string::npos);
  EXPECT_EQ(Run(true), seq);
  // Default range size and decoder count too.
  LogVisitor v;
  ReplayOptions r;
  r.fs = &fs_;
  r.dir = "/wal";
  r.workers = kWorkers;
  r.log_progress = false;
  r.corruption_in_stats = true;
  EXPECT_EQ(Outcome(ReplayWalDir(r, &v), v), seq);
}

TEST_P(ReplayParallelTest, ByteFlipsSameAsSequential) {
  int cases = 0;
  for (const std::string& f : files_) {
    auto size = fs_.FileSize(f);
    ASSERT_TRUE(size.ok());
    std::vector<uint64_t> offsets;
    // Around every page start (fragment headers, range boundaries) ...
    for (uint64_t p = 0; p < *size; p += kPageSize) {
      for (uint64_t d = 0; d < 8; ++d) offsets.push_back(p + d);
      if (p >= 8) offsets.push_back(p - 1);
    }
    const size_t near_pages = offsets.size();
    // ... and spread over the data.
    for (uint64_t o = 11; o < *size; o += 2503) offsets.push_back(o);
    for (size_t i = 0; i < offsets.size(); i += kThin) {
      const uint64_t o = offsets[i];
      if (o >= *size) continue;
      // 0x01/0x02 flip a header's fragment type (not covered by the CRC).
      std::vector<uint8_t> masks = {0xff};
      if (i < near_pages) masks = {0x01, 0x02, 0xff};
      for (uint8_t mask : masks) {
        ASSERT_TRUE(fs_.CorruptByte(f, o, mask).ok());
        ExpectSame(absl::StrCat(f, " byte ", o, " ^ ", mask));
        ASSERT_TRUE(fs_.CorruptByte(f, o, mask).ok());  // restore
        ++cases;
        if (HasFatalFailure()) return;
      }
    }
  }
  EXPECT_GT(cases, 300 / static_cast<int>(kThin));
}

// The fragment type is not covered by the CRC: retyping a fragment keeps
// it valid-looking. Every fragment header of the log, every retyping.
TEST_P(ReplayParallelTest, RetypedFragmentsSameAsSequential) {
  int cases = 0;
  for (const std::string& f : files_) {
    auto bytes = fs_.ReadFile(f);
    ASSERT_TRUE(bytes.ok());
    std::vector<uint64_t> headers;
    uint64_t pos = 0;
    while (pos + kFragmentHeaderSize <= bytes->size()) {
      const uint8_t type = static_cast<uint8_t>((*bytes)[pos]) & kTypeMask;
      if (type == kPagePadding) {
        pos = (pos / kPageSize + 1) * kPageSize;
        continue;
      }
      headers.push_back(pos);
      const uint64_t len =
          (uint64_t{static_cast<uint8_t>((*bytes)[pos + 1])} << 8) |
          static_cast<uint8_t>((*bytes)[pos + 2]);
      pos += kFragmentHeaderSize + len;
    }
    ASSERT_GT(headers.size(), 2u);
    for (size_t hi = 0; hi < headers.size(); hi += kThin) {
      const uint64_t h = headers[hi];
      const uint8_t type = static_cast<uint8_t>((*bytes)[h]) & kTypeMask;
      for (uint8_t to = kPagePadding; to <= kLast + 1; ++to) {
        if (to == type) continue;
        ASSERT_TRUE(fs_.CorruptByte(f, h, type ^ to).ok());
        ExpectSame(absl::StrCat(f, " fragment at ", h, " type ", int{type},
                                " -> ", int{to}));
        ASSERT_TRUE(fs_.CorruptByte(f, h, type ^ to).ok());  // restore
        ++cases;
        if (HasFatalFailure()) return;
      }
    }
  }
  EXPECT_GT(cases, 100 / static_cast<int>(kThin));
}

TEST_P(ReplayParallelTest, CutsSameAsSequential) {
  int cases = 0;
  for (const std::string& f : files_) {
    auto bytes = fs_.ReadFile(f);
    ASSERT_TRUE(bytes.ok());
    std::vector<uint64_t> lengths = {0, 1, 6, 7, 8};
    for (uint64_t p = kPageSize; p < bytes->size(); p += kPageSize) {
      for (int64_t d : {-8, -7, -1, 0, 1, 7, 8, 100}) lengths.push_back(p + d);
    }
    for (uint64_t l = 13; l < bytes->size(); l += 2039) lengths.push_back(l);
    for (size_t li = 0; li < lengths.size(); li += kThin) {
      const uint64_t l = lengths[li];
      if (l >= bytes->size()) continue;
      ASSERT_TRUE(fs_.WriteFileContents(f, bytes->substr(0, l)).ok());
      ExpectSame(absl::StrCat(f, " cut at ", l));
      ++cases;
      if (HasFatalFailure()) return;
    }
    ASSERT_TRUE(fs_.WriteFileContents(f, *bytes).ok());
  }
  EXPECT_GT(cases, 100 / static_cast<int>(kThin));
}

// A segment in the middle that is missing its start offset's bytes: resumed
// replay (start_segment/start_offset) goes through the same checks.
TEST_P(ReplayParallelTest, ResumeFromOffsetSameAsSequential) {
  // Find a record boundary inside the first WAL segment: where the first
  // record ends (a sequential Reader tells).
  auto segs = SegmentsInDir(&fs_, "/wal", 2, 2);
  ASSERT_TRUE(segs.ok());
  ASSERT_EQ(segs->size(), 1u);
  Reader reader(&fs_, *segs);
  ASSERT_TRUE(reader.Next());
  ASSERT_TRUE(reader.Next());
  const uint64_t offset = reader.record_end();
  auto run = [&](bool parallel) {
    LogVisitor v;
    ReplayOptions r;
    r.fs = &fs_;
    r.dir = "/wal";
    r.workers = kWorkers;
    r.log_progress = false;
    r.corruption_in_stats = true;
    r.parallel_decode = parallel;
    r.decoders = 2;
    r.range_bytes = 1;
    r.start_segment = 2;
    r.start_offset = offset;
    return Outcome(ReplayWalDir(r, &v), v);
  };
  const std::string seq = run(false);
  EXPECT_NE(seq.find("checkpoint=-1"), std::string::npos) << seq;
  EXPECT_EQ(run(true), seq);
}

// Hand-built: a record, zero padding to the end of page 0, then page 1
// starts with a bad fragment. A range boundary lies at page 1, after the
// padding, so the sequential re-read starts there; the Corruption must
// still name the end of the record in page 0 as the last good end.
TEST_P(ReplayParallelTest, CorruptionRightAfterPaddingKeepsGoodEnd) {
  auto frag = [](uint8_t type, std::string_view data) {
    std::string h(kFragmentHeaderSize, '\0');
    uint8_t* p = reinterpret_cast<uint8_t*>(h.data());
    p[0] = type;
    PutBE16(p + 1, static_cast<uint16_t>(data.size()));
    PutBE32(p + 3, crc32c::Value(data));
    return h + std::string(data);
  };
  std::string seg = frag(kFull, SeriesRecord());
  const uint64_t good_end = seg.size();
  seg.resize(kPageSize, '\0');
  std::string bad = frag(kFull, SeriesRecord());
  bad[10] ^= 1;  // payload byte: CRC mismatch
  seg += bad;
  ASSERT_TRUE(fs_.RemoveAll("/wal").ok());
  ASSERT_TRUE(fs_.CreateDirs("/wal").ok());
  ASSERT_TRUE(fs_.WriteFileContents("/wal/" + SegmentName(0), seg).ok());
  const std::string seq = Run(false);
  EXPECT_NE(
      seq.find(absl::StrCat("offset=", kPageSize, " good_end=", good_end)),
      std::string::npos)
      << seq;
  EXPECT_EQ(Run(true), seq);
}

INSTANTIATE_TEST_SUITE_P(Compression, ReplayParallelTest, ::testing::Bool());

}  // namespace
}  // namespace tsdb::wal
