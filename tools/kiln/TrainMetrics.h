//===- TrainMetrics.h - What kiln train measures on held-out data -*- C++ -*-===//
//
// The plan's forward-only "eval" program measures the test and validation
// splits. What it can measure depends on the model, not on the trainer: the
// mean loss when it has a "loss" output, and the classification accuracy when
// it also has "logits" [batch, classes] and reads the data's "labels". A
// regression or sequence model is measured by its loss alone.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_KILN_TRAINMETRICS_H
#define KILN_TOOLS_KILN_TRAINMETRICS_H

#include "Runners.h"
#include "TrainBinding.h"

#include "kiln/runtime/data/Dataset.h"

#include "absl/status/statusor.h"

#include <memory>
#include <optional>
#include <set>
#include <string>

namespace kiln::tool {

/// What the plan's eval program can report.
struct EvalProgram {
  /// false: the plan was compiled with --no-eval.
  bool present = false;
  /// It has a "loss" output: the mean over the batches is reported.
  bool loss = false;
  /// It has "logits" f32 [batch, classes] and reads "labels" i32 [batch] from the data.
  bool accuracy = false;
  /// The plan inputs it reads.
  std::set<std::string, std::less<>> inputs;
};

/// Finds the eval program of `plan` and what it can measure with `bindings`.
EvalProgram findEvalProgram(const plan::Plan &plan, const InputBindings &bindings);

/// The mean loss (and the accuracy, when measured) over every full batch of a split.
struct Evaluation {
  std::optional<double> accuracy;
  double loss = 0;
  int64_t examples = 0;

  /// "test accuracy 85.10% (2048 examples), test loss 0.4210", or without accuracy "test loss
  /// 0.4210 (2048 examples)"; `split` is "test", "val" (text's validation windows) or
  /// "validation".
  std::string describe(const std::string &split) const;
  /// JSON object members: "<split>_accuracy" (when measured) and "<split>_loss".
  std::string jsonMembers(const std::string &split = "test") const;
};

/// Runs `eval` over every full batch of `split` in order. Fails with FailedPrecondition when the
/// split is smaller than one batch, or with the runner's error.
absl::StatusOr<Evaluation> evaluate(StepRunner &runner, const EvalProgram &eval,
                                    const InputBindings &bindings,
                                    std::shared_ptr<const data::Dataset> split);

} // namespace kiln::tool

#endif // KILN_TOOLS_KILN_TRAINMETRICS_H
