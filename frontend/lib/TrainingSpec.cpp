//===- TrainingSpec.cpp - Optimizer validation and its module attribute ---===//
//
// Checks optimizer hyperparameters with torch.optim's rules and writes them
// (with AdamW's decay marks and the gradient clipping) as the
// `graph.optimizer` dictionary that kiln-append-optimizer reads.
//
//===----------------------------------------------------------------------===//

#include "kiln/TrainingSpec.h"

#include "absl/strings/str_cat.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringSet.h"

#include <cmath>

namespace kiln {
namespace {

template <typename... Ts> struct Overloaded : Ts... { using Ts::operator()...; };

absl::Status checkAtLeastZero(const char *optimizer, const char *field, double value) {
  if (std::isfinite(value) && value >= 0)
    return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(optimizer, ": ", field, " must be a finite number >= 0, got ", value));
}

absl::Status checkBeta(const char *optimizer, const char *field, double value) {
  if (std::isfinite(value) && value >= 0 && value < 1)
    return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(optimizer, ": ", field, " must be in [0, 1), got ", value));
}

template <typename AdamLike> absl::Status validateAdam(const char *name, const AdamLike &adam) {
  for (absl::Status status :
       {checkAtLeastZero(name, "learningRate", adam.learningRate),
        checkBeta(name, "beta1", adam.beta1), checkBeta(name, "beta2", adam.beta2),
        checkAtLeastZero(name, "epsilon", adam.epsilon),
        checkAtLeastZero(name, "weightDecay", adam.weightDecay)})
    if (!status.ok())
      return status;
  return absl::OkStatus();
}

/// AdamW's decay marks: no empty and no repeated name in noDecay.
absl::Status validateDecayMarks(const AdamW &adamw) {
  llvm::StringSet<> seen;
  for (const std::string &name : adamw.noDecay) {
    if (name.empty())
      return absl::InvalidArgumentError("AdamW: noDecay holds an empty parameter name");
    if (!seen.insert(name).second)
      return absl::InvalidArgumentError(absl::StrCat("AdamW: noDecay names '", name, "' twice"));
  }
  return absl::OkStatus();
}

template <typename AdamLike>
llvm::SmallVector<mlir::NamedAttribute> adamEntries(mlir::Builder &b, std::string_view kind,
                                                    const AdamLike &adam) {
  return {
      b.getNamedAttr("kind", b.getStringAttr(kind)),
      b.getNamedAttr("learning_rate", b.getF64FloatAttr(adam.learningRate)),
      b.getNamedAttr("beta1", b.getF64FloatAttr(adam.beta1)),
      b.getNamedAttr("beta2", b.getF64FloatAttr(adam.beta2)),
      b.getNamedAttr("epsilon", b.getF64FloatAttr(adam.epsilon)),
      b.getNamedAttr("weight_decay", b.getF64FloatAttr(adam.weightDecay)),
  };
}

} // namespace

std::string_view optimizerKind(const Optimizer &optimizer) {
  return std::visit(Overloaded{[](const Sgd &) { return std::string_view("sgd"); },
                               [](const Adam &) { return std::string_view("adam"); },
                               [](const AdamW &) { return std::string_view("adamw"); }},
                    optimizer);
}

absl::Status validateOptimizer(const Optimizer &optimizer) {
  return std::visit(
      Overloaded{[](const Sgd &sgd) -> absl::Status {
                   for (absl::Status status :
                        {checkAtLeastZero("Sgd", "learningRate", sgd.learningRate),
                         checkAtLeastZero("Sgd", "momentum", sgd.momentum),
                         checkAtLeastZero("Sgd", "weightDecay", sgd.weightDecay)})
                     if (!status.ok())
                       return status;
                   if (sgd.nesterov && sgd.momentum <= 0)
                     return absl::InvalidArgumentError(
                         "Sgd: nesterov needs momentum > 0; set momentum or turn nesterov off");
                   return absl::OkStatus();
                 },
                 [](const Adam &adam) { return validateAdam("Adam", adam); },
                 [](const AdamW &adamw) {
                   absl::Status status = validateAdam("AdamW", adamw);
                   return status.ok() ? validateDecayMarks(adamw) : status;
                 }},
      optimizer);
}

absl::Status validateTrainingSpec(const TrainingSpec &spec) {
  if (absl::Status status = validateOptimizer(spec.optimizer); !status.ok())
    return absl::InvalidArgumentError(absl::StrCat("optimizer: ", status.message()));
  if (spec.clipGradNorm && !(std::isfinite(*spec.clipGradNorm) && *spec.clipGradNorm > 0))
    return absl::InvalidArgumentError(absl::StrCat(
        "clipGradNorm must be a finite number > 0 (the largest global gradient norm), got ",
        *spec.clipGradNorm));
  return absl::OkStatus();
}

mlir::DictionaryAttr optimizerAttribute(mlir::MLIRContext &context, const Optimizer &optimizer) {
  mlir::Builder b(&context);
  return std::visit(
      Overloaded{
          [&](const Sgd &sgd) {
            return b.getDictionaryAttr({
                b.getNamedAttr("kind", b.getStringAttr("sgd")),
                b.getNamedAttr("learning_rate", b.getF64FloatAttr(sgd.learningRate)),
                b.getNamedAttr("momentum", b.getF64FloatAttr(sgd.momentum)),
                b.getNamedAttr("nesterov", b.getBoolAttr(sgd.nesterov)),
                b.getNamedAttr("weight_decay", b.getF64FloatAttr(sgd.weightDecay)),
            });
          },
          [&](const Adam &adam) { return b.getDictionaryAttr(adamEntries(b, "adam", adam)); },
          [&](const AdamW &adamw) {
            llvm::SmallVector<mlir::NamedAttribute> entries = adamEntries(b, "adamw", adamw);
            if (adamw.decayMatricesOnly)
              entries.push_back(b.getNamedAttr("decay_min_rank", b.getI64IntegerAttr(2)));
            if (!adamw.noDecay.empty()) {
              llvm::SmallVector<mlir::Attribute> names;
              for (const std::string &name : adamw.noDecay)
                names.push_back(b.getStringAttr(name));
              entries.push_back(b.getNamedAttr("no_decay", b.getArrayAttr(names)));
            }
            return b.getDictionaryAttr(entries);
          }},
      optimizer);
}

mlir::DictionaryAttr optimizerAttribute(mlir::MLIRContext &context, const TrainingSpec &spec) {
  mlir::DictionaryAttr attribute = optimizerAttribute(context, spec.optimizer);
  if (!spec.clipGradNorm)
    return attribute;
  mlir::Builder b(&context);
  llvm::SmallVector<mlir::NamedAttribute> entries(attribute.getValue());
  entries.push_back(b.getNamedAttr("clip_grad_norm", b.getF64FloatAttr(*spec.clipGradNorm)));
  return b.getDictionaryAttr(entries);
}

} // namespace kiln
