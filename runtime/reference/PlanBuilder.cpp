//===- PlanBuilder.cpp - From a graph-dialect module to a plan -----------===//
//
// Verifies the module, materialises variables from their initializers, gives
// every value of func @step a slot and turns each op into an instruction or
// an entry of the plan's input/output/gradient/assign tables, then drops the
// instructions nothing observable depends on. All MLIR access of the reference
// device happens here; failures name the op and location.
//
//===----------------------------------------------------------------------===//

#include "Plan.h"

#include "OpLayouts.h"

#include "kiln/Dialect/Graph/GraphDialect.h"
#include "kiln/runtime/Initializer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

#include <functional>

namespace kiln::reference {
namespace {

using mlir::Operation;
using mlir::RankedTensorType;
using mlir::Value;
namespace graph = kiln::graph;

std::string printed(mlir::Type type) {
  std::string out;
  llvm::raw_string_ostream os(out);
  type.print(os);
  return out;
}

/// "file:line:col" of the first file location inside `loc`, else its printed form.
std::string describeLocation(mlir::Location loc) {
  std::string found;
  loc->walk([&](mlir::Location inner) {
    if (auto file = llvm::dyn_cast<mlir::FileLineColLoc>(inner)) {
      found = absl::StrCat(file.getFilename().str(), ":", file.getLine(), ":", file.getColumn());
      return mlir::WalkResult::interrupt();
    }
    return mlir::WalkResult::advance();
  });
  if (!found.empty())
    return found;
  std::string out;
  llvm::raw_string_ostream os(out);
  loc.print(os);
  return out;
}

std::string describeOp(Operation *op) {
  return absl::StrCat("'", op->getName().getStringRef().str(), "' at ",
                      describeLocation(op->getLoc()));
}

absl::Status opError(Operation *op, std::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat("reference device: ", describeOp(op), ": ", std::string(message)));
}

/// The host dtype of tensors of `type` on a device of `precision`.
absl::StatusOr<DType> hostDType(mlir::Type type, Precision precision, Operation *op) {
  mlir::Type element = llvm::cast<mlir::ShapedType>(type).getElementType();
  if (element.isF32())
    return precision == Precision::kFloat64 ? DType::kF64 : DType::kF32;
  if (element.isInteger(32))
    return DType::kI32;
  if (element.isInteger(1))
    return DType::kI1;
  return opError(op, absl::StrCat("element type of ", printed(type),
                                  " is not supported (f32, i32 and i1 are)"));
}

/// The values of `elements` as a host tensor of `dtype`.
absl::StatusOr<HostTensor> tensorFromElements(mlir::ElementsAttr elements, DType dtype,
                                              Operation *op) {
  HostTensor tensor(dtype, shapeOf(elements.getShapedType()));
  int64_t i = 0;
  auto store = [&](double value) {
    switch (dtype) {
    case DType::kF32:
      tensor.f32()[i++] = static_cast<float>(value);
      break;
    case DType::kF64:
      tensor.f64()[i++] = value;
      break;
    case DType::kI32:
      tensor.i32()[i++] = static_cast<int32_t>(value);
      break;
    case DType::kI1:
      tensor.bytes()[i++] = value != 0;
      break;
    }
  };
  if (dtype == DType::kF32 || dtype == DType::kF64) {
    auto values = elements.tryGetValues<llvm::APFloat>();
    if (!values)
      return opError(op, "cannot read the float values of its elements attribute");
    for (const llvm::APFloat &value : *values)
      store(value.convertToDouble());
    return tensor;
  }
  auto values = elements.tryGetValues<llvm::APInt>();
  if (!values)
    return opError(op, "cannot read the integer values of its elements attribute");
  for (const llvm::APInt &value : *values)
    store(dtype == DType::kI1 ? value.getBoolValue() : value.getSExtValue());
  return tensor;
}

/// The initial value of a variable, drawn in float and widened in kFloat64 mode.
absl::StatusOr<HostTensor> initialValue(graph::VariableOp variable, DType dtype) {
  graph::InitializerAttr init = variable.getInit();
  std::vector<int64_t> shape = shapeOf(variable.getType());
  if (dtype == DType::kI32 || dtype == DType::kI1) {
    if (init.getDistribution() != graph::Distribution::constant)
      return opError(variable, "integer and mask variables take constant initializers only");
    HostTensor tensor(dtype, shape);
    for (int64_t i = 0; i < tensor.numElements(); ++i) {
      if (dtype == DType::kI32)
        tensor.i32()[i] = static_cast<int32_t>(init.getFirst());
      else
        tensor.bytes()[i] = init.getFirst() != 0;
    }
    return tensor;
  }
  InitKind kind = InitKind::kConstant;
  if (init.getDistribution() == graph::Distribution::uniform)
    kind = InitKind::kUniform;
  else if (init.getDistribution() == graph::Distribution::normal)
    kind = InitKind::kNormal;
  HostTensor values(DType::kF32, shape);
  fillInitializer(kind, init.getFirst(), init.getSecond(), init.getSeed(), init.getStream(),
                  values.f32());
  return values.convertTo(dtype);
}

/// Builds the plan op by op.
class PlanBuilder {
public:
  PlanBuilder(Precision precision) { plan_->precision = precision; }

