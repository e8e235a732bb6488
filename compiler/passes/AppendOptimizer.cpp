//===- AppendOptimizer.cpp - kiln-append-optimizer -----------------------===//
//
// Replaces every `graph.gradient @p, %g` of `func.func @step` by graph ops
// that update @p in place, following torch.optim.SGD and torch.optim.Adam /
// AdamW (their single-tensor implementations) formula for formula, so a model
// trained with Kiln tracks the same model trained with PyTorch. Optimizer
// state becomes `graph.variable`s next to their parameter; the learning rate
// is the `graph.input "learning_rate"` and Adam's step counter a variable
// advanced inside the step, so nothing that changes between steps is baked
// into the compiled step.
//
// The module's `graph.optimizer` may also mark which parameters weight decay
// applies to (`decay_min_rank`, `no_decay`: PyTorch's parameter groups, as
// nanoGPT uses them) and ask for gradient clipping by global norm
// (`clip_grad_norm`, as torch.nn.utils.clip_grad_norm_): the norm is reduced
// over every gradient on the device, every gradient is scaled before any
// update, and the step outputs the norm as "grad_norm".
//
//===----------------------------------------------------------------------===//

#include "kiln/Compiler/Passes.h"
#include "kiln/Dialect/Graph/GraphDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Sequence.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/StringSwitch.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

namespace kiln {
#define GEN_PASS_DEF_APPENDOPTIMIZER
#include "kiln/Compiler/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln::graph;

namespace {

//===----------------------------------------------------------------------===//
// Configuration
//===----------------------------------------------------------------------===//

enum class OptimizerKind { Sgd, Adam, AdamW };

/// One optimizer's hyper-parameters after the pass options, the module's
/// `graph.optimizer` entries and PyTorch's defaults have been combined.
struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::Sgd;
  double learningRate = 0.01;
  double momentum = 0.0;
  bool nesterov = false;
  double weightDecay = 0.0;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  /// Weight decay applies to trainable parameters of at least this rank that
  /// `noDecay` does not name.
  int64_t decayMinRank = 0;
  llvm::StringSet<> noDecay;
  /// The largest global gradient norm, when clipping.
  std::optional<double> clipGradNorm;

