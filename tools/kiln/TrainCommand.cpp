//===- TrainCommand.cpp - kiln train --------------------------------------===//
//
// Trains a plan on a dataset: batches come from a background prefetcher, each
// step is one submission, the loss of step N-1 is read while step N runs, and
// the test split is measured with the plan's forward-only eval program. The
// plan's inputs are bound to the dataset's fields by name (TrainBinding.h).
// Checkpoints (every variable plus the step count and data position) let a run
// resume bit-exactly: the resumed steps see the same variables and batches.
// The learning rate follows a schedule of the global step (Schedule.h), fed
// through the plan's "learning_rate" input. This file puts the pieces
// together: the options (TrainOptions.h), the data (TrainData.h), checkpoints
// (TrainCheckpoint.h), the loop (TrainLoop.h) and its measurements
// (TrainMetrics.h) and progress (TrainProgress.h).
//
//===----------------------------------------------------------------------===//

#include "Commands.h"
#include "Runners.h"
#include "Schedule.h"
#include "TrainBinding.h"
#include "TrainCheckpoint.h"
#include "TrainData.h"
#include "TrainLoop.h"
#include "TrainMetrics.h"
#include "TrainOptions.h"
#include "TrainProgress.h"

#include "kiln/runtime/PlanFile.h"
#include "kiln/runtime/data/Batcher.h"
#include "kiln/runtime/data/Prefetcher.h"
#include "kiln/runtime/data/Text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>

