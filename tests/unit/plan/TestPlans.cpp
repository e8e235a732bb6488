//===- TestPlans.cpp - Hand-built plans for the plan-format tests ---------===//

#include "TestPlans.h"

#include <cstring>
#include <string>
#include <vector>

namespace kiln::plan::testing {

namespace {

std::string fakeSpirv() {
  const uint32_t words[] = {0x07230203, 0x00010300, 0, 1, 0};
  return std::string(reinterpret_cast<const char *>(words), sizeof(words));
}

std::string floatBytes(std::vector<float> values) {
  return std::string(reinterpret_cast<const char *>(values.data()), values.size() * 4);
}

void addKernel(Plan &plan, const char *name, uint32_t bindings, uint32_t pushBytes) {
  Kernel *kernel = plan.add_kernels();
  kernel->set_name(name);
  kernel->set_entry_point("main");
  kernel->set_spirv(fakeSpirv());
  kernel->mutable_workgroup_size()->set_x(64);
  kernel->mutable_workgroup_size()->set_y(1);
  kernel->mutable_workgroup_size()->set_z(1);
  kernel->set_binding_count(bindings);
  kernel->set_push_constant_size(pushBytes);
  SourceOp *op = kernel->add_source_ops();
  op->set_op_name(std::string("graph.") + name);
  op->set_location("tests/unit/plan/TestPlans.cpp:1:1");
}

void addBuffer(Plan &plan, const char *name, BufferRole role) {
  Buffer *buffer = plan.add_buffers();
  buffer->set_name(name);
  buffer->set_size_bytes(16);
  buffer->set_role(role);
  if (role == BUFFER_ROLE_CONSTANT)
    buffer->set_constant_data(floatBytes({1, 2, 3, 4}));
}

void setTensor(TensorSpec *tensor, const char *name, uint32_t buffer) {
  tensor->set_name(name);
  tensor->set_dtype(DTYPE_F32);
  tensor->add_shape(4);
  tensor->set_buffer(buffer);
}

void addDispatch(Step &program, uint32_t kernel, std::vector<uint32_t> buffers,
                 std::string pushConstants) {
  Dispatch *dispatch = program.add_commands()->mutable_dispatch();
  dispatch->set_kernel(kernel);
  for (uint32_t buffer : buffers)
    dispatch->add_buffers(buffer);
  dispatch->set_push_constants(std::move(pushConstants));
  dispatch->mutable_group_count()->set_x(1);
  dispatch->mutable_group_count()->set_y(1);
  dispatch->mutable_group_count()->set_z(1);
}

void addBarrier(Step &program) { program.add_commands()->mutable_barrier(); }

} // namespace

Plan makeValidPlan() {
  Plan plan;
  Metadata *metadata = plan.mutable_metadata();
  metadata->set_model_name("accumulate");
  metadata->set_compiler_version("kiln-test 0");
  metadata->add_targets(TARGET_VULKAN);
  metadata->set_source_ir_hash("00ff");

  addKernel(plan, "add", 3, 0);
  addKernel(plan, "scale", 2, 4);

  addBuffer(plan, "a", BUFFER_ROLE_INPUT);
  addBuffer(plan, "b", BUFFER_ROLE_INPUT);
  addBuffer(plan, "sum", BUFFER_ROLE_TRANSIENT);
  addBuffer(plan, "acc", BUFFER_ROLE_VARIABLE);
  addBuffer(plan, "next", BUFFER_ROLE_TRANSIENT);
  addBuffer(plan, "out", BUFFER_ROLE_OUTPUT);
  addBuffer(plan, "table", BUFFER_ROLE_CONSTANT);

  setTensor(plan.add_inputs()->mutable_tensor(), "a", kA);
  Input *b = plan.add_inputs();
  setTensor(b->mutable_tensor(), "b", kB);
  b->set_default_value(floatBytes({10, 20, 30, 40}));
  setTensor(plan.add_outputs()->mutable_tensor(), "out", kOut);
  Variable *acc = plan.add_variables();
  setTensor(acc->mutable_tensor(), "acc", kAccumulator);
  acc->set_trainable(true);
  acc->mutable_initializer()->set_distribution(Initializer::DISTRIBUTION_UNIFORM);
  acc->mutable_initializer()->set_a(-1);
  acc->mutable_initializer()->set_b(1);
  acc->mutable_initializer()->set_seed(7);
  acc->mutable_initializer()->set_stream(3);

  Step &step = *plan.mutable_step();
  addDispatch(step, 0, {kA, kB, kSum}, "");
  addBarrier(step);
  addDispatch(step, 0, {kSum, kAccumulator, kNext}, "");
  addBarrier(step);
  addDispatch(step, 1, {kNext, kOut}, floatBytes({0.5f}));
  addBarrier(step);
  Copy *copy = plan.mutable_step()->add_commands()->mutable_copy();
  copy->set_src_buffer(kOut);
  copy->set_dst_buffer(kAccumulator);
  copy->set_size_bytes(16);
  return plan;
}

Plan makeProgramsPlan() {
  Plan plan = makeValidPlan();
  addBuffer(plan, "eval.out", BUFFER_ROLE_OUTPUT);
  addBuffer(plan, "eval.sum", BUFFER_ROLE_TRANSIENT);
  setTensor(plan.add_outputs()->mutable_tensor(), "out", kEvalOut);

  Step &step = *plan.mutable_step();
  step.set_name("train");
  step.add_inputs(0);
  step.add_inputs(1);
  step.add_outputs(0);

  Step &eval = *plan.add_programs();
  eval.set_name("eval");
  eval.add_inputs(0);
  eval.add_outputs(1);
  addDispatch(eval, 0, {kA, kAccumulator, kEvalSum}, "");
  addBarrier(eval);
  addDispatch(eval, 1, {kEvalSum, kEvalOut}, floatBytes({0.5f}));

  plan.set_graph_module("module @accumulate {\n  func.func @step() {\n    return\n  }\n}\n");
  return plan;
}

} // namespace kiln::plan::testing
