//===- Device.h - The reference device behind a session ---------*- C++ -*-===//
//
// The oracle as a session::Device, so the session core, `kiln train` and the
// conformance suite run it exactly like Vulkan or CUDA. It does not execute
// the plan's kernels: it interprets the plan's embedded graph module
// (Plan.graph_module) with ReferenceDevice, @step for the training step and
// @<name> for every other program; a plan output "gradient/<variable>" is
// the interpreter's graph.gradient of @<variable>. Its "buffers" are the interpreter's
// variables; a submission runs the program on the host, inside submit(), so
// every wait returns at once. Programs other than the step run on their own
// interpreter, whose variables are refreshed from the step's before a run
// when the step's have changed.
//
// May link MLIR (it parses the module); nothing in runtime/vulkan or
// runtime/cuda depends on it.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_REFERENCE_DEVICE_H
#define KILN_RUNTIME_REFERENCE_DEVICE_H

#include "kiln/runtime/ReferenceDevice.h"
#include "kiln/runtime/session/Device.h"
#include "kiln/runtime/session/Session.h"

#include "absl/container/flat_hash_map.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include <memory>
#include <string>
#include <vector>

namespace kiln::reference {

class Device : public session::Device {
public:
  explicit Device(Precision precision = Precision::kFloat32);
  ~Device() override;

  /// load() parses Plan.graph_module and prepares @step: FailedPrecondition if the plan
  /// carries no graph module; DataLoss if it does not parse (with the diagnostics);
  /// ReferenceDevice's InvalidArgument for an op it cannot execute. initializeBuffers() sets
  /// the variables (the interpreter has no other buffers to zero). recordProgram() prepares
  /// the program's interpreter (for a program other than "train", from its function
  /// @<program>; NotFound if the module has none). submit() runs the program on the host now
  /// and fails with the interpreter's error (a label out of range, for example), changing no
  /// variable then. deviceSeconds() is the host time of the slot's last run. readBuffer() and
  /// writeBuffer() fail with FailedPrecondition for a buffer that is not a variable's.
  /// stats() adds "precision": "f32" or "f64".
  KILN_SESSION_DEVICE_OVERRIDES;

private:
  /// One interpreted function of the module: @step, or another program renamed to @step.
  struct Program {
    mlir::OwningOpRef<mlir::ModuleOp> module; ///< Empty for @step (it runs trainModule_).
    std::unique_ptr<ReferenceDevice> device;
    uint64_t syncedVersion = 0; ///< variablesVersion_ its variables were copied at.
  };
  struct Slot {
    session::ProgramRecording recording;
    /// The plan's TensorSpec of each of recording.inputs and recording.outputs.
    std::vector<const plan::TensorSpec *> inputSpecs, outputSpecs;
    Program *program = nullptr;
    std::vector<std::byte> staging, readback;
    double seconds = 0;
  };

  absl::StatusOr<Program *> prepareProgram(const std::string &name);
  /// The plan variable that owns `buffer`; FailedPrecondition naming the buffer otherwise.
  absl::StatusOr<const plan::TensorSpec *> variableOfBuffer(uint32_t buffer) const;
  /// Copies the training program's variables into `program` if they changed since.
  absl::Status refreshVariables(Program &program);

  Precision precision_;
  const plan::Plan *plan_ = nullptr;
  std::unique_ptr<mlir::MLIRContext> context_;
  mlir::OwningOpRef<mlir::ModuleOp> trainModule_;
  absl::flat_hash_map<std::string, std::unique_ptr<Program>> programs_; // "train" is @step
  absl::flat_hash_map<uint32_t, int> variableOfBuffer_; // plan buffer -> Plan.variables index
  uint64_t variablesVersion_ = 1; ///< Bumped whenever the training variables change.
  std::vector<std::unique_ptr<Slot>> slots_;
};

/// A session running `plan`'s graph module on the reference device. Fails with InvalidArgument
/// if the plan is invalid, and with Device::load's errors.
absl::StatusOr<std::unique_ptr<session::Session>>
createSession(plan::Plan plan, Precision precision = Precision::kFloat32);

} // namespace kiln::reference

#endif // KILN_RUNTIME_REFERENCE_DEVICE_H
