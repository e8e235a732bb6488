//===- ProgramIO.h - Host tensors in and out of a plan's programs -*- C++ -*-===//
//
// What every runtime (Vulkan, CUDA) does the same way before and after it runs
// a program: find an input or output by name, check a host tensor against the
// plan's TensorSpec, and assemble a program's inputs, falling back to their
// default values. Errors are InvalidArgument and name the tensor and program.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_PROGRAMIO_H
#define KILN_RUNTIME_PROGRAMIO_H

#include "kiln/plan/plan.pb.h"
#include "kiln/runtime/HostTensor.h"
#include "kiln/runtime/PlanValidation.h"

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::plan {

/// One program of a plan with its inputs and outputs indexed by name.
struct ProgramIO {
  ProgramView view;
  absl::flat_hash_map<std::string, int> inputIndex;  ///< Name -> position in view.inputs.
  absl::flat_hash_map<std::string, int> outputIndex; ///< Name -> position in view.outputs.
};

/// `view` (a program of `plan`) with its name indexes filled in.
ProgramIO indexProgram(const Plan &plan, ProgramView view);

/// The shape of `tensor`.
std::vector<int64_t> tensorShape(const TensorSpec &tensor);

/// `value` as the dtype of `tensor` (converting between f32 and f64), or InvalidArgument
/// naming `what` if the shape or dtype differs.
absl::StatusOr<HostTensor> matchTensor(const HostTensor &value, const TensorSpec &tensor,
                                       const std::string &what);

/// The keys of `index`, sorted and comma-separated, or "(none)".
std::string listNames(const absl::flat_hash_map<std::string, int> &index);

/// The values of `program`'s inputs in the order of program.view.inputs: each from `inputs`
/// (checked with matchTensor) or else its default value. Fails naming `caller` for an unknown
/// name, or an input that was not given and has no default.
absl::StatusOr<std::vector<HostTensor>>
resolveInputs(const Plan &plan, const ProgramIO &program,
              const std::map<std::string, HostTensor, std::less<>> &inputs,
              std::string_view caller);

/// The initial value of `variable` per its initializer (runtime/common Initializer.h): what
/// every runtime uploads to the variable's buffer when a session starts.
HostTensor initialValue(const Variable &variable);

} // namespace kiln::plan

#endif // KILN_RUNTIME_PROGRAMIO_H
