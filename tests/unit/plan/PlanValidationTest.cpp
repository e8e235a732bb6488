//===- PlanValidationTest.cpp - Every semantic rule, broken one at a time -===//

#include "TestPlans.h"

#include "kiln/runtime/PlanValidation.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <functional>
#include <string>

namespace kiln::plan {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::makeProgramsPlan;
using testing::makeValidPlan;

struct BrokenRule {
  std::string name;
  std::function<void(Plan &)> breakIt;
  std::string expectedMessage;
};

Dispatch &dispatchAt(Plan &plan, int command) {
  return *plan.mutable_step()->mutable_commands(command)->mutable_dispatch();
}

class PlanValidationTest : public ::testing::TestWithParam<BrokenRule> {};

TEST(PlanValidityTest, TestPlanIsValid) {
  absl::Status status = validatePlan(makeValidPlan());
  EXPECT_TRUE(status.ok()) << status;
}

TEST_P(PlanValidationTest, RejectsWithSpecificMessage) {
  Plan plan = makeValidPlan();
  GetParam().breakIt(plan);
  absl::Status status = validatePlan(plan);
  ASSERT_FALSE(status.ok()) << GetParam().name << " was accepted";
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(GetParam().expectedMessage));
}

const BrokenRule kBrokenRules[] = {
    {"NoTargets", [](Plan &p) { p.mutable_metadata()->clear_targets(); },
     "metadata lists no targets"},
    {"UnknownTarget", [](Plan &p) { p.mutable_metadata()->add_targets(static_cast<Target>(9)); },
     "unknown target 9"},
    {"UnknownFeature", [](Plan &p) { p.add_required_features(DEVICE_FEATURE_UNSPECIFIED); },
     "unknown device feature 0"},
    {"KernelWithoutSpirv", [](Plan &p) { p.mutable_kernels(1)->clear_spirv(); },
     "kernel 1 ('scale') has no SPIR-V but the plan targets vulkan"},
    {"SpirvNotWords", [](Plan &p) { p.mutable_kernels(0)->mutable_spirv()->push_back('x'); },
     "21 bytes of SPIR-V"},
    {"SpirvBadMagic", [](Plan &p) { (*p.mutable_kernels(0)->mutable_spirv())[0] = 0; },
     "SPIR-V does not start with the magic"},
    {"CudaWithoutPtx", [](Plan &p) { p.mutable_metadata()->add_targets(TARGET_CUDA); },
     "kernel 0 ('add') has no PTX but the plan targets cuda"},
    {"ZeroWorkgroup", [](Plan &p) { p.mutable_kernels(0)->mutable_workgroup_size()->set_y(0); },
     "has workgroup size 64x0x1"},
    {"DuplicateKernel", [](Plan &p) { p.mutable_kernels(1)->set_name("add"); },
     "two kernels are named 'add'"},
    {"NoEntryPoint", [](Plan &p) { p.mutable_kernels(0)->clear_entry_point(); },
     "kernel 0 ('add') has no entry point"},
    {"OddPushConstantDeclaration", [](Plan &p) { p.mutable_kernels(1)->set_push_constant_size(6); },
     "declares 6 bytes of push constants"},
    {"BufferSizeNotMultipleOf4", [](Plan &p) { p.mutable_buffers(2)->set_size_bytes(18); },
     "buffer 2 ('sum') is 18 bytes; buffer sizes must be a non-zero multiple of 4"},
    {"BufferSizeZero", [](Plan &p) { p.mutable_buffers(4)->set_size_bytes(0); },
     "buffer 4 ('next') is 0 bytes"},
    {"BufferWithoutRole", [](Plan &p) { p.mutable_buffers(2)->set_role(BUFFER_ROLE_UNSPECIFIED); },
     "buffer 2 ('sum') has no role"},
    {"ArenaOffsetWithoutArena", [](Plan &p) { p.mutable_buffers(2)->set_arena_offset(64); },
     "buffer 2 ('sum') has arena offset 64 but is not in_arena"},
    {"ArenaOnVariable",
     [](Plan &p) {
       p.mutable_memory()->set_alignment(256);
       p.mutable_memory()->set_arena_bytes(256);
       p.mutable_buffers(testing::kAccumulator)->set_in_arena(true);
     },
     "buffer 3 ('acc') is a variable buffer in the arena; only transient buffers may be in_arena"},
    {"ArenaWithoutAlignment",
     [](Plan &p) {
       p.mutable_memory()->set_arena_bytes(256);
       p.mutable_buffers(testing::kSum)->set_in_arena(true);
     },
     "buffer 2 ('sum') is in the arena but memory.alignment is 0"},
    {"ArenaAlignmentNotPowerOfTwo",
     [](Plan &p) {
       p.mutable_memory()->set_alignment(48);
       p.mutable_memory()->set_arena_bytes(256);
       p.mutable_buffers(testing::kSum)->set_in_arena(true);
     },
     "memory.alignment is 48; it must be a power of two"},
    {"ArenaOffsetUnaligned",
     [](Plan &p) {
       p.mutable_memory()->set_alignment(256);
       p.mutable_memory()->set_arena_bytes(1024);
       p.mutable_buffers(testing::kSum)->set_in_arena(true);
       p.mutable_buffers(testing::kSum)->set_arena_offset(64);
     },
     "buffer 2 ('sum') has arena offset 64, not a multiple of memory.alignment 256"},
    {"ArenaOffsetBeyondEnd",
     [](Plan &p) {
       p.mutable_memory()->set_alignment(256);
       p.mutable_memory()->set_arena_bytes(256);
       p.mutable_buffers(testing::kSum)->set_in_arena(true);
       p.mutable_buffers(testing::kSum)->set_arena_offset(256);
     },
     "buffer 2 ('sum') occupies arena bytes [256, 272) but memory.arena_bytes is 256"},
    {"LegacyPtxField", [](Plan &p) { p.mutable_kernels(0)->set_ptx("//"); },
     "kernel 0 ('add') sets the unused field ptx"},
    {"ConstantDataSize", [](Plan &p) { p.mutable_buffers(6)->mutable_constant_data()->resize(8); },
     "is a 16-byte constant but carries 8 bytes of data"},
    {"DataOnNonConstant", [](Plan &p) { p.mutable_buffers(2)->set_constant_data("abcd"); },
     "is a transient buffer but carries constant data"},
    {"KernelIndexOutOfRange", [](Plan &p) { dispatchAt(p, 2).set_kernel(2); },
     "step command 2 (dispatch) names kernel 2 but the plan has 2 kernels"},
    {"BindingCountMismatch", [](Plan &p) { dispatchAt(p, 4).add_buffers(0); },
     "step command 4 (dispatch of kernel 'scale') binds 3 buffers but the kernel has 2 bindings"},
    {"DispatchBufferOutOfRange", [](Plan &p) { dispatchAt(p, 0).set_buffers(1, 12); },
     "step command 0 (dispatch of kernel 'add'): binding 1 names buffer 12 but the plan has 7 "
     "buffers"},
    {"GroupCountZero", [](Plan &p) { dispatchAt(p, 2).mutable_group_count()->set_z(0); },
     "step command 2 (dispatch of kernel 'add') has group count 1x1x0"},
    {"GroupCountMissing", [](Plan &p) { dispatchAt(p, 0).clear_group_count(); },
     "has group count 0x0x0"},
    {"PushConstantsTooLarge", [](Plan &p) { dispatchAt(p, 4).mutable_push_constants()->resize(8); },
     "pushes 8 bytes of push constants but the kernel declares 4"},
    {"PushConstantsOnKernelWithoutThem",
     [](Plan &p) { dispatchAt(p, 0).set_push_constants("abcd"); },
     "(dispatch of kernel 'add') pushes 4 bytes of push constants but the kernel declares 0"},
    {"EmptyCommand", [](Plan &p) { p.mutable_step()->add_commands(); }, "step command 7 is empty"},
    {"CopySourceOutOfRange",
     [](Plan &p) { p.mutable_step()->mutable_commands(6)->mutable_copy()->set_src_buffer(7); },
     "step command 6 (copy) names buffer 7 but the plan has 7 buffers"},
    {"CopyTooLarge",
     [](Plan &p) { p.mutable_step()->mutable_commands(6)->mutable_copy()->set_size_bytes(20); },
     "copies 20 bytes but the smaller buffer has 16"},
    {"CopyOntoItself",
     [](Plan &p) { p.mutable_step()->mutable_commands(6)->mutable_copy()->set_dst_buffer(5); },
     "copies a buffer onto itself"},
    {"CopyIntoConstant",
     [](Plan &p) { p.mutable_step()->mutable_commands(6)->mutable_copy()->set_dst_buffer(6); },
     "writes a constant buffer, which no program may change"},
    {"InputMissingBuffer", [](Plan &p) { p.mutable_inputs(0)->mutable_tensor()->set_buffer(9); },
     "input 'a' names buffer 9 but the plan has 7 buffers"},
    {"OutputMissingBuffer", [](Plan &p) { p.mutable_outputs(0)->mutable_tensor()->set_buffer(7); },
     "output 'out' names buffer 7 but the plan has 7 buffers"},
    {"VariableMissingBuffer",
     [](Plan &p) { p.mutable_variables(0)->mutable_tensor()->set_buffer(100); },
     "variable 'acc' names buffer 100 but the plan has 7 buffers"},
    {"TensorSizeMismatch", [](Plan &p) { p.mutable_inputs(1)->mutable_tensor()->set_shape(0, 5); },
     "input 'b' is f32[5] (20 bytes, 20 rounded up to 4) but buffer 1 ('b') is 16 bytes"},
    {"TensorDtypeSizeMismatch",
     [](Plan &p) { p.mutable_variables(0)->mutable_tensor()->set_dtype(DTYPE_F64); },
     "variable 'acc' is f64[4] (32 bytes, 32 rounded up to 4) but buffer 3 ('acc') is 16 bytes"},
    {"TensorWrongRole", [](Plan &p) { p.mutable_outputs(0)->mutable_tensor()->set_buffer(4); },
     "output 'out' lives in buffer 4 ('next') whose role is transient; it must be output"},
    {"TensorNegativeExtent",
     [](Plan &p) { p.mutable_inputs(0)->mutable_tensor()->set_shape(0, -4); },
     "input 'a' has extent -4"},
    {"TensorNoDtype",
     [](Plan &p) { p.mutable_inputs(0)->mutable_tensor()->set_dtype(DTYPE_UNSPECIFIED); },
     "input 'a' has no dtype"},
    {"DuplicateInputName", [](Plan &p) { p.mutable_inputs(1)->mutable_tensor()->set_name("a"); },
     "two inputs are named 'a'"},
    {"TwoTensorsOneBuffer", [](Plan &p) { p.mutable_inputs(1)->mutable_tensor()->set_buffer(0); },
     "input 'b' and input 'a' both name buffer 0 ('a')"},
    {"UnnamedInputBuffer", [](Plan &p) { p.mutable_inputs()->RemoveLast(); },
     "buffer 1 ('b') has role input but no input names it"},
    {"DefaultValueSize", [](Plan &p) { p.mutable_inputs(1)->set_default_value("abcd"); },
     "input 'b' has a 4-byte default value but is f32[4] (16 bytes)"},
    {"RandomIntegerVariable",
     [](Plan &p) { p.mutable_variables(0)->mutable_tensor()->set_dtype(DTYPE_I32); },
     "random initializers need f32 or f64"},
};

