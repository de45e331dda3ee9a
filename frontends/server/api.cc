#include "frontends/server/api.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "tsdb/base/status_macros.h"
#include "tsdb/labels/labels.h"
#include "tsdb/labels/selector.h"

namespace tsdb::server {
namespace {

std::string Str(std::string_view s) { return std::string(s); }

// ---- Go's strconv.ParseFloat, syntax only (strtod does the arithmetic) ----

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHexDigit(char c) {
  return IsDigit(c) || (Lower(c) >= 'a' && Lower(c) <= 'f');
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != b[i]) return false;
  }
  return true;
}

// strconv's underscoreOK: `_` only between digits (a base prefix counts as
// a digit).
bool UnderscoreOk(std::string_view s) {
  char saw = '^';
  size_t i = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  bool hex = false;
  if (s.size() >= 2 && s[0] == '0' &&
      (Lower(s[1]) == 'b' || Lower(s[1]) == 'o' || Lower(s[1]) == 'x')) {
    i = 2;
    saw = '0';
    hex = Lower(s[1]) == 'x';
  }
  for (; i < s.size(); ++i) {
    if (IsDigit(s[i]) || (hex && IsHexDigit(s[i]))) {
      saw = '0';
      continue;
    }
    if (s[i] == '_') {
      if (saw != '0') return false;
      saw = '_';
      continue;
    }
    if (saw == '_') return false;
    saw = '!';
  }
  return saw != '_';
}

// Parses `s` as Go's ParseFloat(s, 64) would; false where Go errs
// (syntax, or overflow to infinity).
bool ParseGoFloat(std::string_view s, double* out) {
  if (s.empty()) return false;
  // Specials: [+-]inf, [+-]infinity, nan (case-insensitive; no sign on nan).
  {
    std::string_view t = s;
    double sign = 1;
    if (t[0] == '+' || t[0] == '-') {
      sign = t[0] == '-' ? -1 : 1;
      t.remove_prefix(1);
    }
    if (EqualsIgnoreCase(t, "inf") || EqualsIgnoreCase(t, "infinity")) {
      *out = sign * std::numeric_limits<double>::infinity();
      return true;
    }
    if (t.size() == s.size() && EqualsIgnoreCase(t, "nan")) {
      *out = std::numeric_limits<double>::quiet_NaN();
      return true;
    }
  }
  size_t i = 0;
  if (s[i] == '+' || s[i] == '-') ++i;
  bool hex = false;
  if (i + 2 <= s.size() && s[i] == '0' && Lower(s[i + 1]) == 'x') {
    hex = true;
    i += 2;
  }
  bool saw_dot = false, saw_digits = false, underscores = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '_') {
      underscores = true;
    } else if (c == '.') {
      if (saw_dot) return false;
      saw_dot = true;
    } else if (IsDigit(c) || (hex && IsHexDigit(c))) {
      saw_digits = true;
    } else {
      break;
    }
  }
  if (!saw_digits) return false;
  bool saw_exp = false;
  if (i < s.size() && Lower(s[i]) == (hex ? 'p' : 'e')) {
    saw_exp = true;
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    bool exp_digits = false;
    for (; i < s.size() && (IsDigit(s[i]) || s[i] == '_'); ++i) {
      if (s[i] == '_') {
        underscores = true;
      } else {
        exp_digits = true;
      }
    }
    if (!exp_digits) return false;
  }
  if (i != s.size()) return false;
  if (hex && !saw_exp) return false;  // Go: hex mantissa needs a p exponent
  if (underscores && !UnderscoreOk(s)) return false;
  std::string clean;
  clean.reserve(s.size());
  for (char c : s) {
    if (c != '_') clean.push_back(c);
  }
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(clean.c_str(), &end);
  if (end != clean.c_str() + clean.size()) return false;
  if (std::isinf(v)) return false;  // overflow: Go's ErrRange
  *out = v;
  return true;
}

int64_t ClampMs(__int128 ms) {
  if (ms > std::numeric_limits<int64_t>::max()) {
    return std::numeric_limits<int64_t>::max();
  }
  if (ms < std::numeric_limits<int64_t>::min()) {
    return std::numeric_limits<int64_t>::min();
  }
  return static_cast<int64_t>(ms);
}

