//===- DifferentialSupport.h - What the PyTorch differentials share -*- C++ -*-===//
//
// The pieces the MLP, CNN and GPT differentials share besides the exchange itself: running a
// pass pipeline with its diagnostics kept, the optimizer as the JSON object
// tests/pytorch/*_reference.py read, writing a set of named tensors, and running the reference
// script. Header-only, like PyTorchExchange.h.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TESTS_UNIT_PYTORCH_DIFFERENTIALSUPPORT_H
#define KILN_TESTS_UNIT_PYTORCH_DIFFERENTIALSUPPORT_H

#include "PyTorchExchange.h"

#include "kiln/TrainingSpec.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/raw_ostream.h"
#include "gtest/gtest.h"

#include <cstdio>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

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
  // AdamW's decay marks as graph.optimizer spells them: decay_min_rank, no_decay.
  const AdamW &adamw = std::get<AdamW>(optimizer);
  std::string json = adamJson("adamw", adamw);
  std::vector<std::string> names;
  for (const std::string &name : adamw.noDecay)
    names.push_back(absl::StrCat("\"", name, "\""));
  json.pop_back();
  return absl::StrCat(json, R"(, "decay_min_rank": )", adamw.decayMatricesOnly ? 2 : 0,
                      R"(, "no_decay": [)", absl::StrJoin(names, ", "), "]}");
}

/// The JSON object {"name": entry, ...} of `names`' values from `read` (a function of the
/// name giving an absl::StatusOr<HostTensor>), each written as `prefix` + name; a value that
/// cannot be read is a test failure.
template <typename Read>
std::string writeAll(Exchange &exchange, const std::string &prefix,
                     const std::vector<std::string> &names, Read read) {
  std::vector<std::string> entries;
  for (const std::string &name : names) {
    auto value = read(name);
    if (!value.ok()) {
      ADD_FAILURE() << name << ": " << value.status();
      continue;
    }
    entries.push_back(absl::StrCat("\"", name, "\": ", exchange.write(prefix + name, *value)));
  }
  return absl::StrCat("{", absl::StrJoin(entries, ", "), "}");
}

/// Runs tests/pytorch/`script` on the exchange's manifest and expects it to find no
/// mismatch: its report is printed, and the files are kept for a look when it fails.
inline void expectReferenceAgrees(Exchange &exchange, const std::string &script) {
  auto [code, output] = exchange.run(script);
  EXPECT_EQ(code, 0) << "PyTorch disagrees with Kiln (files kept in " << exchange.directory()
                     << "):\n"
                     << output;
  if (code == 0) {
    std::printf("%s", output.c_str());
    exchange.remove();
  }
}

} // namespace kiln::pytorch_test

#endif // KILN_TESTS_UNIT_PYTORCH_DIFFERENTIALSUPPORT_H
