#include "tsdb/record/record.h"

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tsdb/base/coding.h"

namespace tsdb::record {
namespace {

uint64_t DoubleBits(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof(b));
  return b;
}
double BitsDouble(uint64_t b) {
  double v;
  std::memcpy(&v, &b, sizeof(v));
  return v;
}

void EncodeLabels(const labels::Labels& lset, std::string* dst) {
  AppendUvarint(dst, lset.size());
  for (const labels::Label& l : lset) {
    AppendUvarintStr(dst, l.name);
    AppendUvarintStr(dst, l.value);
  }
}

labels::Labels DecodeLabels(Decbuf& d) {
  const uint64_t n = d.Uvarint();
  std::vector<labels::Label> ls;
  // Each label takes at least 2 bytes; bound the reservation by the input so
  // a corrupt count cannot allocate gigabytes.
  if (d.ok() && n <= d.Remaining() / 2) ls.reserve(n);
  for (uint64_t i = 0; i < n && d.ok(); ++i) {
    labels::Label l;
    l.name = std::string(d.UvarintStr());
    l.value = std::string(d.UvarintStr());
    ls.push_back(std::move(l));
  }
  return labels::Labels::FromUnsorted(std::move(ls));
}

absl::Status CheckType(Decbuf& d, RecordType want) {
  const uint8_t t = d.Byte();
  if (!d.ok()) return absl::DataLossError("empty record");
  if (t != static_cast<uint8_t>(want)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid record type ", t, ", want ",
                     static_cast<int>(want), " (", RecordTypeName(want), ")"));
  }
  return absl::OkStatus();
}

absl::Status Finish(const Decbuf& d, RecordType t) {
  if (!d.ok()) {
    return absl::DataLossError(absl::StrCat("decode ", RecordTypeName(t),
                                            " record: ", d.status().message()));
  }
  if (d.Remaining() > 0) {
    return absl::DataLossError(absl::StrCat("decode ", RecordTypeName(t),
                                            " record: unexpected ",
                                            d.Remaining(), " bytes left"));
  }
  return absl::OkStatus();
}

}  // namespace

const char* RecordTypeName(RecordType t) {
  switch (t) {
    case RecordType::kSeries:
      return "series";
    case RecordType::kSamples:
      return "samples";
    case RecordType::kTombstones:
      return "tombstones";
    case RecordType::kExemplars:
      return "exemplars";
    case RecordType::kMmapMarkers:
      return "mmap markers";
    case RecordType::kMetadata:
      return "metadata";
    case RecordType::kHistogramSamples:
      return "histogram samples";
    case RecordType::kFloatHistogramSamples:
      return "float histogram samples";
    case RecordType::kUnknown:
      break;
  }
  return "unknown";
}

RecordType Type(std::string_view rec) {
  if (rec.empty()) return RecordType::kUnknown;
  const uint8_t b = static_cast<uint8_t>(rec[0]);
  if (b >= 1 && b <= 8) return static_cast<RecordType>(b);
  return RecordType::kUnknown;
}

void EncodeSeries(const std::vector<RefSeries>& series, std::string* dst) {
  dst->push_back(static_cast<char>(RecordType::kSeries));
  for (const RefSeries& s : series) {
    AppendBE64(dst, s.ref);
    EncodeLabels(s.labels, dst);
  }
}

void EncodeSamples(const std::vector<RefSample>& samples, std::string* dst) {
  EncodeSamplesOf(samples.data(), samples.size(), dst);
}

void EncodeTombstones(const std::vector<Stone>& stones, std::string* dst) {
  dst->push_back(static_cast<char>(RecordType::kTombstones));
  for (const Stone& s : stones) {
    AppendBE64(dst, s.ref);
    AppendVarint(dst, s.mint);
    AppendVarint(dst, s.maxt);
  }
}

void EncodeExemplars(const std::vector<RefExemplar>& exemplars,
                     std::string* dst) {
  dst->push_back(static_cast<char>(RecordType::kExemplars));
  if (exemplars.empty()) return;
  const RefExemplar& first = exemplars[0];
  AppendBE64(dst, first.ref);
  AppendBE64(dst, static_cast<uint64_t>(first.t));
  for (const RefExemplar& e : exemplars) {
    AppendVarint(dst, static_cast<int64_t>(e.ref - first.ref));
    AppendVarint(dst, static_cast<int64_t>(static_cast<uint64_t>(e.t) -
                                           static_cast<uint64_t>(first.t)));
    AppendBE64(dst, DoubleBits(e.v));
    EncodeLabels(e.labels, dst);
  }
}

void EncodeMetadata(const std::vector<RefMetadata>& metadata,
                    std::string* dst) {
  dst->push_back(static_cast<char>(RecordType::kMetadata));
  for (const RefMetadata& m : metadata) {
    AppendUvarint(dst, m.ref);
    dst->push_back(static_cast<char>(m.type));
    AppendUvarint(dst, 2);
    AppendUvarintStr(dst, "UNIT");
    AppendUvarintStr(dst, m.unit);
    AppendUvarintStr(dst, "HELP");
    AppendUvarintStr(dst, m.help);
  }
}

