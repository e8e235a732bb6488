//===- PtxasTest.cpp - Every generated PTX assembles for sm_80 and sm_90 --===//
//
// The CUDA target cannot run here (no driver), but ptxas can check every
// kernel it would load: each op registry sample's forward and loss modules
// (the loss modules hold the op's gradient kernels), and the sample MLP
// with and without fusion. Plans carry sm_80 PTX, which the driver compiles for
// newer devices too, so each is assembled for sm_80 and for sm_90 (the H100 and
// H200). ptxas itself is required: a machine without the CUDA toolkit fails
// this test rather than skipping it.
//
//===----------------------------------------------------------------------===//

#include "OpHarness.h"
#include "OpRegistry.h"
#include "TestModules.h"

#include "kiln/Codegen/Codegen.h"
#include "kiln/Compiler/Passes.h"
#include "kiln/Targets/KernelTargets.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include "gtest/gtest.h"

#include <future>
#include <set>

namespace kiln {
namespace {

/// Compiles `text` (after the training-step pipeline when `train`) for CUDA and checks every
/// PTX with ptxas, two at a time.
void expectPtxAssembles(const std::string &text, bool train, bool fusion = true) {
  std::unique_ptr<mlir::MLIRContext> context = ops_test::makeContext();
  std::string errors;
  mlir::ScopedDiagnosticHandler handler(context.get(), [&](mlir::Diagnostic &diagnostic) {
    errors += diagnostic.str() + "\n";
    return mlir::success();
  });
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, context.get());
  ASSERT_TRUE(module) << errors << text;
  if (train) {
    // The registry's loss modules name no optimizer: their gradients become outputs.
    mlir::PassManager pm(context.get());
    if (text.find("graph.optimizer") != std::string::npos) {
      addTrainingStepPipeline(pm);
    } else {
      pm.addPass(createAutodiff());
      addSimplifyPasses(pm);
    }
    ASSERT_TRUE(mlir::succeeded(pm.run(*module))) << errors << text;
  }
  codegen::CodegenOptions options;
  options.targets = {plan::TARGET_CUDA};
  options.fusion = fusion;
  mlir::FailureOr<plan::Plan> plan = codegen::compileToPlan(*module, options);
  ASSERT_TRUE(mlir::succeeded(plan)) << errors << text;
  std::vector<std::future<std::string>> checks;
  std::vector<std::string> names;
  for (const plan::Kernel &kernel : plan->kernels()) {
    std::set<std::string> archs;
    for (const plan::PtxCode &code : kernel.ptx_code())
      archs.insert(code.arch());
    EXPECT_EQ(archs, (std::set<std::string>{"sm_80"})) << kernel.name();
    for (const plan::PtxCode &code : kernel.ptx_code())
      for (const char *device : {"sm_80", "sm_90"}) {
        names.push_back(kernel.name() + " (" + code.arch() + " PTX for " + device + ")");
        checks.push_back(std::async(std::launch::async, [ptx = code.ptx(), device] {
          return targets::checkWithPtxas(ptx, device);
        }));
        if (checks.size() % 2 == 0)
          checks[checks.size() - 2].wait();
      }
  }
  for (size_t i = 0; i < checks.size(); ++i)
    EXPECT_EQ(checks[i].get(), "") << names[i];
}

class RegistryPtx : public testing::TestWithParam<size_t> {};

TEST_P(RegistryPtx, ForwardKernelsAssemble) {
  expectPtxAssembles(ops_test::forwardModule(ops_test::opRegistry()[GetParam()]), false);
}

TEST_P(RegistryPtx, GradientKernelsAssemble) {
  const ops_test::OpSample &sample = ops_test::opRegistry()[GetParam()];
  if (!sample.differentiable)
    GTEST_SKIP() << sample.testName() << " has no derivative";
  expectPtxAssembles(ops_test::lossModule(sample), true);
}

INSTANTIATE_TEST_SUITE_P(Cuda, RegistryPtx, testing::ValuesIn(ops_test::sampleIndices(false)),
                         ops_test::sampleName);

TEST(SamplePtx, FusedAndUnfusedMlpKernelsAssemble) {
  for (const char *optimizer :
       {R"({kind = "sgd", learning_rate = 0.1 : f64, momentum = 0.9 : f64})",
        R"({kind = "adam", learning_rate = 1.0e-03 : f64})"}) {
    expectPtxAssembles(codegen_test::mlpModuleText(32, optimizer), true, /*fusion=*/true);
    expectPtxAssembles(codegen_test::mlpModuleText(32, optimizer), true, /*fusion=*/false);
  }
}

} // namespace
} // namespace kiln
