//===- kiln-opt.cpp - The mlir-opt of Kiln ---------------------------------===//
//
// Parses, verifies, transforms and prints modules of Kiln's dialects. The lit
// tests drive every pass through it; `--print-ir-after-all`,
// `--mlir-pass-statistics` and friends come from MlirOptMain. The input is
// scanned before MLIR parses it: brackets nested deeper than kMaxInputNesting
// are refused (tools/common/InputNesting.h), as the parser's recursion would
// overflow the stack.
//
//===----------------------------------------------------------------------===//

#include "../common/InputNesting.h"

#include "kiln/Compiler/Passes.h"
#include "kiln/Dialect/Exec/ExecDialect.h"
#include "kiln/Dialect/Graph/GraphDialect.h"
#include "kiln/Exec/Passes.h"
#include "kiln/Kernels/KernelEmitter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

/// Accepts the IR-printing flags under the names Kiln's docs use
/// (`--print-ir-after-all`) as well as MLIR's own (`--mlir-print-ir-after-all`).
static std::vector<char *> withFlagAliases(int argc, char **argv,
                                           std::vector<std::string> &storage) {
  static constexpr llvm::StringLiteral kAliased[] = {
      "--print-ir-after-all",    "--print-ir-before-all", "--print-ir-after-failure",
      "--print-ir-after-change", "--print-ir-after",      "--print-ir-before"};
  storage.reserve(argc);
  std::vector<char *> args;
  for (int i = 0; i < argc; ++i) {
    llvm::StringRef arg = argv[i];
    for (llvm::StringRef alias : kAliased)
      if (arg == alias || arg.starts_with((alias + "=").str())) {
        storage.push_back("--mlir-" + arg.drop_front(2).str());
        argv[i] = storage.back().data();
        break;
      }
    args.push_back(argv[i]);
  }
  return args;
}

int main(int argc, char **argv) {
  std::vector<std::string> storage;
  std::vector<char *> args = withFlagAliases(argc, argv, storage);
  argc = static_cast<int>(args.size());
  argv = args.data();
  mlir::DialectRegistry registry;
  registry.insert<kiln::graph::GraphDialect, kiln::exec::ExecDialect, mlir::func::FuncDialect>();
  // The dialects of emitted kernels, so dumps taken after kiln-emit-kernels parse again.
  kiln::kernels::registerKernelEmitterDialects(registry);
  kiln::registerPassesAndPipelines();
  kiln::exec::registerExecPasses();
  llvm::InitLLVM initLLVM(argc, argv);
  auto [inputFilename, outputFilename] =
      mlir::registerAndParseCLIOptions(argc, argv, "Kiln optimizer driver\n", registry);
  mlir::MlirOptMainConfig config = mlir::MlirOptMainConfig::createFromCLOptions();
  if (config.shouldShowDialects())
    return mlir::asMainReturnCode(
        mlir::MlirOptMain(argc, argv, inputFilename, outputFilename, registry));

  // MlirOptMain's own reading of the input, with the nesting scan in between.
  std::string errorMessage;
  std::unique_ptr<llvm::MemoryBuffer> input = mlir::openInputFile(inputFilename, &errorMessage);
  if (!input) {
    llvm::errs() << errorMessage << "\n";
    return 1;
  }
  if (std::string nesting = kiln::tool::inputNestingError(
          input->getBuffer(), inputFilename == "-" ? "<stdin>" : inputFilename);
      !nesting.empty()) {
    llvm::errs() << nesting << "\n";
    return 1;
  }
  std::unique_ptr<llvm::ToolOutputFile> output =
      mlir::openOutputFile(outputFilename, &errorMessage);
  if (!output) {
    llvm::errs() << errorMessage << "\n";
    return 1;
  }
  if (mlir::failed(mlir::MlirOptMain(output->os(), std::move(input), registry, config)))
    return 1;
  output->keep();
  return 0;
}
