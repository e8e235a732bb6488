//===- CodegenTest.cpp - Structure of the plans codegen emits -------------===//
//
// No device needed: these tests read the plan. They check that each compute
// op is one dispatch of a deduplicated kernel, that barriers sit exactly on
// read-after-write, write-after-read and write-after-write hazards, that
// assigns become trailing copies, that compiling is deterministic, and that
// what the Vulkan target cannot compile is an error naming the op and where.
//
//===----------------------------------------------------------------------===//

#include "TestModules.h"

#include "kiln/Codegen/Codegen.h"
#include "kiln/runtime/PlanFile.h"
#include "kiln/runtime/Sha256.h"

#include "mlir/IR/Builders.h"
#include "gtest/gtest.h"

#include <set>

namespace kiln::codegen_test {
namespace {

using codegen::compileToPlan;

/// The step as text: kernel names for dispatches, "|" for barriers, "copy(src->dst)".
std::string describeStep(const plan::Plan &plan) {
  std::string text;
  for (const plan::Command &command : plan.step().commands()) {
    if (!text.empty())
      text += " ";
    if (command.has_barrier())
      text += "|";
    else if (command.has_dispatch())
      text += plan.kernels(command.dispatch().kernel()).name();
    else
      text += "copy(" + plan.buffers(command.copy().src_buffer()).name() + "->" +
              plan.buffers(command.copy().dst_buffer()).name() + ")";
  }
  return text;
}

/// Buffers a command reads and writes. Every kernel template writes binding 0 and only
/// binding 0 (KernelAbi.h); a copy reads its source and writes its destination.
void accesses(const plan::Plan &plan, const plan::Command &command, std::vector<uint32_t> &reads,
              std::vector<uint32_t> &writes) {
  reads.clear();
  writes.clear();
  if (command.has_dispatch()) {
    const plan::Kernel &kernel = plan.kernels(command.dispatch().kernel());
    for (int i = 0; i < command.dispatch().buffers_size(); ++i)
      (i < static_cast<int>(kernel.output_bindings()) ? writes : reads)
          .push_back(command.dispatch().buffers(i));
  } else if (command.has_copy()) {
    reads.push_back(command.copy().src_buffer());
    writes.push_back(command.copy().dst_buffer());
  }
}

/// Checks that a barrier separates every pair of commands that touch one buffer with at
/// least one write, and that every barrier separates at least one such pair from the
/// command right after it (so none is redundant).
void expectBarriersExactlyOnHazards(const plan::Plan &plan) {
  std::set<uint32_t> read, written;
  std::vector<uint32_t> reads, writes;
  bool barrierPending = false;
  const auto &commands = plan.step().commands();
  ASSERT_FALSE(commands.empty());
  EXPECT_FALSE(commands.begin()->has_barrier()) << "a barrier opens the step";
  EXPECT_FALSE(commands.rbegin()->has_barrier()) << "a barrier closes the step";
  for (int index = 0; index < commands.size(); ++index) {
    const plan::Command &command = commands[index];
    if (command.has_barrier()) {
      EXPECT_FALSE(barrierPending) << "two barriers in a row at command " << index;
      barrierPending = true;
      continue;
    }
    accesses(plan, command, reads, writes);
    bool hazard = false;
    for (uint32_t buffer : reads)
      hazard |= written.count(buffer) > 0;
    for (uint32_t buffer : writes)
      hazard |= written.count(buffer) > 0 || read.count(buffer) > 0;
    if (barrierPending) {
      EXPECT_TRUE(hazard) << "the barrier before command " << index << " guards no hazard";
      read.clear();
      written.clear();
      barrierPending = false;
    } else {
      EXPECT_FALSE(hazard) << "command " << index << " races with an earlier command";
    }
    read.insert(reads.begin(), reads.end());
    written.insert(writes.begin(), writes.end());
  }
}

class CodegenTest : public testing::Test {
protected:
  static codegen::CodegenOptions unplanned() {
    codegen::CodegenOptions options;
    options.planMemory = false;
    return options;
  }