INSTANTIATE_TEST_SUITE_P(BrokenRules, PlanValidationTest, ::testing::ValuesIn(kBrokenRules),
                         [](const ::testing::TestParamInfo<BrokenRule> &info) {
                           return info.param.name;
                         });

Step &eval(Plan &plan) { return *plan.mutable_programs(0); }

/// The rules about programs, each broken in makeProgramsPlan().
class ProgramValidationTest : public ::testing::TestWithParam<BrokenRule> {};

TEST(ProgramValidityTest, ProgramsPlanIsValid) {
  absl::Status status = validatePlan(makeProgramsPlan());
  EXPECT_TRUE(status.ok()) << status;
}

TEST(ProgramValidityTest, UnnamedStepAndSharedInputsAreValid) {
  Plan plan = makeProgramsPlan();
  plan.mutable_step()->clear_name();
  eval(plan).add_inputs(1);
  eval(plan).mutable_commands(0)->mutable_dispatch()->set_buffers(1, testing::kB);
  absl::Status status = validatePlan(plan);
  EXPECT_TRUE(status.ok()) << status;
}

TEST(ProgramValidityTest, LegacyStepOwnsOutputsNoOtherProgramLists) {
  Plan plan = makeProgramsPlan();
  plan.mutable_step()->clear_inputs();
  plan.mutable_step()->clear_outputs();
  absl::Status status = validatePlan(plan);
  EXPECT_TRUE(status.ok()) << status;
  std::vector<ProgramView> programs = planPrograms(plan);
  ASSERT_EQ(programs.size(), 2u);
  EXPECT_EQ(programs[0].name, "train");
  EXPECT_EQ(programs[0].step, &plan.step());
  EXPECT_THAT(programs[0].inputs, ElementsAre(0u, 1u));
  EXPECT_THAT(programs[0].outputs, ElementsAre(0u));
  EXPECT_EQ(programs[1].name, "eval");
  EXPECT_EQ(programs[1].step, &plan.programs(0));
  EXPECT_THAT(programs[1].inputs, ElementsAre(0u));
  EXPECT_THAT(programs[1].outputs, ElementsAre(1u));
}