  bool isAdam() const { return kind != OptimizerKind::Sgd; }
};

constexpr llvm::StringLiteral kOptimizerAttrName = "graph.optimizer";
constexpr llvm::StringLiteral kValidKinds = "sgd, adam, adamw";
constexpr std::array<llvm::StringLiteral, 11> kOptimizerEntries = {
    "kind",  "learning_rate", "momentum", "nesterov",       "weight_decay",  "beta1",
    "beta2", "epsilon",       "no_decay", "decay_min_rank", "clip_grad_norm"};
constexpr llvm::StringLiteral kLearningRateInput = "learning_rate";
constexpr llvm::StringLiteral kStepCounter = "optimizer.step";
constexpr llvm::StringLiteral kGradNormOutput = "grad_norm";
/// torch.nn.utils.clip_grad_norm_'s guard against a zero norm.
constexpr double kClipEpsilon = 1e-6;

/// Starts an error at `op` that names the pass, as every message here does.
InFlightDiagnostic passError(Operation *op) { return op->emitError("kiln-append-optimizer: "); }

std::optional<OptimizerKind> parseKind(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<OptimizerKind>>(name)
      .Case("sgd", OptimizerKind::Sgd)
      .Case("adam", OptimizerKind::Adam)
      .Case("adamw", OptimizerKind::AdamW)
      .Default(std::nullopt);
}

/// `value` as printf's %g writes it ("0.001", "1e-08"), for messages.
std::string formatNumber(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

/// Resolves one number: the option when it was set (options are negative
/// when unset), else the module's entry `key`, else `fallback`. Fails with a
/// diagnostic on `module` when the entry is not a number.
LogicalResult resolveNumber(ModuleOp module, DictionaryAttr entries, llvm::StringRef key,
                            double option, double fallback, double &result) {
  result = fallback;
  // A NaN option was set (to something validateConfig refuses), not left unset.
  if (option >= 0 || std::isnan(option)) {
    result = option;
    return success();
  }
  Attribute entry = entries ? entries.get(key) : Attribute();
  if (!entry)
    return success();
  if (auto number = llvm::dyn_cast<FloatAttr>(entry)) {
    result = number.getValueAsDouble();
    return success();
  }
  if (auto number = llvm::dyn_cast<IntegerAttr>(entry); number && !number.getType().isInteger(1)) {
    result = static_cast<double>(number.getInt());
    return success();
  }
  return passError(module) << kOptimizerAttrName << " entry '" << key << "' must be a number, got "
                           << entry;
}

/// Reads the `decay_min_rank` (an integer >= 0) and `no_decay` (an array of
/// variable names) entries into `config`. Fails with a diagnostic on `module`
/// when one is malformed; the names are checked against the module's
/// variables by checkDecayMarks.
LogicalResult resolveDecayMarks(ModuleOp module, DictionaryAttr entries, OptimizerConfig &config) {
  if (Attribute entry = entries ? entries.get("decay_min_rank") : Attribute(); entry) {
    auto rank = llvm::dyn_cast<IntegerAttr>(entry);
    if (!rank || rank.getType().isInteger(1) || rank.getInt() < 0)
      return passError(module) << kOptimizerAttrName
                               << " entry 'decay_min_rank' must be an integer >= 0, got " << entry;
    config.decayMinRank = rank.getInt();
  }
  if (Attribute entry = entries ? entries.get("no_decay") : Attribute(); entry) {
    auto names = llvm::dyn_cast<ArrayAttr>(entry);
    if (!names || !llvm::all_of(names, [](Attribute name) { return llvm::isa<StringAttr>(name); }))
      return passError(module) << kOptimizerAttrName
                               << " entry 'no_decay' must be an array of variable names, got "
                               << entry;
    for (Attribute name : names)
      config.noDecay.insert(llvm::cast<StringAttr>(name).getValue());
  }
  return success();
}

/// Combines `options` with the module's `graph.optimizer` dictionary: an
/// option that was set wins over the module's entry, which wins over
/// PyTorch's default. Fails with a diagnostic on the module when no kind is
/// given, the kind is unknown or an entry is malformed.
FailureOr<OptimizerConfig> resolveConfig(ModuleOp module,
                                         const kiln::AppendOptimizerOptions &options) {
  DictionaryAttr entries;
  if (Attribute attr = module->getAttr(kOptimizerAttrName)) {
    entries = llvm::dyn_cast<DictionaryAttr>(attr);
    if (!entries)
      return passError(module) << kOptimizerAttrName << " must be a dictionary, got " << attr;
    for (NamedAttribute entry : entries)
      if (!llvm::is_contained(kOptimizerEntries, entry.getName().getValue()))
        return passError(module) << "unknown " << kOptimizerAttrName << " entry '"
                                 << entry.getName().getValue() << "'; expected one of "
                                 << llvm::join(kOptimizerEntries, ", ");
  }

  std::string kindName = options.optimizer;
  if (Attribute entry = entries ? entries.get("kind") : Attribute(); kindName.empty() && entry) {
    auto name = llvm::dyn_cast<StringAttr>(entry);
    if (!name)
      return passError(module) << kOptimizerAttrName << " entry 'kind' must be a string, got "
                               << entry;
    kindName = name.str();
  }
  if (kindName.empty())
    return passError(module) << "no optimizer given: set the module's " << kOptimizerAttrName
                             << " kind or the pass option optimizer to one of " << kValidKinds;
  std::optional<OptimizerKind> kind = parseKind(kindName);
  if (!kind)
    return passError(module) << "unknown optimizer kind '" << kindName << "'; expected one of "
                             << kValidKinds;

  OptimizerConfig config;
  config.kind = *kind;
  double defaultLearningRate = config.isAdam() ? 1e-3 : 0.01;
  double defaultWeightDecay = *kind == OptimizerKind::AdamW ? 0.01 : 0.0;
  if (failed(resolveNumber(module, entries, "learning_rate", options.learningRate,
                           defaultLearningRate, config.learningRate)) ||
      failed(resolveNumber(module, entries, "momentum", options.momentum, 0.0, config.momentum)) ||
      failed(resolveNumber(module, entries, "weight_decay", options.weightDecay, defaultWeightDecay,
                           config.weightDecay)) ||
      failed(resolveNumber(module, entries, "beta1", options.beta1, 0.9, config.beta1)) ||
      failed(resolveNumber(module, entries, "beta2", options.beta2, 0.999, config.beta2)) ||
      failed(resolveNumber(module, entries, "epsilon", options.epsilon, 1e-8, config.epsilon)))
    return failure();

  config.nesterov = options.nesterov;
  if (Attribute entry = entries ? entries.get("nesterov") : Attribute(); entry) {
    auto flag = llvm::dyn_cast<BoolAttr>(entry);
    if (!flag)
      return passError(module) << kOptimizerAttrName
                               << " entry 'nesterov' must be true or false, got " << entry;
    config.nesterov = config.nesterov || flag.getValue();
  }
  if (failed(resolveDecayMarks(module, entries, config)))
    return failure();
  if (Attribute entry = entries ? entries.get("clip_grad_norm") : Attribute(); entry) {
    double maxNorm = 0;
    if (failed(resolveNumber(module, entries, "clip_grad_norm", -1.0, 0.0, maxNorm)))
      return failure();
    config.clipGradNorm = maxNorm;
  }
  return config;
}

/// Rejects what torch.optim's constructors reject. Emits a diagnostic on
/// `module` naming the hyper-parameter and its valid range.
LogicalResult validateConfig(ModuleOp module, const OptimizerConfig &config) {
  auto invalid = [&](llvm::StringRef name, double value, llvm::StringRef range) {
    return passError(module) << "invalid " << name << " " << formatNumber(value) << ": it must be "
                             << range;
  };
  if (!(config.learningRate > 0) || std::isinf(config.learningRate))
    return invalid("learning rate", config.learningRate, "a finite number > 0");
  if (!(config.weightDecay >= 0))
    return invalid("weight decay", config.weightDecay, ">= 0");
  if (!config.isAdam()) {
    if (!(config.momentum >= 0))
      return invalid("momentum", config.momentum, ">= 0");
    if (config.nesterov && config.momentum == 0)
      return passError(module) << "Nesterov momentum needs a momentum > 0; set momentum or "
                                  "drop nesterov";
    return success();
  }
  if (!(config.beta1 >= 0 && config.beta1 < 1))
    return invalid("beta1", config.beta1, "in [0, 1)");
  if (!(config.beta2 >= 0 && config.beta2 < 1))
    return invalid("beta2", config.beta2, "in [0, 1)");
  if (!(config.epsilon > 0))
    return invalid("epsilon", config.epsilon, "> 0");
  return success();
}

/// Rejects a clip norm that is not a finite number > 0 (checked for every
/// kind, before the kind's own rules).
LogicalResult validateClipping(ModuleOp module, const OptimizerConfig &config) {
  if (!config.clipGradNorm || (*config.clipGradNorm > 0 && std::isfinite(*config.clipGradNorm)))
    return success();
  return passError(module) << "invalid clip_grad_norm " << formatNumber(*config.clipGradNorm)
                           << ": it must be a finite number > 0";
}

/// Fails with a diagnostic on `module` when `no_decay` names something that
/// is not a trainable variable of the module.
LogicalResult checkDecayMarks(ModuleOp module, SymbolTable &symbols,
                              const OptimizerConfig &config) {
  // In the order of the dictionary's array, so the first bad name is reported.
  auto entries = module->getAttrOfType<DictionaryAttr>(kOptimizerAttrName);
  auto names = entries ? entries.getAs<ArrayAttr>("no_decay") : ArrayAttr();
  if (!names)
    return success();
  for (auto name : names.getAsRange<StringAttr>()) {
    auto variable = symbols.lookup<VariableOp>(name.getValue());
    if (!variable)
      return passError(module) << kOptimizerAttrName << " entry 'no_decay' names '"
                               << name.getValue()
                               << "', which is not a variable of the module; name trainable "
                                  "parameters by their full name (\"fc1.bias\")";
    if (!variable.getTrainable())
      return passError(module) << kOptimizerAttrName << " entry 'no_decay' names '"
                               << name.getValue()
                               << "', which is not trainable: the optimizer never updates it";
  }
  return success();
}

/// The suffixes of the state variables one parameter gets.
SmallVector<llvm::StringRef, 2> stateSuffixes(const OptimizerConfig &config) {
  if (config.isAdam())
    return {"adam_m", "adam_v"};
  if (config.momentum != 0)
    return {"momentum"};
  return {};
}

std::string stateName(llvm::StringRef parameter, llvm::StringRef suffix) {
  return (parameter + "." + suffix).str();
}

//===----------------------------------------------------------------------===//
// The module's training step
//===----------------------------------------------------------------------===//

/// What the pass rewrites: func @step, its gradients in program order and
/// the `learning_rate` input when the step already has one.
struct TrainingStep {
  func::FuncOp function;
  SmallVector<GradientOp> gradients;
  InputOp learningRate;
};

/// Finds the gradients to replace. Fails with a diagnostic on a leftover
/// graph.minimize, a gradient outside @step, a second gradient of one
/// variable or a `learning_rate` input that is not a tensor<f32>.
FailureOr<TrainingStep> findTrainingStep(ModuleOp module) {
  TrainingStep step;
  step.function = module.lookupSymbol<func::FuncOp>("step");
  llvm::StringSet<> differentiated;
  WalkResult walk = module.walk([&](Operation *op) -> WalkResult {
    if (llvm::isa<MinimizeOp>(op))
      return passError(op) << "graph.minimize is still present: run kiln-autodiff first";
    auto gradient = llvm::dyn_cast<GradientOp>(op);
    if (!gradient)
      return WalkResult::advance();
    if (!step.function || op->getParentOp() != step.function)
      return passError(op) << "graph.gradient must be in the body of func.func @step";
    if (!differentiated.insert(gradient.getVariable()).second)
      return passError(op) << "a second graph.gradient of @" << gradient.getVariable();
    step.gradients.push_back(gradient);
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  if (!step.function)
    return step;

  auto scalarType = RankedTensorType::get({}, Float32Type::get(module.getContext()));
  for (auto input : step.function.getOps<InputOp>()) {
    if (input.getName() != kLearningRateInput)
      continue;
    if (input.getType() != scalarType)
      return passError(input) << "graph.input \"" << kLearningRateInput << "\" must be a "
                              << scalarType << ", got " << input.getType();
    step.learningRate = input;
    break;
  }
  return step;
}

/// Fails with a diagnostic on the gradient when a state variable the
/// optimizer would create already names something in the module.
LogicalResult checkStateNamesFree(SymbolTable &symbols, const TrainingStep &step,
                                  const OptimizerConfig &config) {
  auto taken = [&](Operation *at, const std::string &name) -> LogicalResult {
    if (!symbols.lookup(name))
      return success();
    return passError(at) << "cannot create optimizer state @" << name
                         << ": the module already has a symbol of that name";
  };
  for (GradientOp gradient : step.gradients)
    for (llvm::StringRef suffix : stateSuffixes(config))
      if (failed(taken(gradient, stateName(gradient.getVariable(), suffix))))
        return failure();
  if (config.isAdam() && !step.gradients.empty())
    return taken(step.gradients.front(), kStepCounter.str());
  return success();
}

/// Fails with a diagnostic on the output when clipping would add the output
/// "grad_norm" and the step already has one of that name.
LogicalResult checkGradNormOutputFree(const TrainingStep &step, const OptimizerConfig &config) {
  if (!config.clipGradNorm)
    return success();
  func::FuncOp function = step.function;
  for (auto output : function.getOps<OutputOp>())
    if (output.getName() == kGradNormOutput)
      return passError(output) << "gradient clipping outputs the global gradient norm as \""
                               << kGradNormOutput
                               << "\", but the step already has an output of that name";
  return success();
}

//===----------------------------------------------------------------------===//
// Emitting the updates
//===----------------------------------------------------------------------===//

/// Emits the optimizer's graph ops into func @step. Every emitted op is
/// located at `optimizer` wrapped around the gradient it replaces, so update
/// kernels trace back to the loss.
class UpdateEmitter {
public:
  UpdateEmitter(ModuleOp module, SymbolTable &symbols, const OptimizerConfig &config)
      : module(module), symbols(symbols), config(config),
        builder(UnknownLoc::get(module.getContext()), module.getContext()),
        scalarType(RankedTensorType::get({}, builder.getF32Type())) {}

  /// Emits what every parameter's update shares at the top of @step: the
  /// learning rate (`existing` when the step has one) and, for Adam, the
  /// step counter and this step's bias corrections.
  void emitPrologue(func::FuncOp function, InputOp existing, Location loc) {
    Block &body = function.getBody().front();
    builder.setLoc(loc);
    builder.setInsertionPointToStart(&body);
    learningRate = emitLearningRate(existing);
    for (auto read : body.getOps<ReadOp>())
      firstReads.try_emplace(read.getVariable(), read);
    if (config.isAdam())
      emitAdamPrologue();
  }

  /// torch.nn.utils.clip_grad_norm_ over `gradients` (in program order),
  /// emitted before the last of them, where every gradient is available:
  /// total = sqrt(sum of each gradient's sum of squares), output as
  /// "grad_norm", and coef = min(1, max_norm / (total + 1e-6)). The updates
  /// emitted afterwards use the gradients scaled by coef and are placed
  /// there too.
  void emitClipping(ArrayRef<GradientOp> gradients, Location loc) {
    GradientOp last = gradients.back();
    builder.setLoc(loc);
    builder.setInsertionPoint(last);
    Value total;
    for (GradientOp gradient : gradients) {
      Value value = gradient.getValue();
      auto type = llvm::cast<RankedTensorType>(value.getType());
      Value squares = builder.create<SquareOp>(value);
      Value sum = squares;
      if (type.getRank() != 0) {
        auto range = llvm::seq<int64_t>(0, type.getRank());
        SmallVector<int64_t> axes(range.begin(), range.end());
        sum = builder.create<ReduceSumOp>(squares, builder.getDenseI64ArrayAttr(axes));
      }
      total = total ? add(total, sum) : sum;
    }
    Value norm = builder.create<SqrtOp>(total);
    builder.create<OutputOp>(kGradNormOutput, norm);
    Value coefficient = div(scalar(*config.clipGradNorm), add(norm, scalar(kClipEpsilon)));
    clipCoefficient = builder.create<MinimumOp>(coefficient, scalar(1.0));
    updatesBefore = last;
  }

  /// Replaces `gradient` by the update of its parameter.
  void emitUpdate(GradientOp gradient) {
    auto parameter = symbols.lookup<VariableOp>(gradient.getVariable());
    builder.setLoc(NameLoc::get(builder.getStringAttr("optimizer"), gradient.getLoc()));
    builder.setInsertionPoint(updatesBefore ? updatesBefore.getOperation()
                                            : gradient.getOperation());
    Value value = gradient.getValue();
    if (clipCoefficient)
      value = mul(value,
                  broadcastScalar(clipCoefficient, llvm::cast<RankedTensorType>(value.getType())));
    if (config.isAdam())
      emitAdamUpdate(parameter, value);
    else
      emitSgdUpdate(parameter, value);
    if (gradient == updatesBefore)
      updatesBefore = nullptr;
    gradient.erase();
  }

  unsigned getNumStateVariables() const { return numStateVariables; }

private:
  Value emitLearningRate(InputOp existing) {
    auto defaultValue = DenseElementsAttr::get(
        scalarType, FloatAttr::get(builder.getF32Type(), config.learningRate).getValue());
    if (!existing)
      return builder.create<InputOp>(scalarType, kLearningRateInput, defaultValue);
    existing->moveBefore(builder.getInsertionBlock(), builder.getInsertionPoint());
    if (!existing.getDefaultValueAttr())
      existing.setDefaultValueAttr(defaultValue);
    return existing;
  }

  /// t = t + 1 and, from it, step_size = lr / (1 - beta1^t) and
  /// sqrt(1 - beta2^t) as PyTorch's Adam computes them (and AdamW's decay
  /// factor 1 - lr * weight_decay).
  void emitAdamPrologue() {
    VariableOp counter =
        createStateVariable(lastVariable(), kStepCounter, scalarType, builder.getLoc());
    Value step = add(read(counter), scalar(1.0));
    assign(counter, step);
    stepSize = div(learningRate, biasCorrection(step, config.beta1));
    biasCorrection2Sqrt = builder.create<SqrtOp>(biasCorrection(step, config.beta2));
    if (config.kind == OptimizerKind::AdamW && config.weightDecay != 0)
      decayFactor = sub(scalar(1.0), mul(learningRate, scalar(config.weightDecay)));
  }

  /// 1 - beta^t, within 5 float32 ulps of the exact value at every step t
  /// (PyTorch computes it in double), from multiplications, additions and a
  /// clamp only, which every IEEE device rounds the same way (a driver that
  /// contracts a multiply-add rounds once less). It is -expm1(x) for
  /// x = t ln(beta) <= 0: a Taylor series of expm1 at y = x / 2^k, then k
  /// doublings expm1(2y) = expm1(y) * (expm1(y) + 2). For x <= 0 no step
  /// cancels, so the error stays near the rounding of x. Forming beta^t
  /// first (as exp(x) or as a running product) cannot be this accurate:
  /// rounded to f32 near 1 it carries an absolute error of up to 3e-8, which
  /// 1 - beta^t = 1e-3 (beta 0.999 at t = 1) turns into 3e-5 relative. Below
  /// x = -20, 1 - beta^t rounds to 1 and x is clamped there to keep y small.
  /// beta = 0 gives 1 for every t >= 1.
  Value biasCorrection(Value step, double beta) {
    if (beta == 0)
      return scalar(1.0);
    constexpr int kHalvings = 4;
    constexpr int kSeriesTerms = 12;
    Value exponent =
        builder.create<ClampOp>(mul(step, scalar(std::log(beta))), builder.getF64FloatAttr(-20.0),
                                builder.getF64FloatAttr(0.0));
    Value y = mul(exponent, scalar(std::ldexp(1.0, -kHalvings)));
    // Horner's rule for y * (1 + y/2! + y^2/3! + ... + y^11/12!).
    double factorial = 1;
    for (int term = 2; term <= kSeriesTerms; ++term)
      factorial *= term;
    double coefficient = 1.0 / factorial;
    Value series = scalar(coefficient);
    for (int term = kSeriesTerms - 1; term >= 1; --term) {
      coefficient *= term + 1;
      series = add(scalar(coefficient), mul(y, series));
    }
    Value expm1 = mul(y, series);
    for (int doubling = 0; doubling < kHalvings; ++doubling)
      expm1 = mul(expm1, add(expm1, scalar(2.0)));
    return builder.create<NegOp>(expm1);
  }

  /// torch.optim.SGD with dampening 0. The momentum buffer starts at zeros,
  /// which makes its first value momentum * 0 + g = g, PyTorch's first step.
  void emitSgdUpdate(VariableOp parameter, Value gradient) {
    RankedTensorType type = parameter.getTensorType();
    Value value = readParameter(parameter);
    Value direction = gradient;
    if (config.weightDecay != 0 && decays(parameter))
      direction = add(direction, mul(value, constant(type, config.weightDecay)));
    if (config.momentum != 0) {
      VariableOp buffer = createStateVariable(
          parameter, stateName(parameter.getSymName(), "momentum"), type, stateLoc(parameter));
      Value momentum = add(mul(read(buffer), constant(type, config.momentum)), direction);
      assign(buffer, momentum);
      direction = config.nesterov ? add(direction, mul(momentum, constant(type, config.momentum)))
                                  : momentum;
    }
    assign(parameter, sub(value, mul(broadcastScalar(learningRate, type), direction)));
  }

  /// torch.optim.Adam (L2 weight decay added to the gradient) and AdamW
  /// (decoupled: the parameter shrinks by 1 - lr * weight_decay first).
  void emitAdamUpdate(VariableOp parameter, Value gradient) {
    RankedTensorType type = parameter.getTensorType();
    VariableOp firstMoment = createStateVariable(
        parameter, stateName(parameter.getSymName(), "adam_m"), type, stateLoc(parameter));
    VariableOp secondMoment = createStateVariable(
        firstMoment, stateName(parameter.getSymName(), "adam_v"), type, stateLoc(parameter));
    Value value = readParameter(parameter);
    Value grad = gradient;
    if (config.kind == OptimizerKind::Adam && config.weightDecay != 0 && decays(parameter))
      grad = add(grad, mul(value, constant(type, config.weightDecay)));
    if (decayFactor && decays(parameter))
      value = mul(value, broadcastScalar(decayFactor, type));

    Value m = add(mul(read(firstMoment), constant(type, config.beta1)),
                  mul(grad, constant(type, 1.0 - config.beta1)));
    Value v = add(mul(read(secondMoment), constant(type, config.beta2)),
                  mul(mul(grad, constant(type, 1.0 - config.beta2)), grad));
    assign(firstMoment, m);
    assign(secondMoment, v);

    Value denominator =
        add(div(builder.create<SqrtOp>(v), broadcastScalar(biasCorrection2Sqrt, type)),
            constant(type, config.epsilon));
    Value step = div(mul(broadcastScalar(stepSize, type), m), denominator);
    assign(parameter, sub(value, step));
  }

  //===--------------------------------------------------------------------===//
  // Small helpers
  //===--------------------------------------------------------------------===//

  /// Whether weight decay applies to `parameter`: its rank is at least
  /// decay_min_rank and no_decay does not name it.
  bool decays(VariableOp parameter) {
    return parameter.getTensorType().getRank() >= config.decayMinRank &&
           !config.noDecay.contains(parameter.getSymName());
  }

  /// A `graph.constant` splat of `value` rounded to f32.
  Value constant(RankedTensorType type, double value) {
    auto element = FloatAttr::get(type.getElementType(), value).getValue();
    return builder.create<ConstantOp>(type, DenseElementsAttr::get(type, element));
  }
  Value scalar(double value) { return constant(scalarType, value); }

  /// `scalar` (a tensor<f32>) repeated over `type`; graph ops need equal types.
  Value broadcastScalar(Value scalar, RankedTensorType type) {
    if (scalar.getType() == type)
      return scalar;
    return builder.create<BroadcastOp>(type, scalar, llvm::ArrayRef<int64_t>{});
  }

  Value add(Value lhs, Value rhs) { return builder.create<AddOp>(lhs, rhs); }
  Value sub(Value lhs, Value rhs) { return builder.create<SubOp>(lhs, rhs); }
  Value mul(Value lhs, Value rhs) { return builder.create<MulOp>(lhs, rhs); }
  Value div(Value lhs, Value rhs) { return builder.create<DivOp>(lhs, rhs); }

  Value read(VariableOp variable) {
    return builder.create<ReadOp>(variable.getType(), variable.getSymName());
  }
  void assign(VariableOp variable, Value value) {
    builder.create<AssignOp>(variable.getSymName(), value);
  }

  /// Where a parameter's state variables are declared: beside the parameter.
  Location stateLoc(VariableOp parameter) {
    return NameLoc::get(builder.getStringAttr("optimizer"), parameter.getLoc());
  }

  /// The parameter's value: the step's own read when one precedes the
  /// update (every read sees the same value), else a new read.
  Value readParameter(VariableOp parameter) {
    ReadOp existing = firstReads.lookup(parameter.getSymName());
    Operation *updateStart = &*builder.getInsertionPoint();
    if (existing && existing->isBeforeInBlock(updateStart))
      return existing;
    return read(parameter);
  }

  VariableOp lastVariable() {
    VariableOp last;
    for (auto variable : module.getOps<VariableOp>())
      last = variable;
    return last;
  }

  /// A zero-initialised, non-trainable variable `name` right after `after`.
  VariableOp createStateVariable(VariableOp after, llvm::StringRef name, RankedTensorType type,
                                 Location loc) {
    OpBuilder &plainBuilder = builder;
    OpBuilder::InsertionGuard guard(plainBuilder);
    plainBuilder.setInsertionPointAfter(after);
    auto zeros = InitializerAttr::get(builder.getContext(), Distribution::constant, 0.0, 0.0,
                                      /*seed=*/0, /*stream=*/0);
    auto variable = plainBuilder.create<VariableOp>(loc, name, type, zeros, /*trainable=*/false);
    symbols.insert(variable);
    ++numStateVariables;
    return variable;
  }

  ModuleOp module;
  SymbolTable &symbols;
  const OptimizerConfig &config;
  ImplicitLocOpBuilder builder;
  RankedTensorType scalarType;
  unsigned numStateVariables = 0;
  llvm::StringMap<ReadOp> firstReads;

  /// Per-step scalars shared by every parameter's update.
  Value learningRate;
  Value stepSize;
  Value biasCorrection2Sqrt;
  Value decayFactor;
  /// min(1, max_norm / (norm + 1e-6)) when clipping, and the gradient
  /// before which every update goes (the last one) until it is replaced.
  Value clipCoefficient;
  GradientOp updatesBefore;
};

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct AppendOptimizerPass : kiln::impl::AppendOptimizerBase<AppendOptimizerPass> {
  using AppendOptimizerBase::AppendOptimizerBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    kiln::AppendOptimizerOptions options{
        .optimizer = optimizer,
        .learningRate = learningRate,
        .momentum = momentum,
        .nesterov = nesterov,
        .weightDecay = weightDecay,
        .beta1 = beta1,
        .beta2 = beta2,
        .epsilon = epsilon,
    };
    FailureOr<OptimizerConfig> config = resolveConfig(module, options);
    if (failed(config) || failed(validateClipping(module, *config)) ||
        failed(validateConfig(module, *config)))
      return signalPassFailure();
    FailureOr<TrainingStep> step = findTrainingStep(module);
    if (failed(step))
      return signalPassFailure();
    if (step->gradients.empty())
      return markAllAnalysesPreserved();

    SymbolTable symbols(module);
    if (failed(checkDecayMarks(module, symbols, *config)) ||
        failed(checkStateNamesFree(symbols, *step, *config)) ||
        failed(checkGradNormOutputFree(*step, *config)))
      return signalPassFailure();

    UpdateEmitter emitter(module, symbols, *config);
    Location sharedLoc =
        NameLoc::get(StringAttr::get(&getContext(), "optimizer"), step->gradients.front().getLoc());
    emitter.emitPrologue(step->function, step->learningRate, sharedLoc);
    if (config->clipGradNorm)
      emitter.emitClipping(step->gradients,
                           NameLoc::get(StringAttr::get(&getContext(), "clip_grad_norm"),
                                        step->gradients.back().getLoc()));
    for (GradientOp gradient : step->gradients) {
      emitter.emitUpdate(gradient);
      ++numUpdates;
    }
    numStateVariables += emitter.getNumStateVariables();
  }
};

} // namespace