// time.Unix(sec, nsec) then timestamp.FromTime: sec*1000 + nsec/1e6 after
// normalizing nsec into [0, 1e9).
int64_t UnixToMs(int64_t sec, int64_t nsec) {
  __int128 s = sec;
  if (nsec < 0 || nsec >= 1000000000) {
    s += nsec / 1000000000;
    nsec %= 1000000000;
    if (nsec < 0) {
      nsec += 1000000000;
      --s;
    }
  }
  return ClampMs(s * 1000 + nsec / 1000000);
}

// Prometheus's float branch of parseTime.
int64_t FloatSecondsToMs(double t) {
  if (std::isinf(t)) {
    return t > 0 ? std::numeric_limits<int64_t>::max()
                 : std::numeric_limits<int64_t>::min();
  }
  double sec = std::trunc(t);
  double frac = t - sec;
  frac = std::round(frac * 1000) / 1000;
  if (std::fabs(sec) >= 9.2e18) {
    return sec > 0 ? std::numeric_limits<int64_t>::max()
                   : std::numeric_limits<int64_t>::min();
  }
  return UnixToMs(static_cast<int64_t>(sec), static_cast<int64_t>(frac * 1e9));
}

// ---- RFC 3339 as Go 1.19's time.Parse(time.RFC3339Nano, s) ----

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!IsDigit(s[i])) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysIn(int month, int64_t year) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  if (month == 2 && IsLeap(year)) return 29;
  return kDays[month - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool ParseRfc3339(std::string_view s, int64_t* ms) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  size_t p = 0;
  if (!Digits(s, p, 4, &year)) return false;
  p += 4;
  if (p >= s.size() || s[p++] != '-') return false;
  if (!Digits(s, p, 2, &month)) return false;
  p += 2;
  if (p >= s.size() || s[p++] != '-') return false;
  if (!Digits(s, p, 2, &day)) return false;
  p += 2;
  if (p >= s.size() || s[p++] != 'T') return false;
  // Go's stdHour takes one or two digits.
  if (p + 1 < s.size() && IsDigit(s[p]) && IsDigit(s[p + 1])) {
    if (!Digits(s, p, 2, &hour)) return false;
    p += 2;
  } else {
    if (!Digits(s, p, 1, &hour)) return false;
    p += 1;
  }
  if (p >= s.size() || s[p++] != ':') return false;
  if (!Digits(s, p, 2, &minute)) return false;
  p += 2;
  if (p >= s.size() || s[p++] != ':') return false;
  if (!Digits(s, p, 2, &second)) return false;
  p += 2;
  int64_t nsec = 0;
  if (p + 1 < s.size() && (s[p] == '.' || s[p] == ',') && IsDigit(s[p + 1])) {
    ++p;
    int n = 0;
    while (n < 9 && p < s.size() && IsDigit(s[p])) {
      nsec = nsec * 10 + (s[p] - '0');
      ++p;
      ++n;
    }
    for (; n < 9; ++n) nsec *= 10;
  }
  int64_t offset = 0;
  if (p < s.size() && s[p] == 'Z') {
    ++p;
  } else {
    if (p + 6 > s.size() || (s[p] != '+' && s[p] != '-') || s[p + 3] != ':') {
      return false;
    }
    int oh = 0, om = 0;
    if (!Digits(s, p + 1, 2, &oh) || !Digits(s, p + 4, 2, &om)) return false;
    offset = (s[p] == '-' ? -1 : 1) * (int64_t{oh} * 3600 + om * 60);
    p += 6;
  }
  if (p != s.size()) return false;
  if (month < 1 || month > 12) return false;
  if (day < 1 || day > DaysIn(month, year)) return false;
  if (hour >= 24 || minute >= 60 || second >= 60) return false;
  const int64_t sec = DaysFromCivil(year, month, day) * 86400 +
                      int64_t{hour} * 3600 + minute * 60 + second - offset;
  *ms = UnixToMs(sec, nsec);
  return true;
}

// ---- JSON (Go's encoding/json string escaping) ----