TEST(ProgramValidityTest, PlanWithoutProgramsIsTheTrainingStepAlone) {
  Plan plan = makeValidPlan();
  std::vector<ProgramView> programs = planPrograms(plan);
  ASSERT_EQ(programs.size(), 1u);
  EXPECT_EQ(programs[0].name, "train");
  EXPECT_THAT(programs[0].inputs, ElementsAre(0u, 1u));
  EXPECT_THAT(programs[0].outputs, ElementsAre(0u));
  EXPECT_EQ(programs[0].step->commands_size(), 7);
}

TEST_P(ProgramValidationTest, RejectsWithSpecificMessage) {
  Plan plan = makeProgramsPlan();
  GetParam().breakIt(plan);
  absl::Status status = validatePlan(plan);
  ASSERT_FALSE(status.ok()) << GetParam().name << " was accepted";
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(GetParam().expectedMessage));
}

const BrokenRule kBrokenProgramRules[] = {
    {"StepNamedOtherThanTrain", [](Plan &p) { p.mutable_step()->set_name("fit"); },
     "the training step (Plan.step) is named 'fit'; it must be named 'train' or left unnamed"},
    {"UnnamedProgram", [](Plan &p) { eval(p).clear_name(); },
     "program 0 of Plan.programs has no name"},
    {"ProgramNamedTrain", [](Plan &p) { eval(p).set_name("train"); },
     "program 0 is named 'train', which is reserved for the training step (Plan.step)"},
    {"DuplicateProgramName",
     [](Plan &p) {
       Step *copy = p.add_programs();
       copy->set_name("eval");
     },
     "two programs are named 'eval'"},
    {"ProgramInputOutOfRange", [](Plan &p) { eval(p).add_inputs(2); },
     "program 'eval' lists input 2 but the plan has 2 inputs"},
    {"ProgramInputRepeated", [](Plan &p) { eval(p).add_inputs(0); },
     "program 'eval' lists input 0 ('a') more than once"},
    {"StepOutputOutOfRange", [](Plan &p) { p.mutable_step()->set_outputs(0, 7); },
     "the training step lists output 7 but the plan has 2 outputs"},
    {"StepInputRepeated", [](Plan &p) { p.mutable_step()->add_inputs(1); },
     "the training step lists input 1 ('b') more than once"},
    {"ProgramOutputRepeated", [](Plan &p) { eval(p).add_outputs(1); },
     "program 'eval' lists output 1 ('out') more than once"},
    {"OutputInTwoPrograms", [](Plan &p) { eval(p).add_outputs(0); },
     "output 0 ('out') is listed by programs 'train' and 'eval'; an output belongs to exactly "
     "one program"},
    {"OutputOfNoProgram", [](Plan &p) { eval(p).clear_outputs(); },
     "output 1 ('out') belongs to no program; list it in the outputs of the program that "
     "writes it"},
    {"OutputNamesRepeatWithinProgram",
     [](Plan &p) {
       eval(p).clear_outputs();
       p.mutable_step()->clear_outputs();
     },
     "program 'train' has two outputs named 'out'; output names must be unique within a "
     "program"},
    {"ProgramCopiesIntoInput",
     [](Plan &p) {
       Copy *copy = eval(p).add_commands()->mutable_copy();
       copy->set_src_buffer(testing::kEvalOut);
       copy->set_dst_buffer(testing::kA);
       copy->set_size_bytes(16);
     },
     "program 'eval' command 3 (copy buffer 7 ('eval.out') -> buffer 0 ('a')) writes an input "
     "buffer, which no program may change"},
    {"ProgramCopiesIntoConstant",
     [](Plan &p) {
       Copy *copy = eval(p).add_commands()->mutable_copy();
       copy->set_src_buffer(testing::kEvalOut);
       copy->set_dst_buffer(testing::kTable);
       copy->set_size_bytes(16);
     },
     "writes a constant buffer, which no program may change"},
    {"ProgramReadsUnlistedInput",
     [](Plan &p) { eval(p).mutable_commands(0)->mutable_dispatch()->set_buffers(1, testing::kB); },
     "program 'eval' command 0 binding 1 uses buffer 1 ('b') of input 'b' but program 'eval' "
     "does not list that input in its inputs"},
    {"StepReadsUnlistedInput", [](Plan &p) { p.mutable_step()->mutable_inputs()->RemoveLast(); },
     "step command 0 binding 1 uses buffer 1 ('b') of input 'b' but program 'train' does not "
     "list that input"},
    {"ProgramCopiesFromUnlistedInput",
     [](Plan &p) {
       Copy *copy = eval(p).add_commands()->mutable_copy();
       copy->set_src_buffer(testing::kB);
       copy->set_dst_buffer(testing::kEvalSum);
       copy->set_size_bytes(16);
     },
     "program 'eval' command 3 (copy) uses buffer 1 ('b') of input 'b'"},
    {"ProgramDispatchBadKernel",
     [](Plan &p) { eval(p).mutable_commands(2)->mutable_dispatch()->set_kernel(4); },
     "program 'eval' command 2 (dispatch) names kernel 4 but the plan has 2 kernels"},
    {"ProgramEmptyCommand", [](Plan &p) { eval(p).add_commands(); },
     "program 'eval' command 3 is empty"},
};

