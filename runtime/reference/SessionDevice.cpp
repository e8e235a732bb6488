//===- SessionDevice.cpp - The reference device behind a session ----------===//
//
// reference::Device (include/kiln/runtime/reference/Device.h): the plan's
// graph module interpreted per program, host tensors in and out of the
// session's staging layout, variables as the only buffers.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/reference/Device.h"

#include "kiln/Dialect/Graph/GraphDialect.h"
#include "kiln/runtime/PlanValidation.h"
#include "kiln/runtime/ProgramIO.h"

#include "absl/strings/str_cat.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"

#include <chrono>
#include <cstring>

namespace kiln::reference {

namespace {

/// A host tensor of `tensor`'s dtype and shape holding `bytes`.
HostTensor tensorFrom(const plan::TensorSpec &tensor, std::span<const std::byte> bytes) {
  HostTensor value(*plan::hostDType(tensor.dtype()), plan::tensorShape(tensor));
  std::memcpy(value.bytes().data(), bytes.data(), std::min(bytes.size(), value.sizeInBytes()));
  return value;
}

/// Copies `value`, converted to `tensor`'s dtype, into `bytes`.
void copyTo(const HostTensor &value, const plan::TensorSpec &tensor, std::span<std::byte> bytes) {
  DType dtype = *plan::hostDType(tensor.dtype());
  HostTensor converted = value.dtype() == dtype ? value : value.convertTo(dtype);
  std::memcpy(bytes.data(), converted.bytes().data(),
              std::min(bytes.size(), converted.sizeInBytes()));
}

/// The plan output codegen names "gradient/<variable>" for a graph.gradient of @<variable>
/// (codegen::gradientOutputName).
constexpr std::string_view kGradientPrefix = "gradient/";

/// Plan output `name` of the interpreter's last step: a graph.output, or a gradient.
absl::StatusOr<HostTensor> outputOf(const ReferenceDevice &device, const std::string &name) {
  absl::StatusOr<HostTensor> value = device.output(name);
  if (value.ok() || value.status().code() != absl::StatusCode::kNotFound ||
      !std::string_view(name).starts_with(kGradientPrefix))
    return value;
  return device.gradient(std::string_view(name).substr(kGradientPrefix.size()));
}

} // namespace

Device::Device(Precision precision) : precision_(precision) {}

Device::~Device() = default;

absl::Status Device::load(const plan::Plan &plan) {
  plan_ = &plan;
  if (plan.graph_module().empty())
    return absl::FailedPreconditionError(
        "the plan carries no graph module, so the reference device cannot run it; "
        "recompile it with this version of kiln compile");
  context_ = std::make_unique<mlir::MLIRContext>();
  context_->loadDialect<graph::GraphDialect, mlir::func::FuncDialect>();
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(context_.get(), [&](mlir::Diagnostic &diagnostic) {
    absl::StrAppend(&diagnostics, diagnostics.empty() ? "" : "; ", diagnostic.str());
    return mlir::success();
  });
  trainModule_ = mlir::parseSourceString<mlir::ModuleOp>(plan.graph_module(), context_.get());
  if (!trainModule_)
    return absl::DataLossError(
        absl::StrCat("the plan's graph module does not parse: ", diagnostics));
  for (int index = 0; index < plan.variables_size(); ++index)
    variableOfBuffer_[plan.variables(index).tensor().buffer()] = index;
  absl::StatusOr<Program *> train = prepareProgram(std::string(plan::kTrainProgram));
  return train.ok() ? absl::OkStatus() : train.status();
}

absl::StatusOr<Device::Program *> Device::prepareProgram(const std::string &name) {
  if (auto found = programs_.find(name); found != programs_.end())
    return found->second.get();
  auto program = std::make_unique<Program>();
  mlir::ModuleOp module = *trainModule_;
  if (name != plan::kTrainProgram) {
    program->module = trainModule_->clone();
    module = *program->module;
    auto function = module.lookupSymbol<mlir::func::FuncOp>(name);
    if (!function)
      return absl::NotFoundError(absl::StrCat("reference device: the plan's graph module has no "
                                              "func @",
                                              name, " for program '", name, "'"));
    if (auto step = module.lookupSymbol<mlir::func::FuncOp>("step"))
      step.erase();
    function.setName("step");
  }
  absl::StatusOr<std::unique_ptr<ReferenceDevice>> device =
      ReferenceDevice::create(module, precision_);
  if (!device.ok())
    return device.status();
  program->device = *std::move(device);
  Program *result = program.get();
  programs_[name] = std::move(program);
  return result;
}

absl::StatusOr<const plan::TensorSpec *> Device::variableOfBuffer(uint32_t buffer) const {
  auto found = variableOfBuffer_.find(buffer);
  if (found == variableOfBuffer_.end())
    return absl::FailedPreconditionError(
        absl::StrCat("reference device: buffer ", buffer, " ('", plan_->buffers(buffer).name(),
                     "') is not a variable; the interpreter holds variables only"));
  return &plan_->variables(found->second).tensor();
}

absl::Status Device::refreshVariables(Program &program) {
  if (program.syncedVersion == variablesVersion_ || &program == programs_["train"].get())
    return absl::OkStatus();
  ReferenceDevice &train = *programs_["train"]->device;
  for (const std::string &name : program.device->variableNames()) {
    absl::StatusOr<HostTensor> value = train.variable(name);
    if (!value.ok())
      return value.status();
    KILN_RETURN_IF_ERROR(program.device->setVariable(name, *value));
  }
  program.syncedVersion = variablesVersion_;
  return absl::OkStatus();
}

absl::Status Device::initializeBuffers(std::span<const session::BufferWrite> writes) {
  for (const session::BufferWrite &write : writes) {
    if (!variableOfBuffer_.contains(write.buffer))
      continue; // a constant: the graph module holds its own
    KILN_RETURN_IF_ERROR(writeBuffer(write.buffer, write.bytes, "initialising variables"));
  }
  return absl::OkStatus();
}

absl::StatusOr<session::RecordedProgram>
Device::recordProgram(const session::ProgramRecording &recording) {
  absl::StatusOr<Program *> program = prepareProgram(recording.program);
  if (!program.ok())
    return program.status();
  auto slot = std::make_unique<Slot>();
  // The plan's tensor of each staged one: its dtype and shape.
  auto specOf = [&](const session::StagedTensor &staged,
                    const auto &entries) -> const plan::TensorSpec * {
    for (const auto &entry : entries)
      if (entry.tensor().name() == staged.name && entry.tensor().buffer() == staged.buffer)
        return &entry.tensor();
    return nullptr;
  };
  for (const session::StagedTensor &input : recording.inputs)
    slot->inputSpecs.push_back(specOf(input, plan_->inputs()));
  for (const session::StagedTensor &output : recording.outputs)
    slot->outputSpecs.push_back(specOf(output, plan_->outputs()));
  for (const auto *specs : {&slot->inputSpecs, &slot->outputSpecs})
    for (const plan::TensorSpec *spec : *specs)
      if (!spec)
        return absl::InvalidArgumentError(absl::StrCat("reference device: ", recording.label,
                                                       " stages a tensor the plan does not list"));
  slot->recording = recording;
  slot->program = *program;
  slot->staging.resize(recording.stagingBytes);
  slot->readback.resize(recording.readbackBytes);
  slots_.push_back(std::move(slot));
  return session::RecordedProgram{static_cast<uint32_t>(slots_.size() - 1), 0};
}

std::span<std::byte> Device::inputStaging(uint32_t slot) { return slots_[slot]->staging; }

absl::Status Device::submit(uint32_t index, const std::string &activity) {
  Slot &slot = *slots_[index];
  auto start = std::chrono::steady_clock::now();
  KILN_RETURN_IF_ERROR(refreshVariables(*slot.program));
  session::TensorMap inputs;
  for (size_t position = 0; position < slot.recording.inputs.size(); ++position) {
    const session::StagedTensor &input = slot.recording.inputs[position];
    inputs.emplace(input.name,
                   tensorFrom(*slot.inputSpecs[position],
                              std::span(slot.staging).subspan(input.offset, input.bytes)));
  }
  KILN_RETURN_IF_ERROR(slot.program->device->step(inputs));
  for (size_t position = 0; position < slot.recording.outputs.size(); ++position) {
    const session::StagedTensor &output = slot.recording.outputs[position];
    absl::StatusOr<HostTensor> value = outputOf(*slot.program->device, output.name);
    if (!value.ok())
      return value.status();
    copyTo(*value, *slot.outputSpecs[position],
           std::span(slot.readback).subspan(output.offset, output.bytes));
  }
  if (slot.program == programs_["train"].get())
    ++variablesVersion_;
  slot.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return absl::OkStatus();
}

absl::StatusOr<bool> Device::wait(uint32_t, std::chrono::nanoseconds, const std::string &) {
  return true; // submit() ran the program to completion
}

bool Device::finished(uint32_t) { return true; }

absl::StatusOr<std::span<const std::byte>> Device::outputReadback(uint32_t slot) {
  return std::span<const std::byte>(slots_[slot]->readback);
}

std::optional<double> Device::deviceSeconds(uint32_t slot) { return slots_[slot]->seconds; }

absl::Status Device::readBuffer(uint32_t buffer, std::span<std::byte> bytes,
                                const std::string &activity) {
  absl::StatusOr<const plan::TensorSpec *> tensor = variableOfBuffer(buffer);
  if (!tensor.ok())
    return tensor.status();
  absl::StatusOr<HostTensor> value = programs_["train"]->device->variable((*tensor)->name());
  if (!value.ok())
    return value.status();
  copyTo(*value, **tensor, bytes);
  return absl::OkStatus();
}

absl::Status Device::writeBuffer(uint32_t buffer, std::span<const std::byte> bytes,
                                 const std::string &activity) {
  absl::StatusOr<const plan::TensorSpec *> tensor = variableOfBuffer(buffer);
  if (!tensor.ok())
    return tensor.status();
  KILN_RETURN_IF_ERROR(
      programs_["train"]->device->setVariable((*tensor)->name(), tensorFrom(**tensor, bytes)));
  ++variablesVersion_;
  return absl::OkStatus();
}

session::DeviceStats Device::stats() const {
  session::DeviceStats stats;
  stats.name = "reference";
  stats.type = "host";
  stats.members.push_back({"precision", precision_ == Precision::kFloat64 ? "\"f64\"" : "\"f32\""});
  return stats;
}

absl::StatusOr<std::unique_ptr<session::Session>> createSession(plan::Plan plan,
                                                                Precision precision) {
  if (absl::Status status = plan::validatePlan(plan); !status.ok())
    return absl::InvalidArgumentError(absl::StrCat("invalid plan: ", status.message()));
  return session::Session::create(std::move(plan), std::make_unique<Device>(precision));
}

} // namespace kiln::reference
