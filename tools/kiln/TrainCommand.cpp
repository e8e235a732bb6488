//===- TrainCommand.cpp - kiln train --------------------------------------===//
//
// Trains a plan on a dataset: batches come from a background prefetcher, each
// step is one submission, the loss of step N-1 is read while step N runs, and
// the test split is measured with the plan's forward-only eval program.
// Checkpoints (every variable plus the step count and data position) let a run
// resume bit-exactly: the resumed steps see the same variables and batches.
//
//===----------------------------------------------------------------------===//

#include "CommandLine.h"
#include "Commands.h"
#include "Runners.h"

#include "kiln/runtime/PlanFile.h"
#include "kiln/runtime/checkpoint/Checkpoint.h"
#include "kiln/runtime/data/Batcher.h"
#include "kiln/runtime/data/Mnist.h"
#include "kiln/runtime/data/Prefetcher.h"
#include "kiln/runtime/data/Synthetic.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>

namespace kiln::tool {

const char *const kTrainHelp = R"(kiln train MODEL.kplan [options]

Trains a compiled plan. Each step is one submission of the whole forward + backward +
optimizer step; the test split is measured with the plan's forward-only eval program.

Options:
  --data fashion-mnist|synthetic|DIR
                         fashion-mnist (default): Debian's dataset-fashion-mnist files in
                         /usr/share/datasets/fashion-mnist; DIR: a folder of MNIST IDX files
                         (train-/t10k-, raw or .gz); synthetic: Gaussian clusters
  --device auto|vulkan|reference
                         auto (default) prefers Vulkan (a GPU, else lavapipe), else reference
  --vulkan-device NAME|INDEX   choose a Vulkan device by name substring or index
  --validation           enable Vulkan validation and synchronization validation
  --steps N              train until N steps in all have run, counting the steps of a
                         resumed checkpoint (default: --epochs 1)
  --epochs E             train E passes over the training split (evaluating after each)
  --lr X                 the learning rate (default: the one compiled into the plan)
  --seed S               the data shuffling seed (default 0)
  --log-every N          print a progress line every N steps (default 50)
  --stats-json PATH      write the run's statistics (device stats, loss per step with
                         first_step the number of the first, test accuracy) as JSON
  --checkpoint PATH      save a checkpoint (safetensors: every variable, the step, the data
                         position, the seed and the plan's hash) at the end of each epoch
                         and of training; written crash-safely (temporary file + rename)
  --checkpoint-every N   save it every N steps instead (and at the end of training)
  --resume PATH          load a checkpoint of this plan and continue where it stopped: the
                         same variables, step count and batches, so the losses are
                         bit-identical to an uninterrupted run on the same device
)";

