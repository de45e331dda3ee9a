#include "testing/chunkenc_conformance.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace tsdb::conformance {

using chunkenc::Chunk;
using chunkenc::ChunkAppender;
using chunkenc::ChunkCodec;
using chunkenc::Sample;
using chunkenc::SampleIterator;

void PrintTo(const CodecUnderTest& codec, std::ostream* os) {
  *os << codec.name << " (encoding " << static_cast<int>(codec.encoding) << ")";
}

void ChunkConformanceTest::SetUp() {
  const CodecUnderTest& p = GetParam();
  ASSERT_TRUE(p.register_fn != nullptr) << p.name;
  const absl::Status s = p.register_fn(registry_);
  ASSERT_TRUE(s.ok()) << s;
  auto codec = registry_.Get(p.encoding);
  ASSERT_TRUE(codec.ok()) << codec.status();
  codec_ = *codec;
}

namespace {

constexpr int64_t kMinT = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxT = std::numeric_limits<int64_t>::max();
// More than any chunk in these tests holds; iteration past it is a bug.
constexpr size_t kIterationLimit = size_t{1} << 17;

uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }
double FromBits(uint64_t b) { return std::bit_cast<double>(b); }

// Samples equal by timestamp and by the bits of the value.
::testing::AssertionResult SameSamples(const std::vector<Sample>& got,
                                       const std::vector<Sample>& want) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure()
           << "got " << got.size() << " samples, want " << want.size();
  }
  for (size_t i = 0; i < want.size(); ++i) {
    if (got[i].t != want[i].t || Bits(got[i].v) != Bits(want[i].v)) {
      return ::testing::AssertionFailure()
             << "sample " << i << ": got (" << got[i].t << ", 0x" << std::hex
             << Bits(got[i].v) << std::dec << "), want (" << want[i].t << ", 0x"
             << std::hex << Bits(want[i].v) << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

// Drains `it` with Next/At. Returns the status; a runaway iterator fails.
absl::Status Drain(SampleIterator& it, std::vector<Sample>* out) {
  while (it.Next()) {
    out->push_back(it.At());
    if (out->size() > kIterationLimit) {
      ADD_FAILURE() << "iterator did not terminate";
      break;
    }
  }
  return it.status();
}

// Drains `it` with NextBatch in batches of `batch`.
absl::Status DrainBatched(SampleIterator& it, size_t batch,
                          std::vector<Sample>* out) {
  std::vector<int64_t> ts(batch);
  std::vector<double> vs(batch);
  while (true) {
    const size_t n = it.NextBatch(ts.data(), vs.data(), batch);
    for (size_t i = 0; i < n; ++i) out->push_back({ts[i], vs[i]});
    if (n == batch && n > 0) {
      // "As if by Next and At": after a full batch the iterator stands on the
      // last sample (after a short one, Next has returned false).
      const Sample at = it.At();
      EXPECT_EQ(at.t, ts[n - 1]);
      EXPECT_EQ(Bits(at.v), Bits(vs[n - 1]));
    }
    if (n < batch) break;
    if (out->size() > kIterationLimit) {
      ADD_FAILURE() << "iterator did not terminate";
      break;
    }
  }
  return it.status();
}

std::unique_ptr<Chunk> Build(const ChunkCodec& codec,
                             const std::vector<Sample>& samples) {
  std::unique_ptr<Chunk> c = codec.NewChunk();
  EXPECT_NE(c, nullptr);
  auto app = c->Appender();
  EXPECT_TRUE(app.ok()) << app.status();
  if (!app.ok()) return c;
  for (const Sample& s : samples) (*app)->Append(s.t, s.v);
  return c;
}

// A heap copy of exactly `bytes`, so ASan reports any read past its end.
class ExactBuffer {
 public:
  explicit ExactBuffer(std::string_view bytes)
      : size_(bytes.size()), data_(new char[bytes.size()]) {
    if (size_ > 0) std::memcpy(data_.get(), bytes.data(), size_);
  }
  std::string_view view() const { return std::string_view(data_.get(), size_); }
  char* data() { return data_.get(); }
  size_t size() const { return size_; }

 private:
  size_t size_;
  std::unique_ptr<char[]> data_;
};

// Every way of reading `samples` back from a chunk built from them.
void ExpectRoundTrip(const ChunkCodec& codec,
                     const std::vector<Sample>& samples) {
  std::unique_ptr<Chunk> c = Build(codec, samples);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->NumSamples(), static_cast<int>(samples.size()));
  EXPECT_EQ(c->encoding(), codec.encoding());
  {
    std::vector<Sample> got;
    auto it = c->Iterator();
    const absl::Status s = Drain(*it, &got);
    EXPECT_TRUE(s.ok()) << s;
    EXPECT_TRUE(SameSamples(got, samples)) << "Chunk::Iterator";
  }
  const std::string bytes(c->Bytes());
  {
    ExactBuffer buf(bytes);
    std::vector<Sample> got;
    auto it = codec.NewIterator(buf.view());
    const absl::Status s = Drain(*it, &got);
    EXPECT_TRUE(s.ok()) << s;
    EXPECT_TRUE(SameSamples(got, samples)) << "NewIterator";
  }
  for (size_t batch : {size_t{1}, size_t{7}, size_t{512}}) {
    std::vector<Sample> got;
    auto it = codec.NewIterator(bytes);
    const absl::Status s = DrainBatched(*it, batch, &got);
    EXPECT_TRUE(s.ok()) << s;
    EXPECT_TRUE(SameSamples(got, samples)) << "NextBatch " << batch;
  }
  {
    auto from = codec.FromBytes(bytes);
    ASSERT_TRUE(from.ok()) << from.status();
    EXPECT_EQ((*from)->Bytes(), bytes);
    EXPECT_EQ((*from)->NumSamples(), static_cast<int>(samples.size()));
    std::vector<Sample> got;
    auto it = (*from)->Iterator();
    const absl::Status s = Drain(*it, &got);
    EXPECT_TRUE(s.ok()) << s;
    EXPECT_TRUE(SameSamples(got, samples)) << "FromBytes";
  }
}

// --- Series generators -----------------------------------------------------

constexpr int64_t kStart = 1700000000000;  // 2023-11-14, in ms

std::vector<Sample> RandomBitsSeries(std::mt19937_64& rng, size_t n) {
  std::vector<Sample> out;
  int64_t t = static_cast<int64_t>(rng() >> 2) - (int64_t{1} << 61);
  for (size_t i = 0; i < n; ++i) {
    // Mostly small deltas, sometimes zero or large.
    switch (rng() % 8) {
      case 0:
        break;
      case 1:
        t += static_cast<int64_t>(rng() % (uint64_t{1} << 40));
        break;
      default:
        t += static_cast<int64_t>(rng() % 100000);
    }
    out.push_back({t, FromBits(rng())});
  }
  return out;
}

std::vector<Sample> JitteredTimestamps(std::mt19937_64& rng, size_t n) {
  std::vector<Sample> out;
  int64_t t = kStart;
  for (size_t i = 0; i < n; ++i) {
    out.push_back({t, 0});
    // 15 s scrapes with up to +-50 ms of jitter, and a rare missed scrape.
    t += 15000 + static_cast<int64_t>(rng() % 101) - 50;
    if (rng() % 50 == 0) t += 15000;
  }
  return out;
}

std::vector<Sample> CounterSeries(std::mt19937_64& rng, size_t n) {
  std::vector<Sample> out = JitteredTimestamps(rng, n);
  double v = static_cast<double>(rng() % 1000000);
  for (Sample& s : out) {
    if (rng() % 200 == 0) v = 0;  // counter reset
    v += static_cast<double>(rng() % 300);
    s.v = v;
  }
  return out;
}

std::vector<Sample> GaugeSeries(std::mt19937_64& rng, size_t n) {
  std::vector<Sample> out = JitteredTimestamps(rng, n);
  std::normal_distribution<double> step(0, 3);
  double v = 50;
  for (Sample& s : out) {
    v += step(rng);
    s.v = std::round(v * 100) / 100;  // two decimals, like a percentage
  }
  return out;
}

std::vector<Sample> ConstantSeries(std::mt19937_64& rng, size_t n, double v) {
  std::vector<Sample> out = JitteredTimestamps(rng, n);
  for (Sample& s : out) s.v = v;
  return out;
}

std::vector<double> SpecialValues() {
  return {0.0,
          -0.0,
          1.0,
          -1.0,
          FromBits(0x7FF8000000000001),  // Go's math.NaN()
          FromBits(0x7FF0000000000002),  // Prometheus's stale marker
          FromBits(0x7FF8000000000000),  // C's quiet NaN
          FromBits(0xFFF8000000000000),  // negative quiet NaN
          FromBits(0x7FF4000000000000),  // signalling NaN
          FromBits(0x7FFFFFFFFFFFFFFF),  // NaN, all payload bits
          std::numeric_limits<double>::infinity(),
          -std::numeric_limits<double>::infinity(),
          std::numeric_limits<double>::denorm_min(),
          -std::numeric_limits<double>::denorm_min(),
          FromBits(0x000FFFFFFFFFFFFF),  // largest denormal
          std::numeric_limits<double>::min(),
          std::numeric_limits<double>::max(),
          std::numeric_limits<double>::lowest(),
          std::numeric_limits<double>::epsilon(),
          1e-300,
          FromBits(0x8000000000000001)};
}

// --- Tests -----------------------------------------------------------------

TEST_P(ChunkConformanceTest, Identity) {
  EXPECT_EQ(codec()->encoding(), GetParam().encoding);
  EXPECT_FALSE(codec()->name().empty());
  std::unique_ptr<Chunk> c = codec()->NewChunk();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->encoding(), GetParam().encoding);
  // The registry holds what register_fn registered, under that byte.
  const std::vector<uint8_t> encodings = registry_.Encodings();
  EXPECT_NE(std::find(encodings.begin(), encodings.end(), GetParam().encoding),
            encodings.end());
}

