//===- OpSupport.h - Operand checks shared by the builder's ops -----------===//
//
// Internal to the frontend library: every op function finds its operands'
// Builder the same way and reports the same errors, so a user's mistake reads
// alike whichever op it hits.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_FRONTEND_LIB_OPSUPPORT_H
#define KILN_FRONTEND_LIB_OPSUPPORT_H

#include "kiln/Builder.h"

#include "mlir/IR/Types.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <source_location>
#include <string>

namespace kiln {

/// The Builder every operand of `opName` belongs to when the op may be
/// emitted; null otherwise (an earlier error, an empty operand, operands of
/// different builders), after recording the reason where possible.
Builder *builderFor(llvm::StringRef opName, llvm::ArrayRef<Tensor> operands,
                    std::source_location loc);

/// The poisoned result of an op that was not emitted: the first operand
/// Builder's poison, or an empty Tensor when no operand has a Builder.
Tensor poisoned(llvm::ArrayRef<Tensor> operands);

/// "[2, 3, 4]": a shape as the builder's messages write it.
std::string shapeText(llvm::ArrayRef<int64_t> shape);

/// "tensor<2x3xf32>": a type as the builder's messages write it (as MLIR prints it).
std::string describe(mlir::Type type);

} // namespace kiln

#endif // KILN_FRONTEND_LIB_OPSUPPORT_H
