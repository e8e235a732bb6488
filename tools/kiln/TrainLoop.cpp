//===- TrainLoop.cpp - The steps of a kiln train run ----------------------===//

#include "TrainLoop.h"

#include "TrainCheckpoint.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>

namespace kiln::tool {
namespace {

/// One run's loop, with the state its steps share.
class Loop {
public:
  explicit Loop(TrainRun &run)
      : run_(run), options_(*run.options),
        progress_(isatty(fileno(stdout)), run.totalSteps, run.bindings->batchSize),
        trainInputs_(programInputs(*run.plan, run.plan->step())) {}

  absl::StatusOr<TrainResult> run() {
    absl::Status status = trainAndMeasure();
    progress_.endBar();
    if (!status.ok())
      return status;
    result_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    return std::move(result_);
  }

private:
  absl::Status trainAndMeasure();
  /// Reads the loss of global step `index` (0-based).
  absl::Status readLoss(int64_t index);
  /// Measures the test split and reports it as of `when` ("epoch 2", "end of training").
  absl::Status measureTest(const std::string &when);
  /// Measures the validation split after epoch `epoch`; sets stopReason_ when it is time.
  absl::Status validate(int64_t epoch);
  absl::Status saveCheckpoint(int64_t done, const data::DataPosition &next);

  int64_t lossesRead() const {
    return run_.firstStep + static_cast<int64_t>(result_.losses.size());
  }

