#include "tsdb/index/index_writer.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tsdb/base/coding.h"
#include "tsdb/base/crc32c.h"
#include "tsdb/base/status_macros.h"

namespace tsdb::index {

absl::StatusOr<std::unique_ptr<IndexWriter>> IndexWriter::Create(
    io::FileSystem* fs, std::string path) {
  TSDB_ASSIGN_OR_RETURN(auto file, fs->NewWritableFile(path));
  std::unique_ptr<IndexWriter> w(new IndexWriter(std::move(file)));
  std::string header;
  AppendBE32(&header, kMagicIndex);
  header.push_back(static_cast<char>(kFormatV2));
  TSDB_RETURN_IF_ERROR(w->Write(header));
  return w;
}

IndexWriter::~IndexWriter() {
  if (file_ != nullptr) (void)file_->Close();
}

absl::Status IndexWriter::Write(std::string_view data) {
  TSDB_RETURN_IF_ERROR(file_->Append(data));
  pos_ += data.size();
  // Prometheus's limit: 4-byte series references times 16.
  if (pos_ > 16 * uint64_t{std::numeric_limits<uint32_t>::max()}) {
    return absl::ResourceExhaustedError(
        absl::StrCat("index ", path_, " exceeds 64 GiB"));
  }
  return absl::OkStatus();
}

absl::Status IndexWriter::Pad(uint64_t align) {
  const uint64_t rem = pos_ % align;
  if (rem == 0) return absl::OkStatus();
  return Write(std::string(align - rem, '\0'));
}

absl::Status IndexWriter::WriteFramed(std::string_view body) {
  if (body.size() > std::numeric_limits<uint32_t>::max()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "index ", path_, ": section of ", body.size(), " bytes exceeds 4 GiB"));
  }
  std::string len;
  AppendBE32(&len, static_cast<uint32_t>(body.size()));
  TSDB_RETURN_IF_ERROR(Write(len));
  TSDB_RETURN_IF_ERROR(Write(body));
  std::string crc;
  AppendBE32(&crc, crc32c::Value(body));
  return Write(crc);
}

absl::Status IndexWriter::AddSymbol(std::string_view sym) {
  if (stage_ > Stage::kSymbols) {
    return absl::FailedPreconditionError(
        absl::StrCat("index ", path_, ": symbol added after series"));
  }
  if (stage_ == Stage::kNone) {
    stage_ = Stage::kSymbols;
    toc_.symbols = pos_;
  }
  if (num_symbols_ != 0 && sym <= last_symbol_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "index ", path_, ": symbol \"", std::string(sym), "\" out of order"));
  }
  if (num_symbols_ == std::numeric_limits<uint32_t>::max()) {
    return absl::ResourceExhaustedError("too many symbols");
  }
  last_symbol_.assign(sym.data(), sym.size());
  AppendUvarintStr(&symbols_buf_, sym);
  symbol_index_.emplace(last_symbol_, num_symbols_);
  ++num_symbols_;
  return absl::OkStatus();
}

absl::Status IndexWriter::FinishSymbols() {
  if (stage_ == Stage::kNone) {
    stage_ = Stage::kSymbols;
    toc_.symbols = pos_;
  }
  // Symbol index -> string, for writing label indices in name order.
  symbol_by_index_.resize(num_symbols_);
  for (const auto& [s, i] : symbol_index_) symbol_by_index_[i] = s;
  std::string body;
  body.reserve(4 + symbols_buf_.size());
  AppendBE32(&body, num_symbols_);
  body.append(symbols_buf_);
  std::string().swap(symbols_buf_);
  TSDB_RETURN_IF_ERROR(WriteFramed(body));
  stage_ = Stage::kSeries;
  toc_.series = pos_;
  return absl::OkStatus();
}

absl::StatusOr<SeriesRef> IndexWriter::AddSeries(
    const labels::Labels& lset, const std::vector<ChunkMeta>& chunks) {
  if (stage_ == Stage::kDone) {
    return absl::FailedPreconditionError(
        absl::StrCat("index ", path_, ": writer is closed"));
  }
  if (stage_ != Stage::kSeries) TSDB_RETURN_IF_ERROR(FinishSymbols());
  if (has_series_ && labels::Labels::Compare(lset, last_series_) <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "index ", path_, ": out-of-order series added with label set ",
        lset.ToString()));
  }
  TSDB_RETURN_IF_ERROR(Pad(kSeriesAlign));
  const uint64_t id64 = pos_ / kSeriesAlign;
  if (id64 > std::numeric_limits<uint32_t>::max()) {
    return absl::ResourceExhaustedError(
        "index series reference exceeds 4 bytes");
  }
  const uint32_t id = static_cast<uint32_t>(id64);

  buf_.clear();
  AppendUvarint(&buf_, lset.size());
  for (const labels::Label& l : lset) {
    auto n = symbol_index_.find(l.name);
    auto v = symbol_index_.find(l.value);
    if (n == symbol_index_.end() || v == symbol_index_.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "index ", path_, ": symbol entry for \"",
          n == symbol_index_.end() ? l.name : l.value, "\" does not exist"));
    }
    AppendUvarint(&buf_, n->second);
    AppendUvarint(&buf_, v->second);
    postings_.push_back({n->second, v->second, id});
  }
  AppendUvarint(&buf_, chunks.size());
  if (!chunks.empty()) {
    const ChunkMeta& c = chunks[0];
    AppendVarint(&buf_, c.min_time);
    AppendUvarint(&buf_, static_cast<uint64_t>(c.max_time - c.min_time));
    AppendUvarint(&buf_, c.ref);
    int64_t t0 = c.max_time;
    int64_t ref0 = static_cast<int64_t>(c.ref);
    for (size_t i = 1; i < chunks.size(); ++i) {
      const ChunkMeta& ci = chunks[i];
      AppendUvarint(&buf_, static_cast<uint64_t>(ci.min_time - t0));
      AppendUvarint(&buf_, static_cast<uint64_t>(ci.max_time - ci.min_time));
      t0 = ci.max_time;
      AppendVarint(&buf_, static_cast<int64_t>(ci.ref) - ref0);
      ref0 = static_cast<int64_t>(ci.ref);
    }
  }
  std::string entry;
  AppendUvarint(&entry, buf_.size());
  entry.append(buf_);
  AppendBE32(&entry, crc32c::Value(buf_));
  TSDB_RETURN_IF_ERROR(Write(entry));

  last_series_ = lset;
  has_series_ = true;
  series_ids_.push_back(id);
  return SeriesRef{id};
}

