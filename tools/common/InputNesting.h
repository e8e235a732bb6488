//===- InputNesting.h - Bounding the nesting depth of .mlir input -*- C++ -*-===//
//
// MLIR's parser is recursive: every nested region, attribute, type or operand
// list costs stack frames, and 100,000 nested `module {` overflow the stack
// inside the parser. Kiln's tools scan the text first and refuse input whose
// brackets nest deeper than kMaxInputNesting, with an error naming the file,
// line and column of the first bracket past the limit. The scan skips string
// literals and `//` comments, and does not read `->` as a closing bracket; it
// does not check that brackets match (the parser does), so it can only
// over-count, never let a deeper file through.
//
// Header-only so that `kiln compile`, `kiln-opt` and the .mlir fuzz target share it.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_COMMON_INPUTNESTING_H
#define KILN_TOOLS_COMMON_INPUTNESTING_H

#include "llvm/ADT/StringRef.h"

#include <cstddef>
#include <optional>
#include <string>

namespace kiln::tool {

/// The deepest nesting of `{`, `(`, `[` and `<` accepted in a .mlir file. Real models nest a
/// few tens of levels; a thousand keeps the parser's recursion well inside an 8 MiB stack.
inline constexpr int kMaxInputNesting = 1000;

/// A position in the text (1-based line and column).
struct TextPosition {
  size_t line = 1;
  size_t column = 1;
};

/// The position of the first bracket that opens nesting level `limit + 1`, or nullopt when the
/// text nests at most `limit` deep.
inline std::optional<TextPosition> findExcessiveNesting(llvm::StringRef text,
                                                        int limit = kMaxInputNesting) {
  int depth = 0;
  TextPosition position;
  bool inString = false;
  for (size_t i = 0, e = text.size(); i < e; ++i) {
    char c = text[i];
    if (c == '\n') {
      ++position.line;
      position.column = 1;
      // MLIR string literals cannot span lines; a stray quote ends at the line's end.
      inString = false;
      continue;
    }
    TextPosition here = position;
    ++position.column;
    if (inString) {
      if (c == '\\' && i + 1 < e && text[i + 1] != '\n') {
        ++i;
        ++position.column;
      } else if (c == '"') {
        inString = false;
      }
      continue;
    }
    switch (c) {
    case '"':
      inString = true;
      break;
    case '/':
      if (i + 1 < e && text[i + 1] == '/') {
        while (i + 1 < e && text[i + 1] != '\n')
          ++i;
      }
      break;
    case '{':
    case '(':
    case '[':
    case '<':
      if (++depth > limit)
        return here;
      break;
    case '>':
      if (i > 0 && text[i - 1] == '-')
        break; // `->` in a function type.
      [[fallthrough]];
    case '}':
    case ')':
    case ']':
      if (depth > 0)
        --depth;
      break;
    default:
      break;
    }
  }
  return std::nullopt;
}

/// An error message ("FILE:LINE:COL: error: ...") when `text` (read from `name`) nests deeper
/// than `limit`; an empty string otherwise.
inline std::string inputNestingError(llvm::StringRef text, llvm::StringRef name,
                                     int limit = kMaxInputNesting) {
  std::optional<TextPosition> position = findExcessiveNesting(text, limit);
  if (!position)
    return {};
  return name.str() + ":" + std::to_string(position->line) + ":" +
         std::to_string(position->column) + ": error: brackets nest more than " +
         std::to_string(limit) +
         " levels deep ({, (, [ and < counted); the input is refused before parsing, whose "
         "recursion could overflow the stack";
}

} // namespace kiln::tool

#endif // KILN_TOOLS_COMMON_INPUTNESTING_H
