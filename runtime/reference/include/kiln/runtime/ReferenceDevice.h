//===- ReferenceDevice.h - The oracle: graph dialect in plain C++ -*- C++ -*-===//
//
// Executes a graph-dialect training step on the host, op by op, in float32 or
// float64. Every other device is tested against it, so it favours obviously
// right code over speed, while staying fast enough to train a small MLP in a
// unit test: `create` turns the module into a plan once (slots for every
// value, shapes and strides precomputed), and `step` runs the plan without
// touching MLIR.
//
// Numerics: in kFloat32 mode every op computes and accumulates in float (as a
// GPU kernel does); reductions sum in row-major order of the operand and
// matmul sums over k in order. In kFloat64 mode inputs, constants and initial
// values (drawn in float, see Initializer.h) are widened to double and
// everything is computed in double. Ops whose results reach no output,
// gradient or assign are skipped, except softmax_cross_entropy, which always
// checks its labels.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_REFERENCEDEVICE_H
#define KILN_RUNTIME_REFERENCEDEVICE_H

#include "kiln/runtime/HostTensor.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::reference {

enum class Precision { kFloat32, kFloat64 };

struct Plan;

/// Executes a graph-dialect training step in plain C++; the oracle every device is tested
/// against.
class ReferenceDevice {
public:
  /// Prepares `module` (not owned; must outlive the device): verifies it, finds func @step,
  /// checks every op is supported, materialises every graph.variable from its initializer.
  /// Fails with InvalidArgument and a message naming the op and its location if something
  /// cannot be executed.
  static absl::StatusOr<std::unique_ptr<ReferenceDevice>>
  create(mlir::ModuleOp module, Precision precision = Precision::kFloat32);

  ~ReferenceDevice();
  ReferenceDevice(const ReferenceDevice &) = delete;
  ReferenceDevice &operator=(const ReferenceDevice &) = delete;

  /// Runs one step. `inputs` maps graph.input names to tensors (float inputs may be given as
  /// f32 or f64; i32 as i32; i1 as i1); inputs not given use their default_value, else the
  /// step fails naming them. Unknown names, and shapes or dtypes that differ from the input's
  /// type, fail with InvalidArgument naming the input. Assigns take effect at the end; a step
  /// that fails (a label out of range, for example) changes no variable.
  absl::Status step(const std::map<std::string, HostTensor, std::less<>> &inputs);

  /// Values of the last successful step: graph.output by name, graph.gradient by variable
  /// name. NotFound for names the step does not have; FailedPrecondition before the first
  /// successful step or after a failed one.
  absl::StatusOr<HostTensor> output(std::string_view name) const;
  absl::StatusOr<HostTensor> gradient(std::string_view variable) const;

  /// Current value of a variable (NotFound for unknown names). setVariable replaces it: the
  /// shape must match and floats may be f32 or f64 (converted to the device's precision).
  absl::StatusOr<HostTensor> variable(std::string_view name) const;
  absl::Status setVariable(std::string_view name, const HostTensor &value);

  /// Variable names (without '@') in module order.
  std::vector<std::string> variableNames() const;
  /// Successful steps since create().
  int64_t stepsRun() const;
  Precision precision() const;

private:
  ReferenceDevice(std::unique_ptr<Plan> plan, Precision precision);

  std::unique_ptr<Plan> plan_;
  Precision precision_;
  int64_t stepsRun_ = 0;
  bool haveResults_ = false;
};

} // namespace kiln::reference

#endif // KILN_RUNTIME_REFERENCEDEVICE_H
