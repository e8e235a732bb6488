//===- SpirvModule.cpp - Validating a kernel's SPIR-V before a driver sees it ===//
//
// validateSpirv is SPIRV-Tools' validator; spirvStorageBuffers is a small
// reader over the validated words: decorations, names, the scalar, vector,
// array and struct types that make up a storage block, integer constants (for
// array lengths) and the variables.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/SpirvModule.h"

#include "absl/strings/str_cat.h"

#include <spirv-tools/libspirv.h>

#include <algorithm>
#include <cstring>
#include <map>

namespace kiln::plan {

namespace {

constexpr uint32_t kOpName = 5, kOpTypeInt = 21, kOpTypeFloat = 22, kOpTypeVector = 23,
                   kOpTypeMatrix = 24, kOpTypeArray = 28, kOpTypeRuntimeArray = 29,
                   kOpTypeStruct = 30, kOpTypePointer = 32, kOpConstant = 43, kOpVariable = 59,
                   kOpDecorate = 71, kOpMemberDecorate = 72;
constexpr uint32_t kDecorationBlock = 2, kDecorationBufferBlock = 3, kDecorationArrayStride = 6,
                   kDecorationBinding = 33, kDecorationDescriptorSet = 34, kDecorationOffset = 35;
constexpr uint32_t kStorageClassUniform = 2, kStorageClassStorageBuffer = 12;
/// Deeper type nesting than this is refused rather than followed (a cycle cannot validate,
/// but the reader does not rely on that).
constexpr int kMaxTypeDepth = 32;
/// Extents are clamped here so products cannot overflow; any buffer is far smaller.
constexpr uint64_t kHugeExtent = uint64_t{1} << 62;

std::vector<uint32_t> toWords(std::string_view bytes) {
  std::vector<uint32_t> words(bytes.size() / 4);
  std::memcpy(words.data(), bytes.data(), words.size() * 4);
  return words;
}

/// What the reader keeps of one type or constant id.
struct TypeInfo {
  uint32_t opcode = 0;
  std::vector<uint32_t> operands; ///< After the result id.
};

class ModuleReader {
public:
  absl::Status read(const std::vector<uint32_t> &words) {
    for (size_t at = 5; at < words.size();) {
      uint32_t count = words[at] >> 16, opcode = words[at] & 0xffff;
      if (count == 0 || at + count > words.size())
        return absl::InvalidArgumentError(
            absl::StrCat("SPIR-V instruction at word ", at, " runs past the end of the module"));
      const uint32_t *operand = &words[at + 1];
      uint32_t operands = count - 1;
      switch (opcode) {
      case kOpName:
        if (operands >= 2) {
          const char *text = reinterpret_cast<const char *>(operand + 1);
          names_[operand[0]].assign(text, strnlen(text, (operands - 1) * 4));
        }
        break;
      case kOpDecorate:
        if (operands >= 3)
          decorations_[{operand[0], operand[1]}] = operand[2];
        else if (operands == 2)
          decorations_[{operand[0], operand[1]}] = 0;
        break;
      case kOpMemberDecorate:
        if (operands >= 4 && operand[2] == kDecorationOffset)
          memberOffsets_[{operand[0], operand[1]}] = operand[3];
        break;
      case kOpTypeInt:
      case kOpTypeFloat:
      case kOpTypeVector:
      case kOpTypeMatrix:
      case kOpTypeArray:
      case kOpTypeRuntimeArray:
      case kOpTypeStruct:
      case kOpTypePointer:
        if (operands >= 1)
          types_[operand[0]] = {opcode, std::vector<uint32_t>(operand + 1, operand + operands)};
        break;
      case kOpConstant:
        if (operands >= 3)
          constants_[operand[1]] =
              operands >= 4 ? (uint64_t{operand[3]} << 32) | operand[2] : uint64_t{operand[2]};
        break;
      case kOpVariable:
        if (operands >= 3)
          variables_.push_back({operand[0], operand[1], operand[2]});
        break;
      default:
        break;
      }
      at += count;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<SpirvStorageBuffer>> storageBuffers() const {
    std::vector<SpirvStorageBuffer> buffers;
    for (const Variable &variable : variables_) {
      auto binding = decorations_.find({variable.id, kDecorationBinding});
      if (binding == decorations_.end())
        continue;
      auto pointer = types_.find(variable.type);
      if (pointer == types_.end() || pointer->second.opcode != kOpTypePointer ||
          pointer->second.operands.size() < 2)
        continue;
      uint32_t pointee = pointer->second.operands[1];
      bool storage = variable.storageClass == kStorageClassStorageBuffer ||
                     (variable.storageClass == kStorageClassUniform &&
                      decorations_.count({pointee, kDecorationBufferBlock}));
      if (!storage && !(variable.storageClass == kStorageClassUniform &&
                        decorations_.count({pointee, kDecorationBlock})))
        continue;
      SpirvStorageBuffer buffer;
      auto name = names_.find(variable.id);
      if (name != names_.end())
        buffer.name = name->second;
      auto set = decorations_.find({variable.id, kDecorationDescriptorSet});
      buffer.descriptorSet = set == decorations_.end() ? 0 : set->second;
      buffer.binding = binding->second;
      absl::StatusOr<std::optional<uint64_t>> bytes = sizeOf(pointee, 0);
      if (!bytes.ok())
        return bytes.status();
      buffer.bytes = *bytes;
      buffers.push_back(std::move(buffer));
    }
    return buffers;
  }

private:
  struct Variable {
    uint32_t type, id, storageClass;
  };

  /// Bytes a value of `type` spans in a block; nullopt for (a struct ending in) a runtime
  /// array.
  absl::StatusOr<std::optional<uint64_t>> sizeOf(uint32_t type, int depth) const {
    if (depth > kMaxTypeDepth)
      return absl::InvalidArgumentError(
          absl::StrCat("SPIR-V type %", type, " is nested more than ", kMaxTypeDepth, " deep"));
    auto found = types_.find(type);
    if (found == types_.end())
      return absl::InvalidArgumentError(
          absl::StrCat("SPIR-V storage block uses type %", type, ", which is not declared"));
    const TypeInfo &info = found->second;
    auto operand = [&](size_t index) -> uint32_t {
      return index < info.operands.size() ? info.operands[index] : 0;
    };
    switch (info.opcode) {
    case kOpTypeInt:
    case kOpTypeFloat:
      return std::optional<uint64_t>(operand(0) / 8);
    case kOpTypeVector:
    case kOpTypeMatrix: {
      absl::StatusOr<std::optional<uint64_t>> element = sizeOf(operand(0), depth + 1);
      if (!element.ok() || !*element)
        return element;
      return std::optional<uint64_t>(std::min(kHugeExtent, **element * operand(1)));
    }
    case kOpTypeArray: {
      auto length = constants_.find(operand(1));
      if (length == constants_.end())
        return absl::InvalidArgumentError(absl::StrCat(
            "SPIR-V array type %", type, " has a length that is not an integer constant"));
      uint64_t stride = 0;
      auto decorated = decorations_.find({type, kDecorationArrayStride});
      if (decorated != decorations_.end()) {
        stride = decorated->second;
      } else {
        absl::StatusOr<std::optional<uint64_t>> element = sizeOf(operand(0), depth + 1);
        if (!element.ok() || !*element)
          return element;
        stride = **element;
      }
      uint64_t count = std::min(length->second, kHugeExtent);
      return std::optional<uint64_t>(stride && count > kHugeExtent / stride ? kHugeExtent
                                                                            : stride * count);
    }
    case kOpTypeRuntimeArray:
      return std::optional<uint64_t>();
    case kOpTypeStruct: {
      uint64_t end = 0;
      for (uint32_t member = 0; member < info.operands.size(); ++member) {
        absl::StatusOr<std::optional<uint64_t>> bytes = sizeOf(info.operands[member], depth + 1);
        if (!bytes.ok() || !*bytes)
          return bytes;
        auto offset = memberOffsets_.find({type, member});
        uint64_t start = offset == memberOffsets_.end() ? end : offset->second;
        end = std::max(end, std::min(kHugeExtent, start + **bytes));
      }
      return std::optional<uint64_t>(end);
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("SPIR-V storage block uses type %", type, " (opcode ", info.opcode,
                       "), which is not a scalar, vector, matrix, array or struct"));
    }
  }

  std::map<uint32_t, std::string> names_;
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> decorations_;   // (id, decoration) -> value
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> memberOffsets_; // (struct, member)
  std::map<uint32_t, TypeInfo> types_;
  std::map<uint32_t, uint64_t> constants_;
  std::vector<Variable> variables_;
};

} // namespace

absl::Status validateSpirv(std::string_view bytes) {
  if (bytes.size() % 4 != 0)
    return absl::InvalidArgumentError(
        absl::StrCat("SPIR-V of ", bytes.size(), " bytes is not a whole number of 32-bit words"));
  std::vector<uint32_t> words = toWords(bytes);
  // One context for the process (opcode and grammar tables); each call gets its own
  // diagnostic, so concurrent sessions may validate at once.
  static const spv_context context = spvContextCreate(SPV_ENV_VULKAN_1_1);
  spv_diagnostic diagnostic = nullptr;
  spv_result_t result = spvValidateBinary(context, words.data(), words.size(), &diagnostic);
  std::string first = diagnostic && diagnostic->error ? diagnostic->error : "";
  spvDiagnosticDestroy(diagnostic);
  if (result == SPV_SUCCESS)
    return absl::OkStatus();
  // The validator appends the offending instruction on indented lines: keep one line.
  std::string reason;
  for (char c : first) {
    bool space = c == '\n' || c == ' ' || c == '\t';
    if (!space)
      reason += c;
    else if (!reason.empty() && reason.back() != ' ')
      reason += ' ';
  }
  while (!reason.empty() && reason.back() == ' ')
    reason.pop_back();
  return absl::InvalidArgumentError(reason.empty() ? std::string("the validator gave no reason")
                                                   : reason);
}

absl::StatusOr<std::vector<SpirvStorageBuffer>> spirvStorageBuffers(std::string_view bytes) {
  if (bytes.size() % 4 != 0 || bytes.size() < 20)
    return absl::InvalidArgumentError(
        absl::StrCat("SPIR-V of ", bytes.size(), " bytes is not a whole module of 32-bit words"));
  ModuleReader reader;
  if (absl::Status status = reader.read(toWords(bytes)); !status.ok())
    return status;
  return reader.storageBuffers();
}

} // namespace kiln::plan
