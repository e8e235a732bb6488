//===- kiln-opt.cpp - The mlir-opt of Kiln ---------------------------------===//
//
// Parses, verifies, transforms and prints modules of Kiln's dialects. The lit
// tests drive every pass through it; `--print-ir-after-all`,
// `--mlir-pass-statistics` and friends come from MlirOptMain.
//
//===----------------------------------------------------------------------===//

#include "kiln/Compiler/Passes.h"
#include "kiln/Dialect/Graph/GraphDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<kiln::graph::GraphDialect, mlir::func::FuncDialect>();
  kiln::registerPassesAndPipelines();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Kiln optimizer driver\n", registry));
}
