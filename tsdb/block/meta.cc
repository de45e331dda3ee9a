#include "tsdb/block/meta.h"

#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "tsdb/base/status_macros.h"

namespace tsdb::block {
namespace {

// A JSON string as Go's encoding/json writes it (HTML-safe escaping).
std::string GoJsonString(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '<':
      case '>':
      case '&':
        out += absl::StrFormat("\\u%04x", c);
        continue;
      default:
        break;
    }
    if (c < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else if (c == 0xE2 && i + 2 < s.size() &&
               static_cast<unsigned char>(s[i + 1]) == 0x80 &&
               (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xA8) {
      // U+2028 / U+2029.
      out += absl::StrFormat(
          "\\u%04x", 0x2028 + (static_cast<unsigned char>(s[i + 2]) & 1));
      i += 2;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out += "\"";
  return out;
}

// Appends `"key": value` lines at `depth` tabs, comma-separating them.
class ObjectWriter {
 public:
  ObjectWriter(std::string* out, int depth) : out_(out), depth_(depth) {}

  void Field(std::string_view key, std::string_view raw_value) {
    *out_ += first_ ? "\n" : ",\n";
    first_ = false;
    out_->append(depth_, '\t');
    *out_ += GoJsonString(key);
    *out_ += ": ";
    out_->append(raw_value.data(), raw_value.size());
  }
  // Closes the object (the caller wrote the opening brace).
  void Close() {
    if (first_) {
      *out_ += "}";
      return;
    }
    *out_ += "\n";
    out_->append(depth_ - 1, '\t');
    *out_ += "}";
  }

 private:
  std::string* out_;
  int depth_;
  bool first_ = true;
};

std::string Array(const std::vector<std::string>& raw_items, int depth) {
  std::string out = "[";
  for (size_t i = 0; i < raw_items.size(); ++i) {
    out += i == 0 ? "\n" : ",\n";
    out.append(depth, '\t');
    out += raw_items[i];
  }
  out += "\n";
  out.append(depth - 1, '\t');
  out += "]";
  return out;
}

std::string Desc(const BlockDesc& d, int depth) {
  std::string out = "{";
  ObjectWriter w(&out, depth);
  w.Field("ulid", GoJsonString(d.ulid.ToString()));
  w.Field("minTime", absl::StrCat(d.min_time));
  w.Field("maxTime", absl::StrCat(d.max_time));
  w.Close();
  return out;
}

}  // namespace

std::string EncodeMeta(const BlockMeta& m) {
  std::string out = "{";
  ObjectWriter top(&out, 1);
  top.Field("ulid", GoJsonString(m.ulid.ToString()));
  top.Field("minTime", absl::StrCat(m.min_time));
  top.Field("maxTime", absl::StrCat(m.max_time));
  {
    std::string stats = "{";
    ObjectWriter w(&stats, 2);
    if (m.stats.num_samples)
      w.Field("numSamples", absl::StrCat(m.stats.num_samples));
    if (m.stats.num_series)
      w.Field("numSeries", absl::StrCat(m.stats.num_series));
    if (m.stats.num_chunks)
      w.Field("numChunks", absl::StrCat(m.stats.num_chunks));
    if (m.stats.num_tombstones) {
      w.Field("numTombstones", absl::StrCat(m.stats.num_tombstones));
    }
    w.Close();
    top.Field("stats", stats);
  }
  {
    const BlockMetaCompaction& c = m.compaction;
    std::string comp = "{";
    ObjectWriter w(&comp, 2);
    w.Field("level", absl::StrCat(c.level));
    if (!c.sources.empty()) {
      std::vector<std::string> items;
      for (const Ulid& u : c.sources)
        items.push_back(GoJsonString(u.ToString()));
      w.Field("sources", Array(items, 3));
    }
    if (c.deletable) w.Field("deletable", "true");
    if (!c.parents.empty()) {
      std::vector<std::string> items;
      for (const BlockDesc& d : c.parents) items.push_back(Desc(d, 4));
      w.Field("parents", Array(items, 3));
    }
    if (c.failed) w.Field("failed", "true");
    if (!c.hints.empty()) {
      std::vector<std::string> items;
      for (const std::string& h : c.hints) items.push_back(GoJsonString(h));
      w.Field("hints", Array(items, 3));
    }
    w.Close();
    top.Field("compaction", comp);
  }
  top.Field("version", absl::StrCat(m.version));
  top.Close();
  return out;
}

namespace {

using Json = nlohmann::json;

class Decoder {
 public:
  explicit Decoder(std::string_view path) : path_(path) {}

  absl::Status Error(std::string_view what) const {
    return absl::DataLossError(absl::StrCat("meta file ", std::string(path_),
                                            ": ", std::string(what)));
  }

  template <typename T>
  absl::Status Int(const Json& obj, const char* key, T* out) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return absl::OkStatus();
    if (!it->is_number_integer()) {
      return Error(absl::StrCat("field \"", key, "\" is not an integer"));
    }
    if constexpr (std::is_unsigned_v<T>) {
      if (!it->is_number_unsigned()) {
        return Error(absl::StrCat("field \"", key, "\" is negative"));
      }
      *out = it->get<uint64_t>();
    } else {
      if (it->is_number_unsigned() &&
          it->get<uint64_t>() >
              static_cast<uint64_t>(std::numeric_limits<T>::max())) {
        return Error(absl::StrCat("field \"", key, "\" overflows"));
      }
      const int64_t v = it->get<int64_t>();
      if (v < std::numeric_limits<T>::min() ||
          v > std::numeric_limits<T>::max()) {
        return Error(absl::StrCat("field \"", key, "\" overflows"));
      }
      *out = static_cast<T>(v);
    }
    return absl::OkStatus();
  }

  absl::Status Bool(const Json& obj, const char* key, bool* out) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return absl::OkStatus();
    if (!it->is_boolean()) {
      return Error(absl::StrCat("field \"", key, "\" is not a boolean"));
    }
    *out = it->get<bool>();
    return absl::OkStatus();
  }

  absl::Status UlidField(const Json& obj, const char* key, Ulid* out) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return absl::OkStatus();
    if (!it->is_string()) {
      return Error(absl::StrCat("field \"", key, "\" is not a string"));
    }
    absl::StatusOr<Ulid> u = Ulid::Parse(it->get<std::string>());
    if (!u.ok()) return Error(std::string(u.status().message()));
    *out = *u;
    return absl::OkStatus();
  }

