//===- FuzzMlir.cpp - libFuzzer target: the .mlir entry of kiln compile ----===//
//
// Does what `kiln compile` does with a model file up to its pass pipeline: the
// nesting scan (tools/common/InputNesting.h), then parsing with the graph and
// func dialects loaded, which verifies the module. The graph dialect is built
// into this target with coverage and sanitizers; libMLIR is Debian's, so
// findings inside MLIR itself show in the stack but MLIR is not instrumented.
//
//===----------------------------------------------------------------------===//

#include "InputNesting.h"

#include "kiln/Dialect/Graph/GraphDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  if (!kiln::tool::inputNestingError(text, "fuzz.mlir").empty())
    return 0;
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  context.loadDialect<kiln::graph::GraphDialect, mlir::func::FuncDialect>();
  context.printOpOnDiagnostic(false);
  // Diagnostics are expected on most inputs; drop them rather than flood the fuzzer's log.
  mlir::ScopedDiagnosticHandler silence(&context, [](mlir::Diagnostic &) {});
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(text, "fuzz.mlir"),
                               llvm::SMLoc());
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context);
  (void)module;
  return 0;
}
