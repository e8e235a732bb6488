//===- CudaSessionTest.cpp - A hand-written PTX plan on a CUDA device -----===//
//
// A plan written by hand, independent of the compiler: one PTX kernel
// (out[i] = 2 x[i] + y[i], i < 256, compiled by nvcc for sm_80, PTX 8.0),
// dispatched twice per step with a transient placed in the arena, a copy that
// updates a variable (graph.assign), and an "eval" program. What the session
// core does on every device (steps against the host, the two step slots,
// programs, variable I/O, bad inputs) is the conformance suite's
// (tests/unit/conformance); these tests keep what is CUDA's: the captured
// graph's nodes, the PTX arch loaded, and the JIT's errors. Without a driver
// or device they report SKIPPED with the reason; the plan's validity is
// checked everywhere.
//
//===----------------------------------------------------------------------===//

#include "CudaTestSupport.h"

#include "kiln/runtime/PlanValidation.h"
#include "kiln/runtime/cuda/Session.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <cstring>
#include <vector>

namespace kiln::cuda {
namespace {

using testing::HasSubstr;

constexpr int kElements = 256;

/// The PTX nvcc 13 prints for
///   extern "C" __global__ void axpy(const float *x, const float *y, float *out) {
///     unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
///     if (i < 256) out[i] = 2.0f * x[i] + y[i];
///   }
/// with -arch=sm_80, its .version lowered to 8.0 so CUDA 12 drivers load it too.
constexpr char kAxpyPtx[] = R"PTX(
.version 8.0
.target sm_80
.address_size 64

