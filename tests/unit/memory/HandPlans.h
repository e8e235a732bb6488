//===- HandPlans.h - Small hand-built plans for the memory tests -*- C++ -*-===//
//
// A builder for plans whose kernels carry stand-in SPIR-V, so binding 0 is the
// one written (the code generator's convention, see kernelWrittenBindings).
// Every buffer is f32; named roles get their Input/Output/Variable entry.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_MEMORY_HANDPLANS_H
#define KILN_TESTS_UNIT_MEMORY_HANDPLANS_H

#include "kiln/plan/plan.pb.h"

#include <string>
#include <utility>
#include <vector>

namespace kiln::memory_test {

class HandPlan {
public:
  HandPlan() {
    plan_.mutable_metadata()->set_model_name("hand");
    plan_.mutable_metadata()->add_targets(plan::TARGET_VULKAN);
  }

  /// A kernel with `bindings` bindings (binding 0 written) and the given in_place pairs.
  uint32_t kernel(const std::string &name, uint32_t bindings,
                  std::vector<std::pair<uint32_t, uint32_t>> inPlace = {}) {
    plan::Kernel *kernel = plan_.add_kernels();
    kernel->set_name(name);
    kernel->set_entry_point("main");
    const uint32_t words[] = {0x07230203, 0x00010300, 0, 1, 0};
    kernel->set_spirv(std::string(reinterpret_cast<const char *>(words), sizeof(words)));
    kernel->mutable_workgroup_size()->set_x(64);
    kernel->mutable_workgroup_size()->set_y(1);
    kernel->mutable_workgroup_size()->set_z(1);
    kernel->set_binding_count(bindings);
    kernel->add_source_ops()->set_op_name("graph." + name);
    for (auto [output, input] : inPlace) {
      plan::InPlacePair *pair = kernel->add_in_place();
      pair->set_output_binding(output);
      pair->set_input_binding(input);
    }
    return plan_.kernels_size() - 1;
  }

  /// A buffer of `floats` f32 elements; inputs, outputs and variables get their tensor.
  uint32_t buffer(const std::string &name, plan::BufferRole role, int64_t floats = 16) {
    uint32_t index = plan_.buffers_size();
    plan::Buffer *buffer = plan_.add_buffers();
    buffer->set_name(name);
    buffer->set_size_bytes(static_cast<uint64_t>(floats) * 4);
    buffer->set_role(role);
    plan::TensorSpec *tensor = nullptr;
    if (role == plan::BUFFER_ROLE_INPUT)
      tensor = plan_.add_inputs()->mutable_tensor();
    else if (role == plan::BUFFER_ROLE_OUTPUT)
      tensor = plan_.add_outputs()->mutable_tensor();
    else if (role == plan::BUFFER_ROLE_VARIABLE)
      tensor = plan_.add_variables()->mutable_tensor();
    if (tensor) {
      tensor->set_name(name);
      tensor->set_dtype(plan::DTYPE_F32);
      tensor->add_shape(floats);
      tensor->set_buffer(index);
    }
    return index;
  }

  /// Appends to Plan.step, or to the program `program` (created on first use) when given.
  void dispatch(uint32_t kernel, std::vector<uint32_t> buffers, const std::string &program = "") {
    plan::Dispatch *dispatch = step(program).add_commands()->mutable_dispatch();
    dispatch->set_kernel(kernel);
    for (uint32_t buffer : buffers)
      dispatch->add_buffers(buffer);
    dispatch->mutable_group_count()->set_x(1);
    dispatch->mutable_group_count()->set_y(1);
    dispatch->mutable_group_count()->set_z(1);
  }
  void barrier(const std::string &program = "") { step(program).add_commands()->mutable_barrier(); }
  void copy(uint32_t source, uint32_t target, const std::string &program = "") {
    plan::Copy *copy = step(program).add_commands()->mutable_copy();
    copy->set_src_buffer(source);
    copy->set_dst_buffer(target);
    copy->set_size_bytes(plan_.buffers(source).size_bytes());
  }

  plan::Plan &plan() { return plan_; }

private:
  plan::Step &step(const std::string &program) {
    if (program.empty())
      return *plan_.mutable_step();
    for (plan::Step &existing : *plan_.mutable_programs())
      if (existing.name() == program)
        return existing;
    plan::Step *created = plan_.add_programs();
    created->set_name(program);
    for (int input = 0; input < plan_.inputs_size(); ++input)
      created->add_inputs(input);
    return *created;
  }

  plan::Plan plan_;
};

} // namespace kiln::memory_test

#endif // KILN_TESTS_UNIT_MEMORY_HANDPLANS_H
