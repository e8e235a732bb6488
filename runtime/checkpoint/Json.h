//===- Json.h - A small JSON parser for safetensors headers -----*- C++ -*-===//
//
// Parses untrusted JSON text into a tree. Bounded: nesting deeper than
// kMaxJsonDepth is rejected, every read is checked against the end of the
// input, and integers are kept exactly (up to 2^64 - 1) for tensor offsets.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CHECKPOINT_JSON_H
#define KILN_RUNTIME_CHECKPOINT_JSON_H

#include "absl/status/statusor.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::checkpoint::json {

inline constexpr int kMaxJsonDepth = 64;

struct Value {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  /// For numbers: true when the literal is a non-negative integer that fits in 64 bits.
  bool isUnsigned = false;
  uint64_t unsignedValue = 0;
  std::string string;
  std::vector<Value> array;
  /// Object members in document order: keys[i] names members[i]. Duplicate keys are
  /// rejected by the parser.
  std::vector<std::string> keys;
  std::vector<Value> members;
};

/// Parses `text` as one JSON value (surrounding whitespace allowed). InvalidArgument with the
/// byte offset and what was expected on malformed input.
absl::StatusOr<Value> parse(std::string_view text);

/// Writes `text` as a JSON string literal (with quotes and escapes).
std::string quote(std::string_view text);

} // namespace kiln::checkpoint::json

#endif // KILN_RUNTIME_CHECKPOINT_JSON_H
