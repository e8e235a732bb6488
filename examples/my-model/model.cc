//===- model.cc - A model of your own, built against the installed Kiln ---===//
//
// A 784-64-10 Fashion-MNIST classifier with a tanh hidden layer, mean softmax
// cross entropy and SGD with momentum, written with the Kiln builder. It
// follows kiln_add_model's convention: the output path comes as argv[1], the
// module is written there, and a non-zero exit status reports a failure. See
// docs/guide/your-own-model.md for the walkthrough.
//
//===----------------------------------------------------------------------===//

#include "kiln/Frontend.h"

#include "mlir/IR/OperationSupport.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

int main(int argc, char **argv) {
  if (argc != 2) {
    llvm::errs() << "usage: " << argv[0] << " OUTPUT.mlir\n";
    return 1;
  }
  constexpr int64_t kBatch = 128;

  kiln::Builder builder("my_mlp", /*seed=*/42);
  kiln::Tensor images = builder.input("images", {kBatch, 784});
  kiln::Tensor labels = builder.input("labels", {kBatch}, kiln::DType::kI32);

  kiln::Sequential net;
  net.add(kiln::Linear(784, 64));
  net.add(kiln::Tanh());
  net.add(kiln::Linear(64, 10));
  kiln::Tensor logits = net(images);
  kiln::Tensor loss = kiln::softmaxCrossEntropy(logits, labels);
  // kiln train measures test accuracy from the "logits" output of the eval program.
  builder.output("logits", logits);

  auto module = builder.build(kiln::TrainingSpec{
      .loss = loss, .optimizer = kiln::Sgd{.learningRate = 0.05, .momentum = 0.9}});
  if (!module.ok()) {
    llvm::errs() << "my_mlp: " << std::string(module.status().message()) << "\n";
    return 1;
  }

  std::error_code error;
  llvm::ToolOutputFile output(argv[1], error, llvm::sys::fs::OF_Text);
  if (error) {
    llvm::errs() << "my_mlp: cannot write '" << argv[1] << "': " << error.message() << "\n";
    return 1;
  }
  // With debug info, kiln compile errors and kiln inspect name the lines of this file.
  (*module)->print(output.os(), mlir::OpPrintingFlags().enableDebugInfo());
  output.os() << "\n";
  output.keep();
  return 0;
}
