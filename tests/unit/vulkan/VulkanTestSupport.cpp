//===- VulkanTestSupport.cpp - Shared pieces of the Vulkan tests ----------===//

#include "VulkanTestSupport.h"

#include "kiln/runtime/vulkan/VulkanDevice.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace kiln::vulkan::testing {

namespace {

std::string floatBytes(const std::vector<float> &values) {
  return std::string(reinterpret_cast<const char *>(values.data()), values.size() * 4);
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

void addKernel(plan::Plan &plan, const char *name, uint32_t bindings, uint32_t pushBytes) {
  plan::Kernel *kernel = plan.add_kernels();
  kernel->set_name(name);
  kernel->set_entry_point("main");
  kernel->set_spirv(loadKernel(name));
  kernel->mutable_workgroup_size()->set_x(64);
  kernel->mutable_workgroup_size()->set_y(1);
  kernel->mutable_workgroup_size()->set_z(1);
  kernel->set_binding_count(bindings);
  kernel->set_push_constant_size(pushBytes);
}

void addDispatch(plan::Step &program, uint32_t kernel, std::vector<uint32_t> buffers,
                 std::string pushConstants, int64_t n) {
  plan::Dispatch *dispatch = program.add_commands()->mutable_dispatch();
  dispatch->set_kernel(kernel);
  for (uint32_t buffer : buffers)
    dispatch->add_buffers(buffer);
  dispatch->set_push_constants(std::move(pushConstants));
  dispatch->mutable_group_count()->set_x(static_cast<uint32_t>((n + 63) / 64));
  dispatch->mutable_group_count()->set_y(1);
  dispatch->mutable_group_count()->set_z(1);
}

} // namespace

const std::string &vulkanUnavailableReason() {
  static const std::string reason = [] {
    std::filesystem::path runtimeDir =
        std::filesystem::temp_directory_path() / "kiln-vulkan-test-xdg";
    std::filesystem::create_directories(runtimeDir);
    std::filesystem::permissions(runtimeDir, std::filesystem::perms::owner_all);
    setenv("XDG_RUNTIME_DIR", runtimeDir.c_str(), 1);
    // Synchronization validation checks each command buffer as it is recorded; this layer
    // setting also checks every vkQueueSubmit against the work submitted before it, which is
    // what catches a step or program not ordered after the previous submission. Read at
    // instance creation; a value the user set is kept.
    setenv("VK_LAYER_ENABLES", "VALIDATION_CHECK_ENABLE_SYNCHRONIZATION_VALIDATION_QUEUE_SUBMIT",
           0);
    absl::StatusOr<std::vector<PhysicalDeviceInfo>> devices = VulkanDevice::enumerate();
    return devices.ok() ? std::string() : std::string(devices.status().message());
  }();
  return reason;
}

std::string loadKernel(const std::string &name) {
  std::string path = std::string(KILN_TEST_KERNEL_DIR) + "/" + name + ".spv";
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open test kernel " << path;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

SessionOptions validatedOptions() {
  SessionOptions options;
  options.device.validation = true;
  return options;
}

void expectNoValidationMessages(const Session &session) {
  std::vector<std::string> messages = session.validationMessages();
  EXPECT_TRUE(session.device().validationEnabled());
  EXPECT_TRUE(messages.empty()) << messages.size() << " validation messages, first: "
                                << (messages.empty() ? "" : messages.front());
}

std::vector<float> defaultB(int64_t n) {
  std::vector<float> values(n);
  for (int64_t i = 0; i < n; ++i)
    values[i] = 10.0f + static_cast<float>(i);
  return values;
}

plan::Plan makeAccumulatePlan(int64_t n) {
  plan::Plan plan;
  plan.mutable_metadata()->set_model_name("accumulate");
  plan.mutable_metadata()->set_compiler_version("hand-built test plan");
  plan.mutable_metadata()->add_targets(plan::TARGET_VULKAN);
  addKernel(plan, "add", 3, 0);
  addKernel(plan, "scale", 2, 4);

  addBuffer(plan, "a", plan::BUFFER_ROLE_INPUT, n);
  addBuffer(plan, "b", plan::BUFFER_ROLE_INPUT, n);
  addBuffer(plan, "sum", plan::BUFFER_ROLE_OUTPUT, n);
  addBuffer(plan, "acc", plan::BUFFER_ROLE_VARIABLE, n);
  addBuffer(plan, "next", plan::BUFFER_ROLE_TRANSIENT, n);
  addBuffer(plan, "out", plan::BUFFER_ROLE_OUTPUT, n);

  setTensor(plan.add_inputs()->mutable_tensor(), "a", kA, n);
  plan::Input *b = plan.add_inputs();
  setTensor(b->mutable_tensor(), "b", kB, n);
  b->set_default_value(floatBytes(defaultB(n)));
  setTensor(plan.add_outputs()->mutable_tensor(), "sum", kSum, n);
  setTensor(plan.add_outputs()->mutable_tensor(), "out", kOut, n);
  plan::Variable *acc = plan.add_variables();
  setTensor(acc->mutable_tensor(), "acc", kAccumulator, n);
  acc->set_trainable(true);
  plan::Initializer *init = acc->mutable_initializer();
  init->set_distribution(plan::Initializer::DISTRIBUTION_UNIFORM);
  init->set_a(-1);
  init->set_b(1);
  init->set_seed(7);
  init->set_stream(3);

  plan::Step &step = *plan.mutable_step();
  addDispatch(step, 0, {kA, kB, kSum}, "", n);
  step.add_commands()->mutable_barrier();
  addDispatch(step, 0, {kSum, kAccumulator, kNext}, "", n);
  step.add_commands()->mutable_barrier();
  addDispatch(step, 1, {kNext, kOut}, floatBytes({0.5f}), n);
  plan.mutable_step()->add_commands()->mutable_barrier();
  plan::Copy *copy = plan.mutable_step()->add_commands()->mutable_copy();
  copy->set_src_buffer(kOut);
  copy->set_dst_buffer(kAccumulator);
  copy->set_size_bytes(4 * n);
  return plan;
}

plan::Plan makeAccumulatePlanWithPrograms(int64_t n) {
  plan::Plan plan = makeAccumulatePlan(n);
  addBuffer(plan, "eval.sum", plan::BUFFER_ROLE_OUTPUT, n);
  addBuffer(plan, "eval.out", plan::BUFFER_ROLE_OUTPUT, n);
  addBuffer(plan, "probe.twice", plan::BUFFER_ROLE_OUTPUT, n);
  setTensor(plan.add_outputs()->mutable_tensor(), "sum", kEvalSum, n);
  setTensor(plan.add_outputs()->mutable_tensor(), "out", kEvalOut, n);
  setTensor(plan.add_outputs()->mutable_tensor(), "twice", kProbeTwice, n);

  plan::Step &step = *plan.mutable_step();
  step.set_name("train");
  step.add_inputs(0);
  step.add_inputs(1);
  step.add_outputs(0);
  step.add_outputs(1);

  plan::Step &eval = *plan.add_programs();
  eval.set_name("eval");
  eval.add_inputs(0);
  eval.add_outputs(2);
  eval.add_outputs(3);
  addDispatch(eval, 0, {kA, kAccumulator, kEvalSum}, "", n);
  eval.add_commands()->mutable_barrier();
  addDispatch(eval, 1, {kEvalSum, kEvalOut}, floatBytes({0.5f}), n);

  plan::Step &probe = *plan.add_programs();
  probe.set_name("probe");
  probe.add_outputs(4);
  addDispatch(probe, 1, {kAccumulator, kProbeTwice}, floatBytes({2.0f}), n);
  plan.set_graph_module("module @accumulate {\n}\n");
  return plan;
}

} // namespace kiln::vulkan::testing
