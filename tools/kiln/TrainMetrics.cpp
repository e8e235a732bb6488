//===- TrainMetrics.cpp - What kiln train measures on held-out data -------===//

#include "TrainMetrics.h"

#include "kiln/runtime/data/Batcher.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kiln::tool {

EvalProgram findEvalProgram(const plan::Plan &plan, const InputBindings &bindings) {
  EvalProgram eval;
  for (const plan::Step &program : plan.programs()) {
    if (program.name() != "eval")
      continue;
    eval.present = true;
    eval.inputs = programInputs(plan, program);
    bool logits = false;
    for (uint32_t index : program.outputs()) {
      if (index >= static_cast<uint32_t>(plan.outputs_size()))
        continue;
      const plan::TensorSpec &output = plan.outputs(static_cast<int>(index)).tensor();
      eval.loss |= output.name() == "loss";
      logits |= output.name() == "logits" && output.dtype() == plan::DTYPE_F32 &&
                output.shape_size() == 2 && output.shape(0) == bindings.batchSize &&
                output.shape(1) >= 1;
    }
    bool labels = false;
    for (const plan::Input &input : plan.inputs())
      labels |= input.tensor().name() == data::kLabelsField &&
                input.tensor().dtype() == plan::DTYPE_I32 && input.tensor().shape_size() == 1 &&
                input.tensor().shape(0) == bindings.batchSize;
    eval.accuracy = logits && labels && eval.inputs.contains(data::kLabelsField) &&
                    bindings.fromData(data::kLabelsField);
  }
  return eval;
}

std::string Evaluation::describe(const std::string &split) const {
  if (accuracy)
    return absl::StrFormat("%s accuracy %.2f%% (%lld examples), %s loss %.4f", split,
                           100 * *accuracy, static_cast<long long>(examples), split, loss);
  return absl::StrFormat("%s loss %.4f (%lld examples)", split, loss,
                         static_cast<long long>(examples));
}

std::string Evaluation::jsonMembers(const std::string &split) const {
  if (accuracy)
    return absl::StrCat("\"", split, "_accuracy\": ", *accuracy, ", \"", split, "_loss\": ", loss);
  return absl::StrCat("\"", split, "_loss\": ", loss);
}

absl::StatusOr<Evaluation> evaluate(StepRunner &runner, const EvalProgram &eval,
                                    const InputBindings &bindings,
                                    std::shared_ptr<const data::Dataset> split) {
  int64_t batchSize = bindings.batchSize;
  data::BatcherOptions options;
  options.batchSize = batchSize;
  options.shuffle = false;
  options.fields = bindings.batchFields();
  if (split->size() < batchSize)
    return absl::FailedPreconditionError(absl::StrCat("'", split->name, "' has ", split->size(),
                                                      " examples, fewer than one batch of ",
                                                      batchSize, ", so it cannot be measured"));
  auto batcher = data::Batcher::create(std::move(split), options);
  if (!batcher.ok())
    return batcher.status();
  Evaluation result;
  int64_t correct = 0;
  double lossSum = 0;
  for (int64_t b = 0; b < batcher->batchesPerEpoch(); ++b) {
    data::Batch batch = batcher->next();
    auto outputs = runner.evaluate(selectInputs(batch.tensors, eval.inputs));
    if (!outputs.ok())
      return outputs.status();
    if (eval.accuracy) {
      auto logits = outputs->find("logits");
      if (logits == outputs->end())
        return absl::InternalError("the eval program ran without its \"logits\" output");
      const HostTensor &labels = batch.tensors.at(std::string(data::kLabelsField));
      int64_t classes = logits->second.shape().back();
      for (int64_t i = 0; i < batchSize; ++i) {
        int64_t best = 0;
        for (int64_t c = 1; c < classes; ++c)
          if (logits->second.at(i * classes + c) > logits->second.at(i * classes + best))
            best = c;
        correct += best == labels.at(i);
      }
    }
    if (auto loss = outputs->find("loss"); loss != outputs->end())
      lossSum += loss->second.at(0);
    result.examples += batchSize;
  }
  if (eval.accuracy)
    result.accuracy = static_cast<double>(correct) / result.examples;
  result.loss = lossSum / batcher->batchesPerEpoch();
  return result;
}

} // namespace kiln::tool
