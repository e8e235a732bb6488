//===- ExecRoundTripTest.cpp - Plans read back as exec IR -----------------===//
//
// The serializer is a thin printer and the importer its inverse: a compiled
// plan imported as an exec.plan and serialized again is the same bytes, for
// planned and unplanned, fused and unfused plans. And the memory planner run on
// an unplanned plan through the importer (memory::planMemory, as hand-built
// plans use it) gives the plan the compiler makes with the planner on.
//
//===----------------------------------------------------------------------===//

#include "TestModules.h"

#include "kiln/Codegen/Codegen.h"
#include "kiln/Exec/Serialize.h"
#include "kiln/Memory/MemoryPlanner.h"
#include "kiln/runtime/PlanFile.h"

#include <gtest/gtest.h>

namespace kiln::codegen_test {
namespace {

plan::Plan compileMlp(mlir::MLIRContext &context, bool fusion, bool planMemory) {
  DiagnosticCollector diagnostics(context);
  mlir::OwningOpRef<mlir::ModuleOp> module = parseModule(mlpModuleText(8), context);
  EXPECT_TRUE(module && mlir::succeeded(runTrainingStepPipeline(*module, true)))
      << diagnostics.text();
  codegen::CodegenOptions options;
  options.fusion = fusion;
  options.planMemory = planMemory;
  mlir::FailureOr<plan::Plan> plan = codegen::compileToPlan(*module, options);
  EXPECT_TRUE(mlir::succeeded(plan)) << diagnostics.text();
  return mlir::succeeded(plan) ? *std::move(plan) : plan::Plan();
}

class ExecRoundTrip : public testing::TestWithParam<std::pair<bool, bool>> {};

TEST_P(ExecRoundTrip, ImportThenSerializeGivesTheSameBytes) {
  auto context = makeContext();
  context->loadDialect<exec::ExecDialect>();
  auto [fusion, planMemory] = GetParam();
  plan::Plan plan = compileMlp(*context, fusion, planMemory);
  ASSERT_GT(plan.kernels_size(), 0);
  DiagnosticCollector diagnostics(*context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::ModuleOp::create(mlir::UnknownLoc::get(context.get()));
  mlir::FailureOr<exec::PlanOp> imported = exec::importPlan(plan, *module);
  ASSERT_TRUE(mlir::succeeded(imported)) << diagnostics.text();
  mlir::FailureOr<plan::Plan> again = exec::serializePlan(*imported, plan.graph_module());
  ASSERT_TRUE(mlir::succeeded(again)) << diagnostics.text();
  EXPECT_TRUE(plan::serializePlan(*again) == plan::serializePlan(plan))
      << "the plan read back differs:\n"
      << again->DebugString().substr(0, 2000);
}

INSTANTIATE_TEST_SUITE_P(Plans, ExecRoundTrip,
                         testing::Values(std::pair{true, true}, std::pair{true, false},
                                         std::pair{false, true}, std::pair{false, false}));

TEST(ExecMemoryPlanner, PlanningAnImportedPlanGivesTheCompilersPlan) {
  auto context = makeContext();
  plan::Plan planned = compileMlp(*context, true, true);
  plan::Plan unplanned = compileMlp(*context, true, false);
  absl::StatusOr<plan::MemorySummary> summary = memory::planMemory(unplanned);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_GT(summary->elided_copies(), 0u);
  EXPECT_TRUE(plan::serializePlan(unplanned) == plan::serializePlan(planned));
}

TEST(ExecImport, RefusesAnInvalidPlanWithTheValidatorsMessage) {
  auto context = makeContext();
  context->loadDialect<exec::ExecDialect>();
  plan::Plan plan = compileMlp(*context, true, true);
  plan.mutable_step()->mutable_commands(0)->mutable_dispatch()->set_kernel(999);
  DiagnosticCollector diagnostics(*context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::ModuleOp::create(mlir::UnknownLoc::get(context.get()));
  EXPECT_TRUE(mlir::failed(exec::importPlan(plan, *module)));
  EXPECT_NE(diagnostics.text().find("cannot read the plan as exec IR"), std::string::npos)
      << diagnostics.text();
  EXPECT_NE(diagnostics.text().find("kernel 999"), std::string::npos) << diagnostics.text();
}

} // namespace
} // namespace kiln::codegen_test
