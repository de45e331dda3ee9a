#include "frontends/cli/openmetrics.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace tsdb::cli {
namespace {

bool IsNameStart(char c, bool metric) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         (metric && c == ':');
}
bool IsNameChar(char c, bool metric) {
  return IsNameStart(c, metric) || (c >= '0' && c <= '9');
}

// Go's strconv.ParseFloat(s, 64), closely enough for metric text: decimal
// and exponent forms, hex floats with a 'p' exponent, and the special
// values (case-insensitive "nan", "inf", "infinity", signed).
bool ParseGoFloat(std::string_view s, double* out) {
  if (s.empty()) return false;
  std::string lower;
  for (char c : s) {
    lower.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
  }
  std::string_view body = lower;
  const bool neg = !body.empty() && body[0] == '-';
  if (!body.empty() && (body[0] == '+' || body[0] == '-'))
    body.remove_prefix(1);
  if (body == "inf" || body == "infinity") {
    *out = neg ? -HUGE_VAL : HUGE_VAL;
    return true;
  }
  if (body == "nan") {
    if (s[0] == '+' || s[0] == '-') return false;  // Go rejects signed NaN
    // Go's math.NaN(): bits 0x7FF8000000000001 (not C's 0x7FF8...0); the
    // bits are stored in chunks, so they must match promtool's.
    const uint64_t bits = 0x7FF8000000000001ULL;
    std::memcpy(out, &bits, sizeof(bits));
    return true;
  }
  if (body.empty()) return false;
  const bool hex = body.size() > 1 && body[0] == '0' && body[1] == 'x';
  for (char c : body) {
    const bool ok = (c >= '0' && c <= '9') || c == '.' || c == 'e' ||
                    c == '+' || c == '-' ||
                    (hex && (c == 'x' || c == 'p' || (c >= 'a' && c <= 'f')));
    if (!ok) return false;
  }
  if (hex && body.find('p') == std::string_view::npos) return false;
  const std::string z(s);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(z.c_str(), &end);
  if (end != z.c_str() + z.size()) return false;
  if (errno == ERANGE && std::isinf(v)) return false;  // Go: out of range
  *out = v;
  return true;
}