TEST_P(ChunkConformanceTest, EmptyChunk) {
  std::unique_ptr<Chunk> c = codec()->NewChunk();
  EXPECT_EQ(c->NumSamples(), 0);
  auto it = c->Iterator();
  EXPECT_FALSE(it->Next());
  EXPECT_FALSE(it->Seek(kMinT));
  int64_t t;
  double v;
  EXPECT_EQ(it->NextBatch(&t, &v, 1), 0u);
  EXPECT_TRUE(it->status().ok()) << it->status();

  const std::string bytes(c->Bytes());
  auto it2 = codec()->NewIterator(bytes);
  EXPECT_FALSE(it2->Next());
  EXPECT_TRUE(it2->status().ok()) << it2->status();

  auto from = codec()->FromBytes(bytes);
  ASSERT_TRUE(from.ok()) << from.status();
  EXPECT_EQ((*from)->NumSamples(), 0);
  EXPECT_EQ((*from)->Bytes(), bytes);
  // An appender on it starts the chunk like a fresh one.
  auto app = (*from)->Appender();
  ASSERT_TRUE(app.ok()) << app.status();
  (*app)->Append(1, 2.0);
  EXPECT_EQ((*from)->Bytes(), Build(*codec(), {{1, 2.0}})->Bytes());
}

