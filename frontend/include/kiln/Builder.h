//===- Builder.h - Write a Kiln training step in C++ ------------*- C++ -*-===//
//
// `kiln::Builder` creates one graph-dialect module: named per-step inputs,
// trainable parameters with their initializers, tensor ops (see Ops.h) and
// named outputs, finished by `build(TrainingSpec)`. Values are `kiln::Tensor`
// handles.
//
// Every op records the C++ source location of the user's call, so shape
// errors, and later the kernels, point at the model's file and line. Errors
// are sticky, as in XLA's XlaBuilder: the first one is kept with its
// "file:line: message", every later call is a no-op returning a poisoned
// Tensor, and `build()` returns the error as an absl::Status. Nothing throws
// or aborts.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_BUILDER_H
#define KILN_BUILDER_H

#include "kiln/Init.h"
#include "kiln/runtime/HostTensor.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <memory>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

class Builder;
struct TrainingSpec;

/// A value of the model being built: an `mlir::Value` and the Builder that
/// made it. Cheap to copy. A Tensor is *poisoned* (`ok()` is false) when the
/// op that should have made it failed or was skipped after an earlier error;
/// passing it on is harmless, the builder already holds the error.
class Tensor {
public:
  /// An empty Tensor, belonging to no builder.
  Tensor() = default;
  /// Wraps `value`, which `builder` created (for custom ops built with
  /// `Builder::opBuilder()`). A null value gives a poisoned Tensor.
  Tensor(Builder &builder, mlir::Value value) : builder_(&builder), value_(value) {}

  /// True when the Tensor holds a value.
  bool ok() const { return static_cast<bool>(value_); }
  /// The builder that made this Tensor; null for a default-constructed one.
  Builder *builder() const { return builder_; }
  mlir::Value value() const { return value_; }
  /// The tensor type; null when poisoned.
  mlir::RankedTensorType type() const;
  /// The static shape; empty when poisoned.
  llvm::ArrayRef<int64_t> shape() const;
  /// The number of dimensions; 0 when poisoned.
  int64_t rank() const { return static_cast<int64_t>(shape().size()); }
  /// The size of dimension `axis`; negative axes count from the end. The
  /// axis must be in range.
  int64_t dim(int64_t axis) const;
  /// The element type; kF32 when poisoned.
  DType dtype() const;

private:
  Builder *builder_ = nullptr;
  mlir::Value value_;
};

/// Builds one module holding a training step (`func.func @step()`), its
/// variables and any extra forward-only programs (beginProgram()). Not
/// copyable; create one per model.
class Builder {
public:
  using SourceLocation = std::source_location;

  /// A builder with its own MLIRContext. The module `build()` returns lives
  /// in that context: keep the Builder alive while you use the module.
  explicit Builder(std::string_view moduleName = "model", uint64_t seed = 0,
                   SourceLocation loc = SourceLocation::current());
  /// A builder that borrows `context` (loading the graph and func dialects
  /// into it); `context` must outlive the builder and the module.
  explicit Builder(mlir::MLIRContext &context, std::string_view moduleName = "model",
                   uint64_t seed = 0, SourceLocation loc = SourceLocation::current());
  ~Builder();
  Builder(const Builder &) = delete;
  Builder &operator=(const Builder &) = delete;

  mlir::MLIRContext &context() const { return *context_; }
  /// The seed every random initializer of this module uses.
  uint64_t seed() const { return seed_; }

  //===--------------------------------------------------------------------===//
  // Inputs, parameters, constants, outputs
  //===--------------------------------------------------------------------===//

  /// A tensor the host supplies each step (`graph.input`). Names are unique
  /// within the step or a program (a program's input is named
  /// "<program>.<name>" in the module and plan); `learning_rate` is reserved
  /// for the optimizer. `dtype` is kF32
  /// (features), kI32 (class labels) or kI1 (masks).
  Tensor input(std::string_view name, llvm::ArrayRef<int64_t> shape, DType dtype = DType::kF32,
               SourceLocation loc = SourceLocation::current());

  /// A trainable f32 parameter: a module-level `graph.variable` initialised
  /// by `init` (resolved against `shape`, drawn with this builder's seed and
  /// the next stream number) and its `graph.read` in the step. Inside a
  /// NameScope the name is prefixed ("fc1.weight"). Names are unique.
  Tensor parameter(std::string_view name, llvm::ArrayRef<int64_t> shape, const Init &init,
                   SourceLocation loc = SourceLocation::current());

  /// Non-trainable f32 state (batch norm's running statistics, a step
  /// counter): a module-level `graph.variable` without `trainable`,
  /// initialised by `init` like a parameter (a random init draws the next
  /// stream; a constant one takes none), and its `graph.read` at the start of
  /// the step. Autodiff does not differentiate it and the optimizer leaves it
  /// alone; `assign` gives it its next value. Inside a NameScope the name is
  /// prefixed; names share one namespace with parameters.
  Tensor state(std::string_view name, llvm::ArrayRef<int64_t> shape, const Init &init,
               SourceLocation loc = SourceLocation::current());