	// .globl	axpy

.visible .entry axpy(
	.param .u64 axpy_param_0,
	.param .u64 axpy_param_1,
	.param .u64 axpy_param_2
)
{
	.reg .pred 	%p<2>;
	.reg .f32 	%f<4>;
	.reg .b32 	%r<5>;
	.reg .b64 	%rd<11>;


	ld.param.u64 	%rd1, [axpy_param_0];
	ld.param.u64 	%rd2, [axpy_param_1];
	ld.param.u64 	%rd3, [axpy_param_2];
	mov.u32 	%r2, %ctaid.x;
	mov.u32 	%r3, %ntid.x;
	mov.u32 	%r4, %tid.x;
	mad.lo.s32 	%r1, %r2, %r3, %r4;
	setp.gt.u32 	%p1, %r1, 255;
	@%p1 bra 	$L__BB0_2;

	cvta.to.global.u64 	%rd4, %rd1;
	mul.wide.u32 	%rd5, %r1, 4;
	add.s64 	%rd6, %rd4, %rd5;
	ld.global.f32 	%f1, [%rd6];
	cvta.to.global.u64 	%rd7, %rd2;
	add.s64 	%rd8, %rd7, %rd5;
	ld.global.f32 	%f2, [%rd8];
	fma.rn.f32 	%f3, %f1, 0f40000000, %f2;
	cvta.to.global.u64 	%rd9, %rd3;
	add.s64 	%rd10, %rd9, %rd5;
	st.global.f32 	[%rd10], %f3;

$L__BB0_2:
	ret;

}
)PTX";

plan::Buffer *addBuffer(plan::Plan &plan, const char *name, plan::BufferRole role) {
  plan::Buffer *buffer = plan.add_buffers();
  buffer->set_name(name);
  buffer->set_size_bytes(kElements * 4);
  buffer->set_role(role);
  return buffer;
}

void setTensor(plan::TensorSpec *tensor, const char *name, uint32_t buffer) {
  tensor->set_name(name);
  tensor->set_dtype(plan::DTYPE_F32);
  tensor->add_shape(kElements);
  tensor->set_buffer(buffer);
}

void addDispatch(plan::Step *step, std::initializer_list<uint32_t> buffers) {
  plan::Dispatch *dispatch = step->add_commands()->mutable_dispatch();
  dispatch->set_kernel(0);
  for (uint32_t buffer : buffers)
    dispatch->add_buffers(buffer);
  dispatch->mutable_group_count()->set_x(kElements / 128);
  dispatch->mutable_group_count()->set_y(1);
  dispatch->mutable_group_count()->set_z(1);
}

/// Buffers: 0 x (input), 1 w (variable, all 1), 2 tmp (transient, arena offset 1024),
/// 3 out (step output), 4 evalOut (eval output). The step computes tmp = 2x + w,
/// out = 2 tmp + x, then w = tmp; eval computes evalOut = 2x + w.
plan::Plan axpyPlan(const std::string &ptx = kAxpyPtx) {
  plan::Plan plan;
  plan.mutable_metadata()->set_model_name("axpy");
  plan.mutable_metadata()->set_compiler_version("hand-written");
  plan.mutable_metadata()->add_targets(plan::TARGET_CUDA);
  plan::Kernel *kernel = plan.add_kernels();
  kernel->set_name("axpy");
  kernel->set_entry_point("axpy");
  kernel->mutable_workgroup_size()->set_x(128);
  kernel->mutable_workgroup_size()->set_y(1);
  kernel->mutable_workgroup_size()->set_z(1);
  kernel->set_binding_count(3);
  plan::PtxCode *code = kernel->add_ptx_code();
  code->set_arch("sm_80");
  code->set_ptx(ptx);

  addBuffer(plan, "x", plan::BUFFER_ROLE_INPUT);
  addBuffer(plan, "w", plan::BUFFER_ROLE_VARIABLE);
  plan::Buffer *tmp = addBuffer(plan, "tmp", plan::BUFFER_ROLE_TRANSIENT);
  tmp->set_in_arena(true);
  tmp->set_arena_offset(1024);
  addBuffer(plan, "out", plan::BUFFER_ROLE_OUTPUT);
  addBuffer(plan, "evalOut", plan::BUFFER_ROLE_OUTPUT);
  plan.mutable_memory()->set_arena_bytes(1024 + kElements * 4);
  plan.mutable_memory()->set_peak_live_bytes(kElements * 4);
  plan.mutable_memory()->set_naive_bytes(kElements * 4);
  plan.mutable_memory()->set_alignment(256);

  setTensor(plan.add_inputs()->mutable_tensor(), "x", 0);
  plan::Variable *variable = plan.add_variables();
  setTensor(variable->mutable_tensor(), "w", 1);
  variable->set_trainable(true);
  variable->mutable_initializer()->set_distribution(plan::Initializer::DISTRIBUTION_CONSTANT);
  variable->mutable_initializer()->set_a(1.0);
  setTensor(plan.add_outputs()->mutable_tensor(), "out", 3);
  setTensor(plan.add_outputs()->mutable_tensor(), "out", 4);

  plan::Step *step = plan.mutable_step();
  step->set_name("train");
  step->add_inputs(0);
  step->add_outputs(0);
  addDispatch(step, {0, 1, 2});
  step->add_commands()->mutable_barrier();
  addDispatch(step, {2, 0, 3});
  step->add_commands()->mutable_barrier();
  plan::Copy *copy = step->add_commands()->mutable_copy();
  copy->set_src_buffer(2);
  copy->set_dst_buffer(1);
  copy->set_size_bytes(kElements * 4);

  plan::Step *eval = plan.add_programs();
  eval->set_name("eval");
  eval->add_inputs(0);
  eval->add_outputs(1);
  addDispatch(eval, {0, 1, 4});
  return plan;
}

HostTensor inputFor(int step) {
  std::vector<float> x(kElements);
  for (int i = 0; i < kElements; ++i)
    x[i] = 0.25f * static_cast<float>((i * 7 + step * 3) % 17) - 2.0f;
  return HostTensor::f32({kElements}, x);
}

TEST(CudaAxpyPlan, IsAValidCudaPlan) {
  plan::Plan plan = axpyPlan();
  EXPECT_TRUE(plan::validatePlan(plan).ok()) << plan::validatePlan(plan);
  EXPECT_TRUE(checkPlanForCuda(plan).ok()) << checkPlanForCuda(plan);
}

TEST(CudaSession, GraphsCaptureEveryCommandAndStatsNameTheDevice) {
  KILN_REQUIRE_CUDA();
  auto session = Session::create(axpyPlan());
  ASSERT_TRUE(session.ok()) << session.status();
  std::vector<float> w(kElements, 1.0f);
  constexpr int kSteps = 3;
  for (int step = 0; step < kSteps; ++step) {
    HostTensor x = inputFor(step);
    ASSERT_TRUE((*session)->step({{"x", x}}).ok());
    for (int i = 0; i < kElements; ++i)
      w[i] = 2.0f * x.f32()[i] + w[i];
  }
  // The variable update is a plan copy inside the captured graph, ordered by the stream.
  auto variable = (*session)->variable("w");
  ASSERT_TRUE(variable.ok()) << variable.status();
  for (int i = 0; i < kElements; ++i)
    EXPECT_EQ(variable->f32()[i], w[i]) << i;

  SessionStats stats = (*session)->stats();
  EXPECT_EQ(stats.submitsPerStep, 1.0);
  EXPECT_EQ(stats.dispatchesPerStep, 2.0);
  EXPECT_EQ(stats.kernels, 1u);
  // 1 input copy + 2 kernels + 1 device copy + 1 output copy.
  EXPECT_EQ(stats.deviceMember("graph_nodes_per_step"), "5");
  EXPECT_EQ(stats.deviceMember("ptx_archs"), "\"sm_80\"");
  EXPECT_EQ(stats.arenaBytes, 1024u + kElements * 4);
  EXPECT_EQ(stats.transientBytes, 1024u + kElements * 4);
  EXPECT_EQ(stats.deviceType, "GPU");
  EXPECT_TRUE(stats.gpuStepSeconds.has_value());
  testing::Test::RecordProperty("device", stats.deviceName);
}

TEST(CudaSession, BrokenPtxIsReportedWithTheKernelArchAndJitLog) {
  KILN_REQUIRE_CUDA();
  auto session = Session::create(axpyPlan(".version 8.0\n.target sm_80\n.address_size 64\n"
                                          ".visible .entry axpy() { this is not ptx; }\n"));
  ASSERT_FALSE(session.ok());
  std::string message(session.status().message());
  EXPECT_THAT(message, HasSubstr("cuModuleLoadDataEx(kernel \"axpy\", sm_80): "
                                 "CUDA_ERROR_INVALID_PTX"));
  EXPECT_THAT(message, HasSubstr("JIT log:"));
}

TEST(CudaSession, MissingEntryPointIsReported) {
  KILN_REQUIRE_CUDA();
  plan::Plan plan = axpyPlan();
  plan.mutable_kernels(0)->set_entry_point("not_there");
  auto session = Session::create(plan);
  ASSERT_FALSE(session.ok());
  EXPECT_THAT(std::string(session.status().message()),
              HasSubstr("cuModuleGetFunction(kernel \"axpy\", sm_80, entry point \"not_there\")"));
}

} // namespace
} // namespace kiln::cuda