  /// Compiles `text`; on failure returns nullopt and leaves the diagnostics in errors_.
  /// Plan assembly is easiest to see one kernel per op, so `compile` turns fusion off unless
  /// told otherwise.
  std::optional<plan::Plan> compile(const std::string &text, bool fusion = false) {
    DiagnosticCollector diagnostics(*context_);
    module_ = parseModule(text, *context_);
    if (!module_) {
      ADD_FAILURE() << "cannot parse:\n" << diagnostics.text() << text;
      return std::nullopt;
    }
    codegen::CodegenOptions options;
    options.fusion = fusion;
    options.planMemory = false;
    options.targets = {plan::TARGET_VULKAN};
    mlir::FailureOr<plan::Plan> plan = compileToPlan(*module_, options);
    errors_ = diagnostics.text();
    if (mlir::failed(plan))
      return std::nullopt;
    return *std::move(plan);
  }

  /// The MLP after the training-step pipeline (and kiln-extract-eval first when
  /// `extractEval`), compiled.
  /// Without memory planning unless `options` say otherwise: these tests look at plan
  /// assembly, and the planner has its own (tests/unit/memory).
  std::optional<plan::Plan> compileMlp(int batch, bool extractEval = false,
                                       codegen::CodegenOptions options = unplanned()) {
    DiagnosticCollector diagnostics(*context_);
    module_ = parseModule(mlpModuleText(batch), *context_);
    if (!module_ || mlir::failed(runTrainingStepPipeline(*module_, extractEval))) {
      ADD_FAILURE() << diagnostics.text();
      return std::nullopt;
    }
    mlir::FailureOr<plan::Plan> plan = compileToPlan(*module_, options);
    if (mlir::failed(plan)) {
      ADD_FAILURE() << diagnostics.text();
      return std::nullopt;
    }
    return *std::move(plan);
  }