  /// Gives the state variable that `state` reads (a Tensor `state()`
  /// returned) the value `value` for the next step (`graph.assign`, which
  /// takes effect when the step ends: every read of this step sees the old
  /// value). At most once per variable; `value` must have its shape. The eval
  /// program drops assigns, so evaluating never changes state.
  void assign(Tensor state, Tensor value, SourceLocation loc = SourceLocation::current());

  /// The number of training steps run before this one, as an f32 scalar:
  /// the state variable "step_counter" (created on first use, init 0,
  /// assigned counter + 1 in the step). Exact up to 2^24 steps. Dropout
  /// keys its masks with it.
  Tensor stepCounter(SourceLocation loc = SourceLocation::current());
  /// A new random stream number for an op that draws in the step (each
  /// dropout gets its own), 0, 1, 2, ... in call order.
  uint64_t nextStepStream() { return nextStepStream_++; }

  /// An f32 tensor of `shape` with every element `value`.
  Tensor constant(llvm::ArrayRef<int64_t> shape, float value,
                  SourceLocation loc = SourceLocation::current());
  /// An f32 tensor of `shape` holding `values` (row-major; one per element).
  Tensor constant(llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<float> values,
                  SourceLocation loc = SourceLocation::current());

  /// Names `value` so the host can read it after each step (`graph.output`).
  /// Names are unique.
  void output(std::string_view name, Tensor value, SourceLocation loc = SourceLocation::current());

  //===--------------------------------------------------------------------===//
  // Extra programs
  //===--------------------------------------------------------------------===//

  /// Starts `func.func @name`, a forward-only program besides the step (such as "generate",
  /// the batch-1 forward pass `kiln generate` runs): the inputs, ops, parameter and state
  /// reads and outputs created until endProgram() go into it, and the compiler carries it
  /// into the plan as it carries @eval. A program is not differentiated and may not assign
  /// state (assign() is an error in it); graph.train_or_eval (batch norm, dropout) takes its
  /// eval operand. Its inputs have their own namespace: input("tokens") in program
  /// "generate" is the graph and plan input "generate.tokens", so it may have another shape
  /// than the step's "tokens". parameter() and state() of a name another function declared
  /// return a read of that same variable (the shape and kind must match); fresh layers get
  /// the scope names they got in the step (fc1, fc2, ... count again per program), so
  /// building the same layers in the same order reads the step's parameters. Values do not
  /// cross functions: a Tensor of the step used in a program (or back) is an error naming
  /// the op. `name` is an identifier ([A-Za-z_][A-Za-z0-9_]*) other than step, eval and
  /// train, unique among programs; programs do not nest.
  void beginProgram(std::string_view name, SourceLocation loc = SourceLocation::current());
  /// Ends the program beginProgram() opened; it needs at least one output. Building continues
  /// in the step.
  void endProgram(SourceLocation loc = SourceLocation::current());
  /// The open program's name; empty while building the step.
  const std::string &programName() const { return program_; }

  //===--------------------------------------------------------------------===//
  // Finishing
  //===--------------------------------------------------------------------===//

  /// Finishes a training step: writes the optimizer to the `graph.optimizer`
  /// module attribute, marks `spec.loss` with `graph.minimize` (adding
  /// `graph.output "loss"` unless the loss already has an output), verifies
  /// and returns the module. Fails with the first recorded error
  /// (InvalidArgument), or when the loss is not a scalar f32 of this builder
  /// or the optimizer's hyperparameters are out of range. Call once.
  absl::StatusOr<mlir::OwningOpRef<mlir::ModuleOp>>
  build(const TrainingSpec &spec, SourceLocation loc = SourceLocation::current());

  /// Finishes a step without training (no graph.minimize, no optimizer): an
  /// evaluation or inference module. Same failure modes; call once.
  absl::StatusOr<mlir::OwningOpRef<mlir::ModuleOp>>
  build(SourceLocation loc = SourceLocation::current());

  //===--------------------------------------------------------------------===//
  // Errors
  //===--------------------------------------------------------------------===//

  /// False once an error has been recorded.
  bool ok() const { return status_.ok(); }
  /// OK, or the first error ("file:line: message").
  const absl::Status &status() const { return status_; }
  /// Records `message` as an error of the user's call at `loc` unless an
  /// error is already recorded. For layers and custom ops.
  void reportError(std::string_view message, SourceLocation loc = SourceLocation::current());

  //===--------------------------------------------------------------------===//
  // For layers and custom ops
  //===--------------------------------------------------------------------===//

