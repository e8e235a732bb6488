//===- SpirvInfo.cpp - What a SPIR-V module declares ----------------------===//
//
// A SPIR-V module is a 5-word header followed by instructions whose first word
// is (word count << 16) | opcode. Only OpEntryPoint and OpExecutionMode matter.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/vulkan/SpirvInfo.h"

#include "absl/strings/str_cat.h"

#include <cstring>
#include <map>

namespace kiln::vulkan {

namespace {

constexpr uint32_t kMagic = 0x07230203;
constexpr uint32_t kOpEntryPoint = 15;
constexpr uint32_t kOpExecutionMode = 16;
constexpr uint32_t kExecutionModeLocalSize = 17;

} // namespace

absl::StatusOr<std::vector<SpirvEntryPoint>> inspectSpirv(std::string_view bytes) {
  if (bytes.size() % 4 != 0 || bytes.size() < 20)
    return absl::InvalidArgumentError(
        absl::StrCat("SPIR-V of ", bytes.size(), " bytes is not a whole module of 32-bit words"));
  std::vector<uint32_t> words(bytes.size() / 4);
  for (size_t i = 0; i < words.size(); ++i)
    for (int b = 0; b < 4; ++b)
      words[i] |= uint32_t{static_cast<uint8_t>(bytes[4 * i + b])} << (8 * b);
  if (words[0] != kMagic)
    return absl::InvalidArgumentError("SPIR-V does not start with the magic 0x07230203");

  std::vector<SpirvEntryPoint> entryPoints;
  std::map<uint32_t, size_t> entryByFunction;
  for (size_t at = 5; at < words.size();) {
    uint32_t wordCount = words[at] >> 16, opcode = words[at] & 0xffff;
    if (wordCount == 0 || at + wordCount > words.size())
      return absl::InvalidArgumentError(
          absl::StrCat("SPIR-V instruction at word ", at, " runs past the end of the module"));
    if (opcode == kOpEntryPoint && wordCount >= 4) {
      SpirvEntryPoint entry;
      entry.executionModel = words[at + 1];
      // The name is a nul-terminated string packed into words from at + 3.
      const char *text = bytes.data() + 4 * (at + 3);
      size_t maxLength = (wordCount - 3) * 4;
      entry.name.assign(text, strnlen(text, maxLength));
      entryByFunction[words[at + 2]] = entryPoints.size();
      entryPoints.push_back(std::move(entry));
    } else if (opcode == kOpExecutionMode && wordCount >= 6 &&
               words[at + 2] == kExecutionModeLocalSize) {
      auto found = entryByFunction.find(words[at + 1]);
      if (found != entryByFunction.end())
        entryPoints[found->second].localSize = {words[at + 3], words[at + 4], words[at + 5]};
    }
    at += wordCount;
  }
  return entryPoints;
}

} // namespace kiln::vulkan