TEST_P(ChunkConformanceTest, RoundTripRandomBits) {
  std::mt19937_64 rng(1);
  for (size_t n : {1, 2, 3, 4, 5, 10, 64, 119, 120, 121, 240, 300}) {
    for (int rep = 0; rep < 3; ++rep) {
      SCOPED_TRACE(::testing::Message() << "n=" << n << " rep=" << rep);
      ExpectRoundTrip(*codec(), RandomBitsSeries(rng, n));
    }
  }
}

TEST_P(ChunkConformanceTest, RoundTripRealisticSeries) {
  std::mt19937_64 rng(2);
  for (size_t n : {1, 2, 3, 30, 120, 240, 400}) {
    SCOPED_TRACE(::testing::Message() << "n=" << n);
    ExpectRoundTrip(*codec(), CounterSeries(rng, n));
    ExpectRoundTrip(*codec(), GaugeSeries(rng, n));
    ExpectRoundTrip(*codec(), ConstantSeries(rng, n, 1.0));
    ExpectRoundTrip(*codec(), ConstantSeries(rng, n, 0.0));
    std::vector<Sample> ints = JitteredTimestamps(rng, n);
    for (Sample& s : ints) s.v = static_cast<double>(rng() % 10);
    ExpectRoundTrip(*codec(), ints);
  }
  // A counter that goes stale and comes back.
  std::vector<Sample> s = CounterSeries(rng, 120);
  for (size_t i = 40; i < 45; ++i) s[i].v = FromBits(0x7FF0000000000002);
  ExpectRoundTrip(*codec(), s);
}

