//===- PlanLoadCheck.cpp - What a device checks before it loads a plan ----===//
//
// Kernel code first (SPIR-V validity, then the bindings each module declares),
// then what the commands bind against it, then the memory plan. A plan that
// passes gives no kernel a way to address memory outside its buffers.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/PlanLoadCheck.h"

#include "kiln/runtime/PlanChecker.h"
#include "kiln/runtime/PlanValidation.h"
#include "kiln/runtime/SpirvModule.h"

#include "absl/strings/str_cat.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kiln::plan {

namespace {

constexpr char kRecompile[] =
    "the plan is damaged or its compiler is broken; recompile the model with `kiln compile`";

absl::Status invalid(auto &&...pieces) {
  return absl::InvalidArgumentError(absl::StrCat(pieces...));
}

std::string describeKernel(const Plan &plan, uint32_t index) {
  return absl::StrCat("kernel ", index, " ('", plan.kernels(index).name(), "')");
}

std::string describeBuffer(const Plan &plan, uint32_t index) {
  return absl::StrCat("buffer ", index, " ('", plan.buffers(index).name(), "')");
}

std::string describeVariable(const SpirvStorageBuffer &buffer) {
  return buffer.name.empty() ? std::string("a storage buffer")
                             : absl::StrCat("storage buffer '", buffer.name, "'");
}

/// Per kernel, per binding: the bytes its SPIR-V declares (nullopt: no SPIR-V, a runtime
/// array, or a binding the module does not declare).
using DeclaredExtents = std::vector<std::vector<std::optional<uint64_t>>>;

absl::Status checkKernelCode(const Plan &plan, DeclaredExtents &extents) {
  extents.resize(plan.kernels_size());
  for (int index = 0; index < plan.kernels_size(); ++index) {
    const Kernel &kernel = plan.kernels(index);
    extents[index].resize(kernel.binding_count());
    if (kernel.spirv().empty())
      continue; // a CUDA-only plan; validatePlan requires SPIR-V when it targets vulkan
    std::string where = describeKernel(plan, index);
    if (absl::Status status = validateSpirv(kernel.spirv()); !status.ok())
      return invalid(
          where, ": its SPIR-V fails validation (SPIRV-Tools, Vulkan 1.1): ", status.message(),
          "; ", kRecompile, " (every emitted module must pass `spirv-val --target-env vulkan1.1`)");
    absl::StatusOr<std::vector<SpirvStorageBuffer>> buffers = spirvStorageBuffers(kernel.spirv());
    if (!buffers.ok())
      return invalid(where, ": ", buffers.status().message(), "; ", kRecompile);
    for (const SpirvStorageBuffer &buffer : *buffers) {
      if (buffer.descriptorSet != 0)
        return invalid(where, ": its SPIR-V declares ", describeVariable(buffer),
                       " in descriptor set ", buffer.descriptorSet, " (binding ", buffer.binding,
                       "), but the runtime binds only descriptor set 0; ", kRecompile);
      if (buffer.binding >= kernel.binding_count())
        return invalid(where, ": its SPIR-V declares ", describeVariable(buffer), " at binding ",
                       buffer.binding, " but the kernel has binding_count ", kernel.binding_count(),
                       " (bindings 0..", static_cast<int64_t>(kernel.binding_count()) - 1,
                       "), so nothing would be bound there; ", kRecompile);
      std::optional<uint64_t> &extent = extents[index][buffer.binding];
      if (buffer.bytes && (!extent || *buffer.bytes > *extent))
        extent = buffer.bytes;
    }
  }
  return absl::OkStatus();
}

std::string describeCommand(const ProgramView &program, int index) {
  return program.name == kTrainProgram
             ? absl::StrCat("step command ", index)
             : absl::StrCat("program '", program.name, "' command ", index);
}

/// A dispatch binding a buffer smaller than the array its kernel declares there; when the
/// buffer is one of the program's outputs, reported as the output's declared shape.
absl::Status checkDispatchExtents(const Plan &plan, const ProgramView &program,
                                  const DeclaredExtents &extents) {
  std::map<uint32_t, uint32_t> outputOfBuffer;
  for (uint32_t output : program.outputs)
    outputOfBuffer.emplace(plan.outputs(output).tensor().buffer(), output);
  for (int index = 0; index < program.step->commands_size(); ++index) {
    const Command &command = program.step->commands(index);
    if (!command.has_dispatch())
      continue;
    const Dispatch &dispatch = command.dispatch();
    for (int binding = 0; binding < dispatch.buffers_size(); ++binding) {
      const std::optional<uint64_t> &declared = extents[dispatch.kernel()][binding];
      uint64_t bytes = plan.buffers(dispatch.buffers(binding)).size_bytes();
      if (!declared || *declared <= bytes)
        continue;
      if (auto it = outputOfBuffer.find(dispatch.buffers(binding)); it != outputOfBuffer.end()) {
        const TensorSpec &tensor = plan.outputs(it->second).tensor();
        return invalid(
            "program '", program.name, "' output ", it->second, " ('", tensor.name(),
            "') is declared ", describeTensor(tensor), " (", bytes, " bytes in ",
            describeBuffer(plan, tensor.buffer()), ") but ", describeCommand(program, index),
            " (dispatch of ", describeKernel(plan, dispatch.kernel()), ") binds it at binding ",
            binding, ", which the kernel declares as ", *declared,
            " bytes; declare the output with the shape the kernel computes (", kRecompile, ")");
      }
      return invalid(describeCommand(program, index), " (dispatch of ",
                     describeKernel(plan, dispatch.kernel()), "): binding ", binding, " is ",
                     describeBuffer(plan, dispatch.buffers(binding)), " of ", bytes,
                     " bytes but the kernel's SPIR-V declares ", *declared,
                     " bytes there, so it would access memory outside the buffer; bind a buffer "
                     "of at least ",
                     *declared, " bytes (", kRecompile, ")");
    }
  }
  return absl::OkStatus();
}

} // namespace

absl::Status checkPlanForLoad(const Plan &plan, const LoadCheckOptions &options) {
  DeclaredExtents extents;
  if (absl::Status status = checkKernelCode(plan, extents); !status.ok())
    return status;
  std::vector<ProgramView> programs = planPrograms(plan);
  for (const ProgramView &program : programs)
    if (absl::Status status = checkDispatchExtents(plan, program, extents); !status.ok())
      return status;
  if (!options.checkMemoryPlan)
    return absl::OkStatus();
  for (absl::Status (*check)(const Plan &) : {checkArenaPlacement, checkPlanMemory})
    if (absl::Status status = check(plan); !status.ok())
      return invalid("memory plan: ", status.message(),
                     "; running it would race or read clobbered memory; ", kRecompile,
                     " (it places buffers and barriers)");
  return absl::OkStatus();
}

} // namespace kiln::plan
