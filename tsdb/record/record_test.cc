#include "tsdb/record/record.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tsdb/base/coding.h"

namespace tsdb::record {
namespace {

using labels::Labels;

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

TEST(RecordTest, TypeOfRecords) {
  EXPECT_EQ(Type(""), RecordType::kUnknown);
  EXPECT_EQ(Type(Bytes({1})), RecordType::kSeries);
  EXPECT_EQ(Type(Bytes({2, 0})), RecordType::kSamples);
  EXPECT_EQ(Type(Bytes({8})), RecordType::kFloatHistogramSamples);
  EXPECT_EQ(Type(Bytes({0})), RecordType::kUnknown);
  EXPECT_EQ(Type(Bytes({9})), RecordType::kUnknown);
  EXPECT_EQ(Type(Bytes({255})), RecordType::kUnknown);
}

TEST(RecordTest, SeriesByteExact) {
  std::string rec;
  EncodeSeries({{1, Labels::FromPairs({{"__name__", "up"}, {"job", "a"}})}},
               &rec);
  const std::string want = Bytes({1, 0, 0, 0, 0, 0, 0, 0, 1, 2, 8}) +
                           "__name__" + Bytes({2}) + "up" + Bytes({3}) + "job" +
                           Bytes({1}) + "a";
  EXPECT_EQ(rec, want);
  std::vector<RefSeries> got;
  ASSERT_TRUE(DecodeSeries(rec, &got).ok());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].ref, 1u);
  EXPECT_EQ(got[0].labels.ToString(), "{__name__=\"up\", job=\"a\"}");
}

TEST(RecordTest, SamplesByteExactIncludingFirstRow) {
  std::string rec;
  EncodeSamples({{5, 1000, 1.0}, {6, 1015, 2.5}, {4, 990, -0.0}}, &rec);
  const std::string want = Bytes({
      2,                                          // type
      0, 0,  0,    0,    0, 0, 0,    5,           // base ref
      0, 0,  0,    0,    0, 0, 0x03, 0xE8,        // base t = 1000
      0, 0,  0x3F, 0xF0, 0, 0, 0,    0,    0, 0,  // (0,0) row, 1.0
      2, 30, 0x40, 0x04, 0, 0, 0,    0,    0, 0,  // (+1,+15), 2.5
      1, 19, 0x80, 0,    0, 0, 0,    0,    0, 0,  // (-1,-10), -0.0
  });
  EXPECT_EQ(rec, want);
  std::vector<RefSample> got;
  ASSERT_TRUE(DecodeSamples(rec, &got).ok());
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].ref, 4u);
  EXPECT_EQ(got[2].t, 990);
  EXPECT_TRUE(std::signbit(got[2].v));
  EXPECT_EQ(got[1].v, 2.5);
}

TEST(RecordTest, EmptySamplesIsTypeByteOnly) {
  std::string rec;
  EncodeSamples({}, &rec);
  EXPECT_EQ(rec, Bytes({2}));
  std::vector<RefSample> got;
  EXPECT_TRUE(DecodeSamples(rec, &got).ok());
  EXPECT_TRUE(got.empty());
}

TEST(RecordTest, TombstonesByteExact) {
  std::string rec;
  EncodeTombstones({{3, -1, 100}}, &rec);
  EXPECT_EQ(rec, Bytes({3, 0, 0, 0, 0, 0, 0, 0, 3, 1, 0xC8, 1}));
  std::vector<Stone> got;
  ASSERT_TRUE(DecodeTombstones(rec, &got).ok());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].mint, -1);
  EXPECT_EQ(got[0].maxt, 100);
}

TEST(RecordTest, MetadataByteExactAndUnknownFieldsSkipped) {
  std::string rec;
  EncodeMetadata({{300, 1, "s", "h"}}, &rec);
  EXPECT_EQ(rec, Bytes({6, 0xAC, 2, 1, 2, 4}) + "UNIT" + Bytes({1}) + "s" +
                     Bytes({4}) + "HELP" + Bytes({1}) + "h");
  // Three fields, one unknown, then a second entry.
  const std::string three = Bytes({6, 7, 2, 3, 1}) + "X" + Bytes({1}) + "y" +
                            Bytes({4}) + "UNIT" + Bytes({0}) + Bytes({4}) +
                            "HELP" + Bytes({2}) + "hi" + Bytes({8, 0, 0});
  std::vector<RefMetadata> got;
  ASSERT_TRUE(DecodeMetadata(three, &got).ok());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].ref, 7u);
  EXPECT_EQ(got[0].help, "hi");
  EXPECT_EQ(got[1].ref, 8u);
}