absl::Status IndexWriter::WriteLabelIndicesAndPostings() {
  // Symbol indices sort like the strings, so this is (name, value, id)
  // order: the order of the postings lists and of the label index values.
  std::sort(postings_.begin(), postings_.end(),
            [](const Posting& a, const Posting& b) {
              if (a.name != b.name) return a.name < b.name;
              if (a.value != b.value) return a.value < b.value;
              return a.id < b.id;
            });

  // Label indices, one per name, with the offset table's entries.
  toc_.label_indices = pos_;
  std::string lit_body;
  uint32_t lit_count = 0;
  AppendBE32(&lit_body, 0);  // count, patched below
  for (size_t i = 0; i < postings_.size();) {
    const uint32_t name = postings_[i].name;
    std::string body;
    AppendBE32(&body, 1);
    AppendBE32(&body, 0);  // #values, patched below
    uint32_t n = 0;
    while (i < postings_.size() && postings_[i].name == name) {
      const uint32_t value = postings_[i].value;
      AppendBE32(&body, value);
      ++n;
      while (i < postings_.size() && postings_[i].name == name &&
             postings_[i].value == value) {
        ++i;
      }
    }
    PutBE32(reinterpret_cast<uint8_t*>(body.data()) + 4, n);
    TSDB_RETURN_IF_ERROR(Pad(4));
    AppendUvarint(&lit_body, 1);
    AppendUvarintStr(&lit_body, symbol_by_index_[name]);
    AppendUvarint(&lit_body, pos_);
    ++lit_count;
    TSDB_RETURN_IF_ERROR(WriteFramed(body));
  }
  PutBE32(reinterpret_cast<uint8_t*>(lit_body.data()), lit_count);

  // Postings: the all-series list first, then by (name, value).
  toc_.postings = pos_;
  std::string pt_body;
  uint32_t pt_count = 0;
  AppendBE32(&pt_body, 0);  // count, patched below
  auto write_list = [&](std::string_view name, std::string_view value,
                        const uint32_t* ids, size_t n) -> absl::Status {
    TSDB_RETURN_IF_ERROR(Pad(4));
    AppendUvarint(&pt_body, 2);
    AppendUvarintStr(&pt_body, name);
    AppendUvarintStr(&pt_body, value);
    AppendUvarint(&pt_body, pos_);
    ++pt_count;
    std::string body;
    body.reserve(4 + 4 * n);
    AppendBE32(&body, static_cast<uint32_t>(n));
    for (size_t k = 0; k < n; ++k) AppendBE32(&body, ids[k]);
    return WriteFramed(body);
  };
  TSDB_RETURN_IF_ERROR(
      write_list("", "", series_ids_.data(), series_ids_.size()));
  std::vector<uint32_t> ids;
  for (size_t i = 0; i < postings_.size();) {
    const uint32_t name = postings_[i].name;
    const uint32_t value = postings_[i].value;
    ids.clear();
    while (i < postings_.size() && postings_[i].name == name &&
           postings_[i].value == value) {
      ids.push_back(postings_[i].id);
      ++i;
    }
    TSDB_RETURN_IF_ERROR(write_list(symbol_by_index_[name],
                                    symbol_by_index_[value], ids.data(),
                                    ids.size()));
  }
  PutBE32(reinterpret_cast<uint8_t*>(pt_body.data()), pt_count);
  std::vector<Posting>().swap(postings_);

  toc_.label_indices_table = pos_;
  TSDB_RETURN_IF_ERROR(WriteFramed(lit_body));
  toc_.postings_table = pos_;
  TSDB_RETURN_IF_ERROR(WriteFramed(pt_body));

  std::string toc;
  for (uint64_t v :
       {toc_.symbols, toc_.series, toc_.label_indices, toc_.label_indices_table,
        toc_.postings, toc_.postings_table}) {
    AppendBE64(&toc, v);
  }
  AppendBE32(&toc, crc32c::Value(toc));
  return Write(toc);
}

absl::Status IndexWriter::Close() {
  if (stage_ == Stage::kDone) return absl::OkStatus();
  if (stage_ != Stage::kSeries) TSDB_RETURN_IF_ERROR(FinishSymbols());
  stage_ = Stage::kDone;
  TSDB_RETURN_IF_ERROR(WriteLabelIndicesAndPostings());
  TSDB_RETURN_IF_ERROR(file_->Sync());
  absl::Status s = file_->Close();
  file_.reset();
  return s;
}

}  // namespace tsdb::index
