//===- mlp.cc - An MNIST classifier written with the Kiln builder ---------===//
//
// Builds the multi-layer perceptron that classifies 28x28 MNIST digits
// (784 inputs, ReLU hidden layers, 10 logits, mean softmax cross entropy)
// with the optimizer chosen on the command line, and writes the training
// step as a graph-dialect module:
//
//   kiln-sample-mlp --arch 784-512-512-10 --optimizer adam -o mlp.mlir
//
//===----------------------------------------------------------------------===//

#include "kiln/Frontend.h"

#include "mlir/IR/OperationSupport.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

namespace cl = llvm::cl;

namespace {

enum class OptimizerChoice { kSgd, kAdam, kAdamW };

cl::OptionCategory category("MLP options");

cl::opt<std::string>
    architecture("arch",
                 cl::desc("Layer widths from input to logits, e.g. 784-128-10 or 784-512-512-10"),
                 cl::value_desc("widths"), cl::init("784-128-10"), cl::cat(category));
cl::opt<int64_t> batchSize("batch", cl::desc("Examples per step (static batch size)"),
                           cl::value_desc("n"), cl::init(128), cl::cat(category));
cl::opt<OptimizerChoice> optimizerChoice(
    "optimizer", cl::desc("The optimizer appended to the step"), cl::init(OptimizerChoice::kSgd),
    cl::values(clEnumValN(OptimizerChoice::kSgd, "sgd", "SGD with momentum (default)"),
               clEnumValN(OptimizerChoice::kAdam, "adam", "Adam"),
               clEnumValN(OptimizerChoice::kAdamW, "adamw", "AdamW (decoupled weight decay)")),
    cl::cat(category));
cl::opt<double> learningRate("lr",
                             cl::desc("Learning rate (default: 0.1 for sgd, 0.001 for "
                                      "adam and adamw)"),
                             cl::value_desc("rate"), cl::init(-1.0), cl::cat(category));
cl::opt<double> momentum("momentum", cl::desc("SGD momentum (sgd only; default 0.9)"),
                         cl::value_desc("m"), cl::init(-1.0), cl::cat(category));
cl::opt<uint64_t> seed("seed", cl::desc("Seed of the parameters' initial values"),
                       cl::value_desc("n"), cl::init(0), cl::cat(category));
cl::opt<std::string> outputFile("o", cl::desc("Write the module here (default: stdout)"),
                                cl::value_desc("file"), cl::init("-"), cl::cat(category));
cl::opt<bool> printLocations("print-locations",
                             cl::desc("Print each op's source location (this file's lines)"),
                             cl::init(false), cl::cat(category));

/// "784-128-10" as {784, 128, 10}; std::nullopt unless it has at least two
/// positive integers separated by '-'.
std::optional<std::vector<int64_t>> parseArchitecture(llvm::StringRef text) {
  llvm::SmallVector<llvm::StringRef> parts;
  text.split(parts, '-');
  std::vector<int64_t> widths;
  for (llvm::StringRef part : parts) {
    int64_t width = 0;
    if (part.getAsInteger(10, width) || width <= 0)
      return std::nullopt;
    widths.push_back(width);
  }
  if (widths.size() < 2)
    return std::nullopt;
  return widths;
}

kiln::Optimizer chosenOptimizer() {
  switch (optimizerChoice) {
  case OptimizerChoice::kSgd:
    return kiln::Sgd{.learningRate = learningRate >= 0 ? learningRate.getValue() : 0.1,
                     .momentum = momentum >= 0 ? momentum.getValue() : 0.9};
  case OptimizerChoice::kAdam:
    return kiln::Adam{.learningRate = learningRate >= 0 ? learningRate.getValue() : 1e-3};
  case OptimizerChoice::kAdamW:
    return kiln::AdamW{.learningRate = learningRate >= 0 ? learningRate.getValue() : 1e-3};
  }
  return kiln::Sgd{};
}

int fail(const llvm::Twine &message) {
  llvm::errs() << "kiln-sample-mlp: error: " << message << "\n";
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "Writes the training step of an MNIST MLP classifier as a Kiln "
                              "graph-dialect module (.mlir).\n");

  std::optional<std::vector<int64_t>> widths = parseArchitecture(architecture);
  if (!widths)
    return fail("--arch '" + architecture + "' is not a list of positive widths like 784-128-10");
  if (batchSize <= 0)
    return fail("--batch must be positive, got " + llvm::Twine(batchSize.getValue()));
  if (momentum.getNumOccurrences() && optimizerChoice != OptimizerChoice::kSgd)
    return fail("--momentum applies to --optimizer=sgd only");
  if (learningRate.getNumOccurrences() && learningRate < 0)
    return fail("--lr must be >= 0");
  if (momentum.getNumOccurrences() && momentum < 0)
    return fail("--momentum must be >= 0");

  kiln::Builder builder("mlp", seed);
  kiln::Tensor images = builder.input("images", {batchSize, widths->front()});
  kiln::Tensor labels = builder.input("labels", {batchSize}, kiln::DType::kI32);

  kiln::Sequential mlp;
  for (size_t layer = 0; layer + 1 < widths->size(); ++layer) {
    if (layer > 0)
      mlp.add(kiln::Relu());
    mlp.add(kiln::Linear((*widths)[layer], (*widths)[layer + 1]));
  }
  kiln::Tensor logits = mlp(images);
  kiln::Tensor loss = kiln::softmaxCrossEntropy(logits, labels);
  // The trainer measures accuracy from the logits of the forward-only eval program.
  builder.output("logits", logits);

  auto module = builder.build(kiln::TrainingSpec{.loss = loss, .optimizer = chosenOptimizer()});
  if (!module.ok())
    return fail(std::string(module.status().message()));

  std::error_code error;
  llvm::ToolOutputFile output(outputFile, error, llvm::sys::fs::OF_Text);
  if (error)
    return fail("cannot write '" + outputFile + "': " + error.message());
  mlir::OpPrintingFlags flags;
  if (printLocations)
    flags.enableDebugInfo(/*enable=*/true, /*prettyForm=*/false);
  (*module)->print(output.os(), flags);
  output.os() << "\n";
  output.keep();
  return 0;
}