// Decodes one UTF-8 rune at s[i] as Go's utf8.DecodeRuneInString: returns
// its length and sets *r, or returns 0 for an invalid sequence.
size_t DecodeRune(std::string_view s, size_t i, uint32_t* r) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
  const uint8_t c = b(0);
  const size_t left = s.size() - i;
  const auto cont = [&](size_t k) { return k < left && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) {
    if (!cont(1)) return 0;
    *r = (uint32_t{c} & 0x1F) << 6 | (b(1) & 0x3F);
    return 2;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(1) > 0x9F) return 0;  // surrogate
    *r = (uint32_t{c} & 0x0F) << 12 | (b(1) & 0x3F) << 6 | (b(2) & 0x3F);
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(1) > 0x8F) return 0;  // > U+10FFFF
    *r = (uint32_t{c} & 0x07) << 18 | (b(1) & 0x3F) << 12 | (b(2) & 0x3F) << 6 |
         (b(3) & 0x3F);
    return 4;
  }
  return 0;
}

constexpr char kHex[] = "0123456789abcdef";

void AppendStringArray(std::string* out, const std::vector<std::string>& v) {
  out->push_back('[');
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(out, v[i]);
  }
  out->push_back(']');
}

void AppendLabelsObject(std::string* out, const labels::Labels& lset) {
  out->push_back('{');
  bool first = true;
  for (const labels::Label& l : lset) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(out, l.name);
    out->push_back(':');
    AppendJsonString(out, l.value);
  }
  out->push_back('}');
}

// ---- Handler plumbing ----

Response NotReady() {
  return ApiErrorResponse(ApiErrorType::kUnavailable, "TSDB not ready");
}

// A query failure: a closed DB is "unavailable" (retryable), anything else
// Prometheus's errorExec (422).
Response QueryError(const absl::Status& s) {
  if (absl::IsFailedPrecondition(s) || absl::IsUnavailable(s)) {
    return ApiErrorResponse(ApiErrorType::kUnavailable, s);
  }
  return ApiErrorResponse(ApiErrorType::kExecution, s);
}

struct TimeRange {
  int64_t start;
  int64_t end;
};

absl::StatusOr<TimeRange> ParseRange(const Request& req) {
  TimeRange r;
  TSDB_ASSIGN_OR_RETURN(r.start, ParseTimeParam(req, "start", kApiMinTimeMs));
  TSDB_ASSIGN_OR_RETURN(r.end, ParseTimeParam(req, "end", kApiMaxTimeMs));
  return r;
}