namespace {

int fail(const std::string &message) {
  std::fprintf(stderr, "kiln train: %s\n", message.c_str());
  return 1;
}

/// Reads every variable of `plan` from the device and saves them with `state`.
absl::Status saveCheckpoint(StepRunner &runner, const plan::Plan &plan, const std::string &path,
                            const checkpoint::TrainingState &state) {
  std::map<std::string, HostTensor, std::less<>> variables;
  for (const plan::Variable &variable : plan.variables()) {
    auto value = runner.variable(variable.tensor().name());
    if (!value.ok())
      return value.status();
    variables.emplace(variable.tensor().name(), std::move(*value));
  }
  return checkpoint::writeSafetensors(path,
                                      checkpoint::makeCheckpoint(std::move(variables), state));
}

const plan::TensorSpec *findInput(const plan::Plan &plan, std::string_view name) {
  for (const plan::Input &input : plan.inputs())
    if (input.tensor().name() == name)
      return &input.tensor();
  return nullptr;
}

absl::StatusOr<data::DatasetSplits> loadData(const std::string &data, int64_t numFeatures,
                                             uint64_t seed) {
  if (data == "synthetic") {
    data::GaussianClustersOptions options;
    options.numFeatures = numFeatures;
    options.numClasses = 10;
    options.numTrainExamples = 8192;
    options.numTestExamples = 2048;
    options.seed = seed;
    return data::makeGaussianClusters(options);
  }
  std::string directory = data == "fashion-mnist" ? data::kFashionMnistDirectory : data;
  return data::loadMnistDirectory(directory);
}

/// Accuracy and mean loss of the eval program over every full batch of `test`.
struct Evaluation {
  double accuracy = 0;
  double loss = 0;
  int64_t examples = 0;
};

absl::StatusOr<Evaluation> evaluate(StepRunner &runner, std::shared_ptr<const data::Dataset> test,
                                    int64_t batchSize) {
  data::BatcherOptions options;
  options.batchSize = batchSize;
  options.shuffle = false;
  auto batcher = data::Batcher::create(std::move(test), options);
  if (!batcher.ok())
    return batcher.status();
  Evaluation result;
  int64_t correct = 0;
  double lossSum = 0;
  for (int64_t b = 0; b < batcher->batchesPerEpoch(); ++b) {
    data::Batch batch = batcher->next();
    auto outputs = runner.evaluate(batch.tensors);
    if (!outputs.ok())
      return outputs.status();
    auto logits = outputs->find("logits");
    if (logits == outputs->end())
      return absl::FailedPreconditionError(
          "the eval program has no \"logits\" output; give the model an output named logits");
    const HostTensor &labels = batch.tensors.at("labels");
    int64_t classes = logits->second.shape().back();
    for (int64_t i = 0; i < batchSize; ++i) {
      int64_t best = 0;
      for (int64_t c = 1; c < classes; ++c)
        if (logits->second.at(i * classes + c) > logits->second.at(i * classes + best))
          best = c;
      correct += best == labels.at(i);
    }
    if (auto loss = outputs->find("loss"); loss != outputs->end())
      lossSum += loss->second.at(0);
    result.examples += batchSize;
  }
  if (result.examples == 0)
    return absl::FailedPreconditionError("the test split is smaller than one batch");
  result.accuracy = static_cast<double>(correct) / result.examples;
  result.loss = lossSum / batcher->batchesPerEpoch();
  return result;
}

std::string formatDuration(double seconds) {
  int64_t s = static_cast<int64_t>(std::lround(seconds));
  return absl::StrCat(s / 60, ":", s % 60 < 10 ? "0" : "", s % 60);
}

} // namespace