  absl::StatusOr<std::unique_ptr<Plan>> build(mlir::ModuleOp module);

private:
  absl::Status addVariables(mlir::ModuleOp module);
  /// Drops instructions whose results reach no output, gradient or assign (autodiff leaves
  /// such ops, e.g. the gradient of the images, for canonicalization to remove).
  void removeDeadInstructions();
  absl::Status addOp(Operation *op);
  absl::Status addInput(graph::InputOp input);
  absl::Status addConstant(graph::ConstantOp constant);
  absl::StatusOr<int> variableIndex(Operation *op, llvm::StringRef name);

  /// A new slot for `value`, shaped and typed like it.
  absl::StatusOr<int> newSlot(Value value, Operation *op);
  int newScratch(int64_t count) {
    plan_->slots.emplace_back(floatDType(), std::vector<int64_t>{count});
    return static_cast<int>(plan_->slots.size()) - 1;
  }
  int slotOf(Value value) const { return slots_.lookup(value); }
  DType floatDType() const {
    return plan_->precision == Precision::kFloat64 ? DType::kF64 : DType::kF32;
  }

  /// Appends an instruction for `op` with its operands' slots and a new result slot, then
  /// lets `configure` set its parameters.
  absl::Status addInstruction(Operation *op, OpKind kind,
                              const std::function<void(Instruction &)> &configure = {});