TEST_P(ChunkConformanceTest, SpecialValuesByBits) {
  const std::vector<double> special = SpecialValues();
  // Every special value after every other one (and after itself).
  for (double first : special) {
    std::vector<Sample> s;
    int64_t t = kStart;
    for (double second : special) {
      s.push_back({t, first});
      s.push_back({t + 15000, second});
      t += 30000;
    }
    SCOPED_TRACE(::testing::Message() << "first=0x" << std::hex << Bits(first));
    ExpectRoundTrip(*codec(), s);
  }
  for (double v : special) {
    SCOPED_TRACE(::testing::Message() << "constant 0x" << std::hex << Bits(v));
    std::mt19937_64 rng(3);
    ExpectRoundTrip(*codec(), ConstantSeries(rng, 50, v));
  }
}

// Non-decreasing timestamps only (the contract), but including deltas that
// overflow int64 (MIN -> MAX): Prometheus's uint64 delta arithmetic wraps and
// round-trips them, so codecs must too.
TEST_P(ChunkConformanceTest, ExtremeTimestamps) {
  std::vector<std::vector<int64_t>> cases = {
      {kMinT},
      {kMaxT},
      {0},
      {-1},
      {kMinT, kMinT + 1, kMinT + 2},
      {kMaxT - 2, kMaxT - 1, kMaxT},
      {kMinT, kMaxT},
      {kMinT, 0, kMaxT},
      {kMinT, kMinT, kMaxT, kMaxT},
      {kMinT, -1, kMaxT},
      {kMinT, kMaxT, kMaxT, kMaxT},
      {-1000000, -15000, -500, -1, 0, 1, 15000},
      {0, 0, 0, 0, 0},
      {7, 7, 8, 8, 9},
      {0, int64_t{1} << 32, (int64_t{1} << 32) + 1, int64_t{1} << 40,
       (int64_t{1} << 40) + 15000, int64_t{1} << 62, kMaxT},
      // Alternating tiny and huge deltas: extreme delta-of-deltas.
      {0, 1, (int64_t{1} << 33) + 1, (int64_t{1} << 33) + 2,
       (int64_t{1} << 60) + 2, (int64_t{1} << 60) + 3},
  };
  // Delta-of-delta bucket edges at Prometheus's 14/17/20-bit limits.
  {
    constexpr int64_t kD = 1000000;
    std::vector<int64_t> ts = {0};
    for (int64_t delta :
         {kD, kD + 8192,   kD, kD - 8191,   kD, kD - 8192,   kD, kD + 8193,
          kD, kD + 65536,  kD, kD - 65536,  kD, kD + 524288, kD, kD - 524288,
          kD, kD + 524289, kD, kD - 524289, kD}) {
      ts.push_back(ts.back() + delta);
    }
    cases.push_back(ts);
  }
  for (const std::vector<int64_t>& ts : cases) {
    std::vector<Sample> s;
    for (size_t i = 0; i < ts.size(); ++i) {
      s.push_back({ts[i], static_cast<double>(i)});
    }
    SCOPED_TRACE(::testing::Message()
                 << "first=" << ts.front() << " n=" << ts.size());
    ExpectRoundTrip(*codec(), s);
  }
  // Random huge non-decreasing steps.
  std::mt19937_64 rng(4);
  for (int rep = 0; rep < 20; ++rep) {
    std::vector<Sample> s;
    int64_t t = kMinT + static_cast<int64_t>(rng() % 1000);
    for (int i = 0; i < 300; ++i) {
      s.push_back({t, static_cast<double>(i)});
      const uint64_t step = rng() >> (9 + rng() % 50);
      if (static_cast<uint64_t>(kMaxT) - static_cast<uint64_t>(t) < step) {
        break;
      }
      t += static_cast<int64_t>(step);
    }
    ExpectRoundTrip(*codec(), s);
  }
}