int runTrain(const std::vector<std::string> &args) {
  auto parsed =
      Arguments::parse(args,
                       {"data", "device", "vulkan-device", "steps", "epochs", "lr", "seed",
                        "log-every", "stats-json", "checkpoint", "checkpoint-every", "resume"},
                       {"validation"});
  if (!parsed.ok())
    return fail(std::string(parsed.status().message()));
  const Arguments &a = *parsed;
  if (a.positional().size() != 1)
    return fail("expected exactly one plan file (.kplan); see kiln train --help");
  auto steps = a.getInt("steps", 0);
  auto epochs = a.getInt("epochs", 0);
  auto seed = a.getInt("seed", 0);
  auto logEvery = a.getInt("log-every", 50);
  auto learningRate = a.getDouble("lr", 0);
  auto checkpointEvery = a.getInt("checkpoint-every", 0);
  for (const absl::Status &status :
       {steps.status(), epochs.status(), seed.status(), logEvery.status(), learningRate.status(),
        checkpointEvery.status()})
    if (!status.ok())
      return fail(std::string(status.message()));
  if (*steps < 0 || *epochs < 0 || (*steps > 0 && *epochs > 0))
    return fail("give either --steps N or --epochs E (positive), not both");
  if (a.has("lr") && !(*learningRate > 0))
    return fail("--lr must be positive");
  if (a.has("checkpoint-every") && (*checkpointEvery <= 0 || !a.has("checkpoint")))
    return fail("--checkpoint-every N needs a positive N and --checkpoint PATH");

  auto plan = plan::readPlanFile(a.positional()[0]);
  if (!plan.ok())
    return fail(std::string(plan.status().message()));

  // A resumed run continues the checkpoint's data stream, so its seed decides the data.
  std::optional<checkpoint::TensorFile> resumed;
  checkpoint::TrainingState state;
  state.planSha256 = checkpoint::planSha256(*plan);
  state.seed = static_cast<uint64_t>(*seed);
  if (auto path = a.get("resume")) {
    auto file = checkpoint::readSafetensors(*path);
    if (!file.ok())
      return fail(std::string(file.status().message()));
    auto saved = checkpoint::validateCheckpoint(*file, *plan, *path);
    if (!saved.ok())
      return fail(std::string(saved.status().message()));
    if (a.has("seed") && saved->seed != state.seed)
      return fail(absl::StrCat("--seed ", state.seed, " differs from the seed ", saved->seed,
                               " checkpoint ", *path, " was trained with; drop --seed"));
    state = *saved;
    resumed = std::move(*file);
  }

  const plan::TensorSpec *images = findInput(*plan, "images");
  const plan::TensorSpec *labels = findInput(*plan, "labels");
  if (!images || !labels || images->shape_size() != 2 || labels->shape_size() != 1)
    return fail("the plan must take inputs \"images\" [batch, features] and \"labels\" "
                "[batch], as the MLP sample's plans do");
  int64_t batchSize = images->shape(0), numFeatures = images->shape(1);

  auto splits = loadData(a.getOr("data", "fashion-mnist"), numFeatures, state.seed);
  if (!splits.ok())
    return fail(std::string(splits.status().message()));
  if (splits->train.numFeatures() != numFeatures)
    return fail(absl::StrCat("the plan expects ", numFeatures, " features per example but '",
                             splits->train.name, "' has ", splits->train.numFeatures()));
  auto train = std::make_shared<const data::Dataset>(std::move(splits->train));
  auto test = std::make_shared<const data::Dataset>(std::move(splits->test));

  data::BatcherOptions batcherOptions;
  batcherOptions.batchSize = batchSize;
  batcherOptions.seed = state.seed;
  auto batcher = data::Batcher::create(train, batcherOptions);
  if (!batcher.ok())
    return fail(std::string(batcher.status().message()));
  int64_t batchesPerEpoch = batcher->batchesPerEpoch();
  int64_t totalSteps = *steps > 0 ? *steps : batchesPerEpoch * std::max<int64_t>(*epochs, 1);
  int64_t firstStep = state.step;
  if (firstStep >= totalSteps)
    return fail(absl::StrCat("checkpoint ", a.getOr("resume", ""), " has already trained ",
                             firstStep, " steps, and this run is to end after ", totalSteps,
                             "; ask for more with --steps or --epochs"));
  // The prefetcher serves the batcher from its position at creation: seek first.
  if (absl::Status status = batcher->seek({state.dataEpoch, state.dataBatch}); !status.ok())
    return fail(absl::StrCat("checkpoint ", a.getOr("resume", ""), ": ", status.message()));
  auto prefetcher = data::Prefetcher::create(std::move(*batcher));
  if (!prefetcher.ok())
    return fail(std::string(prefetcher.status().message()));

  RunnerOptions runnerOptions;
  runnerOptions.device = a.getOr("device", "auto");
  runnerOptions.vulkanDevice = a.getOr("vulkan-device", "");
  runnerOptions.validation = a.has("validation");
  auto runner = createRunner(*plan, runnerOptions);
  if (!runner.ok())
    return fail(std::string(runner.status().message()));
  if (resumed)
    for (const auto &[name, value] : resumed->tensors)
      if (absl::Status status = (*runner)->setVariable(name, value); !status.ok())
        return fail(absl::StrCat("cannot load '", name, "' from checkpoint ", *a.get("resume"),
                                 ": ", status.message()));
  if (resumed)
    std::printf("kiln train: resuming from %s after step %lld\n", a.get("resume")->c_str(),
                static_cast<long long>(firstStep));
  std::printf("kiln train: %s on %s, %lld steps of batch %lld (%lld per epoch), device %s\n",
              plan->metadata().model_name().c_str(), train->name.c_str(),
              static_cast<long long>(totalSteps), static_cast<long long>(batchSize),
              static_cast<long long>(batchesPerEpoch), (*runner)->description().c_str());

  HostTensor lr = HostTensor::scalar(static_cast<float>(*learningRate));
  std::vector<float> losses;
  std::vector<std::string> evaluations;
  auto start = std::chrono::steady_clock::now();
  // Steps are numbered from 0 across resumed runs; the runner numbers this run's from 0.
  auto readLoss = [&](int64_t index) -> absl::Status {
    auto loss = (*runner)->loss(static_cast<uint64_t>(index - firstStep));
    if (!loss.ok())
      return loss.status();
    losses.push_back(*loss);
    if (!std::isfinite(*loss))
      return absl::DataLossError(
          absl::StrCat("the loss became ", *loss, " at step ", index + 1,
                       "; HINT: lower the learning rate (--lr) or check the data for NaN"));
    return absl::OkStatus();
  };
  auto runEvaluation = [&](const std::string &when) -> absl::Status {
    auto result = evaluate(**runner, test, batchSize);
    if (!result.ok())
      return result.status();
    std::printf("%s: test accuracy %.2f%% (%lld examples), test loss %.4f\n", when.c_str(),
                100 * result->accuracy, static_cast<long long>(result->examples), result->loss);
    evaluations.push_back(absl::StrCat("{\"after_step\": ", firstStep + losses.size(),
                                       ", \"test_accuracy\": ", result->accuracy,
                                       ", \"test_loss\": ", result->loss, "}"));
    return absl::OkStatus();
  };

  for (int64_t step = firstStep; step < totalSteps; ++step) {
    auto batch = (*prefetcher)->next();
    if (!batch.ok())
      return fail(std::string(batch.status().message()));
    if (a.has("lr"))
      batch->tensors["learning_rate"] = lr;
    if (absl::Status status = (*runner)->step(batch->tensors); !status.ok())
      return fail(std::string(status.message()));
    // The previous step's loss is ready or nearly so; this one keeps the device busy.
    if (step > firstStep)
      if (absl::Status status = readLoss(step - 1); !status.ok())
        return fail(std::string(status.message()));
    bool last = step + 1 == totalSteps;
    if (last)
      if (absl::Status status = readLoss(step); !status.ok())
        return fail(std::string(status.message()));
    int64_t done = step + 1;
    if ((*logEvery > 0 && done % *logEvery == 0) || last) {
      double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      double rate = (done - firstStep) / elapsed;
      std::printf("step %6lld/%lld  epoch %lld  loss %.4f  %.1f steps/s  %.0f samples/s  ETA %s\n",
                  static_cast<long long>(done), static_cast<long long>(totalSteps),
                  static_cast<long long>(step / batchesPerEpoch + 1), losses.back(), rate,
                  rate * batchSize, formatDuration((totalSteps - done) / rate).c_str());
      std::fflush(stdout);
    }
    bool epochEnd = done % batchesPerEpoch == 0;
    if (auto path = a.get("checkpoint");
        path && (last || (*checkpointEvery > 0 ? done % *checkpointEvery == 0 : epochEnd))) {
      state.step = done;
      state.dataEpoch = batch->nextPosition.epoch;
      state.dataBatch = batch->nextPosition.batch;
      if (absl::Status status = saveCheckpoint(**runner, *plan, *path, state); !status.ok())
        return fail(std::string(status.message()));
    }
    if (*epochs > 0 && epochEnd && !last)
      if (absl::Status status = runEvaluation(absl::StrCat("epoch ", done / batchesPerEpoch));
          !status.ok())
        return fail(std::string(status.message()));
  }
  if (absl::Status status = runEvaluation("end of training"); !status.ok())
    return fail(std::string(status.message()));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("trained %lld steps in %.1f s; waited %.2f s for data\n",
              static_cast<long long>(totalSteps - firstStep), seconds,
              (*prefetcher)->consumerWaitSeconds());

  if (auto path = a.get("stats-json")) {
    std::ofstream out(*path);
    out << "{" << (*runner)->statsJsonMembers() << ", \"model\": \""
        << plan->metadata().model_name() << "\", \"batch_size\": " << batchSize
        << ", \"train_seconds\": " << seconds
        << ", \"data_wait_seconds\": " << (*prefetcher)->consumerWaitSeconds()
        << ", \"first_step\": " << firstStep + 1 << ", \"loss\": ["
        << absl::StrJoin(losses, ", ",
                         [](std::string *out, float loss) {
                           // %.9g round-trips every float, so equal text means equal bits.
                           absl::StrAppendFormat(out, "%.9g", loss);
                         })
        << "], \"evaluations\": [" << absl::StrJoin(evaluations, ", ") << "]}\n";
    if (!out)
      return fail("cannot write the stats to '" + *path + "'");
  }
  return 0;
}

} // namespace kiln::tool