// Label names or values (which = names if `value_name` is null) of the
// series matching any of `sets` (all series if none), sorted, unique.
absl::StatusOr<std::vector<std::string>> CollectStrings(
    db::Querier& q, const std::string_view* value_name,
    const std::vector<std::vector<labels::Matcher>>& sets) {
  const auto one = [&](const std::vector<labels::Matcher>& ms)
      -> absl::StatusOr<std::vector<std::string>> {
    if (value_name != nullptr) return q.LabelValues(*value_name, ms);
    return q.LabelNames(ms);
  };
  if (sets.empty()) return one({});
  std::vector<std::string> all;
  for (const std::vector<labels::Matcher>& ms : sets) {
    TSDB_ASSIGN_OR_RETURN(std::vector<std::string> v, one(ms));
    if (all.empty()) {
      all = std::move(v);
    } else {
      all.insert(all.end(), std::make_move_iterator(v.begin()),
                 std::make_move_iterator(v.end()));
    }
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

Response LabelsOrValues(db::DB* db, const std::string_view* value_name,
                        const Request& req) {
  if (db == nullptr) return NotReady();
  absl::StatusOr<TimeRange> range = ParseRange(req);
  if (!range.ok()) {
    return ApiErrorResponse(ApiErrorType::kBadData, range.status());
  }
  absl::StatusOr<std::vector<std::vector<labels::Matcher>>> sets =
      ParseMatchersParam(FormValues(req, "match[]"));
  if (!sets.ok()) {
    return ApiErrorResponse(ApiErrorType::kBadData, sets.status());
  }
  std::vector<std::string> out;
  if (range->start <= range->end) {
    absl::StatusOr<std::unique_ptr<db::Querier>> q =
        db->Querier(range->start, range->end);
    if (!q.ok()) return QueryError(q.status());
    absl::StatusOr<std::vector<std::string>> v =
        CollectStrings(**q, value_name, *sets);
    if (!v.ok()) return QueryError(v.status());
    out = std::move(*v);
  }
  std::string data;
  AppendStringArray(&data, out);
  return ApiSuccessResponse(data);
}

// ---- /status/tsdb: index.MemPostings.Stats over the head ----

struct Stat {
  std::string name;
  uint64_t value;
};

// The 10 largest by value; ties by name (Prometheus breaks ties by map
// iteration order, i.e. at random).
class TopK {
 public:
  void Push(std::string_view name, uint64_t value) {
    items_.push_back({Str(name), value});
    if (items_.size() >= 4 * kMax) Trim();
  }
  std::vector<Stat> Take() {
    Trim();
    return std::move(items_);
  }

 private:
  static constexpr size_t kMax = 10;
  void Trim() {
    const auto cmp = [](const Stat& a, const Stat& b) {
      return a.value != b.value ? a.value > b.value : a.name < b.name;
    };
    if (items_.size() > kMax) {
      std::partial_sort(items_.begin(), items_.begin() + kMax, items_.end(),
                        cmp);
      items_.resize(kMax);
    } else {
      std::sort(items_.begin(), items_.end(), cmp);
    }
  }
  std::vector<Stat> items_;
};

void AppendStats(std::string* out, std::string_view key,
                 const std::vector<Stat>& stats) {
  out->push_back(',');
  AppendJsonString(out, key);
  out->append(":[");
  for (size_t i = 0; i < stats.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append("{\"name\":");
    AppendJsonString(out, stats[i].name);
    absl::StrAppend(out, ",\"value\":", stats[i].value, "}");
  }
  out->push_back(']');
}

}  // namespace

// ---- Helpers ----

absl::StatusOr<int64_t> ParseApiTime(std::string_view s) {
  double f = 0;
  if (ParseGoFloat(s, &f) && !std::isnan(f)) return FloatSecondsToMs(f);
  int64_t ms = 0;
  if (ParseRfc3339(s, &ms)) return ms;
  if (s == kApiMinTimeFormatted) return kApiMinTimeMs;
  if (s == kApiMaxTimeFormatted) return kApiMaxTimeMs;
  return absl::InvalidArgumentError(absl::StrCat(
      "cannot parse ", labels::GoQuote(s), " to a valid timestamp"));
}

const std::string* FormValue(const Request& req, std::string_view name) {
  for (const auto& [k, v] : req.params) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::vector<std::string_view> FormValues(const Request& req,
                                         std::string_view name) {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : req.params) {
    if (k == name) out.push_back(v);
  }
  return out;
}

absl::StatusOr<int64_t> ParseTimeParam(const Request& req,
                                       std::string_view name,
                                       int64_t default_ms) {
  const std::string* v = FormValue(req, name);
  if (v == nullptr || v->empty()) return default_ms;
  absl::StatusOr<int64_t> t = ParseApiTime(*v);
  if (!t.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid parameter ", labels::GoQuote(name),
        ": Invalid time value for '", Str(name), "': ", t.status().message()));
  }
  return t;
}

std::string_view ApiErrorTypeName(ApiErrorType t) {
  switch (t) {
    case ApiErrorType::kBadData:
      return "bad_data";
    case ApiErrorType::kExecution:
      return "execution";
    case ApiErrorType::kInternal:
      return "internal";
    case ApiErrorType::kUnavailable:
      return "unavailable";
    case ApiErrorType::kNotFound:
      return "not_found";
    case ApiErrorType::kTimeout:
      return "timeout";
    case ApiErrorType::kCanceled:
      return "canceled";
  }
  return "internal";
}

int ApiErrorHttpCode(ApiErrorType t) {
  switch (t) {
    case ApiErrorType::kBadData:
      return 400;
    case ApiErrorType::kExecution:
      return 422;
    case ApiErrorType::kInternal:
      return 500;
    case ApiErrorType::kNotFound:
      return 404;
    case ApiErrorType::kUnavailable:
    case ApiErrorType::kTimeout:
    case ApiErrorType::kCanceled:
      return 503;
  }
  return 500;
}

