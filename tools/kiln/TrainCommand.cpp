//===- TrainCommand.cpp - kiln train --------------------------------------===//
//
// Trains a plan on a dataset: batches come from a background prefetcher, each
// step is one submission, the loss of step N-1 is read while step N runs, and
// the test split is measured with the plan's forward-only eval program.
// Checkpoints (every variable plus the step count and data position) let a run
// resume bit-exactly: the resumed steps see the same variables and batches.
// The learning rate follows a schedule of the global step (Schedule.h), fed
// through the plan's "learning_rate" input. Progress goes to a single updating
// line on a terminal, and optionally to a JSON-lines metrics file. Early
// stopping watches the accuracy on a validation split carved from the training
// split.
//
//===----------------------------------------------------------------------===//

#include "CommandLine.h"
#include "Commands.h"
#include "Runners.h"
#include "Schedule.h"

#include "kiln/runtime/PlanFile.h"
#include "kiln/runtime/checkpoint/Checkpoint.h"
#include "kiln/runtime/data/Batcher.h"
#include "kiln/runtime/data/Cifar10.h"
#include "kiln/runtime/data/Mnist.h"
#include "kiln/runtime/data/Prefetcher.h"
#include "kiln/runtime/data/Synthetic.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <numeric>
#include <optional>
#include <random>

