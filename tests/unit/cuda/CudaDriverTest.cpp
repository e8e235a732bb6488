//===- CudaDriverTest.cpp - What the CUDA runtime checks without a GPU ----===//
//
// Runs everywhere, driver or not: the loader's message for a missing driver
// (KILN_CUDA_DRIVER pointed at a path that does not exist), the PTX arch
// choice, the refusal of plans that cannot run on CUDA (checked before the
// driver is touched), and the format of driver error messages.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/cuda/CudaDriver.h"
#include "kiln/runtime/cuda/CudaDevice.h"
#include "kiln/runtime/cuda/Session.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

namespace kiln::cuda {
namespace {

using testing::HasSubstr;

/// Sets KILN_CUDA_DRIVER for the life of the object.
class DriverPathOverride {
public:
  explicit DriverPathOverride(const char *path) {
    if (const char *old = std::getenv(kDriverPathVariable))
      previous_ = old;
    setenv(kDriverPathVariable, path, 1);
  }
  ~DriverPathOverride() {
    if (previous_)
      setenv(kDriverPathVariable, previous_->c_str(), 1);
    else
      unsetenv(kDriverPathVariable);
  }

private:
  std::optional<std::string> previous_;
};

constexpr char kMissingDriver[] = "/nonexistent/libcuda.so.1";

TEST(CudaDriver, MissingDriverIsReportedWithTheDlopenError) {
  DriverPathOverride missing(kMissingDriver);
  EXPECT_EQ(driverLibraryPath(), kMissingDriver);
  absl::StatusOr<const CudaDriver *> driver = CudaDriver::load();
  ASSERT_FALSE(driver.ok());
  EXPECT_EQ(driver.status().code(), absl::StatusCode::kFailedPrecondition);
  std::string message(driver.status().message());
  EXPECT_THAT(message, HasSubstr("CUDA driver not found: dlopen(\"/nonexistent/libcuda.so.1\") "
                                 "failed: /nonexistent/libcuda.so.1: cannot open shared object "
                                 "file: No such file or directory"));
  EXPECT_THAT(message, HasSubstr("KILN_CUDA_DRIVER"));
}

TEST(CudaDriver, MissingDriverMakesDeviceListingFailNotCrash) {
  DriverPathOverride missing(kMissingDriver);
  absl::StatusOr<std::vector<CudaDeviceInfo>> devices = listCudaDevices();
  ASSERT_FALSE(devices.ok());
  EXPECT_THAT(std::string(devices.status().message()), HasSubstr("CUDA driver not found"));
}

TEST(CudaDriver, DefaultPathIsTheVersionedDriverLibrary) {
  const char *saved = std::getenv(kDriverPathVariable);
  std::string keep = saved ? saved : "";
  unsetenv(kDriverPathVariable);
  EXPECT_EQ(driverLibraryPath(), "libcuda.so.1");
  if (saved)
    setenv(kDriverPathVariable, keep.c_str(), 1);
}

TEST(CudaDriver, ErrorMessageNamesCallActivityResultAndLog) {
  EXPECT_EQ(formatCudaError("cuModuleLoadDataEx", "kernel \"fc1_matmul\", sm_90",
                            "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed",
                            " (JIT log: ptxas fatal)", "/src/runtime/cuda/SessionSetup.cpp", 80),
            "cuModuleLoadDataEx(kernel \"fc1_matmul\", sm_90): CUDA_ERROR_INVALID_PTX: a PTX JIT "
            "compilation failed (JIT log: ptxas fatal) [runtime/cuda/SessionSetup.cpp:80]");
}

plan::Kernel kernelWithArchs(std::initializer_list<const char *> archs) {
  plan::Kernel kernel;
  kernel.set_name("add");
  for (const char *arch : archs) {
    plan::PtxCode *code = kernel.add_ptx_code();
    code->set_arch(arch);
    code->set_ptx("// PTX for " + std::string(arch));
  }
  return kernel;
}

TEST(PtxArch, ParsesArchNames) {
  EXPECT_EQ(ptxArchNumber("sm_80"), 80);
  EXPECT_EQ(ptxArchNumber("sm_90"), 90);
  EXPECT_EQ(ptxArchNumber("sm_90a"), 90);
  EXPECT_EQ(ptxArchNumber("sm_100"), 100);
  EXPECT_EQ(ptxArchNumber("compute_80"), -1);
  EXPECT_EQ(ptxArchNumber("sm_"), -1);
  EXPECT_EQ(ptxArchNumber("sm_8x"), -1);
}

TEST(PtxArch, PicksTheHighestArchTheDeviceSupports) {
  plan::Kernel kernel = kernelWithArchs({"sm_80", "sm_90"});
  absl::StatusOr<int> ampere = selectPtxCode(kernel, 8, 6);
  ASSERT_TRUE(ampere.ok()) << ampere.status();
  EXPECT_EQ(kernel.ptx_code(*ampere).arch(), "sm_80");
  absl::StatusOr<int> hopper = selectPtxCode(kernel, 9, 0);
  ASSERT_TRUE(hopper.ok()) << hopper.status();
  EXPECT_EQ(kernel.ptx_code(*hopper).arch(), "sm_90");
  absl::StatusOr<int> blackwell = selectPtxCode(kernel, 10, 0);
  ASSERT_TRUE(blackwell.ok()) << blackwell.status();
  EXPECT_EQ(kernel.ptx_code(*blackwell).arch(), "sm_90");
  absl::StatusOr<int> exact = selectPtxCode(kernel, 8, 0);
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(kernel.ptx_code(*exact).arch(), "sm_80");
}

TEST(PtxArch, OrderOfEntriesDoesNotMatter) {
  plan::Kernel kernel = kernelWithArchs({"sm_90", "sm_80"});
  absl::StatusOr<int> ampere = selectPtxCode(kernel, 8, 6);
  ASSERT_TRUE(ampere.ok()) << ampere.status();
  EXPECT_EQ(kernel.ptx_code(*ampere).arch(), "sm_80");
}

TEST(PtxArch, ArchSpecificPtxOnlyOnItsOwnCapability) {
  plan::Kernel kernel = kernelWithArchs({"sm_80", "sm_90a"});
  absl::StatusOr<int> hopper = selectPtxCode(kernel, 9, 0);
  ASSERT_TRUE(hopper.ok()) << hopper.status();
  EXPECT_EQ(kernel.ptx_code(*hopper).arch(), "sm_90a");
  absl::StatusOr<int> blackwell = selectPtxCode(kernel, 10, 0);
  ASSERT_TRUE(blackwell.ok()) << blackwell.status();
  EXPECT_EQ(kernel.ptx_code(*blackwell).arch(), "sm_80");
}

TEST(PtxArch, RefusesAnOlderDevice) {
  plan::Kernel kernel = kernelWithArchs({"sm_80", "sm_90"});
  absl::StatusOr<int> turing = selectPtxCode(kernel, 7, 5);
  ASSERT_FALSE(turing.ok());
  EXPECT_EQ(turing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(turing.status().message(),
            "kernel 'add' has PTX for sm_80, sm_90 but the device has compute capability 7.5; "
            "recompile for an arch <= sm_75 (HINT: kiln compile --target=cuda emits sm_80 PTX, "
            "which runs on compute capability 8.0 or newer)");
}

TEST(PtxArch, RefusesAKernelWithoutPtxOrWithABadArch) {
  absl::StatusOr<int> none = selectPtxCode(kernelWithArchs({}), 9, 0);
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("kernel 'add' has no PTX"));
  absl::StatusOr<int> bad = selectPtxCode(kernelWithArchs({"compute_90"}), 9, 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("arch 'compute_90'"));
}

/// A valid plan with one kernel "add" (out = a + b over 4 floats) for `target`, with PTX when
/// `withPtx` and SPIR-V-shaped bytes when the target is Vulkan.
plan::Plan tinyPlan(plan::Target target, bool withPtx, uint32_t pushConstantSize = 0) {
  plan::Plan plan;
  plan.mutable_metadata()->set_model_name("tiny");
  plan.mutable_metadata()->set_compiler_version("test");
  plan.mutable_metadata()->add_targets(target);
  plan::Kernel *kernel = plan.add_kernels();
  kernel->set_name("add");
  kernel->set_entry_point("add");
  kernel->mutable_workgroup_size()->set_x(4);
  kernel->mutable_workgroup_size()->set_y(1);
  kernel->mutable_workgroup_size()->set_z(1);
  kernel->set_binding_count(3);
  kernel->set_push_constant_size(pushConstantSize);
  if (target == plan::TARGET_VULKAN) {
    std::string spirv(20, '\0');
    const uint32_t magic = 0x07230203;
    std::memcpy(spirv.data(), &magic, 4);
    kernel->set_spirv(spirv);
  }
  if (withPtx) {
    plan::PtxCode *code = kernel->add_ptx_code();
    code->set_arch("sm_80");
    code->set_ptx(".version 8.0\n.target sm_80\n.address_size 64\n");
  }
  const char *names[] = {"a", "b", "out"};
  for (int index = 0; index < 3; ++index) {
    plan::Buffer *buffer = plan.add_buffers();
    buffer->set_name(names[index]);
    buffer->set_size_bytes(16);
    buffer->set_role(index < 2 ? plan::BUFFER_ROLE_INPUT : plan::BUFFER_ROLE_OUTPUT);
    plan::TensorSpec *tensor =
        index < 2 ? plan.add_inputs()->mutable_tensor() : plan.add_outputs()->mutable_tensor();
    tensor->set_name(names[index]);
    tensor->set_dtype(plan::DTYPE_F32);
    tensor->add_shape(4);
    tensor->set_buffer(index);
  }
  plan::Dispatch *dispatch = plan.mutable_step()->add_commands()->mutable_dispatch();
  dispatch->set_kernel(0);
  for (uint32_t buffer : {0u, 1u, 2u})
    dispatch->add_buffers(buffer);
  dispatch->mutable_group_count()->set_x(1);
  dispatch->mutable_group_count()->set_y(1);
  dispatch->mutable_group_count()->set_z(1);
  if (pushConstantSize > 0)
    dispatch->set_push_constants(std::string(pushConstantSize, '\0'));
  plan.mutable_step()->set_name("train");
  return plan;
}

TEST(CudaPlanCheck, AcceptsAPlanWithPtx) {
  plan::Plan plan = tinyPlan(plan::TARGET_CUDA, true);
  ASSERT_TRUE(plan::validatePlan(plan).ok()) << plan::validatePlan(plan);
  EXPECT_TRUE(checkPlanForCuda(plan).ok()) << checkPlanForCuda(plan);
}

TEST(CudaPlanCheck, RefusesAVulkanPlanWhoseKernelsHaveNoPtx) {
  plan::Plan plan = tinyPlan(plan::TARGET_VULKAN, false);
  ASSERT_TRUE(plan::validatePlan(plan).ok()) << plan::validatePlan(plan);
  // The refusal comes before the driver is loaded: same message with or without a GPU.
  DriverPathOverride missing(kMissingDriver);
  absl::StatusOr<std::unique_ptr<Session>> session = Session::create(plan);
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(session.status().message(),
            "plan 'tiny' was compiled for vulkan, not cuda; its kernels carry no PTX (recompile "
            "with --target=cuda)");
}

TEST(CudaPlanCheck, RefusesAKernelWithoutPtxEvenWhenTheTargetsListCuda) {
  plan::Plan plan = tinyPlan(plan::TARGET_VULKAN, false);
  plan.mutable_metadata()->add_targets(plan::TARGET_CUDA);
  // plan::validatePlan refuses it already; checkPlanForCuda says so in CUDA's words too.
  absl::Status status = checkPlanForCuda(plan);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(), "kernel 'add' has no PTX, so the plan cannot run on CUDA; "
                              "recompile with --target=cuda");
  DriverPathOverride missing(kMissingDriver);
  absl::StatusOr<std::unique_ptr<Session>> session = Session::create(plan);
  ASSERT_FALSE(session.ok());
  EXPECT_THAT(std::string(session.status().message()),
              HasSubstr("kernel 0 ('add') has no PTX but the plan targets cuda"));
}

TEST(CudaPlanCheck, RefusesPushConstants) {
  plan::Plan plan = tinyPlan(plan::TARGET_CUDA, true, 8);
  ASSERT_TRUE(plan::validatePlan(plan).ok()) << plan::validatePlan(plan);
  DriverPathOverride missing(kMissingDriver);
  absl::StatusOr<std::unique_ptr<Session>> session = Session::create(plan);
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(session.status().message(),
            "kernel 'add' uses 8 bytes of push constants, which the CUDA kernel ABI does not "
            "have (parameters are buffer pointers only); recompile with --target=cuda so no "
            "kernel needs them");
}

TEST(CudaPlanCheck, AValidPlanWithoutADriverFailsWithTheDriverMessage) {
  DriverPathOverride missing(kMissingDriver);
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::create(tinyPlan(plan::TARGET_CUDA, true));
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(session.status().message()),
              HasSubstr("CUDA driver not found: dlopen(\"/nonexistent/libcuda.so.1\") failed"));
}

} // namespace
} // namespace kiln::cuda