  TrainRun &run_;
  const TrainOptions &options_;
  Progress progress_;
  std::set<std::string, std::less<>> trainInputs_;
  TrainResult result_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  bool noEvalSaid_ = false;
  /// The best validation score so far: the accuracy, or minus the loss without one.
  std::optional<double> bestValidation_;
  int64_t bestEpoch_ = 0;
  int64_t epochsWithoutImprovement_ = 0;
  std::string stopReason_;
};

absl::Status Loop::readLoss(int64_t index) {
  // Steps are numbered from 0 across resumed runs; the runner numbers this run's from 0.
  auto loss = run_.runner->loss(static_cast<uint64_t>(index - run_.firstStep));
  if (!loss.ok())
    return loss.status();
  result_.losses.push_back(*loss);
  if (!std::isfinite(*loss))
    return absl::DataLossError(
        absl::StrCat("the loss became ", *loss, " at step ", index + 1,
                     "; HINT: lower the learning rate (--lr) or check the data for NaN"));
  return absl::OkStatus();
}

absl::Status Loop::measureTest(const std::string &when) {
  const EvalProgram &eval = *run_.eval;
  if (!eval.present || (!eval.loss && !eval.accuracy)) {
    // A plan compiled with --no-eval has no forward-only program to measure with.
    if (!noEvalSaid_)
      progress_.print(eval.present
                          ? when + ": no test metrics (the eval program has no \"loss\" output)"
                          : when + ": no test accuracy (the plan was compiled with --no-eval)");
    noEvalSaid_ = true;
    return absl::OkStatus();
  }
  auto evaluation = evaluate(*run_.runner, eval, *run_.bindings, run_.test);
  if (!evaluation.ok())
    return evaluation.status();
  const std::string &split = run_.heldOutName;
  progress_.print(when + ": " + evaluation->describe(split));
  int64_t after = lossesRead();
  result_.evaluations.push_back(
      absl::StrCat("{\"after_step\": ", after, ", ", evaluation->jsonMembers(split), "}"));
  if (run_.metrics)
    return run_.metrics->write(
        absl::StrCat("\"step\": ", after, ", ", evaluation->jsonMembers(split)));
  return absl::OkStatus();
}

absl::Status Loop::validate(int64_t epoch) {
  auto evaluation = evaluate(*run_.runner, *run_.eval, *run_.bindings, run_.validation);
  if (!evaluation.ok())
    return evaluation.status();
  bool accuracy = evaluation->accuracy.has_value();
  double score = accuracy ? *evaluation->accuracy : -evaluation->loss;
  progress_.print(accuracy
                      ? absl::StrFormat("epoch %lld: validation accuracy %.2f%% (%lld examples)",
                                        static_cast<long long>(epoch), 100 * score,
                                        static_cast<long long>(evaluation->examples))
                      : absl::StrFormat("epoch %lld: validation loss %.4f (%lld examples)",
                                        static_cast<long long>(epoch), evaluation->loss,
                                        static_cast<long long>(evaluation->examples)));
  if (!bestValidation_ || score > *bestValidation_) {
    bestValidation_ = score;
    bestEpoch_ = epoch;
    epochsWithoutImprovement_ = 0;
  } else if (++epochsWithoutImprovement_ >= options_.patience && options_.patience > 0) {
    std::string best = accuracy ? absl::StrFormat("%.2f%%", 100 * *bestValidation_)
                                : absl::StrFormat("%.4f", -*bestValidation_);
    stopReason_ = absl::StrFormat(
        "early stopping after epoch %lld: the validation %s has not improved for %lld epoch%s "
        "(best %s after epoch %lld)",
        static_cast<long long>(epoch), accuracy ? "accuracy" : "loss",
        static_cast<long long>(options_.patience), options_.patience == 1 ? "" : "s", best,
        static_cast<long long>(bestEpoch_));
  }
  return absl::OkStatus();
}

absl::Status Loop::saveCheckpoint(int64_t done, const data::DataPosition &next) {
  const std::string &path = *options_.checkpointPath;
  run_.state.step = done;
  run_.state.dataEpoch = next.epoch;
  run_.state.dataBatch = next.batch;
  absl::Status status = tool::saveCheckpoint(*run_.runner, *run_.plan, path, run_.state);
  if (status.ok())
    return status;
  return absl::Status(
      status.code(),
      absl::StrCat("cannot save the checkpoint after step ", done, ": ", status.message(),
                   "\nthe previous checkpoint at '", path,
                   "' (if any) is intact; free some disk space or give another --checkpoint "
                   "path, then continue with --resume ",
                   path));
}

absl::Status Loop::trainAndMeasure() {
  const int64_t firstStep = run_.firstStep, totalSteps = run_.totalSteps;
  const int64_t batchesPerEpoch = run_.batchesPerEpoch;
  for (int64_t step = firstStep; step < totalSteps; ++step) {
    auto batch = run_.prefetcher->next();
    if (!batch.ok())
      return batch.status();
    double rate = learningRateAt(run_.schedule, step);
    if (options_.feedLearningRate)
      batch->tensors[std::string(kLearningRateInput)] =
          HostTensor::scalar(static_cast<float>(rate));
    if (absl::Status status =
            run_.runner->step(selectInputs(std::move(batch->tensors), trainInputs_));
        !status.ok())
      return status;
    // The previous step's loss is ready or nearly so; this one keeps the device busy.
    if (step > firstStep && lossesRead() < step)
      if (absl::Status status = readLoss(step - 1); !status.ok())
        return status;
    int64_t done = step + 1;
    bool epochEnd = done % batchesPerEpoch == 0;
    int64_t epoch = step / batchesPerEpoch + 1;
    if (run_.validation && epochEnd && done != totalSteps)
      if (absl::Status status = validate(epoch); !status.ok())
        return status;
    bool last = done == totalSteps || !stopReason_.empty();
    bool logged = (options_.logEvery > 0 && done % options_.logEvery == 0) || last;
    // A logged step waits for its own loss; the others are read during the next step.
    if (logged)
      if (absl::Status status = readLoss(step); !status.ok())
        return status;
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    double stepsPerSecond = (done - firstStep) / std::max(elapsed, 1e-9);
    const float *loss = result_.losses.empty() ? nullptr : &result_.losses.back();
    progress_.showStep(done, epoch, loss, stepsPerSecond, logged, last);
    if (logged && run_.metrics)
      if (absl::Status status = run_.metrics->write(
              absl::StrFormat("\"step\": %lld, \"epoch\": %lld, \"loss\": %.9g, \"lr\": %.9g, "
                              "\"steps_per_second\": %.6g",
                              static_cast<long long>(done), static_cast<long long>(epoch), *loss,
                              static_cast<float>(rate), stepsPerSecond));
          !status.ok())
        return status;
    if (options_.checkpointPath &&
        (last || (options_.checkpointEvery > 0 ? done % options_.checkpointEvery == 0 : epochEnd)))
      if (absl::Status status = saveCheckpoint(done, batch->nextPosition); !status.ok())
        return status;
    if (options_.epochs && epochEnd && !last) {
      if (absl::Status status = measureTest(absl::StrCat("epoch ", done / batchesPerEpoch));
          !status.ok())
        return status;
    } else if (options_.evalEvery > 0 && done % options_.evalEvery == 0 && !last) {
      // The loss of this step is read first, so the evaluation follows its own step.
      if (lossesRead() < done)
        if (absl::Status status = readLoss(step); !status.ok())
          return status;
      if (absl::Status status = measureTest(absl::StrCat("step ", done)); !status.ok())
        return status;
    }
    if (!stopReason_.empty()) {
      progress_.print(stopReason_);
      break;
    }
  }
  return measureTest("end of training");
}

} // namespace

absl::StatusOr<TrainResult> runTrainingLoop(TrainRun &run) { return Loop(run).run(); }

} // namespace kiln::tool