namespace kiln::tool {
namespace {

int fail(absl::string_view message) {
  std::fprintf(stderr, "kiln train: %.*s\n", static_cast<int>(message.size()), message.data());
  return 1;
}

/// The default value of the plan's scalar f32 "learning_rate" input, if it has one.
std::optional<double> defaultLearningRate(const plan::Plan &plan) {
  for (const plan::Input &input : plan.inputs()) {
    if (input.tensor().name() != kLearningRateInput || input.tensor().dtype() != plan::DTYPE_F32 ||
        input.tensor().shape_size() != 0 || input.default_value().size() != sizeof(float))
      continue;
    float value;
    std::memcpy(&value, input.default_value().data(), sizeof(float));
    return value;
  }
  return std::nullopt;
}

/// The schedule of the run's learning rate; checked only when the trainer feeds it (a plain run
/// uses the plan's own default).
absl::StatusOr<LearningRateSchedule> makeSchedule(const TrainOptions &options,
                                                  const plan::Plan &plan, int64_t totalSteps) {
  bool hasInput = false;
  for (const plan::Input &input : plan.inputs())
    hasInput |= input.tensor().name() == kLearningRateInput;
  if (options.feedLearningRate && !hasInput)
    return absl::InvalidArgumentError(
        "the plan has no \"learning_rate\" input, so --lr, --lr-schedule and --warmup-steps "
        "cannot apply; compile it with an optimizer");
  std::optional<double> planRate = defaultLearningRate(plan);
  if (options.scheduleGiven && !options.learningRate && !planRate)
    return absl::InvalidArgumentError(
        "the plan's \"learning_rate\" input has no default value; give --lr X");
  LearningRateSchedule schedule;
  schedule.kind = options.scheduleKind;
  schedule.base = options.learningRate.value_or(planRate.value_or(0));
  schedule.stepSize = options.stepSize;
  schedule.gamma = options.gamma;
  schedule.minimum = options.minimumRate;
  schedule.totalSteps = totalSteps;
  schedule.warmupSteps = options.warmupSteps;
  if (options.feedLearningRate)
    if (absl::Status status = validateSchedule(schedule); !status.ok())
      return status;
  return schedule;
}

/// Writes --stats-json: the device's statistics, the loss of every step and the evaluations.
absl::Status writeStats(const std::string &path, StepRunner &runner, const plan::Plan &plan,
                        int64_t batchSize, int64_t firstStep, const TrainResult &result,
                        double dataWaitSeconds) {
  std::ofstream out(path);
  out << "{" << runner.statsJsonMembers() << ", \"model\": \"" << plan.metadata().model_name()
      << "\", \"batch_size\": " << batchSize << ", \"train_seconds\": " << result.seconds
      << ", \"data_wait_seconds\": " << dataWaitSeconds << ", \"first_step\": " << firstStep + 1
      << ", \"loss\": ["
      << absl::StrJoin(result.losses, ", ",
                       [](std::string *text, float loss) {
                         // %.9g round-trips every float, so equal text means equal bits.
                         absl::StrAppendFormat(text, "%.9g", loss);
                       })
      << "], \"evaluations\": [" << absl::StrJoin(result.evaluations, ", ") << "]}\n";
  if (!out)
    return absl::UnavailableError("cannot write the stats to '" + path + "'");
  return absl::OkStatus();
}

} // namespace

int runTrain(const std::vector<std::string> &args) {
  auto options = parseTrainOptions(args);
  if (!options.ok())
    return fail(options.status().message());
  auto plan = plan::readPlanFile(options->planPath);
  if (!plan.ok())
    return fail(plan.status().message());

  checkpoint::TrainingState state;
  state.planSha256 = checkpoint::planSha256(*plan);
  state.seed = options->seed;
  std::optional<ResumedRun> resumed;
  if (options->resumePath) {
    auto run = readResumedRun(*options->resumePath, *plan,
                              options->seedGiven ? std::optional(options->seed) : std::nullopt);
    if (!run.ok())
      return fail(run.status().message());
    state = run->state;
    resumed = std::move(*run);
  }

  // The plan's inputs are bound to the data's fields before any device is created. Text is a
  // token stream sampled in windows; every other dataset is examples the batcher shuffles.
  std::optional<TextData> text;
  data::DatasetSplits splits;
  std::vector<data::FieldSpec> fields;
  std::string dataName;
  if (isTextData(options->data)) {
    auto loaded = loadTextData(options->data, *plan, options->evalBatches);
    if (!loaded.ok())
      return fail(loaded.status().message());
    text = std::move(*loaded);
    fields = text->fields();
    dataName = text->train->name;
  } else {
    auto loaded = loadData(options->data, *plan, state.seed);
    if (!loaded.ok())
      return fail(loaded.status().message());
    splits = std::move(*loaded);
    fields = splits.train.fields();
    dataName = splits.train.name;
  }
  auto bindings = bindInputs(*plan, fields, dataName, options->feedLearningRate);
  if (!bindings.ok())
    return fail(bindings.status().message());
  int64_t batchSize = bindings->batchSize;
  EvalProgram eval = findEvalProgram(*plan, *bindings);

  std::shared_ptr<const data::Dataset> validation;
  if (text && options->validationFraction > 0)
    return fail("--data text:FILE has its own validation split (the last 10% of the file, "
                "measured as \"val loss\"); --validation-fraction and --early-stop-patience "
                "hold out part of an example dataset's training split");
  if (options->validationFraction > 0) {
    if (!eval.present)
      return fail("early stopping measures a validation split with the plan's eval program, "
                  "but the plan was compiled with --no-eval; compile it without --no-eval");
    if (!eval.loss && !eval.accuracy)
      return fail("early stopping measures the validation accuracy or loss, but the plan's eval "
                  "program has neither a \"loss\" nor a \"logits\" output");
    auto [trainPart, validationPart] =
        splitValidation(splits.train, options->validationFraction, state.seed);
    if (validationPart.size() < batchSize)
      return fail(absl::StrCat("--validation-fraction ", options->validationFraction, " holds out ",
                               validationPart.size(), " examples, fewer than one batch of ",
                               batchSize, "; raise it"));
    splits.train = std::move(trainPart);
    validation = std::make_shared<const data::Dataset>(std::move(validationPart));
    dataName = splits.train.name;
  }
  // Text is measured on its validation windows, reported as "val".
  std::shared_ptr<const data::Dataset> test =
      text ? text->validation : std::make_shared<const data::Dataset>(std::move(splits.test));

  std::optional<data::Batcher> batcher;
  std::optional<data::TextSampler> sampler;
  if (text) {
    auto created = data::TextSampler::create(
        text->train,
        {.batchSize = batchSize, .contextLength = text->contextLength, .seed = state.seed});
    if (!created.ok())
      return fail(created.status().message());
    sampler = std::move(*created);
  } else {
    data::BatcherOptions batcherOptions;
    batcherOptions.batchSize = batchSize;
    batcherOptions.seed = state.seed;
    batcherOptions.fields = bindings->batchFields();
    auto created = data::Batcher::create(
        std::make_shared<const data::Dataset>(std::move(splits.train)), batcherOptions);
    if (!created.ok())
      return fail(created.status().message());
    batcher = std::move(*created);
  }
  int64_t batchesPerEpoch = sampler ? sampler->batchesPerEpoch() : batcher->batchesPerEpoch();
  // A resumed run's data position is where its steps left the data stream.
  if (resumed)
    if (absl::Status status = checkDataPosition(state, batchesPerEpoch, *options->resumePath);
        !status.ok())
      return fail(status.message());
  int64_t totalSteps =
      options->steps ? *options->steps : batchesPerEpoch * options->epochs.value_or(1);
  int64_t firstStep = state.step;
  auto schedule = makeSchedule(*options, *plan, totalSteps);
  if (!schedule.ok())
    return fail(schedule.status().message());
  std::string resumePath = options->resumePath.value_or("");
  if (firstStep >= totalSteps)
    return fail(absl::StrCat("checkpoint ", resumePath, " has already trained ", firstStep,
                             " steps, and this run is to end after ", totalSteps,
                             "; ask for more with --steps or --epochs"));
  // The prefetcher serves the batcher from its position at creation: seek first.
  data::DataPosition start{state.dataEpoch, state.dataBatch};
  if (absl::Status status = sampler ? sampler->seek(start) : batcher->seek(start); !status.ok())
    return fail(absl::StrCat("checkpoint ", resumePath, ": ", status.message()));
  auto prefetcher =
      sampler ? data::Prefetcher::create(
                    [windows = std::move(*sampler)]() mutable -> absl::StatusOr<data::Batch> {
                      return windows.next();
                    })
              : data::Prefetcher::create(std::move(*batcher));
  if (!prefetcher.ok())
    return fail(prefetcher.status().message());

  RunnerOptions runnerOptions;
  runnerOptions.device = options->device;
  runnerOptions.vulkanDevice = options->vulkanDevice;
  runnerOptions.cudaDevice = options->cudaDevice;
  runnerOptions.threads = options->threads;
  runnerOptions.validation = options->validation;
  auto runner = createRunner(*plan, runnerOptions);
  if (!runner.ok())
    return fail(runner.status().message());
  if (resumed)
    if (absl::Status status = restoreVariables(**runner, *resumed, resumePath); !status.ok())
      return fail(status.message());
  if (options->initFromPath) {
    if (absl::Status status = initializeFrom(**runner, *plan, *options->initFromPath); !status.ok())
      return fail(status.message());
    std::printf("kiln train: initialized the parameters from %s\n", options->initFromPath->c_str());
  }
  if (resumed)
    std::printf("kiln train: resuming from %s after step %lld\n", resumePath.c_str(),
                static_cast<long long>(firstStep));
  std::printf("kiln train: %s on %s, %lld steps of batch %lld (%lld per epoch), device %s\n",
              plan->metadata().model_name().c_str(), dataName.c_str(),
              static_cast<long long>(totalSteps), static_cast<long long>(batchSize),
              static_cast<long long>(batchesPerEpoch), (*runner)->description().c_str());

  std::optional<MetricsFile> metrics;
  if (options->metricsPath) {
    auto file = MetricsFile::open(*options->metricsPath);
    if (!file.ok())
      return fail(file.status().message());
    metrics = std::move(*file);
  }

  TrainRun run;
  run.options = &*options;
  run.plan = &*plan;
  run.bindings = &*bindings;
  run.eval = &eval;
  run.runner = runner->get();
  run.prefetcher = prefetcher->get();
  run.test = test;
  run.heldOutName = text ? "val" : "test";
  run.validation = validation;
  run.metrics = metrics ? &*metrics : nullptr;
  run.schedule = *schedule;
  run.firstStep = firstStep;
  run.totalSteps = totalSteps;
  run.batchesPerEpoch = batchesPerEpoch;
  run.state = state;
  auto result = runTrainingLoop(run);
  if (!result.ok())
    return fail(result.status().message());

  int64_t trainedSteps = firstStep + static_cast<int64_t>(result->losses.size());
  double dataWaitSeconds = (*prefetcher)->consumerWaitSeconds();
  std::printf("trained %lld steps in %.1f s; waited %.2f s for data\n",
              static_cast<long long>(trainedSteps - firstStep), result->seconds, dataWaitSeconds);
  if (metrics)
    if (absl::Status status = metrics->write(
            absl::StrCat("\"steps\": ", trainedSteps, ", \"train_seconds\": ", result->seconds,
                         ", \"data_wait_seconds\": ", dataWaitSeconds));
        !status.ok())
      return fail(status.message());
  if (options->statsJsonPath)
    if (absl::Status status = writeStats(*options->statsJsonPath, **runner, *plan, batchSize,
                                         firstStep, *result, dataWaitSeconds);
        !status.ok())
      return fail(status.message());
  return 0;
}

} // namespace kiln::tool
