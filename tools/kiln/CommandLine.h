//===- CommandLine.h - Flags of the kiln tool -------------------*- C++ -*-===//
//
// A small parser for `--name=value`, `--name value` and `--flag`, with
// messages that name the flag at fault. Every subcommand declares the flags it
// accepts, so a typo is an error, not a silently ignored option.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_KILN_COMMANDLINE_H
#define KILN_TOOLS_KILN_COMMANDLINE_H

#include "absl/status/statusor.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace kiln::tool {

/// Parsed arguments of one subcommand.
class Arguments {
public:
  /// Parses `args`. `valueFlags` take a value, `boolFlags` take none. Fails with
  /// InvalidArgument naming an unknown flag, a value flag without a value, or a
  /// flag given twice.
  static absl::StatusOr<Arguments> parse(const std::vector<std::string> &args,
                                         const std::set<std::string> &valueFlags,
                                         const std::set<std::string> &boolFlags);

  bool has(const std::string &flag) const { return values_.count(flag) != 0; }
  std::optional<std::string> get(const std::string &flag) const;
  std::string getOr(const std::string &flag, const std::string &fallback) const;
  /// The flag's value as a number; InvalidArgument naming the flag if it is not one.
  absl::StatusOr<double> getDouble(const std::string &flag, double fallback) const;
  absl::StatusOr<int64_t> getInt(const std::string &flag, int64_t fallback) const;
  const std::vector<std::string> &positional() const { return positional_; }

private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

} // namespace kiln::tool

#endif // KILN_TOOLS_KILN_COMMANDLINE_H