TEST_P(ChunkConformanceTest, SeekSemantics) {
  std::vector<Sample> s;
  for (int i = 1; i <= 10; ++i) s.push_back({i * 10, i * 1.5});
  std::unique_ptr<Chunk> c = Build(*codec(), s);
  const std::string bytes(c->Bytes());
  // Both kinds of iterator.
  auto make = [&](bool owned) {
    return owned ? c->Iterator() : codec()->NewIterator(bytes);
  };
  for (bool owned : {true, false}) {
    SCOPED_TRACE(owned ? "Chunk::Iterator" : "NewIterator");
    {
      auto it = make(owned);
      ASSERT_TRUE(it->Seek(kMinT));  // before the first
      EXPECT_EQ(it->At().t, 10);
    }
    {
      auto it = make(owned);
      ASSERT_TRUE(it->Seek(10));  // exactly the first
      EXPECT_EQ(it->At().t, 10);
      ASSERT_TRUE(it->Seek(10));  // current qualifies: stays
      EXPECT_EQ(it->At().t, 10);
      ASSERT_TRUE(it->Seek(15));  // between: the next one
      EXPECT_EQ(it->At().t, 20);
      EXPECT_EQ(Bits(it->At().v), Bits(3.0));
      ASSERT_TRUE(it->Seek(20));  // exact, current
      EXPECT_EQ(it->At().t, 20);
      ASSERT_TRUE(it->Seek(5));  // never backwards
      EXPECT_EQ(it->At().t, 20);
      ASSERT_TRUE(it->Next());
      EXPECT_EQ(it->At().t, 30);
      ASSERT_TRUE(it->Seek(70));
      EXPECT_EQ(it->At().t, 70);
      int64_t t[2];
      double v[2];
      ASSERT_EQ(it->NextBatch(t, v, 2), 2u);  // continues after the current
      EXPECT_EQ(t[0], 80);
      EXPECT_EQ(t[1], 90);
      ASSERT_TRUE(it->Seek(85));  // current (90) qualifies
      EXPECT_EQ(it->At().t, 90);
      ASSERT_TRUE(it->Seek(100));  // the last
      EXPECT_EQ(it->At().t, 100);
      EXPECT_FALSE(it->Seek(101));  // past the end
      EXPECT_FALSE(it->Seek(0));    // exhausted: stays exhausted
      EXPECT_FALSE(it->Next());
      EXPECT_EQ(it->NextBatch(t, v, 2), 0u);
      EXPECT_TRUE(it->status().ok()) << it->status();
    }
    {
      auto it = make(owned);
      EXPECT_FALSE(it->Seek(kMaxT));  // past the end at once
      EXPECT_FALSE(it->Next());
      EXPECT_FALSE(it->Seek(kMinT));
      EXPECT_TRUE(it->status().ok()) << it->status();
    }
    {
      auto it = make(owned);
      while (it->Next()) {
      }
      EXPECT_FALSE(it->Seek(kMinT));  // after exhaustion by Next
      EXPECT_FALSE(it->Seek(100));
      EXPECT_TRUE(it->status().ok()) << it->status();
    }
  }
  // Duplicate timestamps: Seek lands on the first of them.
  std::unique_ptr<Chunk> d = Build(*codec(), {{5, 1}, {9, 2}, {9, 3}, {12, 4}});
  auto it = d->Iterator();
  ASSERT_TRUE(it->Seek(9));
  EXPECT_EQ(Bits(it->At().v), Bits(2.0));
  ASSERT_TRUE(it->Seek(9));
  EXPECT_EQ(Bits(it->At().v), Bits(2.0));
  ASSERT_TRUE(it->Next());
  EXPECT_EQ(Bits(it->At().v), Bits(3.0));
}

