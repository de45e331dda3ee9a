#include "tsdb/index/index_reader.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tsdb/base/coding.h"
#include "tsdb/base/crc32c.h"
#include "tsdb/base/status_macros.h"

namespace tsdb::index {
namespace {

// Postings over a big-endian uint32 list inside the mapped file.
class BigEndianPostings final : public postings::Postings {
 public:
  BigEndianPostings(const uint8_t* p, size_t n) : p_(p), n_(n) {}

  bool Next() override {
    if (i_ + 1 >= static_cast<int64_t>(n_)) {
      i_ = static_cast<int64_t>(n_);
      return false;
    }
    ++i_;
    cur_ = GetBE32(p_ + 4 * i_);
    return true;
  }

  bool Seek(SeriesRef v) override {
    if (i_ < 0) i_ = 0;
    if (i_ >= static_cast<int64_t>(n_)) return false;
    cur_ = GetBE32(p_ + 4 * i_);
    if (cur_ >= v) return true;
    // Binary search in (i_, n_).
    int64_t lo = i_ + 1, hi = static_cast<int64_t>(n_);
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (GetBE32(p_ + 4 * mid) < v) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    i_ = lo;
    if (i_ >= static_cast<int64_t>(n_)) return false;
    cur_ = GetBE32(p_ + 4 * i_);
    return true;
  }

  SeriesRef At() const override { return cur_; }
  absl::Status status() const override { return absl::OkStatus(); }