  std::unique_ptr<Plan> plan_ = std::make_unique<Plan>();
  llvm::DenseMap<Value, int> slots_;
  std::map<std::string, int, std::less<>> variableIndices_;
  std::map<std::string, Operation *, std::less<>> outputOps_;
  std::map<int, Operation *> gradientOps_;
};

absl::StatusOr<std::unique_ptr<Plan>> PlanBuilder::build(mlir::ModuleOp module) {
  std::string diagnostics;
  {
    mlir::ScopedDiagnosticHandler handler(module.getContext(), [&](mlir::Diagnostic &d) {
      absl::StrAppend(&diagnostics, "\n  ", describeLocation(d.getLocation()), ": ", d.str());
      return mlir::success();
    });
    if (mlir::failed(mlir::verify(module)))
      return absl::InvalidArgumentError(
          absl::StrCat("reference device: the module does not verify:", diagnostics));
  }
  if (absl::Status status = addVariables(module); !status.ok())
    return status;

  auto step = module.lookupSymbol<mlir::func::FuncOp>("step");
  if (!step)
    return absl::InvalidArgumentError(
        "reference device: the module has no func.func @step; a training-step module holds "
        "its ops in `func.func @step() { ... return }`");
  if (step.getNumArguments() != 0 || step.getNumResults() != 0)
    return opError(step, "@step must take no arguments and return nothing; feed values with "
                         "graph.input and read them with graph.output");
  if (!step.getBody().hasOneBlock())
    return opError(step, "@step must have exactly one block");
  for (Operation &op : step.getBody().front())
    if (absl::Status status = addOp(&op); !status.ok())
      return status;
  removeDeadInstructions();
  return std::move(plan_);
}

void PlanBuilder::removeDeadInstructions() {
  std::vector<bool> needed(plan_->slots.size(), false);
  for (const NamedSlot &output : plan_->outputs)
    needed[output.slot] = true;
  for (const NamedSlot &gradient : plan_->gradients)
    needed[gradient.slot] = true;
  for (auto [variable, slot] : plan_->assigns)
    needed[slot] = true;
  std::vector<Instruction> &instructions = plan_->instructions;
  std::vector<bool> live(instructions.size(), false);
  for (size_t i = instructions.size(); i-- > 0;) {
    // Cross entropy also checks its labels, so it runs even when its value is unused.
    live[i] =
        needed[instructions[i].result] || instructions[i].kind == OpKind::kSoftmaxCrossEntropy;
    for (int result : instructions[i].results)
      live[i] = live[i] || needed[result];
    if (live[i])
      for (int operand : instructions[i].operands)
        needed[operand] = true;
  }
  std::vector<Instruction> kept;
  for (size_t i = 0; i < instructions.size(); ++i)
    if (live[i])
      kept.push_back(std::move(instructions[i]));
  instructions = std::move(kept);
}

absl::Status PlanBuilder::addVariables(mlir::ModuleOp module) {
  for (auto variable : module.getOps<graph::VariableOp>()) {
    absl::StatusOr<DType> dtype = hostDType(variable.getType(), plan_->precision, variable);
    if (!dtype.ok())
      return dtype.status();
    absl::StatusOr<HostTensor> value = initialValue(variable, *dtype);
    if (!value.ok())
      return value.status();
    variableIndices_[variable.getSymName().str()] = static_cast<int>(plan_->variables.size());
    plan_->variables.push_back(
        {variable.getSymName().str(), printed(variable.getType()), *std::move(value)});
  }
  return absl::OkStatus();
}

absl::StatusOr<int> PlanBuilder::variableIndex(Operation *op, llvm::StringRef name) {
  auto found = variableIndices_.find(name);
  if (found == variableIndices_.end())
    return opError(op, absl::StrCat("refers to @", name.str(), ", which is not a variable"));
  return found->second;
}

absl::StatusOr<int> PlanBuilder::newSlot(Value value, Operation *op) {
  absl::StatusOr<DType> dtype = hostDType(value.getType(), plan_->precision, op);
  if (!dtype.ok())
    return dtype.status();
  plan_->slots.emplace_back(*dtype, shapeOf(value.getType()));
  int slot = static_cast<int>(plan_->slots.size()) - 1;
  slots_[value] = slot;
  return slot;
}

absl::Status PlanBuilder::addInstruction(Operation *op, OpKind kind,
                                         const std::function<void(Instruction &)> &configure) {
  Instruction instruction;
  instruction.kind = kind;
  instruction.where = describeOp(op);
  for (Value operand : op->getOperands())
    instruction.operands.push_back(slotOf(operand));
  if (op->getNumResults() == 1) {
    absl::StatusOr<int> slot = newSlot(op->getResult(0), op);
    if (!slot.ok())
      return slot.status();
    instruction.result = *slot;
    instruction.count = plan_->slots[*slot].numElements();
  } else {
    for (Value result : op->getResults()) {
      absl::StatusOr<int> slot = newSlot(result, op);
      if (!slot.ok())
        return slot.status();
      instruction.results.push_back(*slot);
    }
    if (!instruction.results.empty())
      instruction.result = instruction.results.front();
  }
  if (configure)
    configure(instruction);
  plan_->instructions.push_back(std::move(instruction));
  return absl::OkStatus();
}

absl::Status PlanBuilder::addInput(graph::InputOp input) {
  absl::StatusOr<int> slot = newSlot(input.getResult(), input);
  if (!slot.ok())
    return slot.status();
  std::string name = input.getName().str();
  auto same = std::find_if(plan_->inputs.begin(), plan_->inputs.end(),
                           [&](const InputSlots &in) { return in.name == name; });
  std::string typeName = printed(input.getType());
  if (same != plan_->inputs.end()) {
    if (same->typeName != typeName)
      return opError(input,
                     absl::StrCat("input \"", name, "\" has type ", typeName, " here but ",
                                  same->typeName, " elsewhere; one name must have one type"));
    same->slots.push_back(*slot);
    return absl::OkStatus();
  }
  InputSlots entry{name,         typeName, plan_->slots[*slot].dtype(), shapeOf(input.getType()),
                   std::nullopt, {*slot}};
  if (auto value = input.getDefaultValueAttr()) {
    absl::StatusOr<HostTensor> tensor = tensorFromElements(value, entry.dtype, input);
    if (!tensor.ok())
      return tensor.status();
    entry.defaultValue = *std::move(tensor);
  }
  plan_->inputs.push_back(std::move(entry));
  return absl::OkStatus();
}

absl::Status PlanBuilder::addConstant(graph::ConstantOp constant) {
  absl::StatusOr<int> slot = newSlot(constant.getResult(), constant);
  if (!slot.ok())
    return slot.status();
  absl::StatusOr<HostTensor> value =
      tensorFromElements(constant.getValue(), plan_->slots[*slot].dtype(), constant);
  if (!value.ok())
    return value.status();
  plan_->slots[*slot] = *std::move(value);
  return absl::OkStatus();
}

absl::Status PlanBuilder::addOp(Operation *op) {
  if (!llvm::isa_and_nonnull<graph::GraphDialect>(op->getDialect())) {
    if (llvm::isa<mlir::func::ReturnOp>(op))
      return absl::OkStatus();
    return opError(op, "is not an op the reference device executes (it runs the graph "
                       "dialect's ops; func.return ends the step)");
  }
  auto add = [&](OpKind kind, const std::function<void(Instruction &)> &configure = {}) {
    return addInstruction(op, kind, configure);
  };
  auto tensorType = [](Value value) { return llvm::cast<RankedTensorType>(value.getType()); };

  return llvm::TypeSwitch<Operation *, absl::Status>(op)
      .Case([&](graph::InputOp input) { return addInput(input); })
      .Case([&](graph::ConstantOp constant) { return addConstant(constant); })
      .Case([&](graph::ReadOp read) -> absl::Status {
        absl::StatusOr<int> variable = variableIndex(op, read.getVariable());
        if (!variable.ok())
          return variable.status();
        return add(OpKind::kRead, [&](Instruction &i) { i.variable = *variable; });
      })
      .Case([&](graph::AssignOp assign) -> absl::Status {
        absl::StatusOr<int> variable = variableIndex(op, assign.getVariable());
        if (!variable.ok())
          return variable.status();
        plan_->assigns.emplace_back(*variable, slotOf(assign.getValue()));
        return absl::OkStatus();
      })
      .Case([&](graph::OutputOp output) -> absl::Status {
        std::string name = output.getName().str();
        if (auto [it, inserted] = outputOps_.emplace(name, op); !inserted)
          return opError(op, absl::StrCat("output \"", name, "\" is already named by ",
                                          describeOp(it->second),
                                          "; give every graph.output its own name"));
        plan_->outputs.push_back({name, slotOf(output.getValue())});
        return absl::OkStatus();
      })
      .Case([&](graph::GradientOp gradient) -> absl::Status {
        absl::StatusOr<int> variable = variableIndex(op, gradient.getVariable());
        if (!variable.ok())
          return variable.status();
        if (auto [it, inserted] = gradientOps_.emplace(*variable, op); !inserted)
          return opError(op, absl::StrCat("@", gradient.getVariable().str(),
                                          " already has a gradient from ", describeOp(it->second)));
        plan_->gradients.push_back({gradient.getVariable().str(), slotOf(gradient.getValue())});
        return absl::OkStatus();
      })
      // Only marks the loss; kiln-autodiff turns it into graph.gradient ops.
      .Case([&](graph::MinimizeOp) { return absl::OkStatus(); })
      .Case([&](graph::CompareOp compare) {
        return add(OpKind::kCompare,
                   [&](Instruction &i) { i.compare = compareKind(compare.getPredicate()); });
      })
      .Case([&](graph::SelectOp) { return add(OpKind::kSelect); })
      .Case([&](graph::ElementwiseOpInterface) -> absl::Status {
        absl::StatusOr<ElementwiseLoop> loop = elementwiseLoop(op);
        if (!loop.ok())
          return absl::Status(
              loop.status().code(),
              absl::StrCat(loop.status().message(), " (needed by ", describeOp(op), ")"));
        return add(OpKind::kElementwise, [&](Instruction &i) { i.elementwise = *std::move(loop); });
      })
      .Case([&](graph::ReshapeOp) { return add(OpKind::kReshape); })
      .Case([&](graph::BroadcastOp broadcast) {
        return add(OpKind::kStridedCopy, [&](Instruction &i) {
          i.strided = broadcastLayout(broadcast.getOperand().getType(), broadcast.getType(),
                                      broadcast.getDims());
        });
      })
      .Case([&](graph::TransposeOp transpose) {
        return add(OpKind::kStridedCopy, [&](Instruction &i) {
          i.strided = transposeLayout(transpose.getOperand().getType(), transpose.getType(),
                                      transpose.getPerm());
        });
      })
      .Case<graph::ReduceSumOp, graph::ReduceMeanOp, graph::ReduceMaxOp>([&](Operation *) {
        return add(OpKind::kReduce, [&](Instruction &i) {
          auto axes = op->getAttrOfType<mlir::DenseI64ArrayAttr>("axes").asArrayRef();
          i.reduction =
              reduceLayout(tensorType(op->getOperand(0)), tensorType(op->getResult(0)), axes);
          i.reduce = llvm::isa<graph::ReduceSumOp>(op)    ? ReduceKind::kSum
                     : llvm::isa<graph::ReduceMeanOp>(op) ? ReduceKind::kMean
                                                          : ReduceKind::kMax;
        });
      })
      .Case([&](graph::MatmulOp matmul) {
        return add(OpKind::kMatmul, [&](Instruction &i) {
          i.matmul = matmulLayout(matmul);
          if (i.matmul.transposeLhs)
            i.lhsScratch = newScratch(i.matmul.m * i.matmul.k);
          if (i.matmul.transposeRhs)
            i.rhsScratch = newScratch(i.matmul.k * i.matmul.n);
        });
      })
      .Case([&](graph::SoftmaxOp softmax) {
        return add(OpKind::kSoftmax, [&](Instruction &i) {
          i.axis = axisLayout(softmax.getType(), softmax.getAxis());
        });
      })
      .Case([&](graph::LogSoftmaxOp logSoftmax) {
        return add(OpKind::kLogSoftmax, [&](Instruction &i) {
          i.axis = axisLayout(logSoftmax.getType(), logSoftmax.getAxis());
        });
      })
      .Case([&](graph::OneHotOp oneHot) {
        return add(OpKind::kOneHot, [&](Instruction &i) {
          i.count = oneHot.getLabels().getType().getNumElements();
          i.axis = {1, oneHot.getType().getShape().back(), 1};
        });
      })
      .Case([&](graph::SoftmaxCrossEntropyOp crossEntropy) {
        return add(OpKind::kSoftmaxCrossEntropy, [&](Instruction &i) {
          i.axis = axisLayout(crossEntropy.getLogits().getType(), 1);
        });
      })
      .Case([&](graph::MseOp mse) {
        return add(OpKind::kMse, [&](Instruction &i) {
          i.count = mse.getPrediction().getType().getNumElements();
        });
      })
      .Case<graph::Conv2dOp, graph::Conv2dInputGradOp, graph::Conv2dWeightGradOp>([&](Operation *) {
        OpKind kind = llvm::isa<graph::Conv2dOp>(op)            ? OpKind::kConv2d
                      : llvm::isa<graph::Conv2dInputGradOp>(op) ? OpKind::kConv2dInputGrad
                                                                : OpKind::kConv2dWeightGrad;
        return add(kind, [&](Instruction &i) { i.conv = convLayout(op); });
      })
      .Case([&](graph::DropoutMaskOp mask) {
        return add(OpKind::kDropoutMask, [&](Instruction &i) {
          i.dropout = {static_cast<uint64_t>(mask.getSeed()),
                       static_cast<uint32_t>(mask.getStream()),
                       graph::DropoutMaskOp::keepThreshold(mask.getRate().convertToDouble()),
                       graph::DropoutMaskOp::kCounterTag};
        });
      })
      .Case([&](graph::TrainOrEvalOp) {
        return opError(op, "was not resolved: run kiln-extract-eval (or "
                           "kiln-resolve-train-or-eval) before the reference device");
      })
      .Case<graph::PadOp, graph::SliceOp, graph::ConcatOp, graph::WindowOp, graph::UnwindowOp>(
          [&](Operation *) {
            return add(OpKind::kWindowCopy, [&](Instruction &i) { i.window = *windowLayout(op); });
          })
      .Case([&](graph::IotaOp iota) {
        return add(OpKind::kIota, [&](Instruction &i) { i.iota = iotaLayout(iota); });
      })
      .Case<graph::AttentionOp, graph::AttentionGradOp>([&](Operation *) {
        return add(llvm::isa<graph::AttentionOp>(op) ? OpKind::kAttention : OpKind::kAttentionGrad,
                   [&](Instruction &i) { i.attention = attentionLayout(op); });
      })
      .Case<graph::GatherOp, graph::ScatterAddOp>([&](Operation *) {
        return add(llvm::isa<graph::GatherOp>(op) ? OpKind::kGather : OpKind::kScatterAdd,
                   [&](Instruction &i) { i.index = indexLayout(op); });
      })
      .Default([&](Operation *) {
        return opError(op, "is a graph op the reference device does not implement");
      });
}

} // namespace

absl::StatusOr<std::unique_ptr<Plan>> buildPlan(mlir::ModuleOp module, Precision precision) {
  return PlanBuilder(precision).build(module);
}

} // namespace kiln::reference