Response ApiErrorResponse(ApiErrorType type, std::string_view message) {
  Response r;
  r.status = ApiErrorHttpCode(type);
  r.body = "{\"status\":\"error\",\"errorType\":";
  AppendJsonString(&r.body, ApiErrorTypeName(type));
  r.body.append(",\"error\":");
  AppendJsonString(&r.body, message);
  r.body.push_back('}');
  return r;
}

Response ApiErrorResponse(ApiErrorType type, const absl::Status& status) {
  const absl::string_view m = status.message();
  return ApiErrorResponse(type, std::string_view(m.data(), m.size()));
}

Response ApiSuccessResponse(std::string_view data_json) {
  Response r;
  r.body.reserve(data_json.size() + 32);
  r.body = "{\"status\":\"success\",\"data\":";
  r.body.append(data_json);
  r.body.push_back('}');
  return r;
}

Response NoContentResponse() {
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  size_t start = 0;  // first byte not yet copied
  size_t i = 0;
  const auto flush = [&](size_t upto) {
    out->append(s.data() + start, upto - start);
  };
  while (i < s.size()) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' &&
          c != '&') {
        ++i;
        continue;
      }
      flush(i);
      switch (c) {
        case '"':
          out->append("\\\"");
          break;
        case '\\':
          out->append("\\\\");
          break;
        case '\n':
          out->append("\\n");
          break;
        case '\r':
          out->append("\\r");
          break;
        case '\t':
          out->append("\\t");
          break;
        default:  // other control characters and <, >, &
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xF]);
      }
      start = ++i;
      continue;
    }
    uint32_t r = 0;
    const size_t n = DecodeRune(s, i, &r);
    if (n == 0) {
      flush(i);
      out->append("\\ufffd");
      start = ++i;
      continue;
    }
    if (r == 0x2028 || r == 0x2029) {
      flush(i);
      out->append(r == 0x2028 ? "\\u2028" : "\\u2029");
      i += n;
      start = i;
      continue;
    }
    i += n;
  }
  flush(i);
  out->push_back('"');
}

absl::StatusOr<std::vector<std::vector<labels::Matcher>>> ParseMatchersParam(
    const std::vector<std::string_view>& selectors) {
  std::vector<std::vector<labels::Matcher>> sets;
  sets.reserve(selectors.size());
  for (std::string_view s : selectors) {
    TSDB_ASSIGN_OR_RETURN(std::vector<labels::Matcher> ms,
                          labels::ParseSelector(s));
    sets.push_back(std::move(ms));
  }
  for (const std::vector<labels::Matcher>& ms : sets) {
    const bool ok =
        std::any_of(ms.begin(), ms.end(),
                    [](const labels::Matcher& m) { return !m.Matches(""); });
    if (!ok) {
      return absl::InvalidArgumentError(
          "match[] must contain at least one non-empty matcher");
    }
  }
  return sets;
}

absl::StatusOr<bool> ParseGoBool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" ||
      s == "True") {
    return true;
  }
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" ||
      s == "False") {
    return false;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "strconv.ParseBool: parsing ", labels::GoQuote(s), ": invalid syntax"));
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && (i == 0 || !IsDigit(c))) return false;
  }
  return true;
}

// ---- Handlers ----