class LineParser {
 public:
  LineParser(std::string_view line, uint32_t number)
      : s_(line), number_(number) {}

  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("line ", number_, ": ",
                                                   std::string(what), ": \"",
                                                   std::string(s_), "\""));
  }
  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek() const { return AtEnd() ? '\0' : s_[pos_]; }
  bool Consume(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  std::string_view Name(bool metric) {
    const size_t start = pos_;
    if (!AtEnd() && IsNameStart(s_[pos_], metric)) {
      ++pos_;
      while (!AtEnd() && IsNameChar(s_[pos_], metric)) ++pos_;
    }
    return s_.substr(start, pos_ - start);
  }
  // Up to the next space (or the end).
  std::string_view Token() {
    const size_t start = pos_;
    while (!AtEnd() && s_[pos_] != ' ') ++pos_;
    return s_.substr(start, pos_ - start);
  }
  absl::Status QuotedValue(std::string* out) {
    if (!Consume('"')) return Error("expected '\"' to start a label value");
    while (true) {
      if (AtEnd()) return Error("unterminated label value");
      const char c = s_[pos_++];
      if (c == '"') return absl::OkStatus();
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (AtEnd()) return Error("unterminated escape in a label value");
      const char e = s_[pos_++];
      if (e == 'n') {
        out->push_back('\n');
      } else if (e == '\\' || e == '"') {
        out->push_back(e);
      } else {
        return Error(absl::StrCat("invalid escape \\", std::string(1, e),
                                  " in a label value"));
      }
    }
  }
  // `{name="value",...}`; the '{' is already consumed.
  absl::Status LabelSet(std::vector<labels::Label>* out) {
    if (Consume('}')) return absl::OkStatus();
    while (true) {
      const std::string_view name = Name(/*metric=*/false);
      if (name.empty()) return Error("expected a label name");
      if (!Consume('=')) return Error("expected '=' after a label name");
      labels::Label l;
      l.name = std::string(name);
      if (absl::Status s = QuotedValue(&l.value); !s.ok()) return s;
      out->push_back(std::move(l));
      if (Consume('}')) return absl::OkStatus();
      if (!Consume(',')) return Error("expected ',' or '}' after a label");
    }
  }

 private:
  std::string_view s_;
  uint32_t number_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<OpenMetricsData> ParseOpenMetrics(std::string_view text) {
  OpenMetricsData out;
  absl::flat_hash_map<std::string, uint32_t> ids;
  bool eof = false;
  uint32_t number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++number;
    LineParser p(line, number);
    if (eof) return p.Error("unexpected data after # EOF");
    if (line.empty()) return p.Error("unexpected empty line");
    if (line[0] == '#') {
      if (line == "# EOF") {
        eof = true;
        continue;
      }
      const bool meta = line.rfind("# HELP ", 0) == 0 ||
                        line.rfind("# TYPE ", 0) == 0 ||
                        line.rfind("# UNIT ", 0) == 0;
      if (!meta) return p.Error("invalid comment (HELP, TYPE, UNIT or EOF)");
      if (line.rfind("# UNIT ", 0) == 0) {
        // Prometheus: a non-empty unit must be a "_<unit>" suffix of the
        // metric name.
        const size_t sp = line.find(' ', 7);
        const std::string_view m = line.substr(
            7, sp == std::string_view::npos ? std::string_view::npos : sp - 7);
        const std::string_view u =
            sp == std::string_view::npos ? "" : line.substr(sp + 1);
        if (!u.empty() &&
            (m.size() < u.size() + 1 || m.substr(m.size() - u.size()) != u ||
             m[m.size() - u.size() - 1] != '_')) {
          return p.Error(absl::StrCat("unit not a suffix of metric \"",
                                      std::string(m), "\""));
        }
      }
      if (line.rfind("# TYPE ", 0) == 0) {
        const size_t sp = line.find(' ', 7);
        const std::string_view type =
            sp == std::string_view::npos ? "" : line.substr(sp + 1);
        static const char* kTypes[] = {"counter",        "gauge",   "histogram",
                                       "gaugehistogram", "summary", "info",
                                       "stateset",       "unknown"};
        bool known = false;
        for (const char* t : kTypes) known = known || type == t;
        if (!known) {
          return p.Error(
              absl::StrCat("invalid metric type \"", std::string(type), "\""));
        }
      }
      continue;
    }
    const std::string_view name = p.Name(/*metric=*/true);
    if (name.empty()) return p.Error("expected a metric name");
    std::vector<labels::Label> ls;
    ls.push_back({std::string(labels::kMetricName), std::string(name)});
    if (p.Consume('{')) {
      if (absl::Status s = p.LabelSet(&ls); !s.ok()) return s;
    }
    if (!p.Consume(' ')) return p.Error("expected a space before the value");
    OpenMetricsSample smp;
    smp.line = number;
    const std::string_view value = p.Token();
    if (!ParseGoFloat(value, &smp.v)) {
      return p.Error(
          absl::StrCat("invalid value \"", std::string(value), "\""));
    }
    if (p.Consume(' ') && p.Peek() != '#') {
      const std::string_view ts = p.Token();
      double secs = 0;
      if (!ParseGoFloat(ts, &secs)) {
        return p.Error(
            absl::StrCat("invalid timestamp \"", std::string(ts), "\""));
      }
      if (std::isnan(secs) || std::isinf(secs)) {
        return p.Error(absl::StrCat("invalid timestamp ", std::string(ts)));
      }
      smp.t_ms = static_cast<int64_t>(secs * 1000);
      p.Consume(' ');
    }
    if (p.Peek() == '#') {
      // An exemplar: "# {labels} value [timestamp]"; checked, not kept.
      // Prometheus allows them on counters and histogram buckets only, by
      // name.
      auto ends = [&](std::string_view suf) {
        return name.size() >= suf.size() &&
               name.substr(name.size() - suf.size()) == suf;
      };
      if (!ends("_total") && !ends("_bucket")) {
        return p.Error(absl::StrCat("metric name ", std::string(name),
                                    " does not support exemplars"));
      }
      if (!p.Consume('#') || !p.Consume(' ') || !p.Consume('{')) {
        return p.Error("expected \"# {\" to start an exemplar");
      }
      std::vector<labels::Label> ex;
      if (absl::Status s = p.LabelSet(&ex); !s.ok()) return s;
      if (!p.Consume(' ')) return p.Error("expected an exemplar value");
      double ev = 0;
      if (!ParseGoFloat(p.Token(), &ev))
        return p.Error("invalid exemplar value");
      if (p.Consume(' ') && !ParseGoFloat(p.Token(), &ev)) {
        return p.Error("invalid exemplar timestamp");
      }
    }
    if (!p.AtEnd()) return p.Error("unexpected text after the sample");
    labels::Labels lset = labels::Labels::FromUnsorted(std::move(ls));
    std::string key = lset.ToString();
    auto [it, inserted] = ids.try_emplace(
        std::move(key), static_cast<uint32_t>(out.series.size()));
    if (inserted) out.series.push_back(std::move(lset));
    smp.series = it->second;
    out.samples.push_back(smp);
  }
  if (!eof) {
    return absl::InvalidArgumentError("data does not end with # EOF");
  }
  return out;
}

}  // namespace tsdb::cli
