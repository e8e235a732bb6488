//===- Builder.cpp - The module a Builder writes --------------------------===//
//
// Owns the module under construction, turns C++ source locations into MLIR
// locations, records the first error, and creates inputs, parameters,
// constants and outputs. Tensor ops live in Ops.cpp.
//
//===----------------------------------------------------------------------===//

#include "kiln/Builder.h"

#include "OpSupport.h"

#include "kiln/TrainingSpec.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"

#include <cctype>

using namespace mlir;

namespace kiln {
namespace {

/// Collects the first error diagnostic emitted while it lives, so a shape
/// rule's message becomes the builder's error instead of reaching stderr.
class FirstError {
public:
  explicit FirstError(MLIRContext &context)
      : handler_(&context, [this](Diagnostic &diagnostic) {
          if (diagnostic.getSeverity() == DiagnosticSeverity::Error && message_.empty())
            message_ = diagnostic.str();
          return success();
        }) {}

  const std::string &message() const { return message_; }

private:
  std::string message_;
  ScopedDiagnosticHandler handler_;
};

/// `text` as the string_view absl's string functions take (Debian's abseil
/// has its own absl::string_view).
absl::string_view view(std::string_view text) { return {text.data(), text.size()}; }

/// "dimension 1 is -3" when a shape has a negative size.
std::optional<std::string> negativeDimension(llvm::ArrayRef<int64_t> shape) {
  for (auto [axis, size] : llvm::enumerate(shape))
    if (size < 0)
      return absl::StrCat("dimension ", axis, " is ", size, "; sizes must be >= 0");
  return std::nullopt;
}

} // namespace

//===----------------------------------------------------------------------===//
// Tensor
//===----------------------------------------------------------------------===//

RankedTensorType Tensor::type() const {
  return value_ ? llvm::cast<RankedTensorType>(value_.getType()) : RankedTensorType();
}

llvm::ArrayRef<int64_t> Tensor::shape() const {
  return value_ ? type().getShape() : llvm::ArrayRef<int64_t>();
}

int64_t Tensor::dim(int64_t axis) const { return shape()[axis < 0 ? axis + rank() : axis]; }

DType Tensor::dtype() const {
  if (!value_)
    return DType::kF32;
  Type element = type().getElementType();
  if (element.isInteger(32))
    return DType::kI32;
  if (element.isInteger(1))
    return DType::kI1;
  return DType::kF32;
}

//===----------------------------------------------------------------------===//
// Construction
//===----------------------------------------------------------------------===//

Builder::Builder(std::string_view moduleName, uint64_t seed, SourceLocation loc)
    : ownedContext_(std::make_unique<MLIRContext>(MLIRContext::Threading::DISABLED)),
      context_(ownedContext_.get()), seed_(seed), opBuilder_(context_) {
  initialize(moduleName, loc);
}

Builder::Builder(MLIRContext &context, std::string_view moduleName, uint64_t seed,
                 SourceLocation loc)
    : context_(&context), seed_(seed), opBuilder_(context_) {
  initialize(moduleName, loc);
}

Builder::~Builder() = default;

void Builder::initialize(std::string_view moduleName, SourceLocation loc) {
  context_->loadDialect<graph::GraphDialect, func::FuncDialect>();
  Location where = location(loc);
  std::optional<StringRef> name;
  if (!moduleName.empty())
    name = StringRef(moduleName);
  module_ = ModuleOp::create(where, name);
  auto step = func::FuncOp::create(where, "step", FunctionType::get(context_, {}, {}));
  module_->push_back(step);
  opBuilder_.setInsertionPointToEnd(step.addEntryBlock());
  step_ = step;
}

//===----------------------------------------------------------------------===//
// Locations, scopes and errors
//===----------------------------------------------------------------------===//

Location Builder::location(SourceLocation loc) const {
  Location fileLine = FileLineColLoc::get(context_, loc.file_name(), loc.line(), loc.column());
  if (scopes_.empty())
    return fileLine;
  return NameLoc::get(StringAttr::get(context_, scopePath()), fileLine);
}

std::string Builder::scopePath() const {
  std::string path;
  for (const std::string &scope : scopes_)
    absl::StrAppend(&path, path.empty() ? "" : ".", scope);
  return path;
}

std::string Builder::scoped(std::string_view name) const {
  return scopes_.empty() ? std::string(name) : absl::StrCat(scopePath(), ".", view(name));
}

std::string Builder::uniqueScopeName(std::string_view prefix) {
  for (int index = 1;; ++index) {
    std::string name = absl::StrCat(view(prefix), index);
    if (usedScopes_.insert(scoped(name)).second)
      return name;
  }
}

Builder::NameScope::NameScope(Builder &builder, std::string_view name) : builder_(builder) {
  builder_.usedScopes_.insert(builder_.scoped(name));
  builder_.scopes_.emplace_back(name);
}

Builder::NameScope::~NameScope() { builder_.scopes_.pop_back(); }

void Builder::fail(std::string message, SourceLocation loc) {
  if (!status_.ok())
    return;
  std::string scope = scopePath();
  status_ = absl::InvalidArgumentError(
      absl::StrCat(loc.file_name(), ":", loc.line(), ": ",
                   scope.empty() ? "" : absl::StrCat("in ", scope, ": "), message));
}

void Builder::reportError(std::string_view message, SourceLocation loc) {
  fail(std::string(message), loc);
}

bool Builder::ready(SourceLocation loc) {
  if (built_)
    fail("this Builder has already built its module; use a new Builder for another model", loc);
  return status_.ok();
}

bool Builder::check(llvm::function_ref<LogicalResult(Location)> rule, SourceLocation loc) {
  if (!ready(loc))
    return false;
  FirstError error(*context_);
  if (succeeded(rule(location(loc))))
    return true;
  fail(error.message().empty() ? std::string("shape check failed") : error.message(), loc);
  return false;
}

//===----------------------------------------------------------------------===//
// Inputs, parameters, constants, outputs
//===----------------------------------------------------------------------===//

Tensor Builder::input(std::string_view name, llvm::ArrayRef<int64_t> shape, DType dtype,
                      SourceLocation loc) {
  if (!ready(loc))
    return poison();
  std::string where = absl::StrCat("input '", view(name), "'");
  if (name.empty()) {
    fail("an input needs a non-empty name", loc);
    return poison();
  }
  if (name == "learning_rate") {
    fail("the input name 'learning_rate' is reserved for the optimizer; choose another", loc);
    return poison();
  }
  if (!inputNames_.insert(name).second) {
    fail(absl::StrCat(where, " already exists",
                      program_.empty() ? "" : absl::StrCat(" in program @", program_),
                      "; input names must be unique"),
         loc);
    return poison();
  }
  if (std::optional<std::string> bad = negativeDimension(shape)) {
    fail(absl::StrCat(where, ": ", *bad), loc);
    return poison();
  }
  Type element;
  switch (dtype) {
  case DType::kF32:
    element = Float32Type::get(context_);
    break;
  case DType::kI32:
    element = IntegerType::get(context_, 32);
    break;
  case DType::kI1:
    element = IntegerType::get(context_, 1);
    break;
  case DType::kF64:
    fail(absl::StrCat(where, ": f64 inputs are not supported; graph tensors are f32 (features), "
                             "i32 (labels) or i1 (masks)"),
         loc);
    return poison();
  }
  // A program's inputs have their own namespace, so "generate.tokens" may be [1, T] while the
  // step's "tokens" is [B, T].
  std::string graphName =
      program_.empty() ? std::string(name) : absl::StrCat(program_, ".", view(name));
  return create<graph::InputOp>(loc, RankedTensorType::get(shape, element), graphName,
                                ElementsAttr());
}

Tensor Builder::parameter(std::string_view name, llvm::ArrayRef<int64_t> shape, const Init &init,
                          SourceLocation loc) {
  bool created = false;
  Tensor read = declareVariable("parameter", "parameter", name, shape, init, /*trainable=*/true,
                                loc, &created);
  if (read.ok() && created)
    parameterNames_.push_back(read.value().getDefiningOp<graph::ReadOp>().getVariable().str());
  return read;
}

Tensor Builder::state(std::string_view name, llvm::ArrayRef<int64_t> shape, const Init &init,
                      SourceLocation loc) {
  bool created = false;
  Tensor read = declareVariable("state variable", "variable", name, shape, init,
                                /*trainable=*/false, loc, &created);
  if (read.ok())
    stateReads_[read.value()] = read.value().getDefiningOp<graph::ReadOp>().getVariable().str();
  return read;
}

Tensor Builder::declareVariable(const char *kind, const char *uniqueKind, std::string_view name,
                                llvm::ArrayRef<int64_t> shape, const Init &init, bool trainable,
                                SourceLocation loc, bool *created) {
  *created = false;
  if (!ready(loc))
    return poison();
  if (name.empty()) {
    fail(absl::StrCat("a ", kind, " needs a non-empty name"), loc);
    return poison();
  }
  std::string fullName = scoped(name);
  std::string where = absl::StrCat(kind, " '", fullName, "'");
  if (variableNames_.contains(fullName)) {
    if (!variablesRead_.insert(fullName).second) {
      fail(absl::StrCat(where, " already exists", program_.empty() ? "" : " in this program", "; ",
                        uniqueKind, " names must be unique"),
           loc);
      return poison();
    }
    // Declared by another function (the step, or a program): read the same variable.
    auto variable = module_->lookupSymbol<graph::VariableOp>(fullName);
    RankedTensorType type = variable.getTensorType();
    if (variable.getTrainable() != trainable) {
      fail(absl::StrCat(where, ": '", fullName, "' is declared as a ",
                        variable.getTrainable() ? "parameter" : "state variable",
                        " elsewhere; read it with ",
                        variable.getTrainable() ? "parameter()" : "state()"),
           loc);
      return poison();
    }
    if (type.getShape() != shape) {
      fail(absl::StrCat(where, " is declared as ", describe(type), " elsewhere, not with shape [",
                        absl::StrJoin(shape, ", "),
                        "]; a program reads the step's variables with their own shapes"),
           loc);
      return poison();
    }
    return create<graph::ReadOp>(loc, type, fullName);
  }
  if (std::optional<std::string> bad = negativeDimension(shape)) {
    fail(absl::StrCat(where, ": ", *bad), loc);
    return poison();
  }
  absl::StatusOr<ResolvedInit> resolved = init.resolve(shape);
  if (!resolved.ok()) {
    fail(absl::StrCat(where, ": ", resolved.status().message()), loc);
    return poison();
  }
  // Every parameter takes a stream (the draws of existing models stay as they were); a
  // constant state needs none, so adding batch-norm statistics moves no parameter's draws.
  bool drawn = trainable || resolved->distribution != graph::Distribution::constant;
  uint64_t stream = drawn ? nextStream_++ : 0;
  auto type = RankedTensorType::get(shape, Float32Type::get(context_));
  auto initializer = graph::InitializerAttr::get(context_, resolved->distribution, resolved->first,
                                                 resolved->second, seed_, stream);
  OpBuilder moduleBuilder(step_);
  moduleBuilder.create<graph::VariableOp>(location(loc), fullName, type, initializer, trainable);
  variableNames_.insert(fullName);
  variablesRead_.insert(fullName);
  *created = true;
  return create<graph::ReadOp>(loc, type, fullName);
}

void Builder::assign(Tensor state, Tensor value, SourceLocation loc) {
  if (!ready(loc))
    return;
  if (!state.ok() || state.builder() != this || !value.ok() || value.builder() != this) {
    fail("assign: both the state and the value must be Tensors of this Builder", loc);
    return;
  }
  if (!program_.empty()) {
    fail(absl::StrCat("assign: program @", program_,
                      " is forward-only and cannot assign state; state variables are assigned "
                      "in the training step"),
         loc);
    return;
  }
  auto found = stateReads_.find(state.value());
  if (found == stateReads_.end()) {
    fail("assign: the first operand must be a Tensor that Builder::state() returned", loc);
    return;
  }
  const std::string &name = found->second;
  if (value.type() != state.type()) {
    fail(absl::StrCat("assign: state variable '", name, "' is ", describe(state.type()),
                      " but the value is ", describe(value.type())),
         loc);
    return;
  }
  if (!assignedStates_.insert(name).second) {
    fail(absl::StrCat("assign: state variable '", name,
                      "' is already assigned in this step; a variable is assigned at most once "
                      "per step"),
         loc);
    return;
  }
  opBuilder_.create<graph::AssignOp>(location(loc), name, value.value());
}

Tensor Builder::stepCounter(SourceLocation loc) {
  if (!ready(loc))
    return poison();
  if (stepCounter_)
    return Tensor(*this, stepCounter_);
  // Created outside any scope: one counter serves every layer.
  std::vector<std::string> scopes = std::move(scopes_);
  scopes_.clear();
  Tensor counter = state("step_counter", {}, Init::zeros(), loc);
  // A program reads the counter; only the step advances it.
  if (counter.ok() && !program_.empty()) {
    stepCounter_ = counter.value();
  } else if (counter.ok()) {
    auto type = counter.type();
    Value one = opBuilder_.create<graph::ConstantOp>(location(loc), type,
                                                     DenseElementsAttr::get(type, 1.0f));
    assign(counter,
           Tensor(*this, opBuilder_.create<graph::AddOp>(location(loc), counter.value(), one)),
           loc);
    stepCounter_ = counter.value();
  }
  scopes_ = std::move(scopes);
  return counter;
}

Tensor Builder::constant(llvm::ArrayRef<int64_t> shape, float value, SourceLocation loc) {
  if (!ready(loc))
    return poison();
  if (std::optional<std::string> bad = negativeDimension(shape)) {
    fail(absl::StrCat("constant: ", *bad), loc);
    return poison();
  }
  auto type = RankedTensorType::get(shape, Float32Type::get(context_));
  return create<graph::ConstantOp>(loc, type, DenseElementsAttr::get(type, value));
}

Tensor Builder::constant(llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<float> values,
                         SourceLocation loc) {
  if (!ready(loc))
    return poison();
  if (std::optional<std::string> bad = negativeDimension(shape)) {
    fail(absl::StrCat("constant: ", *bad), loc);
    return poison();
  }
  auto type = RankedTensorType::get(shape, Float32Type::get(context_));
  if (type.getNumElements() != static_cast<int64_t>(values.size())) {
    fail(absl::StrCat("constant: ", describe(type), " has ", type.getNumElements(),
                      " elements but ", values.size(), " values were given"),
         loc);
    return poison();
  }
  return create<graph::ConstantOp>(loc, type, DenseElementsAttr::get(type, values));
}

void Builder::output(std::string_view name, Tensor value, SourceLocation loc) {
  if (!ready(loc))
    return;
  if (!value.ok() || value.builder() != this) {
    fail(absl::StrCat("output '", view(name), "': the value is ",
                      value.builder() && value.builder() != this ? "from another Builder"
                                                                 : "an empty Tensor"),
         loc);
    return;
  }
  if (name.empty()) {
    fail("an output needs a non-empty name", loc);
    return;
  }
  if (!outputs_.try_emplace(name, value.value()).second) {
    fail(absl::StrCat("output '", view(name), "' already exists; output names must be unique"),
         loc);
    return;
  }
  opBuilder_.create<graph::OutputOp>(location(loc), name, value.value());
}

//===----------------------------------------------------------------------===//
// Extra programs
//===----------------------------------------------------------------------===//

void Builder::beginProgram(std::string_view name, SourceLocation loc) {
  if (!ready(loc))
    return;
  if (!program_.empty()) {
    fail(absl::StrCat("beginProgram(\"", view(name), "\"): program @", program_,
                      " is still open; call endProgram() first (programs do not nest)"),
         loc);
    return;
  }
  bool identifier = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
  for (char c : name)
    identifier &= std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  if (!identifier) {
    fail(absl::StrCat("beginProgram(\"", view(name),
                      "\"): a program name is an identifier ([A-Za-z_][A-Za-z0-9_]*), such as "
                      "generate"),
         loc);
    return;
  }
  if (name == "step" || name == "eval" || name == "train") {
    fail(absl::StrCat("beginProgram(\"", view(name), "\"): '", view(name),
                      "' is reserved (step: the training step, train: its name in the plan, "
                      "eval: the program kiln compile derives from the step); choose another"),
         loc);
    return;
  }
  if (!programNames_.insert(name).second) {
    fail(absl::StrCat("beginProgram(\"", view(name), "\"): program @", view(name),
                      " already exists; program names must be unique"),
         loc);
    return;
  }
  if (!scopes_.empty()) {
    fail(absl::StrCat("beginProgram(\"", view(name), "\") inside NameScope '", scopePath(),
                      "'; begin a program outside every scope"),
         loc);
    return;
  }
  Location where = location(loc);
  auto function = func::FuncOp::create(where, name, FunctionType::get(context_, {}, {}));
  module_->push_back(function);
  savedStep_ = FunctionState{std::move(usedScopes_), std::move(inputNames_), std::move(outputs_),
                             std::move(variablesRead_), stepCounter_};
  usedScopes_.clear();
  inputNames_.clear();
  outputs_.clear();
  variablesRead_.clear();
  stepCounter_ = Value();
  program_ = std::string(name);
  programFunction_ = function;
  opBuilder_.setInsertionPointToEnd(function.addEntryBlock());
}

void Builder::endProgram(SourceLocation loc) {
  if (!ready(loc))
    return;
  if (program_.empty()) {
    fail("endProgram() without beginProgram(): no program is open", loc);
    return;
  }
  if (outputs_.empty()) {
    fail(absl::StrCat("program @", program_,
                      " has no output; a program's results leave through output()"),
         loc);
    return;
  }
  if (!checkOwnValues(programFunction_, loc))
    return;
  opBuilder_.create<func::ReturnOp>(location(loc));
  usedScopes_ = std::move(savedStep_.usedScopes);
  inputNames_ = std::move(savedStep_.inputNames);
  outputs_ = std::move(savedStep_.outputs);
  variablesRead_ = std::move(savedStep_.variablesRead);
  stepCounter_ = savedStep_.stepCounter;
  savedStep_ = FunctionState();
  program_.clear();
  programFunction_ = nullptr;
  opBuilder_.setInsertionPointToEnd(&llvm::cast<func::FuncOp>(step_).getBody().front());
}

bool Builder::checkOwnValues(Operation *function, SourceLocation loc) {
  auto name = [](Operation *op) {
    auto parent = llvm::dyn_cast_or_null<func::FuncOp>(op);
    return parent ? absl::StrCat("@", parent.getSymName().str()) : std::string("?");
  };
  Operation *offender = nullptr;
  Value foreign;
  function->walk([&](Operation *op) {
    for (Value operand : op->getOperands()) {
      Operation *owner = operand.getParentBlock()->getParentOp();
      while (owner && !llvm::isa<func::FuncOp>(owner))
        owner = owner->getParentOp();
      if (owner != function) {
        offender = op;
        foreign = operand;
        return WalkResult::interrupt();
      }
    }
    return WalkResult::advance();
  });
  if (!offender)
    return true;
  Operation *owner = foreign.getParentBlock()->getParentOp();
  while (owner && !llvm::isa<func::FuncOp>(owner))
    owner = owner->getParentOp();
  std::string message = absl::StrCat(
      offender->getName().getStringRef().str(), " in ", name(function), " uses a Tensor made in ",
      name(owner),
      "; values do not cross programs: make the program's inputs with input() and read the "
      "step's variables with parameter()/state() of the same names inside beginProgram() .. "
      "endProgram() (apply fresh layers, built in the same order, rather than layers the step "
      "already applied)");
  FileLineColLoc madeAt;
  offender->getLoc()->walk([&](Location inner) {
    if (auto file = llvm::dyn_cast<FileLineColLoc>(inner)) {
      madeAt = file;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (madeAt)
    status_ = absl::InvalidArgumentError(
        absl::StrCat(madeAt.getFilename().str(), ":", madeAt.getLine(), ": ", message));
  else
    fail(message, loc);
  return false;
}

//===----------------------------------------------------------------------===//
// Finishing
//===----------------------------------------------------------------------===//

absl::StatusOr<OwningOpRef<ModuleOp>> Builder::build(const TrainingSpec &spec, SourceLocation loc) {
  if (!ready(loc))
    return status_;
  if (!program_.empty()) {
    fail(absl::StrCat("program @", program_, " is still open; call endProgram() before build()"),
         loc);
    return status_;
  }
  const Tensor &loss = spec.loss;
  if (!loss.ok() || loss.builder() != this) {
    fail(absl::StrCat("TrainingSpec.loss is ", loss.builder() && loss.builder() != this
                                                   ? "from another Builder"
                                                   : "an empty Tensor"),
         loc);
    return status_;
  }
  if (loss.rank() != 0 || loss.dtype() != DType::kF32) {
    // The error points where the loss was made (the user's line), not at build().
    std::string hint = loss.dtype() != DType::kF32
                           ? "; the loss must be a floating-point value the step minimizes"
                           : "; reduce it first, e.g. with reduceMean(loss) (the mean of all its "
                             "elements) or reduceSum(loss, {0, ...}) over every axis";
    std::string message =
        absl::StrCat("TrainingSpec.loss must be a scalar f32 tensor, got ", describe(loss.type()),
                     hint, " (build() was called at ", loc.file_name(), ":", loc.line(), ")");
    FileLineColLoc madeAt;
    loss.value().getLoc()->walk([&](Location inner) {
      if (auto file = llvm::dyn_cast<FileLineColLoc>(inner)) {
        madeAt = file;
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (!madeAt) {
      fail(message, loc);
      return status_;
    }
    status_ = absl::InvalidArgumentError(
        absl::StrCat(madeAt.getFilename().str(), ":", madeAt.getLine(), ": ", message));
    return status_;
  }
  if (absl::Status valid = validateTrainingSpec(spec); !valid.ok()) {
    fail(absl::StrCat("TrainingSpec.", valid.message()), loc);
    return status_;
  }

  bool lossHasOutput =
      llvm::any_of(outputs_, [&](const auto &entry) { return entry.getValue() == loss.value(); });
  if (!lossHasOutput) {
    if (outputs_.contains("loss")) {
      fail("an output named 'loss' holds another value; give the training loss an output of "
           "its own or rename that output",
           loc);
      return status_;
    }
    output("loss", loss, loc);
  }
  opBuilder_.create<graph::MinimizeOp>(location(loc), loss.value());
  module_.get()->setAttr("graph.optimizer", optimizerAttribute(*context_, spec));
  return finish(loc);
}

absl::StatusOr<OwningOpRef<ModuleOp>> Builder::build(SourceLocation loc) {
  if (!ready(loc))
    return status_;
  return finish(loc);
}

absl::StatusOr<OwningOpRef<ModuleOp>> Builder::finish(SourceLocation loc) {
  if (!program_.empty()) {
    fail(absl::StrCat("program @", program_, " is still open; call endProgram() before build()"),
         loc);
    return status_;
  }
  for (auto function : module_->getOps<func::FuncOp>())
    if (!checkOwnValues(function, loc))
      return status_;
  opBuilder_.create<func::ReturnOp>(location(loc));
  built_ = true;
  FirstError error(*context_);
  if (failed(verify(*module_)))
    return absl::InternalError(
        absl::StrCat("the built module does not verify (a bug in the builder or in a custom op): ",
                     error.message()));
  return std::move(module_);
}

} // namespace kiln