namespace kiln::tool {

const char *const kTrainHelp = R"(kiln train MODEL.kplan [options]

Trains a compiled plan. Each step is one submission of the whole forward + backward +
optimizer step; the test split is measured with the plan's forward-only eval program.

Options:
  --data fashion-mnist|synthetic|DIR|cifar10:DIR
                         fashion-mnist (default): Debian's dataset-fashion-mnist files in
                         /usr/share/datasets/fashion-mnist; DIR: a folder of MNIST IDX files
                         (train-/t10k-, raw or .gz); cifar10:DIR: the CIFAR-10 binary files
                         (data_batch_1..5.bin, test_batch.bin; 3072 features, CHW);
                         synthetic: Gaussian clusters
  --device auto|cuda|vulkan|reference
                         auto (default) prefers CUDA (when the plan carries PTX and a CUDA
                         driver and device are present), else Vulkan (a GPU, else
                         lavapipe), else reference
  --cuda-device INDEX    choose a CUDA device by index (default 0); KILN_CUDA_DRIVER=PATH
                         overrides the driver library (default libcuda.so.1)
  --vulkan-device NAME|INDEX   choose a Vulkan device by name substring or index
  --validation           enable Vulkan validation and synchronization validation
  --steps N              train until N steps in all have run, counting the steps of a
                         resumed checkpoint (default: --epochs 1)
  --epochs E             train E passes over the training split (evaluating after each)
  --lr X                 the base learning rate, 0 or more (0 runs the steps without
                         changing the parameters; default: the one compiled into the plan)
  --lr-schedule constant|step|cosine
                         the learning rate of each step, a function of the global step
                         index s (counting a resumed checkpoint's steps): constant (default);
                         step: X * G^floor(s / N); cosine: from X down to --lr-min over
                         the run's total steps
  --lr-step-size N       step schedule: decay every N steps (default 1000)
  --lr-gamma G           step schedule: the decay factor (default 0.1)
  --lr-min M             cosine schedule: the final rate (default 0)
  --warmup-steps W       multiply the rate by (s + 1) / W for the first W steps (linear
                         warm-up), composed with any schedule
  --seed S               the data shuffling seed (default 0)
  --log-every N          print a progress line every N steps (default 50); on a terminal,
                         one progress bar line updated in place instead
  --metrics PATH         append JSON lines to PATH: {"step", "epoch", "loss", "lr",
                         "steps_per_second"} per logged step, {"step", "test_accuracy",
                         "test_loss"} per evaluation, and a last line with the run's
                         "train_seconds" and "data_wait_seconds"
  --early-stop-patience N  with --epochs: stop when the validation accuracy has not
                         improved for N epochs in a row
  --validation-fraction F  with --epochs: hold out the last F of a fixed permutation
                         (seeded by --seed) of the training split, evaluate it after each
                         epoch, and train on the rest (default 0.1 with early stopping)
  --stats-json PATH      write the run's statistics (device stats, loss per step with
                         first_step the number of the first, test accuracy) as JSON
  --checkpoint PATH      save a checkpoint (safetensors: every variable, the step, the data
                         position, the seed and the plan's hash) at the end of each epoch
                         and of training; written crash-safely (temporary file + rename)
  --checkpoint-every N   save it every N steps instead (and at the end of training)
  --resume PATH          load a checkpoint of this plan and continue where it stopped: the
                         same variables, step count and batches, so the losses are
                         bit-identical to an uninterrupted run on the same device
  --init-from PATH       start from the trainable parameters in a safetensors file (as kiln
                         export writes it): every one must be there, with the plan's shape;
                         optimizer state starts fresh
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

/// Sets every trainable variable of `plan` from the safetensors file at `path`; tensors the
/// plan has no trainable variable for are ignored. Fails naming the first missing tensor or
/// the first dtype or shape mismatch.
absl::Status initializeFrom(StepRunner &runner, const plan::Plan &plan, const std::string &path) {
  auto file = checkpoint::readSafetensors(path);
  if (!file.ok())
    return file.status();
  for (const plan::Variable &variable : plan.variables()) {
    if (!variable.trainable())
      continue;
    const plan::TensorSpec &spec = variable.tensor();
    std::string wanted = absl::StrCat("[", absl::StrJoin(spec.shape(), ", "), "]");
    auto found = file->tensors.find(spec.name());
    if (found == file->tensors.end())
      return absl::NotFoundError(absl::StrCat(
          "--init-from ", path, " has no tensor '", spec.name(), "' (", wanted,
          "), a parameter of this plan; export the weights from a checkpoint of a plan with "
          "the same layers (kiln export)"));
    const HostTensor &value = found->second;
    std::vector<int64_t> shape(spec.shape().begin(), spec.shape().end());
    if (value.shape() != shape || value.dtype() != DType::kF32)
      return absl::InvalidArgumentError(absl::StrCat(
          "--init-from ", path, ": tensor '", spec.name(), "' has shape [",
          absl::StrJoin(value.shape(), ", "), "]", value.dtype() != DType::kF32 ? " (not f32)" : "",
          ", but this plan's parameter is f32 ", wanted,
          "; the weights come from a model with other layer sizes"));
    if (absl::Status status = runner.setVariable(spec.name(), value); !status.ok())
      return status;
  }
  return absl::OkStatus();
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
  if (std::string_view(data).starts_with("cifar10:"))
    return data::loadCifar10Directory(data.substr(std::strlen("cifar10:")));
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
    const std::vector<int64_t> &shape = logits->second.shape();
    if (shape.size() != 2 || shape[0] != batchSize || shape[1] < 1)
      return absl::FailedPreconditionError(
          absl::StrCat("the eval program's \"logits\" output is ", logits->second.describe(),
                       "; test accuracy needs logits [batch = ", batchSize, ", classes]"));
    int64_t classes = shape[1];
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

/// The default value of the plan's scalar f32 "learning_rate" input, if it has one.
std::optional<double> defaultLearningRate(const plan::Plan &plan) {
  for (const plan::Input &input : plan.inputs()) {
    if (input.tensor().name() != "learning_rate" || input.tensor().dtype() != plan::DTYPE_F32 ||
        input.tensor().shape_size() != 0 || input.default_value().size() != sizeof(float))
      continue;
    float value;
    std::memcpy(&value, input.default_value().data(), sizeof(float));
    return value;
  }
  return std::nullopt;
}

/// The examples of `dataset` at `indices`, in that order, named `name`.
data::Dataset subset(const data::Dataset &dataset, const std::vector<int64_t> &indices,
                     std::string name) {
  data::Dataset result;
  result.name = std::move(name);
  result.exampleShape = dataset.exampleShape;
  result.numClasses = dataset.numClasses;
  int64_t features = dataset.numFeatures();
  result.features.reserve(indices.size() * features);
  result.labels.reserve(indices.size());
  for (int64_t index : indices) {
    std::span<const float> example = dataset.example(index);
    result.features.insert(result.features.end(), example.begin(), example.end());
    result.labels.push_back(dataset.labels[index]);
  }
  return result;
}

/// Splits `dataset` into (training, validation): validation is the last `fraction` of a
/// permutation drawn from `seed` (a Fisher-Yates shuffle driven by mt19937_64, the same on
/// every platform); both keep the dataset's order.
std::pair<data::Dataset, data::Dataset> splitValidation(const data::Dataset &dataset,
                                                        double fraction, uint64_t seed) {
  std::vector<int64_t> order(dataset.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 random(seed ^ 0x76616c6964617465ULL);
  for (int64_t i = dataset.size() - 1; i > 0; --i)
    std::swap(order[i], order[random() % static_cast<uint64_t>(i + 1)]);
  auto held = static_cast<int64_t>(std::floor(fraction * dataset.size()));
  std::vector<int64_t> train(order.begin(), order.end() - held);
  std::vector<int64_t> validation(order.end() - held, order.end());
  std::sort(train.begin(), train.end());
  std::sort(validation.begin(), validation.end());
  return {subset(dataset, train, dataset.name + " (training part)"),
          subset(dataset, validation, dataset.name + " (validation part)")};
}

/// "[#####.....]" with `width` cells, `done` of `total` filled.
std::string progressBar(int64_t done, int64_t total, int width) {
  int filled = static_cast<int>(width * done / std::max<int64_t>(total, 1));
  return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
}

/// Appends JSON lines to a metrics file, flushing each one.
class MetricsFile {
public:
  /// Opens `path` for appending; Unavailable naming the path if it cannot be opened.
  static absl::StatusOr<MetricsFile> open(const std::string &path) {
    MetricsFile file;
    file.path_ = path;
    file.out_ = std::make_unique<std::ofstream>(path, std::ios::app);
    if (!*file.out_)
      return absl::UnavailableError(absl::StrCat("cannot open the metrics file '", path,
                                                 "' for appending: ", std::strerror(errno)));
    return file;
  }
  /// Writes `members` (JSON object members without braces) as one line.
  absl::Status write(const std::string &members) {
    *out_ << "{" << members << "}\n" << std::flush;
    if (!*out_)
      return absl::UnavailableError(absl::StrCat("cannot write to the metrics file '", path_, "'"));
    return absl::OkStatus();
  }

private:
  std::string path_;
  std::unique_ptr<std::ofstream> out_;
};

} // namespace

int runTrain(const std::vector<std::string> &args) {
  auto parsed = Arguments::parse(args,
                                 {"data",
                                  "device",
                                  "vulkan-device",
                                  "cuda-device",
                                  "steps",
                                  "epochs",
                                  "lr",
                                  "seed",
                                  "log-every",
                                  "stats-json",
                                  "checkpoint",
                                  "checkpoint-every",
                                  "resume",
                                  "lr-schedule",
                                  "lr-step-size",
                                  "lr-gamma",
                                  "lr-min",
                                  "warmup-steps",
                                  "metrics",
                                  "early-stop-patience",
                                  "validation-fraction",
                                  "init-from"},
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
  auto stepSize = a.getInt("lr-step-size", 1000);
  auto gamma = a.getDouble("lr-gamma", 0.1);
  auto minimumRate = a.getDouble("lr-min", 0);
  auto warmupSteps = a.getInt("warmup-steps", 0);
  auto patience = a.getInt("early-stop-patience", 0);
  auto validationFraction =
      a.getDouble("validation-fraction", a.has("early-stop-patience") ? 0.1 : 0);
  for (const absl::Status &status :
       {steps.status(), epochs.status(), seed.status(), logEvery.status(), learningRate.status(),
        checkpointEvery.status(), stepSize.status(), gamma.status(), minimumRate.status(),
        warmupSteps.status(), patience.status(), validationFraction.status()})
    if (!status.ok())
      return fail(std::string(status.message()));
  if (*seed < 0)
    return fail(absl::StrCat("--seed must be a non-negative integer, not ", *seed));
  if (a.has("steps") && a.has("epochs"))
    return fail("give either --steps N or --epochs E, not both");
  if (a.has("steps") && *steps < 1)
    return fail(absl::StrCat("--steps must be at least 1 (it counts the steps of the whole run, "
                             "a resumed checkpoint's included), not ",
                             *steps));
  if (a.has("epochs") && *epochs < 1)
    return fail(absl::StrCat("--epochs must be at least 1, not ", *epochs));
  if (a.has("lr") && !(*learningRate >= 0 && std::isfinite(*learningRate)))
    return fail(absl::StrCat("--lr must be a finite rate of 0 or more (0 leaves the parameters "
                             "as they are), not ",
                             *learningRate));
  auto scheduleKind = parseScheduleKind(a.getOr("lr-schedule", "constant"));
  if (!scheduleKind.ok())
    return fail(std::string(scheduleKind.status().message()));
  if ((a.has("early-stop-patience") || a.has("validation-fraction")) && !a.has("epochs"))
    return fail("--early-stop-patience and --validation-fraction work per epoch; give --epochs E");
  if (a.has("early-stop-patience") && *patience < 1)
    return fail("--early-stop-patience must be at least 1");
  if (!(*validationFraction >= 0 && *validationFraction < 1) ||
      (a.has("validation-fraction") && *validationFraction == 0))
    return fail("--validation-fraction must lie in (0, 1)");
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
  if (a.has("resume") && a.has("init-from"))
    return fail("--resume continues a run and --init-from starts one; give one of them");
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
  // Every other input must have a default value: kiln train feeds only these three. Checked
  // here, once, rather than by each device when the first step starts.
  for (const plan::Input &input : plan->inputs()) {
    const std::string &name = input.tensor().name();
    if (name == "images" || name == "labels" || name == "learning_rate" ||
        !input.default_value().empty())
      continue;
    return fail(absl::StrCat("the plan takes an input \"", name,
                             "\" with no default value, which kiln train cannot feed: it feeds "
                             "\"images\" and \"labels\" from --data and \"learning_rate\" "
                             "from the schedule; give the input a default when building the "
                             "model, or train it through the C++ API"));
  }

  auto splits = loadData(a.getOr("data", "fashion-mnist"), numFeatures, state.seed);
  if (!splits.ok())
    return fail(std::string(splits.status().message()));
  if (splits->train.numFeatures() != numFeatures)
    return fail(absl::StrCat("the plan expects ", numFeatures, " features per example but '",
                             splits->train.name, "' has ", splits->train.numFeatures()));
  std::shared_ptr<const data::Dataset> validation;
  if (*validationFraction > 0) {
    auto [trainPart, validationPart] =
        splitValidation(splits->train, *validationFraction, state.seed);
    if (validationPart.size() < batchSize)
      return fail(absl::StrCat("--validation-fraction ", *validationFraction, " holds out ",
                               validationPart.size(), " examples, fewer than one batch of ",
                               batchSize, "; raise it"));
    splits->train = std::move(trainPart);
    validation = std::make_shared<const data::Dataset>(std::move(validationPart));
  }
  auto train = std::make_shared<const data::Dataset>(std::move(splits->train));
  auto test = std::make_shared<const data::Dataset>(std::move(splits->test));

  data::BatcherOptions batcherOptions;
  batcherOptions.batchSize = batchSize;
  batcherOptions.seed = state.seed;
  auto batcher = data::Batcher::create(train, batcherOptions);
  if (!batcher.ok())
    return fail(std::string(batcher.status().message()));
  int64_t batchesPerEpoch = batcher->batchesPerEpoch();
  // A resumed run's data position is where its steps left the data stream.
  int64_t consumed = 0;
  if (resumed &&
      (__builtin_mul_overflow(state.dataEpoch, batchesPerEpoch, &consumed) ||
       __builtin_add_overflow(consumed, state.dataBatch, &consumed) || consumed != state.step))
    return fail(absl::StrCat("checkpoint ", *a.get("resume"), " has run ", state.step,
                             " steps but its data position is epoch ", state.dataEpoch, ", batch ",
                             state.dataBatch, " of ", batchesPerEpoch,
                             " batches per epoch; its metadata is damaged, or it was trained on "
                             "other data or another batch size"));
  int64_t totalSteps = a.has("steps") ? *steps : batchesPerEpoch * (a.has("epochs") ? *epochs : 1);
  int64_t firstStep = state.step;

  // The schedule is fed only when asked for, so a plain run uses the plan's own default.
  bool feedLearningRate = a.has("lr") || a.has("lr-schedule") || a.has("warmup-steps");
  std::optional<double> planRate = defaultLearningRate(*plan);
  if (feedLearningRate && !findInput(*plan, "learning_rate"))
    return fail("the plan has no \"learning_rate\" input, so --lr, --lr-schedule and "
                "--warmup-steps cannot apply; compile it with an optimizer");
  if (a.has("lr-schedule") && !a.has("lr") && !planRate)
    return fail("the plan's \"learning_rate\" input has no default value; give --lr X");
  LearningRateSchedule schedule;
  schedule.kind = *scheduleKind;
  schedule.base = a.has("lr") ? *learningRate : planRate.value_or(0);
  schedule.stepSize = *stepSize;
  schedule.gamma = *gamma;
  schedule.minimum = *minimumRate;
  schedule.totalSteps = totalSteps;
  schedule.warmupSteps = *warmupSteps;
  if (feedLearningRate)
    if (absl::Status status = validateSchedule(schedule); !status.ok())
      return fail(std::string(status.message()));
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
  runnerOptions.cudaDevice = a.getOr("cuda-device", "0");
  runnerOptions.validation = a.has("validation");
  auto runner = createRunner(*plan, runnerOptions);
  if (!runner.ok())
    return fail(std::string(runner.status().message()));
  if (resumed)
    for (const auto &[name, value] : resumed->tensors)
      if (absl::Status status = (*runner)->setVariable(name, value); !status.ok())
        return fail(absl::StrCat("cannot load '", name, "' from checkpoint ", *a.get("resume"),
                                 ": ", status.message()));
  if (auto path = a.get("init-from")) {
    if (absl::Status status = initializeFrom(**runner, *plan, *path); !status.ok())
      return fail(std::string(status.message()));
    std::printf("kiln train: initialized the parameters from %s\n", path->c_str());
  }
  if (resumed)
    std::printf("kiln train: resuming from %s after step %lld\n", a.get("resume")->c_str(),
                static_cast<long long>(firstStep));
  std::printf("kiln train: %s on %s, %lld steps of batch %lld (%lld per epoch), device %s\n",
              plan->metadata().model_name().c_str(), train->name.c_str(),
              static_cast<long long>(totalSteps), static_cast<long long>(batchSize),
              static_cast<long long>(batchesPerEpoch), (*runner)->description().c_str());

  std::optional<MetricsFile> metrics;
  if (auto path = a.get("metrics")) {
    auto file = MetricsFile::open(*path);
    if (!file.ok())
      return fail(std::string(file.status().message()));
    metrics = std::move(*file);
  }
  bool terminal = isatty(fileno(stdout));
  // A progress bar is on screen without its newline; other output must end it first.
  bool barShown = false;
  auto endBar = [&] {
    if (barShown)
      std::fputc('\n', stdout);
    barShown = false;
  };

  std::vector<float> losses;
  std::vector<std::string> evaluations;
  auto start = std::chrono::steady_clock::now();
  auto lastDraw = start;
  // The global index of the next step whose loss is to be read.
  auto lossesRead = [&] { return firstStep + static_cast<int64_t>(losses.size()); };
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
  bool hasEval = false;
  for (const plan::Step &program : plan->programs())
    hasEval |= program.name() == "eval";
  bool noEvalSaid = false;
  auto runEvaluation = [&](const std::string &when) -> absl::Status {
    if (!hasEval) {
      // A plan compiled with --no-eval has no forward-only program to measure with.
      if (!noEvalSaid) {
        endBar();
        std::printf("%s: no test accuracy (the plan was compiled with --no-eval)\n", when.c_str());
      }
      noEvalSaid = true;
      return absl::OkStatus();
    }
    auto result = evaluate(**runner, test, batchSize);
    if (!result.ok())
      return result.status();
    endBar();
    std::printf("%s: test accuracy %.2f%% (%lld examples), test loss %.4f\n", when.c_str(),
                100 * result->accuracy, static_cast<long long>(result->examples), result->loss);
    int64_t after = firstStep + static_cast<int64_t>(losses.size());
    evaluations.push_back(absl::StrCat("{\"after_step\": ", after, ", \"test_accuracy\": ",
                                       result->accuracy, ", \"test_loss\": ", result->loss, "}"));
    if (metrics)
      return metrics->write(absl::StrCat("\"step\": ", after, ", \"test_accuracy\": ",
                                         result->accuracy, ", \"test_loss\": ", result->loss));
    return absl::OkStatus();
  };
  if (validation && !hasEval)
    return fail("early stopping measures a validation split with the plan's eval program, but "
                "the plan was compiled with --no-eval; compile it without --no-eval");
  double bestValidation = -1;
  int64_t bestEpoch = 0, epochsWithoutImprovement = 0;
  std::string stopReason;

  for (int64_t step = firstStep; step < totalSteps; ++step) {
    auto batch = (*prefetcher)->next();
    if (!batch.ok())
      return fail(std::string(batch.status().message()));
    double rate = learningRateAt(schedule, step);
    if (feedLearningRate)
      batch->tensors["learning_rate"] = HostTensor::scalar(static_cast<float>(rate));
    if (absl::Status status = (*runner)->step(batch->tensors); !status.ok())
      return fail(std::string(status.message()));
    // The previous step's loss is ready or nearly so; this one keeps the device busy.
    if (step > firstStep && lossesRead() < step)
      if (absl::Status status = readLoss(step - 1); !status.ok())
        return fail(std::string(status.message()));
    int64_t done = step + 1;
    bool epochEnd = done % batchesPerEpoch == 0;
    int64_t epoch = step / batchesPerEpoch + 1;
    if (validation && epochEnd && done != totalSteps) {
      auto result = evaluate(**runner, validation, batchSize);
      if (!result.ok())
        return fail(std::string(result.status().message()));
      endBar();
      std::printf("epoch %lld: validation accuracy %.2f%% (%lld examples)\n",
                  static_cast<long long>(epoch), 100 * result->accuracy,
                  static_cast<long long>(result->examples));
      if (result->accuracy > bestValidation) {
        bestValidation = result->accuracy;
        bestEpoch = epoch;
        epochsWithoutImprovement = 0;
      } else if (++epochsWithoutImprovement >= *patience && *patience > 0) {
        stopReason = absl::StrFormat(
            "early stopping after epoch %lld: the validation accuracy has not improved for "
            "%lld epoch%s (best %.2f%% after epoch %lld)",
            static_cast<long long>(epoch), static_cast<long long>(*patience),
            *patience == 1 ? "" : "s", 100 * bestValidation, static_cast<long long>(bestEpoch));
      }
    }
    bool last = done == totalSteps || !stopReason.empty();
    bool logged = (*logEvery > 0 && done % *logEvery == 0) || last;
    // A logged step waits for its own loss; the others are read during the next step.
    if (logged)
      if (absl::Status status = readLoss(step); !status.ok())
        return fail(std::string(status.message()));
    auto now = std::chrono::steady_clock::now();
    double elapsed = std::chrono::duration<double>(now - start).count();
    double stepsPerSecond = (done - firstStep) / std::max(elapsed, 1e-9);
    // On a terminal the bar shows the latest loss read (usually the previous step's).
    if (terminal && !losses.empty() &&
        (last || std::chrono::duration<double>(now - lastDraw).count() >= 0.1)) {
      lastDraw = now;
      std::printf("\r%s %lld/%lld epoch %lld loss %.4f %.1f steps/s %.0f samples/s ETA %s\x1b[K",
                  progressBar(done, totalSteps, 20).c_str(), static_cast<long long>(done),
                  static_cast<long long>(totalSteps), static_cast<long long>(epoch), losses.back(),
                  stepsPerSecond, stepsPerSecond * batchSize,
                  formatDuration((totalSteps - done) / stepsPerSecond).c_str());
      std::fflush(stdout);
      barShown = true;
    }
    if (logged) {
      if (!terminal) {
        std::printf(
            "step %6lld/%lld  epoch %lld  loss %.4f  %.1f steps/s  %.0f samples/s  ETA %s\n",
            static_cast<long long>(done), static_cast<long long>(totalSteps),
            static_cast<long long>(epoch), losses.back(), stepsPerSecond,
            stepsPerSecond * batchSize,
            formatDuration((totalSteps - done) / stepsPerSecond).c_str());
        std::fflush(stdout);
      }
      if (metrics)
        if (absl::Status status = metrics->write(
                absl::StrFormat("\"step\": %lld, \"epoch\": %lld, \"loss\": %.9g, \"lr\": %.9g, "
                                "\"steps_per_second\": %.6g",
                                static_cast<long long>(done), static_cast<long long>(epoch),
                                losses.back(), static_cast<float>(rate), stepsPerSecond));
            !status.ok())
          return fail(std::string(status.message()));
    }
    if (auto path = a.get("checkpoint");
        path && (last || (*checkpointEvery > 0 ? done % *checkpointEvery == 0 : epochEnd))) {
      state.step = done;
      state.dataEpoch = batch->nextPosition.epoch;
      state.dataBatch = batch->nextPosition.batch;
      if (absl::Status status = saveCheckpoint(**runner, *plan, *path, state); !status.ok()) {
        endBar();
        return fail(absl::StrCat(
            "cannot save the checkpoint after step ", done, ": ", status.message(),
            "\nthe previous checkpoint at '", *path,
            "' (if any) is intact; free some disk space or give another --checkpoint path, "
            "then continue with --resume ",
            *path));
      }
    }
    if (*epochs > 0 && epochEnd && !last)
      if (absl::Status status = runEvaluation(absl::StrCat("epoch ", done / batchesPerEpoch));
          !status.ok())
        return fail(std::string(status.message()));
    if (!stopReason.empty()) {
      endBar();
      std::printf("%s\n", stopReason.c_str());
      break;
    }
  }
  int64_t trainedSteps = firstStep + static_cast<int64_t>(losses.size());
  if (absl::Status status = runEvaluation("end of training"); !status.ok())
    return fail(std::string(status.message()));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("trained %lld steps in %.1f s; waited %.2f s for data\n",
              static_cast<long long>(trainedSteps - firstStep), seconds,
              (*prefetcher)->consumerWaitSeconds());
  if (metrics)
    if (absl::Status status = metrics->write(
            absl::StrCat("\"steps\": ", trainedSteps, ", \"train_seconds\": ", seconds,
                         ", \"data_wait_seconds\": ", (*prefetcher)->consumerWaitSeconds()));
        !status.ok())
      return fail(std::string(status.message()));

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