TEST_P(ChunkConformanceTest, NextBatchEqualsNextAt) {
  std::mt19937_64 rng(5);
  for (const std::vector<Sample>& s :
       {CounterSeries(rng, 240), GaugeSeries(rng, 121),
        RandomBitsSeries(rng, 300), RandomBitsSeries(rng, 2)}) {
    std::unique_ptr<Chunk> c = Build(*codec(), s);
    for (size_t batch : {1, 2, 3, 7, 64, 119, 120, 1000}) {
      std::vector<Sample> got;
      auto it = c->Iterator();
      const absl::Status st = DrainBatched(*it, batch, &got);
      EXPECT_TRUE(st.ok()) << st;
      EXPECT_TRUE(SameSamples(got, s)) << "batch " << batch;
    }
    // Interleaved Next, NextBatch and Seek.
    auto it = c->Iterator();
    std::vector<Sample> got;
    size_t step = 0;
    std::vector<int64_t> ts(13);
    std::vector<double> vs(13);
    while (true) {
      const int kind = static_cast<int>(step++ % 3);
      if (kind == 0) {
        if (!it->Next()) break;
        got.push_back(it->At());
      } else if (kind == 1) {
        const size_t want = 1 + step % 13;
        const size_t n = it->NextBatch(ts.data(), vs.data(), want);
        for (size_t i = 0; i < n; ++i) got.push_back({ts[i], vs[i]});
        if (n < want) break;
      } else {
        // Seek to the current sample's time: must not move.
        if (got.empty()) continue;
        ASSERT_TRUE(it->Seek(got.back().t));
        EXPECT_EQ(it->At().t, got.back().t);
        EXPECT_EQ(Bits(it->At().v), Bits(got.back().v));
      }
    }
    EXPECT_TRUE(it->status().ok()) << it->status();
    EXPECT_TRUE(SameSamples(got, s)) << "interleaved";
    EXPECT_EQ(it->NextBatch(ts.data(), vs.data(), 0), 0u);
  }
}

// Chunk::Iterator yields exactly the samples present at its creation while
// more are appended (which may grow and move the chunk's buffer).
TEST_P(ChunkConformanceTest, IteratorUnaffectedByLaterAppends) {
  std::mt19937_64 rng(6);
  const std::vector<Sample> s = CounterSeries(rng, 400);
  std::unique_ptr<Chunk> c = codec()->NewChunk();
  auto app = c->Appender();
  ASSERT_TRUE(app.ok()) << app.status();

  auto it_empty = c->Iterator();
  std::vector<std::unique_ptr<SampleIterator>> its;
  std::vector<size_t> sizes;
  std::vector<std::vector<Sample>> partial;
  for (size_t i = 0; i < s.size(); ++i) {
    (*app)->Append(s[i].t, s[i].v);
    if (i % 37 == 0 || i < 3) {
      its.push_back(c->Iterator());
      sizes.push_back(i + 1);
      // Start some of them before the later appends.
      partial.emplace_back();
      if (its.size() % 2 == 0 && its.back()->Next()) {
        partial.back().push_back(its.back()->At());
      }
    }
  }
  EXPECT_FALSE(it_empty->Next());
  EXPECT_TRUE(it_empty->status().ok());
  for (size_t k = 0; k < its.size(); ++k) {
    std::vector<Sample> got = partial[k];
    const absl::Status st = Drain(*its[k], &got);
    EXPECT_TRUE(st.ok()) << st;
    EXPECT_TRUE(
        SameSamples(got, std::vector<Sample>(s.begin(), s.begin() + sizes[k])))
        << "iterator created after " << sizes[k] << " samples";
  }
  // Re-opening the appender while iterators are live is fine too.
  auto it = c->Iterator();
  ASSERT_TRUE(it->Next());
  auto app2 = c->Appender();
  ASSERT_TRUE(app2.ok()) << app2.status();
  (*app2)->Append(s.back().t + 15000, 1.0);
  std::vector<Sample> got = {it->At()};
  ASSERT_TRUE(Drain(*it, &got).ok());
  EXPECT_TRUE(SameSamples(got, s));
}