TEST(RecordTest, ExemplarsRoundTrip) {
  std::string rec;
  EncodeExemplars({{10, 100, 1.5, Labels::FromPairs({{"trace_id", "ab"}})},
                   {9, 99, 2.0, Labels()}},
                  &rec);
  EXPECT_EQ(rec.substr(0, 17),
            Bytes({4, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 100}));
  std::vector<RefExemplar> got;
  ASSERT_TRUE(DecodeExemplars(rec, &got).ok());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].labels.Get("trace_id"), "ab");
  EXPECT_EQ(got[1].ref, 9u);
  EXPECT_EQ(got[1].t, 99);
}

TEST(RecordTest, DecodersRejectWrongTypeTruncationAndTrailingBytes) {
  std::string rec;
  EncodeSamples({{5, 1000, 1.0}}, &rec);
  std::vector<RefSample> got;
  EXPECT_EQ(DecodeSamples(Bytes({1}), &got).code(),
            absl::StatusCode::kInvalidArgument);
  for (size_t n = 2; n < rec.size(); ++n) {
    got.clear();
    if (n == 17) continue;  // base ref + base t and no rows: zero samples
    EXPECT_EQ(DecodeSamples(rec.substr(0, n), &got).code(),
              absl::StatusCode::kDataLoss)
        << n;
  }
  std::string series;
  EncodeSeries({{1, Labels::FromPairs({{"a", "b"}})}}, &series);
  std::vector<RefSeries> s;
  EXPECT_EQ(DecodeSeries(series + "x", &s).code(), absl::StatusCode::kDataLoss);
  for (size_t n = 1; n < series.size(); ++n) {
    s.clear();
    if (n == 1) continue;  // type byte only: an empty series record
    EXPECT_FALSE(DecodeSeries(series.substr(0, n), &s).ok()) << n;
  }
  // A huge label count must fail, not allocate.
  std::string bad =
      Bytes({1, 0, 0, 0, 0, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F});
  s.clear();
  EXPECT_FALSE(DecodeSeries(bad, &s).ok());
}

TEST(RecordTest, SamplesRoundTripExtremes) {
  std::vector<RefSample> in = {{~uint64_t{0}, INT64_MIN, NAN},
                               {0, INT64_MAX, INFINITY},
                               {1ull << 40, 0, -1e300}};
  std::string rec;
  EncodeSamples(in, &rec);
  std::vector<RefSample> got;
  ASSERT_TRUE(DecodeSamples(rec, &got).ok());
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(got[i].ref, in[i].ref);
    EXPECT_EQ(got[i].t, in[i].t);
  }
  EXPECT_TRUE(std::isnan(got[0].v));
  EXPECT_EQ(got[1].v, INFINITY);
}

// The samples encoding as Prometheus's record.go writes it, one append at a
// time (what EncodeSamples did before it wrote through a pointer).
std::string ReferenceEncodeSamples(const std::vector<RefSample>& in) {
  std::string out(1, static_cast<char>(RecordType::kSamples));
  if (in.empty()) return out;
  AppendBE64(&out, in[0].ref);
  AppendBE64(&out, static_cast<uint64_t>(in[0].t));
  for (const RefSample& s : in) {
    AppendVarint(&out, static_cast<int64_t>(s.ref - in[0].ref));
    AppendVarint(&out, static_cast<int64_t>(static_cast<uint64_t>(s.t) -
                                            static_cast<uint64_t>(in[0].t)));
    uint64_t bits;
    std::memcpy(&bits, &s.v, 8);
    AppendBE64(&out, bits);
  }
  return out;
}

// Another struct with ref/t/v members, as head::SampleRecord.
struct OtherSample {
  uint64_t ref;
  int64_t t;
  double v;
};

TEST(RecordTest, EncodeSamplesOfMatchesReferenceAndAppends) {
  // Deltas of every varint length (1..10 bytes), both signs, wrap-around.
  std::vector<RefSample> in = {{1000, 5000, 1.5}};
  for (int shift = 0; shift < 64; shift += 3) {
    const uint64_t d = uint64_t{1} << shift;
    in.push_back({1000 + d, static_cast<int64_t>(5000 - d), -2.0 * shift});
    in.push_back({1000 - d, static_cast<int64_t>(5000 + d), NAN});
  }
  in.push_back({~uint64_t{0}, INT64_MIN, INFINITY});
  in.push_back({0, INT64_MAX, -0.0});
  std::vector<OtherSample> other;
  for (const RefSample& s : in) other.push_back({s.ref, s.t, s.v});
  const std::string want = ReferenceEncodeSamples(in);
  for (size_t n = 0; n <= in.size(); ++n) {
    std::vector<RefSample> prefix(in.begin(), in.begin() + n);
    std::string got = "xyz";  // appends after what is there
    EncodeSamplesOf(other.data(), n, &got);
    ASSERT_EQ(got, "xyz" + ReferenceEncodeSamples(prefix)) << n;
    std::string via_vector;
    EncodeSamples(prefix, &via_vector);
    ASSERT_EQ(via_vector, ReferenceEncodeSamples(prefix)) << n;
  }
  std::vector<RefSample> back;
  ASSERT_TRUE(DecodeSamples(want, &back).ok());
  ASSERT_EQ(back.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(back[i].ref, in[i].ref);
    EXPECT_EQ(back[i].t, in[i].t);
  }
}

