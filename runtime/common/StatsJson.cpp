//===- StatsJson.cpp - Pieces of every runtime's stats JSON ---------------===//

#include "kiln/runtime/StatsJson.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace kiln {

std::string jsonString(const std::string &text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\')
      absl::StrAppend(&out, "\\", std::string(1, c));
    else if (static_cast<unsigned char>(c) < 0x20)
      absl::StrAppend(&out, absl::StrFormat("\\u%04x", static_cast<int>(c)));
    else
      out += c;
  }
  return out + "\"";
}

std::string jsonNumber(double value) { return absl::StrFormat("%.9g", value); }

double median(std::vector<double> values) {
  if (values.empty())
    return 0;
  size_t middle = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + middle, values.end());
  double upper = values[middle];
  if (values.size() % 2 == 1)
    return upper;
  return (upper + *std::max_element(values.begin(), values.begin() + middle)) / 2;
}

absl::Status writeTextFile(const std::string &path, const std::string &text) {
  std::ofstream out(path, std::ios::trunc);
  if (!out)
    return absl::UnavailableError(
        absl::StrCat("cannot open '", path, "' for writing: ", std::strerror(errno)));
  out << text;
  out.close();
  if (!out)
    return absl::UnavailableError(absl::StrCat("writing '", path, "' failed"));
  return absl::OkStatus();
}

} // namespace kiln