 private:
  const uint8_t* p_;
  size_t n_;
  int64_t i_ = -1;
  SeriesRef cur_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<IndexFileReader>> IndexFileReader::Open(
    const std::string& path) {
  TSDB_ASSIGN_OR_RETURN(auto file, io::MappedFile::Open(path));
  std::unique_ptr<IndexFileReader> r(new IndexFileReader(std::move(file)));
  TSDB_RETURN_IF_ERROR(r->Init());
  return r;
}

absl::Status IndexFileReader::Corrupt(uint64_t offset,
                                      std::string_view what) const {
  return absl::DataLossError(absl::StrCat("index ", file_->path(), " offset ",
                                          offset, ": ", std::string(what)));
}

absl::StatusOr<std::string_view> IndexFileReader::Frame(
    uint64_t off, std::string_view what) const {
  const uint64_t size = file_->size();
  if (off > size || size - off < 4) {
    return Corrupt(off,
                   absl::StrCat(std::string(what),
                                ": length field past the end of the file"));
  }
  const uint64_t len = GetBE32(data_ + off);
  if (size - off - 4 < len + 4) {
    return Corrupt(off, absl::StrCat(std::string(what), ": ", len,
                                     " bytes run past the end of the file"));
  }
  const uint8_t* body = data_ + off + 4;
  const uint32_t want = GetBE32(body + len);
  if (crc32c::Value(body, len) != want) {
    return Corrupt(off, absl::StrCat(std::string(what), ": checksum mismatch"));
  }
  return std::string_view(reinterpret_cast<const char*>(body), len);
}

absl::Status IndexFileReader::Init() {
  data_ = file_->data();
  const uint64_t size = file_->size();
  if (size < kHeaderLen + kTocLen) {
    return Corrupt(
        0, absl::StrCat("file of ", size, " bytes is too short for an index"));
  }
  const uint32_t magic = GetBE32(data_);
  if (magic != kMagicIndex) {
    return Corrupt(0, absl::StrCat("invalid magic number ", absl::Hex(magic)));
  }
  version_ = data_[4];
  if (version_ != kFormatV2) {
    return Corrupt(
        4, absl::StrCat("unsupported index version ",
                        static_cast<int>(version_), " (only v2 is read)"));
  }
  const uint64_t toc_at = size - kTocLen;
  if (crc32c::Value(data_ + toc_at, kTocLen - 4) !=
      GetBE32(data_ + toc_at + kTocLen - 4)) {
    return Corrupt(toc_at, "TOC checksum mismatch");
  }
  uint64_t* fields[] = {&toc_.symbols,       &toc_.series,
                        &toc_.label_indices, &toc_.label_indices_table,
                        &toc_.postings,      &toc_.postings_table};
  for (int i = 0; i < 6; ++i) {
    *fields[i] = GetBE64(data_ + toc_at + 8 * i);
    if (*fields[i] > toc_at) {
      return Corrupt(toc_at + 8 * i, "TOC offset past the end of the file");
    }
  }

  // Symbols.
  TSDB_ASSIGN_OR_RETURN(std::string_view syms,
                        Frame(toc_.symbols, "symbol table"));
  const uint64_t syms_at = toc_.symbols + 4;
  Decbuf d(syms);
  num_symbols_ = d.BE32();
  for (uint32_t i = 0; i < num_symbols_ && d.ok(); ++i) {
    if (i % kSymbolFactor == 0) symbol_offsets_.push_back(syms_at + d.Offset());
    d.UvarintStr();
  }
  if (!d.ok()) {
    return Corrupt(syms_at + d.Offset(),
                   absl::StrCat("symbol table: ", d.status().message()));
  }
  symbols_end_ = syms_at + syms.size();

  // Postings offset table: every 32nd entry per name plus the last.
  TSDB_ASSIGN_OR_RETURN(std::string_view pt,
                        Frame(toc_.postings_table, "postings offset table"));
  const uint64_t pt_at = toc_.postings_table + 4;
  pt_end_ = pt_at + pt.size();
  Decbuf p(pt);
  uint32_t count = p.BE32();
  std::string_view last_name, last_value;
  uint64_t last_pos = 0;
  bool have_last = false;
  uint32_t value_count = 0;
  std::vector<PostingOffset>* cur = nullptr;
  while (count > 0 && p.ok() && p.Remaining() > 0) {
    const uint64_t entry_pos = pt_at + p.Offset();
    const uint64_t keys = p.Uvarint();
    const std::string_view name = p.UvarintStr();
    const std::string_view value = p.UvarintStr();
    p.Uvarint();  // postings offset
    if (!p.ok()) break;
    if (keys != 2) {
      return Corrupt(entry_pos, absl::StrCat("postings offset table: key "
                                             "count ",
                                             keys, ", want 2"));
    }
    if (cur == nullptr || name != last_name) {
      if (cur != nullptr && have_last) {
        cur->push_back({std::string(last_value), last_pos});
      }
      cur = &postings_[std::string(name)];
      value_count = 0;
      have_last = false;
    }
    if (value_count % kSymbolFactor == 0) {
      cur->push_back({std::string(value), entry_pos});
      have_last = false;
    } else {
      last_value = value;
      last_pos = entry_pos;
      have_last = true;
    }
    last_name = name;
    ++value_count;
    --count;
  }
  if (!p.ok()) {
    return Corrupt(pt_at + p.Offset(), absl::StrCat("postings offset table: ",
                                                    p.status().message()));
  }
  if (cur != nullptr && have_last) {
    cur->push_back({std::string(last_value), last_pos});
  }
  for (const auto& [name, offsets] : postings_) {
    if (name.empty()) continue;
    absl::StatusOr<uint32_t> sym = ReverseLookup(name);
    if (!sym.ok()) {
      return Corrupt(toc_.postings_table,
                     absl::StrCat("label name \"", name,
                                  "\" is missing from the symbol table"));
    }
    name_symbols_[*sym] = name;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string_view> IndexFileReader::Symbol(uint32_t i) const {
  if (i >= num_symbols_) {
    return absl::DataLossError(
        absl::StrCat("index ", file_->path(), ": symbol index ", i,
                     " out of range (", num_symbols_, " symbols)"));
  }
  const uint64_t start = symbol_offsets_[i / kSymbolFactor];
  Decbuf d(data_ + start, symbols_end_ - start);
  for (uint32_t k = i % kSymbolFactor; k > 0; --k) d.UvarintStr();
  std::string_view s = d.UvarintStr();
  if (!d.ok()) return Corrupt(start, "symbol table");  // validated at Open
  return s;
}

absl::StatusOr<uint32_t> IndexFileReader::ReverseLookup(
    std::string_view sym) const {
  // Last sampled symbol <= sym, then a linear scan of at most 32.
  size_t lo = 0, hi = symbol_offsets_.size();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    Decbuf d(data_ + symbol_offsets_[mid], symbols_end_ - symbol_offsets_[mid]);
    if (d.UvarintStr() <= sym) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo > 0) {
    const uint64_t start = symbol_offsets_[lo - 1];
    Decbuf d(data_ + start, symbols_end_ - start);
    for (uint32_t k = 0; k < kSymbolFactor; ++k) {
      const uint32_t idx = static_cast<uint32_t>((lo - 1) * kSymbolFactor + k);
      if (idx >= num_symbols_) break;
      std::string_view s = d.UvarintStr();
      if (!d.ok()) break;
      if (s == sym) return idx;
      if (s > sym) break;
    }
  }
  return absl::NotFoundError(absl::StrCat(
      "index ", file_->path(), ": unknown symbol \"", std::string(sym), "\""));
}

absl::Status IndexFileReader::ForEachSymbol(
    const std::function<bool(std::string_view)>& fn) const {
  if (num_symbols_ == 0) return absl::OkStatus();
  const uint64_t start = symbol_offsets_[0];
  Decbuf d(data_ + start, symbols_end_ - start);
  for (uint32_t i = 0; i < num_symbols_; ++i) {
    std::string_view s = d.UvarintStr();
    if (!d.ok()) return Corrupt(start + d.Offset(), "symbol table");
    if (!fn(s)) break;
  }
  return absl::OkStatus();
}

absl::Status IndexFileReader::ScanPostingsTable(
    uint64_t from,
    const std::function<bool(std::string_view, std::string_view, uint64_t)>& fn)
    const {
  Decbuf d(data_ + from, pt_end_ - from);
  while (d.Remaining() > 0) {
    d.Uvarint();
    const std::string_view name = d.UvarintStr();
    const std::string_view value = d.UvarintStr();
    const uint64_t off = d.Uvarint();
    if (!d.ok()) return Corrupt(from + d.Offset(), "postings offset table");
    if (!fn(name, value, off)) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> IndexFileReader::LabelNames() const {
  std::vector<std::string> out;
  for (const auto& [name, offsets] : postings_) {
    if (!name.empty()) out.push_back(name);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> IndexFileReader::LabelValues(
    std::string_view name) const {
  std::vector<std::string> out;
  auto it = postings_.find(name);
  if (it == postings_.end() || it->second.empty()) return out;
  TSDB_RETURN_IF_ERROR(
      ScanPostingsTable(it->second.front().entry_pos,
                        [&](std::string_view n, std::string_view v, uint64_t) {
                          if (n != name) return false;
                          out.emplace_back(v);
                          return true;
                        }));
  return out;
}

std::unique_ptr<postings::Postings> IndexFileReader::Postings(
    std::string_view name, std::string_view value) const {
  auto it = postings_.find(name);
  if (it == postings_.end()) return std::make_unique<postings::EmptyPostings>();
  const std::vector<PostingOffset>& e = it->second;
  auto after = std::upper_bound(
      e.begin(), e.end(), value,
      [](std::string_view v, const PostingOffset& o) { return v < o.value; });
  if (after == e.begin()) return std::make_unique<postings::EmptyPostings>();
  uint64_t list_at = 0;
  bool found = false;
  absl::Status s = ScanPostingsTable(
      (after - 1)->entry_pos,
      [&](std::string_view n, std::string_view v, uint64_t off) {
        if (n != name || v > value) return false;
        if (v == value) {
          list_at = off;
          found = true;
          return false;
        }
        return true;
      });
  if (!s.ok()) return std::make_unique<postings::EmptyPostings>(s);
  if (!found) return std::make_unique<postings::EmptyPostings>();
  absl::StatusOr<std::string_view> body = Frame(list_at, "postings list");
  if (!body.ok()) {
    return std::make_unique<postings::EmptyPostings>(body.status());
  }
  if (body->size() < 4) {
    return std::make_unique<postings::EmptyPostings>(
        Corrupt(list_at, "postings list shorter than its count"));
  }
  const auto* p = reinterpret_cast<const uint8_t*>(body->data());
  const uint64_t n = GetBE32(p);
  if (n * 4 != body->size() - 4) {
    return std::make_unique<postings::EmptyPostings>(Corrupt(
        list_at, absl::StrCat("postings list count ", n, " does not match its ",
                              body->size() - 4, " bytes")));
  }
  return std::make_unique<BigEndianPostings>(p + 4, n);
}

absl::Status IndexFileReader::Series(SeriesRef ref, labels::Labels* lset,
                                     std::vector<ChunkMeta>* chunks) const {
  const uint64_t off = ref * kSeriesAlign;
  if (ref >= (uint64_t{1} << 32) || off < toc_.series ||
      off >= toc_.label_indices) {
    return absl::NotFoundError(absl::StrCat(
        "index ", file_->path(), ": series ref ", ref, " out of range"));
  }
  Decbuf d(data_ + off, toc_.label_indices - off);
  const uint64_t len = d.Uvarint();
  if (!d.ok() || len + 4 > d.Remaining()) {
    return Corrupt(off, "series entry length out of bounds");
  }
  const uint8_t* body = d.Position();
  if (crc32c::Value(body, len) != GetBE32(body + len)) {
    return Corrupt(off, "series entry checksum mismatch");
  }
  Decbuf b(body, len);
  const uint64_t nl = b.Uvarint();
  if (nl > len) return Corrupt(off, "series entry: bad label count");
  std::vector<labels::Label> ls;
  ls.reserve(nl);
  for (uint64_t i = 0; i < nl && b.ok(); ++i) {
    const uint64_t n = b.Uvarint();
    const uint64_t v = b.Uvarint();
    if (!b.ok()) break;
    labels::Label l;
    auto cached = name_symbols_.find(static_cast<uint32_t>(n));
    if (n <= UINT32_MAX && cached != name_symbols_.end()) {
      l.name = cached->second;
    } else {
      absl::StatusOr<std::string_view> s =
          n > UINT32_MAX ? absl::DataLossError("") : Symbol(n);
      if (!s.ok()) return Corrupt(off, "series entry: bad label name symbol");
      l.name.assign(s->data(), s->size());
    }
    absl::StatusOr<std::string_view> s =
        v > UINT32_MAX ? absl::DataLossError("") : Symbol(v);
    if (!s.ok()) return Corrupt(off, "series entry: bad label value symbol");
    l.value.assign(s->data(), s->size());
    ls.push_back(std::move(l));
  }
  const uint64_t nc = b.Uvarint();
  if (!b.ok() || nc > len) return Corrupt(off, "series entry: bad chunk count");
  chunks->clear();
  chunks->reserve(nc);
  int64_t t0 = 0;
  uint64_t ref0 = 0;
  for (uint64_t i = 0; i < nc; ++i) {
    ChunkMeta c;
    if (i == 0) {
      c.min_time = b.Varint();
      c.max_time =
          static_cast<int64_t>(b.Uvarint() + static_cast<uint64_t>(c.min_time));
      c.ref = b.Uvarint();
    } else {
      c.min_time =
          static_cast<int64_t>(b.Uvarint() + static_cast<uint64_t>(t0));
      c.max_time =
          static_cast<int64_t>(b.Uvarint() + static_cast<uint64_t>(c.min_time));
      c.ref = ref0 + static_cast<uint64_t>(b.Varint());
    }
    t0 = c.max_time;
    ref0 = c.ref;
    chunks->push_back(c);
  }
  if (!b.ok()) {
    return Corrupt(off, absl::StrCat("series entry: ", b.status().message()));
  }
  *lset = labels::Labels::FromSorted(std::move(ls));
  return absl::OkStatus();
}

absl::Status IndexFileReader::Verify() const {
  auto skip_padding = [&](uint64_t* pos, uint64_t align,
                          uint64_t end) -> absl::Status {
    while (*pos % align != 0 && *pos < end) {
      if (data_[*pos] != 0) return Corrupt(*pos, "non-zero padding byte");
      ++*pos;
    }
    return absl::OkStatus();
  };
  if (toc_.symbols != kHeaderLen) {
    return Corrupt(file_->size() - kTocLen, "symbol table not at offset 5");
  }
  const uint64_t after_symbols = symbols_end_ + 4;
  if (toc_.series != after_symbols || toc_.series > toc_.label_indices ||
      toc_.label_indices > toc_.postings ||
      toc_.postings > toc_.label_indices_table ||
      toc_.label_indices_table >= toc_.postings_table) {
    return Corrupt(file_->size() - kTocLen, "TOC sections out of order");
  }
  // Series: each 16-byte aligned; CRCs via Series().
  uint64_t pos = toc_.series;
  labels::Labels lset;
  std::vector<ChunkMeta> chunks;
  while (pos < toc_.label_indices) {
    TSDB_RETURN_IF_ERROR(skip_padding(&pos, kSeriesAlign, toc_.label_indices));
    if (pos >= toc_.label_indices) break;
    TSDB_RETURN_IF_ERROR(Series(pos / kSeriesAlign, &lset, &chunks));
    Decbuf d(data_ + pos, toc_.label_indices - pos);
    const uint64_t len = d.Uvarint();
    pos += d.Offset() + len + 4;
  }
  if (pos != toc_.label_indices) {
    return Corrupt(toc_.label_indices, "series region overruns its end");
  }
  // Label indices and postings lists: 4-byte aligned frames.
  for (auto [start, end, what] :
       {std::make_tuple(toc_.label_indices, toc_.postings, "label index"),
        std::make_tuple(toc_.postings, toc_.label_indices_table,
                        "postings list")}) {
    pos = start;
    while (pos < end) {
      TSDB_RETURN_IF_ERROR(skip_padding(&pos, 4, end));
      if (pos >= end) break;
      TSDB_ASSIGN_OR_RETURN(std::string_view body, Frame(pos, what));
      pos += 4 + body.size() + 4;
    }
    if (pos != end) return Corrupt(end, absl::StrCat(what, " overruns"));
  }
  TSDB_ASSIGN_OR_RETURN(std::string_view lit,
                        Frame(toc_.label_indices_table, "label offset table"));
  if (toc_.label_indices_table + 8 + lit.size() != toc_.postings_table) {
    return Corrupt(toc_.label_indices_table, "label offset table size");
  }
  Decbuf d(lit);
  for (uint32_t n = d.BE32(); n > 0 && d.ok(); --n) {
    d.Uvarint();
    d.UvarintStr();
    const uint64_t off = d.Uvarint();
    if (d.ok() && (off < toc_.label_indices || off >= toc_.postings)) {
      return Corrupt(toc_.label_indices_table,
                     "label offset table entry out of range");
    }
  }
  if (!d.ok() || d.Remaining() != 0) {
    return Corrupt(toc_.label_indices_table, "label offset table");
  }
  if (pt_end_ + 4 != file_->size() - kTocLen) {
    return Corrupt(toc_.postings_table, "postings offset table size");
  }
  // Every postings table entry must point into the postings region.
  bool bad = false;
  TSDB_RETURN_IF_ERROR(ScanPostingsTable(
      toc_.postings_table + 8,
      [&](std::string_view, std::string_view, uint64_t off) {
        bad = off < toc_.postings || off >= toc_.label_indices_table;
        return !bad;
      }));
  if (bad) {
    return Corrupt(toc_.postings_table,
                   "postings offset table entry out of "
                   "range");
  }
  return absl::OkStatus();
}

}  // namespace tsdb::index
