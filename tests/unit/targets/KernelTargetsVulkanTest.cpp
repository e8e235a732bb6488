//===- KernelTargetsVulkanTest.cpp - Generated SPIR-V run on a Vulkan device ===//
//
// Proves the SPIR-V from lowerToSpirv is right, not only valid: hand-built one-kernel
// plans run on whatever Vulkan device exists (lavapipe in CI) with validation and
// synchronization validation on, and their outputs are compared with host math.
//
//===----------------------------------------------------------------------===//
#include "../vulkan/VulkanTestSupport.h"
#include "KernelSources.h"

#include "kiln/Targets/KernelTargets.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "gtest/gtest.h"

#include <cmath>

namespace kiln::targets {
namespace {

using vulkan::Session;

/// The SPIR-V bytes of the one kernel in `source`.
std::string spirvBytes(const char *source) {
  mlir::DialectRegistry registry;
  registerKernelDialects(registry);
  mlir::MLIRContext context(registry);
  mlir::OwningOpRef<mlir::ModuleOp> parsed =
      mlir::parseSourceString<mlir::ModuleOp>(source, &context);
  EXPECT_TRUE(parsed);
  if (!parsed)
    return "";
  mlir::FailureOr<std::vector<uint32_t>> words =
      lowerToSpirv(*parsed->getOps<mlir::gpu::GPUModuleOp>().begin());
  EXPECT_TRUE(mlir::succeeded(words));
  if (mlir::failed(words))
    return "";
  return std::string(reinterpret_cast<const char *>(words->data()), words->size() * 4);
}

void addBuffer(plan::Plan &plan, const char *name, plan::BufferRole role, int64_t n) {
  plan::Buffer *buffer = plan.add_buffers();
  buffer->set_name(name);
  buffer->set_size_bytes(4 * n);
  buffer->set_role(role);
}

void setTensor(plan::TensorSpec *tensor, const char *name, uint32_t buffer, int64_t n) {
  tensor->set_name(name);
  tensor->set_dtype(plan::DTYPE_F32);
  tensor->add_shape(n);
  tensor->set_buffer(buffer);
}

/// A plan whose step is one dispatch of the kernel in `source` over buffers 0..n-1 (in
/// binding order), of which the first `numInputs` are inputs and the rest outputs.
plan::Plan oneKernelPlan(const char *source, const char *entryPoint, uint32_t workgroupSize,
                         uint32_t groups,
                         const std::vector<std::pair<const char *, int64_t>> &buffers,
                         size_t numInputs) {
  plan::Plan plan;
  plan.mutable_metadata()->set_model_name(entryPoint);
  plan.mutable_metadata()->set_compiler_version("hand-built test plan");
  plan.mutable_metadata()->add_targets(plan::TARGET_VULKAN);
  plan::Kernel *kernel = plan.add_kernels();
  kernel->set_name(entryPoint);
  kernel->set_entry_point(entryPoint);
  kernel->set_spirv(spirvBytes(source));
  kernel->mutable_workgroup_size()->set_x(workgroupSize);
  kernel->mutable_workgroup_size()->set_y(1);
  kernel->mutable_workgroup_size()->set_z(1);
  kernel->set_binding_count(buffers.size());

  plan::Dispatch *dispatch = plan.mutable_step()->add_commands()->mutable_dispatch();
  dispatch->set_kernel(0);
  dispatch->mutable_group_count()->set_x(groups);
  dispatch->mutable_group_count()->set_y(1);
  dispatch->mutable_group_count()->set_z(1);
  for (size_t index = 0; index < buffers.size(); ++index) {
    auto [name, n] = buffers[index];
    bool input = index < numInputs;
    addBuffer(plan, name, input ? plan::BUFFER_ROLE_INPUT : plan::BUFFER_ROLE_OUTPUT, n);
    setTensor(input ? plan.add_inputs()->mutable_tensor() : plan.add_outputs()->mutable_tensor(),
              name, index, n);
    dispatch->add_buffers(index);
  }
  return plan;
}

void expectNear(const std::vector<float> &actual, const std::vector<float> &expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    ASSERT_LE(std::fabs(actual[i] - expected[i]), 1e-4 + 1e-4 * std::fabs(expected[i]))
        << "element " << i << ": " << actual[i] << " vs " << expected[i];
}

std::vector<float> outputValues(Session &session, const char *name) {
  absl::StatusOr<HostTensor> output = session.output(name);
  EXPECT_TRUE(output.ok()) << output.status();
  if (!output.ok())
    return {};
  auto values = output->f32();
  return std::vector<float>(values.begin(), values.end());
}

TEST(KernelTargetsVulkanTest, ElementwiseMathMatchesHost) {
  KILN_REQUIRE_VULKAN();
  constexpr int64_t n = 1000;
  // 4 groups of 64 threads: every thread runs the grid-stride loop about 4 times.
  absl::StatusOr<std::unique_ptr<Session>> session = Session::create(
      oneKernelPlan(sources::kElementwise, "ew_math", 64, 4, {{"a", n}, {"b", n}, {"out", n}}, 2),
      vulkan::testing::validatedOptions());
  ASSERT_TRUE(session.ok()) << session.status();

  std::vector<float> a(n), b(n), expected(n);
  for (int64_t i = 0; i < n; ++i) {
    a[i] = -2.0f + 4.0f * static_cast<float>(i) / n;
    b[i] = 0.5f + 3.5f * static_cast<float>((i * 37) % n) / n;
    expected[i] = std::exp(a[i]) / std::sqrt(b[i]) + std::log(b[i]) + std::tanh(a[i]);
  }
  ASSERT_TRUE(
      (*session)->step({{"a", HostTensor::f32({n}, a)}, {"b", HostTensor::f32({n}, b)}}).ok());
  expectNear(outputValues(**session, "out"), expected);
  vulkan::testing::expectNoValidationMessages(**session);
}

TEST(KernelTargetsVulkanTest, WorkgroupReductionMatchesHost) {
  KILN_REQUIRE_VULKAN();
  absl::StatusOr<std::unique_ptr<Session>> session = Session::create(
      oneKernelPlan(sources::kReduction, "block_sum", 256, 4, {{"in", 1024}, {"out", 4}}, 1),
      vulkan::testing::validatedOptions());
  ASSERT_TRUE(session.ok()) << session.status();

  std::vector<float> in(1024), expected(4, 0.0f);
  for (int64_t i = 0; i < 1024; ++i) {
    in[i] = static_cast<float>((i * 13) % 17) - 8.0f;
    expected[i / 256] += in[i];
  }
  ASSERT_TRUE((*session)->step({{"in", HostTensor::f32({1024}, in)}}).ok());
  expectNear(outputValues(**session, "out"), expected);
  vulkan::testing::expectNoValidationMessages(**session);
}

} // namespace
} // namespace kiln::targets
