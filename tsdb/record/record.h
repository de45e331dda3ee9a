// WAL record payloads in Prometheus 2.42's encoding (tsdb/record/record.go).
//
// A record is one logical WAL entry; its first byte is its RecordType. This
// file encodes and decodes the payloads; the page/fragment framing that
// carries them lives in tsdb/wal. Layouts (after the type byte):
//
//   Series (1)     repeated: BE64 ref, uvarint #labels, (ustr name, ustr
//   value)* Samples (2)    if non-empty: BE64 base_ref, BE64 base_t, then for
//   EVERY
//                  sample including the first: varint(ref - base_ref),
//                  varint(t - base_t), BE64 value bits.  (Prometheus's wal.md
//                  says uvarint and omits the first row; the code is signed
//                  varint and includes the (0,0) row.)
//   Tombstones (3) repeated: BE64 ref, varint mint, varint maxt
//   Exemplars (4)  as Samples, each row followed by a label set
//   Metadata (6)   repeated: uvarint ref, byte type, uvarint #fields,
//                  (ustr name, ustr value)* (names "UNIT", "HELP")
//   Types 5, 7, 8 are recognised by Type() but not decoded here; callers skip
//   and count them like unknown types.
//
// Decoders append to the output vector (callers reuse buffers) and return
// DataLoss on truncated or trailing bytes, so a corrupt payload never yields
// partial data silently.
//
// Thread safety: all functions are pure and safe from any thread.
#ifndef TSDB_RECORD_RECORD_H_
#define TSDB_RECORD_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "tsdb/labels/labels.h"

namespace tsdb::record {

enum class RecordType : uint8_t {
  kSeries = 1,
  kSamples = 2,
  kTombstones = 3,
  kExemplars = 4,
  kMmapMarkers = 5,
  kMetadata = 6,
  kHistogramSamples = 7,
  kFloatHistogramSamples = 8,
  kUnknown = 255,
};

// A human-readable name ("series", "samples", ..., "unknown").
const char* RecordTypeName(RecordType t);

struct RefSeries {
  uint64_t ref = 0;
  labels::Labels labels;
};

struct RefSample {
  uint64_t ref = 0;
  int64_t t = 0;
  double v = 0;
};

// One deletion interval [mint, maxt] of a series. Prometheus's Stone holds a
// list of intervals but its encoding writes one (ref, mint, maxt) row per
// interval, so the flat form is lossless.
struct Stone {
  uint64_t ref = 0;
  int64_t mint = 0;
  int64_t maxt = 0;
};

struct RefExemplar {
  uint64_t ref = 0;
  int64_t t = 0;
  double v = 0;
  labels::Labels labels;
};

struct RefMetadata {
  uint64_t ref = 0;
  uint8_t type = 0;  // 0 unknown, 1 counter, 2 gauge, 3 histogram, ...
  std::string unit;
  std::string help;
};

// The type of `rec` (its first byte) if it is one Prometheus 2.42 knows,
// kUnknown for an empty record or any other byte.
RecordType Type(std::string_view rec);

// Encoders append one complete record (type byte included) to `*dst`.
void EncodeSeries(const std::vector<RefSeries>& series, std::string* dst);
void EncodeSamples(const std::vector<RefSample>& samples, std::string* dst);
// The same record from `n` contiguous samples of any struct with `ref`, `t`
// and `v` members (head::SampleRecord), with no conversion to RefSample.
// Writes through a pointer into `*dst` grown once to the worst case (28
// bytes a sample) and then cut to size: the remote-write ingest path
// encodes 2000 samples a request, and appending byte runs to the string was
// ~2.5% of its CPU.
template <typename Sample>
void EncodeSamplesOf(const Sample* samples, size_t n, std::string* dst);
void EncodeTombstones(const std::vector<Stone>& stones, std::string* dst);
void EncodeExemplars(const std::vector<RefExemplar>& exemplars,
                     std::string* dst);
void EncodeMetadata(const std::vector<RefMetadata>& metadata, std::string* dst);

// Decoders append to `*out`. InvalidArgument if the type byte is wrong,
// DataLoss if the payload is truncated, malformed or has trailing bytes (then
// `*out` may hold part of the record; callers discard it).
[[nodiscard]] absl::Status DecodeSeries(std::string_view rec,
                                        std::vector<RefSeries>* out);
[[nodiscard]] absl::Status DecodeSamples(std::string_view rec,
                                         std::vector<RefSample>* out);
[[nodiscard]] absl::Status DecodeTombstones(std::string_view rec,
                                            std::vector<Stone>* out);
[[nodiscard]] absl::Status DecodeExemplars(std::string_view rec,
                                           std::vector<RefExemplar>* out);
[[nodiscard]] absl::Status DecodeMetadata(std::string_view rec,
                                          std::vector<RefMetadata>* out);

namespace record_internal {
inline uint8_t* PutBE64Raw(uint8_t* p, uint64_t v) {
  v = __builtin_bswap64(v);  // little-endian hosts (x86-64, arm64)
  std::memcpy(p, &v, 8);
  return p + 8;
}
inline uint8_t* PutVarintRaw(uint8_t* p, int64_t v) {
  uint64_t u = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (u >= 0x80) {
    *p++ = static_cast<uint8_t>(u) | 0x80;
    u >>= 7;
  }
  *p++ = static_cast<uint8_t>(u);
  return p;
}
}  // namespace record_internal

template <typename Sample>
void EncodeSamplesOf(const Sample* samples, size_t n, std::string* dst) {
  const size_t old = dst->size();
  // Type byte, base ref and time, then at most two 10-byte varints and the
  // 8 value bytes a sample.
  dst->resize(old + 1 + (n == 0 ? 0 : 16 + n * 28));
  uint8_t* const begin = reinterpret_cast<uint8_t*>(dst->data()) + old;
  uint8_t* p = begin;
  *p++ = static_cast<uint8_t>(RecordType::kSamples);
  if (n > 0) {
    const uint64_t base_ref = samples[0].ref;
    const uint64_t base_t = static_cast<uint64_t>(samples[0].t);
    p = record_internal::PutBE64Raw(p, base_ref);
    p = record_internal::PutBE64Raw(p, base_t);
    for (size_t i = 0; i < n; ++i) {
      const Sample& s = samples[i];
      // Go computes int64(ref) - int64(base); wrap-around is intended.
      p = record_internal::PutVarintRaw(
          p, static_cast<int64_t>(static_cast<uint64_t>(s.ref) - base_ref));
      p = record_internal::PutVarintRaw(
          p, static_cast<int64_t>(static_cast<uint64_t>(s.t) - base_t));
      uint64_t bits;
      const double v = s.v;
      std::memcpy(&bits, &v, sizeof(bits));
      p = record_internal::PutBE64Raw(p, bits);
    }
  }
  dst->resize(old + static_cast<size_t>(p - begin));
}

}  // namespace tsdb::record

#endif  // TSDB_RECORD_RECORD_H_
