#include "tsdb/labels/selector.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace tsdb::labels {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in) {}

  absl::StatusOr<std::vector<Matcher>> Parse() {
    std::vector<Matcher> out;
    SkipSpace();
    if (AtEnd()) return Error("unexpected end of input");
    if (IsNameStart(Peek(), /*metric=*/true)) {
      std::string name = Name(/*metric=*/true);
      auto m = Matcher::Make(MatchType::kEqual, "__name__", std::move(name));
      if (!m.ok()) return m.status();
      out.push_back(*std::move(m));
      SkipSpace();
    }
    if (!AtEnd()) {
      if (Peek() != '{')
        return Error(absl::StrCat("unexpected character '",
                                  std::string(1, Peek()), "'"));
      ++pos_;
      SkipSpace();
      while (!AtEnd() && Peek() != '}') {
        if (!IsNameStart(Peek(), false)) {
          return Error("expected label name in label matchers");
        }
        std::string name = Name(false);
        SkipSpace();
        auto type = Op();
        if (!type.ok()) return type.status();
        SkipSpace();
        auto value = String();
        if (!value.ok()) return value.status();
        auto m = Matcher::Make(*type, std::move(name), *std::move(value));
        if (!m.ok()) return m.status();
        out.push_back(*std::move(m));
        SkipSpace();
        if (!AtEnd() && Peek() == ',') {
          ++pos_;
          SkipSpace();
        } else if (AtEnd() || Peek() != '}') {
          return Error("expected ',' or '}' in label matchers");
        }
      }
      if (AtEnd()) return Error("unexpected end of input in label matchers");
      ++pos_;  // '}'
      SkipSpace();
      if (!AtEnd()) return Error("unexpected input after selector");
    }
    return out;
  }

 private:
  bool AtEnd() const { return pos_ >= in_.size(); }
  char Peek() const { return in_[pos_]; }
  void SkipSpace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' ||
                        Peek() == '\r')) {
      ++pos_;
    }
  }
  static bool IsNameStart(char c, bool metric) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (metric && c == ':');
  }
  static bool IsNameChar(char c, bool metric) {
    return IsNameStart(c, metric) || (c >= '0' && c <= '9');
  }
  std::string Name(bool metric) {
    const size_t start = pos_;
    while (!AtEnd() && IsNameChar(Peek(), metric)) ++pos_;
    return std::string(in_.substr(start, pos_ - start));
  }
  absl::StatusOr<MatchType> Op() {
    auto next = [&](std::string_view op) {
      if (in_.substr(pos_, op.size()) == op) {
        pos_ += op.size();
        return true;
      }
      return false;
    };
    if (next("=~")) return MatchType::kRegexp;
    if (next("!~")) return MatchType::kNotRegexp;
    if (next("!=")) return MatchType::kNotEqual;
    if (next("=")) return MatchType::kEqual;
    return Error("expected one of =, !=, =~, !~ in label matchers");
  }
  static int HexVal(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  static void AppendUtf8(std::string* s, uint32_t r) {
    if (r < 0x80) {
      s->push_back(static_cast<char>(r));
    } else if (r < 0x800) {
      s->push_back(static_cast<char>(0xC0 | (r >> 6)));
      s->push_back(static_cast<char>(0x80 | (r & 0x3F)));
    } else if (r < 0x10000) {
      s->push_back(static_cast<char>(0xE0 | (r >> 12)));
      s->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | (r & 0x3F)));
    } else {
      s->push_back(static_cast<char>(0xF0 | (r >> 18)));
      s->push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | (r & 0x3F)));
    }
  }
  absl::StatusOr<std::string> String() {
    if (AtEnd()) return Error("expected a quoted string");
    const char q = Peek();
    if (q != '"' && q != '\'' && q != '`')
      return Error("expected a quoted string");
    ++pos_;
    std::string out;
    while (!AtEnd() && Peek() != q) {
      char c = in_[pos_++];
      if (c != '\\' || q == '`') {
        out.push_back(c);
        continue;
      }
      if (AtEnd()) break;
      c = in_[pos_++];
      switch (c) {
        case 'a':
          out.push_back('\a');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'v':
          out.push_back('\v');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '"':
          out.push_back('"');
          break;
        case '\'':
          out.push_back('\'');
          break;
        case 'x':
        case 'u':
        case 'U': {
          const int n = c == 'x' ? 2 : (c == 'u' ? 4 : 8);
          uint32_t v = 0;
          for (int i = 0; i < n; ++i) {
            if (AtEnd() || HexVal(Peek()) < 0)
              return Error("invalid escape sequence");
            v = v * 16 + static_cast<uint32_t>(HexVal(in_[pos_++]));
          }
          if (c == 'x') {
            out.push_back(static_cast<char>(v));
          } else {
            if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
              return Error("invalid Unicode code point in escape sequence");
            }
            AppendUtf8(&out, v);
          }
          break;
        }
        default:
          if (c >= '0' && c <= '7') {
            uint32_t v = static_cast<uint32_t>(c - '0');
            for (int i = 0; i < 2; ++i) {
              if (AtEnd() || Peek() < '0' || Peek() > '7')
                return Error("invalid escape sequence");
              v = v * 8 + static_cast<uint32_t>(in_[pos_++] - '0');
            }
            if (v > 255) return Error("invalid escape sequence");
            out.push_back(static_cast<char>(v));
          } else {
            return Error(absl::StrCat("unknown escape sequence '\\",
                                      std::string(1, c), "'"));
          }
      }
    }
    if (AtEnd()) return Error("unterminated quoted string");
    ++pos_;
    return out;
  }
  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("parse error at char ", pos_ + 1, ": ", std::string(what),
                     " (selector: ", std::string(in_), ")"));
  }

  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<std::vector<Matcher>> ParseSelector(std::string_view input) {
  return Parser(input).Parse();
}

}  // namespace tsdb::labels
