//===- CpuTestSupport.cpp - Shared pieces of the CPU runtime tests --------===//

#include "CpuTestSupport.h"

#include "kiln/runtime/Sha256.h"

#include "gtest/gtest.h"

#include <fstream>
#include <iterator>
#include <sstream>

namespace kiln::cpu::testing {

namespace {

std::string imagePath(const std::string &name) {
  return std::string(KILN_CPU_TEST_KERNEL_DIR) + "/" + name + ".so";
}

void addBuffer(plan::Plan &plan, const char *name, plan::BufferRole role, int64_t elements) {
  plan::Buffer *buffer = plan.add_buffers();
  buffer->set_name(name);
  buffer->set_size_bytes(4 * elements);
  buffer->set_role(role);
}

void setTensor(plan::TensorSpec *tensor, const char *name, uint32_t buffer,
               std::vector<int64_t> shape) {
  tensor->set_name(name);
  tensor->set_dtype(plan::DTYPE_F32);
  for (int64_t extent : shape)
    tensor->add_shape(extent);
  tensor->set_buffer(buffer);
}

/// A kernel whose cpu entry is symbol `name` of the kernels image.
void addKernel(plan::Plan &plan, const char *name, uint32_t bindings, uint32_t tiles,
               uint64_t scratch) {
  plan::Kernel *kernel = plan.add_kernels();
  kernel->set_name(name);
  kernel->set_entry_point(name);
  kernel->mutable_workgroup_size()->set_x(1);
  kernel->mutable_workgroup_size()->set_y(1);
  kernel->mutable_workgroup_size()->set_z(1);
  kernel->set_binding_count(bindings);
  kernel->set_output_bindings(1);
  plan::CpuEntry *entry = kernel->add_cpu_entries();
  entry->set_isa("x86-64-v3");
  entry->set_offset(imageSymbols("kernels").at(name));
  entry->set_tile_count(tiles);
  entry->set_scratch_bytes(scratch);
}

void addDispatch(plan::Step &program, uint32_t kernel, std::vector<uint32_t> buffers) {
  plan::Dispatch *dispatch = program.add_commands()->mutable_dispatch();
  dispatch->set_kernel(kernel);
  for (uint32_t buffer : buffers)
    dispatch->add_buffers(buffer);
  dispatch->mutable_group_count()->set_x(1);
  dispatch->mutable_group_count()->set_y(1);
  dispatch->mutable_group_count()->set_z(1);
}

plan::Plan cpuPlan(const char *model) {
  plan::Plan plan;
  plan.mutable_metadata()->set_model_name(model);
  plan.mutable_metadata()->set_compiler_version("hand-built test plan");
  plan.mutable_metadata()->add_targets(plan::TARGET_CPU);
  *plan.add_cpu_images() = makeImage(readImage("kernels"));
  return plan;
}

} // namespace

std::string readImage(const std::string &name) {
  std::ifstream in(imagePath(name), std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open test image " << imagePath(name);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::map<std::string, uint64_t> imageSymbols(const std::string &name) {
  // llvm-nm --format=posix: "<name> <type> <hex value> <hex size>" per line.
  std::ifstream in(imagePath(name) + ".syms");
  EXPECT_TRUE(in.good()) << "cannot open the symbols of test image " << name;
  std::map<std::string, uint64_t> symbols;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string symbol, type, value;
    if (fields >> symbol >> type >> value)
      symbols[symbol] = std::stoull(value, nullptr, 16);
  }
  return symbols;
}

plan::CpuImage makeImage(const std::string &code) {
  plan::CpuImage image;
  image.set_isa("x86-64-v3");
  image.set_code(code);
  Sha256Digest digest = sha256(code);
  image.set_sha256(std::string(digest.begin(), digest.end()));
  return image;
}

std::vector<float> defaultB() {
  std::vector<float> values(kElements);
  for (int64_t i = 0; i < kElements; ++i)
    values[i] = 10.0f + static_cast<float>(i);
  return values;
}

plan::Plan makeAccumulatePlan() {
  plan::Plan plan = cpuPlan("accumulate");
  addKernel(plan, "add", 3, kElementTiles, 0);
  addKernel(plan, "half", 2, kElementTiles, 0);
  addBuffer(plan, "a", plan::BUFFER_ROLE_INPUT, kElements);
  addBuffer(plan, "b", plan::BUFFER_ROLE_INPUT, kElements);
  addBuffer(plan, "sum", plan::BUFFER_ROLE_OUTPUT, kElements);
  addBuffer(plan, "acc", plan::BUFFER_ROLE_VARIABLE, kElements);
  addBuffer(plan, "next", plan::BUFFER_ROLE_TRANSIENT, kElements);
  addBuffer(plan, "out", plan::BUFFER_ROLE_OUTPUT, kElements);
  setTensor(plan.add_inputs()->mutable_tensor(), "a", kA, {kElements});
  plan::Input *b = plan.add_inputs();
  setTensor(b->mutable_tensor(), "b", kB, {kElements});
  std::vector<float> values = defaultB();
  b->set_default_value(std::string(reinterpret_cast<const char *>(values.data()), 4 * kElements));
  setTensor(plan.add_outputs()->mutable_tensor(), "sum", kSum, {kElements});
  setTensor(plan.add_outputs()->mutable_tensor(), "out", kOut, {kElements});
  plan::Variable *acc = plan.add_variables();
  setTensor(acc->mutable_tensor(), "acc", kAccumulator, {kElements});
  acc->set_trainable(true);
  plan::Initializer *init = acc->mutable_initializer();
  init->set_distribution(plan::Initializer::DISTRIBUTION_UNIFORM);
  init->set_a(-1);
  init->set_b(1);
  init->set_seed(7);
  init->set_stream(3);

  plan::Step &step = *plan.mutable_step();
  addDispatch(step, 0, {kSum, kA, kB});
  step.add_commands()->mutable_barrier();
  addDispatch(step, 0, {kNext, kSum, kAccumulator});
  step.add_commands()->mutable_barrier();
  addDispatch(step, 1, {kOut, kNext});
  step.add_commands()->mutable_barrier();
  plan::Copy *copy = step.add_commands()->mutable_copy();
  copy->set_src_buffer(kOut);
  copy->set_dst_buffer(kAccumulator);
  copy->set_size_bytes(4 * kElements);
  return plan;
}

plan::Plan makeRowDotPlan(uint32_t rows) {
  plan::Plan plan = cpuPlan("rowdot");
  addKernel(plan, "rowdot", 3, rows, 64);
  addBuffer(plan, "out", plan::BUFFER_ROLE_OUTPUT, rows);
  addBuffer(plan, "m", plan::BUFFER_ROLE_INPUT, rows * kColumns);
  addBuffer(plan, "v", plan::BUFFER_ROLE_INPUT, kColumns);
  setTensor(plan.add_outputs()->mutable_tensor(), "out", 0, {rows});
  setTensor(plan.add_inputs()->mutable_tensor(), "m", 1, {rows, kColumns});
  setTensor(plan.add_inputs()->mutable_tensor(), "v", 2, {kColumns});
  addDispatch(*plan.mutable_step(), 0, {0, 1, 2});
  return plan;
}

} // namespace kiln::cpu::testing
