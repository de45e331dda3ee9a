#include "frontends/cli/flags.h"

#include "absl/strings/str_cat.h"

namespace tsdb::cli {

absl::StatusOr<ParsedArgs> ParseArgs(
    const std::vector<std::string>& args,
    const std::set<std::string>& value_flags,
    const std::set<std::string>& bool_flags,
    const std::map<char, std::string>& short_names) {
  ParsedArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() >= 2 && a[0] == '-' && a[1] != '-') {
      auto it = short_names.find(a[1]);
      if (a.size() != 2 || it == short_names.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown short flag '", a, "'"));
      }
      out.values[it->second] = "true";
      continue;
    }
    if (a.rfind("--", 0) != 0) {
      out.positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::string value;
    bool has_value = false;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (bool_flags.count(name)) {
      out.values[name] = has_value ? value : "true";
    } else if (value_flags.count(name)) {
      if (!has_value) {
        if (i + 1 >= args.size()) {
          return absl::InvalidArgumentError(
              absl::StrCat("flag --", name, " needs a value"));
        }
        value = args[++i];
      }
      out.values[name] = value;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
  }
  return out;
}

}  // namespace tsdb::cli
