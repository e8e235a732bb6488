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

#include "SampleSupport.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

namespace cl = llvm::cl;

namespace {

constexpr llvm::StringLiteral kTool = "kiln-sample-mlp";

cl::OptionCategory category("MLP options");

cl::opt<std::string>
    architecture("arch",
                 cl::desc("Layer widths from input to logits, e.g. 784-128-10 or 784-512-512-10"),
                 cl::value_desc("widths"), cl::init("784-128-10"), cl::cat(category));
cl::opt<int64_t> batchSize("batch", cl::desc("Examples per step (static batch size)"),
                           cl::value_desc("n"), cl::init(128), cl::cat(category));
kiln::samples::OptimizerOptions
    optimizerOptions(category, /*sgdLearningRate=*/0.1,
                     "Learning rate (default: 0.1 for sgd, 0.001 for adam and adamw)",
                     /*withWeightDecay=*/false);
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

int fail(const llvm::Twine &message) { return kiln::samples::fail(kTool, message); }

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
  if (std::string error = optimizerOptions.validate(); !error.empty())
    return fail(error);

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

  auto module =
      builder.build(kiln::TrainingSpec{.loss = loss, .optimizer = optimizerOptions.optimizer()});
  if (!module.ok())
    return fail(std::string(module.status().message()));

  return kiln::samples::writeModule(**module, outputFile, printLocations, kTool);
}
