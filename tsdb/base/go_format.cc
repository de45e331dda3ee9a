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

std::string FormatGoFloat(double v) {
  std::string s;
  AppendGoFloat(&s, v);
  return s;
}

}  // namespace tsdb
