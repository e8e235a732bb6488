//===- DifferentialSupport.h - What the PyTorch differentials share -*- C++ -*-===//
//
// The pieces MlpDifferentialTest and CnnDifferentialTest both need besides the exchange
// itself: running a pass pipeline with its diagnostics kept, and the optimizer as the JSON
// object tests/pytorch/*_reference.py read. Header-only, like PyTorchExchange.h.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_PYTORCH_DIFFERENTIALSUPPORT_H
#define KILN_TESTS_UNIT_PYTORCH_DIFFERENTIALSUPPORT_H

#include "kiln/TrainingSpec.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <string_view>
#include <variant>

namespace kiln::pytorch_test {

/// Runs `populate`'s passes on `module`, returning the diagnostics on failure.
inline absl::Status runPasses(mlir::ModuleOp module,
                              llvm::function_ref<void(mlir::PassManager &)> populate) {
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(module.getContext(), [&](mlir::Diagnostic &d) {
    llvm::raw_string_ostream os(diagnostics);
    os << d.getLocation() << ": " << d.str() << "\n";
    return mlir::success();
  });
  mlir::PassManager pm(module.getContext());
  populate(pm);
  if (mlir::failed(pm.run(module)))
    return absl::InternalError(absl::StrCat("the pass pipeline failed:\n", diagnostics));
  return absl::OkStatus();
}

/// `optimizer` as the JSON object the reference scripts read (the fields of
/// `graph.optimizer`).
inline std::string optimizerJson(const Optimizer &optimizer) {
  if (const auto *sgd = std::get_if<Sgd>(&optimizer))
    return absl::StrCat(R"({"kind": "sgd", "learning_rate": )", sgd->learningRate,
                        R"(, "momentum": )", sgd->momentum, R"(, "nesterov": )",
                        sgd->nesterov ? "true" : "false", R"(, "weight_decay": )", sgd->weightDecay,
                        "}");
  auto adamJson = [](std::string_view kind, const auto &adam) {
    return absl::StrCat(R"({"kind": ")", std::string(kind), R"(", "learning_rate": )",
                        adam.learningRate, R"(, "beta1": )", adam.beta1, R"(, "beta2": )",
                        adam.beta2, R"(, "epsilon": )", adam.epsilon, R"(, "weight_decay": )",
                        adam.weightDecay, "}");
  };
  if (const auto *adam = std::get_if<Adam>(&optimizer))
    return adamJson("adam", *adam);
  return adamJson("adamw", std::get<AdamW>(optimizer));
}

} // namespace kiln::pytorch_test

#endif // KILN_TESTS_UNIT_PYTORCH_DIFFERENTIALSUPPORT_H
