//===- CommandLine.cpp - Flags of the kiln tool ---------------------------===//

#include "CommandLine.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kiln::tool {

absl::StatusOr<Arguments> Arguments::parse(const std::vector<std::string> &args,
                                           const std::set<std::string> &valueFlags,
                                           const std::set<std::string> &boolFlags) {
  Arguments out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &arg = args[i];
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      out.positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2), value;
    bool inlineValue = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inlineValue = true;
    }
    if (boolFlags.count(name)) {
      if (inlineValue)
        return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      value = "true";
    } else if (valueFlags.count(name)) {
      if (!inlineValue) {
        if (i + 1 >= args.size())
          return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
        value = args[++i];
      }
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, "; see --help for the flags this command takes"));
    }
    if (!out.values_.emplace(name, value).second)
      return absl::InvalidArgumentError(absl::StrCat("--", name, " is given twice"));
  }
  return out;
}

std::optional<std::string> Arguments::get(const std::string &flag) const {
  auto it = values_.find(flag);
  if (it == values_.end())
    return std::nullopt;
  return it->second;
}

std::string Arguments::getOr(const std::string &flag, const std::string &fallback) const {
  return get(flag).value_or(fallback);
}

absl::StatusOr<double> Arguments::getDouble(const std::string &flag, double fallback) const {
  std::optional<std::string> value = get(flag);
  if (!value)
    return fallback;
  double number;
  if (!absl::SimpleAtod(*value, &number))
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " needs a number, got '", *value, "'"));
  return number;
}

absl::StatusOr<int64_t> Arguments::getInt(const std::string &flag, int64_t fallback) const {
  std::optional<std::string> value = get(flag);
  if (!value)
    return fallback;
  int64_t number;
  if (!absl::SimpleAtoi(*value, &number))
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " needs an integer, got '", *value, "'"));
  return number;
}

} // namespace kiln::tool
