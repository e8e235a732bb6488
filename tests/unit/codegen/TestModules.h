//===- TestModules.h - Graph modules shared by the codegen tests -*- C++ -*-===//
//
// MLIR text of modules that more than one test compiles: the 784-128-10 MLP
// of the training examples, and the parsing and diagnostics plumbing the
// codegen and Vulkan tests share. Header-only; tests/unit/vulkan_ops includes
// it too.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_CODEGEN_TESTMODULES_H
#define KILN_TESTS_UNIT_CODEGEN_TESTMODULES_H

#include "kiln/Codegen/Codegen.h"
#include "kiln/Compiler/Passes.h"
#include "kiln/Dialect/Graph/GraphDialect.h"
#include "kiln/runtime/HostTensor.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace kiln::codegen_test {

/// A context with the graph and func dialects loaded.
inline std::unique_ptr<mlir::MLIRContext> makeContext() {
  mlir::DialectRegistry registry;
  registry.insert<graph::GraphDialect, mlir::func::FuncDialect>();
  auto context = std::make_unique<mlir::MLIRContext>(registry);
  context->loadAllAvailableDialects();
  return context;
}

/// Collects every diagnostic of `context` while alive, as "<location>: <message>" lines.
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(mlir::MLIRContext &context)
      : handler_(&context, [this](mlir::Diagnostic &diagnostic) {
          std::string location;
          llvm::raw_string_ostream os(location);
          diagnostic.getLocation().print(os);
          text_ += os.str() + ": " + diagnostic.str() + "\n";
          return mlir::success();
        }) {}
  const std::string &text() const { return text_; }

private:
  std::string text_;
  mlir::ScopedDiagnosticHandler handler_;
};

/// Parses `text` (named `fileName` in locations); null after recording diagnostics.
inline mlir::OwningOpRef<mlir::ModuleOp> parseModule(const std::string &text,
                                                     mlir::MLIRContext &context,
                                                     const std::string &fileName = "test.mlir") {
  return mlir::parseSourceString<mlir::ModuleOp>(text, &context, fileName);
}

/// Runs kiln::addTrainingStepPipeline on `module`, after kiln-extract-eval (which adds
/// func @eval, the forward part of @step) when `extractEval` is set, as `kiln compile` does.
inline mlir::LogicalResult runTrainingStepPipeline(mlir::ModuleOp module,
                                                   bool extractEval = false) {
  mlir::PassManager passes(module.getContext());
  if (extractEval)
    passes.addPass(createExtractEval());
  addTrainingStepPipeline(passes);
  return passes.run(module);
}

/// The 784-128-10 MLP with relu and softmax cross entropy, for `batch` examples: inputs
/// "images" [batch, 784] f32 and "labels" [batch] i32, output "loss". `optimizer` is the
/// module's graph.optimizer dictionary.
inline std::string
mlpModuleText(int batch,
              const std::string &optimizer = R"({kind = "adam", learning_rate = 1.0e-03 : f64})") {
  std::string text = R"(module @mlp attributes {graph.optimizer = OPTIMIZER} {
  graph.variable @fc1.weight trainable : tensor<128x784xf32> = #graph.init<uniform(-0.0357, 0.0357), seed = 0, stream = 0>
  graph.variable @fc1.bias trainable : tensor<128xf32> = #graph.init<uniform(-0.0357, 0.0357), seed = 0, stream = 1>
  graph.variable @fc2.weight trainable : tensor<10x128xf32> = #graph.init<uniform(-0.0884, 0.0884), seed = 0, stream = 2>
  graph.variable @fc2.bias trainable : tensor<10xf32> = #graph.init<uniform(-0.0884, 0.0884), seed = 0, stream = 3>
  func.func @step() {
    %x = graph.input "images" : tensor<Bx784xf32>
    %y = graph.input "labels" : tensor<Bxi32>
    %w1 = graph.read @fc1.weight : tensor<128x784xf32>
    %b1 = graph.read @fc1.bias : tensor<128xf32>
    %h = graph.matmul %x, %w1 transpose_rhs : tensor<Bx784xf32>, tensor<128x784xf32> -> tensor<Bx128xf32>
    %bb1 = graph.broadcast %b1 [1] : tensor<128xf32> to tensor<Bx128xf32>
    %h1 = graph.add %h, %bb1 : tensor<Bx128xf32>
    %a1 = graph.relu %h1 : tensor<Bx128xf32>
    %w2 = graph.read @fc2.weight : tensor<10x128xf32>
    %b2 = graph.read @fc2.bias : tensor<10xf32>
    %o = graph.matmul %a1, %w2 transpose_rhs : tensor<Bx128xf32>, tensor<10x128xf32> -> tensor<Bx10xf32>
    %bb2 = graph.broadcast %b2 [1] : tensor<10xf32> to tensor<Bx10xf32>
    %z = graph.add %o, %bb2 : tensor<Bx10xf32>
    %l = graph.softmax_cross_entropy %z, %y : tensor<Bx10xf32>, tensor<Bxi32> -> tensor<Bxf32>
    %loss = graph.reduce_mean %l [0] : tensor<Bxf32> -> tensor<f32>
    graph.output "loss", %loss : tensor<f32>
    graph.minimize %loss : tensor<f32>
    return
  }
}
)";
  auto replaceAll = [&text](const std::string &from, const std::string &to) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
      text.replace(at, from.size(), to);
  };
  replaceAll("tensor<B", "tensor<" + std::to_string(batch));
  replaceAll("OPTIMIZER", optimizer);
  return text;
}

/// Batch `step` (of `batch` examples) of the synthetic data the MLP training tests use:
/// "images" of U[0, 0.5) noise where label c brightens pixel band c, and their "labels".
inline std::map<std::string, HostTensor, std::less<>> mlpTrainingBatch(int batch, int step) {
  uint64_t state = 0x6b696c6eull + static_cast<uint64_t>(step);
  auto next = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<float>(state >> 40) * 0x1p-24f;
  };
  std::vector<float> images(batch * 784);
  std::vector<int32_t> labels(batch);
  for (int example = 0; example < batch; ++example) {
    labels[example] = static_cast<int32_t>(next() * 10) % 10;
    for (int pixel = 0; pixel < 784; ++pixel)
      images[example * 784 + pixel] = 0.5f * next() + (pixel / 78 == labels[example] ? 0.5f : 0);
  }
  return {{"images", HostTensor::f32({batch, 784}, images)},
          {"labels", HostTensor::i32({batch}, labels)}};
}

} // namespace kiln::codegen_test

#endif // KILN_TESTS_UNIT_CODEGEN_TESTMODULES_H
