//===- DamagedPlansTest.cpp - A damaged plan is refused at load -----------===//
//
// Each test edits one thing of a valid compiled plan (the 784-128-10 Adam MLP
// with an eval program, memory-planned as `kiln compile` does) that used to
// crash the driver or let a kernel touch memory outside its buffers, and
// requires plan::checkPlanForLoad and Session::create to refuse it with that
// damage's own message. The load checks run before any device is created, so
// these tests need no Vulkan device.
//
//===----------------------------------------------------------------------===//

#include "../codegen/TestModules.h"
#include "VulkanTestSupport.h"

#include "kiln/runtime/PlanChecker.h"
#include "kiln/runtime/PlanLoadCheck.h"
#include "kiln/runtime/PlanValidation.h"
#include "kiln/runtime/SpirvModule.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>

namespace kiln::vulkan {
namespace {

using ::testing::HasSubstr;

constexpr int kBatch = 16;
constexpr uint32_t kOpFunctionEnd = 56, kOpDecorate = 71, kDecorationBinding = 33,
                   kDecorationDescriptorSet = 34;

/// The MLP of mlpModuleText with a "logits" output, so that kiln-extract-eval gives @eval.
absl::StatusOr<plan::Plan> compileMlp() {
  auto context = codegen_test::makeContext();
  codegen_test::DiagnosticCollector diagnostics(*context);
  std::string text = codegen_test::mlpModuleText(kBatch);
  const std::string loss = "    graph.output \"loss\"";
  text.replace(text.find(loss), 0,
               "    graph.output \"logits\", %z : tensor<" + std::to_string(kBatch) + "x10xf32>\n");
  mlir::OwningOpRef<mlir::ModuleOp> module = codegen_test::parseModule(text, *context);
  if (!module || mlir::failed(codegen_test::runTrainingStepPipeline(*module, true)))
    return absl::InternalError("pipeline failed: " + diagnostics.text());
  codegen::CodegenOptions options;
  options.targets = {plan::TARGET_VULKAN};
  mlir::FailureOr<plan::Plan> compiled = codegen::compileToPlan(*module, options);
  if (mlir::failed(compiled))
    return absl::InternalError("compileToPlan failed: " + diagnostics.text());
  return *std::move(compiled);
}

const plan::Plan &validPlan() {
  static const absl::StatusOr<plan::Plan> *compiled = new auto(compileMlp());
  EXPECT_TRUE(compiled->ok()) << compiled->status();
  static const plan::Plan empty;
  return compiled->ok() ? **compiled : empty;
}

std::vector<uint32_t> words(const std::string &bytes) {
  std::vector<uint32_t> result(bytes.size() / 4);
  std::memcpy(result.data(), bytes.data(), bytes.size());
  return result;
}

std::string bytes(const std::vector<uint32_t> &words) {
  return std::string(reinterpret_cast<const char *>(words.data()), words.size() * 4);
}

/// Calls `edit` on each instruction of the module (its word offset) until it returns true.
void forEachInstruction(std::vector<uint32_t> &module,
                        const std::function<bool(size_t at, uint32_t opcode)> &edit) {
  for (size_t at = 5; at < module.size(); at += module[at] >> 16)
    if (edit(at, module[at] & 0xffff))
      return;
}

/// The plan with kernel 0's SPIR-V words replaced by `damage(words)`.
plan::Plan withDamagedSpirv(const std::function<void(std::vector<uint32_t> &)> &damage) {
  plan::Plan plan = validPlan();
  std::vector<uint32_t> module = words(plan.kernels(0).spirv());
  damage(module);
  plan.mutable_kernels(0)->set_spirv(bytes(module));
  return plan;
}

/// The refusal of checkPlanForLoad, after requiring that validatePlan accepts the plan (the
/// damage is one only the load checks see) and that Session::create refuses it the same way.
std::string refusal(const plan::Plan &plan) {
  EXPECT_TRUE(plan::validatePlan(plan).ok()) << plan::validatePlan(plan);
  absl::Status status = plan::checkPlanForLoad(plan);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  absl::StatusOr<std::unique_ptr<Session>> session = Session::create(plan);
  EXPECT_FALSE(session.ok());
  EXPECT_EQ(session.status().message(), "invalid plan: " + std::string(status.message()));
  return std::string(status.message());
}

TEST(DamagedPlans, TheUndamagedPlanPasses) {
  const plan::Plan &plan = validPlan();
  ASSERT_GT(plan.programs_size(), 0) << "the plan has an eval program";
  ASSERT_GT(plan.memory().arena_bytes(), 0u) << "the plan is memory-planned";
  EXPECT_TRUE(plan::checkPlanForLoad(plan).ok()) << plan::checkPlanForLoad(plan);
}

TEST(DamagedPlans, ZeroIdBound) {
  std::string message = refusal(withDamagedSpirv([](std::vector<uint32_t> &module) {
    module[3] = 0; // the header's id bound
  }));
  EXPECT_THAT(message, HasSubstr("kernel 0 ('" + validPlan().kernels(0).name() +
                                 "'): its SPIR-V fails validation (SPIRV-Tools, Vulkan 1.1): "));
  EXPECT_THAT(message, HasSubstr("Result <id> '0' must be less than the ID bound '0'"));
  EXPECT_THAT(message, HasSubstr("recompile the model with `kiln compile`"));
}

TEST(DamagedPlans, HeaderOnlyModule) {
  std::string message =
      refusal(withDamagedSpirv([](std::vector<uint32_t> &module) { module.resize(5); }));
  EXPECT_THAT(message, HasSubstr("its SPIR-V fails validation"));
  EXPECT_THAT(message, HasSubstr("Missing required OpMemoryModel instruction"));
}

TEST(DamagedPlans, MissingFunctionEnd) {
  std::string message = refusal(withDamagedSpirv([](std::vector<uint32_t> &module) {
    forEachInstruction(module, [&](size_t at, uint32_t opcode) {
      if (opcode != kOpFunctionEnd)
        return false;
      module.erase(module.begin() + at, module.begin() + at + 1);
      return true;
    });
  }));
  EXPECT_THAT(message, HasSubstr("its SPIR-V fails validation"));
  EXPECT_THAT(message, HasSubstr("Missing OpFunctionEnd"));
}

/// Sets the value of the first OpDecorate `decoration` in kernel 0's module.
plan::Plan withDecoration(uint32_t decoration, uint32_t value) {
  return withDamagedSpirv([&](std::vector<uint32_t> &module) {
    forEachInstruction(module, [&](size_t at, uint32_t opcode) {
      if (opcode != kOpDecorate || module[at + 2] != decoration)
        return false;
      module[at + 3] = value;
      return true;
    });
  });
}

TEST(DamagedPlans, DescriptorSetBeyondZero) {
  std::string message = refusal(withDecoration(kDecorationDescriptorSet, 1));
  EXPECT_THAT(message, HasSubstr("kernel 0 ('" + validPlan().kernels(0).name() +
                                 "'): its SPIR-V declares storage buffer '"));
  EXPECT_THAT(message, HasSubstr("in descriptor set 1 (binding 0), but the runtime binds only "
                                 "descriptor set 0"));
}

TEST(DamagedPlans, BindingBeyondTheKernelsBindingCount) {
  std::string message = refusal(withDecoration(kDecorationBinding, 1000));
  EXPECT_THAT(message, HasSubstr("at binding 1000 but the kernel has binding_count " +
                                 std::to_string(validPlan().kernels(0).binding_count())));
}

/// The first (program, command, binding) of a dispatch binding a transient buffer that no
/// copy uses, or nullopt.
struct BoundTransient {
  plan::Step *program;
  int command, binding;
  uint32_t buffer;
};

std::optional<BoundTransient> firstBoundTransient(plan::Plan &plan) {
  std::vector<bool> copied(plan.buffers_size(), false);
  for (const plan::ProgramView &view : plan::planPrograms(plan))
    for (const plan::Command &command : view.step->commands())
      if (command.has_copy())
        copied[command.copy().src_buffer()] = copied[command.copy().dst_buffer()] = true;
  plan::Step *step = plan.mutable_step();
  for (int index = 0; index < step->commands_size(); ++index) {
    if (!step->commands(index).has_dispatch())
      continue;
    const plan::Dispatch &dispatch = step->commands(index).dispatch();
    for (int binding = 0; binding < dispatch.buffers_size(); ++binding) {
      uint32_t buffer = dispatch.buffers(binding);
      if (plan.buffers(buffer).role() == plan::BUFFER_ROLE_TRANSIENT && !copied[buffer] &&
          plan.buffers(buffer).size_bytes() > 4)
        return BoundTransient{step, index, binding, buffer};
    }
  }
  return std::nullopt;
}

TEST(DamagedPlans, BoundBufferSmallerThanTheKernelDeclares) {
  plan::Plan plan = validPlan();
  std::optional<BoundTransient> bound = firstBoundTransient(plan);
  ASSERT_TRUE(bound);
  uint64_t declared = plan.buffers(bound->buffer).size_bytes();
  plan.mutable_buffers(bound->buffer)->set_size_bytes(4);
  const plan::Dispatch &dispatch = plan.step().commands(bound->command).dispatch();
  std::string message = refusal(plan);
  EXPECT_THAT(message,
              HasSubstr(absl::StrCat(
                  "step command ", bound->command, " (dispatch of kernel ", dispatch.kernel(),
                  " ('", plan.kernels(dispatch.kernel()).name(), "')): binding ", bound->binding,
                  " is buffer ", bound->buffer, " ('", plan.buffers(bound->buffer).name(),
                  "') of 4 bytes but the kernel's "
                  "SPIR-V declares ",
                  declared, " bytes there")));
  EXPECT_THAT(message, HasSubstr("bind a buffer of at least " + std::to_string(declared)));
}

TEST(DamagedPlans, OverlappingLiveArenaRanges) {
  // Two arena buffers one dispatch binds are live at the same time; put both at one offset.
  plan::Plan plan = validPlan();
  std::optional<std::pair<uint32_t, uint32_t>> pair;
  for (const plan::Command &command : plan.step().commands()) {
    if (!command.has_dispatch())
      continue;
    const auto &buffers = command.dispatch().buffers();
    for (int a = 0; a < buffers.size() && !pair; ++a)
      for (int b = 0; b < buffers.size() && !pair; ++b) {
        const plan::Buffer &left = plan.buffers(buffers[a]), &right = plan.buffers(buffers[b]);
        if (buffers[a] != buffers[b] && left.in_arena() && right.in_arena() &&
            left.arena_offset() != right.arena_offset() &&
            left.arena_offset() + right.size_bytes() <= plan.memory().arena_bytes())
          pair = {buffers[a], buffers[b]};
      }
    if (pair)
      break;
  }
  ASSERT_TRUE(pair) << "no dispatch binds two arena buffers";
  plan.mutable_buffers(pair->second)->set_arena_offset(plan.buffers(pair->first).arena_offset());
  std::string message = refusal(plan);
  EXPECT_THAT(message, HasSubstr("memory plan: "));
  EXPECT_THAT(message, HasSubstr("are live at the same time and overlap"));
  auto [low, high] = std::minmax(pair->first, pair->second);
  EXPECT_THAT(message, HasSubstr(absl::StrCat("buffer ", low, " ('", plan.buffers(low).name())));
  EXPECT_THAT(message, HasSubstr(absl::StrCat("buffer ", high, " ('", plan.buffers(high).name())));
}

TEST(DamagedPlans, RemovedBarriers) {
  plan::Plan plan = validPlan();
  auto *commands = plan.mutable_step()->mutable_commands();
  int before = commands->size();
  commands->erase(
      std::remove_if(commands->begin(), commands->end(),
                     [](const plan::Command &command) { return command.has_barrier(); }),
      commands->end());
  ASSERT_LT(commands->size(), before);
  std::string message = refusal(plan);
  EXPECT_THAT(message, HasSubstr("memory plan: program 'train' command "));
  EXPECT_THAT(message, HasSubstr("with no barrier between them"));
}

TEST(DamagedPlans, ScalarLogitsOutputOfEval) {
  plan::Plan plan = validPlan();
  int logits = -1;
  for (int index = 0; index < plan.outputs_size(); ++index)
    if (plan.outputs(index).tensor().name() == "logits")
      logits = index;
  ASSERT_GE(logits, 0);
  plan::TensorSpec &tensor = *plan.mutable_outputs(logits)->mutable_tensor();
  uint64_t declared = plan.buffers(tensor.buffer()).size_bytes();
  ASSERT_EQ(declared, uint64_t{kBatch} * 10 * 4);
  tensor.clear_shape();
  plan.mutable_buffers(tensor.buffer())->set_size_bytes(4);
  std::string message = refusal(plan);
  EXPECT_THAT(message, HasSubstr(absl::StrCat("program 'eval' output ", logits,
                                              " ('logits') is declared f32[] (4 bytes in buffer ",
                                              tensor.buffer())));
  EXPECT_THAT(message, HasSubstr(absl::StrCat("which the kernel declares as ", declared,
                                              " bytes; declare the output with the shape the "
                                              "kernel computes")));
}

/// Not an assertion (timings never are): prints what the load checks cost on this plan.
TEST(DamagedPlans, ReportsTheCostOfTheLoadChecks) {
  const plan::Plan &plan = validPlan();
  constexpr int kRuns = 20;
  auto start = std::chrono::steady_clock::now();
  for (int run = 0; run < kRuns; ++run)
    ASSERT_TRUE(plan::checkPlanForLoad(plan).ok());
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() /
      kRuns;
  auto timed = [&](auto &&check) {
    auto begin = std::chrono::steady_clock::now();
    for (int run = 0; run < kRuns; ++run)
      check();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin)
               .count() /
           kRuns;
  };
  double spirv = timed([&] {
    for (const plan::Kernel &kernel : plan.kernels())
      EXPECT_TRUE(plan::validateSpirv(kernel.spirv()).ok());
  });
  double memory = timed([&] { EXPECT_TRUE(plan::checkPlanMemory(plan).ok()); });
  std::printf("checkPlanForLoad: %.2f ms for %d kernels, %d buffers, %d commands (SPIR-V "
              "validation %.2f ms, checkPlanMemory %.2f ms)\n",
              ms, plan.kernels_size(), plan.buffers_size(), plan.step().commands_size(), spirv,
              memory);
}

} // namespace
} // namespace kiln::vulkan