  const Json* Object(const Json& obj, const char* key) const {
    auto it = obj.find(key);
    return it == obj.end() || it->is_null() ? nullptr : &*it;
  }

 private:
  std::string_view path_;
};

}  // namespace

absl::StatusOr<BlockMeta> DecodeMeta(std::string_view path,
                                     std::string_view data) {
  Decoder d(path);
  const Json j = Json::parse(data.begin(), data.end(), nullptr,
                             /*allow_exceptions=*/false);
  if (j.is_discarded()) return d.Error("invalid JSON");
  if (!j.is_object()) return d.Error("not a JSON object");
  BlockMeta m;
  m.version = 0;
  TSDB_RETURN_IF_ERROR(d.UlidField(j, "ulid", &m.ulid));
  TSDB_RETURN_IF_ERROR(d.Int(j, "minTime", &m.min_time));
  TSDB_RETURN_IF_ERROR(d.Int(j, "maxTime", &m.max_time));
  if (const Json* s = d.Object(j, "stats")) {
    if (!s->is_object()) return d.Error("\"stats\" is not an object");
    TSDB_RETURN_IF_ERROR(d.Int(*s, "numSamples", &m.stats.num_samples));
    TSDB_RETURN_IF_ERROR(d.Int(*s, "numSeries", &m.stats.num_series));
    TSDB_RETURN_IF_ERROR(d.Int(*s, "numChunks", &m.stats.num_chunks));
    TSDB_RETURN_IF_ERROR(d.Int(*s, "numTombstones", &m.stats.num_tombstones));
  }
  if (const Json* c = d.Object(j, "compaction")) {
    if (!c->is_object()) return d.Error("\"compaction\" is not an object");
    BlockMetaCompaction& mc = m.compaction;
    TSDB_RETURN_IF_ERROR(d.Int(*c, "level", &mc.level));
    TSDB_RETURN_IF_ERROR(d.Bool(*c, "deletable", &mc.deletable));
    TSDB_RETURN_IF_ERROR(d.Bool(*c, "failed", &mc.failed));
    if (const Json* s = d.Object(*c, "sources")) {
      if (!s->is_array()) return d.Error("\"sources\" is not an array");
      for (const Json& e : *s) {
        if (!e.is_string()) return d.Error("a source is not a string");
        absl::StatusOr<Ulid> u = Ulid::Parse(e.get<std::string>());
        if (!u.ok()) return d.Error(std::string(u.status().message()));
        mc.sources.push_back(*u);
      }
    }
    if (const Json* p = d.Object(*c, "parents")) {
      if (!p->is_array()) return d.Error("\"parents\" is not an array");
      for (const Json& e : *p) {
        if (!e.is_object()) return d.Error("a parent is not an object");
        BlockDesc bd;
        TSDB_RETURN_IF_ERROR(d.UlidField(e, "ulid", &bd.ulid));
        TSDB_RETURN_IF_ERROR(d.Int(e, "minTime", &bd.min_time));
        TSDB_RETURN_IF_ERROR(d.Int(e, "maxTime", &bd.max_time));
        mc.parents.push_back(bd);
      }
    }
    if (const Json* h = d.Object(*c, "hints")) {
      if (!h->is_array()) return d.Error("\"hints\" is not an array");
      for (const Json& e : *h) {
        if (!e.is_string()) return d.Error("a hint is not a string");
        mc.hints.push_back(e.get<std::string>());
      }
    }
  }
  TSDB_RETURN_IF_ERROR(d.Int(j, "version", &m.version));
  if (m.version != kMetaVersion1) {
    return d.Error(absl::StrCat("unexpected meta file version ", m.version));
  }
  return m;
}

absl::StatusOr<uint64_t> WriteMetaFile(io::FileSystem* fs,
                                       const std::string& dir,
                                       const BlockMeta& meta) {
  const std::string path = io::JoinPath(dir, kMetaFileName);
  const std::string tmp = path + ".tmp";
  const std::string bytes = EncodeMeta(meta);
  {
    TSDB_ASSIGN_OR_RETURN(auto f, fs->NewWritableFile(tmp));
    TSDB_RETURN_IF_ERROR(f->Append(bytes));
    TSDB_RETURN_IF_ERROR(f->Sync());
    TSDB_RETURN_IF_ERROR(f->Close());
  }
  TSDB_RETURN_IF_ERROR(fs->Rename(tmp, path));
  TSDB_RETURN_IF_ERROR(fs->SyncDir(dir));
  return bytes.size();
}

absl::StatusOr<BlockMeta> ReadMetaFile(io::FileSystem* fs,
                                       const std::string& dir, uint64_t* size) {
  const std::string path = io::JoinPath(dir, kMetaFileName);
  TSDB_ASSIGN_OR_RETURN(std::string data, fs->ReadFile(path));
  if (size != nullptr) *size = data.size();
  return DecodeMeta(path, data);
}

}  // namespace tsdb::block
