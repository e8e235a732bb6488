//===- TrainingSpec.cpp - Optimizer validation and its module attribute ---===//
//
// Checks optimizer hyperparameters with torch.optim's rules and writes them
// as the `graph.optimizer` dictionary that kiln-append-optimizer reads.
//
//===----------------------------------------------------------------------===//

#include "kiln/TrainingSpec.h"

#include "absl/strings/str_cat.h"
#include "mlir/IR/Builders.h"

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

template <typename AdamLike>
mlir::DictionaryAttr adamAttribute(mlir::Builder &b, std::string_view kind, const AdamLike &adam) {
  return b.getDictionaryAttr({
      b.getNamedAttr("kind", b.getStringAttr(kind)),
      b.getNamedAttr("learning_rate", b.getF64FloatAttr(adam.learningRate)),
      b.getNamedAttr("beta1", b.getF64FloatAttr(adam.beta1)),
      b.getNamedAttr("beta2", b.getF64FloatAttr(adam.beta2)),
      b.getNamedAttr("epsilon", b.getF64FloatAttr(adam.epsilon)),
      b.getNamedAttr("weight_decay", b.getF64FloatAttr(adam.weightDecay)),
  });
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
                 [](const AdamW &adamw) { return validateAdam("AdamW", adamw); }},
      optimizer);
}

mlir::DictionaryAttr optimizerAttribute(mlir::MLIRContext &context, const Optimizer &optimizer) {
  mlir::Builder b(&context);
  return std::visit(
      Overloaded{[&](const Sgd &sgd) {
                   return b.getDictionaryAttr({
                       b.getNamedAttr("kind", b.getStringAttr("sgd")),
                       b.getNamedAttr("learning_rate", b.getF64FloatAttr(sgd.learningRate)),
                       b.getNamedAttr("momentum", b.getF64FloatAttr(sgd.momentum)),
                       b.getNamedAttr("nesterov", b.getBoolAttr(sgd.nesterov)),
                       b.getNamedAttr("weight_decay", b.getF64FloatAttr(sgd.weightDecay)),
                   });
                 },
                 [&](const Adam &adam) { return adamAttribute(b, "adam", adam); },
                 [&](const AdamW &adamw) { return adamAttribute(b, "adamw", adamw); }},
      optimizer);
}

} // namespace kiln