// The checked, row-by-row decoding DecodeSamples had before its unchecked
// fast path: the fast path must give the same samples, and the same error
// (message and offset) on every truncation and corruption.
absl::Status ReferenceDecodeSamples(std::string_view rec,
                                    std::vector<RefSample>* out) {
  Decbuf d(rec);
  const uint8_t t = d.Byte();
  if (!d.ok()) return absl::DataLossError("empty record");
  if (t != static_cast<uint8_t>(RecordType::kSamples)) {
    return absl::InvalidArgumentError("type");
  }
  if (d.Remaining() == 0) return absl::OkStatus();
  const uint64_t base_ref = d.BE64();
  const uint64_t base_t = d.BE64();
  while (d.ok() && d.Remaining() > 0) {
    const int64_t dref = d.Varint();
    const int64_t dt = d.Varint();
    const uint64_t bits = d.BE64();
    if (!d.ok()) break;
    double v;
    std::memcpy(&v, &bits, sizeof(v));
    out->push_back(RefSample{base_ref + static_cast<uint64_t>(dref),
                             static_cast<int64_t>(base_t + dt), v});
  }
  if (!d.ok()) {
    return absl::DataLossError(
        absl::StrCat("decode samples record: ", d.status().message()));
  }
  if (d.Remaining() > 0) {
    return absl::DataLossError(absl::StrCat(
        "decode samples record: unexpected ", d.Remaining(), " bytes left"));
  }
  return absl::OkStatus();
}

TEST(RecordTest, SamplesFastPathMatchesCheckedDecoding) {
  // Deltas of 1 to 10 varint bytes, both signs.
  std::vector<RefSample> in;
  uint64_t x = 12345;
  for (int i = 0; i < 400; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    const int shift = static_cast<int>(x >> 58);  // 0..63
    const int64_t d = static_cast<int64_t>(x >> shift) * ((x & 1) ? -1 : 1);
    in.push_back(RefSample{static_cast<uint64_t>(1000 + d % 70000 * (i % 3)),
                           1700000000000 + d, static_cast<double>(d) / 3});
  }
  std::string rec;
  EncodeSamples(in, &rec);
  std::vector<RefSample> got, want;
  ASSERT_TRUE(DecodeSamples(rec, &got).ok());
  ASSERT_TRUE(ReferenceDecodeSamples(rec, &want).ok());
  ASSERT_EQ(got.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(got[i].ref, in[i].ref) << i;
    EXPECT_EQ(got[i].t, in[i].t) << i;
    EXPECT_EQ(got[i].v, in[i].v) << i;
  }
  // Every truncation, and every byte set to 0xff (a varint that never
  // ends, or runs 10+ bytes): the same outcome as the checked decoding.
  auto same = [](const std::string& r, const std::string& what) {
    std::vector<RefSample> a, b;
    const absl::Status sa = DecodeSamples(r, &a);
    const absl::Status sb = ReferenceDecodeSamples(r, &b);
    EXPECT_EQ(sa, sb) << what;
    if (sa.ok()) {
      ASSERT_EQ(a.size(), b.size()) << what;
      for (size_t i = 0; i < a.size(); ++i) {
        ASSERT_EQ(a[i].ref, b[i].ref) << what;
        ASSERT_EQ(a[i].t, b[i].t) << what;
      }
    }
  };
  for (size_t n = 1; n < rec.size(); ++n) same(rec.substr(0, n), "cut");
  for (size_t i = 17; i < rec.size(); ++i) {
    std::string r = rec;
    r[i] = '\xff';
    same(r, absl::StrCat("0xff at ", i));
    for (size_t j = i + 1; j < std::min(r.size(), i + 11); ++j) r[j] = '\x80';
    same(r, absl::StrCat("long varint at ", i));
  }
}

}  // namespace
}  // namespace tsdb::record
