//===- PlanValidation.cpp - Semantic checks and queries on plans ----------===//
//
// validatePlan walks the plan once, in file order (metadata, kernels, buffers,
// named tensors, programs and which inputs/outputs each uses, then the commands
// of the step and of every other program), and reports the first rule broken.
// Messages name the element by index and name so the compiler author can find
// it in a dump.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/PlanValidation.h"

#include "kiln/runtime/PlanChecker.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <limits>
#include <vector>

namespace kiln::plan {

namespace {

constexpr uint32_t kSpirvMagic = 0x07230203;
/// Tensors larger than this are rejected before their byte size could overflow.
constexpr uint64_t kMaxTensorBytes = uint64_t{1} << 48;

absl::Status invalid(auto &&...pieces) {
  return absl::InvalidArgumentError(absl::StrCat(pieces...));
}

std::string describeBuffer(const Plan &plan, uint32_t index) {
  return absl::StrCat("buffer ", index, " ('", plan.buffers(index).name(), "')");
}

const char *roleName(BufferRole role) {
  switch (role) {
  case BUFFER_ROLE_TRANSIENT:
    return "transient";
  case BUFFER_ROLE_VARIABLE:
    return "variable";
  case BUFFER_ROLE_INPUT:
    return "input";
  case BUFFER_ROLE_OUTPUT:
    return "output";
  case BUFFER_ROLE_CONSTANT:
    return "constant";
  default:
    return "unspecified";
  }
}

absl::Status validateMetadata(const Plan &plan) {
  if (plan.metadata().targets().empty())
    return invalid("metadata lists no targets; a plan must name at least one of vulkan, cuda, cpu");
  for (int target : plan.metadata().targets())
    if (!Target_IsValid(target) || target == TARGET_UNSPECIFIED)
      return invalid("metadata lists unknown target ", target);
  for (int feature : plan.required_features())
    if (!DeviceFeature_IsValid(feature) || feature == DEVICE_FEATURE_UNSPECIFIED)
      return invalid("required_features lists unknown device feature ", feature);
  return absl::OkStatus();
}

absl::Status validateKernel(const Plan &plan, int index) {
  const Kernel &kernel = plan.kernels(index);
  std::string where = absl::StrCat("kernel ", index, " ('", kernel.name(), "')");
  if (kernel.name().empty())
    return invalid("kernel ", index, " has no name");
  if (kernel.entry_point().empty())
    return invalid(where, " has no entry point");
  const Dim3 &size = kernel.workgroup_size();
  if (size.x() == 0 || size.y() == 0 || size.z() == 0)
    return invalid(where, " has workgroup size ", size.x(), "x", size.y(), "x", size.z(),
                   "; every extent must be at least 1");
  if (kernel.push_constant_size() % 4 != 0)
    return invalid(where, " declares ", kernel.push_constant_size(),
                   " bytes of push constants; the size must be a multiple of 4");
  if (hasTarget(plan, TARGET_VULKAN)) {
    const std::string &spirv = kernel.spirv();
    if (spirv.empty())
      return invalid(where, " has no SPIR-V but the plan targets vulkan");
    if (spirv.size() % 4 != 0 || spirv.size() < 20)
      return invalid(where, " has ", spirv.size(),
                     " bytes of SPIR-V; a module is a whole number of 32-bit words, at least 5");
    uint32_t magic = 0;
    for (int i = 0; i < 4; ++i)
      magic |= uint32_t{static_cast<uint8_t>(spirv[i])} << (8 * i);
    if (magic != kSpirvMagic)
      return invalid(where, " SPIR-V does not start with the magic 0x07230203 (little-endian)");
  }
  if (!kernel.ptx().empty())
    return invalid(where, " sets the unused field ptx (4); put PTX in ptx_code");
  if (hasTarget(plan, TARGET_CUDA) && kernel.ptx_code().empty())
    return invalid(where, " has no PTX but the plan targets cuda");
  return absl::OkStatus();
}

absl::Status validateBuffer(const Plan &plan, int index) {
  const Buffer &buffer = plan.buffers(index);
  std::string where = describeBuffer(plan, index);
  if (buffer.size_bytes() == 0 || buffer.size_bytes() % 4 != 0)
    return invalid(where, " is ", buffer.size_bytes(),
                   " bytes; buffer sizes must be a non-zero multiple of 4");
  if (!BufferRole_IsValid(buffer.role()) || buffer.role() == BUFFER_ROLE_UNSPECIFIED)
    return invalid(where, " has no role (transient, variable, input, output or constant)");
  if (buffer.in_arena()) {
    const MemorySummary &memory = plan.memory();
    uint32_t alignment = memory.alignment();
    if (buffer.role() != BUFFER_ROLE_TRANSIENT)
      return invalid(where, " is a ", roleName(buffer.role()),
                     " buffer in the arena; only transient buffers may be in_arena");
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
      return invalid(where, " is in the arena but memory.alignment is ", alignment,
                     "; it must be a power of two");
    if (buffer.arena_offset() % alignment != 0)
      return invalid(where, " has arena offset ", buffer.arena_offset(),
                     ", not a multiple of memory.alignment ", alignment);
    if (buffer.arena_offset() > memory.arena_bytes() ||
        buffer.size_bytes() > memory.arena_bytes() - buffer.arena_offset())
      return invalid(where, " occupies arena bytes [", buffer.arena_offset(), ", ",
                     buffer.arena_offset() + buffer.size_bytes(), ") but memory.arena_bytes is ",
                     memory.arena_bytes());
  } else if (buffer.arena_offset() != 0) {
    return invalid(where, " has arena offset ", buffer.arena_offset(),
                   " but is not in_arena; the offset of a buffer with its own allocation is 0");
  }
  bool isConstant = buffer.role() == BUFFER_ROLE_CONSTANT;
  if (isConstant && buffer.constant_data().size() != buffer.size_bytes())
    return invalid(where, " is a ", buffer.size_bytes(), "-byte constant but carries ",
                   buffer.constant_data().size(), " bytes of data");
  if (!isConstant && !buffer.constant_data().empty())
    return invalid(where, " is a ", roleName(buffer.role()),
                   " buffer but carries constant data; only constants may");
  return absl::OkStatus();
}

/// Checks one named tensor; `owner` records which tensor names each buffer. `names` collects
/// the names of this kind to reject duplicates; null for outputs, whose names are unique per
/// program (checked with the programs).
absl::Status validateTensor(const Plan &plan, const TensorSpec &tensor, const char *kind,
                            BufferRole role, absl::flat_hash_set<std::string> *names,
                            std::vector<std::string> &owner) {
  std::string where = absl::StrCat(kind, " '", tensor.name(), "'");
  if (tensor.name().empty())
    return invalid("an ", kind, " has no name");
  if (names && !names->insert(tensor.name()).second)
    return invalid("two ", kind, "s are named '", tensor.name(), "'");
  if (!DType_IsValid(tensor.dtype()) || tensor.dtype() == DTYPE_UNSPECIFIED)
    return invalid(where, " has no dtype");
  uint64_t bytes = hostDType(tensor.dtype()).ok() ? dtypeSize(*hostDType(tensor.dtype())) : 0;
  for (int64_t extent : tensor.shape()) {
    if (extent < 1)
      return invalid(where, " has extent ", extent, " in its shape; extents must be >= 1");
    if (static_cast<uint64_t>(extent) > kMaxTensorBytes / bytes)
      return invalid(where, " is too large");
    bytes *= static_cast<uint64_t>(extent);
  }
  if (tensor.buffer() >= static_cast<uint32_t>(plan.buffers_size()))
    return invalid(where, " names buffer ", tensor.buffer(), " but the plan has ",
                   plan.buffers_size(), " buffers");
  const Buffer &buffer = plan.buffers(tensor.buffer());
  std::string bufferName = describeBuffer(plan, tensor.buffer());
  if (buffer.role() != role)
    return invalid(where, " lives in ", bufferName, " whose role is ", roleName(buffer.role()),
                   "; it must be ", roleName(role));
  if (buffer.size_bytes() != tensorBufferSize(tensor))
    return invalid(where, " is ", describeTensor(tensor), " (", tensorByteSize(tensor), " bytes, ",
                   tensorBufferSize(tensor), " rounded up to 4) but ", bufferName, " is ",
                   buffer.size_bytes(), " bytes");
  std::string &previous = owner[tensor.buffer()];
  if (!previous.empty())
    return invalid(where, " and ", previous, " both name ", bufferName);
  previous = where;
  return absl::OkStatus();
}

absl::Status validateTensors(const Plan &plan) {
  std::vector<std::string> owner(plan.buffers_size());
  absl::flat_hash_set<std::string> inputNames, variableNames;
  for (const Input &input : plan.inputs()) {
    if (absl::Status status =
            validateTensor(plan, input.tensor(), "input", BUFFER_ROLE_INPUT, &inputNames, owner);
        !status.ok())
      return status;
    if (!input.default_value().empty() &&
        input.default_value().size() != tensorByteSize(input.tensor()))
      return invalid("input '", input.tensor().name(), "' has a ", input.default_value().size(),
                     "-byte default value but is ", describeTensor(input.tensor()), " (",
                     tensorByteSize(input.tensor()), " bytes)");
  }
  for (const Output &output : plan.outputs())
    if (absl::Status status =
            validateTensor(plan, output.tensor(), "output", BUFFER_ROLE_OUTPUT, nullptr, owner);
        !status.ok())
      return status;
  for (const Variable &variable : plan.variables()) {
    if (absl::Status status = validateTensor(plan, variable.tensor(), "variable",
                                             BUFFER_ROLE_VARIABLE, &variableNames, owner);
        !status.ok())
      return status;
    const Initializer &init = variable.initializer();
    if (!Initializer::Distribution_IsValid(init.distribution()))
      return invalid("variable '", variable.tensor().name(), "' has unknown distribution ",
                     init.distribution());
    DType dtype = variable.tensor().dtype();
    if (init.distribution() != Initializer::DISTRIBUTION_CONSTANT && dtype != DTYPE_F32 &&
        dtype != DTYPE_F64)
      return invalid("variable '", variable.tensor().name(), "' is ",
                     describeTensor(variable.tensor()),
                     "; random initializers need f32 or f64, use a constant");
  }
  for (int index = 0; index < plan.buffers_size(); ++index) {
    BufferRole role = plan.buffers(index).role();
    bool named =
        role == BUFFER_ROLE_INPUT || role == BUFFER_ROLE_OUTPUT || role == BUFFER_ROLE_VARIABLE;
    if (named && owner[index].empty())
      return invalid(describeBuffer(plan, index), " has role ", roleName(role), " but no ",
                     roleName(role), " names it");
  }
  return absl::OkStatus();
}

absl::Status validateDispatch(const Plan &plan, const Dispatch &dispatch,
                              const std::string &where) {
  if (dispatch.kernel() >= static_cast<uint32_t>(plan.kernels_size()))
    return invalid(where, " (dispatch) names kernel ", dispatch.kernel(), " but the plan has ",
                   plan.kernels_size(), " kernels");
  const Kernel &kernel = plan.kernels(dispatch.kernel());
  std::string at = absl::StrCat(where, " (dispatch of kernel '", kernel.name(), "')");
  if (static_cast<uint32_t>(dispatch.buffers_size()) != kernel.binding_count())
    return invalid(at, " binds ", dispatch.buffers_size(), " buffers but the kernel has ",
                   kernel.binding_count(), " bindings");
  for (int binding = 0; binding < dispatch.buffers_size(); ++binding)
    if (dispatch.buffers(binding) >= static_cast<uint32_t>(plan.buffers_size()))
      return invalid(at, ": binding ", binding, " names buffer ", dispatch.buffers(binding),
                     " but the plan has ", plan.buffers_size(), " buffers");
  size_t pushBytes = dispatch.push_constants().size();
  if (pushBytes > kernel.push_constant_size())
    return invalid(at, " pushes ", pushBytes, " bytes of push constants but the kernel declares ",
                   kernel.push_constant_size());
  if (pushBytes % 4 != 0)
    return invalid(at, " pushes ", pushBytes,
                   " bytes of push constants; the size must be a multiple of 4");
  const Dim3 &groups = dispatch.group_count();
  if (groups.x() == 0 || groups.y() == 0 || groups.z() == 0)
    return invalid(at, " has group count ", groups.x(), "x", groups.y(), "x", groups.z(),
                   "; every extent must be at least 1");
  return absl::OkStatus();
}

absl::Status validateCopy(const Plan &plan, const Copy &copy, const std::string &where) {
  for (uint32_t index : {copy.src_buffer(), copy.dst_buffer()})
    if (index >= static_cast<uint32_t>(plan.buffers_size()))
      return invalid(where, " (copy) names buffer ", index, " but the plan has ",
                     plan.buffers_size(), " buffers");
  std::string at = absl::StrCat(where, " (copy ", describeBuffer(plan, copy.src_buffer()), " -> ",
                                describeBuffer(plan, copy.dst_buffer()), ")");
  if (copy.src_buffer() == copy.dst_buffer())
    return invalid(at, " copies a buffer onto itself");
  if (copy.size_bytes() == 0 || copy.size_bytes() % 4 != 0)
    return invalid(at, " copies ", copy.size_bytes(),
                   " bytes; the size must be a non-zero multiple of 4");
  uint64_t room = std::min(plan.buffers(copy.src_buffer()).size_bytes(),
                           plan.buffers(copy.dst_buffer()).size_bytes());
  if (copy.size_bytes() > room)
    return invalid(at, " copies ", copy.size_bytes(), " bytes but the smaller buffer has ", room);
  BufferRole dstRole = plan.buffers(copy.dst_buffer()).role();
  if (dstRole == BUFFER_ROLE_CONSTANT || dstRole == BUFFER_ROLE_INPUT)
    return invalid(at, " writes ", dstRole == BUFFER_ROLE_INPUT ? "an " : "a ", roleName(dstRole),
                   " buffer, which no program may change");
  return absl::OkStatus();
}

/// Checks one list of indices into Plan.inputs or Plan.outputs (`kind` "input" or "output").
absl::Status validateIndexList(const Plan &plan, const std::string &program,
                               const google::protobuf::RepeatedField<uint32_t> &indices,
                               const char *kind) {
  bool isInput = std::string_view(kind) == "input";
  uint32_t count = isInput ? plan.inputs_size() : plan.outputs_size();
  absl::flat_hash_set<uint32_t> seen;
  for (uint32_t index : indices) {
    if (index >= count)
      return invalid(program, " lists ", kind, " ", index, " but the plan has ", count, " ", kind,
                     "s");
    if (!seen.insert(index).second)
      return invalid(program, " lists ", kind, " ", index, " ('",
                     isInput ? plan.inputs(index).tensor().name()
                             : plan.outputs(index).tensor().name(),
                     "') more than once");
  }
  return absl::OkStatus();
}

std::string describeProgram(const Step &program, bool isTrainingStep) {
  return isTrainingStep ? std::string("the training step")
                        : absl::StrCat("program '", program.name(), "'");
}

/// Names, input/output lists and output ownership of the step and every other program.
absl::Status validatePrograms(const Plan &plan) {
  const std::string &stepName = plan.step().name();
  if (!stepName.empty() && stepName != kTrainProgram)
    return invalid("the training step (Plan.step) is named '", stepName, "'; it must be named '",
                   kTrainProgram, "' or left unnamed");
  absl::flat_hash_set<std::string> names = {std::string(kTrainProgram)};
  for (int index = 0; index < plan.programs_size(); ++index) {
    const std::string &name = plan.programs(index).name();
    if (name.empty())
      return invalid("program ", index,
                     " of Plan.programs has no name; give every program a unique name such as "
                     "'eval'");
    if (name == kTrainProgram)
      return invalid("program ", index, " is named '", kTrainProgram,
                     "', which is reserved for the training step (Plan.step)");
    if (!names.insert(name).second)
      return invalid("two programs are named '", name, "'");
  }
  for (int index = -1; index < plan.programs_size(); ++index) {
    const Step &program = index < 0 ? plan.step() : plan.programs(index);
    std::string label = describeProgram(program, index < 0);
    if (absl::Status status = validateIndexList(plan, label, program.inputs(), "input");
        !status.ok())
      return status;
    if (absl::Status status = validateIndexList(plan, label, program.outputs(), "output");
        !status.ok())
      return status;
  }

  // Every output belongs to exactly one program; Plan.step's empty list claims the rest.
  std::vector<std::string> owner(plan.outputs_size());
  for (int index = -1; index < plan.programs_size(); ++index) {
    const Step &program = index < 0 ? plan.step() : plan.programs(index);
    std::string name = index < 0 ? std::string(kTrainProgram) : program.name();
    for (uint32_t output : program.outputs()) {
      if (!owner[output].empty())
        return invalid("output ", output, " ('", plan.outputs(output).tensor().name(),
                       "') is listed by programs '", owner[output], "' and '", name,
                       "'; an output belongs to exactly one program (give each its own Output)");
      owner[output] = name;
    }
  }
  if (!plan.step().outputs().empty())
    for (int output = 0; output < plan.outputs_size(); ++output)
      if (owner[output].empty())
        return invalid("output ", output, " ('", plan.outputs(output).tensor().name(),
                       "') belongs to no program; list it in the outputs of the program that "
                       "writes it");

  for (const ProgramView &program : planPrograms(plan)) {
    absl::flat_hash_set<std::string> outputNames;
    for (uint32_t output : program.outputs)
      if (!outputNames.insert(plan.outputs(output).tensor().name()).second)
        return invalid("program '", program.name, "' has two outputs named '",
                       plan.outputs(output).tensor().name(),
                       "'; output names must be unique within a program");
  }
  return absl::OkStatus();
}

/// Rejects a program reading an input buffer it does not list: the runtime would not stage
/// it, so the program would see whatever an earlier run left there.
absl::Status checkInputStaged(const Plan &plan, const ProgramView &program,
                              const absl::flat_hash_set<uint32_t> &stagedBuffers, uint32_t buffer,
                              const std::string &where) {
  if (plan.buffers(buffer).role() != BUFFER_ROLE_INPUT || stagedBuffers.contains(buffer))
    return absl::OkStatus();
  std::string inputName;
  for (const Input &input : plan.inputs())
    if (input.tensor().buffer() == buffer)
      inputName = input.tensor().name();
  return invalid(where, " uses ", describeBuffer(plan, buffer), " of input '", inputName,
                 "' but program '", program.name,
                 "' does not list that input in its inputs; list it so the runtime stages it");
}

absl::Status validateCommands(const Plan &plan, const ProgramView &program) {
  absl::flat_hash_set<uint32_t> stagedBuffers;
  for (uint32_t input : program.inputs)
    stagedBuffers.insert(plan.inputs(input).tensor().buffer());
  std::string prefix = program.step == &plan.step()
                           ? std::string("step command ")
                           : absl::StrCat("program '", program.name, "' command ");
  for (int index = 0; index < program.step->commands_size(); ++index) {
    const Command &command = program.step->commands(index);
    std::string where = absl::StrCat(prefix, index);
    absl::Status status;
    switch (command.kind_case()) {
    case Command::kDispatch:
      status = validateDispatch(plan, command.dispatch(), where);
      for (int binding = 0; status.ok() && binding < command.dispatch().buffers_size(); ++binding)
        status = checkInputStaged(plan, program, stagedBuffers, command.dispatch().buffers(binding),
                                  absl::StrCat(where, " binding ", binding));
      break;
    case Command::kCopy:
      status = validateCopy(plan, command.copy(), where);
      if (status.ok())
        status = checkInputStaged(plan, program, stagedBuffers, command.copy().src_buffer(),
                                  absl::StrCat(where, " (copy)"));
      break;
    case Command::kBarrier:
      break;
    case Command::KIND_NOT_SET:
      status = invalid(where, " is empty (neither dispatch, barrier nor copy)");
      break;
    }
    if (!status.ok())
      return status;
  }
  return absl::OkStatus();
}

} // namespace

absl::Status validatePlan(const Plan &plan) {
  if (absl::Status status = validateMetadata(plan); !status.ok())
    return status;
  absl::flat_hash_set<std::string> kernelNames;
  for (int index = 0; index < plan.kernels_size(); ++index) {
    if (absl::Status status = validateKernel(plan, index); !status.ok())
      return status;
    if (!kernelNames.insert(plan.kernels(index).name()).second)
      return invalid("two kernels are named '", plan.kernels(index).name(), "'");
  }
  for (int index = 0; index < plan.buffers_size(); ++index)
    if (absl::Status status = validateBuffer(plan, index); !status.ok())
      return status;
  if (absl::Status status = validateTensors(plan); !status.ok())
    return status;
  if (absl::Status status = validatePrograms(plan); !status.ok())
    return status;
  for (const ProgramView &program : planPrograms(plan))
    if (absl::Status status = validateCommands(plan, program); !status.ok())
      return status;
  return validateCpuCode(plan);
}

std::vector<ProgramView> planPrograms(const Plan &plan) {
  std::vector<ProgramView> programs(1);
  std::vector<bool> listedElsewhere(plan.outputs_size(), false);
  for (const Step &program : plan.programs()) {
    programs.push_back({program.name(), &program,
                        std::vector<uint32_t>(program.inputs().begin(), program.inputs().end()),
                        std::vector<uint32_t>(program.outputs().begin(), program.outputs().end())});
    for (uint32_t output : program.outputs())
      if (output < listedElsewhere.size())
        listedElsewhere[output] = true;
  }
  const Step &step = plan.step();
  ProgramView &train = programs.front();
  train.name = std::string(kTrainProgram);
  train.step = &step;
  train.inputs.assign(step.inputs().begin(), step.inputs().end());
  if (step.inputs().empty())
    for (int input = 0; input < plan.inputs_size(); ++input)
      train.inputs.push_back(input);
  train.outputs.assign(step.outputs().begin(), step.outputs().end());
  if (step.outputs().empty())
    for (int output = 0; output < plan.outputs_size(); ++output)
      if (!listedElsewhere[output])
        train.outputs.push_back(output);
  return programs;
}

const char *targetName(Target target) {
  switch (target) {
  case TARGET_VULKAN:
    return "vulkan";
  case TARGET_CUDA:
    return "cuda";
  case TARGET_CPU:
    return "cpu";
  default:
    return "unspecified";
  }
}

std::string targetNames(const Plan &plan) {
  std::vector<std::string> names;
  for (int target : plan.metadata().targets())
    names.push_back(targetName(static_cast<Target>(target)));
  return names.empty() ? std::string("no target") : absl::StrJoin(names, ", ");
}

bool hasTarget(const Plan &plan, Target target) {
  for (int listed : plan.metadata().targets())
    if (listed == target)
      return true;
  return false;
}

absl::StatusOr<kiln::DType> hostDType(DType dtype) {
  switch (dtype) {
  case DTYPE_F32:
    return kiln::DType::kF32;
  case DTYPE_F64:
    return kiln::DType::kF64;
  case DTYPE_I32:
    return kiln::DType::kI32;
  case DTYPE_I1:
    return kiln::DType::kI1;
  default:
    return absl::InvalidArgumentError(absl::StrCat("unknown plan dtype ", dtype));
  }
}

DType planDType(kiln::DType dtype) {
  switch (dtype) {
  case kiln::DType::kF32:
    return DTYPE_F32;
  case kiln::DType::kF64:
    return DTYPE_F64;
  case kiln::DType::kI32:
    return DTYPE_I32;
  case kiln::DType::kI1:
    return DTYPE_I1;
  }
  return DTYPE_UNSPECIFIED;
}

uint64_t tensorByteSize(const TensorSpec &tensor) {
  absl::StatusOr<kiln::DType> dtype = hostDType(tensor.dtype());
  uint64_t bytes = dtype.ok() ? dtypeSize(*dtype) : 0;
  for (int64_t extent : tensor.shape())
    bytes *= static_cast<uint64_t>(extent);
  return bytes;
}

uint64_t tensorBufferSize(const TensorSpec &tensor) { return (tensorByteSize(tensor) + 3) / 4 * 4; }

std::string describeTensor(const TensorSpec &tensor) {
  absl::StatusOr<kiln::DType> dtype = hostDType(tensor.dtype());
  return absl::StrCat(dtype.ok() ? dtypeName(*dtype) : "?", "[", absl::StrJoin(tensor.shape(), "x"),
                      "]");
}

std::vector<bool> declaredWrittenBindings(const Kernel &kernel) {
  if (kernel.output_bindings() == 0)
    return kernelWrittenBindings(kernel);
  std::vector<bool> written(kernel.binding_count(), false);
  for (uint32_t binding = 0; binding < kernel.output_bindings() && binding < written.size();
       ++binding)
    written[binding] = true;
  return written;
}

} // namespace kiln::plan