  /// Names the ops, parameters and errors created while it lives: op
  /// locations become NameLoc(path, file:line:col), parameter names and
  /// error messages get the dotted path ("encoder.fc1"). Scopes nest.
  class [[nodiscard]] NameScope {
  public:
    NameScope(Builder &builder, std::string_view name);
    ~NameScope();
    NameScope(const NameScope &) = delete;
    NameScope &operator=(const NameScope &) = delete;

  private:
    Builder &builder_;
  };

  /// The dotted path of the open NameScopes; empty outside any.
  std::string scopePath() const;
  /// `name` prefixed with the open scopes' path ("fc1" -> "encoder.fc1").
  std::string scoped(std::string_view name) const;
  /// A scope name `<prefix><k>` (k = 1, 2, ...) not yet used under the open
  /// scopes, reserved for the caller: how unnamed layers get "fc1", "fc2".
  std::string uniqueScopeName(std::string_view prefix);

  /// True when ops may be emitted: no error yet and `build()` not called
  /// (calling after build() records an error at `loc`).
  bool ready(SourceLocation loc = SourceLocation::current());
  /// Runs a shape rule (from GraphShapes.h) with the location of the user's
  /// call and captures its diagnostic. Returns true when the rule succeeds;
  /// otherwise records "file:line: <diagnostic>" and returns false. Also
  /// false, without running the rule, when `ready(loc)` is false.
  bool check(llvm::function_ref<mlir::LogicalResult(mlir::Location)> rule,
             SourceLocation loc = SourceLocation::current());
  /// The MLIR location of a user call: FileLineColLoc, wrapped in a NameLoc
  /// inside a NameScope.
  mlir::Location location(SourceLocation loc) const;
  /// The OpBuilder positioned at the end of the step body (of the open
  /// program's body between beginProgram() and endProgram()).
  mlir::OpBuilder &opBuilder() { return opBuilder_; }
  /// Creates op `OpTy` at the user's location and wraps its single result.
  template <typename OpTy, typename... Args> Tensor create(SourceLocation loc, Args &&...args) {
    auto op = opBuilder_.create<OpTy>(location(loc), std::forward<Args>(args)...);
    return Tensor(*this, op->getResult(0));
  }
  /// A poisoned Tensor of this builder.
  Tensor poison() { return Tensor(*this, mlir::Value()); }

  /// Names of the parameters created so far, in creation order.
  const std::vector<std::string> &parameterNames() const { return parameterNames_; }

private:
  void initialize(std::string_view moduleName, SourceLocation loc);
  /// Appends the terminator, verifies and hands the module over.
  absl::StatusOr<mlir::OwningOpRef<mlir::ModuleOp>> finish(SourceLocation loc);
  /// Records an error unless one is already recorded.
  void fail(std::string message, SourceLocation loc);
  /// Declares the variable behind parameter() and state() and returns its read; `kind` names
  /// it in errors ("parameter", "state variable").
  /// Sets `*created` when the variable is new (not a read of one another function declared).
  Tensor declareVariable(const char *kind, const char *uniqueKind, std::string_view name,
                         llvm::ArrayRef<int64_t> shape, const Init &init, bool trainable,
                         SourceLocation loc, bool *created);
  /// Fails naming the op when an op of `function` uses a value of another function.
  bool checkOwnValues(mlir::Operation *function, SourceLocation loc);

  /// What the builder tracks per function (the step or a program), saved while a program is
  /// open.
  struct FunctionState {
    llvm::StringSet<> usedScopes;
    llvm::StringSet<> inputNames;
    llvm::StringMap<mlir::Value> outputs;
    llvm::StringSet<> variablesRead;
    mlir::Value stepCounter;
  };

  std::unique_ptr<mlir::MLIRContext> ownedContext_;
  mlir::MLIRContext *context_;
  uint64_t seed_;
  uint64_t nextStream_ = 0;
  mlir::OwningOpRef<mlir::ModuleOp> module_;
  mlir::Operation *step_ = nullptr;
  mlir::OpBuilder opBuilder_;
  bool built_ = false;
  absl::Status status_;

  std::vector<std::string> scopes_;
  llvm::StringSet<> usedScopes_;
  llvm::StringSet<> inputNames_;
  llvm::StringMap<mlir::Value> outputs_;
  llvm::StringSet<> variableNames_;
  std::vector<std::string> parameterNames_;
  /// The variable each state() read reads, and the state variables assigned so far.
  llvm::DenseMap<mlir::Value, std::string> stateReads_;
  llvm::StringSet<> assignedStates_;
  mlir::Value stepCounter_;
  uint64_t nextStepStream_ = 0;
  /// The variables the current function declared or read.
  llvm::StringSet<> variablesRead_;
  /// The open program (empty: the step), its func, and the step's state while it is open.
  std::string program_;
  mlir::Operation *programFunction_ = nullptr;
  FunctionState savedStep_;
  llvm::StringSet<> programNames_;
};

} // namespace kiln

#endif // KILN_BUILDER_H