Response HandleSeries(db::DB* db, const Request& req) {
  const std::vector<std::string_view> selectors = FormValues(req, "match[]");
  if (selectors.empty()) {
    return ApiErrorResponse(ApiErrorType::kBadData,
                            "no match[] parameter provided");
  }
  absl::StatusOr<TimeRange> range = ParseRange(req);
  if (!range.ok()) {
    return ApiErrorResponse(ApiErrorType::kBadData, range.status());
  }
  absl::StatusOr<std::vector<std::vector<labels::Matcher>>> sets =
      ParseMatchersParam(selectors);
  if (!sets.ok()) {
    return ApiErrorResponse(ApiErrorType::kBadData,
                            absl::StrCat("invalid parameter \"match[]\": ",
                                         sets.status().message()));
  }
  if (db == nullptr) return NotReady();
  // One selector (the common case): each series is written as it comes, in
  // the DB's label order. Several: collected, sorted and deduplicated.
  Response resp = ApiSuccessResponse("[");
  std::string& out = resp.body;
  out.pop_back();  // the closing '}' is appended at the end
  std::vector<labels::Labels> series;
  bool first = true;
  if (range->start <= range->end) {
    absl::StatusOr<std::unique_ptr<db::Querier>> q =
        db->Querier(range->start, range->end);
    if (!q.ok()) return QueryError(q.status());
    for (const std::vector<labels::Matcher>& ms : *sets) {
      absl::StatusOr<std::unique_ptr<querier::SeriesSet>> set =
          (*q)->Select(ms);
      if (!set.ok()) return QueryError(set.status());
      while ((*set)->Next()) {
        if (sets->size() > 1) {
          series.push_back((*set)->At().Labels());
          continue;
        }
        if (!first) out.push_back(',');
        first = false;
        AppendLabelsObject(&out, (*set)->At().Labels());
      }
      if (!(*set)->status().ok()) return QueryError((*set)->status());
    }
    if (sets->size() > 1) {
      std::sort(series.begin(), series.end());
      series.erase(std::unique(series.begin(), series.end()), series.end());
    }
  }
  for (const labels::Labels& lset : series) {
    if (!first) out.push_back(',');
    first = false;
    AppendLabelsObject(&out, lset);
  }
  out.append("]}");
  return resp;
}

Response HandleLabels(db::DB* db, const Request& req) {
  return LabelsOrValues(db, nullptr, req);
}

Response HandleLabelValues(db::DB* db, std::string_view name,
                           const Request& req) {
  if (!IsValidLabelName(name)) {
    return ApiErrorResponse(
        ApiErrorType::kBadData,
        absl::StrCat("invalid label name: ", labels::GoQuote(name)));
  }
  return LabelsOrValues(db, &name, req);
}

Response HandleStatusTsdb(db::DB* db, const Request& req) {
  (void)req;
  if (db == nullptr) return NotReady();
  const db::Stats stats = db->GetStats();
  head::Head* head = db->head();
  if (head == nullptr) return NotReady();
  // Prometheus computes these from the head's MemPostings (Stats(label));
  // the head's index reader gives the same lists.
  const head::HeadReaders readers = head->Readers(
      std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
  const IndexReader& index = *readers.index;
  absl::StatusOr<std::vector<std::string>> names = index.LabelNames();
  if (!names.ok()) {
    return ApiErrorResponse(ApiErrorType::kInternal, names.status());
  }
  TopK by_metric, value_count, memory, pairs;
  uint64_t num_label_pairs = 0;
  for (const std::string& name : *names) {
    if (name.empty()) continue;
    absl::StatusOr<std::vector<std::string>> values = index.LabelValues(name);
    if (!values.ok()) {
      return ApiErrorResponse(ApiErrorType::kInternal, values.status());
    }
    value_count.Push(name, values->size());
    num_label_pairs += values->size();
    uint64_t bytes = 0;
    for (const std::string& value : *values) {
      std::unique_ptr<postings::Postings> p = index.Postings(name, value);
      uint64_t n = 0;
      while (p->Next()) ++n;
      if (!p->status().ok()) {
        return ApiErrorResponse(ApiErrorType::kInternal, p->status());
      }
      if (name == labels::kMetricName) by_metric.Push(value, n);
      pairs.Push(absl::StrCat(name, "=", value), n);
      bytes += value.size();
    }
    memory.Push(name, bytes);
  }
  std::string data = "{\"headStats\":{";
  absl::StrAppend(&data, "\"numSeries\":", stats.head.num_series,
                  ",\"numLabelPairs\":", num_label_pairs,
                  ",\"chunkCount\":", stats.head.num_chunks,
                  ",\"minTime\":", head->MinTime(),
                  ",\"maxTime\":", head->MaxTime(), "}");
  AppendStats(&data, "seriesCountByMetricName", by_metric.Take());
  AppendStats(&data, "labelValueCountByLabelName", value_count.Take());
  AppendStats(&data, "memoryInBytesByLabelName", memory.Take());
  AppendStats(&data, "seriesCountByLabelValuePair", pairs.Take());
  data.push_back('}');
  return ApiSuccessResponse(data);
}

}  // namespace tsdb::server