INSTANTIATE_TEST_SUITE_P(BrokenProgramRules, ProgramValidationTest,
                         ::testing::ValuesIn(kBrokenProgramRules),
                         [](const ::testing::TestParamInfo<BrokenRule> &info) {
                           return info.param.name;
                         });

TEST(PlanQueriesTest, SizesAndNames) {
  TensorSpec tensor;
  tensor.set_dtype(DTYPE_I1);
  tensor.add_shape(3);
  tensor.add_shape(3);
  EXPECT_EQ(tensorByteSize(tensor), 9u);
  EXPECT_EQ(tensorBufferSize(tensor), 12u);
  EXPECT_EQ(describeTensor(tensor), "i1[3x3]");
  tensor.clear_shape();
  tensor.set_dtype(DTYPE_F64);
  EXPECT_EQ(tensorByteSize(tensor), 8u);
  EXPECT_EQ(describeTensor(tensor), "f64[]");
  EXPECT_STREQ(targetName(TARGET_VULKAN), "vulkan");
  EXPECT_STREQ(targetName(TARGET_CUDA), "cuda");
  EXPECT_STREQ(targetName(TARGET_CPU), "cpu");
  EXPECT_EQ(*hostDType(planDType(kiln::DType::kI32)), kiln::DType::kI32);
  EXPECT_FALSE(hostDType(DTYPE_UNSPECIFIED).ok());
}

} // namespace
} // namespace kiln::plan
