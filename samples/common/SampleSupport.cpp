//===- SampleSupport.cpp - What the sample programs share -----------------===//
//
// Writing a sample's module and choosing its optimizer.
//
//===----------------------------------------------------------------------===//

#include "SampleSupport.h"

#include "mlir/IR/OperationSupport.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln::samples {

int fail(llvm::StringRef tool, const llvm::Twine &message) {
  llvm::errs() << tool << ": error: " << message << "\n";
  return 1;
}

int writeModule(mlir::ModuleOp module, llvm::StringRef path, bool withLocations,
                llvm::StringRef tool) {
  std::error_code error;
  llvm::ToolOutputFile output(path, error, llvm::sys::fs::OF_Text);
  if (error)
    return fail(tool, "cannot write '" + path + "': " + error.message());
  mlir::OpPrintingFlags flags;
  if (withLocations)
    flags.enableDebugInfo(/*enable=*/true, /*prettyForm=*/false);
  module->print(output.os(), flags);
  output.os() << "\n";
  output.keep();
  return 0;
}

namespace cl = llvm::cl;

OptimizerOptions::OptimizerOptions(cl::OptionCategory &category, double sgdLearningRate,
                                   const char *learningRateHelp, bool withWeightDecay)
    : sgdLearningRate_(sgdLearningRate),
      choice_("optimizer", cl::desc("The optimizer appended to the step"),
              cl::init(OptimizerChoice::kSgd),
              cl::values(
                  clEnumValN(OptimizerChoice::kSgd, "sgd", "SGD with momentum (default)"),
                  clEnumValN(OptimizerChoice::kAdam, "adam", "Adam"),
                  clEnumValN(OptimizerChoice::kAdamW, "adamw", "AdamW (decoupled weight decay)")),
              cl::cat(category)),
      learningRate_("lr", cl::desc(learningRateHelp), cl::value_desc("rate"), cl::init(-1.0),
                    cl::cat(category)),
      momentum_("momentum", cl::desc("SGD momentum (sgd only; default 0.9)"), cl::value_desc("m"),
                cl::init(-1.0), cl::cat(category)) {
  if (withWeightDecay)
    weightDecay_.emplace("weight-decay",
                         cl::desc("Weight decay (default: 0 for sgd and adam, 0.01 for adamw)"),
                         cl::value_desc("w"), cl::init(-1.0), cl::cat(category));
}

std::string OptimizerOptions::validate() const {
  if (momentum_.getNumOccurrences() && choice_ != OptimizerChoice::kSgd)
    return "--momentum applies to --optimizer=sgd only";
  if (learningRate_.getNumOccurrences() && learningRate_ < 0)
    return "--lr must be >= 0";
  if (momentum_.getNumOccurrences() && momentum_ < 0)
    return "--momentum must be >= 0";
  if (weightDecay_ && weightDecay_->getNumOccurrences() && *weightDecay_ < 0)
    return "--weight-decay must be >= 0";
  return "";
}

kiln::Optimizer OptimizerOptions::optimizer() const {
  auto orDefault = [](double value, double fallback) { return value >= 0 ? value : fallback; };
  double learningRate = learningRate_;
  double weightDecay = weightDecay_ ? weightDecay_->getValue() : -1.0;
  switch (choice_) {
  case OptimizerChoice::kSgd:
    return kiln::Sgd{.learningRate = orDefault(learningRate, sgdLearningRate_),
                     .momentum = orDefault(momentum_, 0.9),
                     .weightDecay = orDefault(weightDecay, 0.0)};
  case OptimizerChoice::kAdam:
    return kiln::Adam{.learningRate = orDefault(learningRate, 1e-3),
                      .weightDecay = orDefault(weightDecay, 0.0)};
  case OptimizerChoice::kAdamW:
    return kiln::AdamW{.learningRate = orDefault(learningRate, 1e-3),
                       .weightDecay = orDefault(weightDecay, 0.01)};
  }
  return kiln::Sgd{};
}

} // namespace kiln::samples
