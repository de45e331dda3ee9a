#include "tsdb/base/go_format.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace tsdb {

void AppendGoFloat(std::string* out, double v) {
  if (std::isnan(v)) {
    *out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    *out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  // Shortest round-trip digits in scientific form, e.g. "-1.2345e+07".
  char buf[64];
  const auto res =
      std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  const char* p = buf;
  const char* end = res.ptr;
  if (*p == '-') {
    out->push_back('-');
    ++p;
  }
  std::string digits;
  while (p < end && *p != 'e') {
    if (*p != '.') digits.push_back(*p);
    ++p;
  }
  const int exp = std::atoi(std::string(p + 1, end).c_str());

  if (exp < -4 || exp >= 6) {
    out->push_back(digits[0]);
    if (digits.size() > 1) {
      out->push_back('.');
      out->append(digits, 1, std::string::npos);
    }
    out->push_back('e');
    out->push_back(exp < 0 ? '-' : '+');
    const int a = std::abs(exp);
    if (a < 10) out->push_back('0');
    *out += std::to_string(a);
    return;
  }
  if (exp < 0) {
    *out += "0.";
    out->append(static_cast<size_t>(-exp - 1), '0');
    *out += digits;
    return;
  }
  const size_t int_len = static_cast<size_t>(exp) + 1;
  if (digits.size() <= int_len) {
    *out += digits;
    out->append(int_len - digits.size(), '0');
  } else {
    out->append(digits, 0, int_len);
    out->push_back('.');
    out->append(digits, int_len, std::string::npos);
  }
}

namespace {

// Writes the fraction of v/10^prec (trailing zeros dropped, no '.' when zero)
// in front of `buf[w]` and returns v/10^prec, as Go's fmtFrac.
int FmtFrac(char* buf, int w, uint64_t v, int prec, uint64_t* rest) {
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    const uint64_t digit = v % 10;
    print = print || digit != 0;
    if (print) buf[--w] = static_cast<char>('0' + digit);
    v /= 10;
  }
  if (print) buf[--w] = '.';
  *rest = v;
  return w;
}

int FmtInt(char* buf, int w, uint64_t v) {
  if (v == 0) {
    buf[--w] = '0';
    return w;
  }
  while (v > 0) {
    buf[--w] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return w;
}

}  // namespace

std::string FormatGoDuration(int64_t nanos) {
  char buf[32];
  int w = sizeof(buf);
  uint64_t u = static_cast<uint64_t>(nanos);
  const bool neg = nanos < 0;
  if (neg) u = -u;
  if (u < 1000000000ULL) {
    if (u == 0) return "0s";
    int prec = 0;
    buf[--w] = 's';
    if (u < 1000ULL) {
      buf[--w] = 'n';
    } else if (u < 1000000ULL) {
      prec = 3;
      // "µs" in UTF-8.
      buf[--w] = static_cast<char>(0xB5);
      buf[--w] = static_cast<char>(0xC2);
    } else {
      prec = 6;
      buf[--w] = 'm';
    }
    w = FmtFrac(buf, w, u, prec, &u);
    w = FmtInt(buf, w, u);
  } else {
    buf[--w] = 's';
    w = FmtFrac(buf, w, u, 9, &u);
    w = FmtInt(buf, w, u % 60);
    u /= 60;
    if (u > 0) {
      buf[--w] = 'm';
      w = FmtInt(buf, w, u % 60);
      u /= 60;
      if (u > 0) {
        buf[--w] = 'h';
        w = FmtInt(buf, w, u);
      }
    }
  }
  if (neg) buf[--w] = '-';
  return std::string(buf + w, sizeof(buf) - w);
}

std::string FormatGoFloat(double v) {
  std::string s;
  AppendGoFloat(&s, v);
  return s;
}

}  // namespace tsdb
