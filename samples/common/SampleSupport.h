//===- SampleSupport.h - What the sample programs share -------------------===//
//
// Each sample builds a model with the Kiln builder and writes its training
// step as a graph-dialect module; writing the module and choosing the
// optimizer from the command line are the same in every sample.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_SAMPLES_COMMON_SAMPLESUPPORT_H
#define KILN_SAMPLES_COMMON_SAMPLESUPPORT_H

#include "kiln/TrainingSpec.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/CommandLine.h"

#include <optional>
#include <string>

namespace kiln::samples {

/// Prints "<tool>: error: <message>" to stderr; returns 1, the exit status.
int fail(llvm::StringRef tool, const llvm::Twine &message);

/// Writes `module` to `path` ("-" is stdout), with each op's source location
/// when `withLocations`. Returns the exit status: 0, or 1 after `fail(tool, ...)`
/// when `path` cannot be written.
int writeModule(mlir::ModuleOp module, llvm::StringRef path, bool withLocations,
                llvm::StringRef tool);

enum class OptimizerChoice { kSgd, kAdam, kAdamW };

/// The optimizer options of a sample, registered in `category` when
/// constructed (construct it once, at namespace scope): --optimizer (sgd,
/// adam, adamw), --lr, --momentum (sgd only) and, when `withWeightDecay`,
/// --weight-decay. Unset values take the defaults: 0.9 momentum, 0 weight
/// decay (0.01 for adamw), a learning rate of `sgdLearningRate` for sgd and
/// 0.001 for adam and adamw; `learningRateHelp` names them in --help.
class OptimizerOptions {
public:
  OptimizerOptions(llvm::cl::OptionCategory &category, double sgdLearningRate,
                   const char *learningRateHelp, bool withWeightDecay);

  /// The first mistake in the given options as an error message ("--lr must
  /// be >= 0"); empty when there is none.
  std::string validate() const;

  /// The optimizer the options name.
  kiln::Optimizer optimizer() const;

private:
  double sgdLearningRate_;
  llvm::cl::opt<OptimizerChoice> choice_;
  llvm::cl::opt<double> learningRate_;
  llvm::cl::opt<double> momentum_;
  std::optional<llvm::cl::opt<double>> weightDecay_;
};

} // namespace kiln::samples

#endif // KILN_SAMPLES_COMMON_SAMPLESUPPORT_H