TEST_P(ChunkConformanceTest, FromBytesAppenderContinuesLikeOriginal) {
  std::mt19937_64 rng(7);
  std::vector<std::vector<Sample>> series = {
      CounterSeries(rng, 200), GaugeSeries(rng, 200),
      ConstantSeries(rng, 200, 3.0), RandomBitsSeries(rng, 200)};
  // A constant run, then changes: re-opening inside the run is special for
  // Prometheus's XOR.
  std::vector<Sample> mixed = ConstantSeries(rng, 200, 42.0);
  for (size_t i = 100; i < mixed.size(); ++i)
    mixed[i].v = static_cast<double>(i);
  series.push_back(mixed);
  for (const std::vector<Sample>& s : series) {
    for (size_t k : {0, 1, 2, 3, 10, 99, 119, 150}) {
      SCOPED_TRACE(::testing::Message() << "split at " << k);
      const std::vector<Sample> head(s.begin(), s.begin() + k);
      std::unique_ptr<Chunk> original = Build(*codec(), head);
      auto copy = codec()->FromBytes(original->Bytes());
      ASSERT_TRUE(copy.ok()) << copy.status();
      auto app_a = original->Appender();
      auto app_b = (*copy)->Appender();
      ASSERT_TRUE(app_a.ok()) << app_a.status();
      ASSERT_TRUE(app_b.ok()) << app_b.status();
      for (size_t i = k; i < s.size(); ++i) {
        (*app_a)->Append(s[i].t, s[i].v);
        (*app_b)->Append(s[i].t, s[i].v);
      }
      // A chunk from bytes behaves exactly like the chunk the bytes came from.
      EXPECT_EQ((*copy)->Bytes(), original->Bytes());
      std::vector<Sample> got;
      auto it = (*copy)->Iterator();
      ASSERT_TRUE(Drain(*it, &got).ok());
      EXPECT_TRUE(SameSamples(got, s));
    }
  }
}

// Like Prometheus's testChunk: a new appender every 10th sample.
TEST_P(ChunkConformanceTest, AppenderReopenedRepeatedly) {
  std::mt19937_64 rng(8);
  std::vector<Sample> s;
  int64_t t = 1234123324;
  double v = 1243535.123;
  for (int i = 0; i < 300; ++i) {
    t += static_cast<int64_t>(rng() % 10000) + 1;
    v += (i % 2 == 0 ? 1 : -1) * static_cast<double>(rng() % 1000000);
    s.push_back({t, v});
  }
  std::unique_ptr<Chunk> c = codec()->NewChunk();
  std::unique_ptr<ChunkAppender> app;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i % 10 == 0) {
      auto a = c->Appender();
      ASSERT_TRUE(a.ok()) << a.status();
      app = *std::move(a);
    }
    app->Append(s[i].t, s[i].v);
  }
  std::vector<Sample> got;
  auto it = c->Iterator();
  ASSERT_TRUE(Drain(*it, &got).ok());
  EXPECT_TRUE(SameSamples(got, s));
  ExpectRoundTrip(*codec(), s);
}

// Every prefix of valid bytes: an error, or a prefix of the samples; and a
// non-OK status whenever fewer samples than the chunk holds come out.
TEST_P(ChunkConformanceTest, TruncationAtEveryLength) {
  std::mt19937_64 rng(9);
  for (const std::vector<Sample>& s :
       {CounterSeries(rng, 120), RandomBitsSeries(rng, 40), GaugeSeries(rng, 3),
        ConstantSeries(rng, 1, 1.0)}) {
    std::unique_ptr<Chunk> c = Build(*codec(), s);
    const std::string bytes(c->Bytes());
    for (size_t len = 0; len < bytes.size(); ++len) {
      SCOPED_TRACE(::testing::Message()
                   << "truncated to " << len << " of " << bytes.size());
      ExactBuffer buf(bytes.substr(0, len));
      auto check = [&](SampleIterator& it) {
        std::vector<Sample> got;
        const absl::Status st = Drain(it, &got);
        ASSERT_LE(got.size(), s.size());
        EXPECT_TRUE(SameSamples(
            got, std::vector<Sample>(s.begin(), s.begin() + got.size())));
        if (got.size() < s.size()) {
          EXPECT_FALSE(st.ok()) << "lost samples without an error";
        }
      };
      check(*codec()->NewIterator(buf.view()));
      {
        auto it = codec()->NewIterator(buf.view());
        std::vector<Sample> got;
        (void)DrainBatched(*it, 16, &got);
        if (got.size() < s.size()) {
          EXPECT_FALSE(it->status().ok());
        }
      }
      auto from = codec()->FromBytes(buf.view());
      if (!from.ok()) continue;
      check(*(*from)->Iterator());
      auto app = (*from)->Appender();
      if (app.ok()) {
        (*app)->Append(kMaxT, 1.0);
        std::vector<Sample> got;
        auto it = (*from)->Iterator();
        (void)Drain(*it, &got);
      }
    }
  }
}

