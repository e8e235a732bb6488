//===- StatsJson.h - Pieces of every runtime's stats JSON --------*- C++ -*-===//
//
// The Vulkan and CUDA sessions write their statistics (docs/guide/kiln-tool.md,
// "stats") as the same flat JSON object; these are the pieces they share.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_STATSJSON_H
#define KILN_RUNTIME_STATSJSON_H

#include "absl/status/status.h"

#include <string>
#include <vector>

namespace kiln {

/// `text` as a JSON string literal, quoted and escaped.
std::string jsonString(const std::string &text);

/// `value` as a JSON number with 9 significant digits.
std::string jsonNumber(double value);

/// The median of `values` (the mean of the two middle ones for an even count); 0 when empty.
double median(std::vector<double> values);

/// Writes `text` to `path`, replacing it; Unavailable naming the path on failure.
absl::Status writeTextFile(const std::string &path, const std::string &text);

} // namespace kiln

#endif // KILN_RUNTIME_STATSJSON_H
