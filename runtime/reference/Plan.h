//===- Plan.h - The reference device's execution plan -----------*- C++ -*-===//
//
// What `ReferenceDevice::create` makes of a module, once: every SSA value of
// the step gets a slot (a preallocated host tensor), every compute op becomes
// an `Instruction` with its shapes and strides worked out, and the step's
// inputs, outputs, gradients and assigns become tables of slots. Running a
// step walks the instructions and never looks at MLIR again.
//
// Internal to runtime/reference.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_REFERENCE_PLAN_H
#define KILN_RUNTIME_REFERENCE_PLAN_H

#include "ElementwiseKernels.h"
#include "Kernels.h"

#include "kiln/runtime/HostTensor.h"
#include "kiln/runtime/ReferenceDevice.h"

#include <optional>
#include <string>
#include <vector>

namespace kiln::reference {

/// The compute ops an instruction can run (graph ops without an instruction,
/// such as constants, inputs and outputs, are handled by the plan's tables).
enum class OpKind {
  kRead,
  kElementwise, // every ElementwiseOpInterface op but compare and select
  kCompare,
  kSelect,
  kStridedCopy, // graph.broadcast and graph.transpose
  kReshape,
  kReduce,
  kMatmul,
  kSoftmax,
  kLogSoftmax,
  kOneHot,
  kSoftmaxCrossEntropy,
  kMse,
  kConv2d,
  kConv2dInputGrad,
  kConv2dWeightGrad,
  kWindowCopy, // graph.pad, slice, concat, window and unwindow
  kIota,
  kDropoutMask,
  kAttention,     // graph.attention: results {out, lse}
  kAttentionGrad, // graph.attention_grad: results {dq, dk, dv}
  kGather,        // graph.gather
  kScatterAdd,    // graph.scatter_add
};

/// One compute op of the step with everything it needs precomputed. Which
/// parameters are meaningful depends on `kind`.
struct Instruction {
  OpKind kind;
  /// "'graph.matmul' at model.mlir:12:3", for messages.
  std::string where;
  std::vector<int> operands;
  int result = -1;
  /// Ops with several results (attention): every result's slot, in order (`result` is the
  /// first).
  std::vector<int> results;

  ElementwiseLoop elementwise;
  CompareKind compare = CompareKind::kEq;
  ReduceKind reduce = ReduceKind::kSum;
  /// Elements of the result (elementwise ops, reshape, one_hot labels, mse operands).
  int64_t count = 0;
  /// kRead: the variable's index.
  int variable = -1;
  StridedLayout strided;
  ReduceLayout reduction;
  MatmulLayout matmul;
  /// Slots of packed (transposed) matmul operands; -1 when not needed.
  int lhsScratch = -1, rhsScratch = -1;
  AxisLayout axis;
  ConvLayout conv;
  WindowLayout window;
  IotaLayout iota;
  DropoutLayout dropout;
  AttentionLayout attention;
  IndexLayout index; // kGather, kScatterAdd
};

/// A graph.variable: its value lives here between steps.
struct VariableState {
  std::string name;
  std::string typeName; // "tensor<128x784xf32>"
  HostTensor value;
};

/// A graph.input name and every slot that receives it.
struct InputSlots {
  std::string name;
  std::string typeName;
  DType dtype; // of the slots (floats in the device's precision)
  std::vector<int64_t> shape;
  std::optional<HostTensor> defaultValue;
  std::vector<int> slots;
};

struct NamedSlot {
  std::string name;
  int slot;
};

struct Plan {
  Precision precision;
  std::vector<HostTensor> slots;
  std::vector<Instruction> instructions;
  std::vector<VariableState> variables;
  std::vector<InputSlots> inputs;
  std::vector<NamedSlot> outputs;
  /// Name: the variable's name.
  std::vector<NamedSlot> gradients;
  /// (variable index, value slot), applied in this order at the end of a step.
  std::vector<std::pair<int, int>> assigns;
};

/// Builds the plan of `module` (see ReferenceDevice::create for failures).
absl::StatusOr<std::unique_ptr<Plan>> buildPlan(mlir::ModuleOp module, Precision precision);

/// Runs `instruction` on the plan's slots; T is float or double per the precision.
/// Fails only for data-dependent errors (labels out of range).
template <typename T> absl::Status execute(const Instruction &instruction, Plan &plan);

} // namespace kiln::reference

#endif // KILN_RUNTIME_REFERENCE_PLAN_H
