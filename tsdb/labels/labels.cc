#include "tsdb/labels/labels.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace tsdb::labels {

Labels Labels::FromPairs(
    std::initializer_list<std::pair<std::string_view, std::string_view>>
        pairs) {
  std::vector<Label> v;
  v.reserve(pairs.size());
  for (const auto& [n, val] : pairs) {
    v.push_back(Label{std::string(n), std::string(val)});
  }
  return FromUnsorted(std::move(v));
}

Labels Labels::FromUnsorted(std::vector<Label> labels) {
  labels.erase(std::remove_if(labels.begin(), labels.end(),
                              [](const Label& l) { return l.value.empty(); }),
               labels.end());
  std::stable_sort(
      labels.begin(), labels.end(),
      [](const Label& a, const Label& b) { return a.name < b.name; });
  return Labels(std::move(labels));
}

Labels Labels::FromSorted(std::vector<Label> labels) {
  return Labels(std::move(labels));
}

std::string_view Labels::Get(std::string_view name) const {
  for (const Label& l : labels_) {
    if (l.name == name) return l.value;
  }
  return {};
}

bool Labels::Has(std::string_view name) const {
  for (const Label& l : labels_) {
    if (l.name == name) return true;
  }
  return false;
}

bool Labels::IsSorted() const {
  for (size_t i = 1; i < labels_.size(); ++i) {
    if (!(labels_[i - 1].name < labels_[i].name)) return false;
  }
  return true;
}

absl::Status Labels::Validate() const {
  if (labels_.empty()) return absl::InvalidArgumentError("empty labelset");
  for (size_t i = 0; i < labels_.size(); ++i) {
    if (labels_[i].name.empty()) {
      return absl::InvalidArgumentError("empty label name");
    }
    if (i > 0) {
      if (labels_[i].name == labels_[i - 1].name) {
        return absl::InvalidArgumentError(absl::StrCat(
            "label name ", GoQuote(labels_[i].name), " is not unique"));
      }
      if (labels_[i].name < labels_[i - 1].name) {
        return absl::InvalidArgumentError(absl::StrCat(
            "labels are not sorted by name: ", GoQuote(labels_[i - 1].name),
            " before ", GoQuote(labels_[i].name)));
      }
    }
  }
  return absl::OkStatus();
}

int Labels::Compare(const Labels& a, const Labels& b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (int c = a.labels_[i].name.compare(b.labels_[i].name); c != 0) {
      return c < 0 ? -1 : 1;
    }
    if (int c = a.labels_[i].value.compare(b.labels_[i].value); c != 0) {
      return c < 0 ? -1 : 1;
    }
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

uint64_t HashBytes(const void* data, size_t n, uint64_t seed) {
  // MurmurHash64A.
  constexpr uint64_t m = 0xc6a4a7935bd1e995ULL;
  constexpr int r = 47;
  const uint8_t* p = static_cast<const uint8_t*>(data);
  uint64_t h = seed ^ (n * m);
  while (n >= 8) {
    uint64_t k;
    std::memcpy(&k, p, 8);
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t k = 0;
    for (size_t i = 0; i < n; ++i) k |= uint64_t{p[i]} << (8 * i);
    h ^= k;
    h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

uint64_t Labels::Hash() const {
  // Names and values are separated by 0xff, which never occurs in UTF-8, so
  // different sets cannot produce the same byte sequence.
  static constexpr uint8_t kSep = 0xff;
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (const Label& l : labels_) {
    h = HashBytes(l.name.data(), l.name.size(), h);
    h = HashBytes(&kSep, 1, h);
    h = HashBytes(l.value.data(), l.value.size(), h);
    h = HashBytes(&kSep, 1, h);
  }
  return h;
}

size_t Labels::ByteSize() const {
  size_t n = 0;
  for (const Label& l : labels_) n += l.name.size() + l.value.size();
  return n;
}

std::string Labels::ToString() const {
  std::string out = "{";
  for (size_t i = 0; i < labels_.size(); ++i) {
    if (i > 0) out += ", ";
    out += labels_[i].name;
    out += '=';
    out += GoQuote(labels_[i].value);
  }
  out += '}';
  return out;
}

namespace {

// Decodes one UTF-8 rune at s[i]; returns its length, or 0 if invalid (as
// Go's utf8.DecodeRuneInString: overlong forms, surrogates and values past
// U+10FFFF are invalid).
int DecodeRune(std::string_view s, size_t i, uint32_t* rune) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
  const size_t left = s.size() - i;
  const uint8_t c = b(0);
  if (c < 0x80) {
    *rune = c;
    return 1;
  }
  auto cont = [&](size_t k) { return k < left && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF && cont(1)) {
    *rune = ((c & 0x1Fu) << 6) | (b(1) & 0x3Fu);
    return 2;
  }
  if (c >= 0xE0 && c <= 0xEF && cont(1) && cont(2)) {
    const uint32_t r =
        ((c & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
    if (r < 0x800 || (r >= 0xD800 && r <= 0xDFFF)) return 0;
    *rune = r;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4 && cont(1) && cont(2) && cont(3)) {
    const uint32_t r = ((c & 0x07u) << 18) | ((b(1) & 0x3Fu) << 12) |
                       ((b(2) & 0x3Fu) << 6) | (b(3) & 0x3Fu);
    if (r < 0x10000 || r > 0x10FFFF) return 0;
    *rune = r;
    return 4;
  }
  return 0;
}

// Approximates Go's strconv.IsPrint for non-ASCII runes: C1 controls, the
// soft hyphen, format characters commonly met (BOM, bidi controls, zero-width
// marks), line/paragraph separators, private use and noncharacters are not
// printable. Go consults full Unicode tables; unassigned code points differ.
bool IsPrintNonAscii(uint32_t r) {
  if (r < 0xA0) return false;
  if (r == 0xAD) return false;
  if (r >= 0x200B && r <= 0x200F) return false;
  if (r >= 0x2028 && r <= 0x202E) return false;
  if (r >= 0x2060 && r <= 0x206F) return false;
  if (r == 0xFEFF) return false;
  if (r >= 0xE0000 && r <= 0xE007F) return false;  // tag characters
  if (r >= 0xE000 && r <= 0xF8FF) return false;
  if ((r & 0xFFFE) == 0xFFFE) return false;
  if (r >= 0xFDD0 && r <= 0xFDEF) return false;
  if (r >= 0xF0000) return false;
  return true;
}

void AppendHex(std::string* out, uint32_t v, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i)
    out->push_back(kHex[(v >> (4 * i)) & 15]);
}

}  // namespace

std::string GoQuote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    uint32_t r = 0;
    const int n = DecodeRune(s, i, &r);
    if (n == 0) {
      out += "\\x";
      AppendHex(&out, static_cast<uint8_t>(s[i]), 2);
      ++i;
      continue;
    }
    if (r < 0x80) {
      switch (r) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\a':
          out += "\\a";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\v':
          out += "\\v";
          break;
        default:
          if (r < 0x20 || r == 0x7F) {
            out += "\\x";
            AppendHex(&out, r, 2);
          } else {
            out.push_back(static_cast<char>(r));
          }
      }
    } else if (IsPrintNonAscii(r)) {
      out.append(s.substr(i, n));
    } else if (r < 0x10000) {
      out += "\\u";
      AppendHex(&out, r, 4);
    } else {
      out += "\\U";
      AppendHex(&out, r, 8);
    }
    i += n;
  }
  out.push_back('"');
  return out;
}

}  // namespace tsdb::labels