// Flipped bits and overwritten bytes: errors or wrong samples, never a crash,
// an out-of-bounds read (ASan) or a runaway iterator.
TEST_P(ChunkConformanceTest, RandomCorruptionNeverCrashes) {
  std::mt19937_64 rng(10);
  std::vector<std::vector<Sample>> series = {
      CounterSeries(rng, 120), GaugeSeries(rng, 60), RandomBitsSeries(rng, 30),
      ConstantSeries(rng, 2, 5.0)};
  for (const std::vector<Sample>& s : series) {
    const std::string bytes(Build(*codec(), s)->Bytes());
    for (int trial = 0; trial < 400; ++trial) {
      ExactBuffer buf(bytes);
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        const size_t at = rng() % buf.size();
        if (rng() % 2) {
          buf.data()[at] ^= static_cast<char>(1u << (rng() % 8));
        } else {
          buf.data()[at] = static_cast<char>(rng());
        }
      }
      std::vector<Sample> got;
      (void)Drain(*codec()->NewIterator(buf.view()), &got);
      auto it = codec()->NewIterator(buf.view());
      got.clear();
      (void)DrainBatched(*it, 1 + rng() % 50, &got);
      it = codec()->NewIterator(buf.view());
      for (int i = 0; i < 200 && it->Seek(static_cast<int64_t>(rng())); ++i) {
        (void)it->At();
      }
      auto from = codec()->FromBytes(buf.view());
      if (!from.ok()) {
        EXPECT_FALSE(from.status().message().empty());
        continue;
      }
      auto app = (*from)->Appender();
      if (app.ok()) {
        (*app)->Append(kMaxT, 2.0);
        (*app)->Append(kMaxT, 3.0);
      } else {
        EXPECT_FALSE(app.status().message().empty());
      }
      got.clear();
      (void)Drain(*(*from)->Iterator(), &got);
    }
  }
}

TEST_P(ChunkConformanceTest, GarbageBytesNeverCrash) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 2000; ++trial) {
    std::string junk(rng() % 80, '\0');
    for (char& ch : junk) ch = static_cast<char>(rng());
    if (trial % 3 == 0 && junk.size() >= 2) {
      junk[0] = 0;  // plausible, small counts
    }
    ExactBuffer buf(junk);
    std::vector<Sample> got;
    (void)Drain(*codec()->NewIterator(buf.view()), &got);
    auto from = codec()->FromBytes(buf.view());
    if (from.ok()) {
      got.clear();
      (void)Drain(*(*from)->Iterator(), &got);
      auto app = (*from)->Appender();
      if (app.ok()) (*app)->Append(0, 0.0);
    }
  }
}

TEST_P(ChunkConformanceTest, IndependentIterators) {
  std::mt19937_64 rng(12);
  const std::vector<Sample> s = GaugeSeries(rng, 150);
  std::unique_ptr<Chunk> c = Build(*codec(), s);
  auto a = c->Iterator();
  auto b = c->Iterator();
  std::vector<Sample> got_a, got_b;
  // Interleave: each iterator has its own position.
  while (true) {
    const bool na = a->Next();
    if (na) got_a.push_back(a->At());
    const bool nb = b->Next() && b->Next();
    if (nb) got_b.push_back(b->At());
    if (!na && !nb) break;
  }
  EXPECT_TRUE(SameSamples(got_a, s));
  EXPECT_EQ(got_b.size(), s.size() / 2);
}

}  // namespace
}  // namespace tsdb::conformance