absl::Status DecodeSeries(std::string_view rec, std::vector<RefSeries>* out) {
  Decbuf d(rec);
  if (absl::Status s = CheckType(d, RecordType::kSeries); !s.ok()) return s;
  while (d.ok() && d.Remaining() > 0) {
    RefSeries s;
    s.ref = d.BE64();
    s.labels = DecodeLabels(d);
    if (d.ok()) out->push_back(std::move(s));
  }
  return Finish(d, RecordType::kSeries);
}

absl::Status DecodeSamples(std::string_view rec, std::vector<RefSample>* out) {
  Decbuf d(rec);
  if (absl::Status s = CheckType(d, RecordType::kSamples); !s.ok()) return s;
  if (d.Remaining() == 0) return absl::OkStatus();
  const uint64_t base_ref = d.BE64();
  const uint64_t base_t = d.BE64();
  // Fast path: while a longest row (two 10-byte varints and 8 bytes) fits,
  // decode without bounds checks straight into `out` (sized for the most
  // rows the bytes can hold: each takes at least 10, and cut back after);
  // the checked loop below does the rest and reports any error at its
  // exact offset.
  const size_t first = out->size();
  out->resize(first + d.Remaining() / 10);
  RefSample* dst = out->data() + first;
  const uint8_t* p = d.Position();
  const uint8_t* const end = p + d.Remaining();
  while (end - p >= 2 * kMaxVarintLen64 + 8) {
    const uint8_t* const row = p;
    uint64_t u1, u2;
    if (p[0] < 0x80) {
      u1 = *p++;
    } else if (p[1] < 0x80) {
      u1 = (p[0] & 0x7fu) | (uint64_t{p[1]} << 7);
      p += 2;
    } else {
      const int n = DecodeUvarint(p, kMaxVarintLen64, &u1);
      if (n <= 0) break;
      p += n;
    }
    if (p[0] < 0x80) {
      u2 = *p++;
    } else if (p[1] < 0x80) {
      u2 = (p[0] & 0x7fu) | (uint64_t{p[1]} << 7);
      p += 2;
    } else {
      const int n = DecodeUvarint(p, kMaxVarintLen64, &u2);
      if (n <= 0) {
        p = row;
        break;
      }
      p += n;
    }
    dst->ref = base_ref + static_cast<uint64_t>(ZigZagDecode(u1));
    dst->t =
        static_cast<int64_t>(base_t + static_cast<uint64_t>(ZigZagDecode(u2)));
    dst->v = BitsDouble(GetBE64(p));
    ++dst;
    p += 8;
  }
  out->resize(static_cast<size_t>(dst - out->data()));
  d.Skip(static_cast<size_t>(p - d.Position()));
  while (d.ok() && d.Remaining() > 0) {
    const int64_t dref = d.Varint();
    const int64_t dt = d.Varint();
    const uint64_t bits = d.BE64();
    if (!d.ok()) break;
    out->push_back(RefSample{base_ref + static_cast<uint64_t>(dref),
                             static_cast<int64_t>(base_t + dt),
                             BitsDouble(bits)});
  }
  return Finish(d, RecordType::kSamples);
}

absl::Status DecodeTombstones(std::string_view rec, std::vector<Stone>* out) {
  Decbuf d(rec);
  if (absl::Status s = CheckType(d, RecordType::kTombstones); !s.ok()) {
    return s;
  }
  while (d.ok() && d.Remaining() > 0) {
    Stone s;
    s.ref = d.BE64();
    s.mint = d.Varint();
    s.maxt = d.Varint();
    if (d.ok()) out->push_back(s);
  }
  return Finish(d, RecordType::kTombstones);
}

absl::Status DecodeExemplars(std::string_view rec,
                             std::vector<RefExemplar>* out) {
  Decbuf d(rec);
  if (absl::Status s = CheckType(d, RecordType::kExemplars); !s.ok()) {
    return s;
  }
  if (d.Remaining() == 0) return absl::OkStatus();
  const uint64_t base_ref = d.BE64();
  const uint64_t base_t = d.BE64();
  while (d.ok() && d.Remaining() > 0) {
    RefExemplar e;
    const int64_t dref = d.Varint();
    const int64_t dt = d.Varint();
    const uint64_t bits = d.BE64();
    e.labels = DecodeLabels(d);
    if (!d.ok()) break;
    e.ref = base_ref + static_cast<uint64_t>(dref);
    e.t = static_cast<int64_t>(base_t + dt);
    e.v = BitsDouble(bits);
    out->push_back(std::move(e));
  }
  return Finish(d, RecordType::kExemplars);
}

absl::Status DecodeMetadata(std::string_view rec,
                            std::vector<RefMetadata>* out) {
  Decbuf d(rec);
  if (absl::Status s = CheckType(d, RecordType::kMetadata); !s.ok()) {
    return s;
  }
  while (d.ok() && d.Remaining() > 0) {
    RefMetadata m;
    m.ref = d.Uvarint();
    m.type = d.Byte();
    const uint64_t fields = d.Uvarint();
    // Unknown fields are decoded and dropped, as Prometheus does, so that
    // the next entry stays aligned.
    for (uint64_t i = 0; i < fields && d.ok(); ++i) {
      const std::string_view name = d.UvarintStr();
      const std::string_view value = d.UvarintStr();
      if (name == "UNIT") {
        m.unit = std::string(value);
      } else if (name == "HELP") {
        m.help = std::string(value);
      }
    }
    if (d.ok()) out->push_back(std::move(m));
  }
  return Finish(d, RecordType::kMetadata);
}

}  // namespace tsdb::record
