//===- OpSupport.cpp - Operand checks shared by the builder's ops ---------===//
//
// The one place that decides whether an op may be emitted from its operands.
//
//===----------------------------------------------------------------------===//

#include "OpSupport.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln {

Builder *builderFor(llvm::StringRef opName, llvm::ArrayRef<Tensor> operands,
                    std::source_location loc) {
  Builder *builder = nullptr;
  for (const Tensor &operand : operands)
    if (operand.builder()) {
      builder = operand.builder();
      break;
    }
  if (!builder || !builder->ready(loc))
    return nullptr;
  for (auto [index, operand] : llvm::enumerate(operands)) {
    if (operand.builder() && operand.builder() != builder) {
      builder->reportError(
          absl::StrCat(opName.str(), ": operand ", index, " comes from another Builder"), loc);
      return nullptr;
    }
    if (!operand.ok()) {
      builder->reportError(absl::StrCat(opName.str(), ": operand ", index,
                                        " is an empty Tensor; use Tensors the Builder made"),
                           loc);
      return nullptr;
    }
  }
  return builder;
}

Tensor poisoned(llvm::ArrayRef<Tensor> operands) {
  for (const Tensor &operand : operands)
    if (operand.builder())
      return operand.builder()->poison();
  return Tensor();
}

std::string shapeText(llvm::ArrayRef<int64_t> shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

std::string describe(mlir::Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  type.print(os);
  return text;
}

} // namespace kiln
