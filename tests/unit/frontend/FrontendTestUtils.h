//===- FrontendTestUtils.h - Helpers for the builder tests ------*- C++ -*-===//
//
// Collecting ops of one kind from a built module, printing and reparsing
// modules, and reading an op's source location.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_FRONTEND_FRONTENDTESTUTILS_H
#define KILN_TESTS_UNIT_FRONTEND_FRONTENDTESTUTILS_H

#include "kiln/Frontend.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Location.h"

#include <string>
#include <vector>

namespace kiln::testing {

/// Every op of type `OpTy` in `module`, in program order.
template <typename OpTy> std::vector<OpTy> opsOf(mlir::ModuleOp module) {
  std::vector<OpTy> ops;
  module.walk([&](OpTy op) { ops.push_back(op); });
  return ops;
}

/// The module in MLIR's generic-free custom syntax.
inline std::string print(mlir::Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  op->print(os);
  return text;
}

/// The FileLineColLoc inside `loc` (looking through a NameLoc).
inline mlir::FileLineColLoc fileLineOf(mlir::Location loc) {
  if (auto name = llvm::dyn_cast<mlir::NameLoc>(loc))
    return llvm::dyn_cast<mlir::FileLineColLoc>(name.getChildLoc());
  return llvm::dyn_cast<mlir::FileLineColLoc>(loc);
}

} // namespace kiln::testing

#endif // KILN_TESTS_UNIT_FRONTEND_FRONTENDTESTUTILS_H