  std::unique_ptr<mlir::MLIRContext> context_ = makeContext();
  mlir::OwningOpRef<mlir::ModuleOp> module_;
  std::string errors_;
};

/// A step body over inputs %x and %y (both tensor<4x8xf32>).
std::string stepModule(const std::string &body, const std::string &variables = "") {
  return "module @test {\n" + variables +
         "  func.func @step() {\n"
         "    %x = graph.input \"x\" : tensor<4x8xf32>\n"
         "    %y = graph.input \"y\" : tensor<4x8xf32>\n" +
         body + "    return\n  }\n}\n";
}

const char *kVariable =
    "  graph.variable @v : tensor<4x8xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>\n";

TEST_F(CodegenTest, ChainOfOpsGetsOneBarrierPerDependence) {
  auto plan = compile(stepModule("    %a = graph.add %x, %y : tensor<4x8xf32>\n"
                                 "    %b = graph.exp %a : tensor<4x8xf32>\n"
                                 "    %c = graph.neg %b : tensor<4x8xf32>\n"
                                 "    graph.output \"c\", %c : tensor<4x8xf32>\n"));
  ASSERT_TRUE(plan) << errors_;
  EXPECT_EQ(describeStep(*plan), "step_add | step_exp | step_neg");
}

TEST_F(CodegenTest, IndependentOpsShareNoBarrier) {
  auto plan = compile(stepModule("    %a = graph.add %x, %y : tensor<4x8xf32>\n"
                                 "    %b = graph.exp %x : tensor<4x8xf32>\n"
                                 "    %c = graph.mul %x, %y : tensor<4x8xf32>\n"
                                 "    graph.output \"a\", %a : tensor<4x8xf32>\n"
                                 "    graph.output \"b\", %b : tensor<4x8xf32>\n"
                                 "    graph.output \"c\", %c : tensor<4x8xf32>\n"));
  ASSERT_TRUE(plan) << errors_;
  EXPECT_EQ(describeStep(*plan), "step_add step_exp step_mul");
}

TEST_F(CodegenTest, WriteAfterReadGetsABarrier) {
  // The assign's copy reads a constant nobody wrote, but overwrites @v, which exp read.
  auto plan = compile(stepModule("    %v = graph.read @v : tensor<4x8xf32>\n"
                                 "    %e = graph.exp %v : tensor<4x8xf32>\n"
                                 "    graph.output \"e\", %e : tensor<4x8xf32>\n"
                                 "    %c = graph.constant dense<2.0> : tensor<4x8xf32>\n"
                                 "    graph.assign @v, %c : tensor<4x8xf32>\n",
                                 kVariable));
  ASSERT_TRUE(plan) << errors_;
  EXPECT_EQ(describeStep(*plan), "step_exp | copy(constant.4->v)");
}

TEST_F(CodegenTest, AFusedKernelListsItsOpsWithTheirLocations) {
  auto plan = compile(stepModule("    %a = graph.add %x, %y : tensor<4x8xf32>\n"
                                 "    %b = graph.sub %x, %y : tensor<4x8xf32>\n"
                                 "    %c = graph.max %a, %b : tensor<4x8xf32>\n"
                                 "    %d = graph.tanh %c : tensor<4x8xf32>\n"
                                 "    graph.output \"d\", %d : tensor<4x8xf32>\n"),
                      /*fusion=*/true);
  ASSERT_TRUE(plan) << errors_;
  ASSERT_EQ(plan->kernels_size(), 1);
  EXPECT_EQ(plan->kernels(0).name(), "step_add_sub_max_tanh");
  EXPECT_EQ(plan->kernels(0).kind(), "pointwise");
  EXPECT_EQ(plan->kernels(0).output_bindings(), 1u);
  ASSERT_EQ(plan->kernels(0).source_ops_size(), 4);
  EXPECT_EQ(plan->kernels(0).source_ops(1).op_name(), "graph.sub");
  EXPECT_EQ(plan->kernels(0).source_ops(1).location(), "test.mlir:6:10");
  EXPECT_EQ(describeStep(*plan), "step_add_sub_max_tanh");
}

TEST_F(CodegenTest, ReshapeSharesItsOperandsBuffer) {
  auto plan = compile(stepModule("    %a = graph.add %x, %y : tensor<4x8xf32>\n"
                                 "    %r = graph.reshape %a : tensor<4x8xf32> to tensor<32xf32>\n"
                                 "    %e = graph.exp %r : tensor<32xf32>\n"
                                 "    graph.output \"e\", %e : tensor<32xf32>\n"));
  ASSERT_TRUE(plan) << errors_;
  EXPECT_EQ(describeStep(*plan), "step_add | step_exp");
  const plan::Dispatch &add = plan->step().commands(0).dispatch();
  const plan::Dispatch &exp = plan->step().commands(2).dispatch();
  EXPECT_EQ(exp.buffers(1), add.buffers(0));
}

TEST_F(CodegenTest, OutputOfAnAssignedVariableIsCopiedBeforeTheAssign) {
  auto plan = compile(stepModule("    %v = graph.read @v : tensor<4x8xf32>\n"
                                 "    graph.output \"old\", %v : tensor<4x8xf32>\n"
                                 "    %n = graph.add %v, %x : tensor<4x8xf32>\n"
                                 "    graph.assign @v, %n : tensor<4x8xf32>\n",
                                 kVariable));
  ASSERT_TRUE(plan) << errors_;
  EXPECT_EQ(describeStep(*plan), "copy(v->old) step_add | copy(step_add.0->v)");
}

TEST_F(CodegenTest, SwappedVariablesAreSavedBeforeTheyAreOverwritten) {
  std::string variables =
      "  graph.variable @a : tensor<4x8xf32> = #graph.init<constant(1.0), seed = 0, stream = 0>\n"
      "  graph.variable @b : tensor<4x8xf32> = #graph.init<constant(2.0), seed = 0, stream = 1>\n";
  auto plan = compile(stepModule("    %a = graph.read @a : tensor<4x8xf32>\n"
                                 "    %b = graph.read @b : tensor<4x8xf32>\n"
                                 "    graph.assign @a, %b : tensor<4x8xf32>\n"
                                 "    graph.assign @b, %a : tensor<4x8xf32>\n",
                                 variables));
  ASSERT_TRUE(plan) << errors_;
  EXPECT_EQ(describeStep(*plan), "copy(b->b.previous) copy(a->a.previous) | "
                                 "copy(b.previous->a) copy(a.previous->b)");
}

TEST_F(CodegenTest, MaskInputsAndOutputsAreConvertedAtTheBoundary) {
  auto plan = compile("module {\n  func.func @step() {\n"
                      "    %m = graph.input \"m\" : tensor<5xi1>\n"
                      "    %x = graph.input \"x\" : tensor<5xf32>\n"
                      "    %s = graph.select %m, %x, %x : tensor<5xi1>, tensor<5xf32>\n"
                      "    %c = graph.compare gt, %s, %x : tensor<5xf32>\n"
                      "    graph.output \"c\", %c : tensor<5xi1>\n"
                      "    return\n  }\n}\n");
  ASSERT_TRUE(plan) << errors_;
  EXPECT_EQ(describeStep(*plan), "mask_unpack_5 | step_select | step_compare | mask_pack_5");
  // The host's masks are one byte per element, rounded up to whole words.
  EXPECT_EQ(plan->buffers(plan->inputs(0).tensor().buffer()).size_bytes(), 8u);
  EXPECT_EQ(plan->buffers(plan->outputs(0).tensor().buffer()).size_bytes(), 8u);
  EXPECT_EQ(plan->inputs(0).tensor().dtype(), plan::DTYPE_I1);
}

TEST_F(CodegenTest, InputDefaultValuesAreEncodedLittleEndian) {
  auto plan = compile("module {\n  func.func @step() {\n"
                      "    %lr = graph.input \"lr\" {default_value = dense<1.0> : tensor<f32>} "
                      ": tensor<f32>\n"
                      "    %e = graph.exp %lr : tensor<f32>\n"
                      "    graph.output \"e\", %e : tensor<f32>\n"
                      "    return\n  }\n}\n");
  ASSERT_TRUE(plan) << errors_;
  EXPECT_EQ(plan->inputs(0).default_value(), std::string("\x00\x00\x80\x3f", 4));
}

/// Ops that compute (not views, which kernels recompute, nor interface ops).
bool isComputeOp(mlir::Operation *op) {
  return llvm::isa<graph::ElementwiseOpInterface, graph::IterationSpaceOpInterface>(op) &&
         !llvm::isa<graph::IndexViewOpInterface>(op);
}

int dispatchCount(const plan::Step &step) {
  return static_cast<int>(llvm::count_if(
      step.commands(), [](const plan::Command &command) { return command.has_dispatch(); }));
}

TEST_F(CodegenTest, MlpWithoutFusionHasOneDispatchPerComputeOpAndTrailingAssigns) {
  codegen::CodegenOptions options = unplanned();
  options.fusion = false;
  options.targets = {plan::TARGET_VULKAN};
  auto plan = compileMlp(32, /*extractEval=*/false, options);
  ASSERT_TRUE(plan);
  int computeOps = 0, assigns = 0;
  module_->walk([&](mlir::Operation *op) {
    computeOps += isComputeOp(op);
    assigns += llvm::isa<graph::AssignOp>(op);
  });
  int copies = 0;
  bool copySeen = false;
  std::set<std::string> variableNames;
  for (const plan::Variable &variable : plan->variables())
    variableNames.insert(variable.tensor().name());
  for (const plan::Command &command : plan->step().commands()) {
    if (command.has_dispatch())
      EXPECT_FALSE(copySeen) << "a dispatch runs after the assigns began";
    if (command.has_copy()) {
      ++copies;
      copySeen = true;
      EXPECT_EQ(variableNames.count(plan->buffers(command.copy().dst_buffer()).name()), 1u);
    }
  }
  EXPECT_GT(computeOps, 20);
  EXPECT_EQ(dispatchCount(plan->step()), computeOps);
  EXPECT_EQ(copies, assigns);
  // Four parameters with Adam: the parameters, their m and v, and the step counter.
  EXPECT_EQ(assigns, 13);
  std::set<std::string> kernelNames;
  for (const plan::Kernel &kernel : plan->kernels())
    EXPECT_TRUE(kernelNames.insert(kernel.name()).second) << kernel.name() << " twice";
}

TEST_F(CodegenTest, FusionCutsTheMlpStepToAFewKernelsNamedAfterItsLayers) {
  codegen::CodegenOptions unfusedOptions = unplanned();
  unfusedOptions.fusion = false;
  unfusedOptions.targets = {plan::TARGET_VULKAN};
  auto unfused = compileMlp(32, false, unfusedOptions);
  codegen::CodegenOptions fusedOptions = unplanned();
  fusedOptions.targets = {plan::TARGET_VULKAN};
  auto fused = compileMlp(32, false, fusedOptions);
  ASSERT_TRUE(unfused && fused);
  int before = dispatchCount(unfused->step()), after = dispatchCount(fused->step());
  EXPECT_LE(after * 10, before * 4) << after << " fused vs " << before << " unfused";
  int multiOp = 0;
  for (const plan::Kernel &kernel : fused->kernels()) {
    EXPECT_FALSE(kernel.kind().empty()) << kernel.name();
    multiOp += kernel.compute_ops() > 1;
    for (const plan::SourceOp &source : kernel.source_ops())
      EXPECT_FALSE(source.location().empty()) << kernel.name() << ": " << source.op_name();
  }
  EXPECT_GT(multiOp, 5);
  // Every matmul of the forward pass carries its bias (and activation) as an epilogue.
  int matmulWithBias = 0;
  for (const plan::Kernel &kernel : fused->kernels())
    if (kernel.kind() == "matmul" &&
        llvm::any_of(kernel.source_ops(),
                     [](const plan::SourceOp &op) { return op.op_name() == "graph.add"; }))
      ++matmulWithBias;
  EXPECT_GE(matmulWithBias, 2);
  // Every transient value of the fused plan is a kernel result: no copies but the assigns.
  for (const plan::Command &command : fused->step().commands())
    if (command.has_copy())
      EXPECT_EQ(fused->buffers(command.copy().dst_buffer()).role(), plan::BUFFER_ROLE_VARIABLE);
}

TEST_F(CodegenTest, MlpBarriersSitExactlyOnHazards) {
  auto plan = compileMlp(32);
  ASSERT_TRUE(plan);
  expectBarriersExactlyOnHazards(*plan);
}

TEST_F(CodegenTest, OtherFunctionsBecomeProgramsSharingVariablesAndInputs) {
  auto plan = compileMlp(32, /*extractEval=*/true);
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->programs_size(), 1);
  const plan::Step &eval = plan->programs(0);
  EXPECT_EQ(eval.name(), "eval");
  EXPECT_EQ(plan->step().name(), "train");
  auto inputNames = [&](const plan::Step &program) {
    std::set<std::string> names;
    for (uint32_t index : program.inputs())
      names.insert(plan->inputs(index).tensor().name());
    return names;
  };
  EXPECT_EQ(inputNames(eval), (std::set<std::string>{"images", "labels"}));
  EXPECT_EQ(inputNames(plan->step()), (std::set<std::string>{"images", "labels", "learning_rate"}));
  ASSERT_EQ(eval.outputs_size(), 1);
  ASSERT_EQ(plan->step().outputs_size(), 1);
  EXPECT_EQ(plan->outputs(eval.outputs(0)).tensor().name(), "loss");
  EXPECT_NE(eval.outputs(0), plan->step().outputs(0));
  // Eval reads the parameters in place and writes none of them.
  std::set<uint32_t> variableBuffers;
  for (const plan::Variable &variable : plan->variables())
    variableBuffers.insert(variable.tensor().buffer());
  bool readsParameters = false;
  for (const plan::Command &command : eval.commands()) {
    EXPECT_FALSE(command.has_copy());
    if (!command.has_dispatch())
      continue;
    EXPECT_EQ(variableBuffers.count(command.dispatch().buffers(0)), 0u);
    for (uint32_t buffer : command.dispatch().buffers())
      readsParameters |= variableBuffers.count(buffer) > 0;
  }
  EXPECT_TRUE(readsParameters);
  plan::Plan evalOnly;
  *evalOnly.mutable_step() = eval;
  *evalOnly.mutable_kernels() = plan->kernels();
  expectBarriersExactlyOnHazards(evalOnly);
}

TEST_F(CodegenTest, CompilingTwiceGivesIdenticalBytes) {
  // With every stage on: fusion, both targets, memory planning.
  auto first = compileMlp(32, false, codegen::CodegenOptions{});
  ASSERT_TRUE(first);
  mlir::FailureOr<plan::Plan> again = compileToPlan(*module_);
  ASSERT_TRUE(mlir::succeeded(again));
  // A fresh context parses and allocates everything anew.
  module_ = nullptr;
  context_ = makeContext();
  auto second = compileMlp(32, false, codegen::CodegenOptions{});
  ASSERT_TRUE(second);
  std::string bytes = plan::serializePlan(*first);
  EXPECT_EQ(bytes, plan::serializePlan(*again));
  EXPECT_EQ(bytes, plan::serializePlan(*second));
  EXPECT_EQ(plan::encodePlanFile(*first), plan::encodePlanFile(*second));
}

TEST_F(CodegenTest, MetadataNamesModelVersionTargetAndSourceModule) {
  auto plan = compileMlp(8);
  ASSERT_TRUE(plan);
  const plan::Metadata &metadata = plan->metadata();
  EXPECT_EQ(metadata.model_name(), "mlp");
  EXPECT_EQ(metadata.compiler_version(), codegen::compilerVersion());
  EXPECT_EQ(std::string(codegen::compilerVersion()).rfind("kiln ", 0), 0u);
  // Every target by default.
  ASSERT_EQ(metadata.targets_size(), 3);
  EXPECT_EQ(metadata.targets(0), plan::TARGET_VULKAN);
  EXPECT_EQ(metadata.targets(1), plan::TARGET_CUDA);
  EXPECT_EQ(metadata.targets(2), plan::TARGET_CPU);
  EXPECT_EQ(plan->cpu_images_size(), 3);
  for (const plan::Kernel &kernel : plan->kernels()) {
    EXPECT_FALSE(kernel.spirv().empty()) << kernel.name();
    EXPECT_EQ(kernel.cpu_entries_size(), 3) << kernel.name();
    // sm_80 PTX, which the driver compiles for every device of compute capability 8.0 or newer.
    ASSERT_EQ(kernel.ptx_code_size(), 1) << kernel.name();
    EXPECT_EQ(kernel.ptx_code(0).arch(), "sm_80");
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  module_->print(os, mlir::OpPrintingFlags().enableDebugInfo(true, false));
  EXPECT_EQ(plan->graph_module(), os.str());
  EXPECT_NE(plan->graph_module().find("loc(\"test.mlir\":"), std::string::npos);
  EXPECT_EQ(metadata.source_ir_hash(), toHex(sha256(os.str())));
  EXPECT_EQ(plan->step().name(), "train");
  EXPECT_EQ(plan->step().inputs_size(), 3); // images, labels, learning_rate
  EXPECT_EQ(plan->step().outputs_size(), 1);
  auto other = compileMlp(16);
  ASSERT_TRUE(other);
  EXPECT_NE(other->metadata().source_ir_hash(), metadata.source_ir_hash());
}

TEST_F(CodegenTest, HighRankTransposesCompile) {
  auto plan = compile("module {\n  func.func @step() {\n"
                      "    %x = graph.input \"x\" : tensor<1x2x1x2x1x2x3xf32>\n"
                      "    %t = graph.transpose %x [6, 5, 4, 3, 2, 1, 0] : "
                      "tensor<1x2x1x2x1x2x3xf32> -> tensor<3x2x1x2x1x2x1xf32>\n"
                      "    graph.output \"t\", %t : tensor<3x2x1x2x1x2x1xf32>\n"
                      "    return\n  }\n}\n");
  ASSERT_TRUE(plan) << errors_;
  EXPECT_EQ(describeStep(*plan), "step_transpose");
}

TEST_F(CodegenTest, UnloweredMinimizeIsAnError) {
  auto plan = compile(stepModule("    %s = graph.reduce_sum %x [0, 1] : tensor<4x8xf32> -> "
                                 "tensor<f32>\n"
                                 "    graph.minimize %s : tensor<f32>\n"));
  EXPECT_FALSE(plan);
  EXPECT_NE(errors_.find("test.mlir\":6:5"), std::string::npos) << errors_;
  EXPECT_NE(errors_.find("'graph.minimize' op cannot be compiled for the Vulkan target"),
            std::string::npos)
      << errors_;
}

TEST_F(CodegenTest, GradientsBecomeNamedOutputs) {
  auto plan = compile(stepModule("    %v = graph.read @v : tensor<4x8xf32>\n"
                                 "    %g = graph.mul %v, %x : tensor<4x8xf32>\n"
                                 "    graph.gradient @v, %g : tensor<4x8xf32>\n",
                                 "  graph.variable @v trainable : tensor<4x8xf32> = "
                                 "#graph.init<constant(1.0), seed = 0, stream = 0>\n"));
  ASSERT_TRUE(plan) << errors_;
  ASSERT_EQ(plan->outputs_size(), 1);
  EXPECT_EQ(plan->outputs(0).tensor().name(), codegen::gradientOutputName("v"));
  EXPECT_EQ(plan->outputs(0).tensor().name(), "gradient/v");
}

TEST_F(CodegenTest, OversizedTensorIsAnError) {
  auto plan = compile("module {\n  func.func @step() {\n"
                      "    %x = graph.input \"x\" : tensor<8192x4097xf32>\n"
                      "    graph.output \"x\", %x : tensor<8192x4097xf32>\n"
                      "    return\n  }\n}\n");
  EXPECT_FALSE(plan);
  EXPECT_NE(errors_.find("'graph.input' op cannot be compiled for the Vulkan target"),
            std::string::npos)
      << errors_;
  EXPECT_NE(errors_.find("128 MiB"), std::string::npos) << errors_;
}

} // namespace
} // namespace kiln::codegen_test
